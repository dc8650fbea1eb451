//! Shared fixtures for the criterion benchmarks in `benches/benches/` (keys made once, outside
//! the timed loops), and the `load` generator behind the `loadgen` binary.
#![forbid(unsafe_code)]

pub mod load;

/// The RFC 9421 Appendix B.1.1 RSA key (PKCS#1 PEM), a fixed 2048-bit key for benchmarks.
pub const RSA_2048_PKCS1_PEM: &str =
    include_str!("../../testvectors/rfc9421/keys/test-key-rsa.pem");
/// Its public key (PKCS#1 PEM).
pub const RSA_2048_PUBLIC_PEM: &str =
    include_str!("../../testvectors/rfc9421/keys/test-key-rsa.pub.pem");
/// The RFC 9421 Appendix B.1.4 Ed25519 key (PKCS#8 PEM).
pub const ED25519_PKCS8_PEM: &str =
    include_str!("../../testvectors/rfc9421/keys/test-key-ed25519.pem");
/// The RFC 9421 Appendix B.1.3 P-256 key (SEC1 PEM).
pub const P256_SEC1_PEM: &str =
    include_str!("../../testvectors/rfc9421/keys/test-key-ecc-p256.pem");
