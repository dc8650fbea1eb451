//! Altalix signed payload URLs (PROTOCOLS.md section 2).
