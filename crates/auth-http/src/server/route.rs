//! Routes choose their schemes explicitly: a [`Route`] is an ordered set of [`Accept`]
//! entries, each a scheme with its policy. Nothing is accepted that the route did not ask for;
//! app tokens and restricted user tokens only where a route opts in, with the scopes they get.

use super::app_tokens::AppTokenConfig;
use super::user_tokens::UserTokenConfig;
use auth_core::credential::{Environment, Scheme};
use auth_core::scheme::altalix::AltalixPolicy;
use auth_core::scheme::jwt::JwtPolicy;
use auth_core::scheme::qredo::QredoPolicy;
use auth_core::scheme::rfc9421::VerifyPolicy;
use auth_core::scheme::smile::SmilePolicy;

/// One scheme a route accepts, with its policy.
#[derive(Debug, Clone)]
pub enum Accept {
    /// Bearer API keys (`Authorization: Bearer` or `x-api-key` alone).
    ApiKey,
    /// Qredo `x-api-key` + `x-timestamp`/`x-nonce` + `x-sign`.
    Qredo(QredoPolicy),
    /// RFC 9421 HTTP message signatures.
    HttpSignature(VerifyPolicy),
    /// Altalix signed payload URLs (`?payload=...&signature=...`).
    Altalix(AltalixPolicy),
    /// JWT partner tokens.
    Jwt(JwtPolicy),
    /// Smile "Signature" (headers; JSON body fields only when no other credential is sent).
    Smile(SmilePolicy),
    /// Restricted user tokens issued by this provider.
    UserToken(UserTokenConfig),
    /// App tokens issued by this node's auth endpoint.
    AppToken(AppTokenConfig),
}

impl Accept {
    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        match self {
            Self::ApiKey => Scheme::ApiKey,
            Self::Qredo(_) => Scheme::Qredo,
            Self::HttpSignature(_) => Scheme::HttpSignature,
            Self::Altalix(_) => Scheme::Altalix,
            Self::Jwt(_) => Scheme::Jwt,
            Self::Smile(_) => Scheme::Smile,
            Self::UserToken(_) => Scheme::UserToken,
            Self::AppToken(_) => Scheme::AppToken,
        }
    }

    /// Qredo with its default policy (±30 s timestamps).
    pub fn qredo() -> Self {
        Self::Qredo(QredoPolicy::default())
    }

    /// RFC 9421 with the default policy (5 minutes, nonce required, the strict components).
    pub fn http_signature() -> Self {
        Self::HttpSignature(VerifyPolicy::new(std::time::Duration::from_secs(300)))
    }

    /// Altalix signed URLs with the default window (5 minutes).
    pub fn altalix() -> Self {
        Self::Altalix(AltalixPolicy::default())
    }

    /// JWT partner tokens with the default policy.
    pub fn jwt() -> Self {
        Self::Jwt(JwtPolicy::default())
    }

    /// Smile signatures with the default window.
    pub fn smile() -> Self {
        Self::Smile(SmilePolicy::default())
    }
}

/// What one route accepts and requires.
#[derive(Debug, Clone, Default)]
pub struct Route {
    accept: Vec<Accept>,
    environment: Option<Environment>,
    public: bool,
}

impl Route {
    /// A route that accepts nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A route served without authentication; its requests carry no principal.
    pub fn public() -> Self {
        Self {
            public: true,
            ..Self::default()
        }
    }

    /// Also accepts `scheme` (tried in the order added). A second entry for the same scheme
    /// replaces the first.
    pub fn accept(mut self, scheme: Accept) -> Self {
        self.accept.retain(|a| a.scheme() != scheme.scheme());
        self.accept.push(scheme);
        self
    }

    /// Accepts only credentials of `environment` (a deployment serves both by default).
    pub fn require_environment(mut self, environment: Environment) -> Self {
        self.environment = Some(environment);
        self
    }

    /// The accepted schemes, in order.
    pub fn schemes(&self) -> &[Accept] {
        &self.accept
    }

    /// The required environment, if any.
    pub fn environment(&self) -> Option<Environment> {
        self.environment
    }

    /// Whether the route needs no credential.
    pub fn is_public(&self) -> bool {
        self.public
    }

    pub(crate) fn find(&self, scheme: Scheme) -> Option<&Accept> {
        self.accept.iter().find(|a| a.scheme() == scheme)
    }
}

/// How a path is matched.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PathMatch {
    Exact(String),
    /// The path equals the prefix or continues it after a `/`.
    Prefix(String),
}

impl PathMatch {
    fn matches(&self, path: &str) -> bool {
        match self {
            Self::Exact(p) => path == p,
            Self::Prefix(p) => {
                let p = p.trim_end_matches('/');
                path == p
                    || p.is_empty()
                    || path
                        .strip_prefix(p)
                        .is_some_and(|rest| rest.starts_with('/'))
            }
        }
    }
}

/// The route table: the first matching entry decides; a path no entry matches accepts
/// nothing.
#[derive(Debug, Clone, Default)]
pub struct Routes {
    entries: Vec<(PathMatch, Route)>,
}

impl Routes {
    /// An empty table (every request is refused).
    pub fn new() -> Self {
        Self::default()
    }

    /// `route` for `path` and every path below it (`/api` covers `/api/x`, not `/apix`).
    pub fn prefix(mut self, path: &str, route: Route) -> Self {
        self.entries
            .push((PathMatch::Prefix(path.to_owned()), route));
        self
    }

    /// `route` for exactly `path`.
    pub fn exact(mut self, path: &str, route: Route) -> Self {
        self.entries
            .push((PathMatch::Exact(path.to_owned()), route));
        self
    }

    /// The route for `path`.
    pub fn find(&self, path: &str) -> Option<&Route> {
        self.entries
            .iter()
            .find(|(m, _)| m.matches(path))
            .map(|(_, r)| r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_match_whole_segments_and_first_entry_wins() {
        let routes = Routes::new()
            .exact("/api/v2/auth", Route::public())
            .prefix("/api", Route::new().accept(Accept::ApiKey))
            .prefix("/", Route::new());
        assert!(routes.find("/api/v2/auth").is_some_and(Route::is_public));
        assert_eq!(
            routes.find("/api/rates").map(|r| r.schemes().len()),
            Some(1)
        );
        assert_eq!(routes.find("/apix").map(|r| r.schemes().len()), Some(0));
        assert!(Routes::new().find("/").is_none());
    }
}
