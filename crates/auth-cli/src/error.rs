//! The one error type of `authctl`: a kind that decides the exit code, a one-line message that
//! names the problem, and a hint that says what to do next. Never carries a secret.

use std::fmt;

/// What went wrong, as far as the exit code is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    /// A signature, token, checksum, chain or license did not verify (exit 1).
    Verification,
    /// A bad flag, argument or combination of flags (exit 2).
    Usage,
    /// An input that could not be read or parsed: a file, a key, a token (exit 2).
    Input,
    /// The network failed: connection refused, DNS, timeout, TLS (exit 3).
    #[allow(
        dead_code,
        reason = "raised by the server commands (request, admin, doctor)"
    )]
    Network,
    /// The server answered with an error that is not a verdict on our input (exit 3).
    #[allow(
        dead_code,
        reason = "raised by the server commands (request, admin, doctor)"
    )]
    Server,
}

impl ErrorKind {
    /// The process exit code of this kind (documented in `authctl --help` and the README).
    pub(crate) const fn exit_code(self) -> u8 {
        match self {
            Self::Verification => 1,
            Self::Usage | Self::Input => 2,
            Self::Network | Self::Server => 3,
        }
    }

    /// The stable name used in `--json` error output.
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Self::Verification => "verification_failed",
            Self::Usage => "usage",
            Self::Input => "input",
            Self::Network => "network",
            Self::Server => "server",
        }
    }
}

/// An error `authctl` reports on one line and turns into an exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CliError {
    kind: ErrorKind,
    message: String,
    hint: Option<String>,
}

/// The result type of every command.
pub(crate) type CliResult<T = ()> = Result<T, CliError>;

impl CliError {
    /// An error of `kind` with a message naming the problem and a hint naming the fix.
    pub(crate) fn new(
        kind: ErrorKind,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            message: one_line(message.into()),
            hint: Some(one_line(hint.into())).filter(|h| !h.is_empty()),
        }
    }

    /// Bad flags or a bad combination of them (exit 2).
    pub(crate) fn usage(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::new(ErrorKind::Usage, message, hint)
    }

    /// An unreadable or malformed input (exit 2).
    pub(crate) fn input(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::new(ErrorKind::Input, message, hint)
    }

    /// A failed verification (exit 1).
    pub(crate) fn verification(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::new(ErrorKind::Verification, message, hint)
    }

    /// A network failure (exit 3).
    #[allow(
        dead_code,
        reason = "raised by the server commands (request, admin, doctor)"
    )]
    pub(crate) fn network(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::new(ErrorKind::Network, message, hint)
    }

    /// A server-side failure (exit 3).
    #[allow(
        dead_code,
        reason = "raised by the server commands (request, admin, doctor)"
    )]
    pub(crate) fn server(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::new(ErrorKind::Server, message, hint)
    }

    /// An auth-core error met while reading or parsing an input (exit 2). auth-core messages
    /// never contain secrets or expected signatures, so they can be shown as they are.
    pub(crate) fn core_input(what: &str, err: &auth_core::Error, hint: impl Into<String>) -> Self {
        Self::input(
            format!("{what}: {} ({})", err.message(), err.code().as_str()),
            hint,
        )
    }

    /// An auth-core error returned by a verifier (exit 1), with its stable code.
    pub(crate) fn core_verification(
        what: &str,
        err: &auth_core::Error,
        hint: impl Into<String>,
    ) -> Self {
        Self::verification(
            format!("{what}: {} ({})", err.message(), err.code().as_str()),
            hint,
        )
    }

    /// The kind, which decides the exit code.
    pub(crate) fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The one-line message naming the problem.
    pub(crate) fn message(&self) -> &str {
        &self.message
    }

    /// What to do next, if there is something to say.
    pub(crate) fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "; {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for CliError {}

/// Errors are printed on one line: embedded line breaks (from a foreign message) become spaces.
fn one_line(text: String) -> String {
    if text.contains(['\n', '\r']) {
        text.split(['\n', '\r'])
            .filter(|part| !part.trim().is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_documented_table() {
        assert_eq!(CliError::verification("x", "y").kind().exit_code(), 1);
        assert_eq!(CliError::usage("x", "y").kind().exit_code(), 2);
        assert_eq!(CliError::input("x", "y").kind().exit_code(), 2);
        assert_eq!(CliError::network("x", "y").kind().exit_code(), 3);
        assert_eq!(CliError::server("x", "y").kind().exit_code(), 3);
    }

    #[test]
    fn messages_are_one_line() {
        let err = CliError::input("bad\nkey\r\n", "fix\nit");
        assert_eq!(err.to_string(), "bad key; fix it");
    }
}
