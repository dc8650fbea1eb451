//! RFC 9421 section 2 examples (component values of header fields, `;sf`, `;key`, `;bs`,
//! derived components, `@query-param`), `;req` in responses, and every kind of bad input
//! mapped to its own typed error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use auth_core::ErrorCode;
use auth_core::keys::{
    HmacSecret, PrivateKey, PublicKey, SignatureAlgorithm, SigningKey, VerifyingKey,
};
use auth_core::rand::SystemRandom;
use auth_core::request::{Body, Headers, Message, Request, Response};
use auth_core::scheme::rfc9421::{
    self, BodyCheck, Component, Derived, LabelSelection, NonceRequirement, SignatureSpec,
    TagPolicy, VerifyPolicy,
};
use auth_core::time::UnixTime;
use std::path::PathBuf;
use std::time::Duration;

const NOW: UnixTime = UnixTime::from_secs(1_618_884_473);

/// The first line of the signature base for one component of `msg`.
fn line(msg: &Message<'_>, c: Component) -> Result<String, auth_core::Error> {
    let spec = SignatureSpec::new("sig", vec![c], NOW).unwrap();
    let base = rfc9421::signature_base_for_spec(msg, &spec, SignatureAlgorithm::Ed25519)?;
    Ok(base.lines().next().unwrap().to_owned())
}

fn field(name: &str) -> Component {
    Component::field(name).unwrap()
}

#[test]
fn section_2_1_header_field_examples() {
    let h = [
        ("Host", "www.example.com"),
        ("Date", "Tue, 20 Apr 2021 02:07:56 GMT"),
        ("X-OWS-Header", "   Leading and trailing whitespace.   "),
        ("Cache-Control", "max-age=60"),
        ("Cache-Control", "   must-revalidate"),
        ("Example-Dict", " a=1,    b=2;x=1;y=2,   c=(a   b   c)"),
        ("X-Empty-Header", ""),
        ("Example-Header", "value, with, lots"),
        ("Example-Header", "of, commas"),
    ];
    let r = Request::from_uri("GET", "https://www.example.com/", &h, b"").unwrap();
    let m = Message::Request(&r);
    for (c, want) in [
        (field("host"), "\"host\": www.example.com"),
        (field("date"), "\"date\": Tue, 20 Apr 2021 02:07:56 GMT"),
        (
            field("x-ows-header"),
            "\"x-ows-header\": Leading and trailing whitespace.",
        ),
        (
            field("cache-control"),
            "\"cache-control\": max-age=60, must-revalidate",
        ),
        (
            field("example-dict"),
            "\"example-dict\": a=1,    b=2;x=1;y=2,   c=(a   b   c)",
        ),
        (field("x-empty-header"), "\"x-empty-header\": "),
        // 2.1.1 strict serialisation
        (
            field("example-dict").sf().unwrap(),
            "\"example-dict\";sf: a=1, b=2;x=1;y=2, c=(a b c)",
        ),
        // 2.1.2 dictionary members
        (
            field("example-dict").key("a").unwrap(),
            "\"example-dict\";key=\"a\": 1",
        ),
        (
            field("example-dict").key("b").unwrap(),
            "\"example-dict\";key=\"b\": 2;x=1;y=2",
        ),
        (
            field("example-dict").key("c").unwrap(),
            "\"example-dict\";key=\"c\": (a b c)",
        ),
        // 2.1.3 binary-wrapped
        (
            field("example-header").bs().unwrap(),
            "\"example-header\";bs: :dmFsdWUsIHdpdGgsIGxvdHM=:, :b2YsIGNvbW1hcw==:",
        ),
        (
            field("example-header"),
            "\"example-header\": value, with, lots, of, commas",
        ),
    ] {
        assert_eq!(line(&m, c.clone()).unwrap(), want, "{}", c.identifier());
    }
    // A missing header or dictionary member is a missing component.
    assert_eq!(
        line(&m, field("x-absent")).unwrap_err().code(),
        ErrorCode::MissingComponent
    );
    assert_eq!(
        line(&m, field("example-dict").key("zz").unwrap())
            .unwrap_err()
            .code(),
        ErrorCode::MissingComponent
    );
    // A value that is not a structured field cannot be covered with ;sf.
    assert_eq!(
        line(&m, field("date").sf().unwrap()).unwrap_err().code(),
        ErrorCode::Malformed
    );
    // Non-ASCII or control characters cannot enter the US-ASCII base as text; ;bs carries them.
    let h = [
        ("X-Utf8", "caf\u{e9}"),
        ("X-Nul", "a\u{0}b"),
        ("X-Tab", "a\tb"),
    ];
    let r = Request::from_uri("GET", "https://www.example.com/", &h, b"").unwrap();
    let m = Message::Request(&r);
    for name in ["x-utf8", "x-nul"] {
        assert_eq!(
            line(&m, field(name)).unwrap_err().code(),
            ErrorCode::Malformed,
            "{name}"
        );
    }
    assert_eq!(
        line(&m, field("x-utf8").bs().unwrap()).unwrap(),
        "\"x-utf8\";bs: :Y2Fmw6k=:"
    );
    assert_eq!(line(&m, field("x-tab")).unwrap(), "\"x-tab\": a\tb");
    // Obsolete line folding / embedded line breaks are refused, never copied into the base.
    let h = [("X-Obs-Fold-Header", "Obsolete\r\n    line folding.")];
    let r = Request::from_uri("GET", "https://www.example.com/", &h, b"").unwrap();
    assert_eq!(
        line(&Message::Request(&r), field("x-obs-fold-header"))
            .unwrap_err()
            .code(),
        ErrorCode::Malformed
    );
}

#[test]
fn section_2_2_derived_component_examples() {
    let r =
        Request::from_uri("POST", "https://www.example.com/path?param=value", &[], b"").unwrap();
    let m = Message::Request(&r);
    for (d, want) in [
        (Derived::Method, "\"@method\": POST"),
        (
            Derived::TargetUri,
            "\"@target-uri\": https://www.example.com/path?param=value",
        ),
        (Derived::Authority, "\"@authority\": www.example.com"),
        (Derived::Scheme, "\"@scheme\": https"),
        (
            Derived::RequestTarget,
            "\"@request-target\": /path?param=value",
        ),
        (Derived::Path, "\"@path\": /path"),
        (Derived::Query, "\"@query\": ?param=value"),
    ] {
        assert_eq!(line(&m, Component::derived(d)).unwrap(), want);
    }
    let r = Request::from_uri(
        "GET",
        "HTTPS://WWW.Example.com:443/path?queryString",
        &[],
        b"",
    )
    .unwrap();
    let m = Message::Request(&r);
    assert_eq!(
        line(&m, Component::query()).unwrap(),
        "\"@query\": ?queryString"
    );
    assert_eq!(
        line(&m, Component::authority()).unwrap(),
        "\"@authority\": www.example.com"
    );
    assert_eq!(
        line(&m, Component::derived(Derived::Scheme)).unwrap(),
        "\"@scheme\": https"
    );
    let r = Request::from_uri("GET", "http://www.example.com:8080", &[], b"").unwrap();
    let m = Message::Request(&r);
    assert_eq!(line(&m, Component::query()).unwrap(), "\"@query\": ?");
    assert_eq!(
        line(&m, Component::target_uri()).unwrap(),
        "\"@target-uri\": http://www.example.com:8080/"
    );
    let r = Request::from_uri("OPTIONS", "http://www.example.com:8080", &[], b"").unwrap();
    assert_eq!(
        line(&Message::Request(&r), Component::target_uri()).unwrap(),
        "\"@target-uri\": http://www.example.com:8080"
    );
    assert_eq!(line(&m, Component::path()).unwrap(), "\"@path\": /");
    assert_eq!(
        line(&m, Component::authority()).unwrap(),
        "\"@authority\": www.example.com:8080"
    );
    for (uri, want) in [
        ("https://H.example:0443/", "h.example"),
        ("https://h.example:/", "h.example"),
        ("http://h.example:80/", "h.example"),
        ("http://h.example:443/", "h.example:443"),
        ("https://[2001:DB8::1]:443/", "[2001:db8::1]"),
        ("https://[2001:db8::1]:8443/", "[2001:db8::1]:8443"),
        ("https://[2001:db8::1]/", "[2001:db8::1]"),
        ("wss://h.example:443/", "h.example:443"),
    ] {
        let r = Request::from_uri("GET", uri, &[], b"").unwrap();
        let got = line(&Message::Request(&r), Component::authority()).unwrap();
        assert_eq!(got, format!("\"@authority\": {want}"), "{uri}");
    }
    // @status is for responses.
    assert_eq!(
        line(&m, Component::status()).unwrap_err().code(),
        ErrorCode::Malformed
    );
}

#[test]
fn section_2_2_8_query_param_examples() {
    let r = Request::from_uri(
        "GET",
        "https://www.example.com/parameters?var=this%20is%20a%20big%0Amultiline%20value&bar=with+plus+whitespace&fa%C3%A7ade%22%3A%20=something",
        &[],
        b"",
    )
    .unwrap();
    let m = Message::Request(&r);
    for (name, want) in [
        (
            "var",
            "\"@query-param\";name=\"var\": this%20is%20a%20big%0Amultiline%20value",
        ),
        (
            "bar",
            "\"@query-param\";name=\"bar\": with%20plus%20whitespace",
        ),
        (
            "façade\": ",
            "\"@query-param\";name=\"fa%C3%A7ade%22%3A%20\": something",
        ),
    ] {
        assert_eq!(line(&m, Component::query_param(name)).unwrap(), want);
    }
    let r = Request::from_uri(
        "GET",
        "https://example.com/path?param=value&foo=bar&baz=batman&qux=",
        &[],
        b"",
    )
    .unwrap();
    let m = Message::Request(&r);
    assert_eq!(
        line(&m, Component::query_param("baz")).unwrap(),
        "\"@query-param\";name=\"baz\": batman"
    );
    assert_eq!(
        line(&m, Component::query_param("qux")).unwrap(),
        "\"@query-param\";name=\"qux\": "
    );
    assert_eq!(
        line(&m, Component::query_param("nope")).unwrap_err().code(),
        ErrorCode::MissingComponent
    );
    let r = Request::from_uri("GET", "https://example.com/?a=1&a=2", &[], b"").unwrap();
    assert_eq!(
        line(&Message::Request(&r), Component::query_param("a"))
            .unwrap_err()
            .code(),
        ErrorCode::Malformed
    );
}

fn keys_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testvectors/rfc9421/keys")
}

fn ed25519() -> (SigningKey, VerifyingKey) {
    let read = |n: &str| std::fs::read_to_string(keys_dir().join(n)).unwrap();
    let sk = SigningKey::new(
        &PrivateKey::from_pem(&read("test-key-ed25519.pem")).unwrap(),
        SignatureAlgorithm::Ed25519,
        &SystemRandom::new(),
    )
    .unwrap();
    let vk = VerifyingKey::new(
        &PublicKey::from_pem(&read("test-key-ed25519.pub.pem")).unwrap(),
        SignatureAlgorithm::Ed25519,
    )
    .unwrap();
    (sk, vk)
}

fn standard() -> Vec<Component> {
    vec![
        Component::method(),
        Component::target_uri(),
        field("content-digest"),
    ]
}

/// Signs a POST with `spec`, then runs `f` on the signed request.
fn signed_post<R>(
    spec: &SignatureSpec,
    extra: &[(&str, &str)],
    f: impl FnOnce(&Message<'_>) -> R,
) -> R {
    let body = b"{\"hello\": \"world\"}";
    let digest =
        auth_core::content_digest::create(body, auth_core::content_digest::DigestAlgorithm::Sha256);
    let base = [
        ("Content-Digest", digest.as_str()),
        ("Content-Type", "application/json"),
    ];
    let r =
        Request::from_uri("POST", "https://api.example.com/v1/orders?x=1", &base, body).unwrap();
    let (sk, _) = ed25519();
    let s = rfc9421::sign(&Message::Request(&r), spec, &sk, &SystemRandom::new()).unwrap();
    let mut h: Vec<(&str, &str)> = base.to_vec();
    h.push(("Signature-Input", &s.signature_input));
    h.push(("Signature", &s.signature));
    h.extend_from_slice(extra);
    let r = Request::from_uri("POST", "https://api.example.com/v1/orders?x=1", &h, body).unwrap();
    f(&Message::Request(&r))
}

#[test]
fn bad_input_gives_distinct_typed_errors() {
    let (_, vk) = ed25519();
    let spec = SignatureSpec::new("sig1", standard(), NOW)
        .unwrap()
        .keyid("k1")
        .unwrap()
        .nonce("n-1")
        .unwrap();
    let strict = VerifyPolicy::default();
    let lookup = |id: Option<&str>| if id == Some("k1") { Some(&vk) } else { None };

    // Good under the strict default policy, once: the nonce then counts as replayed.
    let mut cache = auth_core::replay::ReplayCache::new(8);
    let k1 = auth_core::credential::CredentialRef::parse(
        auth_core::credential::Purpose::HttpSignatureKey,
        "k1",
    )
    .unwrap();
    signed_post(&spec, &[], |m| {
        let p = rfc9421::verify_with_lookup(m, &strict, NOW, lookup).unwrap();
        let v = rfc9421::verify(m, &p, &vk, &strict, NOW).unwrap();
        assert_eq!(
            (v.keyid, v.nonce, v.body),
            (Some("k1"), Some("n-1"), BodyCheck::DigestVerified)
        );
        let key = auth_core::replay::ReplayKey::new(
            &k1,
            auth_core::replay::ReplayKind::Nonce,
            v.nonce.unwrap(),
        )
        .unwrap();
        cache.record(&key, NOW, strict.replay_window()).unwrap();
        let later = NOW.saturating_add(Duration::from_secs(200));
        let e = cache
            .record(&key, later, strict.replay_window())
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::Replayed);
    });
    // keyid not registered.
    let other = spec.clone().keyid("k2").unwrap();
    signed_post(&other, &[], |m| {
        assert_eq!(
            rfc9421::verify_with_lookup(m, &strict, NOW, lookup)
                .unwrap_err()
                .code(),
            ErrorCode::UnknownKey
        );
    });
    // A signature made with another key.
    let stranger = SigningKey::new(
        &auth_core::keys::generate_ed25519(&SystemRandom::new()).unwrap(),
        SignatureAlgorithm::Ed25519,
        &SystemRandom::new(),
    )
    .unwrap();
    let body = b"{}";
    let d =
        auth_core::content_digest::create(body, auth_core::content_digest::DigestAlgorithm::Sha512);
    let h0 = [("Content-Digest", d.as_str())];
    let r = Request::from_uri("PUT", "https://a.example/x", &h0, body).unwrap();
    let s = rfc9421::sign(
        &Message::Request(&r),
        &spec,
        &stranger,
        &SystemRandom::new(),
    )
    .unwrap();
    let h = [
        ("Content-Digest", d.as_str()),
        ("Signature-Input", &s.signature_input),
        ("Signature", &s.signature),
    ];
    let r = Request::from_uri("PUT", "https://a.example/x", &h, body).unwrap();
    assert_eq!(
        rfc9421::verify_with_lookup(&Message::Request(&r), &strict, NOW, lookup)
            .unwrap_err()
            .code(),
        ErrorCode::SignatureMismatch
    );
    // The same request with a body changed after signing.
    let r = Request::from_uri("PUT", "https://a.example/x", &h, b"{ }").unwrap();
    assert_eq!(
        rfc9421::verify_with_lookup(&Message::Request(&r), &strict, NOW, |_| Some(&vk))
            .unwrap_err()
            .code(),
        ErrorCode::SignatureMismatch,
        "the stranger's signature fails before the digest is looked at"
    );

    // Missing required components: no content-digest for a body, no @method, no URI.
    for comps in [
        vec![Component::method(), Component::target_uri()],
        vec![Component::target_uri(), field("content-digest")],
        vec![
            Component::method(),
            Component::authority(),
            Component::path(),
            field("content-digest"),
        ],
    ] {
        let s = SignatureSpec::new("sig1", comps, NOW)
            .unwrap()
            .keyid("k1")
            .unwrap()
            .nonce("n")
            .unwrap();
        signed_post(&s, &[], |m| {
            assert_eq!(
                rfc9421::verify_with_lookup(m, &strict, NOW, lookup)
                    .unwrap_err()
                    .code(),
                ErrorCode::MissingComponent
            );
        });
    }
    // @authority + @path + @query is as good as @target-uri; so is @request-target.
    for comps in [
        vec![
            Component::method(),
            Component::authority(),
            Component::path(),
            Component::query(),
            field("content-digest"),
        ],
        vec![
            Component::method(),
            Component::authority(),
            Component::derived(Derived::RequestTarget),
            field("content-digest"),
        ],
    ] {
        let s = SignatureSpec::new("sig1", comps, NOW)
            .unwrap()
            .keyid("k1")
            .unwrap()
            .nonce("n")
            .unwrap();
        signed_post(&s, &[], |m| {
            rfc9421::verify_with_lookup(m, &strict, NOW, lookup).unwrap()
        });
    }
    // An extra required component.
    let needs_ct = VerifyPolicy::default().require(field("content-type"));
    signed_post(&spec, &[], |m| {
        assert_eq!(
            rfc9421::verify_with_lookup(m, &needs_ct, NOW, lookup)
                .unwrap_err()
                .code(),
            ErrorCode::MissingComponent
        );
    });
    // No nonce while one is required; no created.
    let no_nonce = SignatureSpec::new("sig1", standard(), NOW)
        .unwrap()
        .keyid("k1")
        .unwrap();
    signed_post(&no_nonce, &[], |m| {
        assert_eq!(
            rfc9421::verify_with_lookup(m, &strict, NOW, lookup)
                .unwrap_err()
                .code(),
            ErrorCode::MissingComponent
        );
        let relaxed = VerifyPolicy::default().with_nonce(NonceRequirement::Optional);
        rfc9421::verify_with_lookup(m, &relaxed, NOW, lookup).unwrap();
    });
    signed_post(&spec.clone().without_created(), &[], |m| {
        assert_eq!(
            rfc9421::verify_with_lookup(m, &strict, NOW, lookup)
                .unwrap_err()
                .code(),
            ErrorCode::MissingComponent
        );
    });
    // Expired, too old, from the future.
    signed_post(
        &spec
            .clone()
            .expires(NOW.saturating_add(Duration::from_secs(10))),
        &[],
        |m| {
            rfc9421::verify_with_lookup(
                m,
                &strict,
                NOW.saturating_add(Duration::from_secs(15)),
                lookup,
            )
            .unwrap();
            let e = rfc9421::verify_with_lookup(
                m,
                &strict,
                NOW.saturating_add(Duration::from_secs(16)),
                lookup,
            )
            .unwrap_err();
            assert_eq!(e.code(), ErrorCode::StaleTimestamp);
        },
    );
    signed_post(&spec, &[], |m| {
        for at in [
            NOW.saturating_add(Duration::from_secs(301)),
            NOW.saturating_sub(Duration::from_secs(6)),
        ] {
            assert_eq!(
                rfc9421::verify_with_lookup(m, &strict, at, lookup)
                    .unwrap_err()
                    .code(),
                ErrorCode::StaleTimestamp
            );
        }
    });
    // Unknown algorithm named in alg; malformed fields; no signature at all.
    let cases: [(&str, &str, ErrorCode); 9] = [
        (
            "sig1=(\"@method\");created=1618884473;alg=\"rsa-sha1\"",
            "sig1=:AAAA:",
            ErrorCode::UnsupportedAlgorithm,
        ),
        ("sig1=(\"@method\"", "sig1=:AAAA:", ErrorCode::Malformed),
        (
            "sig1=(\"@method\");created=1618884473",
            "sig1=AAAA",
            ErrorCode::Malformed,
        ),
        (
            "sig1=(\"@method\");created=1618884473",
            "sig1=:AAAA",
            ErrorCode::Malformed,
        ),
        (
            "sig1=(\"@method\");created=-5",
            "sig1=:AAAA:",
            ErrorCode::Malformed,
        ),
        (
            "sig1=(\"@unknown\");created=1",
            "sig1=:AAAA:",
            ErrorCode::Malformed,
        ),
        (
            "sig1=(\"@method\" \"@method\");created=1",
            "sig1=:AAAA:",
            ErrorCode::Malformed,
        ),
        (
            "sig1=(\"Content-Type\");created=1",
            "sig1=:AAAA:",
            ErrorCode::Malformed,
        ),
        (
            "sig1=(\"@method\");created=1618884473",
            "sig2=:AAAA:",
            ErrorCode::Malformed,
        ),
    ];
    let lax = VerifyPolicy::default()
        .danger_require_only(vec![])
        .with_nonce(NonceRequirement::Optional);
    for (input, sig, want) in cases {
        let h = [("Signature-Input", input), ("Signature", sig)];
        let r = Request::from_uri("GET", "https://a.example/", &h, b"").unwrap();
        let got = rfc9421::verify_with_lookup(&Message::Request(&r), &lax, NOW, |_| Some(&vk))
            .unwrap_err();
        assert_eq!(got.code(), want, "{input} / {sig}: {got}");
    }
    let r = Request::from_uri("GET", "https://a.example/", &[], b"").unwrap();
    assert_eq!(
        rfc9421::parse(&Message::Request(&r), &lax)
            .unwrap_err()
            .code(),
        ErrorCode::Unauthorized
    );
    // A key whose algorithm RFC 9421 does not define is refused.
    let hmac512 = VerifyingKey::hmac(
        &HmacSecret::from_bytes(&[7; 32]).unwrap(),
        SignatureAlgorithm::HmacSha512,
    )
    .unwrap();
    signed_post(&spec, &[], |m| {
        assert_eq!(
            rfc9421::verify_with_lookup(m, &strict, NOW, |_| Some(&hmac512))
                .unwrap_err()
                .code(),
            ErrorCode::UnsupportedAlgorithm
        );
    });
}

#[test]
fn labels_and_tags_choose_the_signature() {
    let (sk, vk) = ed25519();
    let rng = SystemRandom::new();
    let r = Request::from_uri("GET", "https://a.example/p?q", &[], b"").unwrap();
    let m = Message::Request(&r);
    let comps = vec![Component::method(), Component::target_uri()];
    let a = rfc9421::sign(
        &m,
        &SignatureSpec::new("proxy", comps.clone(), NOW)
            .unwrap()
            .tag("proxy")
            .unwrap(),
        &sk,
        &rng,
    )
    .unwrap();
    let b = rfc9421::sign(
        &m,
        &SignatureSpec::new("app", comps, NOW)
            .unwrap()
            .tag("app-v1")
            .unwrap()
            .nonce("x")
            .unwrap(),
        &sk,
        &rng,
    )
    .unwrap();
    let input = format!("{}, {}", a.signature_input, b.signature_input);
    // Sent as two Signature lines: they combine.
    let h = [
        ("Signature-Input", input.as_str()),
        ("Signature", a.signature.as_str()),
        ("Signature", b.signature.as_str()),
    ];
    let r = Request::from_uri("GET", "https://a.example/p?q", &h, b"").unwrap();
    let m = Message::Request(&r);
    assert_eq!(rfc9421::labels(&m).unwrap(), ["proxy", "app"]);
    let by_tag = VerifyPolicy::default().with_tags(TagPolicy::OneOf(vec!["app-v1".into()]));
    let p = rfc9421::parse(&m, &by_tag).unwrap();
    assert_eq!(p.label(), "app");
    rfc9421::verify(&m, &p, &vk, &by_tag, NOW).unwrap();
    // Named label whose tag is not allowed.
    let named = by_tag
        .clone()
        .with_label(LabelSelection::Named("proxy".into()))
        .with_nonce(NonceRequirement::Optional);
    let p = rfc9421::parse(&m, &named).unwrap();
    assert_eq!(
        rfc9421::verify(&m, &p, &vk, &named, NOW)
            .unwrap_err()
            .code(),
        ErrorCode::Unauthorized
    );
    let none = VerifyPolicy::default().with_tags(TagPolicy::OneOf(vec!["other".into()]));
    assert_eq!(
        rfc9421::parse(&m, &none).unwrap_err().code(),
        ErrorCode::Unauthorized
    );
    let missing = VerifyPolicy::default().with_label(LabelSelection::Named("nope".into()));
    assert_eq!(
        rfc9421::parse(&m, &missing).unwrap_err().code(),
        ErrorCode::Unauthorized
    );
}

#[test]
fn responses_can_cover_request_components() {
    let (sk, vk) = ed25519();
    let rng = SystemRandom::new();
    let rh = [("Content-Type", "application/json")];
    let req = Request::from_uri("POST", "https://a.example/orders", &rh, b"").unwrap();
    let body = b"{\"ok\":true}";
    let digest =
        auth_core::content_digest::create(body, auth_core::content_digest::DigestAlgorithm::Sha256);
    let h0 = [("Content-Digest", digest.as_str())];
    let resp = Response::new(201, Headers::new(&h0), Body::from_bytes(body)).unwrap();
    let comps = vec![
        Component::status(),
        field("content-digest"),
        Component::method().req().unwrap(),
        Component::target_uri().req().unwrap(),
        field("content-type").req().unwrap(),
    ];
    let spec = SignatureSpec::new("res", comps, NOW)
        .unwrap()
        .nonce("r1")
        .unwrap();
    let s = rfc9421::sign(
        &Message::Response {
            response: &resp,
            request: Some(&req),
        },
        &spec,
        &sk,
        &rng,
    )
    .unwrap();
    let h = [
        ("Content-Digest", digest.as_str()),
        ("Signature-Input", &s.signature_input),
        ("Signature", &s.signature),
    ];
    let resp = Response::new(201, Headers::new(&h), Body::from_bytes(body)).unwrap();
    let pol = VerifyPolicy::default();
    let m = Message::Response {
        response: &resp,
        request: Some(&req),
    };
    let p = rfc9421::parse(&m, &pol).unwrap();
    assert!(
        p.signature_base(&m)
            .unwrap()
            .contains("\"@method\";req: POST\n")
    );
    assert_eq!(
        rfc9421::verify(&m, &p, &vk, &pol, NOW).unwrap().body,
        BodyCheck::DigestVerified
    );
    // Without the request, or with another request, it fails.
    let alone = Message::Response {
        response: &resp,
        request: None,
    };
    assert_eq!(
        rfc9421::verify(&alone, &p, &vk, &pol, NOW)
            .unwrap_err()
            .code(),
        ErrorCode::MissingComponent
    );
    let other = Request::from_uri("PUT", "https://a.example/orders", &rh, b"").unwrap();
    let m = Message::Response {
        response: &resp,
        request: Some(&other),
    };
    assert_eq!(
        rfc9421::verify(&m, &p, &vk, &pol, NOW).unwrap_err().code(),
        ErrorCode::SignatureMismatch
    );
    // A different status.
    let resp2 = Response::new(200, Headers::new(&h), Body::from_bytes(body)).unwrap();
    let m = Message::Response {
        response: &resp2,
        request: Some(&req),
    };
    assert_eq!(
        rfc9421::verify(&m, &p, &vk, &pol, NOW).unwrap_err().code(),
        ErrorCode::SignatureMismatch
    );
    // Responses must cover @status under the default policy.
    let spec = SignatureSpec::new("res", vec![field("content-digest")], NOW)
        .unwrap()
        .nonce("r")
        .unwrap();
    let s = rfc9421::sign(
        &Message::Response {
            response: &resp,
            request: None,
        },
        &spec,
        &sk,
        &rng,
    )
    .unwrap();
    let h = [
        ("Content-Digest", digest.as_str()),
        ("Signature-Input", &s.signature_input),
        ("Signature", &s.signature),
    ];
    let resp = Response::new(201, Headers::new(&h), Body::from_bytes(body)).unwrap();
    let m = Message::Response {
        response: &resp,
        request: None,
    };
    let p = rfc9421::parse(&m, &pol).unwrap();
    assert_eq!(
        rfc9421::verify(&m, &p, &vk, &pol, NOW).unwrap_err().code(),
        ErrorCode::MissingComponent
    );
}

#[test]
fn streamed_bodies_defer_the_digest_check() {
    let (sk, vk) = ed25519();
    let body = b"streamed";
    let digest =
        auth_core::content_digest::create(body, auth_core::content_digest::DigestAlgorithm::Sha256);
    let h0 = [("Content-Digest", digest.as_str())];
    let t = auth_core::request::TargetUri::parse("https://a.example/up").unwrap();
    let req = Request::new("PUT", t, Headers::new(&h0), Body::Streamed).unwrap();
    let spec = SignatureSpec::new("s", standard(), NOW)
        .unwrap()
        .nonce("n")
        .unwrap();
    let s = rfc9421::sign(&Message::Request(&req), &spec, &sk, &SystemRandom::new()).unwrap();
    let h = [
        ("Content-Digest", digest.as_str()),
        ("Signature-Input", &s.signature_input),
        ("Signature", &s.signature),
    ];
    let req = Request::new("PUT", t, Headers::new(&h), Body::Streamed).unwrap();
    let m = Message::Request(&req);
    let p = rfc9421::parse(&m, &VerifyPolicy::default()).unwrap();
    let v = rfc9421::verify(&m, &p, &vk, &VerifyPolicy::default(), NOW).unwrap();
    assert_eq!(v.body, BodyCheck::DigestDeferred);
    let mut dv =
        auth_core::content_digest::DigestVerifier::new(&digest, Default::default()).unwrap();
    dv.update(b"stream");
    dv.update(b"ed!");
    assert_eq!(dv.finish().unwrap_err().code(), ErrorCode::DigestMismatch);
}

/// Issue #9 finding 8: the structured-field parser stops at its bounds (members, duplicate
/// keys included; inner-list items; parameters) before it parses further, so its cost is
/// linear and a flood is refused as `TooLarge` by count. Checked by behaviour, not timing:
/// input past the bound is never looked at (a syntax error there does not surface).
#[test]
fn structured_field_bounds_are_enforced_by_count() {
    let (sk, _) = ed25519();
    let lax = VerifyPolicy::default()
        .danger_require_only(vec![])
        .with_nonce(NonceRequirement::Optional);
    let r = Request::from_uri("GET", "https://a.example/", &[], b"").unwrap();
    let spec = SignatureSpec::new("sig1", vec![Component::method()], NOW).unwrap();
    let s = rfc9421::sign(&Message::Request(&r), &spec, &sk, &SystemRandom::new()).unwrap();
    let (input, sig) = (s.signature_input, s.signature);
    let parse = |input: &str, sig: &str| {
        let h = [("Signature-Input", input), ("Signature", sig)];
        let r = Request::from_uri("GET", "https://a.example/", &h, b"").unwrap();
        rfc9421::parse(&Message::Request(&r), &lax).map(|_| ())
    };
    let too_large = |input: &str, sig: &str, what: &str| {
        let e = parse(input, sig).unwrap_err();
        assert_eq!(e.code(), ErrorCode::TooLarge, "{what}: {e}");
    };
    let others = |k: usize| (0..k).map(|i| format!("s{i}=()")).collect::<Vec<_>>();
    parse(&input, &sig).unwrap();

    // Members: up to the bound parse, one more is refused, and so is a 16 KiB dictionary.
    let n = rfc9421::MAX_LABELS;
    let at_bound = [vec![input.clone()], others(n - 1)].concat().join(", ");
    parse(&at_bound, &sig).unwrap();
    let over = [vec![input.clone()], others(n)].concat().join(", ");
    too_large(&over, &sig, "one member too many");
    let mut big = input.clone();
    for i in 0.. {
        let m = format!(", m{i}=()");
        if big.len() + m.len() > rfc9421::MAX_FIELD_LEN {
            break;
        }
        big.push_str(&m);
    }
    too_large(&big, &sig, "16 KiB of members");
    // Members past the bound are not parsed: a syntax error there is not reached.
    too_large(
        &format!("{over}, !!not-a-member!!"),
        &sig,
        "garbage past the bound",
    );
    // Duplicate keys count: a repeated label collapses to one member but costs a parse each.
    let dups = vec![input.clone(); n + 1].join(", ");
    too_large(&dups, &sig, "repeated Signature-Input label");
    let dups = vec![sig.clone(); n + 1].join(", ");
    too_large(&input, &dups, "repeated Signature label");

    // Parameters: a flood of unregistered ones, and one past the bound.
    let flood: String = (0..2000).map(|i| format!(";p{i}")).collect();
    too_large(&format!("{input}{flood}"), &sig, "2000 parameters");
    // `input` carries `created`: the bound allows MAX_PARAMETERS - 1 more.
    let fill: String = (0..rfc9421::MAX_PARAMETERS - 1)
        .map(|i| format!(";p{i}"))
        .collect();
    parse(&format!("{input}{fill}"), &sig).unwrap();
    too_large(&format!("{input}{fill};px"), &sig, "one parameter too many");
    too_large(
        &format!("{input}{fill};px;!!"),
        &sig,
        "garbage past the parameter bound",
    );

    // Inner-list items: past MAX_COMPONENTS the parser stops before the syntax error.
    let items = vec!["\"@method\""; rfc9421::MAX_COMPONENTS + 1].join(" ");
    too_large(
        &format!("sig1=({items} !!);created=1"),
        &sig,
        "items past the bound",
    );

    // Content-Digest takes the same parser and bounds.
    let body = b"x";
    let digest =
        auth_core::content_digest::create(body, auth_core::content_digest::DigestAlgorithm::Sha256);
    auth_core::content_digest::verify(&digest, body, Default::default()).unwrap();
    let flooded = [vec![digest.clone()], others(n)].concat().join(", ");
    assert_eq!(
        auth_core::content_digest::verify(&flooded, body, Default::default())
            .unwrap_err()
            .code(),
        ErrorCode::TooLarge
    );
}

/// P-256 group order n, big-endian.
const P256_N: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// `n - s` for 0 < s < n (256-bit big-endian subtraction).
fn p256_negate(s: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut d = i16::from(P256_N[i]) - i16::from(s[i]) - borrow;
        borrow = i16::from(d < 0);
        if d < 0 {
            d += 256;
        }
        out[i] = d as u8;
    }
    assert_eq!(borrow, 0);
    out
}

/// Issue #9 finding 12: ECDSA signatures are malleable, `(r, n - s)` verifies as well as
/// `(r, s)`. With nonces optional the replay identifier must not be the signature's bytes:
/// both twins verify and map to one identifier (the digest of the signed content + keyid).
#[test]
fn ecdsa_twin_signature_has_the_same_replay_identifier() {
    let rng = SystemRandom::new();
    let read = |n: &str| std::fs::read_to_string(keys_dir().join(n)).unwrap();
    let alg = SignatureAlgorithm::EcdsaP256Sha256;
    let sk = SigningKey::new(
        &PrivateKey::from_pem(&read("test-key-ecc-p256.pem")).unwrap(),
        alg,
        &rng,
    )
    .unwrap();
    let vk = VerifyingKey::new(
        &PublicKey::from_pem(&read("test-key-ecc-p256.pub.pem")).unwrap(),
        alg,
    )
    .unwrap();
    let policy = VerifyPolicy::default().with_nonce(NonceRequirement::Optional);
    let url = "https://a.example/orders?x=1";
    let sign = |created: UnixTime| {
        let r = Request::from_uri("GET", url, &[], b"").unwrap();
        let spec = SignatureSpec::new(
            "sig1",
            vec![Component::method(), Component::target_uri()],
            created,
        )
        .unwrap()
        .keyid("p256")
        .unwrap();
        rfc9421::sign(&Message::Request(&r), &spec, &sk, &rng).unwrap()
    };
    let s = sign(NOW);
    let raw = auth_core::encoding::b64_decode(
        s.signature
            .trim_start_matches("sig1=:")
            .trim_end_matches(':'),
        "sig",
    )
    .unwrap();
    assert_eq!(raw.len(), 64);
    let mut twin = raw[..32].to_vec();
    twin.extend_from_slice(&p256_negate(&raw[32..]));
    let twin_field = format!("sig1=:{}:", auth_core::encoding::b64_encode(&twin));
    // What a replay store would record for each presentation.
    let replay_id = |input: &str, sig: &str| {
        let h = [("Signature-Input", input), ("Signature", sig)];
        let r = Request::from_uri("GET", url, &h, b"").unwrap();
        let m = Message::Request(&r);
        let p = rfc9421::parse(&m, &policy).unwrap();
        let v = rfc9421::verify(&m, &p, &vk, &policy, NOW).unwrap();
        assert_eq!(v.nonce, None, "no nonce: only the content can identify it");
        (p.signature().to_vec(), v.content_digest_for_replay())
    };
    let (sig_a, id_a) = replay_id(&s.signature_input, &s.signature);
    let (sig_b, id_b) = replay_id(&s.signature_input, &twin_field);
    assert_ne!(sig_a, sig_b, "the twin is another encoding");
    assert_eq!(id_a, id_b, "both twins must map to one replay identifier");
    // Other signed content (another `created`) is another identifier.
    let later = sign(NOW.saturating_add(Duration::from_secs(1)));
    let (_, id_c) = replay_id(&later.signature_input, &later.signature);
    assert_ne!(id_a, id_c);
}

#[test]
fn component_lists_parse_as_written_in_signature_input() {
    use auth_core::scheme::rfc9421::parse_components;
    let want = vec![
        Component::method(),
        Component::target_uri(),
        Component::field("content-digest").unwrap().sf().unwrap(),
        Component::query_param("a"),
    ];
    let text = r#""@method" "@target-uri" "content-digest";sf "@query-param";name="a""#;
    assert_eq!(parse_components(text).unwrap(), want);
    assert_eq!(parse_components(&format!("({text})")).unwrap(), want);
    for bad in [
        "@method",
        r#""@nope""#,
        r#"("@method");created=1"#,
        r#""a" x"#,
        r#""X-Upper""#,
    ] {
        assert!(parse_components(bad).is_err(), "{bad}");
    }
}
