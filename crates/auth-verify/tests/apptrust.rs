//! App trust end to end through the real binary: an admin creates the authority and issues a
//! developer certificate; the developer signs a manifest that `POST /api/v2/auth` exchanges
//! for an app token, accepted by `/v1/verify` only on routes naming the `apps` verifier;
//! tampered, unlicensed and (where refused) trial apps fail with Actyx codes. The authority's
//! private key is never stored in plaintext, and `auth-verify rekey` re-seals everything so a
//! restart under the new master key works and one under the old key is refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod service;

use auth_core::keys::{SignatureAlgorithm, SigningKey, generate_ed25519};
use auth_core::rand::SystemRandom;
use auth_core::scheme::apptrust::{AppId, AppManifest, AxPublicKey, DeveloperCertificate};
use auth_core::time::UnixTime;
use serde_json::{Value, json};
use service::{Admin, Service, verify};
use std::path::Path;
use std::time::{Duration, SystemTime};

fn now() -> UnixTime {
    let d = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap();
    UnixTime::from_secs(d.as_secs())
}

fn in_secs(secs: u64) -> String {
    now().saturating_add(Duration::from_secs(secs)).to_rfc3339()
}

/// `/apps` takes signed apps' tokens, `/sandbox` trial apps' too, `/sessions-only` user
/// tokens; `/` only partner schemes.
fn config_file(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("apps.toml");
    std::fs::write(
        &path,
        r#"
[[auth.routes]]
path = "/apps"
schemes = [{ scheme = "app_token", verifier = "apps", scopes = ["events:read"] }]

[[auth.routes]]
path = "/sandbox"
schemes = [{ scheme = "app_token", verifier = "apps", trial_apps = true }]

[[auth.routes]]
path = "/rates"
schemes = [{ scheme = "user_token", verifier = "sessions:rates:read" }]

[[auth.routes]]
path = "/"
schemes = [{ scheme = "api_key" }]
"#,
    )
    .unwrap();
    path
}

/// `POST /api/v2/auth` with `body`; answers status and JSON.
async fn app_auth(svc: &Service, body: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(svc.url("/api/v2/auth"))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn verify_bearer(svc: &Service, path: &str, token: &str) -> Value {
    let bearer = format!("Bearer {token}");
    verify(
        svc,
        "GET",
        &format!("https://api.example.com{path}"),
        &[("authorization", &bearer)],
        b"",
    )
    .await
}

/// A developer with a certificate for `com.example.*` issued through the admin API.
struct Developer {
    key: SigningKey,
    certificate: DeveloperCertificate,
}

impl Developer {
    async fn certified(svc: &Service, admin: &Admin) -> Self {
        let rng = SystemRandom::new();
        let private = generate_ed25519(&rng).unwrap();
        let public = AxPublicKey::from_public_key(&private.public_key()).unwrap();
        let (s, issued) = admin
            .call(
                "POST",
                &svc.url("/admin/app-trust/certificates"),
                Some(json!({"developer_public_key": public.to_text(), "app_domains": ["com.example.*"]})),
            )
            .await;
        assert_eq!(s, 201, "{issued}");
        let file = DeveloperCertificate::from_json(&issued["certificate"].to_string()).unwrap();
        assert!(
            file.dev_private.is_none(),
            "the service never holds the developer's key"
        );
        Self {
            key: SigningKey::new(&private, SignatureAlgorithm::Ed25519, &rng).unwrap(),
            certificate: file.certificate,
        }
    }

    fn manifest(&self, app_id: &str) -> AppManifest {
        AppManifest::sign(
            &self.key,
            &self.certificate,
            AppId::parse(app_id).unwrap(),
            "Example App",
            "1.0.0",
            &SystemRandom::new(),
        )
        .unwrap()
    }
}

async fn license(svc: &Service, admin: &Admin, app_id: &str) -> String {
    let (s, body) = admin
        .call(
            "POST",
            &svc.url("/admin/app-trust/licenses"),
            Some(json!({"app_id": app_id, "expires_at": in_secs(86_400), "requester_email": "dev@example.com"})),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    body["license"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manifests_become_app_tokens_under_the_authority_and_licensing() {
    let tmp = tempfile::tempdir().unwrap();
    let config = config_file(tmp.path());
    let svc = Service::start_in(
        &tmp.path().join("data"),
        &["--config", config.to_str().unwrap()],
    )
    .unwrap();
    let admin = Admin::new();
    // Enrol the admin first (trust on first use), so nothing below races it.
    assert_eq!(
        admin.call("GET", &svc.url("/admin/partners"), None).await.0,
        200
    );

    // Before any authority: 503 telling the operator what to do.
    let trial =
        AppManifest::trial(AppId::parse("com.example.trial").unwrap(), "Trial", "0.1").unwrap();
    let (s, body) = app_auth(&svc, &trial.to_json()).await;
    assert_eq!(s, 503, "{body}");
    assert!(
        body.to_string().contains("/admin/app-trust/authority"),
        "{body}"
    );
    // Nor can licensing be set: its licenses are checked against the authority.
    let (s, body) = admin
        .call(
            "PUT",
            &svc.url("/admin/app-trust/node-licensing"),
            Some(json!({"node": "x"})),
        )
        .await;
    assert_eq!(
        (s, &body["error"]["code"]),
        (409, &json!("no_authority")),
        "{body}"
    );
    // A certificate cannot be issued without an authority either.
    let (s, body) = admin
        .call(
            "POST",
            &svc.url("/admin/app-trust/certificates"),
            Some(json!({"developer_public_key": Admin::new().key_text, "app_domains": ["com.example.*"]})),
        )
        .await;
    assert_eq!(s, 409, "{body}");

    let (s, authority) = admin
        .call("POST", &svc.url("/admin/app-trust/authority"), None)
        .await;
    assert_eq!(s, 201, "{authority}");
    let (s, again) = admin
        .call("POST", &svc.url("/admin/app-trust/authority"), None)
        .await;
    assert_eq!(s, 409, "{again}");
    let (s, got) = admin
        .call("GET", &svc.url("/admin/app-trust/authority"), None)
        .await;
    assert_eq!((s, &got["public_key"]), (200, &authority["public_key"]));

    let dev = Developer::certified(&svc, &admin).await;
    // Development mode: a signed manifest gets a token.
    let (s, body) = app_auth(&svc, &dev.manifest("com.example.app").to_json()).await;
    assert_eq!(s, 200, "{body}");
    let token = body["token"].as_str().unwrap().to_owned();
    let answer = verify_bearer(&svc, "/apps/events", &token).await;
    assert_eq!(answer["ok"], true, "{answer}");
    assert_eq!(answer["principal"]["scheme"], "app_token", "{answer}");
    assert_eq!(
        answer["principal"]["scopes"],
        json!(["events:read"]),
        "{answer}"
    );
    // Not on a route that does not name `apps`.
    let answer = verify_bearer(&svc, "/orders", &token).await;
    assert_eq!(answer["ok"], false, "{answer}");
    let answer = verify_bearer(&svc, "/rates", &token).await;
    assert_eq!(answer["ok"], false, "{answer}");

    // Tampered manifests: Actyx error bodies, no token.
    let mut changed: Value =
        serde_json::from_str(&dev.manifest("com.example.app").to_json()).unwrap();
    changed["version"] = json!("6.6.6");
    let (s, body) = app_auth(&svc, &changed.to_string()).await;
    assert!((400..500).contains(&s), "{s} {body}");
    assert!(body["code"].as_str().unwrap().starts_with("ERR_"), "{body}");
    assert!(body.get("token").is_none());
    let mut renamed: Value =
        serde_json::from_str(&dev.manifest("com.example.app").to_json()).unwrap();
    renamed["appId"] = json!("com.example.other");
    let (s, body) = app_auth(&svc, &renamed.to_string()).await;
    assert!((400..500).contains(&s), "{s} {body}");
    assert!(body["code"].as_str().unwrap().starts_with("ERR_"), "{body}");
    // Outside the certificate's domains the developer cannot even sign (checked locally), and
    // a foreign signature over such an ID is refused by the service.
    let foreign = AppManifest::from_parts(
        AppId::parse("com.acme.app").unwrap(),
        "Acme",
        "1.0",
        dev.manifest("com.example.app")
            .signature()
            .map(str::to_owned),
    );
    let (_, body) = app_auth(&svc, &foreign.to_json()).await;
    assert!(body["code"].as_str().unwrap().starts_with("ERR_"), "{body}");
    let (s, body) = app_auth(&svc, "{not json").await;
    assert_eq!(s, 400, "{body}");
    assert_eq!(body["code"], "ERR_MANIFEST_INVALID", "{body}");

    // Trial apps get a token, accepted only where a route accepts trial apps.
    let (s, body) = app_auth(&svc, &trial.to_json()).await;
    assert_eq!(s, 200, "{body}");
    let trial_token = body["token"].as_str().unwrap().to_owned();
    let answer = verify_bearer(&svc, "/apps/events", &trial_token).await;
    assert_eq!(answer["ok"], false, "{answer}");
    let answer = verify_bearer(&svc, "/sandbox/x", &trial_token).await;
    assert_eq!(answer["ok"], true, "{answer}");

    // Licensed mode: the node license and one app's license.
    let node = license(&svc, &admin, "com.actyx.node").await;
    let app = license(&svc, &admin, "com.example.app").await;
    let (s, body) = admin
        .call(
            "PUT",
            &svc.url("/admin/app-trust/node-licensing"),
            Some(json!({"node": node, "apps": {"com.example.app": app}})),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let (s, body) = app_auth(&svc, &dev.manifest("com.example.app").to_json()).await;
    assert_eq!(s, 200, "{body}");
    let licensed = body["token"].as_str().unwrap().to_owned();
    assert_eq!(verify_bearer(&svc, "/apps/x", &licensed).await["ok"], true);
    let (s, body) = app_auth(&svc, &dev.manifest("com.example.unlicensed").to_json()).await;
    assert!((400..500).contains(&s), "{s} {body}");
    assert_eq!(body["code"], "ERR_APP_UNAUTHORIZED", "{body}");
    // A wrong license is refused when it is set, naming it, and the setting in force stays.
    let (s, before) = admin
        .call("GET", &svc.url("/admin/app-trust/node-licensing"), None)
        .await;
    assert_eq!(s, 200, "{before}");
    let other = license(&svc, &admin, "com.example.elsewhere").await;
    for (setting, code) in [
        (
            json!({"node": node, "apps": {"com.example.app": other}}),
            "invalid_app_license",
        ),
        (
            json!({"node": app, "apps": {"com.example.app": app}}),
            "invalid_node_license",
        ),
        (json!({"node": "not a license"}), "invalid_node_license"),
    ] {
        let (s, body) = admin
            .call(
                "PUT",
                &svc.url("/admin/app-trust/node-licensing"),
                Some(setting),
            )
            .await;
        assert_eq!((s, &body["error"]["code"]), (400, &json!(code)), "{body}");
    }
    let (_, after) = admin
        .call("GET", &svc.url("/admin/app-trust/node-licensing"), None)
        .await;
    assert_eq!(before, after);
    let (s, body) = app_auth(&svc, &dev.manifest("com.example.app").to_json()).await;
    assert_eq!(s, 200, "{body}");
    // Back to development mode: the unlicensed app is served again.
    let (s, _) = admin
        .call(
            "PUT",
            &svc.url("/admin/app-trust/node-licensing"),
            Some(json!({"node": "development"})),
        )
        .await;
    assert_eq!(s, 200);
    let (s, body) = app_auth(&svc, &dev.manifest("com.example.unlicensed").to_json()).await;
    assert_eq!(s, 200, "{body}");
}

/// Every way the 32-byte seed could be written down.
fn encodings(seed: &[u8]) -> Vec<Vec<u8>> {
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let hex: String = seed.iter().map(|b| format!("{b:02x}")).collect();
    vec![
        seed.to_vec(),
        hex.clone().into_bytes(),
        hex.to_uppercase().into_bytes(),
        STANDARD.encode(seed).into_bytes(),
        STANDARD_NO_PAD.encode(seed).into_bytes(),
        URL_SAFE_NO_PAD.encode(seed).into_bytes(),
    ]
}

fn files_under(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            let bytes = std::fs::read(&path).unwrap();
            out.push((path, bytes));
        }
    }
    out
}

/// The authority's seed, opened from the store with the master key (the service is stopped).
async fn authority_seed(data: &Path, master_key_file: &Path) -> Vec<u8> {
    let store =
        auth_verify::store::sqlite::SqliteStore::open(data, Duration::from_secs(5)).unwrap();
    let text = std::fs::read_to_string(master_key_file).unwrap();
    let master = auth_verify::sealed::MasterKey::from_base64(text.trim()).unwrap();
    let private = auth_verify::service_keys::load(&store, &master, "app_trust_authority")
        .await
        .unwrap()
        .expect("the authority key is stored");
    private.ed25519_seed().unwrap().to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_authority_key_stays_sealed_and_rekey_reseals_everything() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let config = config_file(tmp.path());
    let config = config.to_str().unwrap();
    let mut svc = Service::start_in(&data, &["--config", config]).unwrap();
    let admin = Admin::new();
    let (s, authority) = admin
        .call("POST", &svc.url("/admin/app-trust/authority"), None)
        .await;
    assert_eq!(s, 201, "{authority}");
    let dev = Developer::certified(&svc, &admin).await;
    let (s, body) = app_auth(&svc, &dev.manifest("com.example.app").to_json()).await;
    assert_eq!(s, 200, "{body}");
    let app_token = body["token"].as_str().unwrap().to_owned();
    // A partner and a user token minted before the rekey.
    let (s, p) = admin
        .call(
            "POST",
            &svc.url("/admin/partners"),
            Some(json!({"id": "acme", "name": "Acme"})),
        )
        .await;
    assert_eq!(s, 201, "{p}");
    let (s, issued) = admin
        .call(
            "POST",
            &svc.url("/admin/partners/acme/api-keys"),
            Some(json!({"name": "k", "environment": "live", "scopes": ["rates:read"]})),
        )
        .await;
    assert_eq!(s, 201, "{issued}");
    let api_key = issued["secret"].as_str().unwrap().to_owned();
    let resp = reqwest::Client::new()
        .post(svc.url("/api/auth/sessions"))
        .header("authorization", format!("Bearer {api_key}"))
        .body(json!({"scopes": ["rates:read"], "expires_at": in_secs(600)}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let session: Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    let user_token = session["access_token"].as_str().unwrap().to_owned();
    assert_eq!(verify_bearer(&svc, "/rates", &user_token).await["ok"], true);
    svc.stop();

    // The seed really is the authority's, and no file in the data directory holds it.
    let old_key_file = data.join("master.key");
    let seed = authority_seed(&data, &old_key_file).await;
    let private = auth_core::keys::PrivateKey::ed25519_from_seed(&seed).unwrap();
    assert_eq!(
        AxPublicKey::from_public_key(&private.public_key())
            .unwrap()
            .to_text(),
        authority["public_key"].as_str().unwrap()
    );
    for (path, bytes) in files_under(&data) {
        for needle in encodings(&seed) {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_slice()),
                "{} holds the authority's private key",
                path.display()
            );
        }
    }

    // Rekey to a generated key, with the service stopped.
    let new_key_file = tmp.path().join("new-master.key");
    let out = std::process::Command::new(service::binary())
        .args(["rekey", "--generate", "--new-master-key-file"])
        .arg(&new_key_file)
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&new_key_file).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    // Everything opens under the new key, the same authority; the old key opens nothing.
    assert_eq!(authority_seed(&data, &new_key_file).await, seed);
    let store =
        auth_verify::store::sqlite::SqliteStore::open(&data, Duration::from_secs(5)).unwrap();
    let old = std::fs::read_to_string(&old_key_file).unwrap();
    let old = auth_verify::sealed::MasterKey::from_base64(old.trim()).unwrap();
    assert!(
        auth_verify::service_keys::load(&store, &old, "app_trust_authority")
            .await
            .is_err()
    );
    drop(store);

    // The old key (the data directory's default) is refused.
    let err = Service::start_in(&data, &["--config", config])
        .err()
        .expect("the old master key must not start the service");
    assert!(err.contains("master key"), "{err}");

    let svc = Service::start_in(
        &data,
        &[
            "--config",
            config,
            "--master-key-file",
            new_key_file.to_str().unwrap(),
        ],
    )
    .unwrap();
    // The authority and the user-token key survived: the same authority, the user token
    // minted before the rekey still verifies.
    let (s, got) = admin
        .call("GET", &svc.url("/admin/app-trust/authority"), None)
        .await;
    assert_eq!(
        (s, &got["public_key"]),
        (200, &authority["public_key"]),
        "{got}"
    );
    assert_eq!(verify_bearer(&svc, "/rates", &user_token).await["ok"], true);
    // App tokens are bound to the epoch of the run that issued them: a restart ends them.
    assert_eq!(
        verify_bearer(&svc, "/apps/x", &app_token).await["ok"],
        false
    );
    // New ones are issued under the re-sealed key and the same certificate.
    let (s, body) = app_auth(&svc, &dev.manifest("com.example.app").to_json()).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        verify_bearer(&svc, "/apps/x", body["token"].as_str().unwrap()).await["ok"],
        true
    );
    // Certificates and licenses are still signed by the same authority after the rekey.
    let (s, _) = admin
        .call(
            "POST",
            &svc.url("/admin/app-trust/licenses"),
            Some(json!({"app_id": "com.example.app", "expires_at": in_secs(3600), "requester_email": "a@example.com"})),
        )
        .await;
    assert_eq!(s, 201);
}
