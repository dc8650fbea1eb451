//! RFC 9421 HTTP Message Signatures for requests and responses: `Signature-Input` and
//! `Signature` as structured fields, the signature base, signing, and two-phase verification
//! (`parse` gives the `keyid`, the caller resolves the key, `verify` judges) under a
//! [`VerifyPolicy`].
//!
//! The algorithm belongs to the registered key: a signature's `alg` parameter can only
//! confirm it. Supported: `rsa-pss-sha512`, `rsa-v1_5-sha256`, `hmac-sha256`,
//! `ecdsa-p256-sha256`, `ed25519`.
//!
//! The `@signature-params` line is the strict structured-field serialisation of the
//! received inner list (RFC 9421 section 3.2, step 7), which is byte-identical to the
//! received text whenever the sender serialised canonically, as the RFC examples do.

mod base;
mod component;
mod policy;
pub(crate) mod sf;

pub use base::MAX_SIGNATURE_BASE;
pub use component::{Component, ComponentName, ComponentParam, Derived, MAX_COMPONENTS};
pub use policy::{LabelSelection, NonceRequirement, TagPolicy, VerifyPolicy};

use crate::content_digest::{self, AcceptedDigests};
use crate::error::{Error, ErrorCode, Result};
use crate::keys::{SignatureAlgorithm, SigningKey, VerifyingKey};
use crate::rand::SecureRandom;
use crate::request::{Body, Message};
use crate::time::UnixTime;
use component::{check_sf_string, write_sf_string};
use std::fmt::Write as _;

/// Longest combined `Signature-Input` or `Signature` value accepted (bytes).
pub const MAX_FIELD_LEN: usize = 16 * 1024;
/// Most labelled signatures looked at in one message.
pub const MAX_LABELS: usize = 16;
/// Most parameters on one component or one signature (repeats count; the RFC registers six).
pub const MAX_PARAMETERS: usize = 16;
/// Longest signature accepted (bytes; RSA-8192).
pub const MAX_SIGNATURE_LEN: usize = 1024;
/// Largest `created`/`expires` value (the largest RFC 8941 integer).
const MAX_SF_INTEGER: i64 = 999_999_999_999_999;

/// The RFC 9421 registry name of `alg`, if it is one of the five algorithms.
pub fn algorithm_name(alg: SignatureAlgorithm) -> Option<&'static str> {
    Some(match alg {
        SignatureAlgorithm::RsaPssSha512 => "rsa-pss-sha512",
        SignatureAlgorithm::RsaPkcs1Sha256 => "rsa-v1_5-sha256",
        SignatureAlgorithm::HmacSha256 => "hmac-sha256",
        SignatureAlgorithm::EcdsaP256Sha256 => "ecdsa-p256-sha256",
        SignatureAlgorithm::Ed25519 => "ed25519",
        _ => return None,
    })
}

/// The algorithm for an RFC 9421 registry name; unknown names are
/// [`ErrorCode::UnsupportedAlgorithm`].
pub fn algorithm_from_name(name: &str) -> Result<SignatureAlgorithm> {
    Ok(match name {
        "rsa-pss-sha512" => SignatureAlgorithm::RsaPssSha512,
        "rsa-v1_5-sha256" => SignatureAlgorithm::RsaPkcs1Sha256,
        "hmac-sha256" => SignatureAlgorithm::HmacSha256,
        "ecdsa-p256-sha256" => SignatureAlgorithm::EcdsaP256Sha256,
        "ed25519" => SignatureAlgorithm::Ed25519,
        _ => {
            return Err(Error::new(
                ErrorCode::UnsupportedAlgorithm,
                "unknown RFC 9421 algorithm (expected rsa-pss-sha512, rsa-v1_5-sha256, \
                 hmac-sha256, ecdsa-p256-sha256 or ed25519)",
            ));
        }
    })
}

fn key_algorithm_name(alg: SignatureAlgorithm) -> Result<&'static str> {
    algorithm_name(alg).ok_or_else(|| {
        Error::new(
            ErrorCode::UnsupportedAlgorithm,
            format!("{alg:?} is not an RFC 9421 algorithm"),
        )
    })
}

/// The signature parameters of one signature: covered components and metadata.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SignatureParams {
    components: Vec<Component>,
    created: Option<u64>,
    expires: Option<u64>,
    nonce: Option<String>,
    alg: Option<String>,
    keyid: Option<String>,
    tag: Option<String>,
}

impl SignatureParams {
    /// The covered components, in order.
    pub fn components(&self) -> &[Component] {
        &self.components
    }

    /// `created`, seconds.
    pub fn created(&self) -> Option<UnixTime> {
        self.created.map(UnixTime::from_secs)
    }

    /// `expires`, seconds.
    pub fn expires(&self) -> Option<UnixTime> {
        self.expires.map(UnixTime::from_secs)
    }

    /// `nonce`.
    pub fn nonce(&self) -> Option<&str> {
        self.nonce.as_deref()
    }

    /// `alg` as sent (informational; the key decides).
    pub fn alg(&self) -> Option<&str> {
        self.alg.as_deref()
    }

    /// `keyid`.
    pub fn keyid(&self) -> Option<&str> {
        self.keyid.as_deref()
    }

    /// `tag`.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    fn from_raw(list: &sf::Member<'_>) -> Result<Self> {
        if list.items.len() > MAX_COMPONENTS {
            return Err(Error::new(
                ErrorCode::TooLarge,
                format!("a signature may cover at most {MAX_COMPONENTS} components"),
            ));
        }
        let mut components = Vec::with_capacity(list.items.len());
        for item in &list.items {
            let c = Component::from_raw(item)?;
            if components.iter().any(|p: &Component| p.same_as(&c)) {
                return Err(Error::malformed(format!(
                    "component {} is covered twice",
                    c.identifier()
                )));
            }
            components.push(c);
        }
        let mut p = Self {
            components,
            ..Self::default()
        };
        for (k, v) in &list.params {
            let k = *k;
            let int = || match v.as_integer() {
                Some(n) if n >= 0 => Ok(n as u64),
                _ => Err(Error::malformed(format!(
                    "signature parameter {k} must be a non-negative integer"
                ))),
            };
            let text = || match v.as_string() {
                Some(s) => Ok(s.into_owned()),
                None => Err(Error::malformed(format!(
                    "signature parameter {k} must be a quoted string"
                ))),
            };
            match k {
                "created" => p.created = Some(int()?),
                "expires" => p.expires = Some(int()?),
                "nonce" => p.nonce = Some(text()?),
                "alg" => p.alg = Some(text()?),
                "keyid" => p.keyid = Some(text()?),
                "tag" => p.tag = Some(text()?),
                // Unregistered parameters are covered by @signature-params and otherwise ignored.
                _ => {}
            }
        }
        Ok(p)
    }

    /// The strict serialisation `("@method" ...);created=...` in the order
    /// created, expires, keyid, alg, nonce, tag (the order of the RFC's examples).
    fn serialize(&self) -> String {
        let mut s = String::with_capacity(64 + 24 * self.components.len());
        s.push('(');
        for (i, c) in self.components.iter().enumerate() {
            if i > 0 {
                s.push(' ');
            }
            c.write_identifier(&mut s);
        }
        s.push(')');
        if let Some(t) = self.created {
            let _ = write!(s, ";created={t}");
        }
        if let Some(t) = self.expires {
            let _ = write!(s, ";expires={t}");
        }
        for (name, value) in [
            ("keyid", &self.keyid),
            ("alg", &self.alg),
            ("nonce", &self.nonce),
            ("tag", &self.tag),
        ] {
            if let Some(v) = value {
                s.push(';');
                s.push_str(name);
                s.push('=');
                write_sf_string(v, &mut s);
            }
        }
        s
    }
}

/// Whether a signer writes the `alg` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AlgParameter {
    /// Leave it out (the RFC's recommendation: the verifier knows the key's algorithm).
    #[default]
    Omit,
    /// Write the key's algorithm name.
    Include,
}

/// What to sign: the label, covered components and signature parameters.
#[derive(Debug, Clone)]
pub struct SignatureSpec {
    label: String,
    params: SignatureParams,
    alg: AlgParameter,
}

impl SignatureSpec {
    /// A signature labelled `label` (a structured-field key such as `sig1`) covering
    /// `components`, created at `created`.
    pub fn new(label: &str, components: Vec<Component>, created: UnixTime) -> Result<Self> {
        if sfv::KeyRef::from_str(label).is_err() {
            return Err(Error::malformed(
                "a signature label must be a lowercase structured-field key",
            ));
        }
        if components.len() > MAX_COMPONENTS {
            return Err(Error::new(
                ErrorCode::TooLarge,
                "too many covered components",
            ));
        }
        Ok(Self {
            label: label.to_owned(),
            params: SignatureParams {
                components,
                created: Some(created.as_secs()),
                ..SignatureParams::default()
            },
            alg: AlgParameter::Omit,
        })
    }

    /// Sets `expires`.
    pub fn expires(mut self, t: UnixTime) -> Self {
        self.params.expires = Some(t.as_secs());
        self
    }

    /// Leaves out `created` (some peers and the RFC's examples do).
    pub fn without_created(mut self) -> Self {
        self.params.created = None;
        self
    }

    /// Sets `keyid`.
    pub fn keyid(mut self, keyid: &str) -> Result<Self> {
        check_sf_string(keyid, "keyid")?;
        self.params.keyid = Some(keyid.to_owned());
        Ok(self)
    }

    /// Sets `nonce` (draw it from a [`SecureRandom`], e.g. 16 bytes as Base64url).
    pub fn nonce(mut self, nonce: &str) -> Result<Self> {
        check_sf_string(nonce, "nonce")?;
        self.params.nonce = Some(nonce.to_owned());
        Ok(self)
    }

    /// Sets `tag`.
    pub fn tag(mut self, tag: &str) -> Result<Self> {
        check_sf_string(tag, "tag")?;
        self.params.tag = Some(tag.to_owned());
        Ok(self)
    }

    /// Chooses whether to write `alg`.
    pub fn alg_parameter(mut self, alg: AlgParameter) -> Self {
        self.alg = alg;
        self
    }

    /// The parameters this spec signs with `key_alg`.
    fn params_for(&self, key_alg: SignatureAlgorithm) -> Result<SignatureParams> {
        let mut p = self.params.clone();
        if self.alg == AlgParameter::Include {
            p.alg = Some(key_algorithm_name(key_alg)?.to_owned());
        }
        for t in [p.created, p.expires].into_iter().flatten() {
            if t > MAX_SF_INTEGER as u64 {
                return Err(Error::malformed("a signature time is out of range"));
            }
        }
        Ok(p)
    }
}

/// The two header members a signer adds. If the message already has `Signature-Input` /
/// `Signature` fields, append these members after `", "` (or send them as extra lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedFields {
    /// The `Signature-Input` member, `sig1=("@method" ...);created=...`.
    pub signature_input: String,
    /// The `Signature` member, `sig1=:base64:`.
    pub signature: String,
}

/// The signature base a spec produces for `msg` with a key of algorithm `key_alg`.
pub fn signature_base_for_spec(
    msg: &Message<'_>,
    spec: &SignatureSpec,
    key_alg: SignatureAlgorithm,
) -> Result<String> {
    let params = spec.params_for(key_alg)?;
    let mut out = String::new();
    base::write_base(msg, &params.components, &params.serialize(), &mut out)?;
    Ok(out)
}

/// Signs `msg` as `spec` says with `key`.
pub fn sign(
    msg: &Message<'_>,
    spec: &SignatureSpec,
    key: &SigningKey,
    rng: &dyn SecureRandom,
) -> Result<SignedFields> {
    key_algorithm_name(key.algorithm())?;
    let params = spec.params_for(key.algorithm())?;
    let text = params.serialize();
    let mut base_buf = String::with_capacity(512);
    base::write_base(msg, &params.components, &text, &mut base_buf)?;
    let sig = key.sign(base_buf.as_bytes(), rng)?;
    Ok(SignedFields {
        signature_input: format!("{}={text}", spec.label),
        signature: format!("{}=:{}:", spec.label, crate::encoding::b64_encode(&sig)),
    })
}

/// One signature pulled out of a message, not yet verified: use [`ParsedSignature::keyid`]
/// to look the key up, then [`verify`].
#[derive(Debug, Clone)]
pub struct ParsedSignature {
    label: String,
    params: SignatureParams,
    params_text: String,
    signature: Vec<u8>,
}

impl ParsedSignature {
    /// The label (`sig1`).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The `keyid` parameter: the key to resolve. `None` when the signer sent none.
    pub fn keyid(&self) -> Option<&str> {
        self.params.keyid()
    }

    /// The parsed signature parameters.
    pub fn params(&self) -> &SignatureParams {
        &self.params
    }

    /// The `@signature-params` value used in the signature base.
    pub fn signature_params_text(&self) -> &str {
        &self.params_text
    }

    /// The signature bytes.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// Rebuilds the signature base for `msg` (for diagnostics and tests).
    pub fn signature_base(&self, msg: &Message<'_>) -> Result<String> {
        let mut out = String::new();
        base::write_base(msg, &self.params.components, &self.params_text, &mut out)?;
        Ok(out)
    }
}

fn combined_field<'m>(
    msg: &Message<'m>,
    name: &str,
    buf: &'m mut String,
) -> Result<Option<&'m str>> {
    let headers = msg.headers();
    let mut it = headers.get_all(name);
    let Some(first) = it.next() else {
        return Ok(None);
    };
    let Some(second) = it.next() else {
        if first.len() > MAX_FIELD_LEN {
            return Err(Error::new(
                ErrorCode::TooLarge,
                format!("{name} is too long"),
            ));
        }
        return Ok(Some(first));
    };
    buf.push_str(first);
    for v in std::iter::once(second).chain(it) {
        buf.push_str(", ");
        buf.push_str(v);
        if buf.len() > MAX_FIELD_LEN {
            return Err(Error::new(
                ErrorCode::TooLarge,
                format!("{name} is too long"),
            ));
        }
    }
    Ok(Some(buf.as_str()))
}

/// The bounds of `Signature-Input` and `Signature`, enforced while parsing.
const FIELD_LIMITS: sf::Limits = sf::Limits {
    bytes: MAX_FIELD_LEN,
    members: MAX_LABELS,
    items: MAX_COMPONENTS,
    params: MAX_PARAMETERS,
};

fn parse_dict<'t>(text: &'t str, name: &str) -> Result<Vec<sf::Member<'t>>> {
    sf::parse_dict(text, FIELD_LIMITS).map_err(|e| {
        let too_large = |m: String| Error::new(ErrorCode::TooLarge, m);
        match e {
            sf::SfError::Invalid => {
                Error::malformed(format!("{name} is not a valid structured-field dictionary"))
            }
            sf::SfError::TooLarge(sf::Bound::Bytes) => {
                too_large(format!("{name} is longer than {MAX_FIELD_LEN} bytes"))
            }
            sf::SfError::TooLarge(sf::Bound::Members) => too_large(format!(
                "{name} has more than {MAX_LABELS} members (repeated labels count)"
            )),
            sf::SfError::TooLarge(sf::Bound::Items) => too_large(format!(
                "a signature may cover at most {MAX_COMPONENTS} components"
            )),
            sf::SfError::TooLarge(sf::Bound::Params) => too_large(format!(
                "a parameter list in {name} has more than {MAX_PARAMETERS} parameters"
            )),
        }
    })
}

fn tag_of<'a>(entry: &sf::Member<'a>) -> Option<std::borrow::Cow<'a, str>> {
    if !entry.inner_list {
        return None;
    }
    entry.param("tag").and_then(sf::Bare::as_string)
}

/// Parses a list of covered component identifiers written as in `Signature-Input`, with or
/// without the parentheses: `"@method" "@target-uri" "content-digest";sf` (for tools that
/// take the components a person wants signed).
pub fn parse_components(text: &str) -> Result<Vec<Component>> {
    let trimmed = text.trim();
    let list = if trimmed.starts_with('(') {
        format!("c={trimmed}")
    } else {
        format!("c=({trimmed})")
    };
    let members = parse_dict(&list, "the component list")?;
    match members.as_slice() {
        [only] if only.inner_list && only.params.is_empty() => {
            only.items.iter().map(Component::from_raw).collect()
        }
        _ => Err(Error::malformed(
            "the component list must be quoted identifiers such as \"@method\" \"content-digest\"",
        )),
    }
}

/// Every signature label in the message's `Signature-Input`, in order.
pub fn labels(msg: &Message<'_>) -> Result<Vec<String>> {
    let mut buf = String::new();
    let Some(text) = combined_field(msg, "signature-input", &mut buf)? else {
        return Ok(Vec::new());
    };
    Ok(parse_dict(text, "Signature-Input")?
        .iter()
        .map(|m| m.key.to_owned())
        .collect())
}

/// Phase one: finds the signature the policy selects and parses it. No key is needed.
pub fn parse(msg: &Message<'_>, policy: &VerifyPolicy) -> Result<ParsedSignature> {
    let mut buf_in = String::new();
    let input_text = combined_field(msg, "signature-input", &mut buf_in)?.ok_or_else(|| {
        Error::new(
            ErrorCode::Unauthorized,
            "the message carries no Signature-Input header; sign it (RFC 9421)",
        )
    })?;
    let mut buf_sig = String::new();
    let sig_text = combined_field(msg, "signature", &mut buf_sig)?.ok_or_else(|| {
        Error::new(
            ErrorCode::Unauthorized,
            "the message carries Signature-Input but no Signature header",
        )
    })?;
    let inputs = parse_dict(input_text, "Signature-Input")?;
    let entry =
        match policy.label() {
            LabelSelection::Named(want) => inputs
                .iter()
                .find(|m| m.key == want.as_str())
                .ok_or_else(|| {
                    Error::new(
                        ErrorCode::Unauthorized,
                        format!("no signature labelled {want} in Signature-Input"),
                    )
                })?,
            LabelSelection::FirstAllowed => inputs
                .iter()
                .find(|m| policy.tags().allows(tag_of(m).as_deref()))
                .ok_or_else(|| {
                    Error::new(
                        ErrorCode::Unauthorized,
                        "no signature in Signature-Input carries an allowed tag",
                    )
                })?,
        };
    let label = entry.key;
    if !entry.inner_list {
        return Err(Error::malformed(format!(
            "Signature-Input member {label} must be an inner list"
        )));
    }
    let params = SignatureParams::from_raw(entry)?;
    let mut params_text = String::with_capacity(entry.text.len());
    sf::write_member_value(input_text, entry, &mut params_text).map_err(|_| {
        Error::malformed("Signature-Input is not a valid structured-field dictionary")
    })?;

    let mut sigs = parse_dict(sig_text, "Signature")?;
    let at = sigs.iter().position(|m| m.key == label).ok_or_else(|| {
        Error::malformed(format!(
            "Signature has no member {label} matching Signature-Input"
        ))
    })?;
    let signature = sigs
        .swap_remove(at)
        .into_item()
        .and_then(|i| i.bare.into_bytes())
        .ok_or_else(|| {
            Error::malformed(format!("Signature member {label} must be a byte sequence"))
        })?;
    if signature.is_empty() || signature.len() > MAX_SIGNATURE_LEN {
        return Err(Error::malformed("the signature has an impossible length"));
    }
    Ok(ParsedSignature {
        label: label.to_owned(),
        params,
        params_text,
        signature,
    })
}

/// How the body was bound by a verified signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyCheck {
    /// The message has no body.
    NoBody,
    /// `content-digest` is covered and matches the body.
    DigestVerified,
    /// `content-digest` is covered; the body is streamed, so the caller must check it with
    /// [`content_digest::DigestVerifier`] and reject the message on mismatch.
    DigestDeferred,
    /// The body is not bound by the signature (only possible with
    /// [`VerifyPolicy::danger_require_only`]).
    NotCovered,
}

/// A verified signature's facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified<'p> {
    /// The label verified.
    pub label: &'p str,
    /// The `keyid`.
    pub keyid: Option<&'p str>,
    /// `created`.
    pub created: Option<UnixTime>,
    /// `expires`.
    pub expires: Option<UnixTime>,
    /// The nonce, to be checked against a replay cache (scope it by key ID:
    /// [`crate::replay::ReplayKey`]).
    pub nonce: Option<&'p str>,
    /// The `tag`.
    pub tag: Option<&'p str>,
    /// How the body was bound.
    pub body: BodyCheck,
    /// SHA-256 over `keyid` and the signature base (see [`Self::content_digest_for_replay`]).
    content_digest: [u8; 32],
}

impl Verified<'_> {
    /// The replay identifier of what was signed: SHA-256 over the `keyid` and the signature
    /// base. Use it when the signature carries no nonce. It does not depend on the
    /// signature's bytes, which are not unique: ECDSA's `(r, n - s)` verifies as well as
    /// `(r, s)`, and PSS and ECDSA sign the same base differently every time. So every valid
    /// signature over one message maps here, and a store that records it for
    /// [`VerifyPolicy::replay_window`] accepts that message once; a legitimate retry signs
    /// again with a new `created` (or a nonce).
    pub fn content_digest_for_replay(&self) -> [u8; 32] {
        self.content_digest
    }
}

/// SHA-256 over a domain label, the `keyid` (length-prefixed; absent differs from empty) and
/// the signature base.
fn content_digest(keyid: Option<&str>, base: &[u8]) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(b"partner-auth rfc9421 replay\0");
    match keyid {
        None => ctx.update(&[0]),
        Some(k) => {
            ctx.update(&[1]);
            ctx.update(&(k.len() as u64).to_be_bytes());
            ctx.update(k.as_bytes());
        }
    }
    ctx.update(base);
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// Phase two: checks `parsed` against `msg` with the resolved `key` under `policy` at `now`.
pub fn verify<'p>(
    msg: &Message<'_>,
    parsed: &'p ParsedSignature,
    key: &VerifyingKey,
    policy: &VerifyPolicy,
    now: UnixTime,
) -> Result<Verified<'p>> {
    let mut buf = String::new();
    verify_with_buffer(msg, parsed, key, policy, now, &mut buf)
}

/// [`verify`] building the signature base in `buf` (reuse it across calls to avoid
/// allocating).
pub fn verify_with_buffer<'p>(
    msg: &Message<'_>,
    parsed: &'p ParsedSignature,
    key: &VerifyingKey,
    policy: &VerifyPolicy,
    now: UnixTime,
    buf: &mut String,
) -> Result<Verified<'p>> {
    let p = &parsed.params;
    let key_alg = key.algorithm();
    let key_name = key_algorithm_name(key_alg)?;
    if let Some(claimed) = p.alg() {
        let claimed_alg = algorithm_from_name(claimed)?;
        if claimed_alg != key_alg {
            return Err(Error::new(
                ErrorCode::UnsupportedAlgorithm,
                format!(
                    "the signature claims alg {claimed} but the key is registered for {key_name}"
                ),
            ));
        }
    }
    if !policy.tags().allows(p.tag()) {
        return Err(Error::new(
            ErrorCode::Unauthorized,
            "the signature's tag is not allowed here",
        ));
    }
    if let Some(missing) = policy.missing(msg, &p.components) {
        return Err(Error::new(
            ErrorCode::MissingComponent,
            format!("the signature must cover {missing}"),
        ));
    }
    check_times(p, policy, now)?;
    if policy.nonce() == NonceRequirement::Required && p.nonce.is_none() {
        return Err(Error::new(
            ErrorCode::MissingComponent,
            "the signature must carry a nonce parameter",
        ));
    }
    base::write_base(msg, &p.components, &parsed.params_text, buf)?;
    key.verify(buf.as_bytes(), &parsed.signature)?;
    let content_digest = content_digest(p.keyid(), buf.as_bytes());

    let digest_covered = p.components.iter().any(|c| {
        !c.is_req() && matches!(c.name(), ComponentName::Field(f) if f == "content-digest")
    });
    let body = match (msg.body(), digest_covered) {
        (Body::Empty, _) => BodyCheck::NoBody,
        (_, false) => BodyCheck::NotCovered,
        (Body::Streamed, true) => BodyCheck::DigestDeferred,
        (Body::Bytes(bytes), true) => {
            let field = msg.headers().get_one("content-digest")?.ok_or_else(|| {
                Error::new(ErrorCode::MissingComponent, "Content-Digest is absent")
            })?;
            content_digest::verify(field, bytes, AcceptedDigests::default())?;
            BodyCheck::DigestVerified
        }
    };
    Ok(Verified {
        label: &parsed.label,
        keyid: p.keyid(),
        created: p.created(),
        expires: p.expires(),
        nonce: p.nonce(),
        tag: p.tag(),
        body,
        content_digest,
    })
}

fn check_times(p: &SignatureParams, policy: &VerifyPolicy, now: UnixTime) -> Result<()> {
    let created = p.created().ok_or_else(|| {
        Error::new(
            ErrorCode::MissingComponent,
            "the signature must carry a created parameter",
        )
    })?;
    crate::replay::check_fresh(created, now, policy.window())?;
    if let Some(expires) = p.expires() {
        if expires < created {
            return Err(Error::malformed(
                "the signature expires before it was created",
            ));
        }
        if now.saturating_sub(policy.clock_skew()) > expires {
            return Err(Error::new(
                ErrorCode::StaleTimestamp,
                "the signature has expired (expires parameter)",
            ));
        }
    }
    Ok(())
}

/// Both phases with a key lookup: `lookup` gets the `keyid` and returns the registered key,
/// or `None`, which is reported as [`ErrorCode::UnknownKey`].
pub fn verify_with_lookup<'k>(
    msg: &Message<'_>,
    policy: &VerifyPolicy,
    now: UnixTime,
    lookup: impl FnOnce(Option<&str>) -> Option<&'k VerifyingKey>,
) -> Result<ParsedSignature> {
    let parsed = parse(msg, policy)?;
    let key = lookup(parsed.keyid()).ok_or_else(|| {
        Error::new(
            ErrorCode::UnknownKey,
            "no key is registered under the signature's keyid",
        )
    })?;
    verify(msg, &parsed, key, policy, now)?;
    Ok(parsed)
}
