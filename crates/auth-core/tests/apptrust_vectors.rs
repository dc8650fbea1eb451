//! The app trust chain vectors of docs/protocols.md section 6, reproduced byte for byte, plus the
//! key text form round trips and the pinned CBOR layouts of every signed or carried structure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use auth_core::ErrorCode;
use auth_core::encoding::{b64_encode, hex_decode, hex_lower};
use auth_core::keys::{PrivateKey, PublicKey};
use auth_core::rand::SystemRandom;
use auth_core::scheme::apptrust::*;

const VECTORS: &str = include_str!("../../../testvectors/apptrust/protocols-section6.json");

fn v() -> serde_json::Value {
    serde_json::from_str(VECTORS).unwrap()
}

fn s<'a>(v: &'a serde_json::Value, path: &[&str]) -> &'a str {
    let mut cur = v;
    for p in path {
        cur = &cur[*p];
    }
    cur.as_str().unwrap()
}

fn domains(v: &serde_json::Value) -> Vec<AppDomain> {
    v["certificate"]["app_domains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| AppDomain::parse(d.as_str().unwrap()).unwrap())
        .collect()
}

#[test]
fn key_text_vectors_derive_their_public_keys() {
    let v = v();
    for (private, public) in [
        ("authority_private", "authority_public"),
        ("developer_private", "developer_public"),
    ] {
        let k = private_key_from_text(s(&v, &[private])).unwrap();
        let pk = AxPublicKey::from_public_key(&k.public_key()).unwrap();
        assert_eq!(pk.to_text(), s(&v, &[public]));
        assert_eq!(private_key_to_text(&k).unwrap().as_str(), s(&v, &[private]));
        assert_eq!(AxPublicKey::from_text(s(&v, &[public])).unwrap(), pk);
    }
}

#[test]
fn key_text_converts_to_and_from_pkcs8_and_spki() {
    let v = v();
    let k = private_key_from_text(s(&v, &["developer_private"])).unwrap();
    let pem = k.to_pkcs8_pem();
    let back = PrivateKey::from_pem(std::str::from_utf8(pem.expose()).unwrap()).unwrap();
    assert_eq!(
        private_key_to_text(&back).unwrap().as_str(),
        s(&v, &["developer_private"])
    );
    let pk = AxPublicKey::from_text(s(&v, &["developer_public"])).unwrap();
    let spki = pk.to_public_key().to_spki_pem();
    let back = AxPublicKey::from_public_key(&PublicKey::from_pem(&spki).unwrap()).unwrap();
    assert_eq!(back, pk);
}

#[test]
fn key_text_rejects_every_other_shape() {
    let good = "0nz1YdHu/JDmS6CImcZgOj9Y960sJOPrbZHAJO107qW0=";
    let bad = [
        "",
        "0",
        "1nz1YdHu/JDmS6CImcZgOj9Y960sJOPrbZHAJO107qW0=", // wrong version prefix
        "nz1YdHu/JDmS6CImcZgOj9Y960sJOPrbZHAJO107qW0=",  // no prefix
        "0nz1YdHu_JDmS6CImcZgOj9Y960sJOPrbZHAJO107qW0=", // base64url alphabet
        "0nz1YdHu/JDmS6CImcZgOj9Y960sJOPrbZHAJO107qW0",  // no padding
        "0nz1YdHu/JDmS6CImcZgOj9Y960sJOPrbZHAJO107qW1=", // non-canonical trailing bits
        "0nz1YdHu/JDmS6CImcZgOj9Y960sJOPrbZHAJO107qW0==",
        " 0nz1YdHu/JDmS6CImcZgOj9Y960sJOPrbZHAJO107qW0=",
        "0AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    ];
    assert!(AxPublicKey::from_text(good).is_ok());
    for b in bad {
        let e = AxPublicKey::from_text(b).unwrap_err();
        assert!(
            matches!(e.code(), ErrorCode::InvalidKey | ErrorCode::Malformed),
            "{b:?}: {e}"
        );
        assert!(private_key_from_text(b).is_err(), "{b:?}");
    }
    // A P-256 key has no text form here.
    let p256 = auth_core::keys::generate_p256(&SystemRandom::new()).unwrap();
    assert_eq!(
        private_key_to_text(&p256).unwrap_err().code(),
        ErrorCode::UnsupportedAlgorithm
    );
}

#[test]
fn certificate_vector_reproduces_ax_signature() {
    let v = v();
    let rng = SystemRandom::new();
    let authority = signing_key_from_text(s(&v, &["authority_private"]), &rng).unwrap();
    let dev = AxPublicKey::from_text(s(&v, &["developer_public"])).unwrap();
    let cert = DeveloperCertificate::issue(&authority, dev, domains(&v), &rng).unwrap();
    assert_eq!(
        b64_encode(cert.ax_signature()),
        s(&v, &["certificate", "ax_signature"])
    );
    // The signed bytes, pinned: a2 map(2), "devPubkey", text(45), "appDomains", array(2).
    let signed = DeveloperCertificate::signing_bytes(&dev, &domains(&v));
    let mut expected = vec![0xa2, 0x69];
    expected.extend_from_slice(b"devPubkey");
    expected.extend_from_slice(&[0x78, 45]);
    expected.extend_from_slice(s(&v, &["developer_public"]).as_bytes());
    expected.push(0x6a);
    expected.extend_from_slice(b"appDomains");
    expected.push(0x82);
    expected.push(0x6b);
    expected.extend_from_slice(b"com.actyx.*");
    expected.push(0x6d);
    expected.extend_from_slice(b"com.example.*");
    assert_eq!(signed, expected);
    let authority_key = AuthorityKey::from_text(s(&v, &["authority_public"])).unwrap();
    cert.verify(&authority_key).unwrap();
}

#[test]
fn manifest_vector_reproduces_cbor_and_dev_signature() {
    let v = v();
    let rng = SystemRandom::new();
    let app_id = AppId::parse(s(&v, &["manifest", "app_id"])).unwrap();
    let bytes = manifest_signing_bytes(
        &app_id,
        s(&v, &["manifest", "display_name"]),
        s(&v, &["manifest", "version"]),
    );
    assert_eq!(
        bytes,
        hex_decode(s(&v, &["manifest", "signed_cbor_hex"])).unwrap()
    );

    let authority = signing_key_from_text(s(&v, &["authority_private"]), &rng).unwrap();
    let dev_key = signing_key_from_text(s(&v, &["developer_private"]), &rng).unwrap();
    let dev = AxPublicKey::from_text(s(&v, &["developer_public"])).unwrap();
    let cert = DeveloperCertificate::issue(&authority, dev, domains(&v), &rng).unwrap();
    let m = AppManifest::sign(
        &dev_key,
        &cert,
        app_id,
        s(&v, &["manifest", "display_name"]),
        s(&v, &["manifest", "version"]),
        &rng,
    )
    .unwrap();
    let sig = ManifestSignature::from_base64(m.signature().unwrap()).unwrap();
    assert_eq!(
        b64_encode(sig.dev_signature()),
        s(&v, &["manifest", "dev_signature"])
    );
    let authority_key = AuthorityKey::from_text(s(&v, &["authority_public"])).unwrap();
    let ok = m.verify(&authority_key).unwrap();
    assert_eq!(ok.mode(), AppMode::Signed);
    assert_eq!(ok.developer(), Some(&dev));
}

#[test]
fn manifest_signature_blob_is_an_indefinite_map_in_field_order() {
    let v = v();
    let dev = AxPublicKey::from_text(s(&v, &["developer_public"])).unwrap();
    let ax = auth_core::encoding::b64_decode(s(&v, &["certificate", "ax_signature"]), "x").unwrap();
    let ds = auth_core::encoding::b64_decode(s(&v, &["manifest", "dev_signature"]), "x").unwrap();
    let cert =
        DeveloperCertificate::from_parts(dev, domains(&v), ax.clone().try_into().unwrap()).unwrap();
    let blob = ManifestSignature::new(ds.clone().try_into().unwrap(), cert).to_cbor();
    let mut expected = vec![0xbf, 0x6b];
    expected.extend_from_slice(b"sig_version");
    expected.push(0x00);
    expected.push(0x6d);
    expected.extend_from_slice(b"dev_signature");
    expected.extend_from_slice(&[0x78, 88]);
    expected.extend_from_slice(b64_encode(&ds).as_bytes());
    expected.push(0x69);
    expected.extend_from_slice(b"devPubkey");
    expected.extend_from_slice(&[0x78, 45]);
    expected.extend_from_slice(dev.to_text().as_bytes());
    expected.push(0x6a);
    expected.extend_from_slice(b"appDomains");
    expected.extend_from_slice(&[0x82, 0x6b]);
    expected.extend_from_slice(b"com.actyx.*");
    expected.push(0x6d);
    expected.extend_from_slice(b"com.example.*");
    expected.push(0x6b);
    expected.extend_from_slice(b"axSignature");
    expected.extend_from_slice(&[0x78, 88]);
    expected.extend_from_slice(b64_encode(&ax).as_bytes());
    expected.push(0xff);
    assert_eq!(hex_lower(&blob), hex_lower(&expected));
    // And it decodes back to the same thing.
    let back = ManifestSignature::from_cbor(&blob).unwrap();
    assert_eq!(back.to_cbor(), blob);
}

proptest::proptest! {
    #[test]
    fn key_text_round_trips(raw in proptest::array::uniform32(0u8..)) {
        let pk = AxPublicKey::from_bytes(raw);
        let text = pk.to_text();
        proptest::prop_assert_eq!(text.len(), KEY_TEXT_LEN);
        proptest::prop_assert!(text.starts_with('0'));
        proptest::prop_assert_eq!(AxPublicKey::from_text(&text).unwrap(), pk);
        let k = private_key_from_text(&text).unwrap();
        let back = private_key_to_text(&k).unwrap();
        proptest::prop_assert_eq!(back.as_str(), text.as_str());
        proptest::prop_assert_eq!(k.ed25519_seed().unwrap(), &raw[..]);
    }
}
