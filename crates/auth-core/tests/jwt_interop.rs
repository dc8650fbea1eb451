//! JWT interop in both directions with PyJWT and node's `jsonwebtoken` (and node `jose` for
//! EdDSA, which `jsonwebtoken` 9 does not support): HS256 as in the seed's examples
//! (`jwt.encode(payload, secret, algorithm="HS256")`, `jwt.sign(payload, secretKey)`), then
//! RS256, ES256 and EdDSA.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use auth_core::keys::{HmacSecret, PrivateKey};
use auth_core::rand::SystemRandom;
use auth_core::scheme::jwt::{Algorithm, Claims, JwtKey, JwtPolicy, JwtSigner, JwtVerifier};
use auth_core::{ErrorCode, UnixTime};
use std::path::{Path, PathBuf};

const SECRET: &str = "seed-partner-secret-key-0123456789";
const CLIENT: &str = "client-085";

fn now() -> UnixTime {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    UnixTime::from_secs(d.as_secs())
}

struct Keys {
    _dir: tempfile::TempDir,
    rsa: PrivateKey,
    p256: PrivateKey,
    ed: PrivateKey,
    paths: Vec<(Algorithm, PathBuf, PathBuf)>,
}

fn keys() -> Keys {
    let rng = SystemRandom::new();
    let dir = tempfile::tempdir().unwrap();
    let rsa = auth_core::keys::generate_rsa(2048, &rng).unwrap();
    let p256 = auth_core::keys::generate_p256(&rng).unwrap();
    let ed = auth_core::keys::generate_ed25519(&rng).unwrap();
    let mut paths = Vec::new();
    for (alg, k) in [
        (Algorithm::RS256, &rsa),
        (Algorithm::ES256, &p256),
        (Algorithm::EdDSA, &ed),
    ] {
        let private = dir.path().join(format!("{alg}.pem"));
        let public = dir.path().join(format!("{alg}.pub.pem"));
        std::fs::write(&private, k.to_pkcs8_pem().expose()).unwrap();
        std::fs::write(&public, k.public_key().to_spki_pem()).unwrap();
        paths.push((alg, private, public));
    }
    Keys {
        _dir: dir,
        rsa,
        p256,
        ed,
        paths,
    }
}

impl Keys {
    fn private(&self, alg: Algorithm) -> &PrivateKey {
        match alg {
            Algorithm::RS256 => &self.rsa,
            Algorithm::ES256 => &self.p256,
            _ => &self.ed,
        }
    }

    fn files(&self, alg: Algorithm) -> (&Path, &Path) {
        let (_, a, b) = self.paths.iter().find(|(x, _, _)| *x == alg).unwrap();
        (a, b)
    }

    fn verifier(&self, alg: Algorithm) -> JwtVerifier {
        let key = match alg {
            Algorithm::HS256 => {
                JwtKey::hmac(&HmacSecret::from_bytes(SECRET.as_bytes()).unwrap(), alg).unwrap()
            }
            _ => JwtKey::public(&self.private(alg).public_key(), alg).unwrap(),
        };
        JwtVerifier::new(vec![key.for_client(CLIENT)], JwtPolicy::default()).unwrap()
    }

    fn signer(&self, alg: Algorithm) -> JwtSigner {
        match alg {
            Algorithm::HS256 => {
                JwtSigner::hmac(&HmacSecret::from_bytes(SECRET.as_bytes()).unwrap(), alg).unwrap()
            }
            _ => JwtSigner::new(self.private(alg), alg, &SystemRandom::new()).unwrap(),
        }
    }

    /// The key argument a peer takes: the secret text or a PEM file's text.
    fn peer_key(&self, alg: Algorithm, private: bool) -> String {
        match alg {
            Algorithm::HS256 => SECRET.to_owned(),
            _ => {
                let (a, b) = self.files(alg);
                std::fs::read_to_string(if private { a } else { b }).unwrap()
            }
        }
    }
}

const PY_MINT: &str = r#"
import sys, jwt
alg, key, client, iat = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
payload = {"clientId": client, "iat": iat, "exp": iat + 900}
if alg == "HS256":
    secret = key
    print(jwt.encode(payload, secret, algorithm="HS256"), end="")
else:
    print(jwt.encode(payload, key, algorithm=alg), end="")
"#;

const PY_VERIFY: &str = r#"
import sys, jwt
alg, key, token = sys.argv[1], sys.argv[2], sys.argv[3]
claims = jwt.decode(token, key, algorithms=[alg], options={"require": ["exp", "iat"]})
print(claims["clientId"], end="")
"#;

const NODE_MINT: &str = r#"
const jwt = require('jsonwebtoken');
const [alg, key, client, iat] = process.argv.slice(1);
const payload = { clientId: client, iat: Number(iat), exp: Number(iat) + 900 };
if (alg === 'HS256') {
  const secretKey = key;
  process.stdout.write(jwt.sign(payload, secretKey));
} else {
  process.stdout.write(jwt.sign(payload, key, { algorithm: alg }));
}
"#;

const NODE_VERIFY: &str = r#"
const jwt = require('jsonwebtoken');
const [alg, key, token] = process.argv.slice(1);
const claims = jwt.verify(token, key, { algorithms: [alg] });
process.stdout.write(claims.clientId);
"#;

const JOSE_MINT: &str = r#"
const jose = require('jose');
const [alg, key, client, iat] = process.argv.slice(1);
(async () => {
  const pk = await jose.importPKCS8(key, alg);
  const t = await new jose.SignJWT({ clientId: client, iat: Number(iat), exp: Number(iat) + 900 })
    .setProtectedHeader({ alg, typ: 'JWT' }).sign(pk);
  process.stdout.write(t);
})().catch((e) => { console.error(e); process.exit(1); });
"#;

const JOSE_VERIFY: &str = r#"
const jose = require('jose');
const [alg, key, token] = process.argv.slice(1);
(async () => {
  const pk = await jose.importSPKI(key, alg);
  const { payload } = await jose.jwtVerify(token, pk, { algorithms: [alg] });
  process.stdout.write(payload.clientId);
})().catch((e) => { console.error(e); process.exit(1); });
"#;

fn check_peer_token(k: &Keys, alg: Algorithm, token: &str, peer: &str) {
    let now = now();
    let ok = k
        .verifier(alg)
        .verify(token, now)
        .unwrap_or_else(|e| panic!("{peer} {alg}: {e}"));
    assert_eq!(ok.client_id(), Some(CLIENT));
    assert_eq!(ok.header().alg, alg);
    // The same token fails once expired, and with a flipped signature byte.
    let later = now.saturating_add(std::time::Duration::from_secs(931));
    assert_eq!(
        k.verifier(alg).verify(token, later).unwrap_err().code(),
        ErrorCode::TokenExpired
    );
    let mut bad = token.to_owned();
    let i = bad.rfind('.').unwrap() + 2;
    let c = if &bad[i..=i] == "A" { "B" } else { "A" };
    bad.replace_range(i..=i, c);
    assert_eq!(
        k.verifier(alg).verify(&bad, now).unwrap_err().code(),
        ErrorCode::InvalidToken
    );
}

fn our_token(k: &Keys, alg: Algorithm) -> String {
    let claims = Claims::seed_profile(CLIENT, now());
    k.signer(alg).sign(&claims, &SystemRandom::new()).unwrap()
}

const ALGS: [Algorithm; 4] = [
    Algorithm::HS256,
    Algorithm::RS256,
    Algorithm::ES256,
    Algorithm::EdDSA,
];

#[test]
fn pyjwt_both_directions() {
    let Some(py) = common::python() else { return };
    let k = keys();
    let iat = now().as_secs().to_string();
    for alg in ALGS {
        let token = common::run_python(
            &py,
            PY_MINT,
            &[alg.name(), &k.peer_key(alg, true), CLIENT, &iat],
            b"",
        );
        check_peer_token(&k, alg, std::str::from_utf8(&token).unwrap(), "PyJWT");
        let ours = our_token(&k, alg);
        let out = common::run_python(
            &py,
            PY_VERIFY,
            &[alg.name(), &k.peer_key(alg, false), &ours],
            b"",
        );
        assert_eq!(out, CLIENT.as_bytes(), "PyJWT verifying our {alg}");
    }
    // PyJWT refuses our token under a wrong key: the check above is not vacuous.
    let ours = our_token(&k, Algorithm::HS256);
    assert!(!common::succeeds(
        std::process::Command::new(&py)
            .arg("-c")
            .arg(PY_VERIFY)
            .args(["HS256", "not-the-secret-0123456789abcdef", &ours])
    ));
}

#[test]
fn node_jsonwebtoken_both_directions() {
    let Some(node) = common::node_path() else {
        return;
    };
    let k = keys();
    let iat = now().as_secs().to_string();
    for alg in [Algorithm::HS256, Algorithm::RS256, Algorithm::ES256] {
        let token = common::run_node(
            &node,
            NODE_MINT,
            &[alg.name(), &k.peer_key(alg, true), CLIENT, &iat],
            b"",
        );
        check_peer_token(
            &k,
            alg,
            std::str::from_utf8(&token).unwrap(),
            "jsonwebtoken",
        );
        let ours = our_token(&k, alg);
        let out = common::run_node(
            &node,
            NODE_VERIFY,
            &[alg.name(), &k.peer_key(alg, false), &ours],
            b"",
        );
        assert_eq!(out, CLIENT.as_bytes(), "jsonwebtoken verifying our {alg}");
    }
    // EdDSA: jsonwebtoken 9 has no EdDSA, so node's `jose` stands in.
    let alg = Algorithm::EdDSA;
    let token = common::run_node(
        &node,
        JOSE_MINT,
        &[alg.name(), &k.peer_key(alg, true), CLIENT, &iat],
        b"",
    );
    check_peer_token(&k, alg, std::str::from_utf8(&token).unwrap(), "jose");
    let ours = our_token(&k, alg);
    let out = common::run_node(
        &node,
        JOSE_VERIFY,
        &[alg.name(), &k.peer_key(alg, false), &ours],
        b"",
    );
    assert_eq!(out, CLIENT.as_bytes());
}

#[test]
fn the_seed_node_example_defaults_to_hs256() {
    // `jwt.sign(payload, secretKey)` with no options: the header must be HS256/JWT and verify.
    let Some(node) = common::node_path() else {
        return;
    };
    let k = keys();
    let iat = now().as_secs().to_string();
    let token = common::run_node(&node, NODE_MINT, &["HS256", SECRET, CLIENT, &iat], b"");
    let token = String::from_utf8(token).unwrap();
    let header = token.split('.').next().unwrap();
    let header = auth_core::encoding::b64url_decode(header, "h").unwrap();
    assert_eq!(header, br#"{"alg":"HS256","typ":"JWT"}"#);
    check_peer_token(&k, Algorithm::HS256, &token, "jsonwebtoken default");
}
