//! The behaviour every [`Store`] must have, as one async suite: the SQLite store runs it in
//! `tests/store_sqlite.rs`, and the PostgreSQL store later runs the very same checks. Every
//! run uses fresh IDs, so it can run against a shared database that already holds data.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::{
    CredentialRecord, Document, PartnerRecord, PartnerStatus, PublicKeyRecord, SealedSecret, Store,
    StoreError, StoredMaterial, Usage, UsageDelta,
};
use auth_core::apikey::{ApiKeyDigest, Environment};
use auth_core::credential::{CredentialRef, PartnerId, Purpose, Scopes, Status};
use auth_core::time::UnixTime;
use std::sync::atomic::{AtomicU64, Ordering};

/// Runs every check against `store`. Panics (test failure) naming the first broken rule.
pub async fn run_all(store: &dyn Store) {
    let run = run_id();
    store.ping().await.expect("ping");
    partners(store, &run).await;
    credentials(store, &run).await;
    regenerate(store, &run).await;
    usage(store, &run).await;
    admins(store).await;
    documents_and_meta(store, &run).await;
    reseal(store, &run).await;
}

fn run_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{nanos:x}-{}", COUNTER.fetch_add(1, Ordering::Relaxed))
}

const T0: UnixTime = UnixTime::from_secs(1_800_000_000);

fn at(secs: u64) -> UnixTime {
    UnixTime::from_secs(1_800_000_000 + secs)
}

fn partner(run: &str, n: &str) -> PartnerRecord {
    PartnerRecord {
        id: PartnerId::new(&format!("p-{run}-{n}")).unwrap(),
        name: format!("Partner {n} {run}"),
        status: PartnerStatus::Active,
        allowed_origins: vec!["https://app.example".into()],
        created_at: T0,
    }
}

fn reference(purpose: Purpose, id: &str) -> CredentialRef {
    CredentialRef::parse(purpose, id).unwrap()
}

fn api_key(partner: &PartnerRecord, text: &str, name: &str) -> CredentialRecord {
    CredentialRecord {
        reference: CredentialRef::by_digest(Purpose::ApiKey, &ApiKeyDigest::of(text)),
        partner: partner.id.clone(),
        environment: Environment::Live,
        name: name.into(),
        notes: "made by the store suite".into(),
        scopes: Scopes::new(["read", "write"]),
        status: Status::ACTIVE,
        created_at: T0,
        material: StoredMaterial::ApiKey {
            hint: "abcd".into(),
        },
        aliases: Vec::new(),
    }
}

fn sealed(byte: u8) -> SealedSecret {
    SealedSecret {
        key_id: "suite-key".into(),
        bytes: vec![byte; 40],
    }
}

fn smile(partner: &PartnerRecord, id: &str, name: &str) -> CredentialRecord {
    CredentialRecord {
        reference: reference(Purpose::SmileKey, id),
        material: StoredMaterial::Smile { secret: sealed(1) },
        name: name.into(),
        ..api_key(partner, id, name)
    }
}

fn expect_err<T: std::fmt::Debug>(result: Result<T, StoreError>, what: &str) -> StoreError {
    match result {
        Err(e) => e,
        Ok(v) => panic!("{what}: expected an error, got {v:?}"),
    }
}

fn assert_conflict<T: std::fmt::Debug>(result: Result<T, StoreError>, what: &str) {
    let e = expect_err(result, what);
    assert!(matches!(e, StoreError::Conflict(_)), "{what}: {e:?}");
}

fn assert_not_found<T: std::fmt::Debug>(result: Result<T, StoreError>, what: &str) {
    let e = expect_err(result, what);
    assert!(matches!(e, StoreError::NotFound(_)), "{what}: {e:?}");
}

async fn partners(store: &dyn Store, run: &str) {
    let a = partner(run, "a");
    store.create_partner(&a).await.expect("create partner");
    assert_eq!(store.partner(&a.id).await.unwrap(), Some(a.clone()));
    assert_conflict(store.create_partner(&a).await, "same partner ID twice");
    let same_name = PartnerRecord {
        id: PartnerId::new(&format!("p-{run}-other")).unwrap(),
        ..a.clone()
    };
    let e = expect_err(store.create_partner(&same_name).await, "same name twice");
    assert!(
        matches!(&e, StoreError::Conflict(m) if m.contains("name")),
        "a taken name is named: {e:?}"
    );
    assert_eq!(store.partner(&same_name.id).await.unwrap(), None);
    assert!(store.partners().await.unwrap().contains(&a));

    let suspended = PartnerRecord {
        status: PartnerStatus::Suspended,
        allowed_origins: vec![],
        name: "ignored: names are fixed".into(),
        ..a.clone()
    };
    store.update_partner(&suspended).await.unwrap();
    let read = store.partner(&a.id).await.unwrap().unwrap();
    assert_eq!(read.status, PartnerStatus::Suspended);
    assert!(read.allowed_origins.is_empty());
    assert_eq!(read.name, a.name);
    assert_not_found(
        store.update_partner(&partner(run, "nobody")).await,
        "update an unknown partner",
    );
}

async fn credentials(store: &dyn Store, run: &str) {
    let p = partner(run, "creds");
    let q = partner(run, "creds2");
    store.create_partner(&p).await.unwrap();
    store.create_partner(&q).await.unwrap();

    let key = api_key(&p, &format!("key-{run}"), "primary");
    store.insert_credential(&key).await.expect("insert api key");
    assert_eq!(
        store.credential(&key.reference).await.unwrap(),
        Some(key.clone())
    );
    // Purpose separation: the same ID under another purpose finds nothing.
    let other_purpose = CredentialRef::new(Purpose::QredoKey, key.reference.id().clone());
    assert_eq!(store.credential(&other_purpose).await.unwrap(), None);

    assert_conflict(store.insert_credential(&key).await, "same reference twice");
    let e = expect_err(
        store
            .insert_credential(&api_key(&p, &format!("key2-{run}"), "primary"))
            .await,
        "same name twice",
    );
    assert!(
        matches!(&e, StoreError::Conflict(m) if m.contains("name")),
        "{e:?}"
    );
    // Names are per partner.
    store
        .insert_credential(&api_key(&q, &format!("key3-{run}"), "primary"))
        .await
        .expect("same name, other partner");
    assert_not_found(
        store
            .insert_credential(&api_key(&partner(run, "ghost"), &format!("k4-{run}"), "x"))
            .await,
        "unknown partner",
    );

    // A JWT secret found by its kid and by its client ID (alias).
    let kid = format!("kid-{run}");
    let client = reference(Purpose::JwtClientKey, &format!("client-{run}"));
    let jwt = CredentialRecord {
        reference: reference(Purpose::JwtClientKey, &kid),
        material: StoredMaterial::JwtSecret {
            algorithm: "HS256".into(),
            secret: sealed(7),
        },
        aliases: vec![client.clone()],
        environment: Environment::Test,
        status: Status {
            not_before: Some(T0),
            expires_at: Some(at(3600)),
            revoked_at: None,
        },
        ..api_key(&p, &kid, "jwt")
    };
    store.insert_credential(&jwt).await.unwrap();
    assert_eq!(store.credential(&client).await.unwrap(), Some(jwt.clone()));
    let client_other_purpose = CredentialRef::new(Purpose::SmileKey, client.id().clone());
    assert_eq!(store.credential(&client_other_purpose).await.unwrap(), None);
    let alias_taken = CredentialRecord {
        reference: reference(Purpose::JwtClientKey, &format!("kid2-{run}")),
        name: "jwt2".into(),
        ..jwt.clone()
    };
    assert_conflict(store.insert_credential(&alias_taken).await, "alias taken");
    let reference_is_alias = CredentialRecord {
        reference: client.clone(),
        name: "jwt3".into(),
        aliases: vec![],
        ..jwt.clone()
    };
    assert_conflict(
        store.insert_credential(&reference_is_alias).await,
        "a reference equal to an alias",
    );

    // Public keys round-trip byte for byte.
    let sig = CredentialRecord {
        reference: reference(Purpose::HttpSignatureKey, &format!("sig-{run}")),
        material: StoredMaterial::HttpSignature(PublicKeyRecord {
            algorithm: "ed25519".into(),
            spki_der: (0..44).collect(),
            fingerprint: "fp".into(),
        }),
        ..api_key(&p, "unused", "sig")
    };
    store.insert_credential(&sig).await.unwrap();
    let listed = store.credentials(&p.id).await.unwrap();
    assert_eq!(
        listed,
        vec![key.clone(), jwt.clone(), sig.clone()],
        "oldest first"
    );
    assert_eq!(store.credentials(&q.id).await.unwrap().len(), 1);

    let revoked = Status {
        revoked_at: Some(at(5)),
        ..jwt.status
    };
    store.set_status(&jwt.reference, revoked).await.unwrap();
    assert_eq!(
        store
            .credential(&jwt.reference)
            .await
            .unwrap()
            .unwrap()
            .status,
        revoked
    );
    assert_not_found(
        store
            .set_status(&reference(Purpose::ApiKey, &format!("none-{run}")), revoked)
            .await,
        "status of an unknown credential",
    );
}

async fn regenerate(store: &dyn Store, run: &str) {
    let p = partner(run, "regen");
    store.create_partner(&p).await.unwrap();

    // Immediate: the old one expires now, the new one takes the name.
    let old = api_key(&p, &format!("old-{run}"), "main");
    store.insert_credential(&old).await.unwrap();
    let new = CredentialRecord {
        name: "whatever the caller put".into(),
        ..api_key(&p, &format!("new-{run}"), "main")
    };
    store
        .regenerate(&old.reference, at(10), &new)
        .await
        .unwrap();
    let old_read = store.credential(&old.reference).await.unwrap().unwrap();
    assert_eq!(old_read.status.expires_at, Some(at(10)));
    let new_read = store.credential(&new.reference).await.unwrap().unwrap();
    assert_eq!(new_read.name, "main");
    assert_conflict(
        store
            .insert_credential(&api_key(&p, &format!("third-{run}"), "main"))
            .await,
        "the replacement holds the name",
    );
    assert_conflict(
        store
            .regenerate(
                &old.reference,
                at(10),
                &api_key(&p, &format!("x-{run}"), "main"),
            )
            .await,
        "regenerating a superseded credential",
    );
    assert_not_found(
        store
            .regenerate(
                &reference(Purpose::ApiKey, &format!("missing-{run}")),
                at(10),
                &api_key(&p, &format!("y-{run}"), "y"),
            )
            .await,
        "regenerating an unknown credential",
    );
    // A failed regenerate changed nothing: the replacement of the failed call is absent.
    assert_eq!(
        store
            .credential(&api_key(&p, &format!("x-{run}"), "main").reference)
            .await
            .unwrap(),
        None
    );

    // With a grace period, the alias moves to the replacement; an earlier expiry is kept.
    let client = reference(Purpose::JwtClientKey, &format!("regen-client-{run}"));
    let jwt = |kid: &str| CredentialRecord {
        reference: reference(Purpose::JwtClientKey, kid),
        material: StoredMaterial::JwtSecret {
            algorithm: "HS256".into(),
            secret: sealed(3),
        },
        aliases: vec![client.clone()],
        status: Status {
            expires_at: Some(at(100)),
            ..Status::ACTIVE
        },
        ..api_key(&p, kid, "jwt")
    };
    let old_jwt = jwt(&format!("regen-kid1-{run}"));
    let new_jwt = jwt(&format!("regen-kid2-{run}"));
    store.insert_credential(&old_jwt).await.unwrap();
    store
        .regenerate(&old_jwt.reference, at(1000), &new_jwt)
        .await
        .unwrap();
    let old_read = store.credential(&old_jwt.reference).await.unwrap().unwrap();
    assert_eq!(
        old_read.status.expires_at,
        Some(at(100)),
        "grace never extends life"
    );
    assert!(old_read.aliases.is_empty());
    assert_eq!(
        store.credential(&client).await.unwrap().unwrap().reference,
        new_jwt.reference
    );
    let grace = CredentialRecord {
        status: Status::ACTIVE,
        aliases: vec![],
        ..jwt(&format!("regen-kid3-{run}"))
    };
    store
        .regenerate(&new_jwt.reference, at(50), &grace)
        .await
        .unwrap();
    assert_eq!(
        store
            .credential(&new_jwt.reference)
            .await
            .unwrap()
            .unwrap()
            .status
            .expires_at,
        Some(at(50))
    );
    let names: Vec<_> = store
        .credentials(&p.id)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(names, ["main", "main", "jwt", "jwt", "jwt"]);
}

async fn usage(store: &dyn Store, run: &str) {
    let a = reference(Purpose::ApiKey, &format!("usage-a-{run}"));
    let b = reference(Purpose::HttpSignatureKey, &format!("usage-b-{run}"));
    assert_eq!(store.usage(&a).await.unwrap(), Usage::default());
    let delta = |r: &CredentialRef, acc, rej, last| UsageDelta {
        reference: r.clone(),
        accepted: acc,
        rejected: rej,
        last_used: last,
    };
    store
        .record_usage(&[delta(&a, 3, 1, Some(at(20))), delta(&b, 0, 2, None)])
        .await
        .unwrap();
    store
        .record_usage(&[delta(&a, 2, 0, Some(at(10))), delta(&b, 1, 0, Some(at(5)))])
        .await
        .unwrap();
    store.record_usage(&[delta(&a, 0, 4, None)]).await.unwrap();
    assert_eq!(
        store.usage(&a).await.unwrap(),
        Usage {
            accepted: 5,
            rejected: 5,
            last_used: Some(at(20))
        }
    );
    assert_eq!(
        store.usage(&b).await.unwrap(),
        Usage {
            accepted: 1,
            rejected: 2,
            last_used: Some(at(5))
        }
    );
    store.record_usage(&[]).await.expect("an empty batch");
}

async fn admins(store: &dyn Store) {
    let before = store.admins().await.unwrap();
    let v = before.version;
    let one = vec!["0key-one".to_owned()];
    store
        .replace_admins(v, &one)
        .await
        .expect("compare-and-set");
    let now = store.admins().await.unwrap();
    assert_eq!((now.version, now.keys.clone()), (v + 1, one.clone()));
    assert_conflict(store.replace_admins(v, &[]).await, "a stale version");
    assert_eq!(
        store.admins().await.unwrap(),
        now,
        "a lost race changes nothing"
    );

    // Two concurrent enrolments from the same version: exactly one wins.
    let first = vec!["0first".to_owned()];
    let second = vec!["0second".to_owned()];
    let (r1, r2) = tokio::join!(
        store.replace_admins(v + 1, &first),
        store.replace_admins(v + 1, &second),
    );
    assert!(r1.is_ok() != r2.is_ok(), "exactly one wins: {r1:?} {r2:?}");
    let after = store.admins().await.unwrap();
    assert_eq!(after.version, v + 2);
    assert_eq!(after.keys, if r1.is_ok() { first } else { second });
}

async fn documents_and_meta(store: &dyn Store, run: &str) {
    let kind = format!("suite-{run}");
    let doc = |id: &str, n: u64| Document {
        kind: kind.clone(),
        id: id.into(),
        body: serde_json::json!({ "n": n, "nested": { "list": [1, 2] } }),
        created_at: at(n),
    };
    store.put_document(&doc("b", 1), false).await.unwrap();
    store.put_document(&doc("a", 2), false).await.unwrap();
    assert_conflict(
        store.put_document(&doc("b", 3), false).await,
        "same document twice",
    );
    assert_eq!(store.document(&kind, "b").await.unwrap(), Some(doc("b", 1)));
    store.put_document(&doc("b", 3), true).await.unwrap();
    assert_eq!(store.document(&kind, "b").await.unwrap(), Some(doc("b", 3)));
    let ids: Vec<_> = store
        .documents(&kind)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(ids, ["a", "b"], "oldest first");
    assert_eq!(store.document(&kind, "c").await.unwrap(), None);
    assert!(
        store
            .documents(&format!("{kind}-none"))
            .await
            .unwrap()
            .is_empty()
    );

    let key = format!("suite-meta-{run}");
    assert_eq!(store.meta(&key).await.unwrap(), None);
    store.set_meta(&key, b"one", true).await.unwrap();
    assert_conflict(
        store.set_meta(&key, b"two", true).await,
        "meta only if absent",
    );
    assert_eq!(store.meta(&key).await.unwrap(), Some(b"one".to_vec()));
    store.set_meta(&key, &[0, 255, 1], false).await.unwrap();
    assert_eq!(store.meta(&key).await.unwrap(), Some(vec![0, 255, 1]));
}

async fn reseal(store: &dyn Store, run: &str) {
    let p = partner(run, "reseal");
    store.create_partner(&p).await.unwrap();
    let secret = smile(&p, &format!("smile-{run}"), "smile");
    store.insert_credential(&secret).await.unwrap();
    let plain = api_key(&p, &format!("plain-{run}"), "plain");
    store.insert_credential(&plain).await.unwrap();
    let sealed_refs: Vec<_> = store
        .sealed_credentials()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.reference)
        .collect();
    assert!(sealed_refs.contains(&secret.reference));
    assert!(!sealed_refs.contains(&plain.reference));

    let meta_key = format!("suite-reseal-{run}");
    store.set_meta(&meta_key, b"old", false).await.unwrap();
    let kind = format!("suite-reseal-{run}");
    let document = Document {
        kind: kind.clone(),
        id: "d".into(),
        body: serde_json::json!({ "v": "old" }),
        created_at: T0,
    };
    store.put_document(&document, false).await.unwrap();

    let new_material = secret.material.with_sealed(sealed(9));
    let new_document = Document {
        body: serde_json::json!({ "v": "new" }),
        ..document.clone()
    };
    // One unknown credential in the batch: nothing at all changes.
    let unknown = reference(Purpose::SmileKey, &format!("smile-none-{run}"));
    assert_not_found(
        store
            .reseal(
                &[
                    (secret.reference.clone(), new_material.clone()),
                    (unknown, new_material.clone()),
                ],
                &[(meta_key.clone(), b"new".to_vec())],
                std::slice::from_ref(&new_document),
            )
            .await,
        "reseal with an unknown credential",
    );
    assert_eq!(
        store
            .credential(&secret.reference)
            .await
            .unwrap()
            .unwrap()
            .material,
        secret.material
    );
    assert_eq!(store.meta(&meta_key).await.unwrap(), Some(b"old".to_vec()));
    assert_eq!(
        store.document(&kind, "d").await.unwrap(),
        Some(document.clone())
    );

    store
        .reseal(
            &[(secret.reference.clone(), new_material.clone())],
            &[(meta_key.clone(), b"new".to_vec())],
            std::slice::from_ref(&new_document),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .credential(&secret.reference)
            .await
            .unwrap()
            .unwrap()
            .material,
        new_material
    );
    assert_eq!(store.meta(&meta_key).await.unwrap(), Some(b"new".to_vec()));
    assert_eq!(
        store.document(&kind, "d").await.unwrap(),
        Some(new_document)
    );
}
