//! Shared store suite (to be written).
