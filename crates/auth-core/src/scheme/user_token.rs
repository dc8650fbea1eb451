//! Restricted user tokens (placeholder).
