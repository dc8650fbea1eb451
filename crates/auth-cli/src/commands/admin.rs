//! `authctl admin ...`: drives auth-verify's admin API (enrolment, admins, partners, API keys,
//! public keys, shared secrets, app trust) with the admin's Ed25519 key, and manages the
//! profiles file. Every request is signed by auth-http's RFC 9421 client with the key whose
//! Actyx text is the `keyid`, as the service requires; the key comes from `profile.rs`.
//! Secrets the server issues are shown once: on stdout, or written to `--secret-out FILE`
//! (mode 0600) so they never pass through a terminal.

use super::profile::{self, AdminKey, Answer, Profile, ProfilesFile, ServerArgs, Target, exchange};
use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::input::{self, FileKind, Overwrite};
use crate::output::{Report, Style};
use auth_core::keys::KeyType;
use auth_http::client::AuthClient;
use reqwest::Method;
use serde_json::{Value, json};
use std::path::PathBuf;

/// Examples shown under `authctl admin --help`.
pub(crate) const EXAMPLES: &str = "\
Examples:
  authctl admin bootstrap          # enrol your key as the first admin (trust on first use)
  authctl admin partner create acme --name 'Acme Ltd'
  authctl admin api-key issue acme --name backend --env test --scope orders:read \\
      --secret-out acme.key
  authctl admin key upload acme --public-key partner.pub --purpose http-signature \\
      --name signing --env test
  authctl admin credential list acme
  authctl admin credential revoke api_key:3f2a...
  authctl admin profile set prod --url https://auth.example.com --key ~/.config/authctl/prod.key
  authctl --json admin partner list

The admin key is $XDG_CONFIG_HOME/authctl/admin.key (or ~/.config/authctl/admin.key),
created on first use with mode 0600; --admin-key, AUTHCTL_ADMIN_KEY or a profile's
key = ... override it.";

/// `authctl admin`.
#[derive(Debug, clap::Args)]
pub(crate) struct AdminArgs {
    #[command(flatten)]
    server: ServerArgs,
    #[command(subcommand)]
    command: AdminCommand,
}

/// The admin subcommands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum AdminCommand {
    /// Show the admin key in use (its public key text), creating the default key if missing.
    #[command(after_help = "Example:\n  authctl admin whoami")]
    Whoami,
    /// Enrol this key as the first admin of a fresh service (trust on first use), or confirm
    /// that it is an admin.
    #[command(after_help = "Example:\n  authctl admin --server http://127.0.0.1:8080 bootstrap")]
    Bootstrap,
    /// The authorized admins.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Partners.
    #[command(subcommand)]
    Partner(PartnerCommand),
    /// API keys: issue, list, regenerate, revoke.
    #[command(subcommand, name = "api-key")]
    ApiKey(ApiKeyCommand),
    /// Partners' public keys (RFC 9421, JWT, Qredo, Altalix).
    #[command(subcommand)]
    Key(KeyCommand),
    /// Shared secrets (JWT HS256 client secrets, Smile keys).
    #[command(subcommand)]
    Secret(SecretCommand),
    /// Every credential of a partner; revoke any of them.
    #[command(subcommand)]
    Credential(CredentialCommand),
    /// App trust: the authority, developer certificates, licenses, node licensing.
    #[command(subcommand, name = "app-trust")]
    AppTrust(AppTrustCommand),
    /// Server profiles in the profiles file.
    #[command(subcommand)]
    Profile(ProfileCommand),
}

/// `authctl admin users`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum UsersCommand {
    /// List the admin keys.
    #[command(after_help = "Example:\n  authctl admin users list")]
    List,
    /// Authorize another admin key (Actyx key text, `0...`, from its `authctl admin whoami`).
    #[command(after_help = "Example:\n  authctl admin users add 0AbC...=")]
    Add {
        /// The key text.
        key: String,
    },
    /// Remove an admin key (never the last one).
    #[command(after_help = "Example:\n  authctl admin users remove 0AbC...=")]
    Remove {
        /// The key text.
        key: String,
    },
}

/// `authctl admin partner`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum PartnerCommand {
    /// Create a partner.
    #[command(
        after_help = "Example:\n  authctl admin partner create acme --name 'Acme Ltd' --origin https://app.acme.example"
    )]
    Create {
        /// Partner ID (1 to 128 visible ASCII characters).
        id: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// A browser origin allowed to call the session endpoint; repeatable.
        #[arg(long = "origin", value_name = "ORIGIN")]
        origins: Vec<String>,
    },
    /// List partners.
    #[command(after_help = "Example:\n  authctl admin partner list")]
    List,
    /// Show one partner.
    #[command(after_help = "Example:\n  authctl admin partner show acme")]
    Show {
        /// Partner ID.
        id: String,
    },
    /// Suspend a partner: none of its credentials work until it is activated.
    #[command(after_help = "Example:\n  authctl admin partner suspend acme")]
    Suspend {
        /// Partner ID.
        id: String,
    },
    /// Reactivate a suspended partner.
    #[command(after_help = "Example:\n  authctl admin partner activate acme")]
    Activate {
        /// Partner ID.
        id: String,
    },
    /// Replace a partner's allowed browser origins (none given: clear them).
    #[command(
        after_help = "Example:\n  authctl admin partner origins acme --origin https://app.acme.example"
    )]
    Origins {
        /// Partner ID.
        id: String,
        /// An allowed origin; repeatable.
        #[arg(long = "origin", value_name = "ORIGIN")]
        origins: Vec<String>,
    },
}

/// `live` or `test`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum EnvArg {
    /// Production.
    Live,
    /// Sandbox (the server explains refusals of test credentials to anyone).
    Test,
}

impl EnvArg {
    fn as_str(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Test => "test",
        }
    }
}

/// What every new credential has.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct NewCredentialArgs {
    /// A name, unique among the partner's credentials.
    #[arg(long)]
    name: String,
    /// The environment.
    #[arg(long = "env", value_enum)]
    env: EnvArg,
    /// A scope it grants; repeatable.
    #[arg(long = "scope", value_name = "SCOPE")]
    scopes: Vec<String>,
    /// Expiry (RFC 3339, in the future).
    #[arg(long, value_name = "TIME")]
    expires_at: Option<String>,
    /// Free text.
    #[arg(long)]
    notes: Option<String>,
}

impl NewCredentialArgs {
    fn json(&self) -> Value {
        let mut v =
            json!({"name": self.name, "environment": self.env.as_str(), "scopes": self.scopes});
        if let Some(t) = &self.expires_at {
            v["expires_at"] = Value::from(t.as_str());
        }
        if let Some(n) = &self.notes {
            v["notes"] = Value::from(n.as_str());
        }
        v
    }
}

/// Where a secret the server shows once goes.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct SecretOut {
    /// Write the issued secret to FILE (mode 0600, never overwritten) instead of stdout.
    #[arg(long, value_name = "FILE")]
    secret_out: Option<PathBuf>,
}

/// `authctl admin api-key`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum ApiKeyCommand {
    /// Issue an API key (shown once).
    #[command(
        after_help = "Example:\n  authctl admin api-key issue acme --name backend --env test --scope orders:read \\
      --secret-out acme.key"
    )]
    Issue {
        /// Partner ID.
        partner: String,
        #[command(flatten)]
        new: NewCredentialArgs,
        #[command(flatten)]
        out: SecretOut,
    },
    /// List a partner's API keys with status and usage.
    #[command(after_help = "Example:\n  authctl admin api-key list acme")]
    List {
        /// Partner ID.
        partner: String,
    },
    /// Replace an API key with a new one (shown once); the old one stops now or after --grace.
    #[command(
        after_help = "Example:\n  authctl admin api-key regenerate api_key:3f2a... --grace 3600 --secret-out new.key"
    )]
    Regenerate {
        /// The key's reference (`api_key:...`, from `list`).
        reference: String,
        /// Seconds the old key keeps working (at most 30 days).
        #[arg(long, value_name = "SECS", default_value_t = 0)]
        grace: u64,
        #[command(flatten)]
        out: SecretOut,
    },
    /// Revoke an API key: refused from the next request on.
    #[command(after_help = "Example:\n  authctl admin api-key revoke api_key:3f2a...")]
    Revoke {
        /// The key's reference (`api_key:...`).
        reference: String,
    },
}

/// What an uploaded public key is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum KeyPurposeArg {
    /// RFC 9421 HTTP message signatures.
    HttpSignature,
    /// Altalix signed payload URLs (RSA).
    Altalix,
    /// JWT partner tokens signed with the partner's key.
    Jwt,
    /// Qredo x-sign (RSA); an x-api-key is issued with it, shown once.
    Qredo,
}

impl KeyPurposeArg {
    fn as_str(self) -> &'static str {
        match self {
            Self::HttpSignature => "http_signature",
            Self::Altalix => "altalix",
            Self::Jwt => "jwt",
            Self::Qredo => "qredo",
        }
    }
}

/// The algorithm a key of `key_type` is registered with for `purpose` when none is named:
/// the one `authctl request` signs with by default, so the two always agree.
pub(crate) fn default_algorithm(purpose: KeyPurposeArg, key_type: KeyType) -> Option<&'static str> {
    Some(match (purpose, key_type) {
        (KeyPurposeArg::HttpSignature, KeyType::Ed25519) => "ed25519",
        (KeyPurposeArg::HttpSignature, KeyType::EcP256) => "ecdsa-p256-sha256",
        (KeyPurposeArg::HttpSignature, KeyType::Rsa) => "rsa-pss-sha512",
        (KeyPurposeArg::Jwt, KeyType::Ed25519) => "EdDSA",
        (KeyPurposeArg::Jwt, KeyType::EcP256) => "ES256",
        (KeyPurposeArg::Jwt | KeyPurposeArg::Qredo | KeyPurposeArg::Altalix, KeyType::Rsa) => {
            "RS256"
        }
        _ => return None,
    })
}

/// `authctl admin key`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum KeyCommand {
    /// Register a partner's public key; answers its key ID (and for Qredo an x-api-key, once).
    #[command(
        after_help = "Examples:\n  authctl admin key upload acme --public-key partner.pub --purpose http-signature \\
      --name signing --env test\n  authctl admin key upload acme --public-key rsa.pem --purpose qredo --name qredo --env live --secret-out qredo.key"
    )]
    Upload {
        /// Partner ID.
        partner: String,
        /// The public key (SPKI or PKCS#1 PEM/DER, JWK, ...) or the private key file (its public
        /// half is sent, nothing else).
        #[arg(long, value_name = "FILE")]
        public_key: String,
        /// What the key is for.
        #[arg(long, value_enum)]
        purpose: KeyPurposeArg,
        /// The algorithm the key is bound to (RFC 9421 names such as ed25519, rsa-pss-sha512,
        /// or JOSE names such as RS256) (default: from the key type and purpose).
        #[arg(long)]
        algorithm: Option<String>,
        /// For jwt: the clientId tokens carry.
        #[arg(long)]
        client_id: Option<String>,
        /// For qredo: timestamp (default) or nonce.
        #[arg(long)]
        qredo_mode: Option<String>,
        #[command(flatten)]
        new: NewCredentialArgs,
        #[command(flatten)]
        out: SecretOut,
    },
}

/// Kind of shared secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum SecretKindArg {
    /// A JWT HS256 client secret.
    JwtHs256,
    /// A Smile API key (HMAC).
    Smile,
}

/// `authctl admin secret`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum SecretCommand {
    /// Create a shared secret (shown once).
    #[command(
        after_help = "Example:\n  authctl admin secret create acme --kind smile --name smile --env test --secret-out smile.key"
    )]
    Create {
        /// Partner ID.
        partner: String,
        /// The kind.
        #[arg(long, value_enum)]
        kind: SecretKindArg,
        /// For jwt-hs256: the clientId tokens carry (default: the generated key ID).
        #[arg(long)]
        client_id: Option<String>,
        #[command(flatten)]
        new: NewCredentialArgs,
        #[command(flatten)]
        out: SecretOut,
    },
}

/// `authctl admin credential`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum CredentialCommand {
    /// List a partner's credentials (every kind) with status and usage.
    #[command(after_help = "Example:\n  authctl admin credential list acme")]
    List {
        /// Partner ID.
        partner: String,
    },
    /// Revoke any credential by its reference.
    #[command(
        after_help = "Example:\n  authctl admin credential revoke http_signature_key:key_abc..."
    )]
    Revoke {
        /// The credential's reference (`purpose:id`, from `list`).
        reference: String,
    },
}

/// `authctl admin app-trust`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum AppTrustCommand {
    /// Create the app-trust authority key on the server (once).
    #[command(
        name = "authority-init",
        after_help = "Example:\n  authctl admin app-trust authority-init"
    )]
    AuthorityInit,
    /// Show the authority's public key.
    #[command(after_help = "Example:\n  authctl admin app-trust authority")]
    Authority,
    /// Issue a developer certificate.
    #[command(
        after_help = "Example:\n  authctl admin app-trust certificate --developer-key dev.pub --domain 'com.example.*'"
    )]
    Certificate {
        /// The developer's Ed25519 public key: Actyx text (0...) or a key file.
        #[arg(long, value_name = "KEY")]
        developer_key: String,
        /// An app domain it may sign (com.example.*); repeatable.
        #[arg(long = "domain", value_name = "DOMAIN", required = true)]
        domains: Vec<String>,
        /// Write the certificate JSON to FILE instead of stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Issue a license for an app (or a node).
    #[command(
        after_help = "Example:\n  authctl admin app-trust license --app-id com.example.app --expires-at 2027-12-31T00:00:00Z --email dev@example.com"
    )]
    License {
        /// The app ID.
        #[arg(long)]
        app_id: String,
        /// Expiry, RFC 3339, in the future.
        #[arg(long, value_name = "TIME")]
        expires_at: String,
        /// Who asked for it.
        #[arg(long = "email", value_name = "EMAIL")]
        requester_email: String,
    },
    /// Show the node licensing, or set it from a JSON file.
    #[command(
        name = "node-licensing",
        after_help = "Examples:\n  authctl admin app-trust node-licensing\n  authctl admin app-trust node-licensing --set licensing.json"
    )]
    NodeLicensing {
        /// `{"node": "development" | LICENSE, "apps": {APP_ID: LICENSE}}` as a file or - (stdin).
        #[arg(long, value_name = "FILE")]
        set: Option<String>,
    },
}

/// `authctl admin profile`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum ProfileCommand {
    /// List the profiles.
    #[command(after_help = "Example:\n  authctl admin profile list")]
    List,
    /// Add or replace a profile.
    #[command(
        after_help = "Example:\n  authctl admin profile set prod --url https://auth.example.com --key ~/.config/authctl/prod.key --default"
    )]
    Set {
        /// Profile name.
        name: String,
        /// The server's base URL.
        #[arg(long)]
        url: String,
        /// Its admin key file (default: the per-user default key).
        #[arg(long, value_name = "FILE")]
        key: Option<PathBuf>,
        /// Use it when no profile is named.
        #[arg(long)]
        default: bool,
    },
    /// Remove a profile.
    #[command(after_help = "Example:\n  authctl admin profile remove prod")]
    Remove {
        /// Profile name.
        name: String,
    },
}

/// A connection to the admin API.
struct Admin {
    client: AuthClient,
    rt: tokio::runtime::Runtime,
    target: Target,
    key: AdminKey,
}

impl Admin {
    fn connect(args: &ServerArgs, ctx: &Ctx) -> CliResult<Self> {
        let target = args.resolve()?;
        let key = profile::load_or_create_admin_key(&target.admin_key, ctx)?;
        if key.created {
            ctx.out.note(format!(
                "created admin key {} (mode 0600); its public key is {}",
                target.admin_key.path().display(),
                key.key_text
            ));
        }
        let auth = profile::admin_auth(&key, ctx)?;
        let client = profile::http_client(auth, profile::HTTP_TIMEOUT)?;
        ctx.out.verbose(
            1,
            format!(
                "server {}{}, admin key {} ({})",
                target.base,
                target
                    .profile
                    .as_ref()
                    .map(|p| format!(" (profile {p})"))
                    .unwrap_or_default(),
                target.admin_key.path().display(),
                key.key_text
            ),
        );
        Ok(Self {
            client,
            rt: profile::runtime()?,
            target,
            key,
        })
    }

    /// `base` + the percent-encoded `segments`.
    fn url(&self, segments: &[&str]) -> CliResult<reqwest::Url> {
        let mut url = reqwest::Url::parse(&self.target.base)
            .map_err(|e| CliError::usage(format!("bad server URL: {e}"), "pass --server URL"))?;
        url.path_segments_mut()
            .map_err(|()| {
                CliError::usage("the server URL cannot have a path", "pass --server URL")
            })?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// Sends a signed request; answers whatever the server said.
    fn send(&self, method: Method, segments: &[&str], body: Option<&Value>) -> CliResult<Answer> {
        let url = self.url(segments)?;
        let mut rb = self.client.http().request(method, url);
        if let Some(b) = body {
            rb = rb
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        self.rt
            .block_on(exchange(&self.client, &self.target.base, rb))
    }

    /// Sends and insists on a 2xx.
    fn call(
        &self,
        what: &str,
        method: Method,
        segments: &[&str],
        body: Option<&Value>,
    ) -> CliResult<Value> {
        Ok(self.send(method, segments, body)?.ok_or_error(what)?.body)
    }
}

/// Runs `authctl admin ...`.
pub(crate) fn run(args: AdminArgs, ctx: &Ctx) -> CliResult {
    let server = args.server;
    match args.command {
        AdminCommand::Profile(cmd) => profile_command(cmd, ctx),
        AdminCommand::Whoami => whoami(&server, ctx),
        AdminCommand::Bootstrap => bootstrap(&Admin::connect(&server, ctx)?, ctx),
        AdminCommand::Users(cmd) => users(&Admin::connect(&server, ctx)?, cmd, ctx),
        AdminCommand::Partner(cmd) => partner(&Admin::connect(&server, ctx)?, cmd, ctx),
        AdminCommand::ApiKey(cmd) => api_key(&Admin::connect(&server, ctx)?, cmd, ctx),
        AdminCommand::Key(cmd) => key(&Admin::connect(&server, ctx)?, cmd, ctx),
        AdminCommand::Secret(cmd) => secret(&Admin::connect(&server, ctx)?, cmd, ctx),
        AdminCommand::Credential(cmd) => credential(&Admin::connect(&server, ctx)?, cmd, ctx),
        AdminCommand::AppTrust(cmd) => app_trust(&Admin::connect(&server, ctx)?, cmd, ctx),
    }
}

fn whoami(server: &ServerArgs, ctx: &Ctx) -> CliResult {
    let target = server.resolve()?;
    let key = profile::load_or_create_admin_key(&target.admin_key, ctx)?;
    if key.created {
        ctx.out.note(format!(
            "created admin key {} (mode 0600)",
            target.admin_key.path().display()
        ));
    }
    let mut report = Report::new("admin.whoami")
        .shown("public_key", key.key_text.clone())
        .shown("key_file", target.admin_key.path().display().to_string())
        .shown("server", target.base.clone())
        .field("created", key.created);
    if let Some(p) = &target.profile {
        report = report.shown("profile", p.clone());
    }
    ctx.out.report(&report);
    Ok(())
}

fn bootstrap(admin: &Admin, ctx: &Ctx) -> CliResult {
    let answer = admin.send(Method::GET, &["admin", "authorized-users"], None)?;
    if answer.status == 401 || answer.status == 403 {
        return Err(CliError::verification(
            format!(
                "{} already has admins, and this key ({}) is not one of them",
                admin.target.base, admin.key.key_text
            ),
            "ask an admin to run 'authctl admin users add KEY' with the key shown by 'authctl admin whoami'",
        ));
    }
    let answer = answer.ok_or_error("bootstrap")?;
    let enrolled = answer
        .headers
        .get("x-admin-enrolled")
        .is_some_and(|v| v.as_bytes() == b"true");
    let verdict = if enrolled {
        "enrolled this key as the first admin (trust on first use)"
    } else {
        "this key is already an admin"
    };
    let report = Report::new("admin.bootstrap")
        .styled(Style::Good, verdict)
        .shown("public_key", admin.key.key_text.clone())
        .shown("server", admin.target.base.clone())
        .field("enrolled", enrolled)
        .field("admins", answer.body);
    ctx.out.report(&report);
    Ok(())
}

fn users(admin: &Admin, cmd: UsersCommand, ctx: &Ctx) -> CliResult {
    let (kind, list) = match cmd {
        UsersCommand::List => (
            "admin.users.list",
            admin.call(
                "list admins",
                Method::GET,
                &["admin", "authorized-users"],
                None,
            )?,
        ),
        UsersCommand::Add { key } => (
            "admin.users.add",
            admin.call(
                "add an admin",
                Method::POST,
                &["admin", "authorized-users"],
                Some(&json!({ "key": key })),
            )?,
        ),
        UsersCommand::Remove { key } => (
            "admin.users.remove",
            admin.call(
                "remove an admin",
                Method::DELETE,
                &["admin", "authorized-users", &key],
                None,
            )?,
        ),
    };
    let mut report = Report::new(kind).field("admins", list.clone());
    for k in list["keys"].as_array().into_iter().flatten() {
        let k = k.as_str().unwrap_or_default();
        let me = if k == admin.key.key_text {
            "  (you)"
        } else {
            ""
        };
        report = report.line(format!("{k}{me}"));
    }
    ctx.out.report(&report);
    Ok(())
}

fn partner_lines(mut report: Report, p: &Value) -> Report {
    let origins: Vec<&str> = p["allowed_origins"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    report = report.line(format!(
        "{}  {}  {}{}",
        p["id"].as_str().unwrap_or_default(),
        p["status"].as_str().unwrap_or_default(),
        p["name"].as_str().unwrap_or_default(),
        if origins.is_empty() {
            String::new()
        } else {
            format!("  origins: {}", origins.join(" "))
        }
    ));
    report
}

fn partner(admin: &Admin, cmd: PartnerCommand, ctx: &Ctx) -> CliResult {
    let (kind, answer) = match cmd {
        PartnerCommand::Create { id, name, origins } => (
            "admin.partner.create",
            admin.call(
                "create the partner",
                Method::POST,
                &["admin", "partners"],
                Some(&json!({"id": id, "name": name, "allowed_origins": origins})),
            )?,
        ),
        PartnerCommand::List => {
            let list = admin.call("list partners", Method::GET, &["admin", "partners"], None)?;
            let mut report = Report::new("admin.partner.list").field("partners", list.clone());
            for p in list.as_array().into_iter().flatten() {
                report = partner_lines(report, p);
            }
            ctx.out.report(&report);
            return Ok(());
        }
        PartnerCommand::Show { id } => (
            "admin.partner.show",
            admin.call(
                "show the partner",
                Method::GET,
                &["admin", "partners", &id],
                None,
            )?,
        ),
        PartnerCommand::Suspend { id } => (
            "admin.partner.update",
            admin.call(
                "suspend the partner",
                Method::PATCH,
                &["admin", "partners", &id],
                Some(&json!({"status": "suspended"})),
            )?,
        ),
        PartnerCommand::Activate { id } => (
            "admin.partner.update",
            admin.call(
                "activate the partner",
                Method::PATCH,
                &["admin", "partners", &id],
                Some(&json!({"status": "active"})),
            )?,
        ),
        PartnerCommand::Origins { id, origins } => (
            "admin.partner.update",
            admin.call(
                "set the partner's origins",
                Method::PATCH,
                &["admin", "partners", &id],
                Some(&json!({ "allowed_origins": origins })),
            )?,
        ),
    };
    let report = partner_lines(Report::new(kind).field("partner", answer.clone()), &answer);
    ctx.out.report(&report);
    Ok(())
}

/// A credential as people read it: one line, then its details.
fn credential_lines(mut report: Report, c: &Value) -> Report {
    let s = |k: &str| c[k].as_str().unwrap_or_default().to_owned();
    report = report.line(format!(
        "{}  {}  {}  {}",
        s("reference"),
        s("state"),
        s("environment"),
        s("name")
    ));
    let mut details = vec![format!("key_id {}", s("key_id"))];
    for k in [
        "algorithm",
        "fingerprint",
        "hint",
        "expires_at",
        "revoked_at",
    ] {
        if let Some(v) = c[k].as_str() {
            details.push(format!("{} {v}", k.replace('_', " ")));
        }
    }
    let scopes: Vec<&str> = c["scopes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if !scopes.is_empty() {
        details.push(format!("scopes {}", scopes.join(",")));
    }
    let usage = &c["usage"];
    if usage.is_object() {
        details.push(format!(
            "used {} accepted / {} rejected",
            usage["accepted"].as_u64().unwrap_or(0),
            usage["rejected"].as_u64().unwrap_or(0)
        ));
    }
    report.line(format!("    {}", details.join("; ")))
}

/// Puts an issued credential (and its secret, shown once) into a report.
fn issued(kind: &str, answer: Value, out: &SecretOut, ctx: &Ctx) -> CliResult {
    let credential = answer["credential"].clone();
    let mut report =
        credential_lines(Report::new(kind), &credential).field("credential", credential.clone());
    if let Some(secret) = answer["secret"].as_str() {
        match &out.secret_out {
            Some(path) => {
                let mut text = zeroize::Zeroizing::new(secret.as_bytes().to_vec());
                text.push(b'\n');
                input::write_key_file(path, &text, FileKind::Private, Overwrite::Never)?;
                report = report.shown("secret_file", path.display().to_string());
            }
            None => {
                report = report.shown("secret", secret.to_owned());
                ctx.out.note(
                    "the secret is shown once and cannot be retrieved again: store it now \
                     (or use --secret-out FILE next time)",
                );
            }
        }
    }
    ctx.out.report(&report);
    Ok(())
}

fn list_credentials(admin: &Admin, partner: &str, purpose: Option<&str>, ctx: &Ctx) -> CliResult {
    let list = admin.call(
        "list credentials",
        Method::GET,
        &["admin", "partners", partner, "credentials"],
        None,
    )?;
    let chosen: Vec<Value> = list
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| purpose.is_none_or(|p| c["purpose"].as_str() == Some(p)))
        .cloned()
        .collect();
    let kind = if purpose.is_some() {
        "admin.api_key.list"
    } else {
        "admin.credential.list"
    };
    let mut report = Report::new(kind).field("credentials", Value::Array(chosen.clone()));
    if chosen.is_empty() {
        report = report.line("(none)");
    }
    for c in &chosen {
        report = credential_lines(report, c);
    }
    ctx.out.report(&report);
    Ok(())
}

fn revoke(admin: &Admin, reference: &str, kind: &str, ctx: &Ctx) -> CliResult {
    let c = admin.call(
        "revoke",
        Method::POST,
        &["admin", "credentials", reference, "revoke"],
        None,
    )?;
    let report = credential_lines(Report::new(kind), &c).field("credential", c.clone());
    ctx.out.report(&report);
    Ok(())
}

fn api_key(admin: &Admin, cmd: ApiKeyCommand, ctx: &Ctx) -> CliResult {
    match cmd {
        ApiKeyCommand::Issue { partner, new, out } => {
            let answer = admin.call(
                "issue the API key",
                Method::POST,
                &["admin", "partners", &partner, "api-keys"],
                Some(&new.json()),
            )?;
            issued("admin.api_key.issue", answer, &out, ctx)
        }
        ApiKeyCommand::List { partner } => list_credentials(admin, &partner, Some("api_key"), ctx),
        ApiKeyCommand::Regenerate {
            reference,
            grace,
            out,
        } => {
            let answer = admin.call(
                "regenerate the API key",
                Method::POST,
                &["admin", "credentials", &reference, "regenerate"],
                Some(&json!({ "grace_secs": grace })),
            )?;
            issued("admin.api_key.regenerate", answer, &out, ctx)
        }
        ApiKeyCommand::Revoke { reference } => {
            revoke(admin, &reference, "admin.api_key.revoke", ctx)
        }
    }
}

fn key(admin: &Admin, cmd: KeyCommand, ctx: &Ctx) -> CliResult {
    let KeyCommand::Upload {
        partner,
        public_key,
        purpose,
        algorithm,
        client_id,
        qredo_mode,
        new,
        out,
    } = cmd;
    let public = input::load_public_key(&public_key, ctx.key_permissions)?;
    let algorithm = match algorithm {
        Some(a) => a,
        None => default_algorithm(purpose, public.key_type())
            .ok_or_else(|| {
                CliError::input(
                    format!(
                        "a {:?} key cannot be registered for {}",
                        public.key_type(),
                        purpose.as_str()
                    ),
                    "Qredo and Altalix keys are RSA; pass an RSA key or another --purpose",
                )
            })?
            .to_owned(),
    };
    let mut body = new.json();
    body["purpose"] = Value::from(purpose.as_str());
    body["algorithm"] = Value::from(algorithm.as_str());
    body["public_key"] = Value::from(public.to_spki_pem());
    if let Some(c) = client_id {
        body["client_id"] = Value::from(c);
    }
    if let Some(m) = qredo_mode {
        body["qredo_mode"] = Value::from(m);
    }
    let answer = admin.call(
        "upload the public key",
        Method::POST,
        &["admin", "partners", &partner, "public-keys"],
        Some(&body),
    )?;
    // The server's thumbprint must be the one of the key we read: the upload was not altered.
    let local = public.jwk_thumbprint();
    if let Some(remote) = answer["credential"]["fingerprint"].as_str()
        && remote != local
    {
        return Err(CliError::server(
            format!("the server registered fingerprint {remote}, but the key sent has {local}"),
            "check for a proxy that alters requests; revoke the new credential",
        ));
    }
    issued("admin.key.upload", answer, &out, ctx)
}

fn secret(admin: &Admin, cmd: SecretCommand, ctx: &Ctx) -> CliResult {
    let SecretCommand::Create {
        partner,
        kind,
        client_id,
        new,
        out,
    } = cmd;
    let mut body = new.json();
    body["kind"] = Value::from(match kind {
        SecretKindArg::JwtHs256 => "jwt_hs256",
        SecretKindArg::Smile => "smile",
    });
    if let Some(c) = client_id {
        body["client_id"] = Value::from(c);
    }
    let answer = admin.call(
        "create the secret",
        Method::POST,
        &["admin", "partners", &partner, "secrets"],
        Some(&body),
    )?;
    issued("admin.secret.create", answer, &out, ctx)
}

fn credential(admin: &Admin, cmd: CredentialCommand, ctx: &Ctx) -> CliResult {
    match cmd {
        CredentialCommand::List { partner } => list_credentials(admin, &partner, None, ctx),
        CredentialCommand::Revoke { reference } => {
            revoke(admin, &reference, "admin.credential.revoke", ctx)
        }
    }
}

/// A developer key given as Actyx text or as a key file.
fn developer_key_text(arg: &str, ctx: &Ctx) -> CliResult<String> {
    use auth_core::scheme::apptrust::AxPublicKey;
    if let Ok(k) = AxPublicKey::from_text(arg.trim()) {
        return Ok(k.to_text());
    }
    let public = input::load_public_key(arg, ctx.key_permissions)?;
    AxPublicKey::from_public_key(&public)
        .map(|k| k.to_text())
        .map_err(|e| {
            CliError::core_input(
                "the developer key",
                &e,
                "developer keys are Ed25519: pass its Actyx text (0...) or an Ed25519 key file",
            )
        })
}

fn app_trust(admin: &Admin, cmd: AppTrustCommand, ctx: &Ctx) -> CliResult {
    let seg = ["admin", "app-trust"];
    let report = match cmd {
        AppTrustCommand::AuthorityInit => {
            let a = admin.call(
                "create the authority",
                Method::POST,
                &[seg[0], seg[1], "authority"],
                None,
            )?;
            Report::new("admin.app_trust.authority")
                .shown("public_key", a["public_key"].as_str().unwrap_or_default())
        }
        AppTrustCommand::Authority => {
            let a = admin.call(
                "show the authority",
                Method::GET,
                &[seg[0], seg[1], "authority"],
                None,
            )?;
            Report::new("admin.app_trust.authority")
                .shown("public_key", a["public_key"].as_str().unwrap_or_default())
        }
        AppTrustCommand::Certificate {
            developer_key,
            domains,
            out,
        } => {
            let key = developer_key_text(&developer_key, ctx)?;
            let c = admin.call(
                "issue the certificate",
                Method::POST,
                &[seg[0], seg[1], "certificates"],
                Some(&json!({"developer_public_key": key, "app_domains": domains})),
            )?;
            let cert = c["certificate"].clone();
            let report =
                Report::new("admin.app_trust.certificate").field("certificate", cert.clone());
            match out {
                Some(path) => {
                    let text = serde_json::to_string_pretty(&cert).unwrap_or_default();
                    input::write_key_file(
                        &path,
                        text.as_bytes(),
                        FileKind::Public,
                        Overwrite::Never,
                    )?;
                    report.shown("certificate_file", path.display().to_string())
                }
                None => report.line(cert.to_string()),
            }
        }
        AppTrustCommand::License {
            app_id,
            expires_at,
            requester_email,
        } => {
            let l = admin.call(
                "issue the license",
                Method::POST,
                &[seg[0], seg[1], "licenses"],
                Some(&json!({"app_id": app_id, "expires_at": expires_at, "requester_email": requester_email})),
            )?;
            Report::new("admin.app_trust.license")
                .shown("license", l["license"].as_str().unwrap_or_default())
        }
        AppTrustCommand::NodeLicensing { set } => {
            let value = match set {
                None => admin.call(
                    "show the node licensing",
                    Method::GET,
                    &[seg[0], seg[1], "node-licensing"],
                    None,
                )?,
                Some(file) => {
                    let text = input::read_path_input(&file, "node licensing")?;
                    let body: Value = serde_json::from_slice(&text).map_err(|e| {
                        CliError::input(
                            format!("the node licensing file is not JSON: {e}"),
                            "write {\"node\": \"development\", \"apps\": {}}",
                        )
                    })?;
                    admin.call(
                        "set the node licensing",
                        Method::PUT,
                        &[seg[0], seg[1], "node-licensing"],
                        Some(&body),
                    )?
                }
            };
            Report::new("admin.app_trust.node_licensing")
                .field("licensing", value.clone())
                .shown("node", value["node"].as_str().unwrap_or_default())
                .line(format!(
                    "apps: {}",
                    value["apps"].as_object().map_or(0, serde_json::Map::len)
                ))
        }
    };
    ctx.out.report(&report);
    Ok(())
}

fn profile_command(cmd: ProfileCommand, ctx: &Ctx) -> CliResult {
    let path = profile::profiles_path()?;
    let mut file = ProfilesFile::load(&path)?;
    let report = match cmd {
        ProfileCommand::List => {
            let mut report = Report::new("admin.profile.list")
                .field("file", path.display().to_string())
                .field("default", file.default.clone())
                .field(
                    "profiles",
                    serde_json::to_value(&file.profiles).unwrap_or_default(),
                );
            if file.profiles.is_empty() {
                report = report.line(format!("(no profiles in {})", path.display()));
            }
            for (name, p) in &file.profiles {
                let mark = if file.default.as_deref() == Some(name) {
                    "*"
                } else {
                    " "
                };
                report = report.line(format!(
                    "{mark} {name}  {}{}",
                    p.url,
                    p.key
                        .as_ref()
                        .map(|k| format!("  key {}", k.display()))
                        .unwrap_or_default()
                ));
            }
            report
        }
        ProfileCommand::Set {
            name,
            url,
            key,
            default,
        } => {
            let url = profile::check_base_url(&url)?;
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(CliError::usage(
                    format!("'{name}' is not a profile name"),
                    "use letters, digits, - and _",
                ));
            }
            file.profiles.insert(name.clone(), Profile { url, key });
            if default {
                file.default = Some(name.clone());
            }
            file.save(&path)?;
            Report::new("admin.profile.set")
                .shown("profile", name)
                .shown("file", path.display().to_string())
        }
        ProfileCommand::Remove { name } => {
            if file.profiles.remove(&name).is_none() {
                return Err(CliError::usage(
                    format!("no profile named '{name}' in {}", path.display()),
                    "see 'authctl admin profile list'",
                ));
            }
            if file.default.as_deref() == Some(name.as_str()) {
                file.default = None;
            }
            file.save(&path)?;
            Report::new("admin.profile.remove").shown("profile", name)
        }
    };
    ctx.out.report(&report);
    Ok(())
}
