//! One line of the audit log: the format lives in `auth_core::audit::entry`, shared with every
//! verifier (authctl among them) so writer and verifiers cannot drift apart; this module
//! re-exports what the writer uses.

pub use auth_core::audit::entry::{
    AdminOutcome, AdminRecord, DecisionOutcome, DecisionRecord, GENESIS,
};
pub(crate) use auth_core::audit::entry::{
    Body, Checkpoint, Event, Recovery, bounded, checkpoint_message, decode, encode, hex,
};
