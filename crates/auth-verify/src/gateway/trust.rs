//! Trusted proxy addresses: an IP or a CIDR network, and the one test of whether a peer's
//! forwarded headers may be believed.

use std::net::IpAddr;
use std::str::FromStr;

/// An address or network (`10.0.0.0/8`, `127.0.0.1`, `fd00::/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

/// The text is not an IP address or CIDR network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an IP address or CIDR network (expected e.g. 10.0.0.0/8 or ::1): {0:?}")]
pub struct InvalidNetwork(pub String);

impl Network {
    /// Exactly `addr`.
    pub fn host(addr: IpAddr) -> Self {
        let addr = addr.to_canonical();
        Self {
            addr,
            prefix: max_prefix(addr),
        }
    }

    /// Whether `peer` is inside the network (IPv4-mapped IPv6 peers count as IPv4).
    pub fn contains(&self, peer: IpAddr) -> bool {
        match (self.addr, peer.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(p)) => {
                masked(u32::from(net).into(), 32, self.prefix)
                    == masked(u32::from(p).into(), 32, self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(p)) => {
                masked(u128::from(net), 128, self.prefix) == masked(u128::from(p), 128, self.prefix)
            }
            _ => false,
        }
    }
}

fn max_prefix(addr: IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// The top `prefix` bits of a `width`-bit address.
fn masked(bits: u128, width: u32, prefix: u8) -> u128 {
    let drop = width.saturating_sub(u32::from(prefix));
    if drop >= 128 { 0 } else { bits >> drop }
}

impl FromStr for Network {
    type Err = InvalidNetwork;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidNetwork(text.chars().take(64).collect());
        let (addr, prefix) = match text.trim().split_once('/') {
            None => (text.trim(), None),
            Some((a, p)) => (a, Some(p)),
        };
        let addr = IpAddr::from_str(addr)
            .map_err(|_| invalid())?
            .to_canonical();
        let max = max_prefix(addr);
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(invalid)?,
        };
        Ok(Self { addr, prefix })
    }
}

/// Whether `peer` is one of `trusted`; an unknown peer is never trusted.
pub(crate) fn is_trusted(trusted: &[Network], peer: Option<IpAddr>) -> bool {
    peer.is_some_and(|p| trusted.iter().any(|n| n.contains(p)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn networks_contain_their_addresses_only() {
        let net: Network = "10.1.0.0/16".parse().unwrap();
        assert!(net.contains("10.1.200.3".parse().unwrap()));
        assert!(!net.contains("10.2.0.1".parse().unwrap()));
        assert!(net.contains("::ffff:10.1.0.9".parse().unwrap()));
        let host: Network = "127.0.0.1".parse().unwrap();
        assert!(host.contains("127.0.0.1".parse().unwrap()));
        assert!(!host.contains("127.0.0.2".parse().unwrap()));
        let v6: Network = "fd00::/8".parse().unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()));
        assert!(!v6.contains("fe80::1".parse().unwrap()));
        let all: Network = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("8.8.8.8".parse().unwrap()));
        assert!(!all.contains("::1".parse().unwrap()));
        for bad in ["10.0.0.0/33", "nope", "::1/129", "10.0.0.0/", ""] {
            assert!(bad.parse::<Network>().is_err(), "{bad}");
        }
        assert!(!is_trusted(&[all], None));
    }
}
