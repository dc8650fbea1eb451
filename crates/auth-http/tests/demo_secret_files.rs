//! The demo server's credential files (issue #9 finding 16): the directory is 0700, each file
//! 0600 even where an earlier run left a world-readable one, and a link planted in a file's
//! place is replaced, never followed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../examples/common/secret_files.rs"]
mod secret_files;

use std::os::unix::fs::PermissionsExt;

fn mode(path: &std::path::Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn credentials_are_written_for_their_owner_only() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("demo-credentials");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    // An earlier run's world-readable file, and a link an attacker planted.
    std::fs::write(dir.join("api-key"), b"old").unwrap();
    std::fs::set_permissions(dir.join("api-key"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let target = root.path().join("elsewhere");
    std::fs::write(&target, b"untouched").unwrap();
    std::os::unix::fs::symlink(&target, dir.join("jwt-secret")).unwrap();

    secret_files::private_dir(&dir).unwrap();
    secret_files::write_secret(&dir, "api-key", b"pa_test_secret").unwrap();
    secret_files::write_secret(&dir, "jwt-secret", b"s3cret").unwrap();

    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("api-key")), 0o600);
    assert_eq!(mode(&dir.join("jwt-secret")), 0o600);
    assert!(
        !std::fs::symlink_metadata(dir.join("jwt-secret"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        std::fs::read(dir.join("api-key")).unwrap(),
        b"pa_test_secret"
    );
    assert_eq!(std::fs::read(&target).unwrap(), b"untouched");
}
