//! What an RFC 9421 verifier insists on: required covered components, signature age, clock
//! skew, nonce, tags and which labelled signature to check. Defaults are the strictest.

use super::component::{Component, ComponentName, Derived};
use crate::replay::FreshnessWindow;
use crate::request::Message;
use std::time::Duration;

/// Whether the `nonce` signature parameter must be present.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NonceRequirement {
    /// A nonce is required (the default); the caller checks it against a replay cache
    /// (see [`crate::replay`]).
    #[default]
    Required,
    /// A nonce is optional; replays within the maximum age are then possible unless the
    /// caller deduplicates by other means.
    Optional,
}

/// Which `tag` values are acceptable.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TagPolicy {
    /// Any tag, or none (the default).
    #[default]
    Any,
    /// The signature must carry one of these tags.
    OneOf(Vec<String>),
}

impl TagPolicy {
    pub(crate) fn allows(&self, tag: Option<&str>) -> bool {
        match self {
            Self::Any => true,
            Self::OneOf(list) => tag.is_some_and(|t| list.iter().any(|a| a == t)),
        }
    }
}

/// Which of several labelled signatures to verify.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum LabelSelection {
    /// The first signature in `Signature-Input` whose tag the [`TagPolicy`] allows (default).
    #[default]
    FirstAllowed,
    /// Exactly the signature with this label.
    Named(String),
}

/// The covered components a signature must include.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Required {
    /// The standard set plus extra components.
    Standard(Vec<Component>),
    /// Only these components (may be weaker than the standard set).
    Only(Vec<Component>),
}

/// How an RFC 9421 signature is judged. [`VerifyPolicy::default`] is the strictest setting:
///
/// - requests must cover `@method` and either `@target-uri` or `@authority` with `@path` and
///   `@query` (or `@request-target`); responses must cover `@status`; either must cover
///   `content-digest` when a body is present (and the digest is then checked);
/// - `created` is required, at most 5 minutes old and at most 5 seconds in the future;
///   `expires`, when present, is honoured with the same skew;
/// - a `nonce` is required.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyPolicy {
    required: Required,
    window: FreshnessWindow,
    nonce: NonceRequirement,
    tags: TagPolicy,
    label: LabelSelection,
}

impl Default for VerifyPolicy {
    fn default() -> Self {
        Self::new(Duration::from_secs(300))
    }
}

impl VerifyPolicy {
    /// The strict policy with a maximum signature age (from `created`).
    pub fn new(max_age: Duration) -> Self {
        Self {
            required: Required::Standard(Vec::new()),
            window: FreshnessWindow::new(max_age, Duration::from_secs(5)),
            nonce: NonceRequirement::Required,
            tags: TagPolicy::Any,
            label: LabelSelection::FirstAllowed,
        }
    }

    /// Requires `component` in addition to the standard set.
    pub fn require(mut self, component: Component) -> Self {
        match &mut self.required {
            Required::Standard(v) | Required::Only(v) => v.push(component),
        }
        self
    }

    /// Replaces the standard required set by `components` only. This can accept signatures
    /// that do not bind the method, the URI or the body: use it for conformance tests and
    /// legacy peers, never as a general default.
    pub fn danger_require_only(mut self, components: Vec<Component>) -> Self {
        self.required = Required::Only(components);
        self
    }

    /// Sets the allowed clock skew (future `created`, past `expires`).
    pub fn with_clock_skew(mut self, skew: Duration) -> Self {
        self.window.max_future = skew;
        self
    }

    /// Sets the nonce requirement.
    pub fn with_nonce(mut self, nonce: NonceRequirement) -> Self {
        self.nonce = nonce;
        self
    }

    /// Sets the acceptable tags.
    pub fn with_tags(mut self, tags: TagPolicy) -> Self {
        self.tags = tags;
        self
    }

    /// Sets which labelled signature to verify.
    pub fn with_label(mut self, label: LabelSelection) -> Self {
        self.label = label;
        self
    }

    /// The maximum age.
    pub fn max_age(&self) -> Duration {
        self.window.max_age
    }

    /// The freshness window of `created`: maximum age and clock skew.
    pub fn window(&self) -> FreshnessWindow {
        self.window
    }

    /// The clock skew.
    pub fn clock_skew(&self) -> Duration {
        self.window.max_future
    }

    /// The nonce requirement.
    pub fn nonce(&self) -> NonceRequirement {
        self.nonce
    }

    /// The tag policy.
    pub fn tags(&self) -> &TagPolicy {
        &self.tags
    }

    /// The label selection.
    pub fn label(&self) -> &LabelSelection {
        &self.label
    }

    /// How long a nonce must be remembered for replay protection: `max_age + clock_skew`.
    pub fn replay_window(&self) -> Duration {
        self.window.retention()
    }

    /// Returns the identifier of the first required component (or alternative group) that
    /// `covered` lacks for `msg`, or `None` when the requirement is met.
    pub(crate) fn missing(&self, msg: &Message<'_>, covered: &[Component]) -> Option<String> {
        let has = |c: &Component| covered.iter().any(|x| x.same_as(c));
        let has_name = |d: Derived| {
            covered
                .iter()
                .any(|x| *x.name() == ComponentName::Derived(d) && !x.is_req())
        };
        let extra =
            match &self.required {
                Required::Only(v) => v,
                Required::Standard(v) => {
                    if msg.is_request() {
                        if !has_name(Derived::Method) {
                            return Some("@method".into());
                        }
                        let uri = has_name(Derived::TargetUri)
                            || (has_name(Derived::Authority)
                                && (has_name(Derived::RequestTarget)
                                    || (has_name(Derived::Path) && has_name(Derived::Query))));
                        if !uri {
                            return Some("@target-uri (or @authority, @path and @query)".into());
                        }
                    } else if !has_name(Derived::Status) {
                        return Some("@status".into());
                    }
                    if msg.body().is_present() && !covered.iter().any(|x| {
                        !x.is_req()
                            && matches!(x.name(), ComponentName::Field(f) if f == "content-digest")
                    }) {
                        return Some("content-digest (the message has a body)".into());
                    }
                    v
                }
            };
        extra.iter().find(|c| !has(c)).map(Component::identifier)
    }
}
