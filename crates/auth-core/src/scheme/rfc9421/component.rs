//! RFC 9421 component identifiers (section 2): derived components (`@method`, ...) and header
//! fields with their parameters (`;sf`, `;key`, `;bs`, `;req`, `;name`), parsed from and
//! serialised to structured-field text.

use crate::error::{Error, ErrorCode, Result};
use std::fmt::Write as _;

/// A derived component (RFC 9421 section 2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Derived {
    /// `@method`.
    Method,
    /// `@target-uri`.
    TargetUri,
    /// `@authority`.
    Authority,
    /// `@scheme`.
    Scheme,
    /// `@request-target`.
    RequestTarget,
    /// `@path`.
    Path,
    /// `@query`.
    Query,
    /// `@query-param` (with its `name` parameter).
    QueryParam,
    /// `@status` (responses only).
    Status,
}

impl Derived {
    /// The identifier text, `@method` etc.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Method => "@method",
            Self::TargetUri => "@target-uri",
            Self::Authority => "@authority",
            Self::Scheme => "@scheme",
            Self::RequestTarget => "@request-target",
            Self::Path => "@path",
            Self::Query => "@query",
            Self::QueryParam => "@query-param",
            Self::Status => "@status",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "@method" => Self::Method,
            "@target-uri" => Self::TargetUri,
            "@authority" => Self::Authority,
            "@scheme" => Self::Scheme,
            "@request-target" => Self::RequestTarget,
            "@path" => Self::Path,
            "@query" => Self::Query,
            "@query-param" => Self::QueryParam,
            "@status" => Self::Status,
            _ => return None,
        })
    }
}

/// What a component identifier names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ComponentName {
    /// A derived component.
    Derived(Derived),
    /// A header field, by its lowercase name.
    Field(String),
}

/// A parameter of a component identifier, kept in the order it was given (the order is part
/// of the signature base).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ComponentParam {
    /// `;sf`: the field value re-serialised strictly as a structured field.
    Sf,
    /// `;key="member"`: one member of a dictionary field.
    Key(String),
    /// `;bs`: each field line wrapped as a byte sequence.
    Bs,
    /// `;req`: the component is taken from the request a response answers.
    Req,
    /// `;name="param"`: the (encoded) query parameter name of `@query-param`.
    Name(String),
}

/// One covered component: its name and parameters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Component {
    name: ComponentName,
    params: Vec<ComponentParam>,
}

/// Most components one signature may cover.
pub const MAX_COMPONENTS: usize = 64;
const MAX_PARAM_TEXT: usize = 256;

impl Component {
    /// A derived component without parameters. Use [`Component::query_param`] for
    /// `@query-param`.
    pub fn derived(d: Derived) -> Self {
        Self {
            name: ComponentName::Derived(d),
            params: Vec::new(),
        }
    }

    /// `@method`.
    pub fn method() -> Self {
        Self::derived(Derived::Method)
    }

    /// `@target-uri`.
    pub fn target_uri() -> Self {
        Self::derived(Derived::TargetUri)
    }

    /// `@authority`.
    pub fn authority() -> Self {
        Self::derived(Derived::Authority)
    }

    /// `@path`.
    pub fn path() -> Self {
        Self::derived(Derived::Path)
    }

    /// `@query`.
    pub fn query() -> Self {
        Self::derived(Derived::Query)
    }

    /// `@status`.
    pub fn status() -> Self {
        Self::derived(Derived::Status)
    }

    /// `@query-param;name="..."` for the query parameter whose decoded name is `name`
    /// (it is percent-encoded here as RFC 9421 section 2.2.8 requires).
    pub fn query_param(name: &str) -> Self {
        let mut encoded = String::new();
        form_encode_into(name.as_bytes(), &mut encoded);
        Self {
            name: ComponentName::Derived(Derived::QueryParam),
            params: vec![ComponentParam::Name(encoded)],
        }
    }

    /// A header field; the name is lowercased and must be an HTTP token.
    pub fn field(name: &str) -> Result<Self> {
        let lower = name.to_ascii_lowercase();
        check_field_name(&lower)?;
        Ok(Self {
            name: ComponentName::Field(lower),
            params: Vec::new(),
        })
    }

    /// Adds `;sf` (header fields only).
    pub fn sf(self) -> Result<Self> {
        self.with(ComponentParam::Sf)
    }

    /// Adds `;key="member"` (header fields only).
    pub fn key(self, member: &str) -> Result<Self> {
        self.with(ComponentParam::Key(member.to_owned()))
    }

    /// Adds `;bs` (header fields only).
    pub fn bs(self) -> Result<Self> {
        self.with(ComponentParam::Bs)
    }

    /// Adds `;req` (response signatures covering a request component).
    pub fn req(self) -> Result<Self> {
        self.with(ComponentParam::Req)
    }

    fn with(mut self, p: ComponentParam) -> Result<Self> {
        self.params.push(p);
        self.validate()?;
        Ok(self)
    }

    /// What the identifier names.
    pub fn name(&self) -> &ComponentName {
        &self.name
    }

    /// The parameters, in order.
    pub fn params(&self) -> &[ComponentParam] {
        &self.params
    }

    /// Whether `;req` is set.
    pub fn is_req(&self) -> bool {
        self.params.contains(&ComponentParam::Req)
    }

    pub(crate) fn has(&self, p: &ComponentParam) -> bool {
        self.params.contains(p)
    }

    pub(crate) fn key_param(&self) -> Option<&str> {
        self.params.iter().find_map(|p| match p {
            ComponentParam::Key(k) => Some(k.as_str()),
            _ => None,
        })
    }

    pub(crate) fn name_param(&self) -> Option<&str> {
        self.params.iter().find_map(|p| match p {
            ComponentParam::Name(k) => Some(k.as_str()),
            _ => None,
        })
    }

    /// Same name and the same parameters in any order.
    pub(crate) fn same_as(&self, other: &Self) -> bool {
        self.name == other.name
            && self.params.len() == other.params.len()
            && self.params.iter().all(|p| other.params.contains(p))
    }

    /// Parses one inner-list item of `Signature-Input`.
    pub(crate) fn from_raw(item: &super::sf::Item<'_>) -> Result<Self> {
        let name = item.bare.as_string().ok_or_else(|| {
            Error::malformed("a covered component identifier must be a quoted string")
        })?;
        let name = &*name;
        let name = if name.starts_with('@') {
            ComponentName::Derived(
                Derived::from_name(name)
                    .ok_or_else(|| Error::malformed(format!("unknown derived component {name}")))?,
            )
        } else {
            check_field_name(name)?;
            ComponentName::Field(name.to_owned())
        };
        let mut params = Vec::with_capacity(item.params.len());
        for (k, v) in &item.params {
            let k = *k;
            let flag = |p: ComponentParam| {
                if v.as_boolean() == Some(true) {
                    Ok(p)
                } else {
                    Err(Error::malformed(format!(
                        "component parameter {k} must be a bare flag"
                    )))
                }
            };
            let text = |wrap: fn(String) -> ComponentParam| match v.as_string() {
                Some(s) if s.len() <= MAX_PARAM_TEXT => Ok(wrap(s.into_owned())),
                _ => Err(Error::malformed(format!(
                    "component parameter {k} must be a short quoted string"
                ))),
            };
            params.push(match k {
                "sf" => flag(ComponentParam::Sf)?,
                "bs" => flag(ComponentParam::Bs)?,
                "req" => flag(ComponentParam::Req)?,
                "key" => text(ComponentParam::Key)?,
                "name" => text(ComponentParam::Name)?,
                "tr" => {
                    return Err(Error::new(
                        ErrorCode::UnsupportedAlgorithm,
                        "trailer components (;tr) are not supported",
                    ));
                }
                other => {
                    return Err(Error::malformed(format!(
                        "unknown component parameter {other}"
                    )));
                }
            });
        }
        let c = Self { name, params };
        c.validate()?;
        Ok(c)
    }

    fn validate(&self) -> Result<()> {
        let mut seen_sf = false;
        let mut seen_key = false;
        let mut seen_bs = false;
        let mut seen_req = false;
        let mut seen_name = false;
        for p in &self.params {
            let seen = match p {
                ComponentParam::Sf => &mut seen_sf,
                ComponentParam::Key(_) => &mut seen_key,
                ComponentParam::Bs => &mut seen_bs,
                ComponentParam::Req => &mut seen_req,
                ComponentParam::Name(n) => {
                    if n.is_empty() || !n.bytes().all(|b| (0x20..0x7f).contains(&b)) {
                        return Err(Error::malformed(
                            "the @query-param name must be printable ASCII",
                        ));
                    }
                    &mut seen_name
                }
            };
            if std::mem::replace(seen, true) {
                return Err(Error::malformed("a component parameter is repeated"));
            }
        }
        if self
            .key_param()
            .is_some_and(|k| sfv::KeyRef::from_str(k).is_err())
        {
            return Err(Error::malformed(
                "the ;key parameter is not a structured-field dictionary key",
            ));
        }
        match &self.name {
            ComponentName::Derived(d) => {
                if seen_sf || seen_key || seen_bs {
                    return Err(Error::malformed(
                        ";sf, ;key and ;bs apply to header fields only",
                    ));
                }
                if (*d == Derived::QueryParam) != seen_name {
                    return Err(Error::malformed(
                        "@query-param needs exactly one ;name and other components none",
                    ));
                }
            }
            ComponentName::Field(_) => {
                if seen_name {
                    return Err(Error::malformed(";name applies to @query-param only"));
                }
                if seen_bs && (seen_sf || seen_key) {
                    return Err(Error::malformed(";bs cannot be combined with ;sf or ;key"));
                }
            }
        }
        Ok(())
    }

    /// Appends the serialised identifier (`"@query-param";name="Pet"`) to `out`.
    pub fn write_identifier(&self, out: &mut String) {
        out.push('"');
        match &self.name {
            ComponentName::Derived(d) => out.push_str(d.as_str()),
            ComponentName::Field(f) => out.push_str(f),
        }
        out.push('"');
        for p in &self.params {
            match p {
                ComponentParam::Sf => out.push_str(";sf"),
                ComponentParam::Bs => out.push_str(";bs"),
                ComponentParam::Req => out.push_str(";req"),
                ComponentParam::Key(k) => {
                    out.push_str(";key=");
                    write_sf_string(k, out);
                }
                ComponentParam::Name(n) => {
                    out.push_str(";name=");
                    write_sf_string(n, out);
                }
            }
        }
    }

    /// The serialised identifier as a string.
    pub fn identifier(&self) -> String {
        let mut s = String::new();
        self.write_identifier(&mut s);
        s
    }
}

fn check_field_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > 128
        || !name
            .bytes()
            .all(|b| crate::request::is_tchar(b) && !b.is_ascii_uppercase())
    {
        return Err(Error::malformed(format!(
            "component name {name:?} is not a lowercase header field name"
        )));
    }
    Ok(())
}

/// Writes an sf-string (caller guarantees printable ASCII).
pub(crate) fn write_sf_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// Checks text for an sf-string: printable ASCII only.
pub(crate) fn check_sf_string(s: &str, what: &str) -> Result<()> {
    if s.len() > MAX_PARAM_TEXT || !s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(Error::malformed(format!(
            "{what} must be at most {MAX_PARAM_TEXT} printable ASCII characters"
        )));
    }
    Ok(())
}

/// Percent-encodes bytes with the `application/x-www-form-urlencoded` percent-encode set,
/// spaces as `%20` (RFC 9421 section 2.2.8).
pub(crate) fn form_encode_into(bytes: &[u8], out: &mut String) {
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'*' | b'-' | b'.' | b'_') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

/// `application/x-www-form-urlencoded` decoding of one name or value: `+` is a space, `%XX`
/// a byte, an invalid escape stays as it is (WHATWG URL).
pub(crate) fn form_decode(text: &str) -> Vec<u8> {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                b.get(i + 1).copied().and_then(hexval),
                b.get(i + 2).copied().and_then(hexval),
            ) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    out
}

fn hexval(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn query_param_names_are_encoded() {
        assert_eq!(
            Component::query_param("façade\": ").identifier(),
            r#""@query-param";name="fa%C3%A7ade%22%3A%20""#
        );
        assert_eq!(form_decode("with+plus%20x%zz%4"), b"with plus x%zz%4");
    }

    #[test]
    fn invalid_parameter_combinations_are_rejected() {
        assert!(Component::field("x").unwrap().bs().unwrap().sf().is_err());
        assert!(Component::method().sf().is_err());
        assert!(Component::field("Bad Name").is_err());
        assert!(Component::field("x").unwrap().key("Upper").is_err());
        assert!(Component::field("x").unwrap().req().unwrap().req().is_err());
    }
}
