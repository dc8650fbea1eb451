//! Qredo Partner API request signatures (PROTOCOLS.md section 5).
