//! upload (helper)
