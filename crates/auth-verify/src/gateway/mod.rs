//! Verification endpoints for gateways (to be written).
