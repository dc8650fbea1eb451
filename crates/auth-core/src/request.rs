//! A borrowed, framework-free view of an HTTP request or response: what every request-signing
//! scheme (RFC 9421, Qredo, ...) signs and verifies. Adapters build it from their HTTP
//! framework's types; nothing here copies the message.

use crate::error::{Error, Result};

/// Longest target URI accepted (bytes).
pub const MAX_URI_LEN: usize = 8 * 1024;

/// The target URI, split into the parts the schemes sign. The parts are kept exactly as
/// received (no normalisation), so the absolute URI is `scheme "://" authority path ["?" query]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetUri<'a> {
    scheme: &'a str,
    authority: &'a str,
    path: &'a str,
    query: Option<&'a str>,
}

impl<'a> TargetUri<'a> {
    /// Splits an absolute URI such as `https://example.com/foo?a=b`. A fragment is rejected:
    /// it never reaches a server.
    pub fn parse(uri: &'a str) -> Result<Self> {
        if uri.len() > MAX_URI_LEN {
            return Err(Error::new(
                crate::ErrorCode::TooLarge,
                "the target URI is too long",
            ));
        }
        if !uri.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::malformed(
                "the target URI must be printable ASCII without spaces (percent-encode the rest)",
            ));
        }
        let (scheme, rest) = uri
            .split_once("://")
            .ok_or_else(|| Error::malformed("the target URI is not absolute (no scheme://)"))?;
        if scheme.is_empty()
            || !scheme
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphabetic())
            || !scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        {
            return Err(Error::malformed("the target URI has an invalid scheme"));
        }
        if rest.contains('#') {
            return Err(Error::malformed("the target URI must not carry a fragment"));
        }
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path_query) = rest.split_at(end);
        Self::from_parts(scheme, authority, path_query)
    }

    /// Builds the view from the parts a server sees: the scheme it listens with, the `Host`
    /// (or `:authority`), and the request target in origin form (`/path?query`).
    pub fn from_parts(
        scheme: &'a str,
        authority: &'a str,
        path_and_query: &'a str,
    ) -> Result<Self> {
        if authority.is_empty() || authority.contains(['@', '/', '?', '#']) {
            return Err(Error::malformed(
                "the authority must be host[:port] without user information",
            ));
        }
        if scheme.len() + authority.len() + path_and_query.len() + 3 > MAX_URI_LEN {
            return Err(Error::new(
                crate::ErrorCode::TooLarge,
                "the target URI is too long",
            ));
        }
        if !(path_and_query.is_empty()
            || path_and_query.starts_with('/')
            || path_and_query.starts_with('?'))
        {
            return Err(Error::malformed("the request target must start with '/'"));
        }
        if !path_and_query.bytes().all(|b| b.is_ascii_graphic()) || path_and_query.contains('#') {
            return Err(Error::malformed(
                "the request target must be printable ASCII without spaces or fragment",
            ));
        }
        let (path, query) = match path_and_query.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path_and_query, None),
        };
        Ok(Self {
            scheme,
            authority,
            path,
            query,
        })
    }

    /// The scheme as received (`https`).
    pub fn scheme(&self) -> &'a str {
        self.scheme
    }

    /// The authority as received (`example.com:8443`).
    pub fn authority(&self) -> &'a str {
        self.authority
    }

    /// The path as received; may be empty (`https://example.com`).
    pub fn path(&self) -> &'a str {
        self.path
    }

    /// The query without its `?`, `None` when the URI has no `?`.
    pub fn query(&self) -> Option<&'a str> {
        self.query
    }

    /// Appends the absolute URI, exactly as received, to `out`.
    pub fn write_absolute(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.scheme.as_bytes());
        out.extend_from_slice(b"://");
        out.extend_from_slice(self.authority.as_bytes());
        out.extend_from_slice(self.path.as_bytes());
        if let Some(q) = self.query {
            out.push(b'?');
            out.extend_from_slice(q.as_bytes());
        }
    }

    /// The absolute URI as a new string.
    pub fn to_absolute(&self) -> String {
        let mut out = Vec::with_capacity(self.len());
        self.write_absolute(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    fn len(&self) -> usize {
        self.scheme.len()
            + 3
            + self.authority.len()
            + self.path.len()
            + self.query.map_or(0, |q| q.len() + 1)
    }
}

/// Longest single header value accepted by the schemes (bytes).
pub const MAX_HEADER_VALUE: usize = 16 * 1024;

/// The header fields of a message: `(name, value)` pairs in the order received. Names compare
/// case-insensitively; a name may occur several times (one pair per field line).
#[derive(Debug, Clone, Copy, Default)]
pub struct Headers<'a> {
    fields: &'a [(&'a str, &'a str)],
}

impl<'a> Headers<'a> {
    /// Wraps the field lines.
    pub const fn new(fields: &'a [(&'a str, &'a str)]) -> Self {
        Self { fields }
    }

    /// All field lines.
    pub fn fields(&self) -> &'a [(&'a str, &'a str)] {
        self.fields
    }

    /// The values of every line named `name` (case-insensitive), in order.
    pub fn get_all<'n>(&self, name: &'n str) -> impl Iterator<Item = &'a str> + 'n
    where
        'a: 'n,
    {
        self.fields
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }

    /// The value of the only line named `name`; `Ok(None)` when absent, an error when the
    /// field occurs more than once (a sender smuggling a second value).
    pub fn get_one(&self, name: &str) -> Result<Option<&'a str>> {
        let mut it = self.get_all(name);
        let first = it.next();
        if it.next().is_some() {
            return Err(Error::malformed(format!(
                "header {name} occurs more than once"
            )));
        }
        Ok(first)
    }

    /// Whether a line named `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.fields
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    }
}

/// The body as the verifier sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Body<'a> {
    /// No body (or an empty one).
    #[default]
    Empty,
    /// The complete body bytes.
    Bytes(&'a [u8]),
    /// A body is present but streamed: the caller checks it against `Content-Digest` with
    /// [`crate::content_digest::DigestVerifier`] as it arrives, and must reject the request
    /// when that check fails.
    Streamed,
}

impl<'a> Body<'a> {
    /// From optional bytes; an empty slice counts as no body.
    pub fn from_bytes(bytes: &'a [u8]) -> Self {
        if bytes.is_empty() {
            Self::Empty
        } else {
            Self::Bytes(bytes)
        }
    }

    /// Whether the message carries a (non-empty) body.
    pub fn is_present(&self) -> bool {
        match self {
            Self::Empty => false,
            Self::Bytes(b) => !b.is_empty(),
            Self::Streamed => true,
        }
    }

    /// The bytes when available (empty for [`Body::Empty`], `None` for [`Body::Streamed`]).
    pub fn bytes(&self) -> Option<&'a [u8]> {
        match self {
            Self::Empty => Some(&[]),
            Self::Bytes(b) => Some(b),
            Self::Streamed => None,
        }
    }
}

/// A request: method, target URI, header fields and body, all borrowed.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The method as received (`POST`).
    pub method: &'a str,
    /// The target URI.
    pub target: TargetUri<'a>,
    /// The header fields.
    pub headers: Headers<'a>,
    /// The body.
    pub body: Body<'a>,
}

impl<'a> Request<'a> {
    /// A request from its parts; the method must be an HTTP token.
    pub fn new(
        method: &'a str,
        target: TargetUri<'a>,
        headers: Headers<'a>,
        body: Body<'a>,
    ) -> Result<Self> {
        if method.is_empty() || method.len() > 32 || !method.bytes().all(is_tchar) {
            return Err(Error::malformed("the method is not an HTTP token"));
        }
        Ok(Self {
            method,
            target,
            headers,
            body,
        })
    }

    /// Shorthand: parses `uri` as an absolute URI.
    pub fn from_uri(
        method: &'a str,
        uri: &'a str,
        headers: &'a [(&'a str, &'a str)],
        body: &'a [u8],
    ) -> Result<Self> {
        Self::new(
            method,
            TargetUri::parse(uri)?,
            Headers::new(headers),
            Body::from_bytes(body),
        )
    }
}

/// A response: status, header fields and body, all borrowed.
#[derive(Debug, Clone, Copy)]
pub struct Response<'a> {
    /// The status code (100..=999).
    pub status: u16,
    /// The header fields.
    pub headers: Headers<'a>,
    /// The body.
    pub body: Body<'a>,
}

impl<'a> Response<'a> {
    /// A response from its parts; the status must have three digits.
    pub fn new(status: u16, headers: Headers<'a>, body: Body<'a>) -> Result<Self> {
        if !(100..=999).contains(&status) {
            return Err(Error::malformed("the status code must have three digits"));
        }
        Ok(Self {
            status,
            headers,
            body,
        })
    }
}

/// The message a signature covers: a request, or a response with (optionally) the request
/// it answers (needed for components marked `;req`).
#[derive(Debug, Clone, Copy)]
pub enum Message<'a> {
    /// A request.
    Request(&'a Request<'a>),
    /// A response.
    Response {
        /// The response.
        response: &'a Response<'a>,
        /// The request it answers, if known.
        request: Option<&'a Request<'a>>,
    },
}

impl<'a> Message<'a> {
    /// The header fields of the message itself.
    pub fn headers(&self) -> Headers<'a> {
        match self {
            Self::Request(r) => r.headers,
            Self::Response { response, .. } => response.headers,
        }
    }

    /// The body of the message itself.
    pub fn body(&self) -> Body<'a> {
        match self {
            Self::Request(r) => r.body,
            Self::Response { response, .. } => response.body,
        }
    }

    /// Whether this is a request.
    pub fn is_request(&self) -> bool {
        matches!(self, Self::Request(_))
    }
}

/// RFC 9110 `tchar`.
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn splits_absolute_uris() {
        let t = TargetUri::parse("https://Example.com:8443/a/b?x=1&y").unwrap();
        assert_eq!(
            (t.scheme(), t.authority(), t.path(), t.query()),
            ("https", "Example.com:8443", "/a/b", Some("x=1&y"))
        );
        assert_eq!(t.to_absolute(), "https://Example.com:8443/a/b?x=1&y");
        let t = TargetUri::parse("wss://h").unwrap();
        assert_eq!((t.path(), t.query()), ("", None));
        let t = TargetUri::parse("https://h?").unwrap();
        assert_eq!((t.path(), t.query()), ("", Some("")));
        for bad in [
            "/relative",
            "https://",
            "https://u@h/",
            "https://h/#f",
            "ht tp://h/",
            "1x://h/",
        ] {
            assert!(TargetUri::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn headers_are_case_insensitive_and_multi_valued() {
        let f = [("A", "1"), ("b", "2"), ("a", "3")];
        let h = Headers::new(&f);
        assert_eq!(h.get_all("a").collect::<Vec<_>>(), ["1", "3"]);
        assert!(h.get_one("a").is_err());
        assert_eq!(h.get_one("B").unwrap(), Some("2"));
        assert_eq!(h.get_one("c").unwrap(), None);
    }
}
