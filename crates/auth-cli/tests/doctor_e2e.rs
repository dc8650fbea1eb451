//! `authctl doctor` end to end against the real auth-verify: the clock, the key file, the
//! registration (by a signed probe, and by thumbprint through the admin API), the schemes the
//! server accepts, and the failures: a key that does not match, an unknown key ID, a
//! world-readable key, no server.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod online;

use online::{Service, User};
use std::os::unix::fs::PermissionsExt;

fn checks(j: &serde_json::Value) -> std::collections::BTreeMap<String, (String, String)> {
    j["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                (
                    c["status"].as_str().unwrap().to_owned(),
                    c["message"].as_str().unwrap().to_owned(),
                ),
            )
        })
        .collect()
}

#[test]
fn doctor_checks_clock_key_registration_and_schemes() {
    let svc = Service::start();
    let admin = User::new();
    admin.admin(&svc, &["bootstrap"]);
    admin.admin(&svc, &["partner", "create", "acme", "--name", "Acme"]);
    let key = admin.path("partner.pem");
    online::openssl_rsa(&key, true);
    let up = admin.admin(
        &svc,
        &[
            "key",
            "upload",
            "acme",
            "--public-key",
            key.to_str().unwrap(),
            "--purpose",
            "http-signature",
            "--name",
            "signing",
            "--env",
            "test",
        ],
    );
    let key_id = up["credential"]["key_id"].as_str().unwrap().to_owned();

    // A partner without admin access: the registration is proved by a probe /v1/verify accepts.
    let partner = User::new();
    std::fs::copy(&key, partner.path("partner.pem")).unwrap();
    let pk = partner.path("partner.pem");
    std::fs::set_permissions(&pk, std::fs::Permissions::from_mode(0o600)).unwrap();
    let run = partner
        .run(&[
            "--json",
            "doctor",
            "--server",
            &svc.base,
            "--key",
            pk.to_str().unwrap(),
            "--key-id",
            &key_id,
        ])
        .ok();
    let c = checks(&run.json());
    assert_eq!(c["server"].0, "ok");
    assert_eq!(c["clock"].0, "ok", "{:?}", c["clock"]);
    assert!(c["clock"].1.contains("0 s"), "{:?}", c["clock"]);
    assert_eq!(c["key"].0, "ok");
    assert!(
        c["key"].1.contains("RSA 2048 bits") && c["key"].1.contains("PKCS#1"),
        "{:?}",
        c["key"]
    );
    assert_eq!(c["registration"].0, "ok", "{:?}", c["registration"]);
    assert!(
        c["registration"].1.contains("partner acme"),
        "{:?}",
        c["registration"]
    );
    assert!(c["schemes"].1.contains("api_key"), "{:?}", c["schemes"]);
    assert!(
        !partner.admin_key_path().exists(),
        "doctor must not create an admin key"
    );

    // The admin's view: exact thumbprint comparison through the admin API.
    let run = admin
        .run(&[
            "--json",
            "doctor",
            "--server",
            &svc.base,
            "--key",
            key.to_str().unwrap(),
            "--key-id",
            &key_id,
            "--partner",
            "acme",
        ])
        .ok();
    let c = checks(&run.json());
    assert_eq!(c["registration"].0, "ok", "{:?}", c["registration"]);
    assert!(
        c["registration"].1.contains("thumbprint"),
        "{:?}",
        c["registration"]
    );
    // As an admin every scheme of the default route table is confirmed.
    for s in [
        "api_key",
        "http_signature",
        "jwt",
        "qredo",
        "smile",
        "altalix",
    ] {
        assert!(c["schemes"].1.contains(s), "{s}: {:?}", c["schemes"]);
    }

    // Another key under that key ID: fail (exit 1), both ways.
    let other = admin.path("other.pem");
    online::openssl_rsa(&other, false);
    let run = partner
        .run(&[
            "--json",
            "doctor",
            "--server",
            &svc.base,
            "--key",
            other.to_str().unwrap(),
            "--key-id",
            &key_id,
        ])
        .expect_code(1);
    let c = checks(&run.json());
    assert_eq!(c["registration"].0, "fail", "{:?}", c["registration"]);
    let run = admin
        .run(&[
            "--json",
            "doctor",
            "--server",
            &svc.base,
            "--key",
            other.to_str().unwrap(),
            "--key-id",
            &key_id,
            "--partner",
            "acme",
        ])
        .expect_code(1);
    let c = checks(&run.json());
    assert!(
        c["registration"].1.contains("is not this key's"),
        "{:?}",
        c["registration"]
    );
    // An unknown key ID, as admin.
    let run = admin
        .run(&[
            "--json",
            "doctor",
            "--server",
            &svc.base,
            "--key",
            key.to_str().unwrap(),
            "--key-id",
            "key_nope",
            "--partner",
            "acme",
        ])
        .expect_code(1);
    assert!(
        checks(&run.json())["registration"]
            .1
            .contains("no credential with key ID key_nope")
    );
    // A world-readable key file fails the key check with the fix.
    std::fs::set_permissions(&pk, std::fs::Permissions::from_mode(0o644)).unwrap();
    let run = partner
        .run(&[
            "doctor",
            "--server",
            &svc.base,
            "--key",
            pk.to_str().unwrap(),
        ])
        .expect_code(1);
    assert!(run.stdout.contains("chmod 600"), "{}", run.stdout);
    assert!(
        run.one_line_error().contains("1 check(s) failed"),
        "{}",
        run.stderr
    );
    // No server: exit 3.
    let port = online::free_port();
    let run = partner
        .run(&["doctor", "--server", &format!("http://127.0.0.1:{port}")])
        .expect_code(3);
    run.one_line_error();
}

#[test]
fn doctor_reads_the_route_table_scheme_by_scheme() {
    let svc = Service::start_with_config(Some(
        "[[auth.routes]]\npath = \"/orders\"\nschemes = [{ scheme = \"api_key\" }, { scheme = \"http_signature\" }]\n\
         [[auth.routes]]\npath = \"/\"\nschemes = [{ scheme = \"smile\" }]\n",
    ));
    let admin = User::new();
    admin.admin(&svc, &["bootstrap"]);
    let schemes = |user: &User, path: &str| {
        let run = user
            .run(&["--json", "doctor", "--server", &svc.base, "--path", path])
            .ok();
        checks(&run.json())["schemes"].1.clone()
    };
    // An admin is told exactly, scheme by scheme.
    assert_eq!(
        schemes(&admin, "/orders"),
        "/orders accepts: api_key, http_signature; does not accept: jwt, qredo, smile, altalix"
    );
    assert_eq!(
        schemes(&admin, "/elsewhere"),
        "/elsewhere accepts: smile; does not accept: api_key, http_signature, jwt, qredo, altalix"
    );
    // Anyone else learns what the refusals show, and is told the rest is unknown.
    let partner = User::new();
    let seen = schemes(&partner, "/orders");
    let (accepted, rest) = seen.split_once(';').unwrap();
    assert_eq!(accepted, "/orders accepts: api_key", "{seen}");
    assert!(rest.contains("not accepted or not told"), "{seen}");
}
