//! The authctl walkthroughs (crates/auth-cli/WALKTHROUGH.md), run as written:
//! `scripts/authctl-walkthrough.sh` with only `authctl` against the real auth-verify, from the
//! first admin to a real request signed with every scheme and a revoked key refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod online;

#[test]
fn the_authctl_walkthrough_works_on_a_fresh_service() {
    let svc = online::Service::start();
    let user = online::User::new();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/authctl-walkthrough.sh"
    );
    let out = std::process::Command::new("bash")
        .arg(script)
        .arg(&svc.base)
        .arg(user.path("work"))
        .env("AUTHCTL", online::authctl_bin())
        .env("HOME", user.home.path())
        .env("XDG_CONFIG_HOME", user.path("config"))
        .env("NO_COLOR", "1")
        .env_remove("AUTHCTL_SERVER")
        .env_remove("AUTHCTL_PROFILE")
        .env_remove("AUTHCTL_ADMIN_KEY")
        .env_remove("AUTHCTL_CONFIG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "stdout:\n{stdout}\nstderr:\n{stderr}\nservice:\n{}",
        svc.log()
    );
    for scheme in ["api-key", "rfc9421", "qredo", "jwt", "smile", "altalix"] {
        assert!(
            stdout.contains(&format!("accepted: {scheme}\n")),
            "{scheme} missing:\n{stdout}"
        );
    }
    assert!(
        stdout.contains("refused after revocation: api-key"),
        "{stdout}"
    );
    assert!(stdout.contains("walkthrough complete"), "{stdout}");
    // The doctor's checks passed, and -v showed the RFC 9421 signature base.
    assert!(stdout.contains("ok    registration"), "{stdout}");
    assert!(stderr.contains("\"@signature-params\""), "{stderr}");
    // Nothing secret reached the output.
    let api_key = std::fs::read_to_string(user.path("work/acme-api.key")).unwrap();
    assert!(!stdout.contains(api_key.trim()) && !stderr.contains(api_key.trim()));
}
