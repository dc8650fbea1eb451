//! The README's walkthrough, run as written: `scripts/walkthrough.sh` (openssl and curl only)
//! against the real binary, from the first admin to a signed request that forward-auth accepts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod service;

#[test]
fn the_readme_walkthrough_works_on_a_fresh_service() {
    let svc = service::Service::start();
    let work = tempfile::tempdir().unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/walkthrough.sh");
    let out = std::process::Command::new("bash")
        .arg(script)
        .arg(&svc.base)
        .arg(work.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "stdout:\n{stdout}\nstderr:\n{stderr}\nservice:\n{}",
        svc.stderr()
    );
    // Both the API-key request and the signed request were accepted, as partner acme.
    let partner_lines = stdout
        .lines()
        .filter(|l| l.to_ascii_lowercase().starts_with("x-auth-partner: acme"))
        .count();
    assert_eq!(partner_lines, 2, "{stdout}");
    assert!(
        stdout
            .to_ascii_lowercase()
            .contains("x-auth-scheme: http_signature"),
        "{stdout}"
    );
    assert!(stdout.contains("walkthrough complete"));
}
