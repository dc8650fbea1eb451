//! `authctl request`: a curl-like command that sends one real HTTP request signed with any
//! scheme (API key, RFC 9421 with Content-Digest, Qredo, Altalix, Smile, JWT) through
//! auth-http's client, and prints the response. `-v` shows what was sent and the exact bytes
//! that were signed (never a secret). When the server refuses the credential, it names the
//! most likely cause (clock skew measured from the server's `Date`, a wrong key ID, a missing
//! component, ...); with `--explain` it asks auth-verify's `/v1/verify` to explain the same
//! request and shows the server's signature base next to its own.
//!
//! Signing is auth-core's and auth-http's: the RFC 9421 signer here only chooses components
//! and keeps the signature base auth-core computed; the other schemes are auth-http's signers,
//! and what they signed is read back from the headers they set.

use super::admin::{KeyPurposeArg, default_algorithm};
use super::common;
use super::profile::{self, NoAuth, ServerArgs};
use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::input;
use crate::output::Report;
use auth_core::UnixTime;
use auth_core::content_digest::{self, DigestAlgorithm};
use auth_core::keys::{HmacSecret, KeyType, PrivateKey, SignatureAlgorithm, SigningKey};
use auth_core::rand::SystemRandom;
use auth_core::request::{Body, Headers, Message, Request, TargetUri};
use auth_core::scheme::{altalix, jwt, qredo, rfc9421, smile};
use auth_http::BoxFuture;
use auth_http::client::{
    AfterUnauthorized, ApiKeyAuth, ApiKeyPlacement, ClientAuth, ClientError, JwtAuth, QredoAuth,
    QredoFreshness, SmileAuth, SmilePlacement,
};
use auth_http::clock::Clock;
use serde_json::{Value, json};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Examples shown under `authctl request --help`.
pub(crate) const EXAMPLES: &str = "\
Examples:
  authctl request https://api.example.com/orders --scheme api-key --api-key @acme.key
  authctl request -X POST http://127.0.0.1:8080/api/auth/sessions -d '{\"scopes\":[]}' \\
      -H 'content-type: application/json' --scheme rfc9421 --key partner.pem --key-id key_abc -v
  authctl request https://api.example.com/orders --scheme qredo --key rsa.pem \\
      --api-key env:QREDO_KEY
  authctl request https://api.example.com/x --scheme jwt --client-id acme --secret @jwt.secret
  authctl request https://api.example.com/x --scheme smile --partner-id smile_abc \\
      --secret @smile.key
  authctl request https://altalix.example/partners/transaction-create --scheme altalix \\
      --key rsa.pem --key-id key_abc --partner-id acme --altalix-order @order.json
  authctl request ... --components '\"@method\" \"@target-uri\"' --expires 60s
  authctl request ... --explain      # on a refusal, ask auth-verify's /v1/verify why

Exit status: 0 for a 2xx or 3xx answer, 1 when the server refused the credential (401, 403),
2 for bad flags or inputs and for a request the server calls malformed (400, 413, 422),
3 for any other error status or no answer.
Secrets (--api-key, --secret) come from @FILE, env:NAME or - (stdin), never from the argument.";

/// How the request is authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum SchemeArg {
    /// No credential.
    None,
    /// An API key (Authorization: Bearer, or x-api-key).
    ApiKey,
    /// RFC 9421 HTTP message signature (with Content-Digest over a body).
    #[value(alias = "http-signature")]
    Rfc9421,
    /// Qredo x-api-key / x-timestamp / x-sign.
    Qredo,
    /// Altalix signed payload URL (?payload=...&signature=...).
    Altalix,
    /// Smile signature (smileid-* headers or JSON body fields).
    Smile,
    /// A JWT partner token (Authorization: Bearer), minted here.
    Jwt,
}

impl SchemeArg {
    fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::ApiKey => "api-key",
            Self::Rfc9421 => "rfc9421",
            Self::Qredo => "qredo",
            Self::Altalix => "altalix",
            Self::Smile => "smile",
            Self::Jwt => "jwt",
        }
    }

    /// How far the server's clock may be from the signing time before a signature of this
    /// scheme is stale or early, by auth-verify's defaults: (seconds old, seconds ahead).
    fn freshness_window(self) -> Option<(i64, i64)> {
        match self {
            Self::Rfc9421 => Some((300, 5)),
            Self::Qredo => Some((30, 30)),
            Self::Smile | Self::Altalix => Some((300, 30)),
            Self::Jwt => Some((15 * 60 + 30, 30)),
            Self::None | Self::ApiKey => None,
        }
    }
}

/// Where an API key goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ApiKeyHeaderArg {
    /// Authorization: Bearer KEY.
    Bearer,
    /// x-api-key: KEY.
    XApiKey,
}

/// Where the Smile signature goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum SmilePlacementArg {
    /// smileid-partner-id, smileid-timestamp, smileid-request-signature headers.
    Headers,
    /// partner_id, timestamp, signature fields merged into the JSON body.
    Body,
}

/// `authctl request`.
#[derive(Debug, clap::Args)]
pub(crate) struct RequestArgs {
    /// The URL to call.
    url: String,
    /// HTTP method (default: GET, or POST with --data).
    #[arg(short = 'X', long)]
    method: Option<String>,
    /// A header field, "Name: value"; repeatable.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    headers: Vec<String>,
    /// The body: text, @FILE, or - for stdin.
    #[arg(short = 'd', long = "data", value_name = "DATA")]
    data: Option<String>,
    /// How to authenticate the request.
    #[arg(long, value_enum, default_value_t = SchemeArg::None)]
    scheme: SchemeArg,
    /// The private key that signs (rfc9421, qredo, altalix, jwt): PEM, DER or Actyx text.
    #[arg(long, value_name = "FILE")]
    key: Option<String>,
    /// The key ID the server registered the key under (rfc9421 keyid, altalix key_id, jwt kid).
    #[arg(long, visible_alias = "keyid")]
    key_id: Option<String>,
    /// The API key (api-key, qredo): @FILE, env:NAME or - (default: env AUTHCTL_API_KEY).
    #[arg(long, value_name = "SOURCE")]
    api_key: Option<String>,
    /// Where the API key goes.
    #[arg(long, value_enum, default_value_t = ApiKeyHeaderArg::Bearer)]
    api_key_header: ApiKeyHeaderArg,
    /// The shared secret (jwt HS256 client secret, smile key): @FILE, env:NAME or -
    /// (default: env AUTHCTL_SECRET).
    #[arg(long, value_name = "SOURCE")]
    secret: Option<String>,
    /// The algorithm (rfc9421: ed25519, ecdsa-p256-sha256, rsa-pss-sha512, rsa-v1_5-sha256;
    /// jwt: RS256, PS256, ES256, EdDSA, HS256, ...) (default: from the key).
    #[arg(long)]
    alg: Option<String>,
    /// rfc9421: the covered components as in Signature-Input, e.g. '"@method" "@path"'
    /// (default: "@method" "@authority" "@path" "@query", and "content-digest" with a body).
    #[arg(long, value_name = "LIST")]
    components: Option<String>,
    /// rfc9421: add `expires` = created + this duration (30s, 5m).
    #[arg(long, value_name = "DURATION")]
    expires: Option<String>,
    /// jwt: the clientId claim.
    #[arg(long)]
    client_id: Option<String>,
    /// smile: the partner ID (the key ID the server issued); altalix: the partner ID.
    #[arg(long)]
    partner_id: Option<String>,
    /// smile: where the signature goes.
    #[arg(long, value_enum, default_value_t = SmilePlacementArg::Headers)]
    smile_placement: SmilePlacementArg,
    /// altalix: the order as JSON (sell_currency, buy_currency, address, and sell_amount or
    /// buy_amount): text, @FILE or -.
    #[arg(long, value_name = "ORDER")]
    altalix_order: Option<String>,
    /// qredo: send x-nonce (this value) instead of x-timestamp.
    #[arg(long, value_name = "N")]
    qredo_nonce: Option<u64>,
    /// Print the status line and response headers before the body.
    #[arg(short = 'i', long)]
    include: bool,
    /// When the server refuses the credential, ask auth-verify's /v1/verify to explain it
    /// (given to admins, and to anyone for test credentials).
    #[arg(long)]
    explain: bool,
    /// Seconds to wait for the answer.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    timeout: u64,
    /// With --explain: the auth-verify to ask (default: the request URL's origin); its admin
    /// key, when one is configured, signs the question so live credentials are explained too.
    #[command(flatten)]
    server: ServerArgs,
}

/// A fixed clock: the time `authctl` signs at (`--now` or the system clock, read once).
#[derive(Debug, Clone, Copy)]
struct SigningClock(UnixTime);

impl Clock for SigningClock {
    fn now(&self) -> UnixTime {
        self.0
    }
}

/// The request as it left, after the credentials were added.
#[derive(Debug, Clone, Default)]
struct Sent {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Sent {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Header fields whose values are credentials: never printed.
const SECRET_HEADERS: [&str; 4] = [
    "authorization",
    "x-api-key",
    "cookie",
    "proxy-authorization",
];

fn redacted(name: &str, value: &str) -> String {
    if SECRET_HEADERS.contains(&name) {
        match value.split_once(' ') {
            Some((kind, _)) if name.ends_with("authorization") => format!("{kind} [redacted]"),
            _ => "[redacted]".to_owned(),
        }
    } else {
        value.to_owned()
    }
}

/// Wraps a scheme's signer and keeps a copy of the request it authorized.
struct Recorder {
    inner: Arc<dyn ClientAuth>,
    sent: Mutex<Option<Sent>>,
}

impl ClientAuth for Recorder {
    fn authorize<'a>(
        &'a self,
        req: &'a mut reqwest::Request,
        body: &'a [u8],
    ) -> BoxFuture<'a, Result<(), ClientError>> {
        Box::pin(async move {
            self.inner.authorize(req, body).await?;
            let headers = profile::header_pairs(req.headers());
            // Smile's body placement rewrites the body: record what is sent.
            let body = req
                .body()
                .and_then(reqwest::Body::as_bytes)
                .map_or_else(|| body.to_vec(), <[u8]>::to_vec);
            if let Ok(mut slot) = self.sent.lock() {
                *slot = Some(Sent {
                    method: req.method().as_str().to_owned(),
                    url: req.url().as_str().to_owned(),
                    headers,
                    body,
                });
            }
            Ok(())
        })
    }

    fn on_unauthorized<'a>(
        &'a self,
        sent: &'a http::HeaderMap,
        response: &'a reqwest::Response,
    ) -> BoxFuture<'a, AfterUnauthorized> {
        self.inner.on_unauthorized(sent, response)
    }
}

/// RFC 9421 with the components the user chose; keeps the signature base auth-core built.
struct Rfc9421Signer {
    key_id: String,
    key: SigningKey,
    /// `None`: the default set, with content-digest when there is a body.
    components: Option<Vec<rfc9421::Component>>,
    created: UnixTime,
    expires: Option<Duration>,
    rng: SystemRandom,
    base: Mutex<Option<String>>,
}

impl Rfc9421Signer {
    fn sign(&self, req: &mut reqwest::Request, body: &[u8]) -> Result<(), auth_core::Error> {
        let components = match &self.components {
            Some(list) => list.clone(),
            None => {
                let mut list = vec![
                    rfc9421::Component::method(),
                    rfc9421::Component::authority(),
                    rfc9421::Component::path(),
                    rfc9421::Component::query(),
                ];
                if !body.is_empty() {
                    list.push(rfc9421::Component::field("content-digest")?);
                }
                list
            }
        };
        if components
            .iter()
            .any(|c| c.identifier() == "\"content-digest\"")
        {
            let digest = content_digest::create(body, DigestAlgorithm::Sha256);
            insert_header(req, "content-digest", &digest)?;
        }
        let nonce = auth_core::encoding::b64url_encode(&auth_core::rand::bytes::<16>(&self.rng)?);
        let mut spec = rfc9421::SignatureSpec::new("sig1", components, self.created)?
            .keyid(&self.key_id)?
            .nonce(&nonce)?;
        if let Some(d) = self.expires {
            spec = spec.expires(self.created.saturating_add(d));
        }
        let url = req.url().as_str().to_owned();
        let method = req.method().as_str().to_owned();
        let fields: Vec<(String, String)> = req
            .headers()
            .iter()
            .filter_map(|(k, v)| {
                v.to_str()
                    .ok()
                    .map(|v| (k.as_str().to_owned(), v.to_owned()))
            })
            .collect();
        let borrowed: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let view = Request::new(
            &method,
            TargetUri::parse(&url)?,
            Headers::new(&borrowed),
            Body::from_bytes(body),
        )?;
        let msg = Message::Request(&view);
        let base = rfc9421::signature_base_for_spec(&msg, &spec, self.key.algorithm())?;
        let signed = rfc9421::sign(&msg, &spec, &self.key, &self.rng)?;
        insert_header(req, "signature-input", &signed.signature_input)?;
        insert_header(req, "signature", &signed.signature)?;
        if let Ok(mut slot) = self.base.lock() {
            *slot = Some(base);
        }
        Ok(())
    }
}

fn insert_header(
    req: &mut reqwest::Request,
    name: &str,
    value: &str,
) -> Result<(), auth_core::Error> {
    let name = http::HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| auth_core::Error::malformed("a header name is invalid"))?;
    let value = http::HeaderValue::from_str(value)
        .map_err(|_| auth_core::Error::malformed("a header value is invalid"))?;
    req.headers_mut().insert(name, value);
    Ok(())
}

impl ClientAuth for Rfc9421Signer {
    fn authorize<'a>(
        &'a self,
        req: &'a mut reqwest::Request,
        body: &'a [u8],
    ) -> BoxFuture<'a, Result<(), ClientError>> {
        Box::pin(async move { self.sign(req, body).map_err(ClientError::Auth) })
    }
}

/// What `authctl` prepared: the signer, the URL to call, and how to show what was signed.
struct Prepared {
    auth: Arc<dyn ClientAuth>,
    url: String,
    key_id: Option<String>,
    rfc9421: Option<Arc<Rfc9421Signer>>,
    altalix_json: Option<String>,
}

fn need<'a>(value: Option<&'a str>, flag: &str, scheme: SchemeArg) -> CliResult<&'a str> {
    value.ok_or_else(|| {
        CliError::usage(
            format!("--scheme {} needs {flag}", scheme.as_str()),
            format!("pass {flag}; see 'authctl request --help'"),
        )
    })
}

fn load_key(args: &RequestArgs, ctx: &Ctx) -> CliResult<PrivateKey> {
    let path = need(args.key.as_deref(), "--key FILE", args.scheme)?;
    Ok(input::load_private_key(path, ctx.key_permissions)?.key)
}

fn signing_key(key: &PrivateKey, alg: SignatureAlgorithm, ctx: &Ctx) -> CliResult<SigningKey> {
    SigningKey::new(key, alg, ctx.rng()).map_err(|e| {
        CliError::core_input(
            "the key cannot sign with this algorithm",
            &e,
            "pass a key of the type the algorithm needs, or another --alg",
        )
    })
}

/// The RFC 9421 algorithm: `--alg`, else the default the admin upload registers.
fn rfc9421_algorithm(args: &RequestArgs, key_type: KeyType) -> CliResult<SignatureAlgorithm> {
    let name = match &args.alg {
        Some(a) => a.clone(),
        None => default_algorithm(KeyPurposeArg::HttpSignature, key_type)
            .unwrap_or("rsa-pss-sha512")
            .to_owned(),
    };
    rfc9421::algorithm_from_name(&name).map_err(|e| {
        CliError::core_input(
            &format!("--alg {name}"),
            &e,
            "use ed25519, ecdsa-p256-sha256, rsa-pss-sha512 or rsa-v1_5-sha256",
        )
    })
}

fn jwt_algorithm(args: &RequestArgs, key_type: Option<KeyType>) -> CliResult<jwt::Algorithm> {
    let name = match (&args.alg, key_type) {
        (Some(a), _) => a.clone(),
        (None, None) => "HS256".to_owned(),
        (None, Some(t)) => default_algorithm(KeyPurposeArg::Jwt, t)
            .unwrap_or("RS256")
            .to_owned(),
    };
    jwt::Algorithm::from_name(&name).ok_or_else(|| {
        CliError::usage(
            format!("--alg {name} is not a JWT algorithm"),
            "use RS256, PS256, ES256, EdDSA or HS256",
        )
    })
}

/// The Altalix order fields a partner chooses; the rest comes from flags and the clock.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct AltalixOrder {
    sell_currency: String,
    buy_currency: String,
    address: String,
    #[serde(default)]
    sell_amount: Option<String>,
    #[serde(default)]
    buy_amount: Option<String>,
}

fn prepare(args: &RequestArgs, ctx: &Ctx, now: UnixTime) -> CliResult<Prepared> {
    let clock: Arc<dyn Clock> = Arc::new(SigningClock(now));
    let mut prepared = Prepared {
        auth: Arc::new(NoAuth),
        url: args.url.clone(),
        key_id: None,
        rfc9421: None,
        altalix_json: None,
    };
    let scheme = args.scheme;
    match scheme {
        SchemeArg::None => {}
        SchemeArg::ApiKey => {
            let key =
                input::read_secret_or_env("--api-key", args.api_key.as_deref(), "AUTHCTL_API_KEY")?;
            let placement = match args.api_key_header {
                ApiKeyHeaderArg::Bearer => ApiKeyPlacement::Bearer,
                ApiKeyHeaderArg::XApiKey => ApiKeyPlacement::XApiKey,
            };
            prepared.auth = Arc::new(ApiKeyAuth::new(&key, placement));
        }
        SchemeArg::Rfc9421 => {
            let key = load_key(args, ctx)?;
            let key_id = need(args.key_id.as_deref(), "--key-id ID", scheme)?;
            let alg = rfc9421_algorithm(args, key.key_type())?;
            let components = match &args.components {
                None => None,
                Some(list) => Some(rfc9421::parse_components(list).map_err(|e| {
                    CliError::core_input(
                        "--components",
                        &e,
                        "write them as in Signature-Input: '\"@method\" \"@path\" \"content-digest\"'",
                    )
                })?),
            };
            let expires = args.expires.as_deref().map(common::duration).transpose()?;
            let signer = Arc::new(Rfc9421Signer {
                key_id: key_id.to_owned(),
                key: signing_key(&key, alg, ctx)?,
                components,
                created: now,
                expires,
                rng: SystemRandom::new(),
                base: Mutex::new(None),
            });
            prepared.key_id = Some(key_id.to_owned());
            prepared.rfc9421 = Some(signer.clone());
            prepared.auth = signer;
        }
        SchemeArg::Qredo => {
            let key = load_key(args, ctx)?;
            let api_key =
                input::read_secret_or_env("--api-key", args.api_key.as_deref(), "AUTHCTL_API_KEY")?;
            let freshness = match args.qredo_nonce {
                Some(n) => {
                    QredoFreshness::Nonce(std::sync::atomic::AtomicU64::new(n.saturating_sub(1)))
                }
                None => QredoFreshness::Timestamp,
            };
            prepared.auth = Arc::new(QredoAuth::with_clock(
                &api_key,
                signing_key(&key, SignatureAlgorithm::RsaPkcs1Sha256, ctx)?,
                freshness,
                clock,
            ));
        }
        SchemeArg::Smile => {
            let partner = need(args.partner_id.as_deref(), "--partner-id ID", scheme)?;
            let secret =
                input::read_secret_or_env("--secret", args.secret.as_deref(), "AUTHCTL_SECRET")?;
            let placement = match args.smile_placement {
                SmilePlacementArg::Headers => SmilePlacement::Headers,
                SmilePlacementArg::Body => SmilePlacement::BodyFields,
            };
            let auth = SmileAuth::new(partner, &secret, placement)
                .map_err(|e| {
                    CliError::input(
                        format!("the Smile key: {e}"),
                        "pass the key the server issued",
                    )
                })?
                .with_clock(clock);
            prepared.key_id = Some(partner.to_owned());
            prepared.auth = Arc::new(auth);
        }
        SchemeArg::Jwt => {
            let client = need(args.client_id.as_deref(), "--client-id ID", scheme)?;
            let signer = match (&args.key, &args.secret) {
                (Some(_), Some(_)) => {
                    return Err(CliError::usage(
                        "--key and --secret both given",
                        "sign JWTs with a private key (--key) or an HS256 secret (--secret), not both",
                    ));
                }
                (Some(_), None) => {
                    let key = load_key(args, ctx)?;
                    let alg = jwt_algorithm(args, Some(key.key_type()))?;
                    jwt::JwtSigner::new(&key, alg, ctx.rng())
                }
                (None, _) => {
                    let secret = input::read_secret_or_env("--secret", args.secret.as_deref(), "AUTHCTL_SECRET")?;
                    let alg = jwt_algorithm(args, None)?;
                    HmacSecret::from_bytes(secret.as_bytes())
                        .and_then(|s| jwt::JwtSigner::hmac(&s, alg))
                }
            }
            .map_err(|e| CliError::core_input("cannot sign JWTs with this key", &e, "check --alg and the key"))?;
            let signer = match &args.key_id {
                Some(kid) => signer.with_kid(kid.clone()),
                None => signer,
            };
            prepared.key_id = Some(client.to_owned());
            prepared.auth = Arc::new(JwtAuth::new(signer, client).with_clock(clock));
        }
        SchemeArg::Altalix => {
            let key = load_key(args, ctx)?;
            let key_id = need(args.key_id.as_deref(), "--key-id ID", scheme)?;
            let partner = need(args.partner_id.as_deref(), "--partner-id ID", scheme)?;
            let order_arg = need(
                args.altalix_order.as_deref(),
                "--altalix-order JSON",
                scheme,
            )?;
            let order: AltalixOrder = serde_json::from_slice(&input::read_input(order_arg, "--altalix-order")?)
                .map_err(|e| {
                    CliError::input(
                        format!("--altalix-order is not an order: {e}"),
                        "give {\"sell_currency\", \"buy_currency\", \"address\", \"sell_amount\" or \"buy_amount\"}",
                    )
                })?;
            let amount = match (order.sell_amount, order.buy_amount) {
                (Some(a), None) => altalix::Amount::Sell(a),
                (None, Some(a)) => altalix::Amount::Buy(a),
                _ => {
                    return Err(CliError::input(
                        "--altalix-order needs exactly one of sell_amount and buy_amount",
                        "keep one of them",
                    ));
                }
            };
            let payload = altalix::Payload {
                sell_currency: order.sell_currency,
                buy_currency: order.buy_currency,
                address: order.address,
                partner_id: partner.to_owned(),
                key_id: key_id.to_owned(),
                created_at: now.to_rfc3339(),
                amount,
            };
            let signed = altalix::sign(
                &payload,
                &signing_key(&key, SignatureAlgorithm::RsaPkcs1Sha256, ctx)?,
                ctx.rng(),
            )
            .map_err(|e| {
                CliError::core_input(
                    "cannot sign the Altalix payload",
                    &e,
                    "check the order fields",
                )
            })?;
            prepared.url = signed.url(&args.url);
            prepared.key_id = Some(key_id.to_owned());
            prepared.altalix_json = Some(signed.json);
        }
    }
    Ok(prepared)
}

/// The bytes the credential covers, as text for people (never a secret).
fn what_was_signed(scheme: SchemeArg, sent: &Sent, prepared: &Prepared) -> Option<String> {
    match scheme {
        SchemeArg::None => None,
        SchemeArg::ApiKey => {
            Some("(nothing is signed: the API key itself is the credential)".into())
        }
        SchemeArg::Rfc9421 => prepared
            .rfc9421
            .as_ref()
            .and_then(|s| s.base.lock().ok().and_then(|b| b.clone())),
        SchemeArg::Qredo => {
            let fresh = sent
                .header(qredo::HEADER_TIMESTAMP)
                .or_else(|| sent.header(qredo::HEADER_NONCE))?;
            let target = TargetUri::parse(&sent.url).ok()?;
            let mut out = Vec::new();
            qredo::write_string_to_sign(fresh, &target, &sent.body, &mut out);
            Some(String::from_utf8_lossy(&out).into_owned())
        }
        SchemeArg::Smile => {
            let (ts, partner) = match (
                sent.header(smile::HEADER_TIMESTAMP),
                sent.header(smile::HEADER_PARTNER_ID),
            ) {
                (Some(t), Some(p)) => (t.to_owned(), p.to_owned()),
                _ => {
                    let body: Value = serde_json::from_slice(&sent.body).ok()?;
                    (
                        body["timestamp"].as_str()?.to_owned(),
                        body["partner_id"].as_str()?.to_owned(),
                    )
                }
            };
            Some(String::from_utf8_lossy(&smile::signature_base(&partner, &ts)).into_owned())
        }
        SchemeArg::Jwt => {
            let token = sent.header("authorization")?.strip_prefix("Bearer ")?;
            let mut parts = token.split('.');
            let decode = |p: Option<&str>| {
                auth_core::encoding::b64url_decode(p?, "JWT part")
                    .ok()
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
            };
            let header = decode(parts.next())?;
            let claims = decode(parts.next())?;
            Some(format!(
                "JWS signing input: BASE64URL(header) . BASE64URL(claims)\nheader: {header}\nclaims: {claims}"
            ))
        }
        SchemeArg::Altalix => prepared.altalix_json.clone(),
    }
}

/// The server's `Date` minus the signing time, in seconds.
fn clock_skew(headers: &reqwest::header::HeaderMap, signed_at: UnixTime) -> Option<i64> {
    let date = headers.get(reqwest::header::DATE)?.to_str().ok()?;
    let server = httpdate::parse_http_date(date).ok()?;
    let server = server.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    let server = i64::try_from(server).ok()?;
    let signed = i64::try_from(signed_at.as_secs()).ok()?;
    Some(server - signed)
}

/// Why the server most likely refused the credential: one line, and whether it is certain.
fn likely_cause(
    scheme: SchemeArg,
    status: u16,
    body: &Value,
    skew: Option<i64>,
    key_id: Option<&str>,
    uncovered: Option<&str>,
) -> String {
    // 1 s of Date resolution and some latency: only skews past the window (plus 2 s) count.
    if let (Some((old, ahead)), Some(s)) = (scheme.freshness_window(), skew)
        && (s > old + 2 || s < -(ahead + 2))
    {
        let (dir, n) = if s > 0 {
            ("behind", s)
        } else {
            ("ahead of", -s)
        };
        return format!(
            "clock skew: the signing time is {n} s {dir} the server's clock (from its Date header); \
             {} signatures must be at most {old} s old and {ahead} s ahead: fix the clock (NTP) or --now",
            scheme.as_str()
        );
    }
    let code = body["code"]
        .as_str()
        .or_else(|| body["error"]["code"].as_str())
        .or_else(|| body["detail"]["reason"].as_str())
        .unwrap_or_default();
    let detail = body["detail"]
        .as_str()
        .or_else(|| body["error"]["message"].as_str())
        .unwrap_or_default();
    let key = key_id.unwrap_or("(none)");
    match code {
        "unknown_key" | "api_key" => format!(
            "wrong key ID: the server does not know the credential '{key}'; use the key_id the upload answered ('authctl admin credential list PARTNER')"
        ),
        "missing_component" => format!("a component the server requires is not covered: {detail}"),
        "signature_mismatch" | "signature" => "the signature does not verify: the key is not the one registered for this key ID, or something changed the request after signing (a proxy rewriting host, path or body)".into(),
        "stale_timestamp" | "timestamp" => format!(
            "clock skew or a stale signature: {detail} (measured skew: {} s)",
            skew.map_or("unknown".into(), |s| s.to_string())
        ),
        "replayed" | "nonce" => "replay: this nonce or timestamp was used before; sign again".into(),
        "revoked_key" | "expired_key" | "not_yet_valid" => format!("the credential is not active ({code}): {detail}"),
        "digest_mismatch" => "the body does not match its Content-Digest".into(),
        "insufficient_scope" => format!("the credential lacks a scope this route needs: {detail}"),
        "" | "unauthorized" if uncovered.is_some() => format!(
            "a component is missing: the signature does not cover {}, which auth-verify requires by default",
            uncovered.unwrap_or_default()
        ),
        _ if status == 403 => format!("the credential was accepted but may not do this: {detail}"),
        _ => format!(
            "the server does not say why (its refusals are opaque); check in this order: the key ID ('{key}'), that the key matches the public key registered for it, the scheme the route accepts; the clock is fine ({} s skew); run with --explain to ask auth-verify",
            skew.map_or("unknown".into(), |s| s.to_string())
        ),
    }
}

/// The first component auth-verify requires by default (`@method`, the target, and
/// `content-digest` with a body) that `components` leaves out; `None` for the default set.
fn uncovered_default(
    components: Option<&[rfc9421::Component]>,
    has_body: bool,
) -> Option<&'static str> {
    let ids: Vec<String> = components?
        .iter()
        .map(rfc9421::Component::identifier)
        .collect();
    let has = |id: &str| ids.iter().any(|i| i == id);
    if !has("\"@method\"") {
        Some("@method")
    } else if !(has("\"@target-uri\"")
        || (has("\"@authority\"") && has("\"@path\"") && has("\"@query\"")))
    {
        Some("@target-uri (or @authority, @path and @query)")
    } else if has_body && !has("\"content-digest\"") {
        Some("content-digest (so the body is not signed)")
    } else {
        None
    }
}

/// Asks `/v1/verify` to explain `sent`; admin-signed when an admin key is configured.
async fn explain(args: &RequestArgs, ctx: &Ctx, sent: &Sent) -> CliResult<Value> {
    let base = match &args.server.server {
        Some(s) => profile::check_base_url(s)?,
        None => {
            let url = reqwest::Url::parse(&sent.url)
                .map_err(|e| CliError::usage(format!("bad URL: {e}"), ""))?;
            url.origin().ascii_serialization()
        }
    };
    let admin_auth: Option<Arc<dyn ClientAuth>> = match args.server.resolve() {
        Ok(target) if target.admin_key.path().exists() => {
            match profile::load_admin_key(target.admin_key.path(), ctx) {
                Ok(key) => {
                    ctx.out.verbose(
                        1,
                        format!("asking {base}/v1/verify as admin {}", key.key_text),
                    );
                    Some(profile::admin_auth(&key, ctx)?)
                }
                Err(e) => {
                    ctx.out
                        .verbose(1, format!("not signing the explanation request: {e}"));
                    None
                }
            }
        }
        _ => None,
    };
    let auth = admin_auth.unwrap_or_else(|| Arc::new(NoAuth));
    let client = profile::http_client(auth, Duration::from_secs(args.timeout))?;
    let question = json!({
        "method": sent.method,
        "url": sent.url,
        "headers": profile::with_host(sent.headers.clone(), &sent.url),
        "body_b64": auth_core::encoding::b64_encode(&sent.body),
        "explain": true,
    });
    let rb = client
        .http()
        .post(format!("{base}/v1/verify"))
        .header("content-type", "application/json")
        .body(question.to_string());
    let answer = profile::exchange(&client, &base, rb).await?;
    if answer.status != 200 {
        return Err(CliError::server(
            format!("{base}/v1/verify answered {}", answer.status),
            "--explain needs auth-verify; pass --server with its base URL",
        ));
    }
    Ok(answer.body)
}

/// Our signature base and the server's, line by line: `=` same, `-` ours only, `+` server only.
fn compare_bases(ours: &str, server: &str) -> Vec<String> {
    let a: Vec<&str> = ours.lines().collect();
    let b: Vec<&str> = server.lines().collect();
    let mut out = Vec::new();
    for i in 0..a.len().max(b.len()) {
        match (a.get(i), b.get(i)) {
            (Some(x), Some(y)) if x == y => out.push(format!("  = {x}")),
            (x, y) => {
                if let Some(x) = x {
                    out.push(format!("  - {x}    (authctl)"));
                }
                if let Some(y) = y {
                    out.push(format!("  + {y}    (server)"));
                }
            }
        }
    }
    out
}

fn write_out(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(bytes).and_then(|()| out.flush());
}

/// Runs `authctl request`.
pub(crate) fn run(args: RequestArgs, ctx: &Ctx) -> CliResult {
    let now = ctx.now();
    let body = common::body(args.data.as_deref())?;
    let method = args
        .method
        .clone()
        .unwrap_or_else(|| if args.data.is_some() { "POST" } else { "GET" }.to_owned());
    let method =
        reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes()).map_err(|_| {
            CliError::usage(
                format!("'{method}' is not an HTTP method"),
                "pass -X GET, POST, PUT, ...",
            )
        })?;
    let prepared = prepare(&args, ctx, now)?;
    let url = reqwest::Url::parse(&prepared.url).map_err(|e| {
        CliError::usage(
            format!("'{}' is not a URL: {e}", prepared.url),
            "pass an absolute http(s) URL",
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(CliError::usage(
            format!("'{url}' is not an http(s) URL"),
            "pass an absolute http(s) URL",
        ));
    }
    let recorder = Arc::new(Recorder {
        inner: prepared.auth.clone(),
        sent: Mutex::new(None),
    });
    let client = profile::http_client(recorder.clone(), Duration::from_secs(args.timeout))?;
    let mut rb = client.http().request(method, url.clone());
    for (name, value) in common::headers(&args.headers)? {
        let name = http::HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            CliError::usage(
                format!("-H: '{name}' is not a header name"),
                "use letters, digits and -",
            )
        })?;
        let value = http::HeaderValue::from_str(&value).map_err(|_| {
            CliError::usage(
                format!("-H {name}: the value is not a valid header value"),
                "use visible ASCII",
            )
        })?;
        rb = rb.header(name, value);
    }
    if !body.is_empty() {
        rb = rb.body(body);
    }
    let rt = profile::runtime()?;
    let origin = url.origin().ascii_serialization();
    let response = rt.block_on(async {
        let resp = client.send(rb).await.map_err(|e| match e {
            ClientError::Auth(a) => {
                CliError::core_input("cannot sign the request", &a, "check the key and flags")
            }
            ClientError::Body(m) => {
                CliError::input(format!("request body: {m}"), "send a smaller body")
            }
            ClientError::Http(h) => profile::network_error(&origin, &h),
        })?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| profile::network_error(&origin, &e))?;
        Ok::<_, CliError>((status, headers, bytes))
    })?;
    let (status, headers, bytes) = response;
    let sent = recorder
        .sent
        .lock()
        .ok()
        .and_then(|s| s.clone())
        .unwrap_or_default();
    let signed = what_was_signed(args.scheme, &sent, &prepared);

    // -v: what was sent and signed (stderr, never a secret), and what came back.
    ctx.out.verbose(
        1,
        format!(
            "scheme {}{}",
            args.scheme.as_str(),
            prepared
                .key_id
                .as_ref()
                .map(|k| format!(", key ID {k}"))
                .unwrap_or_default()
        ),
    );
    ctx.out
        .verbose(1, format!("> {} {}", sent.method, sent.url));
    for (k, v) in &sent.headers {
        ctx.out.verbose(1, format!("> {k}: {}", redacted(k, v)));
    }
    if let Some(s) = &signed {
        ctx.out
            .verbose(1, "signed (the exact bytes the signature covers):");
        for line in s.lines() {
            ctx.out.verbose(1, format!("  {line}"));
        }
    }
    ctx.out.verbose(1, format!("< {status}"));
    for (k, v) in &headers {
        ctx.out.verbose(
            1,
            format!("< {k}: {}", String::from_utf8_lossy(v.as_bytes())),
        );
    }

    let code = status.as_u16();
    let refused = code == 401 || code == 403;
    let body_json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let skew = clock_skew(&headers, now);
    let uncovered = prepared
        .rfc9421
        .as_ref()
        .and_then(|s| uncovered_default(s.components.as_deref(), !sent.body.is_empty()));
    let cause = refused.then(|| {
        likely_cause(
            args.scheme,
            code,
            &body_json,
            skew,
            prepared.key_id.as_deref(),
            uncovered,
        )
    });
    let explanation = if refused && args.explain {
        Some(rt.block_on(explain(&args, ctx, &sent))?)
    } else {
        if args.explain {
            ctx.out.note(format!(
                "explain: nothing to explain, the server did not refuse the credential ({status})"
            ));
        }
        None
    };

    if ctx.out.is_json() {
        let mut report = Report::new("request")
            .field("status", code)
            .field(
                "headers",
                headers
                    .iter()
                    .map(|(k, v)| json!([k.as_str(), String::from_utf8_lossy(v.as_bytes())]))
                    .collect::<Vec<_>>(),
            )
            .field("scheme", args.scheme.as_str())
            .field("signed", signed.clone())
            .field("clock_skew_seconds", skew);
        report = match std::str::from_utf8(&bytes) {
            Ok(text) => report.field("body", text),
            Err(_) => report.field("body_b64", auth_core::encoding::b64_encode(&bytes)),
        };
        if let Some(c) = &cause {
            report = report.field("likely_cause", c.as_str());
        }
        if let Some(e) = &explanation {
            report = report.field("explain", e.clone());
        }
        ctx.out.report(&report);
    } else {
        if args.include {
            let mut head = format!("HTTP {status}\n");
            for (k, v) in &headers {
                head.push_str(&format!("{k}: {}\n", String::from_utf8_lossy(v.as_bytes())));
            }
            head.push('\n');
            write_out(head.as_bytes());
        }
        write_out(&bytes);
        if !bytes.is_empty()
            && !bytes.ends_with(b"\n")
            && std::io::IsTerminal::is_terminal(&std::io::stdout())
        {
            write_out(b"\n");
        }
        if let Some(e) = &explanation {
            print_explanation(ctx, e, signed.as_deref());
        }
    }
    if let Some(cause) = cause {
        let cause = match explanation
            .as_ref()
            .and_then(|e| explained_cause(args.scheme, e, prepared.key_id.as_deref()))
        {
            Some(c) => c,
            None => cause,
        };
        return Err(CliError::verification(
            format!("the server refused the credential ({code})"),
            format!("most likely cause: {cause}"),
        ));
    }
    if code >= 400 {
        let detail = body_json["detail"]
            .as_str()
            .or_else(|| body_json["error"]["message"].as_str())
            .or_else(|| body_json["message"].as_str())
            .unwrap_or("see the response body");
        // 400, 413, 422: the request authctl was asked to send is what is wrong.
        if matches!(code, 400 | 413 | 422) {
            return Err(CliError::input(
                format!("the server refused the request as malformed ({status}): {detail}"),
                "fix the request (body, headers, credential format) as the server says",
            ));
        }
        return Err(CliError::server(
            format!("the server answered {status}: {detail}"),
            "see the response body; check the URL and method",
        ));
    }
    Ok(())
}

/// The cause the server's explanation names, when it gave one.
fn explained_cause(scheme: SchemeArg, e: &Value, key_id: Option<&str>) -> Option<String> {
    let ex = e.get("explain")?;
    let code = ex["code"].as_str()?;
    let body = json!({"code": code, "detail": ex["message"]});
    let skew = ex["signature"]["clock_skew_seconds"].as_i64();
    Some(format!(
        "{} (the server says: {code})",
        likely_cause(scheme, 401, &body, skew, key_id, None)
    ))
}

fn print_explanation(ctx: &Ctx, e: &Value, ours: Option<&str>) {
    if let Some(refused) = e["explain_refused"].as_str() {
        ctx.out.note(format!("explain: the server would not explain: {refused}; sign the question as an admin (--profile or --admin-key)"));
        return;
    }
    let ex = &e["explain"];
    ctx.out.note(format!(
        "explain: the server says {}: {}",
        ex["code"].as_str().unwrap_or("ok"),
        ex["message"].as_str().unwrap_or("")
    ));
    let sig = &ex["signature"];
    if sig.is_object() {
        if let Some(s) = sig["clock_skew_seconds"].as_i64() {
            ctx.out
                .note(format!("explain: server time minus created: {s} s"));
        }
        let covered: Vec<&str> = sig["covered_components"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        ctx.out.note(format!(
            "explain: covered components as the server read them: {}",
            covered.join(" ")
        ));
        match (ours, sig["signature_base"].as_str()) {
            (Some(ours), Some(server)) => {
                ctx.out.note("explain: signature base, authctl's next to the server's (= same, - authctl only, + server only):");
                for line in compare_bases(ours, server) {
                    ctx.out.note(line);
                }
            }
            (_, None) => ctx.out.note(format!(
                "explain: the server could not build a signature base: {}",
                sig["signature_base_error"]
                    .as_str()
                    .unwrap_or("no reason given")
            )),
            (None, Some(server)) => {
                ctx.out.note("explain: the server's signature base:");
                for line in server.lines() {
                    ctx.out.note(format!("  {line}"));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn bases_compare_line_by_line() {
        let lines = compare_bases("a\nb\nc", "a\nB\nc\nd");
        assert_eq!(
            lines,
            vec![
                "  = a",
                "  - b    (authctl)",
                "  + B    (server)",
                "  = c",
                "  + d    (server)"
            ]
        );
    }

    #[test]
    fn skew_past_the_window_is_named_first() {
        let cause = likely_cause(
            SchemeArg::Rfc9421,
            401,
            &json!({"code":"unauthorized"}),
            Some(600),
            Some("k"),
            None,
        );
        assert!(cause.starts_with("clock skew"), "{cause}");
        assert!(cause.contains("600 s behind"), "{cause}");
        let cause = likely_cause(
            SchemeArg::Rfc9421,
            401,
            &json!({"code":"unauthorized"}),
            Some(3),
            Some("k"),
            None,
        );
        assert!(cause.contains("opaque"), "{cause}");
        let cause = likely_cause(
            SchemeArg::Qredo,
            401,
            &json!({"code":401,"detail":{"reason":"timestamp"}}),
            Some(0),
            None,
            None,
        );
        assert!(cause.contains("stale"), "{cause}");
        let cause = likely_cause(
            SchemeArg::Rfc9421,
            401,
            &json!({"code":"unknown_key"}),
            None,
            Some("key_x"),
            None,
        );
        assert!(
            cause.contains("wrong key ID") && cause.contains("key_x"),
            "{cause}"
        );
        // An opaque refusal of a signature that leaves out what auth-verify requires.
        let cause = likely_cause(
            SchemeArg::Rfc9421,
            401,
            &json!({"code":"unauthorized"}),
            Some(0),
            Some("k"),
            uncovered_default(
                Some(&rfc9421::parse_components("\"@method\" \"@path\"").unwrap()),
                false,
            ),
        );
        assert!(cause.contains("does not cover @target-uri"), "{cause}");
        let all =
            rfc9421::parse_components("\"@method\" \"@authority\" \"@path\" \"@query\"").unwrap();
        assert_eq!(uncovered_default(Some(&all), false), None);
        assert_eq!(
            uncovered_default(Some(&all), true),
            Some("content-digest (so the body is not signed)")
        );
        assert_eq!(uncovered_default(None, true), None);
    }

    #[test]
    fn credentials_are_redacted() {
        assert_eq!(
            redacted("authorization", "Bearer pa_live_x"),
            "Bearer [redacted]"
        );
        assert_eq!(redacted("x-api-key", "abc"), "[redacted]");
        assert_eq!(redacted("signature", "sig1=:x:"), "sig1=:x:");
    }
}
