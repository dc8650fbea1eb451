//! ops (helper)
