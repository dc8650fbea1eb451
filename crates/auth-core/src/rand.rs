//! Randomness as an argument. auth-core never creates a generator: adapters pass one in
//! (normally `ring::rand::SystemRandom`, which they construct), so every generator of
//! secrets, nonces and keys states its dependency in its signature.
//!
//! The trait is ring's own (it is sealed, and ring's randomized signatures — ECDSA, RSA-PSS —
//! need exactly that type), re-exported so callers need not name ring themselves.

pub use ring::rand::{SecureRandom, SystemRandom};

use crate::error::{Error, ErrorCode, Result};

/// Fills `dest` from `rng`, mapping a backend failure to [`ErrorCode::Internal`].
pub fn fill(rng: &dyn SecureRandom, dest: &mut [u8]) -> Result<()> {
    rng.fill(dest)
        .map_err(|_| Error::new(ErrorCode::Internal, "the random number generator failed"))
}

/// `N` random bytes.
pub fn bytes<const N: usize>(rng: &dyn SecureRandom) -> Result<[u8; N]> {
    let mut out = [0u8; N];
    fill(rng, &mut out)?;
    Ok(out)
}

/// Bridges a [`SecureRandom`] to the `rand_core` traits that RustCrypto's `rsa` key
/// generation wants, so RSA keys too are made from the injected generator.
pub(crate) struct RandCoreBridge<'a>(pub(crate) &'a dyn SecureRandom);

impl rand_core::TryRng for RandCoreBridge<'_> {
    type Error = Error;

    fn try_next_u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(bytes(self.0)?))
    }

    fn try_next_u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(bytes(self.0)?))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<()> {
        fill(self.0, dst)
    }
}

impl rand_core::TryCryptoRng for RandCoreBridge<'_> {}
