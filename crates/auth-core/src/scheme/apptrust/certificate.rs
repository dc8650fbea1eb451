//! Developer certificates: an authority signs CBOR `{"devPubkey", "appDomains"}` to let a
//! developer key sign manifests for app IDs under those domains. JSON form
//! `{"devPrivkey"?, "devPubkey", "appDomains", "axSignature"}`.

use super::app_id::{AppDomain, AppId};
use super::cbor::{Item, encode};
use super::keytext::{
    AuthorityKey, AxPublicKey, decode_signature, ed25519_signer, private_key_from_text,
    private_key_to_text, sign_ed25519,
};
use crate::encoding::b64_encode;
use crate::error::{Error, ErrorCode, Result};
use crate::keys::{PrivateKey, SigningKey};
use crate::rand::SecureRandom;
use serde::Deserialize;
use zeroize::Zeroizing;

/// Most app domains one certificate may carry.
pub const MAX_APP_DOMAINS: usize = 64;
/// Bound on a certificate's JSON text.
const MAX_CERT_JSON_LEN: usize = 16 * 1024;

/// A developer certificate: the developer's public key and app domains, signed by the authority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeveloperCertificate {
    dev_pubkey: AxPublicKey,
    app_domains: Vec<AppDomain>,
    ax_signature: [u8; 64],
}

/// A certificate as a developer stores it, optionally with its private key (`devPrivkey`).
#[derive(Debug)]
pub struct CertificateFile {
    /// The certificate.
    pub certificate: DeveloperCertificate,
    /// The developer's private key, when the file carries it (checked to match `devPubkey`).
    pub dev_private: Option<PrivateKey>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CertJson {
    dev_privkey: Option<String>,
    dev_pubkey: String,
    app_domains: Vec<String>,
    ax_signature: String,
}

impl DeveloperCertificate {
    /// The bytes the authority signs: definite CBOR map
    /// `{"devPubkey": "0...", "appDomains": [...]}`.
    pub fn signing_bytes(dev_pubkey: &AxPublicKey, app_domains: &[AppDomain]) -> Vec<u8> {
        let key = dev_pubkey.to_text();
        encode(&Item::Map(vec![
            ("devPubkey", Item::Text(&key)),
            (
                "appDomains",
                Item::Array(app_domains.iter().map(|d| Item::Text(d.as_str())).collect()),
            ),
        ]))
    }

    /// The authority (an Ed25519 signing key) certifies `dev_pubkey` for `app_domains`
    /// (1 to [`MAX_APP_DOMAINS`]).
    pub fn issue(
        authority: &SigningKey,
        dev_pubkey: AxPublicKey,
        app_domains: Vec<AppDomain>,
        rng: &dyn SecureRandom,
    ) -> Result<Self> {
        ed25519_signer(authority, "authority")?;
        check_domain_count(app_domains.len())?;
        let ax_signature = sign_ed25519(
            authority,
            &Self::signing_bytes(&dev_pubkey, &app_domains),
            rng,
        )?;
        Ok(Self {
            dev_pubkey,
            app_domains,
            ax_signature,
        })
    }

    /// Certifies `dev_pubkey` for the domain of a work e-mail address
    /// (`jane@awesome-si.com` gives `com.awesome-si.*`, see [`AppDomain::from_email`]).
    pub fn issue_for_email(
        authority: &SigningKey,
        dev_pubkey: AxPublicKey,
        email: &str,
        rng: &dyn SecureRandom,
    ) -> Result<Self> {
        Self::issue(
            authority,
            dev_pubkey,
            vec![AppDomain::from_email(email)?],
            rng,
        )
    }

    /// Assembles a certificate from its parts (e.g. decoded from a manifest signature); it is
    /// not verified until [`verify`](Self::verify).
    pub fn from_parts(
        dev_pubkey: AxPublicKey,
        app_domains: Vec<AppDomain>,
        ax_signature: [u8; 64],
    ) -> Result<Self> {
        check_domain_count(app_domains.len())?;
        Ok(Self {
            dev_pubkey,
            app_domains,
            ax_signature,
        })
    }

    /// Checks the authority's signature. A mismatch (any field changed, or another authority)
    /// is [`ErrorCode::SignatureMismatch`].
    pub fn verify(&self, authority: &AuthorityKey) -> Result<()> {
        authority
            .verify(
                &Self::signing_bytes(&self.dev_pubkey, &self.app_domains),
                &self.ax_signature,
            )
            .map_err(|_| {
                Error::signature_mismatch(
                    "the developer certificate is not signed by this authority (axSignature)",
                )
            })
    }

    /// Whether one of the domains covers `app_id`.
    pub fn covers(&self, app_id: &AppId) -> bool {
        self.app_domains.iter().any(|d| d.covers(app_id))
    }

    /// The developer's public key.
    pub fn dev_pubkey(&self) -> &AxPublicKey {
        &self.dev_pubkey
    }

    /// The certified app domains.
    pub fn app_domains(&self) -> &[AppDomain] {
        &self.app_domains
    }

    /// The authority's signature.
    pub fn ax_signature(&self) -> &[u8; 64] {
        &self.ax_signature
    }

    /// The JSON form, with `devPrivkey` when `dev_private` is given (then the text is secret:
    /// it is wiped on drop). The private key must belong to `devPubkey`.
    pub fn to_json(&self, dev_private: Option<&PrivateKey>) -> Result<Zeroizing<String>> {
        let mut obj = serde_json::Map::new();
        if let Some(k) = dev_private {
            if AxPublicKey::from_public_key(&k.public_key())? != self.dev_pubkey {
                return Err(Error::invalid_key(
                    "the private key does not belong to the certificate's devPubkey",
                ));
            }
            let text = private_key_to_text(k)?;
            obj.insert("devPrivkey".into(), text.as_str().into());
        }
        obj.insert("devPubkey".into(), self.dev_pubkey.to_text().into());
        obj.insert(
            "appDomains".into(),
            self.app_domains
                .iter()
                .map(|d| d.as_str())
                .collect::<Vec<_>>()
                .into(),
        );
        obj.insert("axSignature".into(), b64_encode(&self.ax_signature).into());
        let text = Zeroizing::new(serde_json::Value::Object(obj).to_string());
        Ok(text)
    }

    /// Parses the JSON form (bounded, unknown fields rejected). Not verified yet.
    pub fn from_json(text: &str) -> Result<CertificateFile> {
        if text.len() > MAX_CERT_JSON_LEN {
            return Err(Error::new(
                ErrorCode::TooLarge,
                "developer certificate JSON is larger than 16 KiB",
            ));
        }
        if !crate::scheme::is_json_object(text.as_bytes()) {
            return Err(Error::malformed(
                "a developer certificate must be a JSON object",
            ));
        }
        let json: CertJson = serde_json::from_str(text)
            .map_err(|e| Error::malformed(format!("developer certificate JSON is invalid: {e}")))?;
        let json = Zeroizing::new(json);
        let certificate = Self::from_parts(
            AxPublicKey::from_text(&json.dev_pubkey)?,
            parse_domains(&json.app_domains)?,
            decode_signature(&json.ax_signature, "axSignature")?,
        )?;
        let dev_private = match &json.dev_privkey {
            None => None,
            Some(t) => {
                let k = private_key_from_text(t)?;
                if AxPublicKey::from_public_key(&k.public_key())? != certificate.dev_pubkey {
                    return Err(Error::invalid_key(
                        "devPrivkey does not belong to devPubkey",
                    ));
                }
                Some(k)
            }
        };
        Ok(CertificateFile {
            certificate,
            dev_private,
        })
    }
}

impl zeroize::Zeroize for CertJson {
    fn zeroize(&mut self) {
        if let Some(k) = self.dev_privkey.as_mut() {
            k.zeroize();
        }
    }
}

pub(crate) fn parse_domains(texts: &[String]) -> Result<Vec<AppDomain>> {
    check_domain_count(texts.len())?;
    texts.iter().map(|t| AppDomain::parse(t)).collect()
}

fn check_domain_count(n: usize) -> Result<()> {
    if n == 0 || n > MAX_APP_DOMAINS {
        return Err(Error::malformed(format!(
            "a developer certificate needs 1 to {MAX_APP_DOMAINS} app domains"
        )));
    }
    Ok(())
}
