//! Fuzzes the verifying layer end to end through `AuthLayer::authenticate`, with credentials
//! registered for every scheme (bearer API keys, Qredo keys, RFC 9421 Ed25519 and HMAC keys,
//! an Altalix key, a JWT HS256 key by kid and by clientId, Smile keys, user tokens and app
//! tokens with their verifiers) on explicit routes, a fixed clock and a fresh small replay
//! store per input, so fuzz input reaches verification and replay, not only parsing.
//!
//! Input: the first byte picks a mode. Modes 0-7 are one scheme each: the harness builds the
//! request from the rest of the input (flags, clock skew, path, nonce, query, body, which key
//! and which deliberate fault) and signs it with the fixture's keys, so mutated content still
//! carries a valid signature. Mode 8 is a raw request (method, target, header fields, body)
//! taken verbatim; the seeds in `fuzz/corpus/http_layer/` include one validly signed raw
//! request per scheme. Regenerate them (after changing a key or the input layout) from `fuzz/`
//! with `HTTP_LAYER_WRITE_SEEDS=corpus/http_layer cargo fuzz run -s none http_layer -- -runs=0`
//! (see `write_seeds`, which also checks that each raw seed is accepted).
//!
//! Checked on every input: no panic; no 500 or 503 (every rejection is typed; the stores never
//! fail here); a public route yields no principal, an unrouted path is refused; an accepted
//! principal's scheme is one its route lists, its environment is the route's, its credential is
//! registered for the scheme's purpose, belongs to its partner and is usable now; a trial app
//! is never accepted where trial apps are refused; a user token always carries the route's
//! scope. For harness-signed requests: the canonical case is accepted, a deliberate fault
//! (wrong key, wrong purpose, wrong partner, revoked, expired, damaged signature) is refused.
//! Sent twice: a single-use scheme (Qredo, RFC 9421, Altalix, Smile) is refused the second time
//! as `replayed`; a bearer scheme is accepted again.
#![no_main]
use auth_core::apikey::{ApiKeyDigest, Environment, KeyPrefix};
use auth_core::credential::{
    Credential, CredentialRef, Material, Purpose, QredoMode, Scheme, Status,
};
use auth_core::keys::{HmacSecret, PrivateKey, SignatureAlgorithm, SigningKey, VerifyingKey};
use auth_core::rand::SystemRandom;
use auth_core::request::{Body, Headers, Message, Request as CoreRequest, TargetUri};
use auth_core::scheme::altalix::{self, AltalixPolicy, Amount, Payload};
use auth_core::scheme::apptrust::{
    AppDomain, AppId, AppManifest, AuthorityKey, AxPublicKey, DeveloperCertificate, Epoch,
    TokenIssuer, TokenVerifier, VerifiedManifest, signing_key_from_text,
};
use auth_core::scheme::jwt::{Algorithm, Claims, JwtKey, JwtPolicy, JwtSigner};
use auth_core::scheme::qredo::{self, Freshness, FreshnessMode, QredoPolicy};
use auth_core::scheme::rfc9421::{self, Component, SignatureSpec};
use auth_core::scheme::smile::{SmileKey, SmilePolicy};
use auth_core::scheme::user_token::{UserTokenIssuer, UserTokenVerifier};
use auth_core::{ErrorCode, UnixTime};
use auth_http::clock::Clock;
use auth_http::server::{
    Accept, AppTokenConfig, AuthConfig, AuthLayer, Disclosure, KeyResolver, MemoryReplayStore,
    MemoryResolver, Principal, Rejection, Route, Routes, SharedRevocations, TrialApps,
    UserTokenConfig,
};
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);
const HOST: &str = "fuzz.example";
const QREDO_RSA_PEM: &str = include_str!("../../testvectors/fixtures/rsa2048-pkcs1.pem");
const ALTALIX_RSA_PEM: &str = include_str!("../../testvectors/altalix/partner-key.pem");
const ED25519_PEM: &str = include_str!("../../testvectors/rfc9421/keys/test-key-ed25519.pem");
// The published Actyx example keys (testvectors/apptrust/protocols-section6.json).
const AUTHORITY_PRIVATE: &str = "0WBFFicIHbivRZXAlO7tPs7rCX6s7u2OIMJ2mx9nwg0w=";
const AUTHORITY_PUBLIC: &str = "075i62XGQJuXjv6nnLQyJzECZhF29acYvYeEOJ3kc5M8=";
const DEV_PRIVATE: &str = "08lUw93C+xzdxBcsYOoPVjzn8IHPJtnJW9Y/WyEu4v64=";
const DEV_PUBLIC: &str = "0nz1YdHu/JDmS6CImcZgOj9Y960sJOPrbZHAJO107qW0=";
const QREDO_TS_KEY: &str = "cXJlZG8tdGltZXN0YW1wLWtleS1mb3ItZnV6emluZw";
const QREDO_NONCE_KEY: &str = "cXJlZG8tbm9uY2Uta2V5LWZvci1mdXp6aW5nLW5vdw";
// 64 bytes: long enough for HS384 too, so the alg-confusion case signs with the same secret.
const JWT_SECRET: &[u8] = b"jwt-client-shared-secret-for-fuzzing-64-bytes-long-0123456789abc";
const HMAC_SECRET: &[u8] = b"rfc9421-hmac-shared-secret-32-bytes";
const SMILE_KEY: &[u8] = b"smile-085-api-key-for-fuzzing";
const USER_TOKEN_SECRET: &[u8] = b"provider-user-token-secret-32-bytes";
const REQUIRED_SCOPE: &str = "user:rate";

struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> UnixTime {
        NOW
    }
}

/// An API key of ours, `pa_<env>_<32 base32>_<crc32>`, made from `fill` (deterministic, so the
/// seeds stay valid).
fn our_key(env: Environment, fill: u8) -> String {
    const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut text = format!("pa_{}_", env.as_str());
    for i in 0..32u8 {
        text.push(char::from(
            BASE32[usize::from(fill.wrapping_add(i.wrapping_mul(7)) % 32)],
        ));
    }
    let crc = crc32fast::hash(text.as_bytes());
    text.push_str(&format!("_{crc:08x}"));
    text
}

struct Fixture {
    rt: tokio::runtime::Runtime,
    rng: SystemRandom,
    config: AuthConfig,
    resolver: Arc<MemoryResolver>,
    clock: Arc<dyn Clock>,
    api_live: String,
    api_test: String,
    api_revoked: String,
    api_expired: String,
    qredo_rsa: SigningKey,
    altalix_rsa: SigningKey,
    ed: SigningKey,
    hmac: SigningKey,
    smile: SmileKey,
    smile_wrong: SmileKey,
    user_tokens: UserTokenIssuer,
    user_tokens_wrong: UserTokenIssuer,
    revoked_user_token: String,
    node: TokenIssuer,
    node_wrong: TokenIssuer,
    node_old_epoch: TokenIssuer,
    trial_app: VerifiedManifest,
    signed_app: VerifiedManifest,
}

fn expect<T, E: std::fmt::Debug>(r: Result<T, E>, what: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("fixture: {what}: {e:?}"),
    }
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let f = build_fixture();
        if let Some(dir) = std::env::var_os("HTTP_LAYER_WRITE_SEEDS") {
            write_seeds(&f, std::path::Path::new(&dir));
        }
        f
    })
}

fn build_fixture() -> Fixture {
    let rng = SystemRandom::new();
    let resolver = Arc::new(MemoryResolver::new());
    let live = Environment::Live;
    let api = |text: &str, env, status| {
        let c = expect(
            Credential::api_key("acme", ApiKeyDigest::of(text), env),
            "api key",
        );
        c.with_scopes(["orders:read"]).with_status(status)
    };
    let api_live = our_key(Environment::Live, 1);
    let api_test = our_key(Environment::Test, 2);
    let api_revoked = our_key(Environment::Live, 3);
    let api_expired = our_key(Environment::Live, 4);
    let revoked = Status {
        revoked_at: Some(NOW.saturating_sub(Duration::from_secs(1))),
        ..Status::ACTIVE
    };
    let expired = Status {
        expires_at: Some(NOW),
        ..Status::ACTIVE
    };
    resolver.insert(api(&api_live, live, Status::ACTIVE));
    resolver.insert(api(&api_test, Environment::Test, Status::ACTIVE));
    resolver.insert(api(&api_revoked, live, revoked));
    resolver.insert(api(&api_expired, live, expired));

    let signing = |pem: &str, alg| {
        expect(
            SigningKey::new(&expect(PrivateKey::from_pem(pem), "pem"), alg, &rng),
            "signing key",
        )
    };
    let public = |pem: &str, alg| {
        let k = expect(PrivateKey::from_pem(pem), "pem");
        Arc::new(expect(
            VerifyingKey::new(&k.public_key(), alg),
            "verifying key",
        ))
    };
    let rsa = SignatureAlgorithm::RsaPkcs1Sha256;
    for (key, mode) in [
        (QREDO_TS_KEY, QredoMode::Timestamp),
        (QREDO_NONCE_KEY, QredoMode::Nonce),
    ] {
        let digest = ApiKeyDigest::of(key);
        resolver.insert(expect(
            Credential::new(
                "qredo-partner",
                &digest.to_hex(),
                live,
                Material::Qredo {
                    api_key: digest,
                    public_key: public(QREDO_RSA_PEM, rsa),
                    mode,
                },
            ),
            "qredo",
        ));
    }
    let ed_public = public(ED25519_PEM, SignatureAlgorithm::Ed25519);
    resolver.insert(expect(
        Credential::new(
            "sig-partner",
            "ed1",
            live,
            Material::HttpSignature(ed_public.clone()),
        ),
        "ed1",
    ));
    resolver.insert(
        expect(
            Credential::new(
                "sig-partner",
                "ed-revoked",
                live,
                Material::HttpSignature(ed_public),
            ),
            "ed-revoked",
        )
        .with_status(revoked),
    );
    let hmac_secret = expect(HmacSecret::from_bytes(HMAC_SECRET), "hmac");
    resolver.insert(expect(
        Credential::new(
            "sig-partner",
            "hmac1",
            Environment::Test,
            Material::HttpSignature(Arc::new(expect(
                VerifyingKey::hmac(&hmac_secret, SignatureAlgorithm::HmacSha256),
                "hmac key",
            ))),
        ),
        "hmac1",
    ));
    resolver.insert(expect(
        Credential::new(
            "altalix-partner",
            "alx1",
            live,
            Material::Altalix(public(ALTALIX_RSA_PEM, rsa)),
        ),
        "altalix",
    ));
    let jwt_secret = expect(HmacSecret::from_bytes(JWT_SECRET), "jwt secret");
    let jwt_key = expect(JwtKey::hmac(&jwt_secret, Algorithm::HS256), "jwt key")
        .with_kid("jwt-kid-1")
        .for_client("jwt-client");
    let jwt = expect(
        Credential::new(
            "jwt-partner",
            "jwt-kid-1",
            live,
            Material::Jwt(Arc::new(jwt_key)),
        ),
        "jwt",
    );
    resolver.insert_alias(
        expect(
            CredentialRef::parse(Purpose::JwtClientKey, "jwt-client"),
            "alias",
        ),
        jwt.clone(),
    );
    resolver.insert(jwt);
    let smile = expect(SmileKey::new(SMILE_KEY), "smile");
    resolver.insert(expect(
        Credential::new(
            "085",
            "085",
            live,
            Material::Smile(Arc::new(expect(SmileKey::new(SMILE_KEY), "smile"))),
        ),
        "085",
    ));
    resolver.insert(
        expect(
            Credential::new(
                "086",
                "086",
                live,
                Material::Smile(Arc::new(expect(SmileKey::new(SMILE_KEY), "smile"))),
            ),
            "086",
        )
        .with_status(revoked),
    );

    let ut_secret = expect(
        HmacSecret::from_bytes(USER_TOKEN_SECRET),
        "user token secret",
    );
    let user_tokens = UserTokenIssuer::new(
        expect(JwtSigner::hmac(&ut_secret, Algorithm::HS256), "signer"),
        "fuzz-provider",
    );
    let user_tokens_wrong = UserTokenIssuer::new(
        expect(
            JwtSigner::hmac(
                &expect(
                    HmacSecret::from_bytes(b"another-provider-secret-32-bytes!!"),
                    "secret",
                ),
                Algorithm::HS256,
            ),
            "signer",
        ),
        "fuzz-provider",
    );
    let revocations = Arc::new(SharedRevocations::default());
    let scopes = [REQUIRED_SCOPE, "orders:read"];
    let who = partner_principal(&scopes);
    let revoked_token = expect(
        user_tokens.issue(
            &who,
            &[REQUIRED_SCOPE],
            NOW.saturating_add(Duration::from_secs(300)),
            NOW,
            &rng,
        ),
        "revoked token",
    );
    revocations.revoke(&revoked_token.jti, revoked_token.expires_at);
    let user_token_config = UserTokenConfig::new(
        Arc::new(expect(
            UserTokenVerifier::new(
                expect(JwtKey::hmac(&ut_secret, Algorithm::HS256), "key"),
                "fuzz-provider",
            ),
            "verifier",
        )),
        REQUIRED_SCOPE,
        revocations,
    );

    let node_key = || expect(signing_key_from_text(DEV_PRIVATE, &rng), "node key");
    let node = expect(TokenIssuer::new(node_key(), Epoch(1)), "node");
    let node_wrong = expect(
        TokenIssuer::new(
            expect(signing_key_from_text(AUTHORITY_PRIVATE, &rng), "key"),
            Epoch(1),
        ),
        "node",
    );
    let node_old_epoch = expect(TokenIssuer::new(node_key(), Epoch(0)), "node");
    let verifier = Arc::new(expect(
        TokenVerifier::new(&expect(node.public_key(), "public"), Epoch(1)),
        "verifier",
    ));
    let authority = expect(
        AuthorityKey::new(expect(
            AxPublicKey::from_text(AUTHORITY_PUBLIC),
            "authority",
        )),
        "authority",
    );
    let trial_app = expect(
        expect(
            AppManifest::trial(
                expect(AppId::parse("com.example.fuzz"), "id"),
                "Fuzz",
                "1.0.0",
            ),
            "trial",
        )
        .verify(&authority),
        "trial manifest",
    );
    let cert = expect(
        DeveloperCertificate::issue(
            &expect(
                signing_key_from_text(AUTHORITY_PRIVATE, &rng),
                "authority key",
            ),
            expect(AxPublicKey::from_text(DEV_PUBLIC), "dev"),
            vec![expect(AppDomain::parse("com.actyx.*"), "domain")],
            &rng,
        ),
        "certificate",
    );
    let signed_app = expect(
        expect(
            AppManifest::sign(
                &node_key(),
                &cert,
                expect(AppId::parse("com.actyx.fuzz"), "id"),
                "Fuzz",
                "1.0.0",
                &rng,
            ),
            "signed manifest",
        )
        .verify(&authority),
        "signed manifest",
    );

    let partner = Route::new()
        .accept(Accept::ApiKey)
        .accept(Accept::Qredo(
            QredoPolicy::default().with_freshness(FreshnessMode::TimestampOrNonce),
        ))
        .accept(Accept::http_signature())
        .accept(Accept::Altalix(AltalixPolicy::default()))
        .accept(Accept::Jwt(JwtPolicy::default()))
        .accept(Accept::Smile(SmilePolicy::default()));
    let routes = Routes::new()
        .exact("/health", Route::public())
        .prefix("/partner", partner)
        .prefix(
            "/live",
            Route::new()
                .accept(Accept::ApiKey)
                .accept(Accept::http_signature())
                .require_environment(live),
        )
        .exact(
            "/rates",
            Route::new().accept(Accept::UserToken(user_token_config)),
        )
        .prefix(
            "/apps",
            Route::new().accept(Accept::AppToken(AppTokenConfig::new(verifier.clone()))),
        )
        .exact(
            "/demo/trial",
            Route::new().accept(Accept::AppToken(
                AppTokenConfig::new(verifier).with_trial_apps(TrialApps::Accept),
            )),
        );
    let mut config = AuthConfig::new(expect(KeyPrefix::new("pa"), "prefix"), routes);
    config.disclosure = Disclosure::Detailed;
    config.body_limit = 16 * 1024;
    Fixture {
        rt: expect(
            tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build(),
            "runtime",
        ),
        config,
        resolver,
        clock: Arc::new(FixedClock),
        api_live,
        api_test,
        api_revoked,
        api_expired,
        qredo_rsa: signing(QREDO_RSA_PEM, rsa),
        altalix_rsa: signing(ALTALIX_RSA_PEM, rsa),
        ed: signing(ED25519_PEM, SignatureAlgorithm::Ed25519),
        hmac: expect(
            SigningKey::hmac(&hmac_secret, SignatureAlgorithm::HmacSha256),
            "hmac",
        ),
        smile,
        smile_wrong: expect(SmileKey::new(b"not-the-smile-key-of-085"), "smile"),
        user_tokens,
        user_tokens_wrong,
        revoked_user_token: revoked_token.access_token,
        node,
        node_wrong,
        node_old_epoch,
        trial_app,
        signed_app,
        rng,
    }
}

/// Reads structured values from the fuzz input; past the end every read is empty or zero.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn u8(&mut self) -> u8 {
        let (first, rest) = self.0.split_first().map_or((0, &[][..]), |(f, r)| (*f, r));
        self.0 = rest;
        first
    }

    fn u64(&mut self) -> u64 {
        (0..8).fold(0u64, |acc, _| (acc << 8) | u64::from(self.u8()))
    }

    /// A byte string with a two-byte little-endian length.
    fn bytes(&mut self) -> &'a [u8] {
        let len = usize::from(u16::from_le_bytes([self.u8(), self.u8()])).min(self.0.len());
        let (taken, rest) = self.0.split_at(len);
        self.0 = rest;
        taken
    }

    fn text(&mut self) -> String {
        String::from_utf8_lossy(self.bytes()).into_owned()
    }

    fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.0)
    }
}

/// The encoder matching [`Reader`] (for the seeds).
#[derive(Default)]
struct Writer(Vec<u8>);

impl Writer {
    fn u8(mut self, b: u8) -> Self {
        self.0.push(b);
        self
    }

    fn bytes(mut self, b: &[u8]) -> Self {
        let len = u16::try_from(b.len()).unwrap_or(u16::MAX);
        self.0.extend_from_slice(&len.to_le_bytes());
        self.0.extend_from_slice(&b[..usize::from(len)]);
        self
    }
}

/// `bytes` mapped onto `[A-Za-z0-9_-]` (at most `max` of them), or `fallback` when empty.
fn safe(bytes: &[u8], max: usize, fallback: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    if bytes.is_empty() {
        return fallback.to_owned();
    }
    bytes
        .iter()
        .take(max)
        .map(|b| char::from(ALPHABET[usize::from(b % 64)]))
        .collect()
}

/// Changes the character in the middle of the last `.`-separated segment of `text` (a
/// signature, a token's signature, a key's random part) to another character of the same
/// alphabet, so the value stays well-formed but no longer verifies.
fn damage(text: &str) -> String {
    let start = text.rfind('.').map_or(0, |i| i + 1);
    let i = start + (text.len() - start) / 2;
    let mut out = text.as_bytes().to_vec();
    if let Some(b) = out.get_mut(i) {
        *b = match *b {
            b'A' => b'B',
            b'a' => b'b',
            b'0' => b'1',
            c if c.is_ascii_alphanumeric() => b'A',
            _ => b'a',
        };
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An identifier or key text from the input that names nothing registered (no registered ID
/// starts with `unk-`), so the case stays a deliberate fault whatever the fuzzer writes.
fn unknown(k: &Knobs, bytes: &[u8]) -> String {
    format!("unk-{}", k.text(bytes, 32, "x"))
}

/// What the harness knows about the request it built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Must be accepted.
    Accept,
    /// Must be refused.
    Refuse,
    /// Either (the input chose values whose outcome the harness does not model).
    Unknown,
}

struct Case {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    expect: Expect,
    twice: bool,
}

/// The common knobs of a harness-signed request.
struct Knobs {
    twice: bool,
    damaged: bool,
    /// Content from the input used verbatim instead of mapped onto a safe alphabet.
    raw: bool,
    /// 0 or 1: the scheme's own route; 2: another protected route; 3: the public or an
    /// unrouted path.
    path: u8,
    variant: u8,
    skew: i64,
}

impl Knobs {
    fn read(r: &mut Reader<'_>) -> Self {
        let flags = r.u8();
        let skew = r.u8();
        Self {
            twice: flags & 1 != 0,
            damaged: flags & 2 != 0,
            raw: flags & 4 != 0,
            path: (flags >> 3) & 3,
            variant: flags >> 5,
            skew: if skew < 192 {
                0
            } else {
                (i64::from(skew) - 224) * 16
            },
        }
    }

    fn at(&self, t: UnixTime) -> UnixTime {
        match u64::try_from(self.skew) {
            Ok(ahead) => t.saturating_add(Duration::from_secs(ahead)),
            Err(_) => t.saturating_sub(Duration::from_secs(self.skew.unsigned_abs())),
        }
    }

    fn text(&self, bytes: &[u8], max: usize, fallback: &str) -> String {
        if self.raw {
            String::from_utf8_lossy(bytes).into_owned()
        } else {
            safe(bytes, max, fallback)
        }
    }

    /// `own` for path choices 0 and 1, `other` for 2, the public or no route for 3.
    fn path(&self, own: &str, other: &str, tail: &str) -> String {
        match self.path {
            0 | 1 => format!("{own}/{tail}"),
            2 => format!("{other}/{tail}"),
            _ if tail.len().is_multiple_of(2) => "/health".to_owned(),
            _ => format!("/nowhere/{tail}"),
        }
    }

    /// The expectation of a request built with `variant_ok` (is this variant a valid credential
    /// for the scheme's own route?), given the knobs.
    fn expect(&self, variant_ok: bool) -> Expect {
        if !variant_ok || self.damaged {
            Expect::Refuse
        } else if self.skew == 0 && !self.raw && self.path < 2 {
            Expect::Accept
        } else {
            Expect::Unknown
        }
    }
}

fn signed_case(f: &Fixture, scheme: u8, r: &mut Reader<'_>) -> Option<Case> {
    let k = Knobs::read(r);
    let a = r.bytes();
    let b = r.bytes();
    let body = r.bytes();
    let tail = k.text(a, 24, "x");
    let query = k.text(b, 48, "q=1");
    let body = if k.raw {
        body.to_vec()
    } else {
        safe(body, 256, "").into_bytes()
    };
    let mut headers = vec![("host".to_owned(), HOST.to_owned())];
    let mut method = "GET".to_owned();
    let (target, body, expect) = match scheme {
        0 => {
            // Bearer API keys.
            let (key, ok) = match k.variant {
                0 | 1 => (f.api_live.clone(), true),
                // A test key: fine on /partner, refused on /live (checked via the principal).
                2 => (f.api_test.clone(), true),
                // A Qredo x-api-key is never a bearer key.
                3 => (QREDO_TS_KEY.to_owned(), false),
                4 => (f.api_revoked.clone(), false),
                5 => (f.api_expired.clone(), false),
                6 => (unknown(&k, a), false),
                _ => (damage(&f.api_live), false),
            };
            let key = if k.damaged { damage(&key) } else { key };
            if k.variant == 1 {
                headers.push(("x-api-key".to_owned(), key));
            } else {
                headers.push(("authorization".to_owned(), format!("Bearer {key}")));
            }
            let target = format!("{}?{query}", k.path("/partner", "/live", &tail));
            let expect = match (k.variant, k.path) {
                (2, 2) => Expect::Refuse,
                _ => k.expect(ok),
            };
            (target, body, expect)
        }
        1 => {
            // Qredo: x-api-key + x-timestamp | x-nonce + x-sign over freshness, URL and body.
            method = "POST".to_owned();
            // `qredo::parse` reads at most 19 digits while `qredo::sign` writes any u64 (found
            // by this target; reported): stay below 10^19 until the two agree.
            let nonce = r.u64() % 10_000_000_000_000_000_000;
            let (api_key, freshness, signer, ok) = match k.variant {
                0 | 6 | 7 => (
                    QREDO_TS_KEY.to_owned(),
                    Freshness::Timestamp(k.at(NOW).as_secs()),
                    &f.qredo_rsa,
                    true,
                ),
                1 => (
                    QREDO_NONCE_KEY.to_owned(),
                    Freshness::Nonce(nonce),
                    &f.qredo_rsa,
                    true,
                ),
                // The timestamp key signing with a nonce: the key is bound to its mode.
                2 => (
                    QREDO_TS_KEY.to_owned(),
                    Freshness::Nonce(nonce),
                    &f.qredo_rsa,
                    false,
                ),
                // Signed with another RSA key.
                3 => (
                    QREDO_TS_KEY.to_owned(),
                    Freshness::Timestamp(k.at(NOW).as_secs()),
                    &f.altalix_rsa,
                    false,
                ),
                4 => (
                    unknown(&k, a),
                    Freshness::Timestamp(k.at(NOW).as_secs()),
                    &f.qredo_rsa,
                    false,
                ),
                // Our bearer key is not a Qredo key.
                _ => (
                    f.api_live.clone(),
                    Freshness::Timestamp(k.at(NOW).as_secs()),
                    &f.qredo_rsa,
                    false,
                ),
            };
            let target = format!("{}?{query}", k.path("/partner", "/live", &tail));
            let url = format!("http://{HOST}{target}");
            let signed = qredo::sign(
                &TargetUri::parse(&url).ok()?,
                &body,
                freshness,
                signer,
                &f.rng,
            )
            .ok()?;
            for (name, value) in signed.with_api_key(&api_key) {
                let value = if k.damaged && name == qredo::HEADER_SIGN {
                    damage(value)
                } else {
                    value.to_owned()
                };
                headers.push((name.to_owned(), value));
            }
            (target, body, k.expect(ok))
        }
        2 => {
            // RFC 9421 over method, authority, path, query and the body's Content-Digest.
            method = "POST".to_owned();
            let nonce = k.text(a, 32, "n");
            let (key_id, signer, ok) = match k.variant {
                0 | 6 | 7 => ("ed1".to_owned(), &f.ed, true),
                // A test-environment HMAC key: fine on /partner, refused on /live.
                1 => ("hmac1".to_owned(), &f.hmac, true),
                2 => ("ed1".to_owned(), &f.ed, false),
                3 => (unknown(&k, b), &f.ed, false),
                4 => ("ed-revoked".to_owned(), &f.ed, false),
                // An API key credential's ID is not an HTTP signature key ID.
                _ => (ApiKeyDigest::of(&f.api_live).to_hex(), &f.ed, false),
            };
            let target = format!("{}?{query}", k.path("/partner", "/live", &tail));
            let url = format!("http://{HOST}{target}");
            let mut components = vec![
                Component::method(),
                Component::authority(),
                Component::path(),
                Component::query(),
            ];
            if !body.is_empty() {
                let digest = auth_core::content_digest::create(
                    &body,
                    auth_core::content_digest::DigestAlgorithm::Sha256,
                );
                headers.push(("content-digest".to_owned(), digest));
                components.push(Component::field("content-digest").ok()?);
            }
            let mut spec = SignatureSpec::new("sig1", components, k.at(NOW))
                .ok()?
                .keyid(&key_id)
                .ok()?;
            // Variant 2 signs without a nonce; the route's policy requires one.
            if k.variant != 2 {
                spec = spec.nonce(&nonce).ok()?;
            }
            let fields: Vec<(&str, &str)> = headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            let view = CoreRequest::new(
                &method,
                TargetUri::parse(&url).ok()?,
                Headers::new(&fields),
                Body::from_bytes(&body),
            )
            .ok()?;
            let signed = rfc9421::sign(&Message::Request(&view), &spec, signer, &f.rng).ok()?;
            let signature = if k.damaged {
                damage(signed.signature.trim_end_matches(':')) + ":"
            } else {
                signed.signature
            };
            headers.push(("signature-input".to_owned(), signed.signature_input));
            headers.push(("signature".to_owned(), signature));
            let expect = match (k.variant, k.path) {
                (1, 2) => Expect::Refuse,
                _ => k.expect(ok),
            };
            (target, body, expect)
        }
        3 => {
            // Altalix: ?payload=<Base64 JSON>&signature=<Base64 RSA signature>.
            let (partner_id, key_id, signer, ok) = match k.variant {
                1 => ("acme".to_owned(), "alx1".to_owned(), &f.altalix_rsa, false),
                2 => (
                    "altalix-partner".to_owned(),
                    unknown(&k, b),
                    &f.altalix_rsa,
                    false,
                ),
                3 => (
                    "altalix-partner".to_owned(),
                    "alx1".to_owned(),
                    &f.qredo_rsa,
                    false,
                ),
                _ => (
                    "altalix-partner".to_owned(),
                    "alx1".to_owned(),
                    &f.altalix_rsa,
                    true,
                ),
            };
            let payload = Payload {
                sell_currency: "EUR".into(),
                buy_currency: "ETH".into(),
                address: k.text(a, 64, "0xabc"),
                partner_id,
                key_id,
                created_at: k.at(NOW).to_rfc3339(),
                amount: Amount::Sell(safe(b, 12, "25")),
            };
            let mut signed = altalix::sign(&payload, signer, &f.rng).ok()?;
            if k.damaged {
                signed.signature_b64 = damage(&signed.signature_b64);
            }
            let target = format!("{}?{}", k.path("/partner", "/live", &tail), signed.query());
            (target, body, k.expect(ok))
        }
        4 => {
            // JWT partner tokens (HS256), found by kid or by clientId.
            let secret = |s: &[u8]| HmacSecret::from_bytes(s).ok();
            let (client, kid, key, alg, ok) = match k.variant {
                1 => (
                    "jwt-client".to_owned(),
                    Some("jwt-kid-1"),
                    secret(JWT_SECRET)?,
                    Algorithm::HS256,
                    true,
                ),
                2 => (
                    "intruder".to_owned(),
                    Some("jwt-kid-1"),
                    secret(JWT_SECRET)?,
                    Algorithm::HS256,
                    false,
                ),
                3 => (
                    "jwt-client".to_owned(),
                    None,
                    secret(b"not-the-jwt-client-secret-32-bytes")?,
                    Algorithm::HS256,
                    false,
                ),
                4 => (
                    unknown(&k, a),
                    None,
                    secret(JWT_SECRET)?,
                    Algorithm::HS256,
                    false,
                ),
                5 => (
                    "jwt-client".to_owned(),
                    None,
                    secret(JWT_SECRET)?,
                    Algorithm::HS384,
                    false,
                ),
                // A kid naming a credential of another purpose.
                6 => (
                    "jwt-client".to_owned(),
                    Some("ed1"),
                    secret(JWT_SECRET)?,
                    Algorithm::HS256,
                    false,
                ),
                _ => (
                    "jwt-client".to_owned(),
                    None,
                    secret(JWT_SECRET)?,
                    Algorithm::HS256,
                    true,
                ),
            };
            let mut signer = JwtSigner::hmac(&key, alg).ok()?;
            if let Some(kid) = kid {
                signer = signer.with_kid(kid);
            }
            let token = signer
                .sign(&Claims::seed_profile(client, k.at(NOW)), &f.rng)
                .ok()?;
            let token = if k.damaged { damage(&token) } else { token };
            headers.push(("authorization".to_owned(), format!("Bearer {token}")));
            let target = format!("{}?{query}", k.path("/partner", "/live", &tail));
            (target, body, k.expect(ok))
        }
        5 => {
            // Smile: HMAC of timestamp + partner ID, in smileid-* headers or JSON body fields.
            let (partner, key, ok) = match k.variant {
                2 => ("085".to_owned(), &f.smile_wrong, false),
                3 => (unknown(&k, a), &f.smile, false),
                4 => ("086".to_owned(), &f.smile, false),
                _ => ("085".to_owned(), &f.smile, true),
            };
            let mut signed = key.sign_at(&partner, k.at(NOW));
            if k.damaged {
                signed.signature = damage(&signed.signature);
            }
            let body = if k.variant == 1 {
                method = "POST".to_owned();
                let mut object = serde_json::Map::new();
                object.insert(
                    "job".into(),
                    serde_json::Value::from(String::from_utf8_lossy(&body).into_owned()),
                );
                for (name, value) in signed.body_fields() {
                    object.insert(name.to_owned(), serde_json::Value::from(value));
                }
                headers.push(("content-type".to_owned(), "application/json".to_owned()));
                serde_json::Value::Object(object).to_string().into_bytes()
            } else {
                for (name, value) in signed.headers() {
                    headers.push((name.to_owned(), value.to_owned()));
                }
                body
            };
            let target = format!("{}?{query}", k.path("/partner", "/live", &tail));
            (target, body, k.expect(ok))
        }
        6 => {
            // Restricted user tokens on /rates.
            let scopes = [REQUIRED_SCOPE, "orders:read"];
            let who = partner_principal(&scopes);
            let in_5_min = NOW.saturating_add(Duration::from_secs(300));
            let (token, ok) = match k.variant {
                1 => (
                    f.user_tokens
                        .issue(&who, &["orders:read"], in_5_min, NOW, &f.rng)
                        .ok()?
                        .access_token,
                    false,
                ),
                2 => (f.revoked_user_token.clone(), false),
                3 => (
                    f.user_tokens_wrong
                        .issue(&who, &[REQUIRED_SCOPE], in_5_min, NOW, &f.rng)
                        .ok()?
                        .access_token,
                    false,
                ),
                4 => {
                    let then = NOW.saturating_sub(Duration::from_secs(400));
                    let exp = NOW.saturating_sub(Duration::from_secs(100));
                    (
                        f.user_tokens
                            .issue(&who, &[REQUIRED_SCOPE], exp, then, &f.rng)
                            .ok()?
                            .access_token,
                        false,
                    )
                }
                _ => {
                    let at = k.at(NOW);
                    let exp = at.saturating_add(Duration::from_secs(300));
                    (
                        f.user_tokens
                            .issue(&who, &[REQUIRED_SCOPE], exp, at, &f.rng)
                            .ok()?
                            .access_token,
                        true,
                    )
                }
            };
            let token = if k.damaged { damage(&token) } else { token };
            headers.push(("authorization".to_owned(), format!("Bearer {token}")));
            let path = match k.path {
                0 | 1 => "/rates".to_owned(),
                _ => k.path("/rates", "/partner", &tail),
            };
            (format!("{path}?{query}"), body, k.expect(ok))
        }
        _ => {
            // App tokens: signed apps on /apps, trial apps on /demo/trial only.
            let at = k.at(NOW);
            let (token, own, ok) = match k.variant {
                1 => (
                    f.node.issue(&f.trial_app, at, &f.rng).ok()?,
                    "/demo/trial",
                    true,
                ),
                // A trial app where only signed apps are accepted.
                2 => (f.node.issue(&f.trial_app, at, &f.rng).ok()?, "/apps", false),
                3 => (
                    f.node_wrong.issue(&f.signed_app, at, &f.rng).ok()?,
                    "/apps",
                    false,
                ),
                5 => (
                    f.node_old_epoch.issue(&f.signed_app, at, &f.rng).ok()?,
                    "/apps",
                    false,
                ),
                _ => (f.node.issue(&f.signed_app, at, &f.rng).ok()?, "/apps", true),
            };
            let token = if k.damaged { damage(&token) } else { token };
            let path = match (k.path, own) {
                (0 | 1, "/demo/trial") => own.to_owned(),
                _ => k.path(own, "/partner", &tail),
            };
            let target = if k.variant == 4 {
                format!("{path}?access_token={token}")
            } else {
                headers.push(("authorization".to_owned(), format!("Bearer {token}")));
                format!("{path}?{query}")
            };
            (target, body, k.expect(ok))
        }
    };
    Some(Case {
        method,
        target,
        headers,
        body,
        expect,
        twice: k.twice,
    })
}

fn raw_case(r: &mut Reader<'_>) -> Case {
    let flags = r.u8();
    let method = r.text();
    let target = r.text();
    let count = r.u8() % 24;
    let headers = (0..count).map(|_| (r.text(), r.text())).collect();
    Case {
        method,
        target,
        headers,
        body: r.rest().to_vec(),
        expect: Expect::Unknown,
        twice: flags & 1 != 0,
    }
}

fn parts_of(case: &Case) -> Option<http::request::Parts> {
    let mut builder = http::Request::builder()
        .method(case.method.as_str())
        .uri(case.target.as_str());
    for (name, value) in &case.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    builder.body(()).ok().map(|r| r.into_parts().0)
}

fn purpose_of(scheme: Scheme) -> Purpose {
    match scheme {
        Scheme::ApiKey => Purpose::ApiKey,
        Scheme::Qredo => Purpose::QredoKey,
        Scheme::HttpSignature => Purpose::HttpSignatureKey,
        Scheme::Altalix => Purpose::AltalixKey,
        Scheme::Jwt => Purpose::JwtClientKey,
        Scheme::Smile => Purpose::SmileKey,
        Scheme::UserToken => Purpose::UserToken,
        Scheme::AppToken => Purpose::AppToken,
    }
}

fn single_use(scheme: Scheme) -> bool {
    matches!(
        scheme,
        Scheme::Qredo | Scheme::HttpSignature | Scheme::Altalix | Scheme::Smile
    )
}

/// The invariants of one decision.
fn check(f: &Fixture, path: &str, result: &Result<Option<Principal>, Rejection>) {
    let route = f.config.routes.find(path);
    match result {
        Err(r) => assert!(
            !matches!(r.status.as_u16(), 500 | 503),
            "{path}: an untyped or unavailable rejection: {} {:?}",
            r.status,
            r.error
        ),
        Ok(None) => assert!(
            route.is_some_and(|r| r.is_public()),
            "{path}: no principal on a protected route"
        ),
        Ok(Some(p)) => {
            let route = route.unwrap_or_else(|| panic!("{path}: accepted without a route"));
            assert!(!route.is_public(), "{path}: a principal on a public route");
            assert!(
                route.schemes().iter().any(|a| a.scheme() == p.scheme),
                "{path}: accepted with {} which the route does not list",
                p.scheme
            );
            if let Some(env) = route.environment() {
                assert_eq!(p.environment, env, "{path}: wrong environment");
            }
            assert_eq!(
                p.credential.purpose(),
                purpose_of(p.scheme),
                "{path}: {p:?}"
            );
            match p.scheme {
                Scheme::UserToken => assert!(
                    p.has_scope(REQUIRED_SCOPE),
                    "{path}: user token without its scope"
                ),
                Scheme::AppToken => {
                    let trial_ok = route.schemes().iter().any(
                        |a| matches!(a, Accept::AppToken(c) if c.trial_apps == TrialApps::Accept),
                    );
                    assert!(
                        trial_ok || !p.partner.as_str().starts_with("com.example."),
                        "{path}: a trial app where trial apps are refused"
                    );
                }
                _ => {
                    let found = f.rt.block_on(f.resolver.resolve(&p.credential));
                    let c = found
                        .ok()
                        .flatten()
                        .unwrap_or_else(|| panic!("{path}: unregistered {p:?}"));
                    assert_eq!(c.purpose(), p.credential.purpose());
                    assert_eq!(c.partner, p.partner);
                    assert!(
                        c.status.check(NOW).is_ok(),
                        "{path}: accepted an unusable credential"
                    );
                }
            }
        }
    }
}

fn run(f: &Fixture, case: &Case) {
    let Some(parts) = parts_of(case) else { return };
    let layer = AuthLayer::with_clock(
        f.config.clone(),
        f.resolver.clone(),
        Arc::new(MemoryReplayStore::new(64, 8)),
        f.clock.clone(),
    );
    let path = parts.uri.path().to_owned();
    let first = f.rt.block_on(layer.authenticate(&parts, &case.body));
    check(f, &path, &first);
    match case.expect {
        Expect::Accept => assert!(
            matches!(first, Ok(Some(_))),
            "a canonical signed request was refused: {} {} {:?}: {:?}",
            case.method,
            case.target,
            case.headers,
            first.as_ref().err().map(|r| &r.error)
        ),
        Expect::Refuse => assert!(
            !matches!(first, Ok(Some(_))),
            "a faulty credential was accepted: {first:?}"
        ),
        Expect::Unknown => {}
    }
    if !case.twice {
        return;
    }
    let second = f.rt.block_on(layer.authenticate(&parts, &case.body));
    check(f, &path, &second);
    if let Ok(Some(p)) = &first {
        if single_use(p.scheme) {
            let code = second.as_ref().err().map(|r| r.error.code());
            assert_eq!(
                code,
                Some(ErrorCode::Replayed),
                "{} accepted twice: {second:?}",
                p.scheme
            );
        } else {
            assert!(
                matches!(second, Ok(Some(_))),
                "a bearer credential refused the second time: {second:?}"
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let mut r = Reader(data);
    let mode = r.u8() % 9;
    let case = if mode == 8 {
        Some(raw_case(&mut r))
    } else {
        signed_case(f, mode, &mut r)
    };
    if let Some(case) = case {
        run(f, &case);
    }
});

/// Writes the seed corpus into `dir`: per scheme, the canonical harness-signed input and the
/// same request as a raw input with its signature (fixed keys and clock keep it valid; the
/// tokens' random IDs do not matter), sent twice.
fn write_seeds(f: &Fixture, dir: &std::path::Path) {
    const NAMES: [&str; 8] = [
        "api_key",
        "qredo",
        "rfc9421",
        "altalix",
        "jwt",
        "smile",
        "user_token",
        "app_token",
    ];
    let _ = std::fs::create_dir_all(dir);
    for (mode, name) in (0u8..).zip(NAMES) {
        let structured = Writer::default()
            .u8(mode)
            .u8(1) // sent twice, canonical variant, own route
            .u8(0) // no clock skew
            .bytes(b"orders")
            .bytes(b"page2")
            .bytes(b"amount25")
            .0;
        let mut r = Reader(&structured[1..]);
        let case = expect(signed_case(f, mode, &mut r).ok_or("no case"), name);
        assert_eq!(case.expect, Expect::Accept, "{name}");
        let mut raw = Writer::default()
            .u8(8)
            .u8(1)
            .bytes(case.method.as_bytes())
            .bytes(case.target.as_bytes())
            .u8(u8::try_from(case.headers.len()).unwrap_or(0));
        for (n, v) in &case.headers {
            raw = raw.bytes(n.as_bytes()).bytes(v.as_bytes());
        }
        let mut raw = raw.0;
        raw.extend_from_slice(&case.body);
        // The raw form decodes to the same request, and it is accepted (run checks that).
        let mut replayed = raw_case(&mut Reader(&raw[1..]));
        assert_eq!(replayed.headers, case.headers, "{name}");
        replayed.expect = Expect::Accept;
        run(f, &replayed);
        let _ = std::fs::write(dir.join(format!("signed-{name}")), &structured);
        let _ = std::fs::write(dir.join(format!("raw-{name}")), &raw);
    }
}

/// The partner `acme` (API-key credential) that asks for user tokens with `scopes`.
fn partner_principal(scopes: &[&str]) -> auth_core::credential::Principal {
    auth_core::credential::Principal {
        partner: auth_core::credential::PartnerId::new("acme").expect("principal"),
        credential: auth_core::credential::CredentialRef::parse(
            auth_core::credential::Purpose::ApiKey,
            "acme-key",
        )
        .expect("principal"),
        scheme: auth_core::credential::Scheme::ApiKey,
        scopes: auth_core::credential::Scopes::new(scopes.iter().copied()),
        environment: auth_core::credential::Environment::Live,
        expires_at: None,
    }
}
