//! App ID validation (table), app domain validation and matching, and the trial prefix.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use auth_core::ErrorCode;
use auth_core::scheme::apptrust::{AppDomain, AppId, MAX_APP_ID_LEN};

#[test]
fn app_id_table() {
    let label63 = "a".repeat(63);
    let label64 = "a".repeat(64);
    // "com." + 63 + "." + rest: labels stay within 63, only the total length varies.
    let at_max = format!("com.{label63}.{}", "b".repeat(MAX_APP_ID_LEN - 68));
    let over_max = format!("com.{label63}.{}", "b".repeat(MAX_APP_ID_LEN - 67));
    assert_eq!(at_max.len(), MAX_APP_ID_LEN);
    let long_label_ok = format!("com.{label63}");
    let long_label_bad = format!("com.{label64}");
    let cases: Vec<(&str, bool, &str)> = vec![
        // valid
        ("com.actyx.auth-test", true, "vector app ID"),
        ("com.example.my-app", true, "trial app"),
        ("com.actyx", true, "two labels"),
        ("com.actyx.node", true, "node license subject"),
        ("io.acme.team.app2", true, "four labels, digits"),
        ("com.0x1.9lives", true, "labels starting with digits"),
        ("com.a-b-c.d", true, "inner dashes"),
        ("a.b", true, "shortest"),
        (&long_label_ok, true, "63-character label"),
        (&at_max, true, "exactly the length bound"),
        // invalid
        ("", false, "empty"),
        ("com", false, "single label"),
        ("Com.actyx.app", false, "uppercase"),
        ("com.actyx.App", false, "uppercase in last label"),
        ("com.actyx.my_app", false, "underscore"),
        ("com..actyx", false, "empty label"),
        (".com.actyx", false, "leading dot"),
        ("com.actyx.", false, "trailing dot"),
        ("com.actyx.-app", false, "label starts with dash"),
        ("com.actyx.app-", false, "label ends with dash"),
        ("com.actyx.äpp", false, "unicode letter"),
        ("com.actyx.app\u{200b}", false, "zero-width space"),
        ("com.аctyx.app", false, "Cyrillic a (homograph)"),
        ("com.actyx.my app", false, "space"),
        ("com.actyx.app\n", false, "newline"),
        ("com.actyx.*", false, "a domain is not an app ID"),
        ("com/actyx/app", false, "slashes"),
        (&long_label_bad, false, "64-character label"),
        (&over_max, false, "over the length bound"),
        ("com.actyx.app\0", false, "NUL"),
    ];
    assert!(cases.len() >= 25);
    for (text, valid, why) in cases {
        let r = AppId::parse(text);
        assert_eq!(r.is_ok(), valid, "{why}: {text:?} -> {r:?}");
        if let Err(e) = r {
            assert_eq!(e.code(), ErrorCode::Malformed, "{why}");
            assert!(e.message().starts_with("app ID"), "{why}: {e}");
        } else {
            // serde goes through the same validation
            let json = serde_json::to_string(text).unwrap();
            let id: AppId = serde_json::from_str(&json).unwrap();
            assert_eq!(id.as_str(), text);
        }
    }
    assert!(serde_json::from_str::<AppId>("\"Com.x\"").is_err());
}

#[test]
fn domain_table_and_matching() {
    let valid = [
        "com.actyx.*",
        "com.example.*",
        "io.a-b.*",
        "com.0.*",
        "de.-x-.*",
    ];
    let invalid = [
        "",
        "*",
        "com.*",
        "com.actyx",
        "com.actyx.",
        "com.actyx.app.*",
        "com.actyx.*.info",
        "Com.actyx.*",
        "com.act_yx.*",
        "com..*",
        ".actyx.*",
        "com.actyx.**",
        "com.äctyx.*",
    ];
    for d in valid {
        AppDomain::parse(d).unwrap();
    }
    for d in invalid {
        assert_eq!(
            AppDomain::parse(d).unwrap_err().code(),
            ErrorCode::Malformed,
            "{d:?}"
        );
    }

    let d = AppDomain::parse("com.actyx.*").unwrap();
    let covers = |id: &str| d.covers(&AppId::parse(id).unwrap());
    assert!(covers("com.actyx.app"));
    assert!(covers("com.actyx.team.app"));
    assert!(
        !covers("com.actyx"),
        "the domain itself is not an app under it"
    );
    assert!(
        !covers("com.actyxx.app"),
        "prefix must end at a label boundary"
    );
    assert!(!covers("com.actyz.app"));
    assert!(!covers("org.actyx.app"));
    assert!(!covers("com.example.app"));
}

#[test]
fn trial_prefix() {
    assert!(AppId::parse("com.example.app").unwrap().is_trial());
    assert!(AppId::parse("com.example.a.b").unwrap().is_trial());
    assert!(!AppId::parse("com.example").unwrap().is_trial());
    assert!(!AppId::parse("com.examples.app").unwrap().is_trial());
    assert!(!AppId::parse("org.example.app").unwrap().is_trial());
}
