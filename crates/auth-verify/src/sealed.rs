//! sealed (to be written).
