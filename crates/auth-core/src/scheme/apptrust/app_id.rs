//! App IDs (lowercase reverse-DNS names) and the app domains of developer certificates
//! (`com.acme.*`), with the rule that matches one against the other.

use crate::error::{Error, Result};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// Longest accepted app ID, in bytes.
pub const MAX_APP_ID_LEN: usize = 128;
/// Longest label (the part between dots), as in DNS.
pub const MAX_LABEL_LEN: usize = 63;
/// App IDs under this prefix may run without a signature (trial mode).
pub const TRIAL_PREFIX: &str = "com.example.";

fn is_label_char(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-'
}

/// Checks a DNS-style label: 1 to 63 of `[a-z0-9-]`, no dash at either end.
fn check_label(label: &str) -> std::result::Result<(), &'static str> {
    let b = label.as_bytes();
    if b.is_empty() {
        return Err("has an empty label (leading, trailing or doubled dot)");
    }
    if b.len() > MAX_LABEL_LEN {
        return Err("has a label longer than 63 characters");
    }
    if !b.iter().all(|&c| is_label_char(c)) {
        return Err("may only contain lowercase ASCII letters, digits, dashes and dots");
    }
    if b[0] == b'-' || b[b.len() - 1] == b'-' {
        return Err("has a label that starts or ends with a dash");
    }
    Ok(())
}

/// A valid app ID: a lowercase reverse-DNS name of at least two labels, each 1 to 63 of
/// `[a-z0-9-]` not starting or ending with a dash, at most [`MAX_APP_ID_LEN`] bytes in all.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AppId(pub(super) String);

impl AppId {
    /// Validates `text`; a rejection is [`crate::ErrorCode::Malformed`] saying what is wrong.
    pub fn parse(text: &str) -> Result<Self> {
        let bad = |why: &str| Error::malformed(format!("app ID {why}"));
        if text.is_empty() {
            return Err(bad("is empty"));
        }
        if text.len() > MAX_APP_ID_LEN {
            return Err(bad("is longer than 128 bytes"));
        }
        let mut labels = 0usize;
        for label in text.split('.') {
            check_label(label).map_err(bad)?;
            labels += 1;
        }
        if labels < 2 {
            return Err(bad(
                "needs at least two dot-separated labels (reverse DNS, e.g. com.acme.app)",
            ));
        }
        Ok(Self(text.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the ID is under [`TRIAL_PREFIX`] and may run unsigned.
    pub fn is_trial(&self) -> bool {
        self.0.starts_with(TRIAL_PREFIX)
    }
}

impl fmt::Display for AppId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for AppId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AppId({})", self.0)
    }
}

impl FromStr for AppId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl Serialize for AppId {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for AppId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// An app domain of a developer certificate, `<tld>.<apex>.*` (the form
/// `^[a-z0-9-]+\.[a-z0-9-]+\.\*$`, each label at most 63 characters).
///
/// It covers every app ID with at least one more label below `<tld>.<apex>`:
/// `com.acme.*` covers `com.acme.app` and `com.acme.team.app`, not `com.acme` or `com.acmex.app`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct AppDomain {
    text: String,
}

impl AppDomain {
    /// Validates `text`; a rejection is [`crate::ErrorCode::Malformed`].
    pub fn parse(text: &str) -> Result<Self> {
        let bad = |why: &str| {
            Error::malformed(format!(
                "app domain {why}; the required form is <tld>.<apex>.* (e.g. com.acme.*)"
            ))
        };
        let prefix = text
            .strip_suffix(".*")
            .ok_or_else(|| bad("does not end with \".*\""))?;
        let mut parts = prefix.split('.');
        let (Some(tld), Some(apex), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("must have exactly two labels before \".*\""));
        };
        for label in [tld, apex] {
            if label.is_empty() || label.len() > MAX_LABEL_LEN {
                return Err(bad("has an empty or over-long label"));
            }
            if !label.bytes().all(is_label_char) {
                return Err(bad(
                    "may only contain lowercase ASCII letters, digits and dashes",
                ));
            }
        }
        Ok(Self {
            text: text.to_owned(),
        })
    }

    /// The domain a work e-mail address stands for: `jane@awesome-si.com` gives
    /// `com.awesome-si.*`. Only two-label mail domains qualify (for `mail.acme.co.uk` the
    /// owner cannot be told from the name: certify explicit domains instead).
    pub fn from_email(email: &str) -> Result<Self> {
        if email.len() > 254 {
            return Err(Error::malformed("e-mail address is longer than 254 bytes"));
        }
        let (local, domain) = email
            .rsplit_once('@')
            .ok_or_else(|| Error::malformed("e-mail address has no '@'"))?;
        if local.is_empty() || local.contains('@') {
            return Err(Error::malformed(
                "e-mail address has an empty or invalid local part",
            ));
        }
        let domain = domain.to_ascii_lowercase();
        let (apex, tld) = domain.split_once('.').ok_or_else(|| {
            Error::malformed("e-mail domain must have two labels (e.g. acme.com)")
        })?;
        if tld.contains('.') {
            return Err(Error::malformed(
                "e-mail domain has more than two labels; certify explicit app domains instead",
            ));
        }
        Self::parse(&format!("{tld}.{apex}.*"))
    }

    /// The text (`com.acme.*`).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `app_id` falls under this domain.
    pub fn covers(&self, app_id: &AppId) -> bool {
        // `text` ends with ".*": the prefix including its dot must start the app ID, and an
        // AppId never ends with a dot, so at least one more non-empty label follows.
        let prefix = &self.text[..self.text.len() - 1];
        app_id.as_str().len() > prefix.len() && app_id.as_str().starts_with(prefix)
    }
}

impl fmt::Display for AppDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for AppDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AppDomain({})", self.text)
    }
}

impl FromStr for AppDomain {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}
