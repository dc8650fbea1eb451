//! `authctl doctor`: checks a partner's setup against a server, one line per check: the
//! server answers, the clock skew (from its `Date` header, corrected for the round trip), the
//! local private key (file mode, format, type and size), whether the public key registered
//! under the key ID is the local key's (by RFC 7638 thumbprint through the admin API, or by a
//! signed probe that `/v1/verify` judges), and which schemes the server accepts on a path.

use super::profile::{self, Answer, ServerArgs};
use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::input;
use crate::output::{Report, Style};
use auth_core::keys::{KeyType, PrivateKey, PublicKey, SignatureAlgorithm, SigningKey};
use auth_http::client::{AuthClient, ClientAuth, HttpSignatureAuth};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Examples shown under `authctl doctor --help`.
pub(crate) const EXAMPLES: &str = "\
Examples:
  authctl doctor --server http://127.0.0.1:8080
  authctl doctor --server https://auth.example.com --key partner.pem --key-id key_abc
  authctl doctor --profile prod --key partner.pem --key-id key_abc --partner acme  # admin

Each check prints ok, warn or fail. Exit status: 0 when nothing failed, 1 when a check failed,
3 when the server cannot be reached.";

/// `authctl doctor`.
#[derive(Debug, clap::Args)]
pub(crate) struct DoctorArgs {
    /// The partner's private key to check (PEM, DER or Actyx text).
    #[arg(long, value_name = "FILE")]
    key: Option<String>,
    /// The key ID the server registered the key under.
    #[arg(long)]
    key_id: Option<String>,
    /// The partner the key belongs to: with an admin key, its registration is read through the
    /// admin API (exact match by thumbprint, status, algorithm).
    #[arg(long)]
    partner: Option<String>,
    /// The path whose accepted schemes are probed.
    #[arg(long, default_value = "/")]
    path: String,
    #[command(flatten)]
    server: ServerArgs,
}

/// A check's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Ok,
    Warn,
    Fail,
    Skip,
}

impl Verdict {
    fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Warn => "warn",
            Self::Fail => "fail",
            Self::Skip => "skip",
        }
    }

    fn style(self) -> Style {
        match self {
            Self::Ok => Style::Good,
            Self::Warn => Style::Warn,
            Self::Fail => Style::Bad,
            Self::Skip => Style::Dim,
        }
    }
}

/// One check's result.
#[derive(Debug, Clone)]
struct Check {
    name: &'static str,
    verdict: Verdict,
    message: String,
}

fn check(name: &'static str, verdict: Verdict, message: impl Into<String>) -> Check {
    Check {
        name,
        verdict,
        message: message.into(),
    }
}

/// The private key's PEM label, as people call the format.
fn key_format(bytes: &[u8]) -> &'static str {
    let text = String::from_utf8_lossy(bytes);
    if text.contains("BEGIN PRIVATE KEY") {
        "PKCS#8 PEM"
    } else if text.contains("BEGIN RSA PRIVATE KEY") {
        "PKCS#1 PEM (traditional)"
    } else if text.contains("BEGIN EC PRIVATE KEY") {
        "SEC1 PEM"
    } else if text.trim().len() == 45 && text.trim().starts_with('0') {
        "Actyx key text"
    } else {
        "DER"
    }
}

/// What a key of this type can sign, by scheme.
fn schemes_for(t: KeyType) -> &'static str {
    match t {
        KeyType::Rsa => {
            "RFC 9421 (rsa-pss-sha512, rsa-v1_5-sha256), Qredo, Altalix, JWT (RS256, PS256)"
        }
        KeyType::Ed25519 => "RFC 9421 (ed25519), JWT (EdDSA), admin requests",
        KeyType::EcP256 => "RFC 9421 (ecdsa-p256-sha256), JWT (ES256)",
        KeyType::Hmac => "HMAC schemes",
    }
}

fn rsa_bits(public: &PublicKey) -> Option<usize> {
    match public {
        PublicKey::Rsa(r) => Some(r.bits()),
        _ => None,
    }
}

/// The local key checks; answers the key when it is usable.
fn check_key(arg: &str, ctx: &Ctx, checks: &mut Vec<Check>) -> Option<PrivateKey> {
    let loaded = match input::load_private_key(arg, ctx.key_permissions) {
        Ok(k) => k,
        Err(e) => {
            checks.push(check("key", Verdict::Fail, e.to_string()));
            return None;
        }
    };
    let format = match input::Source::parse_path(arg) {
        input::Source::File(p) => input::read_file(&p, "private key", 64 * 1024)
            .map(|b| key_format(&b))
            .unwrap_or("unknown"),
        _ => "unknown",
    };
    let public = loaded.key.public_key();
    let (verdict, size) = match (loaded.key.key_type(), rsa_bits(&public)) {
        (KeyType::Rsa, Some(bits)) if bits < 3072 => (
            Verdict::Ok,
            format!("RSA {bits} bits (the minimum; 3072 is advised for new keys)"),
        ),
        (KeyType::Rsa, Some(bits)) => (Verdict::Ok, format!("RSA {bits} bits")),
        (KeyType::Ed25519, _) => (Verdict::Ok, "Ed25519".to_owned()),
        (KeyType::EcP256, _) => (Verdict::Ok, "ECDSA P-256".to_owned()),
        (t, _) => (Verdict::Warn, format!("{t:?}")),
    };
    checks.push(check(
        "key",
        verdict,
        format!(
            "{}: {size}, {format}, file mode ok; thumbprint {}; signs {}",
            loaded.origin,
            public.jwk_thumbprint(),
            schemes_for(loaded.key.key_type())
        ),
    ));
    Some(loaded.key)
}

/// The Unix time in seconds, as a float, from the system clock (never `--now`: the skew of
/// the real clock is what is checked).
fn system_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Server reachability and clock skew from `GET /healthz`.
async fn check_server(base: &str, client: &AuthClient, checks: &mut Vec<Check>) -> CliResult<()> {
    let before = system_secs();
    let started = Instant::now();
    let answer =
        profile::exchange(client, base, client.http().get(format!("{base}/healthz"))).await?;
    let rtt = started.elapsed();
    let after = system_secs();
    checks.push(check(
        "server",
        if answer.status == 200 {
            Verdict::Ok
        } else {
            Verdict::Warn
        },
        format!(
            "{base}/healthz answered {} in {} ms",
            answer.status,
            rtt.as_millis()
        ),
    ));
    let date = answer
        .headers
        .get(reqwest::header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|d| httpdate::parse_http_date(d).ok());
    let Some(date) = date else {
        checks.push(check(
            "clock",
            Verdict::Warn,
            "the server sent no Date header: skew unknown",
        ));
        return Ok(());
    };
    let server = date
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    // Date has whole seconds: the server's clock read somewhere in [server, server + 1).
    let skew = server + 0.5 - (before + after) / 2.0;
    let rounded = skew.round();
    let (verdict, advice) = match rounded.abs() {
        s if s <= 2.0 => (Verdict::Ok, "within every scheme's window"),
        s if s <= 5.0 => (
            Verdict::Warn,
            "RFC 9421 allows only 5 s ahead; fix the clock (NTP)",
        ),
        s if s <= 30.0 => (
            Verdict::Warn,
            "over RFC 9421's 5 s; Qredo and Smile allow 30 s; fix the clock (NTP)",
        ),
        _ => (
            Verdict::Fail,
            "outside Qredo's and Smile's 30 s window; signatures will be refused: fix the clock (NTP)",
        ),
    };
    let how_far = if rounded == 0.0 {
        "agrees with the server's (0 s".to_owned()
    } else {
        let dir = if skew > 0.0 { "behind" } else { "ahead of" };
        format!("is {:.0} s {dir} the server's (", rounded.abs())
    };
    checks.push(check(
        "clock",
        verdict,
        format!("this clock {how_far}, ±1 s, from its Date header); {advice}"),
    ));
    Ok(())
}

/// The registered key compared with the local one through the admin API (by thumbprint).
async fn check_registration_as_admin(
    admin: &AuthClient,
    base: &str,
    partner: &str,
    key_id: &str,
    key: &PrivateKey,
) -> CliResult<Check> {
    let mut url = reqwest::Url::parse(base)
        .map_err(|e| CliError::usage(format!("bad server URL: {e}"), ""))?;
    url.path_segments_mut()
        .map_err(|()| CliError::usage("bad server URL", ""))?
        .pop_if_empty()
        .extend(["admin", "partners", partner, "credentials"]);
    let list: Answer = profile::exchange(admin, base, admin.http().get(url))
        .await?
        .ok_or_error("list the partner's credentials")?;
    let found = list
        .body
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["key_id"].as_str() == Some(key_id))
        .cloned();
    let Some(c) = found else {
        return Ok(check(
            "registration",
            Verdict::Fail,
            format!(
                "partner {partner} has no credential with key ID {key_id}: wrong key ID, or upload the key ('authctl admin key upload')"
            ),
        ));
    };
    let local = key.public_key().jwk_thumbprint();
    let remote = c["fingerprint"].as_str().unwrap_or_default();
    let state = c["state"].as_str().unwrap_or_default();
    let summary = format!(
        "{} ({}, {}, {}, state {state})",
        c["reference"].as_str().unwrap_or_default(),
        c["purpose"].as_str().unwrap_or_default(),
        c["algorithm"].as_str().unwrap_or_default(),
        c["environment"].as_str().unwrap_or_default(),
    );
    Ok(if remote != local {
        check(
            "registration",
            Verdict::Fail,
            format!(
                "the public key registered as {key_id} is not this key's (thumbprint {remote}, this key {local}): upload this key's public half, or use the matching private key; {summary}"
            ),
        )
    } else if state != "active" {
        check(
            "registration",
            Verdict::Fail,
            format!("the key matches but the credential is not active: {summary}"),
        )
    } else {
        check(
            "registration",
            Verdict::Ok,
            format!(
                "the public key registered as {key_id} is this key's (thumbprint {local}); {summary}"
            ),
        )
    })
}

/// Asks `/v1/verify` about a request described in JSON, signed or not.
async fn ask_verify(client: &AuthClient, base: &str, question: &Value) -> CliResult<Value> {
    let rb = client
        .http()
        .post(format!("{base}/v1/verify"))
        .header("content-type", "application/json")
        .body(question.to_string());
    let answer = profile::exchange(client, base, rb).await?;
    if answer.status != 200 {
        return Err(CliError::server(
            format!("{base}/v1/verify answered {}", answer.status),
            "is this auth-verify? pass its base URL with --server",
        ));
    }
    Ok(answer.body)
}

/// The registration probed with a signed request that `/v1/verify` judges (RFC 9421 keys).
async fn check_registration_by_probe(
    base: &str,
    path: &str,
    key_id: &str,
    key: &PrivateKey,
    question_client: &AuthClient,
    ctx: &Ctx,
) -> CliResult<Check> {
    let alg = match key.key_type() {
        KeyType::Ed25519 => SignatureAlgorithm::Ed25519,
        KeyType::EcP256 => SignatureAlgorithm::EcdsaP256Sha256,
        _ => SignatureAlgorithm::RsaPssSha512,
    };
    let signer = SigningKey::new(key, alg, ctx.rng())
        .map_err(|e| CliError::core_input("the key", &e, "pass a signing key"))?;
    let auth = HttpSignatureAuth::new(key_id, signer);
    let url = format!("{base}{path}");
    let mut req = reqwest::Request::new(
        reqwest::Method::GET,
        reqwest::Url::parse(&url).map_err(|e| {
            CliError::usage(format!("bad --path: {e}"), "pass a path such as /orders")
        })?,
    );
    auth.authorize(&mut req, b"")
        .await
        .map_err(|e| CliError::input(format!("cannot sign the probe: {e}"), "check the key"))?;
    let headers = profile::with_host(profile::header_pairs(req.headers()), req.url().as_str());
    let answer = ask_verify(
        question_client,
        base,
        &json!({"method": "GET", "url": url, "headers": headers, "explain": true}),
    )
    .await?;
    if answer["ok"] == Value::Bool(true) {
        let p = &answer["principal"];
        return Ok(check(
            "registration",
            Verdict::Ok,
            format!(
                "a request signed with this key as {key_id} is accepted (partner {}, {}, scopes {})",
                p["partner"].as_str().unwrap_or_default(),
                p["environment"].as_str().unwrap_or_default(),
                Some(
                    p["scopes"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(",")
                )
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "none".to_owned())
            ),
        ));
    }
    let code = answer["explain"]["code"]
        .as_str()
        .or_else(|| answer["error"]["code"].as_str())
        .unwrap_or("unauthorized");
    let message = answer["explain"]["message"]
        .as_str()
        .or_else(|| answer["error"]["message"].as_str())
        .unwrap_or_default();
    Ok(match code {
        "unknown_key" => check(
            "registration",
            Verdict::Fail,
            format!(
                "the server knows no RFC 9421 key {key_id}: wrong key ID, or the key is registered for another purpose"
            ),
        ),
        "signature_mismatch" => check(
            "registration",
            Verdict::Fail,
            format!(
                "the key registered as {key_id} is not this key: the signature does not verify ({message})"
            ),
        ),
        "revoked_key" | "expired_key" | "not_yet_valid" => check(
            "registration",
            Verdict::Fail,
            format!("the credential {key_id} is not active: {message}"),
        ),
        _ if answer.get("explain_refused").is_some() => check(
            "registration",
            Verdict::Warn,
            format!(
                "a probe signed as {key_id} was refused ({code}), and the server explains only test credentials or admins: pass --partner with an admin key for an exact answer"
            ),
        ),
        _ => check(
            "registration",
            Verdict::Fail,
            format!("a probe signed as {key_id} was refused: {code}: {message}"),
        ),
    })
}

/// A request carrying one scheme's credential and nothing valid: (scheme, headers, URL).
struct Probe {
    scheme: &'static str,
    headers: &'static [(&'static str, &'static str)],
    url: String,
}

/// One probe per scheme for `url`.
fn scheme_probes(url: &str) -> Vec<Probe> {
    let sep = if url.contains('?') { '&' } else { '?' };
    let probe = |scheme, headers| Probe {
        scheme,
        headers,
        url: url.to_owned(),
    };
    vec![
        probe("api_key", &[("authorization", "Bearer doctor-probe")]),
        probe(
            "http_signature",
            &[
                (
                    "signature-input",
                    "sig1=(\"@method\");created=1;keyid=\"doctor-probe\"",
                ),
                ("signature", "sig1=:AAAA:"),
            ],
        ),
        probe(
            "jwt",
            &[("authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.AAAA")],
        ),
        probe(
            "qredo",
            &[
                ("x-api-key", "doctor-probe"),
                ("x-timestamp", "1"),
                ("x-sign", "AAAA"),
            ],
        ),
        probe(
            "smile",
            &[
                ("smileid-partner-id", "doctor-probe"),
                ("smileid-timestamp", "2020-01-01T00:00:00.000Z"),
                ("smileid-request-signature", "AAAA"),
            ],
        ),
        Probe {
            scheme: "altalix",
            headers: &[],
            url: format!("{url}{sep}payload=e30%3D&signature=AAAA"),
        },
    ]
}

/// Which schemes the server accepts on `path`: a probe per scheme, admin-explained when
/// possible; a scheme the route does not take is answered as if no credential was sent.
async fn check_schemes(base: &str, path: &str, client: &AuthClient) -> CliResult<Check> {
    let url = format!("{base}{path}");
    let mut accepted = Vec::new();
    let mut refused = Vec::new();
    let mut unknown = Vec::new();
    for probe in scheme_probes(&url) {
        let name = probe.scheme;
        let answer = ask_verify(
            client,
            base,
            &json!({"method": "GET", "url": probe.url, "headers": probe.headers, "explain": true}),
        )
        .await?;
        let detected = answer["explain"]["scheme"].as_str();
        let code = answer["explain"]["code"]
            .as_str()
            .or_else(|| answer["error"]["code"].as_str());
        let status = answer["status"].as_u64();
        if answer.get("explain").is_some() {
            // Explained: the server names the scheme it detected, or none when the route
            // does not take this one.
            if detected.is_some() {
                accepted.push(name);
            } else {
                refused.push(name);
            }
        } else if status == Some(400) || code == Some("malformed") {
            // A credential the route takes, read and found malformed.
            accepted.push(name);
        } else {
            unknown.push(name);
        }
    }
    let mut message = format!(
        "{path} accepts: {}",
        if accepted.is_empty() {
            "none found".to_owned()
        } else {
            accepted.join(", ")
        }
    );
    if !refused.is_empty() {
        message.push_str(&format!("; does not accept: {}", refused.join(", ")));
    }
    if !unknown.is_empty() {
        message.push_str(&format!(
            "; not accepted or not told ({}): the server explains refusals only to admins, so pass an admin key for a certain answer",
            unknown.join(", ")
        ));
    }
    Ok(check(
        "schemes",
        if accepted.is_empty() {
            Verdict::Warn
        } else {
            Verdict::Ok
        },
        message,
    ))
}

/// Runs `authctl doctor`.
pub(crate) fn run(args: DoctorArgs, ctx: &Ctx) -> CliResult {
    let target = args.server.resolve()?;
    let base = target.base.clone();
    if !args.path.starts_with('/') {
        return Err(CliError::usage(
            format!("--path {} does not start with /", args.path),
            "pass a path such as /orders",
        ));
    }
    // An existing admin key (never created here) lets the server explain and the admin API answer.
    let admin = if target.admin_key.path().exists() {
        match profile::load_admin_key(target.admin_key.path(), ctx) {
            Ok(k) => Some(k),
            Err(e) => {
                ctx.out.verbose(1, format!("not using the admin key: {e}"));
                None
            }
        }
    } else {
        None
    };
    let admin_client = match &admin {
        Some(k) => Some(profile::http_client(
            profile::admin_auth(k, ctx)?,
            profile::HTTP_TIMEOUT,
        )?),
        None => None,
    };
    let plain = profile::http_client(Arc::new(profile::NoAuth), profile::HTTP_TIMEOUT)?;
    let question_client = admin_client.as_ref().unwrap_or(&plain);
    let rt = profile::runtime()?;
    let mut checks = Vec::new();
    rt.block_on(check_server(&base, &plain, &mut checks))?;
    let key = match &args.key {
        Some(k) => check_key(k, ctx, &mut checks),
        None => {
            checks.push(check("key", Verdict::Skip, "no --key given"));
            None
        }
    };
    match (&key, &args.key_id) {
        (Some(key), Some(key_id)) => {
            let c = match (&args.partner, &admin_client) {
                (Some(partner), Some(admin)) => rt.block_on(check_registration_as_admin(
                    admin, &base, partner, key_id, key,
                ))?,
                _ => rt.block_on(check_registration_by_probe(
                    &base,
                    &args.path,
                    key_id,
                    key,
                    question_client,
                    ctx,
                ))?,
            };
            checks.push(c);
        }
        _ => checks.push(check(
            "registration",
            Verdict::Skip,
            "needs --key and --key-id",
        )),
    }
    checks.push(rt.block_on(check_schemes(&base, &args.path, question_client))?);

    let failed = checks.iter().filter(|c| c.verdict == Verdict::Fail).count();
    let mut report = Report::new("doctor")
        .field("server", base.clone())
        .field(
            "checks",
            checks
                .iter()
                .map(
                    |c| json!({"name": c.name, "status": c.verdict.as_str(), "message": c.message}),
                )
                .collect::<Vec<_>>(),
        )
        .field("ok", failed == 0);
    for c in &checks {
        report = report.styled(
            c.verdict.style(),
            format!("{:<4}  {:<12}  {}", c.verdict.as_str(), c.name, c.message),
        );
    }
    ctx.out.report(&report);
    if failed > 0 {
        return Err(CliError::verification(
            format!("{failed} check(s) failed"),
            "fix what the failed lines say, then run authctl doctor again",
        ));
    }
    Ok(())
}
