//! Smile "Signature" and legacy sec_key (placeholder).
