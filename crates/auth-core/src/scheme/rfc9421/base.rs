//! The RFC 9421 signature base (section 2.5): one line per covered component, then the
//! `@signature-params` line, written into a caller's buffer.

use super::component::{
    Component, ComponentName, ComponentParam, Derived, form_decode, form_encode_into,
};
use crate::error::{Error, ErrorCode, Result};
use crate::request::{Headers, Message, Request};
use sfv::FieldType as _;

/// Largest signature base built (bytes).
pub const MAX_SIGNATURE_BASE: usize = 64 * 1024;

/// Writes the signature base for `components` and the serialised signature parameters
/// `params_text` into `out` (cleared first).
pub(crate) fn write_base(
    msg: &Message<'_>,
    components: &[Component],
    params_text: &str,
    out: &mut String,
) -> Result<()> {
    out.clear();
    for (i, c) in components.iter().enumerate() {
        if components[..i].iter().any(|p| p.same_as(c)) {
            return Err(Error::malformed(format!(
                "component {} is covered twice",
                c.identifier()
            )));
        }
        c.write_identifier(out);
        out.push_str(": ");
        write_value(msg, c, out)?;
        out.push('\n');
        if out.len() > MAX_SIGNATURE_BASE {
            return Err(too_large());
        }
    }
    out.push_str("\"@signature-params\": ");
    out.push_str(params_text);
    if out.len() > MAX_SIGNATURE_BASE {
        return Err(too_large());
    }
    Ok(())
}

fn too_large() -> Error {
    Error::new(ErrorCode::TooLarge, "the signature base exceeds 64 KiB")
}

enum Source<'a> {
    Request(&'a Request<'a>),
    Response(u16, Headers<'a>),
}

fn write_value(msg: &Message<'_>, c: &Component, out: &mut String) -> Result<()> {
    let source = match (msg, c.is_req()) {
        (Message::Request(r), false) => Source::Request(r),
        (Message::Request(_), true) => {
            return Err(Error::malformed(
                ";req is only meaningful in a response signature",
            ));
        }
        (Message::Response { response, .. }, false) => {
            Source::Response(response.status, response.headers)
        }
        (Message::Response { request, .. }, true) => Source::Request(request.ok_or_else(|| {
            Error::new(
                ErrorCode::MissingComponent,
                "a ;req component needs the request the response answers",
            )
        })?),
    };
    match (c.name(), &source) {
        (ComponentName::Field(name), Source::Request(r)) => write_field(r.headers, name, c, out),
        (ComponentName::Field(name), Source::Response(_, h)) => write_field(*h, name, c, out),
        (ComponentName::Derived(Derived::Status), Source::Response(status, _)) => {
            use std::fmt::Write as _;
            let _ = write!(out, "{status:03}");
            Ok(())
        }
        (ComponentName::Derived(Derived::Status), Source::Request(_)) => Err(Error::malformed(
            "@status can only be covered for a response (without ;req)",
        )),
        (ComponentName::Derived(d), Source::Request(r)) => {
            write_derived(r, *d, c.name_param(), out)
        }
        (ComponentName::Derived(d), Source::Response(..)) => Err(Error::malformed(format!(
            "{} is a request component; in a response signature it needs ;req",
            d.as_str()
        ))),
    }
}

fn write_derived(r: &Request<'_>, d: Derived, name: Option<&str>, out: &mut String) -> Result<()> {
    let t = &r.target;
    match d {
        Derived::Method => out.push_str(r.method),
        Derived::TargetUri => {
            out.push_str(t.scheme());
            out.push_str("://");
            out.push_str(t.authority());
            // An empty path is "/" (RFC 9110 section 4.2.3), except for a server-wide OPTIONS.
            if t.path().is_empty() && r.method != "OPTIONS" {
                out.push('/');
            }
            out.push_str(t.path());
            if let Some(q) = t.query() {
                out.push('?');
                out.push_str(q);
            }
        }
        Derived::Authority => write_authority(t.scheme(), t.authority(), out),
        Derived::Scheme => push_lower(t.scheme(), out),
        Derived::RequestTarget => {
            out.push_str(if t.path().is_empty() { "/" } else { t.path() });
            if let Some(q) = t.query() {
                out.push('?');
                out.push_str(q);
            }
        }
        Derived::Path => out.push_str(if t.path().is_empty() { "/" } else { t.path() }),
        Derived::Query => {
            out.push('?');
            out.push_str(t.query().unwrap_or(""));
        }
        Derived::QueryParam => {
            let wanted = name.ok_or_else(|| Error::malformed("@query-param needs ;name"))?;
            let mut found: Option<&str> = None;
            let mut encoded = String::new();
            for pair in t.query().unwrap_or("").split('&').filter(|p| !p.is_empty()) {
                let (n, v) = pair.split_once('=').unwrap_or((pair, ""));
                encoded.clear();
                form_encode_into(&form_decode(n), &mut encoded);
                if encoded == wanted {
                    if found.is_some() {
                        return Err(Error::malformed(format!(
                            "query parameter {wanted} occurs more than once; sign @query instead"
                        )));
                    }
                    found = Some(v);
                }
            }
            let v = found.ok_or_else(|| {
                Error::new(
                    ErrorCode::MissingComponent,
                    format!("covered query parameter {wanted} is absent from the request"),
                )
            })?;
            form_encode_into(&form_decode(v), out);
        }
        Derived::Status => {
            return Err(Error::malformed("@status applies to responses only"));
        }
    }
    Ok(())
}

/// `@authority`: the host lowercased, the port dropped when empty or the scheme's default
/// (RFC 9110 section 4.2.3; leading zeros ignored, as Python's implementation does).
fn write_authority(scheme: &str, authority: &str, out: &mut String) {
    // The port follows the last ':' unless that ':' is inside an IPv6 literal.
    let (host, port) = match authority.rfind(':') {
        Some(i) if !authority[i..].contains(']') => (&authority[..i], Some(&authority[i + 1..])),
        _ => (authority, None),
    };
    let default = if scheme.eq_ignore_ascii_case("https") {
        "443"
    } else if scheme.eq_ignore_ascii_case("http") {
        "80"
    } else {
        ""
    };
    push_lower(host, out);
    match port {
        Some(p)
            if p.is_empty() || (!default.is_empty() && p.trim_start_matches('0') == default) => {}
        Some(p) => {
            out.push(':');
            out.push_str(p);
        }
        None => {}
    }
}

fn push_lower(s: &str, out: &mut String) {
    out.extend(s.chars().map(|c| c.to_ascii_lowercase()));
}

/// How a field line may look in the signature base.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Line {
    /// Printable US-ASCII and HTAB only (the signature base is US-ASCII, RFC 9421 section 2.5).
    Text,
    /// Anything: the line is Base64-wrapped (`;bs`).
    Binary,
}

fn check_value(v: &str, line: Line) -> Result<&str> {
    if v.len() > crate::request::MAX_HEADER_VALUE {
        return Err(Error::new(
            ErrorCode::TooLarge,
            "a covered header value is too long",
        ));
    }
    if line == Line::Text && !v.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b)) {
        return Err(Error::malformed(
            "a covered header value has control or non-ASCII characters; cover it with ;bs",
        ));
    }
    Ok(v.trim_matches([' ', '\t']))
}

/// Writes every line of field `name` through `write`, separated by `", "`; a field with no
/// line is a missing component.
fn join_lines(
    headers: Headers<'_>,
    name: &str,
    line: Line,
    out: &mut String,
    mut write: impl FnMut(&str, &mut String),
) -> Result<()> {
    let mut any = false;
    for v in headers.get_all(name) {
        let v = check_value(v, line)?;
        if any {
            out.push_str(", ");
        }
        any = true;
        write(v, out);
    }
    if any {
        Ok(())
    } else {
        Err(Error::new(
            ErrorCode::MissingComponent,
            format!("covered header {name} is absent from the message"),
        ))
    }
}

fn write_field(headers: Headers<'_>, name: &str, c: &Component, out: &mut String) -> Result<()> {
    if c.has(&ComponentParam::Bs) {
        return join_lines(headers, name, Line::Binary, out, |v, out| {
            out.push(':');
            out.push_str(&crate::encoding::b64_encode(v.as_bytes()));
            out.push(':');
        });
    }
    let structured = c.has(&ComponentParam::Sf) || c.key_param().is_some();
    if !structured {
        return join_lines(headers, name, Line::Text, out, |v, out| out.push_str(v));
    }
    // Structured: combine the lines, parse, serialise strictly.
    let mut combined = String::new();
    join_lines(headers, name, Line::Text, &mut combined, |v, out| {
        out.push_str(v)
    })?;
    let bad = || {
        Error::malformed(format!(
            "covered header {name} is not a valid structured field"
        ))
    };
    if let Some(key) = c.key_param() {
        let dict: sfv::Dictionary = sfv::Parser::new(&combined).parse().map_err(|_| bad())?;
        let member = dict.get(key).ok_or_else(|| {
            Error::new(
                ErrorCode::MissingComponent,
                format!("covered dictionary member {key} is absent from header {name}"),
            )
        })?;
        let mut ser = sfv::ListSerializer::with_buffer(out);
        ser.members(std::iter::once(member));
        let _ = ser.finish();
        return Ok(());
    }
    let serialized = match sf_kind(name) {
        SfKind::Dictionary => sfv::Parser::new(&combined)
            .parse::<sfv::Dictionary>()
            .map_err(|_| bad())?
            .serialize(),
        SfKind::List => sfv::Parser::new(&combined)
            .parse::<sfv::List>()
            .map_err(|_| bad())?
            .serialize(),
        SfKind::Item => Some(
            sfv::Parser::new(&combined)
                .parse::<sfv::Item>()
                .map_err(|_| bad())?
                .serialize(),
        ),
        SfKind::Unknown => {
            if let Ok(d) = sfv::Parser::new(&combined).parse::<sfv::Dictionary>() {
                d.serialize()
            } else if let Ok(l) = sfv::Parser::new(&combined).parse::<sfv::List>() {
                l.serialize()
            } else {
                Some(
                    sfv::Parser::new(&combined)
                        .parse::<sfv::Item>()
                        .map_err(|_| bad())?
                        .serialize(),
                )
            }
        }
    };
    out.push_str(&serialized.unwrap_or_default());
    Ok(())
}

enum SfKind {
    Dictionary,
    List,
    Item,
    Unknown,
}

/// Structured types of registered fields a signer is likely to cover with `;sf`.
fn sf_kind(name: &str) -> SfKind {
    match name {
        "signature-input"
        | "signature"
        | "content-digest"
        | "repr-digest"
        | "want-content-digest"
        | "want-repr-digest"
        | "accept-signature"
        | "priority"
        | "cdn-cache-control"
        | "example-dict" => SfKind::Dictionary,
        "cache-status" | "proxy-status" | "accept-ch" | "client-cert-chain" => SfKind::List,
        "client-cert" => SfKind::Item,
        _ => SfKind::Unknown,
    }
}
