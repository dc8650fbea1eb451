//! `authctl request` end to end against the real auth-verify: a real request signed with each
//! scheme is accepted (the session endpoint for API keys, RFC 9421, Qredo and JWT; Envoy
//! forward-auth, which judges the request itself, for Smile and Altalix); `-v` shows what
//! was signed and never a secret; refusals exit 1 and name the likely cause (clock skew from
//! the server's Date, a wrong key ID, a missing component, a key that does not match), and
//! `--explain` puts the server's signature base next to authctl's.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod online;

use online::{Service, User};
use std::path::{Path, PathBuf};

/// A service with partner `acme` and one test credential of every kind.
struct Setup {
    svc: Service,
    user: User,
    api_key: PathBuf,
    ed_key: PathBuf,
    ed_key_id: String,
    rsa_key: PathBuf,
    qredo_key: PathBuf,
    altalix_key_id: String,
    jwt_secret: PathBuf,
    smile_key: PathBuf,
    smile_id: String,
}

fn setup() -> Setup {
    let svc = Service::start();
    let user = User::new();
    user.admin(&svc, &["bootstrap"]);
    user.admin(&svc, &["partner", "create", "acme", "--name", "Acme Ltd"]);
    let p = |n: &str| user.path(n).to_str().unwrap().to_owned();
    user.admin(
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
            &p("acme.key"),
        ],
    );
    online::openssl_ed25519(&user.path("partner.pem"));
    let up = user.admin(
        &svc,
        &[
            "key",
            "upload",
            "acme",
            "--public-key",
            &p("partner.pem"),
            "--purpose",
            "http-signature",
            "--name",
            "signing",
            "--env",
            "test",
            "--scope",
            "orders:read",
        ],
    );
    online::openssl_rsa(&user.path("rsa.pem"), false);
    user.admin(
        &svc,
        &[
            "key",
            "upload",
            "acme",
            "--public-key",
            &p("rsa.pem"),
            "--purpose",
            "qredo",
            "--name",
            "qredo",
            "--env",
            "test",
            "--scope",
            "orders:read",
            "--secret-out",
            &p("qredo.key"),
        ],
    );
    let alt = user.admin(
        &svc,
        &[
            "key",
            "upload",
            "acme",
            "--public-key",
            &p("rsa.pem"),
            "--purpose",
            "altalix",
            "--name",
            "altalix",
            "--env",
            "test",
        ],
    );
    user.admin(
        &svc,
        &[
            "secret",
            "create",
            "acme",
            "--kind",
            "jwt-hs256",
            "--client-id",
            "acme-client",
            "--name",
            "jwt",
            "--env",
            "test",
            "--scope",
            "orders:read",
            "--secret-out",
            &p("jwt.secret"),
        ],
    );
    let smile = user.admin(
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
            &p("smile.key"),
        ],
    );
    Setup {
        api_key: user.path("acme.key"),
        ed_key: user.path("partner.pem"),
        ed_key_id: up["credential"]["key_id"].as_str().unwrap().to_owned(),
        rsa_key: user.path("rsa.pem"),
        qredo_key: user.path("qredo.key"),
        altalix_key_id: alt["credential"]["key_id"].as_str().unwrap().to_owned(),
        jwt_secret: user.path("jwt.secret"),
        smile_key: user.path("smile.key"),
        smile_id: smile["credential"]["key_id"].as_str().unwrap().to_owned(),
        svc,
        user,
    }
}

impl Setup {
    /// `authctl GLOBAL... request SESSIONS -H 'content-type: application/json' -d BODY EXTRA...`
    /// as `user`: a POST to the session endpoint, which takes API keys, RFC 9421, Qredo, JWT.
    fn session(&self, user: &User, global: &[&str], extra: &[&str]) -> online::Run {
        let url = self.svc.url("/api/auth/sessions");
        let mut args: Vec<&str> = global.to_vec();
        args.extend([
            "request",
            url.as_str(),
            "-H",
            "content-type: application/json",
            "-d",
            SESSION_BODY.as_str(),
        ]);
        args.extend_from_slice(extra);
        user.run(&args)
    }
}

fn at(p: &Path) -> String {
    format!("@{}", p.display())
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// The session request: the scopes, and an expiry five minutes ahead.
static SESSION_BODY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let expires = auth_core::UnixTime::from_secs(now + 300).to_rfc3339();
    format!(r#"{{"scopes":["orders:read"],"expires_at":"{expires}"}}"#)
});

#[test]
fn every_scheme_signs_a_real_request_that_auth_verify_accepts() {
    let t = setup();
    let sessions = t.svc.url("/api/auth/sessions");
    let post = |extra: &[&str]| {
        // -X POST is implied by -d; said here as a curl user would.
        let mut all = vec!["-X", "POST"];
        all.extend_from_slice(extra);
        let run = t.session(&t.user, &[], &all).ok();
        let body: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        assert!(
            body["access_token"].as_str().is_some_and(|t| t.len() > 20),
            "{}",
            run.stdout
        );
        run
    };
    post(&["--scheme", "api-key", "--api-key", &at(&t.api_key)]);
    post(&[
        "--scheme",
        "rfc9421",
        "--key",
        &s(&t.ed_key),
        "--key-id",
        &t.ed_key_id,
    ]);
    post(&[
        "--scheme",
        "qredo",
        "--key",
        &s(&t.rsa_key),
        "--api-key",
        &at(&t.qredo_key),
    ]);
    post(&[
        "--scheme",
        "jwt",
        "--client-id",
        "acme-client",
        "--secret",
        &at(&t.jwt_secret),
    ]);
    // The API key from the environment.
    let key = std::fs::read_to_string(&t.api_key).unwrap();
    let run = t.user.run_with(
        &[
            "request",
            &sessions,
            "-d",
            SESSION_BODY.as_str(),
            "-H",
            "content-type: application/json",
            "--scheme",
            "api-key",
        ],
        |c| {
            c.env("AUTHCTL_API_KEY", key.trim());
        },
    );
    run.ok();

    // Smile and Altalix through Envoy forward-auth, which judges the request it receives.
    let envoy = |path: &str| t.svc.url(&format!("/forward-auth/envoy{path}"));
    let smile = t
        .user
        .run(&[
            "--json",
            "request",
            &envoy("/orders"),
            "--scheme",
            "smile",
            "--partner-id",
            &t.smile_id,
            "--secret",
            &at(&t.smile_key),
        ])
        .ok()
        .json();
    let partner = |j: &serde_json::Value| {
        j["headers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h[0] == "x-auth-partner")
            .map(|h| h[1].as_str().unwrap().to_owned())
    };
    assert_eq!(partner(&smile).as_deref(), Some("acme"), "{smile}");
    assert_eq!(smile["status"], 200);
    // Smile signs timestamp || partner_id || "sid_request".
    let signed = smile["signed"].as_str().unwrap();
    assert!(
        signed.ends_with(&format!("{}sid_request", t.smile_id)),
        "{signed}"
    );
    let order = r#"{"sell_currency":"EUR","buy_currency":"ETH","address":"0x52908400098527886E0F7030069857D2E4169EE7","sell_amount":"100"}"#;
    let alt = t
        .user
        .run(&[
            "--json",
            "request",
            &envoy("/partners/transaction-create"),
            "--scheme",
            "altalix",
            "--key",
            &s(&t.rsa_key),
            "--key-id",
            &t.altalix_key_id,
            "--partner-id",
            "acme",
            "--altalix-order",
            order,
        ])
        .ok()
        .json();
    assert_eq!(partner(&alt).as_deref(), Some("acme"), "{alt}");
    assert!(
        alt["signed"]
            .as_str()
            .unwrap()
            .contains("\"sell_amount\":\"100\""),
        "{alt}"
    );
}

#[test]
fn verbose_shows_what_was_signed_and_never_a_secret() {
    let t = setup();
    let sessions = t.svc.url("/api/auth/sessions");
    let run = t
        .session(
            &t.user,
            &["-v"],
            &[
                "--scheme",
                "rfc9421",
                "--key",
                &s(&t.ed_key),
                "--key-id",
                &t.ed_key_id,
            ],
        )
        .ok();
    assert!(run.stderr.contains("> POST "), "{}", run.stderr);
    assert!(run.stderr.contains("\"@method\": POST"), "{}", run.stderr);
    assert!(
        run.stderr.contains("\"@path\": /api/auth/sessions"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("\"content-digest\": sha-256=:"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("\"@signature-params\": (\"@method\" \"@authority\" \"@path\" \"@query\" \"content-digest\");created="), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("keyid=\"{}\"", t.ed_key_id)),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("< 200"), "{}", run.stderr);

    let key = std::fs::read_to_string(&t.api_key).unwrap();
    let run = t
        .user
        .run(&[
            "-v",
            "request",
            "-i",
            &sessions,
            "-H",
            "content-type: application/json",
            "-d",
            SESSION_BODY.as_str(),
            "--scheme",
            "api-key",
            "--api-key",
            &at(&t.api_key),
        ])
        .ok();
    assert!(
        run.stderr.contains("authorization: Bearer [redacted]"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(key.trim()) && !run.stdout.contains(key.trim()));
    assert!(run.stdout.starts_with("HTTP 200"), "{}", run.stdout);

    let secret = std::fs::read_to_string(&t.jwt_secret).unwrap();
    let run = t
        .session(
            &t.user,
            &["-v"],
            &[
                "--scheme",
                "jwt",
                "--client-id",
                "acme-client",
                "--secret",
                &at(&t.jwt_secret),
            ],
        )
        .ok();
    assert!(
        run.stderr.contains("\"clientId\":\"acme-client\""),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(secret.trim()), "the JWT secret leaked");
    assert!(run.stderr.contains("Bearer [redacted]"), "{}", run.stderr);

    let run = t
        .session(
            &t.user,
            &["-v"],
            &[
                "--scheme",
                "qredo",
                "--key",
                &s(&t.rsa_key),
                "--api-key",
                &at(&t.qredo_key),
                "--explain",
            ],
        )
        .ok();
    assert!(run.stderr.contains("nothing to explain"), "{}", run.stderr);
    // Qredo signs timestamp || URL || body.
    assert!(
        run.stderr.contains(&format!("{sessions}{}", *SESSION_BODY)),
        "{}",
        run.stderr
    );
}

#[test]
fn refusals_exit_1_and_name_the_most_likely_cause() {
    let t = setup();
    let sessions = t.svc.url("/api/auth/sessions");
    let with = |extra: &[&str]| t.session(&t.user, &[], extra);
    // Clock skew, measured from the server's Date: signing ten minutes in the past.
    let past = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 600)
        .to_string();
    let run = t
        .session(
            &t.user,
            &["--now", &past],
            &[
                "--scheme",
                "rfc9421",
                "--key",
                &s(&t.ed_key),
                "--key-id",
                &t.ed_key_id,
            ],
        )
        .expect_code(1);
    let line = run.one_line_error().to_owned();
    assert!(line.contains("clock skew"), "{line}");
    assert!(line.contains("s behind the server's clock"), "{line}");
    // The same for Qredo (30 s window), 60 s ahead.
    let future = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 60)
        .to_string();
    let run = t
        .session(
            &t.user,
            &["--now", &future],
            &[
                "--scheme",
                "qredo",
                "--key",
                &s(&t.rsa_key),
                "--api-key",
                &at(&t.qredo_key),
            ],
        )
        .expect_code(1);
    assert!(
        run.one_line_error().contains("ahead of the server's clock"),
        "{}",
        run.stderr
    );

    // A wrong key ID: opaque without --explain, named with it.
    let run = with(&[
        "--scheme",
        "rfc9421",
        "--key",
        &s(&t.ed_key),
        "--key-id",
        "key_doesnotexist",
    ])
    .expect_code(1);
    assert!(run.one_line_error().contains("--explain"), "{}", run.stderr);
    let run = with(&[
        "--scheme",
        "rfc9421",
        "--key",
        &s(&t.ed_key),
        "--key-id",
        "key_doesnotexist",
        "--explain",
    ])
    .expect_code(1);
    let line = run.one_line_error().to_owned();
    assert!(
        line.contains("wrong key ID") && line.contains("key_doesnotexist"),
        "{line}\n{}",
        run.stderr
    );

    // A component the server requires is not covered (no content-digest over the body).
    let run = with(&[
        "--scheme",
        "rfc9421",
        "--key",
        &s(&t.ed_key),
        "--key-id",
        &t.ed_key_id,
        "--components",
        r#""@method" "@authority" "@path""#,
        "--explain",
    ])
    .expect_code(1);
    let line = run.one_line_error().to_owned();
    assert!(
        line.contains("not covered") && line.contains("missing_component"),
        "{line}\n{}",
        run.stderr
    );

    // Without --explain the opaque refusal is read against what the signature covers.
    let run = with(&[
        "--scheme",
        "rfc9421",
        "--key",
        &s(&t.ed_key),
        "--key-id",
        &t.ed_key_id,
        "--components",
        r#""@method" "@authority" "@path" "@query""#,
    ])
    .expect_code(1);
    assert!(
        run.one_line_error()
            .contains("does not cover content-digest"),
        "{}",
        run.stderr
    );

    // A partner without any admin key: a test credential is explained to anyone ...
    let partner = User::new();
    let pkey = partner.path("partner.pem");
    online::write_private(&pkey, &std::fs::read(&t.ed_key).unwrap());
    let run = partner
        .run(&[
            "request",
            &sessions,
            "-d",
            SESSION_BODY.as_str(),
            "--scheme",
            "rfc9421",
            "--key",
            &s(&pkey),
            "--key-id",
            &t.ed_key_id,
            "--components",
            r#""@method" "@path""#,
            "--explain",
        ])
        .expect_code(1);
    assert!(
        run.stderr
            .contains("explain: the server says missing_component"),
        "{}",
        run.stderr
    );
    assert!(
        !partner.admin_key_path().exists(),
        "--explain must not create an admin key"
    );
    // ... a live one only to admins: said so, and the local diagnosis stands.
    let live = t.user.admin(
        &t.svc,
        &[
            "key",
            "upload",
            "acme",
            "--public-key",
            &s(&t.ed_key),
            "--purpose",
            "http-signature",
            "--name",
            "live-signing",
            "--env",
            "live",
        ],
    );
    let live_id = live["credential"]["key_id"].as_str().unwrap();
    let run = partner
        .run(&[
            "request",
            &sessions,
            "-d",
            SESSION_BODY.as_str(),
            "--scheme",
            "rfc9421",
            "--key",
            &s(&pkey),
            "--key-id",
            live_id,
            "--components",
            r#""@method" "@path""#,
            "--explain",
        ])
        .expect_code(1);
    assert!(
        run.stderr.contains("the server would not explain"),
        "{}",
        run.stderr
    );
    assert!(
        run.one_line_error().contains("does not cover @target-uri"),
        "{}",
        run.stderr
    );

    // Another key under the registered key ID: the bases agree line by line, the signature does not.
    let other = t.user.path("other.pem");
    online::openssl_ed25519(&other);
    let run = with(&[
        "--scheme",
        "rfc9421",
        "--key",
        &s(&other),
        "--key-id",
        &t.ed_key_id,
        "--explain",
    ])
    .expect_code(1);
    assert!(
        run.one_line_error()
            .contains("the key is not the one registered"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("signature base, authctl's next to the server's"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("  = \"@method\": POST"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("  - "),
        "the bases should agree: {}",
        run.stderr
    );

    // A wrong API key: exit 1.
    // Every scheme's refusal is exit 1: Smile and JWT with a wrong secret, Altalix signed by
    // another key, Qredo with another key.
    let wrong = t.user.path("wrong.secret");
    online::write_private(&wrong, b"not-the-secret-not-the-secret-not-the-secret\n");
    let envoy = t.svc.url("/forward-auth/envoy/orders");
    t.user
        .run(&[
            "request",
            &envoy,
            "--scheme",
            "smile",
            "--partner-id",
            &t.smile_id,
            "--secret",
            &at(&wrong),
        ])
        .expect_code(1);
    with(&[
        "--scheme",
        "jwt",
        "--client-id",
        "acme-client",
        "--secret",
        &at(&wrong),
    ])
    .expect_code(1);
    let other_rsa = t.user.path("other-rsa.pem");
    online::openssl_rsa(&other_rsa, false);
    let order = r#"{"sell_currency":"EUR","buy_currency":"ETH","address":"0x1","buy_amount":"1"}"#;
    t.user
        .run(&[
            "request",
            &envoy,
            "--scheme",
            "altalix",
            "--key",
            &s(&other_rsa),
            "--key-id",
            &t.altalix_key_id,
            "--partner-id",
            "acme",
            "--altalix-order",
            order,
        ])
        .expect_code(1);
    with(&[
        "--scheme",
        "qredo",
        "--key",
        &s(&other_rsa),
        "--api-key",
        &at(&t.qredo_key),
    ])
    .expect_code(1);

    // A revoked API key: exit 1, and the server does not say why (opaque).
    let old = t.user.path("old.key");
    let issued = t.user.admin(
        &t.svc,
        &[
            "api-key",
            "issue",
            "acme",
            "--name",
            "old",
            "--env",
            "test",
            "--secret-out",
            &s(&old),
        ],
    );
    t.user.admin(
        &t.svc,
        &[
            "api-key",
            "revoke",
            issued["credential"]["reference"].as_str().unwrap(),
        ],
    );
    let run = with(&["--scheme", "api-key", "--api-key", &at(&old)]).expect_code(1);
    assert!(
        run.one_line_error()
            .contains("refused the credential (401)"),
        "{}",
        run.stderr
    );
    // A damaged API key is a malformed request (400): exit 2, the server's reason shown.
    let bad = t.user.path("bad.key");
    online::write_private(&bad, b"pa_test_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA_00000000\n");
    let run = with(&["--scheme", "api-key", "--api-key", &at(&bad)]).expect_code(2);
    assert!(run.one_line_error().contains("damaged"), "{}", run.stderr);
    // JSON output carries the cause too.
    let run = t
        .user
        .run(&[
            "--json",
            "request",
            &sessions,
            "-d",
            SESSION_BODY.as_str(),
            "--scheme",
            "rfc9421",
            "--key",
            &s(&t.ed_key),
            "--key-id",
            "key_nope",
        ])
        .expect_code(1);
    let j = run.json();
    assert_eq!(j["status"], 401);
    assert!(j["likely_cause"].as_str().is_some(), "{j}");
}

#[test]
fn bad_inputs_exit_2_and_no_answer_exit_3() {
    let t = setup();
    let sessions = t.svc.url("/api/auth/sessions");
    // A secret as an argument is refused without echoing it.
    let run = t
        .user
        .run(&[
            "request",
            &sessions,
            "--scheme",
            "api-key",
            "--api-key",
            "pa_test_secretvalue",
        ])
        .expect_code(2);
    assert!(
        run.one_line_error()
            .contains("secrets are not accepted as arguments"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("secretvalue"));
    let run = t
        .user
        .run(&[
            "request",
            &sessions,
            "--scheme",
            "rfc9421",
            "--key",
            &s(&t.ed_key),
        ])
        .expect_code(2);
    assert!(run.one_line_error().contains("--key-id"), "{}", run.stderr);
    let run = t
        .user
        .run(&["request", &sessions, "-H", "no-colon"])
        .expect_code(2);
    run.one_line_error();
    let run = t.user.run(&["request", "not a url"]).expect_code(2);
    run.one_line_error();
    let run = t
        .user
        .run(&[
            "request",
            &sessions,
            "--scheme",
            "rfc9421",
            "--key",
            "/nonexistent.pem",
            "--key-id",
            "k",
        ])
        .expect_code(2);
    assert!(
        run.one_line_error().contains("does not exist"),
        "{}",
        run.stderr
    );
    let run = t
        .user
        .run(&[
            "request",
            &sessions,
            "--scheme",
            "rfc9421",
            "--key",
            &s(&t.ed_key),
            "--key-id",
            "k",
            "--components",
            "Bad Name",
        ])
        .expect_code(2);
    run.one_line_error();
    let run = t
        .user
        .run(&[
            "request",
            &sessions,
            "--scheme",
            "qredo",
            "--key",
            &s(&t.ed_key),
            "--api-key",
            &at(&t.qredo_key),
        ])
        .expect_code(2);
    run.one_line_error();
    let run = t
        .user
        .run(&["request", &sessions, "-d", "@/nonexistent/body.json"])
        .expect_code(2);
    assert!(
        run.one_line_error().contains("does not exist"),
        "{}",
        run.stderr
    );
    let run = t
        .user
        .run(&["request", &sessions, "--scheme", "jwt", "--client-id", "c"])
        .expect_code(2);
    assert!(run.one_line_error().contains("--secret"), "{}", run.stderr);
    // No server: exit 3; an error status that is not a refusal: exit 3 with the body printed.
    let port = online::free_port();
    let run = t
        .user
        .run(&["request", &format!("http://127.0.0.1:{port}/x")])
        .expect_code(3);
    run.one_line_error();
    let run = t
        .user
        .run(&[
            "request",
            &t.svc.url("/no/such/endpoint/here"),
            "-X",
            "DELETE",
        ])
        .expect_code(3);
    run.one_line_error();
}
