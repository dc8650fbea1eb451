//! `authctl admin` end to end: the built binary against the real auth-verify on 127.0.0.1,
//! from the admin key created on first use through partners, API keys (issue, list,
//! regenerate, revoke), key upload, secrets, app trust and profiles, with the failure paths
//! and their exit codes (1 refused, 2 bad input, 3 no server).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod online;

use online::{Service, User};
use std::os::unix::fs::PermissionsExt;

#[test]
fn the_admin_key_is_created_on_first_use_with_mode_0600_and_enrolled_once() {
    let svc = Service::start();
    let admin = User::new();
    assert!(!admin.admin_key_path().exists());
    let who = admin
        .run(&["--json", "admin", "--server", &svc.base, "whoami"])
        .ok()
        .json();
    assert_eq!(who["kind"], "admin.whoami");
    assert_eq!(who["created"], true);
    let key = admin.admin_key_path();
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(key.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o700
    );
    let text = who["public_key"].as_str().unwrap().to_owned();
    assert!(text.starts_with('0') && text.len() == 45, "{text}");
    // The key loads in openssl: a standard PKCS#8 Ed25519 key.
    let out = std::process::Command::new("openssl")
        .args(["pkey", "-noout", "-in"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let first = admin.admin(&svc, &["bootstrap"]);
    assert_eq!(first["enrolled"], true, "{first}");
    assert_eq!(first["admins"]["keys"][0], text.as_str());
    let again = admin.admin(&svc, &["bootstrap"]);
    assert_eq!(again["enrolled"], false, "{again}");
    // The same key again, not a new one.
    let who2 = admin.run(&["--json", "admin", "whoami"]).ok().json();
    assert_eq!(
        (who2["created"].clone(), who2["public_key"].clone()),
        (false.into(), text.clone().into())
    );

    // A second person with their own key is refused (exit 1) until added.
    let other = User::new();
    let refused = other
        .run(&["admin", "--server", &svc.base, "bootstrap"])
        .expect_code(1);
    let line = refused.one_line_error();
    assert!(
        line.contains("not one of them") && line.contains("users add"),
        "{line}"
    );
    let other_key = other.run(&["--json", "admin", "whoami"]).ok().json()["public_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let list = other
        .run(&["admin", "--server", &svc.base, "partner", "list"])
        .expect_code(1);
    assert!(list.one_line_error().contains("401"), "{}", list.stderr);
    let listed = admin.admin(&svc, &["users", "list"]);
    assert_eq!(listed["admins"]["keys"], serde_json::json!([text]));
    let human = admin
        .run(&["admin", "--server", &svc.base, "users", "list"])
        .ok();
    assert!(
        human.stdout.contains(&format!("{text}  (you)")),
        "{}",
        human.stdout
    );
    let added = admin.admin(&svc, &["users", "add", &other_key]);
    assert_eq!(added["admins"]["keys"].as_array().unwrap().len(), 2);
    other
        .run(&["admin", "--server", &svc.base, "partner", "list"])
        .ok();
    let removed = admin.admin(&svc, &["users", "remove", &other_key]);
    assert_eq!(removed["admins"]["keys"].as_array().unwrap().len(), 1);
    // The last admin cannot be removed: a 409, an input error (exit 2) naming the fix.
    let last = admin
        .run(&["admin", "--server", &svc.base, "users", "remove", &text])
        .expect_code(2);
    assert!(
        last.one_line_error().contains("add another admin first"),
        "{}",
        last.stderr
    );
}

#[test]
fn partners_api_keys_keys_and_secrets_through_their_whole_life() {
    let svc = Service::start();
    let admin = User::new();
    admin.admin(&svc, &["bootstrap"]);
    let p = admin.admin(
        &svc,
        &[
            "partner",
            "create",
            "acme",
            "--name",
            "Acme Ltd",
            "--origin",
            "https://app.acme.example",
        ],
    );
    assert_eq!(p["partner"]["id"], "acme");
    assert_eq!(
        p["partner"]["allowed_origins"][0],
        "https://app.acme.example"
    );
    let dup = admin
        .run(&[
            "admin", "--server", &svc.base, "partner", "create", "acme", "--name", "Again",
        ])
        .expect_code(2);
    assert!(dup.one_line_error().contains("409"), "{}", dup.stderr);
    let list = admin.admin(&svc, &["partner", "list"]);
    assert_eq!(list["partners"].as_array().unwrap().len(), 1);
    let s = admin.admin(&svc, &["partner", "suspend", "acme"]);
    assert_eq!(s["partner"]["status"], "suspended");
    let a = admin.admin(&svc, &["partner", "activate", "acme"]);
    assert_eq!(a["partner"]["status"], "active");
    let o = admin.admin(&svc, &["partner", "origins", "acme"]);
    assert_eq!(o["partner"]["allowed_origins"], serde_json::json!([]));
    let missing = admin
        .run(&["admin", "--server", &svc.base, "partner", "show", "nobody"])
        .expect_code(2);
    assert!(
        missing.one_line_error().contains("404"),
        "{}",
        missing.stderr
    );

    // An API key written to a 0600 file, never printed.
    let key_file = admin.path("acme.key");
    let issued = admin.admin(
        &svc,
        &[
            "api-key",
            "issue",
            "acme",
            "--name",
            "backend",
            "--env",
            "test",
            "--scope",
            "orders:read",
            "--secret-out",
            key_file.to_str().unwrap(),
        ],
    );
    assert!(issued.get("secret").is_none(), "{issued}");
    let api_key = std::fs::read_to_string(&key_file).unwrap();
    assert!(api_key.starts_with("pa_test_"), "{api_key}");
    assert_eq!(
        std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let reference = issued["credential"]["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    // Human output without --secret-out shows the key once and says so on stderr.
    let shown = admin
        .run(&[
            "admin", "--server", &svc.base, "api-key", "issue", "acme", "--name", "other", "--env",
            "live",
        ])
        .ok();
    assert!(shown.stdout.contains("pa_live_"), "{}", shown.stdout);
    assert!(shown.stderr.contains("shown once"), "{}", shown.stderr);
    // --secret-out never overwrites.
    let again = admin
        .run(&[
            "admin",
            "--server",
            &svc.base,
            "api-key",
            "issue",
            "acme",
            "--name",
            "third",
            "--env",
            "test",
            "--secret-out",
            key_file.to_str().unwrap(),
        ])
        .expect_code(2);
    assert!(
        again.one_line_error().contains("already exists"),
        "{}",
        again.stderr
    );

    let keys = admin.admin(&svc, &["api-key", "list", "acme"]);
    let listed: Vec<&str> = keys["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["reference"].as_str().unwrap())
        .collect();
    assert!(listed.contains(&reference.as_str()), "{keys}");
    assert!(
        keys["credentials"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["purpose"] == "api_key")
    );

    // The key works (forward-auth), regeneration replaces it, revocation ends the new one.
    let works = |k: &str| {
        let status = std::process::Command::new("curl")
            .args([
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                &svc.url("/forward-auth/nginx"),
                "-H",
                "X-Original-URI: /orders",
                "-H",
                "X-Original-Method: GET",
                "-H",
            ])
            .arg(format!("Authorization: Bearer {}", k.trim()))
            .output()
            .unwrap();
        String::from_utf8_lossy(&status.stdout).into_owned()
    };
    assert_eq!(works(&api_key), "200");
    let new_file = admin.path("acme-new.key");
    let regen = admin.admin(
        &svc,
        &[
            "api-key",
            "regenerate",
            &reference,
            "--secret-out",
            new_file.to_str().unwrap(),
        ],
    );
    let new_key = std::fs::read_to_string(&new_file).unwrap();
    assert_ne!(new_key, api_key);
    assert_eq!(works(&api_key), "401");
    assert_eq!(works(&new_key), "200");
    let new_ref = regen["credential"]["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoked = admin.admin(&svc, &["api-key", "revoke", &new_ref]);
    assert_eq!(revoked["credential"]["state"], "revoked", "{revoked}");
    assert_eq!(works(&new_key), "401");
    let bad_ref = admin
        .run(&[
            "admin", "--server", &svc.base, "api-key", "revoke", "nonsense",
        ])
        .expect_code(2);
    assert!(
        bad_ref.one_line_error().contains("purpose:id"),
        "{}",
        bad_ref.stderr
    );

    // A public key from openssl; the server's thumbprint is checked against the local one.
    let partner_key = admin.path("partner.pem");
    online::openssl_ed25519(&partner_key);
    let up = admin.admin(
        &svc,
        &[
            "key",
            "upload",
            "acme",
            "--public-key",
            partner_key.to_str().unwrap(),
            "--purpose",
            "http-signature",
            "--name",
            "signing",
            "--env",
            "test",
        ],
    );
    assert_eq!(up["credential"]["algorithm"], "ed25519");
    assert!(
        up["credential"]["key_id"]
            .as_str()
            .unwrap()
            .starts_with("key_")
    );
    // Qredo: RSA key, an x-api-key issued with it.
    let rsa = admin.path("rsa.pem");
    online::openssl_rsa(&rsa, true);
    let q_file = admin.path("qredo.key");
    let q = admin.admin(
        &svc,
        &[
            "key",
            "upload",
            "acme",
            "--public-key",
            rsa.to_str().unwrap(),
            "--purpose",
            "qredo",
            "--name",
            "qredo",
            "--env",
            "test",
            "--secret-out",
            q_file.to_str().unwrap(),
        ],
    );
    assert_eq!(q["credential"]["purpose"], "qredo_key");
    assert!(
        std::fs::read_to_string(&q_file)
            .unwrap()
            .starts_with("pa_test_")
    );
    // An Ed25519 key for Qredo is refused locally, before any request.
    let wrong = admin
        .run(&[
            "admin",
            "--server",
            &svc.base,
            "key",
            "upload",
            "acme",
            "--public-key",
            partner_key.to_str().unwrap(),
            "--purpose",
            "qredo",
            "--name",
            "x",
            "--env",
            "test",
        ])
        .expect_code(2);
    assert!(wrong.one_line_error().contains("RSA"), "{}", wrong.stderr);
    // A group-readable private key is refused (ssh's rule), with the fix.
    std::fs::set_permissions(&partner_key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let perm = admin
        .run(&[
            "admin",
            "--server",
            &svc.base,
            "key",
            "upload",
            "acme",
            "--public-key",
            partner_key.to_str().unwrap(),
            "--purpose",
            "jwt",
            "--name",
            "y",
            "--env",
            "test",
        ])
        .expect_code(2);
    assert!(
        perm.one_line_error().contains("chmod 600"),
        "{}",
        perm.stderr
    );

    // Shared secrets.
    let smile_file = admin.path("smile.key");
    let smile = admin.admin(
        &svc,
        &[
            "secret",
            "create",
            "acme",
            "--kind",
            "smile",
            "--name",
            "smile",
            "--env",
            "test",
            "--secret-out",
            smile_file.to_str().unwrap(),
        ],
    );
    assert_eq!(smile["credential"]["purpose"], "smile_key");
    let all = admin.admin(&svc, &["credential", "list", "acme"]);
    assert!(all["credentials"].as_array().unwrap().len() >= 5, "{all}");
    let smile_ref = smile["credential"]["reference"].as_str().unwrap();
    let r = admin.admin(&svc, &["credential", "revoke", smile_ref]);
    assert_eq!(r["credential"]["state"], "revoked");
}

#[test]
fn app_trust_through_the_admin_api() {
    let svc = Service::start();
    let admin = User::new();
    admin.admin(&svc, &["bootstrap"]);
    let none = admin
        .run(&["admin", "--server", &svc.base, "app-trust", "authority"])
        .expect_code(2);
    assert!(none.one_line_error().contains("404"), "{}", none.stderr);
    let a = admin.admin(&svc, &["app-trust", "authority-init"]);
    let authority = a["public_key"].as_str().unwrap().to_owned();
    assert_eq!(
        admin.admin(&svc, &["app-trust", "authority"])["public_key"],
        authority.as_str()
    );
    let dev = admin.path("dev.pem");
    online::openssl_ed25519(&dev);
    let cert = admin.admin(
        &svc,
        &[
            "app-trust",
            "certificate",
            "--developer-key",
            dev.to_str().unwrap(),
            "--domain",
            "com.example.*",
        ],
    );
    assert_eq!(
        cert["certificate"]["appDomains"][0], "com.example.*",
        "{cert}"
    );
    let lic = admin.admin(
        &svc,
        &[
            "app-trust",
            "license",
            "--app-id",
            "com.example.app",
            "--expires-at",
            "2099-01-01T00:00:00Z",
            "--email",
            "dev@example.com",
        ],
    );
    let license = lic["license"].as_str().unwrap();
    let settings = admin.path("licensing.json");
    std::fs::write(
        &settings,
        serde_json::json!({"node": "development", "apps": {"com.example.app": license}})
            .to_string(),
    )
    .unwrap();
    let set = admin.admin(
        &svc,
        &[
            "app-trust",
            "node-licensing",
            "--set",
            settings.to_str().unwrap(),
        ],
    );
    assert_eq!(set["licensing"]["apps"]["com.example.app"], license);
    let got = admin.admin(&svc, &["app-trust", "node-licensing"]);
    assert_eq!(got["licensing"]["node"], "development");
}

#[test]
fn profiles_choose_server_and_key_and_bad_ones_are_usage_errors() {
    let svc = Service::start();
    let user = User::new();
    // An explicit key from openssl, named by the profile; nothing is created at the default.
    let key = user.path("prod-admin.pem");
    online::openssl_ed25519(&key);
    user.run(&[
        "admin",
        "profile",
        "set",
        "local",
        "--url",
        &svc.base,
        "--key",
        key.to_str().unwrap(),
        "--default",
    ])
    .ok();
    let listed = user
        .run(&["--json", "admin", "profile", "list"])
        .ok()
        .json();
    assert_eq!(listed["default"], "local");
    assert_eq!(listed["profiles"]["local"]["url"], svc.base.as_str());
    let boot = user.run(&["--json", "admin", "bootstrap"]).ok().json();
    assert_eq!(boot["enrolled"], true, "{boot}");
    assert!(
        !user.admin_key_path().exists(),
        "the default key must not be created when a profile names one"
    );
    // The profile by flag and by environment; an unknown profile is a usage error naming the known ones.
    user.run(&["admin", "--profile", "local", "partner", "list"])
        .ok();
    user.run_with(&["admin", "partner", "list"], |c| {
        c.env("AUTHCTL_PROFILE", "local");
    })
    .ok();
    let unknown = user
        .run(&["admin", "--profile", "nope", "partner", "list"])
        .expect_code(2);
    assert!(
        unknown.one_line_error().contains("known profiles: local"),
        "{}",
        unknown.stderr
    );
    // --admin-key wins over the profile's key: a fresh key is not an admin (exit 1).
    let other = user.path("other.pem");
    online::openssl_ed25519(&other);
    user.run(&[
        "admin",
        "--admin-key",
        other.to_str().unwrap(),
        "partner",
        "list",
    ])
    .expect_code(1);
    // A named key that does not exist is never created.
    let gone = user
        .run(&[
            "admin",
            "--admin-key",
            "/nonexistent/admin.key",
            "partner",
            "list",
        ])
        .expect_code(2);
    assert!(
        gone.one_line_error().contains("does not exist"),
        "{}",
        gone.stderr
    );
    // The admin key file itself: group-readable or not a key is refused before any request.
    let loose = user.path("loose.pem");
    online::openssl_ed25519(&loose);
    std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).unwrap();
    let run = user
        .run(&[
            "admin",
            "--admin-key",
            loose.to_str().unwrap(),
            "partner",
            "list",
        ])
        .expect_code(2);
    assert!(run.one_line_error().contains("chmod 600"), "{}", run.stderr);
    let garbage = user.path("garbage.pem");
    online::write_private(
        &garbage,
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    );
    let run = user
        .run(&[
            "admin",
            "--admin-key",
            garbage.to_str().unwrap(),
            "partner",
            "list",
        ])
        .expect_code(2);
    assert!(
        run.one_line_error().contains("not a usable private key"),
        "{}",
        run.stderr
    );
    let rsa = user.path("rsa-admin.pem");
    online::openssl_rsa(&rsa, false);
    let run = user
        .run(&[
            "admin",
            "--admin-key",
            rsa.to_str().unwrap(),
            "partner",
            "list",
        ])
        .expect_code(2);
    assert!(
        run.one_line_error().contains("not an Ed25519 key"),
        "{}",
        run.stderr
    );
    // A broken profiles file names the problem.
    let cfg = user.path("config/authctl/config.toml");
    std::fs::write(&cfg, "[profiles.local]\nurl = \"http://x\"\nsecret = 1\n").unwrap();
    let broken = user.run(&["admin", "partner", "list"]).expect_code(2);
    assert!(
        broken.one_line_error().contains("secret"),
        "{}",
        broken.stderr
    );
    user.run_with(&["admin", "profile", "list"], |c| {
        c.env("AUTHCTL_CONFIG", "/nonexistent/config.toml");
    })
    .ok();
    std::fs::remove_file(&cfg).unwrap();
    let rm = user
        .run(&["admin", "profile", "remove", "local"])
        .expect_code(2);
    assert!(rm.one_line_error().contains("no profile"), "{}", rm.stderr);
}

#[test]
fn no_server_is_exit_3_and_bad_flags_exit_2() {
    let user = User::new();
    let port = online::free_port();
    let down = user
        .run(&[
            "admin",
            "--server",
            &format!("http://127.0.0.1:{port}"),
            "partner",
            "list",
        ])
        .expect_code(3);
    assert!(
        down.one_line_error().contains("auth-verify serve"),
        "{}",
        down.stderr
    );
    let bad_url = user
        .run(&["admin", "--server", "ftp://x", "partner", "list"])
        .expect_code(2);
    bad_url.one_line_error();
    let bad_flag = user
        .run(&["admin", "partner", "create", "acme"])
        .expect_code(2);
    bad_flag.one_line_error();
    let bad_env = user
        .run(&[
            "admin", "api-key", "issue", "acme", "--name", "x", "--env", "prod",
        ])
        .expect_code(2);
    bad_env.one_line_error();
}
