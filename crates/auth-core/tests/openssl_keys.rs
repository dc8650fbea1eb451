//! Key interop with the openssl CLI, in both directions: keys openssl makes load here, keys we
//! make load in openssl, and signatures cross over (RSA PKCS#1 v1.5 SHA-256, Ed25519, P-256).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use auth_core::keys::{
    self, KeyType, PrivateKey, PublicKey, SignatureAlgorithm, SigningKey, VerifyingKey,
};
use auth_core::rand::SystemRandom;
use common::{openssl_available, run, succeeds};
use std::path::{Path, PathBuf};
use std::process::Command;

fn openssl(dir: &Path, args: &[&str]) -> Vec<u8> {
    run(Command::new("openssl").current_dir(dir).args(args), b"")
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}

fn write(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p
}

/// Signs with a key we loaded and verifies with the public key we loaded from another file.
fn assert_pair_works(private: &PrivateKey, public: &PublicKey, alg: SignatureAlgorithm) {
    let rng = SystemRandom::new();
    let signer = SigningKey::new(private, alg, &rng).unwrap();
    let verifier = VerifyingKey::new(public, alg).unwrap();
    let sig = signer.sign(b"interop", &rng).unwrap();
    verifier.verify(b"interop", &sig).unwrap();
    assert!(verifier.verify(b"interoq", &sig).is_err());
    assert_eq!(&private.public_key(), public);
}

#[test]
fn openssl_made_keys_load() {
    if !openssl_available() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    // RSA: PKCS#8 (genpkey), PKCS#1 (genrsa -traditional), public as SPKI and as PKCS#1.
    openssl(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "rsa8.pem",
        ],
    );
    openssl(dir, &["genrsa", "-traditional", "-out", "rsa1.pem", "3072"]);
    openssl(
        dir,
        &["rsa", "-in", "rsa8.pem", "-pubout", "-out", "rsa8.pub"],
    );
    openssl(
        dir,
        &[
            "rsa",
            "-in",
            "rsa1.pem",
            "-RSAPublicKey_out",
            "-out",
            "rsa1.pub",
        ],
    );
    assert!(read(dir, "rsa8.pem").contains("BEGIN PRIVATE KEY"));
    assert!(read(dir, "rsa1.pem").contains("BEGIN RSA PRIVATE KEY"));
    assert!(read(dir, "rsa1.pub").contains("BEGIN RSA PUBLIC KEY"));
    for (k, p) in [("rsa8.pem", "rsa8.pub"), ("rsa1.pem", "rsa1.pub")] {
        let private = PrivateKey::from_pem(&read(dir, k)).unwrap();
        let public = PublicKey::from_pem(&read(dir, p)).unwrap();
        assert_eq!(private.key_type(), KeyType::Rsa);
        assert_pair_works(&private, &public, SignatureAlgorithm::RsaPkcs1Sha256);
        assert_pair_works(&private, &public, SignatureAlgorithm::RsaPssSha512);
    }
    // DER forms too.
    openssl(
        dir,
        &[
            "pkey", "-in", "rsa8.pem", "-outform", "DER", "-out", "rsa8.der",
        ],
    );
    openssl(
        dir,
        &[
            "pkey",
            "-in",
            "rsa8.pem",
            "-pubout",
            "-outform",
            "DER",
            "-out",
            "rsa8.pub.der",
        ],
    );
    let private = PrivateKey::from_der(&std::fs::read(dir.join("rsa8.der")).unwrap()).unwrap();
    let public = PublicKey::from_der(&std::fs::read(dir.join("rsa8.pub.der")).unwrap()).unwrap();
    assert_pair_works(&private, &public, SignatureAlgorithm::RsaPkcs1Sha256);

    // Ed25519 (PKCS#8) and P-256 (PKCS#8 via genpkey, SEC1 via ecparam -genkey).
    openssl(dir, &["genpkey", "-algorithm", "ED25519", "-out", "ed.pem"]);
    openssl(dir, &["pkey", "-in", "ed.pem", "-pubout", "-out", "ed.pub"]);
    let private = PrivateKey::from_pem(&read(dir, "ed.pem")).unwrap();
    assert_pair_works(
        &private,
        &PublicKey::from_pem(&read(dir, "ed.pub")).unwrap(),
        SignatureAlgorithm::Ed25519,
    );

    openssl(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "ec8.pem",
        ],
    );
    openssl(
        dir,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-out",
            "ec1.pem",
        ],
    );
    for k in ["ec8.pem", "ec1.pem"] {
        let pubfile = format!("{k}.pub");
        openssl(dir, &["pkey", "-in", k, "-pubout", "-out", &pubfile]);
        let private = PrivateKey::from_pem(&read(dir, k)).unwrap();
        let public = PublicKey::from_pem(&read(dir, &pubfile)).unwrap();
        assert_pair_works(&private, &public, SignatureAlgorithm::EcdsaP256Sha256);
    }
    // `ecparam -genkey` writes an EC PARAMETERS block first; it must be skipped.
    assert!(read(dir, "ec1.pem").contains("EC PARAMETERS"));
}

#[test]
fn small_rsa_keys_are_refused_clearly() {
    if !openssl_available() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    openssl(
        d.path(),
        &["genrsa", "-traditional", "-out", "small.pem", "1024"],
    );
    openssl(
        d.path(),
        &["rsa", "-in", "small.pem", "-pubout", "-out", "small.pub"],
    );
    let err = PrivateKey::from_pem(&read(d.path(), "small.pem")).unwrap_err();
    assert_eq!(err.code(), auth_core::ErrorCode::InvalidKey);
    assert!(err.message().contains("1024 bits"), "{err}");
    assert!(PublicKey::from_pem(&read(d.path(), "small.pub")).is_err());
}

#[test]
fn keys_we_generate_load_in_openssl() {
    if !openssl_available() {
        return;
    }
    let rng = SystemRandom::new();
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let mut made = vec![
        ("rsa2048", keys::generate_rsa(2048, &rng).unwrap()),
        ("ed25519", keys::generate_ed25519(&rng).unwrap()),
        ("p256", keys::generate_p256(&rng).unwrap()),
    ];
    // Larger sizes are slower to generate; one 3072 and one 4096 key are enough.
    made.push(("rsa3072", keys::generate_rsa(3072, &rng).unwrap()));
    made.push(("rsa4096", keys::generate_rsa(4096, &rng).unwrap()));
    for (name, key) in &made {
        let pkcs8 = write(dir, &format!("{name}.p8.pem"), key.to_pkcs8_pem().expose());
        let trad = write(
            dir,
            &format!("{name}.trad.pem"),
            key.to_traditional_pem().expose(),
        );
        let spki = write(
            dir,
            &format!("{name}.pub.pem"),
            key.public_key().to_spki_pem().as_bytes(),
        );
        for f in [&pkcs8, &trad] {
            let f = f.to_str().unwrap();
            assert!(
                succeeds(Command::new("openssl").args(["pkey", "-in", f, "-noout", "-check"])),
                "openssl pkey -check {f}"
            );
        }
        let spki = spki.to_str().unwrap();
        assert!(
            succeeds(Command::new("openssl").args(["pkey", "-pubin", "-in", spki, "-noout"])),
            "{spki}"
        );
        // openssl's own public key from our private key equals ours.
        let theirs = run(
            Command::new("openssl").args(["pkey", "-in", pkcs8.to_str().unwrap(), "-pubout"]),
            b"",
        );
        assert_eq!(
            PublicKey::from_pem(std::str::from_utf8(&theirs).unwrap()).unwrap(),
            key.public_key(),
            "{name}"
        );
        if name.starts_with("rsa") {
            assert!(succeeds(Command::new("openssl").args([
                "rsa",
                "-in",
                trad.to_str().unwrap(),
                "-check",
                "-noout"
            ])));
            let p1 = write(
                dir,
                &format!("{name}.pkcs1.pub"),
                key.public_key().to_pkcs1_pem().unwrap().as_bytes(),
            );
            assert!(succeeds(Command::new("openssl").args([
                "rsa",
                "-RSAPublicKey_in",
                "-in",
                p1.to_str().unwrap(),
                "-noout"
            ])));
        }
    }
}

#[test]
fn signatures_cross_over_with_openssl() {
    if !openssl_available() {
        return;
    }
    let rng = SystemRandom::new();
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let msg = write(
        dir,
        "msg.bin",
        b"1605779886https://api.qredo.network/api/v1/p/company/search",
    );
    let msg_bytes = std::fs::read(&msg).unwrap();

    // RSA PKCS#1 v1.5 SHA-256: ours verifies in openssl, openssl's verifies here.
    let rsa = keys::generate_rsa(2048, &rng).unwrap();
    let key = write(dir, "rsa.pem", rsa.to_traditional_pem().expose());
    let public = write(dir, "rsa.pub", rsa.public_key().to_spki_pem().as_bytes());
    let signer = SigningKey::new(&rsa, SignatureAlgorithm::RsaPkcs1Sha256, &rng).unwrap();
    let sig = write(dir, "ours.sig", &signer.sign(&msg_bytes, &rng).unwrap());
    let verify = |public: &Path, sig: &Path| {
        succeeds(
            Command::new("openssl")
                .args(["dgst", "-sha256", "-verify"])
                .arg(public)
                .arg("-signature")
                .arg(sig)
                .arg(&msg),
        )
    };
    assert!(verify(&public, &sig));
    let mut tampered = std::fs::read(&sig).unwrap();
    tampered[10] ^= 1;
    let tampered = write(dir, "tampered.sig", &tampered);
    assert!(
        !verify(&public, &tampered),
        "openssl must reject a flipped signature"
    );

    openssl(
        dir,
        &[
            "dgst",
            "-sha256",
            "-sign",
            key.to_str().unwrap(),
            "-out",
            "theirs.sig",
            msg.to_str().unwrap(),
        ],
    );
    let theirs = std::fs::read(dir.join("theirs.sig")).unwrap();
    let verifier =
        VerifyingKey::new(&rsa.public_key(), SignatureAlgorithm::RsaPkcs1Sha256).unwrap();
    verifier.verify(&msg_bytes, &theirs).unwrap();
    assert!(verifier.verify(b"other", &theirs).is_err());

    // Ed25519: openssl pkeyutl -rawin.
    let ed = keys::generate_ed25519(&rng).unwrap();
    let key = write(dir, "ed.pem", ed.to_pkcs8_pem().expose());
    let public = write(dir, "ed.pub", ed.public_key().to_spki_pem().as_bytes());
    let signer = SigningKey::new(&ed, SignatureAlgorithm::Ed25519, &rng).unwrap();
    let sig = write(dir, "ed.sig", &signer.sign(&msg_bytes, &rng).unwrap());
    assert!(succeeds(
        Command::new("openssl")
            .args(["pkeyutl", "-verify", "-pubin", "-inkey"])
            .arg(&public)
            .arg("-rawin")
            .arg("-in")
            .arg(&msg)
            .arg("-sigfile")
            .arg(&sig)
    ));
    openssl(
        dir,
        &[
            "pkeyutl",
            "-sign",
            "-inkey",
            key.to_str().unwrap(),
            "-rawin",
            "-in",
            msg.to_str().unwrap(),
            "-out",
            "ed.theirs",
        ],
    );
    let theirs = std::fs::read(dir.join("ed.theirs")).unwrap();
    // Ed25519 is deterministic: openssl's signature equals ours byte for byte.
    assert_eq!(theirs, std::fs::read(&sig).unwrap());
    VerifyingKey::new(&ed.public_key(), SignatureAlgorithm::Ed25519)
        .unwrap()
        .verify(&msg_bytes, &theirs)
        .unwrap();
}
