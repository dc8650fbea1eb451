//! The registry end to end on a real SQLite store: keys made by the `openssl` CLI are
//! uploaded, stored, resolved into working credentials (signatures made with the private
//! halves verify under the resolved keys), sealed secrets open only under the right master
//! key, `rekey` moves everything to a new key, and usage is written in batches.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use auth_core::ErrorCode;
use auth_core::apikey::{ApiKeyDigest, Environment};
use auth_core::credential::{
    CredentialRef, Material, PartnerId, Purpose, QredoMode, Scopes, Status,
};
use auth_core::keys::{PrivateKey, SignatureAlgorithm, SigningKey};
use auth_core::scheme::jwt::Algorithm as Jws;
use auth_core::scheme::smile::SmileKey;
use auth_core::time::UnixTime;
use auth_http::SystemClock;
use auth_http::server::{Decision, KeyResolver, Observer, Outcome};
use auth_verify::registry::{Registry, UsageRecorder};
use auth_verify::sealed::{KeyCheck, MasterKey, SealError, rekey};
use auth_verify::store::sqlite::{DB_FILE, SqliteStore};
use auth_verify::store::{
    AdminList, BoxFuture, CredentialRecord, Document, PartnerRecord, PartnerStatus, Store,
    StoreError, StoreResult, StoredMaterial, Usage, UsageDelta,
};
use auth_verify::upload::{UploadError, parse_public_key};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const NOW: UnixTime = UnixTime::from_secs(1_800_000_000);
const SMILE_SECRET: &[u8] = b"smile-partner-api-key-0123456789";
const JWT_SECRET: &[u8] = b"jwt-client-secret-0123456789abcdef";

/// Runs the openssl CLI; panics with its stderr on failure.
fn openssl(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl CLI is installed");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A private key made by `openssl genpkey`, and its public half from `openssl pkey -pubout`.
fn openssl_key(dir: &Path, name: &str, genpkey: &[&str]) -> (String, String) {
    let file = format!("{name}.pem");
    let mut args = vec!["genpkey", "-out", &file];
    args.extend_from_slice(genpkey);
    openssl(dir, &args);
    let public = openssl(dir, &["pkey", "-in", &file, "-pubout"]);
    (std::fs::read_to_string(dir.join(&file)).unwrap(), public)
}

fn rsa(dir: &Path, name: &str, bits: &str) -> (String, String) {
    let bits = format!("rsa_keygen_bits:{bits}");
    openssl_key(dir, name, &["-algorithm", "RSA", "-pkeyopt", &bits])
}

/// A test store: SQLite underneath, switchable "down", recording every usage batch.
struct TestStore {
    inner: SqliteStore,
    down: AtomicBool,
    usage_batches: Mutex<Vec<Vec<UsageDelta>>>,
}

impl TestStore {
    fn open(dir: &Path) -> Arc<Self> {
        Arc::new(Self {
            inner: SqliteStore::open(dir, Duration::from_secs(2)).unwrap(),
            down: AtomicBool::new(false),
            usage_batches: Mutex::new(Vec::new()),
        })
    }

    fn check(&self) -> StoreResult<()> {
        if self.down.load(Ordering::SeqCst) {
            Err(StoreError::Unavailable("test store is down".into()))
        } else {
            Ok(())
        }
    }
}

macro_rules! delegate {
    ($self:ident, $call:expr) => {
        Box::pin(async move {
            $self.check()?;
            $call.await
        })
    };
}

impl Store for TestStore {
    fn ping(&self) -> BoxFuture<'_, StoreResult<()>> {
        delegate!(self, self.inner.ping())
    }
    fn meta<'a>(&'a self, key: &'a str) -> BoxFuture<'a, StoreResult<Option<Vec<u8>>>> {
        delegate!(self, self.inner.meta(key))
    }
    fn set_meta<'a>(&'a self, k: &'a str, v: &'a [u8], a: bool) -> BoxFuture<'a, StoreResult<()>> {
        delegate!(self, self.inner.set_meta(k, v, a))
    }
    fn create_partner<'a>(&'a self, p: &'a PartnerRecord) -> BoxFuture<'a, StoreResult<()>> {
        delegate!(self, self.inner.create_partner(p))
    }
    fn partner<'a>(
        &'a self,
        id: &'a PartnerId,
    ) -> BoxFuture<'a, StoreResult<Option<PartnerRecord>>> {
        delegate!(self, self.inner.partner(id))
    }
    fn partners(&self) -> BoxFuture<'_, StoreResult<Vec<PartnerRecord>>> {
        delegate!(self, self.inner.partners())
    }
    fn update_partner<'a>(&'a self, p: &'a PartnerRecord) -> BoxFuture<'a, StoreResult<()>> {
        delegate!(self, self.inner.update_partner(p))
    }
    fn insert_credential<'a>(&'a self, c: &'a CredentialRecord) -> BoxFuture<'a, StoreResult<()>> {
        delegate!(self, self.inner.insert_credential(c))
    }
    fn credential<'a>(
        &'a self,
        r: &'a CredentialRef,
    ) -> BoxFuture<'a, StoreResult<Option<CredentialRecord>>> {
        delegate!(self, self.inner.credential(r))
    }
    fn credentials<'a>(
        &'a self,
        p: &'a PartnerId,
    ) -> BoxFuture<'a, StoreResult<Vec<CredentialRecord>>> {
        delegate!(self, self.inner.credentials(p))
    }
    fn set_status<'a>(&'a self, r: &'a CredentialRef, s: Status) -> BoxFuture<'a, StoreResult<()>> {
        delegate!(self, self.inner.set_status(r, s))
    }
    fn regenerate<'a>(
        &'a self,
        old: &'a CredentialRef,
        at: UnixTime,
        new: &'a CredentialRecord,
    ) -> BoxFuture<'a, StoreResult<()>> {
        delegate!(self, self.inner.regenerate(old, at, new))
    }
    fn sealed_credentials(&self) -> BoxFuture<'_, StoreResult<Vec<CredentialRecord>>> {
        delegate!(self, self.inner.sealed_credentials())
    }
    fn reseal<'a>(
        &'a self,
        m: &'a [(CredentialRef, StoredMaterial)],
        meta: &'a [(String, Vec<u8>)],
        d: &'a [Document],
    ) -> BoxFuture<'a, StoreResult<()>> {
        delegate!(self, self.inner.reseal(m, meta, d))
    }
    fn record_usage<'a>(&'a self, deltas: &'a [UsageDelta]) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            self.check()?;
            self.usage_batches.lock().unwrap().push(deltas.to_vec());
            self.inner.record_usage(deltas).await
        })
    }
    fn usage<'a>(&'a self, r: &'a CredentialRef) -> BoxFuture<'a, StoreResult<Usage>> {
        delegate!(self, self.inner.usage(r))
    }
    fn admins(&self) -> BoxFuture<'_, StoreResult<AdminList>> {
        delegate!(self, self.inner.admins())
    }
    fn replace_admins<'a>(&'a self, v: u64, k: &'a [String]) -> BoxFuture<'a, StoreResult<()>> {
        delegate!(self, self.inner.replace_admins(v, k))
    }
    fn put_document<'a>(&'a self, d: &'a Document, r: bool) -> BoxFuture<'a, StoreResult<()>> {
        delegate!(self, self.inner.put_document(d, r))
    }
    fn document<'a>(
        &'a self,
        k: &'a str,
        id: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<Document>>> {
        delegate!(self, self.inner.document(k, id))
    }
    fn documents<'a>(&'a self, k: &'a str) -> BoxFuture<'a, StoreResult<Vec<Document>>> {
        delegate!(self, self.inner.documents(k))
    }
}

fn partner(id: &str) -> PartnerRecord {
    PartnerRecord {
        id: PartnerId::new(id).unwrap(),
        name: id.to_uppercase(),
        status: PartnerStatus::Active,
        allowed_origins: vec![],
        created_at: NOW,
    }
}

fn record(
    partner: &str,
    reference: CredentialRef,
    name: &str,
    material: StoredMaterial,
) -> CredentialRecord {
    CredentialRecord {
        reference,
        partner: PartnerId::new(partner).unwrap(),
        environment: Environment::Test,
        name: name.into(),
        notes: String::new(),
        scopes: Scopes::new(["payments:read"]),
        status: Status::ACTIVE,
        created_at: NOW,
        material,
        aliases: vec![],
    }
}

fn reference(purpose: Purpose, id: &str) -> CredentialRef {
    CredentialRef::parse(purpose, id).unwrap()
}

/// Everything one partner can register, with the private halves to sign with.
struct Fixture {
    _dir: tempfile::TempDir,
    data: std::path::PathBuf,
    store: Arc<TestStore>,
    master: Arc<MasterKey>,
    ed25519: PrivateKey,
    rsa: PrivateKey,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let store = TestStore::open(&data);
    let (master, _) = MasterKey::load(None, None, &data).unwrap();
    assert_eq!(
        master.check_against(&*store).await.unwrap(),
        KeyCheck::Recorded
    );
    let master = Arc::new(master);
    let (ed_private, ed_public) = openssl_key(dir.path(), "ed", &["-algorithm", "ed25519"]);
    let (rsa_private, rsa_public) = rsa(dir.path(), "rsa", "2048");
    let (_, ec_public) = openssl_key(
        dir.path(),
        "ec",
        &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
    );
    store.create_partner(&partner("acme")).await.unwrap();
    let insert = |r: CredentialRecord| {
        let store = Arc::clone(&store);
        async move { store.insert_credential(&r).await.unwrap() }
    };
    insert(record(
        "acme",
        CredentialRef::by_digest(Purpose::ApiKey, &ApiKeyDigest::of("bearer-key-text")),
        "bearer",
        StoredMaterial::ApiKey {
            hint: "text".into(),
        },
    ))
    .await;
    insert(record(
        "acme",
        CredentialRef::by_digest(Purpose::QredoKey, &ApiKeyDigest::of("qredo-key-text")),
        "qredo",
        StoredMaterial::Qredo {
            public_key: parse_public_key(&rsa_public, "rsa-v1_5-sha256").unwrap(),
            mode: QredoMode::Nonce,
            hint: "text".into(),
        },
    ))
    .await;
    insert(record(
        "acme",
        reference(Purpose::HttpSignatureKey, "sig-ed"),
        "sig",
        StoredMaterial::HttpSignature(parse_public_key(&ed_public, "ed25519").unwrap()),
    ))
    .await;
    insert(record(
        "acme",
        reference(Purpose::AltalixKey, "alx-1"),
        "altalix",
        StoredMaterial::Altalix(parse_public_key(&rsa_public, "rsa-v1_5-sha256").unwrap()),
    ))
    .await;
    insert(record(
        "acme",
        reference(Purpose::JwtClientKey, "es-kid"),
        "jwt-es",
        StoredMaterial::JwtPublic(parse_public_key(&ec_public, "ES256").unwrap()),
    ))
    .await;
    let hs = reference(Purpose::JwtClientKey, "hs-kid");
    insert(CredentialRecord {
        aliases: vec![reference(Purpose::JwtClientKey, "client-acme")],
        ..record(
            "acme",
            hs.clone(),
            "jwt-hs",
            StoredMaterial::JwtSecret {
                algorithm: "HS256".into(),
                secret: master.seal_credential(&hs, JWT_SECRET).unwrap(),
            },
        )
    })
    .await;
    let smile = reference(Purpose::SmileKey, "acme");
    insert(record(
        "acme",
        smile.clone(),
        "smile",
        StoredMaterial::Smile {
            secret: master.seal_credential(&smile, SMILE_SECRET).unwrap(),
        },
    ))
    .await;
    Fixture {
        data,
        store,
        master,
        ed25519: PrivateKey::from_pem(&ed_private).unwrap(),
        rsa: PrivateKey::from_pem(&rsa_private).unwrap(),
        _dir: dir,
    }
}

fn signs_and_verifies(private: &PrivateKey, alg: SignatureAlgorithm, material: &Material) {
    let rng = ring::rand::SystemRandom::new();
    let signature = SigningKey::new(private, alg, &rng)
        .unwrap()
        .sign(b"message", &rng)
        .unwrap();
    let key = match material {
        Material::Qredo { public_key, .. } => public_key,
        Material::HttpSignature(k) | Material::Altalix(k) => k,
        other => panic!("no verifying key in {other:?}"),
    };
    key.verify(b"message", &signature).unwrap();
    assert!(key.verify(b"other message", &signature).is_err());
}

#[tokio::test]
async fn every_material_kind_resolves_to_a_working_credential() {
    let f = fixture().await;
    let registry = Registry::new(f.store.clone(), f.master.clone());
    let resolve = |r: CredentialRef| {
        let registry = &registry;
        async move { registry.resolve(&r).await.unwrap().expect("registered") }
    };

    let bearer = resolve(CredentialRef::by_digest(
        Purpose::ApiKey,
        &ApiKeyDigest::of("bearer-key-text"),
    ))
    .await;
    assert!(
        matches!(&bearer.material, Material::ApiKey(d) if *d == ApiKeyDigest::of("bearer-key-text"))
    );
    assert_eq!(bearer.partner.as_str(), "acme");
    assert_eq!(bearer.environment, Environment::Test);
    assert!(bearer.scopes.has("payments:read"));
    assert!(bearer.check_usable(Purpose::ApiKey, NOW).is_ok());

    let qredo = resolve(CredentialRef::by_digest(
        Purpose::QredoKey,
        &ApiKeyDigest::of("qredo-key-text"),
    ))
    .await;
    assert!(
        matches!(&qredo.material, Material::Qredo { mode: QredoMode::Nonce, api_key, .. } if *api_key == ApiKeyDigest::of("qredo-key-text"))
    );
    signs_and_verifies(&f.rsa, SignatureAlgorithm::RsaPkcs1Sha256, &qredo.material);

    let sig = resolve(reference(Purpose::HttpSignatureKey, "sig-ed")).await;
    signs_and_verifies(&f.ed25519, SignatureAlgorithm::Ed25519, &sig.material);

    let altalix = resolve(reference(Purpose::AltalixKey, "alx-1")).await;
    signs_and_verifies(
        &f.rsa,
        SignatureAlgorithm::RsaPkcs1Sha256,
        &altalix.material,
    );

    let es = resolve(reference(Purpose::JwtClientKey, "es-kid")).await;
    assert!(matches!(&es.material, Material::Jwt(k) if k.algorithm() == Jws::ES256));
    // The HS256 secret opened from its seal, found by kid and by client ID.
    let by_client = resolve(reference(Purpose::JwtClientKey, "client-acme")).await;
    let by_kid = resolve(reference(Purpose::JwtClientKey, "hs-kid")).await;
    for c in [&by_client, &by_kid] {
        assert_eq!(c.id.as_str(), "hs-kid");
        assert!(matches!(&c.material, Material::Jwt(k) if k.algorithm() == Jws::HS256));
    }

    // The Smile secret opened from its seal: it signs as the partner's key does.
    let smile = resolve(reference(Purpose::SmileKey, "acme")).await;
    let Material::Smile(key) = &smile.material else {
        panic!("{:?}", smile.material);
    };
    let expected = SmileKey::new(SMILE_SECRET).unwrap();
    assert_eq!(
        key.sign("acme", "2026-01-01T00:00:00.000Z"),
        expected.sign("acme", "2026-01-01T00:00:00.000Z")
    );
    assert!(!format!("{smile:?}").contains("smile-partner-api-key"));
}

#[tokio::test]
async fn purposes_never_cross() {
    let f = fixture().await;
    let registry = Registry::new(f.store.clone(), f.master.clone());
    let digest = ApiKeyDigest::of("qredo-key-text");
    // The Qredo key's digest presented as a bearer key finds nothing.
    assert!(
        registry
            .resolve(&CredentialRef::by_digest(Purpose::ApiKey, &digest))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        registry
            .resolve(&reference(Purpose::AltalixKey, "sig-ed"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        registry
            .resolve(&reference(Purpose::HttpSignatureKey, "client-acme"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        registry
            .resolve(&reference(Purpose::SmileKey, "nobody"))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_suspended_partner_resolves_as_revoked() {
    let f = fixture().await;
    let registry = Registry::new(f.store.clone(), f.master.clone());
    let r = reference(Purpose::HttpSignatureKey, "sig-ed");
    f.store
        .update_partner(&PartnerRecord {
            status: PartnerStatus::Suspended,
            ..partner("acme")
        })
        .await
        .unwrap();
    let c = registry.resolve(&r).await.unwrap().unwrap();
    assert_eq!(
        c.check_usable(Purpose::HttpSignatureKey, NOW)
            .unwrap_err()
            .code(),
        ErrorCode::RevokedKey
    );
    f.store.update_partner(&partner("acme")).await.unwrap();
    let c = registry.resolve(&r).await.unwrap().unwrap();
    assert!(c.check_usable(Purpose::HttpSignatureKey, NOW).is_ok());
}

#[tokio::test]
async fn store_down_and_broken_records_fail_closed() {
    let f = fixture().await;
    let registry = Registry::new(f.store.clone(), f.master.clone());
    let smile = reference(Purpose::SmileKey, "acme");
    f.store.down.store(true, Ordering::SeqCst);
    assert!(registry.resolve(&smile).await.is_err());
    f.store.down.store(false, Ordering::SeqCst);
    // Under another master key the sealed secret does not open: 503, not "unknown key".
    let wrong = Registry::new(f.store.clone(), Arc::new(MasterKey::generate().unwrap()));
    let err = wrong.resolve(&smile).await.unwrap_err();
    assert!(!err.0.contains("smile-partner"), "{err}");
    // Public-key credentials do not need the master key.
    assert!(
        wrong
            .resolve(&reference(Purpose::HttpSignatureKey, "sig-ed"))
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn wrong_master_key_is_refused_and_rekey_moves_everything() {
    let f = fixture().await;
    let other = MasterKey::generate().unwrap();
    let err = other.check_against(&*f.store).await.unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, SealError::WrongKey { .. }), "{err:?}");
    assert!(
        message.contains(other.id()) && message.contains(f.master.id()),
        "{message}"
    );
    assert!(message.contains("nothing was changed"), "{message}");

    // A rekey from the wrong key is refused and changes nothing.
    let db = f.data.join(DB_FILE);
    let sealed_before = f.store.sealed_credentials().await.unwrap();
    assert!(
        rekey(&*f.store, &other, &MasterKey::generate().unwrap())
            .await
            .is_err()
    );
    assert_eq!(f.store.sealed_credentials().await.unwrap(), sealed_before);

    // A document with a sealed part moves too.
    let part = f
        .master
        .seal_document_part("authority", "main", "private_key", b"authority-secret")
        .unwrap();
    f.store
        .put_document(
            &Document {
                kind: "authority".into(),
                id: "main".into(),
                body: serde_json::json!({ "private_key": part, "public_key": "0abc" }),
                created_at: NOW,
            },
            false,
        )
        .await
        .unwrap();

    let new = Arc::new(MasterKey::generate().unwrap());
    let count = rekey(&*f.store, &f.master, &new).await.unwrap();
    assert_eq!(
        count,
        2 + 1 + 1,
        "two secrets, the check value, one document"
    );
    assert!(matches!(
        f.master.check_against(&*f.store).await,
        Err(SealError::WrongKey { .. })
    ));
    assert_eq!(
        new.check_against(&*f.store).await.unwrap(),
        KeyCheck::Matches
    );
    let registry = Registry::new(f.store.clone(), new.clone());
    for r in [
        reference(Purpose::SmileKey, "acme"),
        reference(Purpose::JwtClientKey, "hs-kid"),
    ] {
        assert!(registry.resolve(&r).await.unwrap().is_some());
        assert!(
            Registry::new(f.store.clone(), f.master.clone())
                .resolve(&r)
                .await
                .is_err()
        );
    }
    let doc = f
        .store
        .document("authority", "main")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        new.open_document_part(&doc, "private_key")
            .unwrap()
            .expose(),
        b"authority-secret"
    );
    assert_eq!(doc.body["public_key"], "0abc");

    // The database file holds no secret in plaintext.
    drop(registry);
    let bytes = std::fs::read(&db).unwrap();
    let wal = std::fs::read(f.data.join(format!("{DB_FILE}-wal"))).unwrap_or_default();
    for secret in [SMILE_SECRET, JWT_SECRET, b"authority-secret".as_slice()] {
        for file in [&bytes, &wal] {
            assert!(!file.windows(secret.len()).any(|w| w == secret));
        }
    }
}

fn decision<'a>(outcome: Outcome, credential: Option<&'a CredentialRef>) -> Decision<'a> {
    Decision {
        outcome,
        path: "/v1/thing",
        scheme: None,
        partner: None,
        credential,
        code: None,
        latency: Duration::from_micros(50),
    }
}

#[tokio::test]
async fn usage_is_written_in_batches() {
    let f = fixture().await;
    let recorder = Arc::new(UsageRecorder::new(
        f.store.clone(),
        Arc::new(SystemClock),
        100,
    ));
    let a = reference(Purpose::HttpSignatureKey, "sig-ed");
    let b = reference(Purpose::SmileKey, "acme");
    for _ in 0..500 {
        recorder.observe(&decision(Outcome::Accepted, Some(&a)));
    }
    for _ in 0..7 {
        recorder.observe(&decision(Outcome::Rejected, Some(&a)));
        recorder.observe(&decision(Outcome::Rejected, Some(&b)));
    }
    recorder.observe(&decision(Outcome::Rejected, None));
    assert!(
        f.store.usage_batches.lock().unwrap().is_empty(),
        "no write per request"
    );
    assert_eq!(recorder.flush().await.unwrap(), 2);
    let batches = f.store.usage_batches.lock().unwrap().clone();
    assert_eq!(batches.len(), 1, "one write for the whole batch");
    let usage_a = f.store.usage(&a).await.unwrap();
    assert_eq!((usage_a.accepted, usage_a.rejected), (500, 7));
    assert!(usage_a.last_used.is_some());
    let usage_b = f.store.usage(&b).await.unwrap();
    assert_eq!(
        (usage_b.accepted, usage_b.rejected, usage_b.last_used),
        (0, 7, None)
    );
    assert_eq!(
        recorder.flush().await.unwrap(),
        0,
        "nothing new, nothing written"
    );

    // A failed flush keeps the counts for the next one.
    recorder.observe(&decision(Outcome::Accepted, Some(&b)));
    f.store.down.store(true, Ordering::SeqCst);
    assert!(recorder.flush().await.is_err());
    assert_eq!(recorder.pending(), 1);
    recorder.observe(&decision(Outcome::Accepted, Some(&b)));
    f.store.down.store(false, Ordering::SeqCst);
    assert_eq!(recorder.flush().await.unwrap(), 1);
    assert_eq!(f.store.usage(&b).await.unwrap().accepted, 2);

    // The background flusher writes without being asked.
    let handle = recorder.spawn_flusher(Duration::from_millis(20));
    recorder.observe(&decision(Outcome::Accepted, Some(&a)));
    tokio::time::sleep(Duration::from_millis(200)).await;
    handle.abort();
    assert_eq!(f.store.usage(&a).await.unwrap().accepted, 501);
}

#[tokio::test]
async fn usage_memory_is_bounded() {
    let f = fixture().await;
    let recorder = UsageRecorder::new(f.store.clone(), Arc::new(SystemClock), 2);
    let refs: Vec<_> = (0..5)
        .map(|i| reference(Purpose::ApiKey, &format!("k{i}")))
        .collect();
    for r in &refs {
        recorder.observe(&decision(Outcome::Rejected, Some(r)));
    }
    recorder.observe(&decision(Outcome::Rejected, Some(&refs[0])));
    assert_eq!(recorder.pending(), 2);
    assert_eq!(recorder.dropped(), 3);
}

#[test]
fn uploads_of_openssl_keys() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (private_1024, public_1024) = rsa(d, "rsa1024", "1024");
    assert_eq!(
        parse_public_key(&public_1024, "rsa-v1_5-sha256").unwrap_err(),
        UploadError::WeakRsa { bits: 1024 }
    );
    let (private_2048, public_2048) = rsa(d, "rsa2048", "2048");
    let record = parse_public_key(&public_2048, "rsa-pss-sha512").unwrap();
    // Our thumbprint agrees with the key openssl made, read back from its own DER.
    let der = Command::new("openssl")
        .args(["pkey", "-in", "rsa2048.pem", "-pubout", "-outform", "DER"])
        .current_dir(d)
        .output()
        .unwrap()
        .stdout;
    assert_eq!(
        record.spki_der, der,
        "normalised to the SPKI DER openssl writes"
    );
    // PKCS#1 `RSA PUBLIC KEY` form: same key, same fingerprint.
    let pkcs1 = openssl(d, &["rsa", "-in", "rsa2048.pem", "-RSAPublicKey_out"]);
    assert!(pkcs1.contains("BEGIN RSA PUBLIC KEY"));
    let from_pkcs1 = parse_public_key(&pkcs1, "RS256").unwrap();
    assert_eq!(
        (from_pkcs1.spki_der, from_pkcs1.fingerprint),
        (record.spki_der.clone(), record.fingerprint.clone())
    );
    assert!(matches!(
        parse_public_key(&public_2048, "ed25519").unwrap_err(),
        UploadError::AlgorithmMismatch { .. }
    ));

    // Private keys pasted as public ones, in every form openssl writes.
    let traditional = openssl(d, &["rsa", "-in", "rsa2048.pem", "-traditional"]);
    let (ed_private, ed_public) = openssl_key(d, "ed", &["-algorithm", "ed25519"]);
    for private in [&private_1024, &private_2048, &traditional, &ed_private] {
        let err = parse_public_key(private, "ed25519").unwrap_err();
        assert_eq!(err, UploadError::PrivateKey);
        assert!(err.to_string().contains("-pubout"));
    }
    let ed = parse_public_key(&ed_public, "ed25519").unwrap();
    assert_eq!(
        parse_public_key(&ed_public, "EdDSA").unwrap().fingerprint,
        ed.fingerprint
    );
    let (_, ec_public) = openssl_key(
        d,
        "ec",
        &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
    );
    assert!(parse_public_key(&ec_public, "ecdsa-p256-sha256").is_ok());
    assert!(matches!(
        parse_public_key(&ec_public, "RS256"),
        Err(UploadError::AlgorithmMismatch { .. })
    ));
    // A P-384 key is not one we verify.
    let (_, p384) = openssl_key(
        d,
        "p384",
        &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
    );
    assert!(matches!(
        parse_public_key(&p384, "ecdsa-p256-sha256"),
        Err(UploadError::Malformed(_))
    ));
    // The JWK of a key has the same thumbprint as its PEM.
    let jwk = auth_core::keys::PublicKey::from_pem(&ed_public)
        .unwrap()
        .to_jwk()
        .to_json();
    assert_eq!(
        parse_public_key(&jwk, "ed25519").unwrap().fingerprint,
        ed.fingerprint
    );
}
