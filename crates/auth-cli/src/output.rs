//! Everything `authctl` prints goes through here: results on stdout as human text or as one
//! versioned JSON object (`--json`), notes, progress and errors on stderr, colour only on a
//! terminal and never with `--no-color` or `NO_COLOR`.
//!
//! JSON shape (version 1, documented in the README): every result is one object on one line
//! with `"version": 1` and a `"kind"` naming what it is (`"keygen"`, `"qredo.sign"`, ...),
//! followed by the kind's own fields. Errors under `--json` are the object
//! `{"version":1,"kind":"error","error":{"kind","message","hint"},"exit_code"}` on stderr.

use crate::error::CliError;
use serde_json::{Map, Value};
use std::fmt::Display;
use std::io::{self, IsTerminal, Write};

/// The JSON output version; bump it only for an incompatible change of a shape.
pub(crate) const JSON_VERSION: u64 = 1;

/// Terminal styles `authctl` uses; each is dropped when colour is off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// Success verdicts.
    Good,
    /// Failed verdicts and errors.
    Bad,
    /// Warnings and "not verified" notices.
    Warn,
    /// Labels and less important text.
    Dim,
}

impl Style {
    const fn ansi(self) -> &'static str {
        match self {
            Self::Good => "\x1b[32m",
            Self::Bad => "\x1b[31m",
            Self::Warn => "\x1b[33m",
            Self::Dim => "\x1b[2m",
        }
    }
}

/// How and where to print: decided once from the global flags and the environment.
#[derive(Debug, Clone)]
pub(crate) struct Output {
    json: bool,
    color_stdout: bool,
    color_stderr: bool,
    verbose: u8,
}

/// `NO_COLOR` (<https://no-color.org>): present and not empty disables colour.
fn no_color_env() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

impl Output {
    /// From the global flags; colour also needs a terminal on the stream it is written to.
    pub(crate) fn new(json: bool, no_color: bool, verbose: u8) -> Self {
        let color_allowed = !no_color && !no_color_env();
        Self {
            json,
            color_stdout: color_allowed && !json && io::stdout().is_terminal(),
            color_stderr: color_allowed && io::stderr().is_terminal(),
            verbose,
        }
    }

    /// Whether results are printed as JSON.
    pub(crate) fn is_json(&self) -> bool {
        self.json
    }

    /// The `-v` count.
    #[allow(
        dead_code,
        reason = "for commands that show more than one -v level (request)"
    )]
    pub(crate) fn verbosity(&self) -> u8 {
        self.verbose
    }

    /// Whether stderr is a terminal (progress may redraw a line there).
    pub(crate) fn stderr_is_terminal(&self) -> bool {
        io::stderr().is_terminal()
    }

    /// `text` in `style` when stdout has colour.
    pub(crate) fn paint(&self, style: Style, text: &str) -> String {
        paint(self.color_stdout, style, text)
    }

    /// `text` in `style` when stderr has colour.
    pub(crate) fn paint_err(&self, style: Style, text: &str) -> String {
        paint(self.color_stderr, style, text)
    }

    /// Prints a result on stdout: its JSON object, or its human lines.
    pub(crate) fn report(&self, report: &Report) {
        if self.json {
            write_stdout(&report.to_json().to_string());
        } else {
            let text = report.human_text(self);
            if !text.is_empty() {
                write_stdout(&text);
            }
        }
    }

    /// A note for people on stderr (not part of the result); shown with and without `--json`.
    pub(crate) fn note(&self, line: impl Display) {
        write_stderr(&line.to_string());
    }

    /// A diagnostic line on stderr when `-v` was given `level` times or more. Never pass a
    /// secret here.
    pub(crate) fn verbose(&self, level: u8, line: impl Display) {
        if self.verbose >= level {
            write_stderr(&format!("{} {line}", self.paint_err(Style::Dim, "*")));
        }
    }

    /// Prints an error on stderr: one line, or one JSON object under `--json`.
    pub(crate) fn error(&self, err: &CliError) {
        if self.json {
            let mut error = Map::new();
            error.insert("kind".into(), err.kind().as_str().into());
            error.insert("message".into(), err.message().into());
            error.insert("hint".into(), err.hint().map_or(Value::Null, Value::from));
            let mut obj = envelope("error");
            obj.insert("error".into(), Value::Object(error));
            obj.insert("exit_code".into(), err.kind().exit_code().into());
            write_stderr(&Value::Object(obj).to_string());
        } else {
            write_stderr(&error_line(self.color_stderr, err));
        }
    }
}

/// The one-line human form of an error: `error: <problem>; hint: <fix>`.
pub(crate) fn error_line(color: bool, err: &CliError) -> String {
    let mut line = format!("{} {}", paint(color, Style::Bad, "error:"), err.message());
    if let Some(hint) = err.hint() {
        line.push_str(&format!("; {} {hint}", paint(color, Style::Dim, "hint:")));
    }
    line
}

fn paint(color: bool, style: Style, text: &str) -> String {
    if color {
        format!("{}{text}\x1b[0m", style.ansi())
    } else {
        text.to_owned()
    }
}

/// `{"version": 1, "kind": kind}`: the start of every JSON object `authctl` prints.
fn envelope(kind: &str) -> Map<String, Value> {
    let mut obj = Map::new();
    obj.insert("version".into(), JSON_VERSION.into());
    obj.insert("kind".into(), kind.into());
    obj
}

/// Writes one line to stdout. A closed pipe (`authctl ... | head`) is not an error worth a
/// panic or a message: the reader has gone.
fn write_stdout(text: &str) {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{text}").and_then(|()| out.flush());
}

fn write_stderr(text: &str) {
    let mut err = io::stderr().lock();
    let _ = writeln!(err, "{text}");
}

/// One line of human output: plain text, or a label with a value.
#[derive(Debug, Clone)]
enum HumanLine {
    Text(String),
    Labelled(String, String),
    Styled(Style, String),
}

/// A command's result: JSON fields for scripts and lines for people.
#[derive(Debug, Clone)]
pub(crate) struct Report {
    kind: String,
    fields: Map<String, Value>,
    lines: Vec<HumanLine>,
}

impl Report {
    /// A result of `kind` (`"keygen"`, `"jwt.verify"`, ...).
    pub(crate) fn new(kind: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            fields: Map::new(),
            lines: Vec::new(),
        }
    }

    /// Adds a JSON field (not shown to people unless also added as a line).
    pub(crate) fn field(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.fields.insert(key.to_owned(), value.into());
        self
    }

    /// Adds a JSON field and shows it to people as `label: value`.
    pub(crate) fn shown(mut self, key: &str, value: impl Into<String>) -> Self {
        let value = value.into();
        self.lines
            .push(HumanLine::Labelled(key.replace('_', " "), value.clone()));
        self.fields.insert(key.to_owned(), Value::String(value));
        self
    }

    /// Adds a line for people only (JSON has the same facts as fields).
    pub(crate) fn line(mut self, text: impl Into<String>) -> Self {
        self.lines.push(HumanLine::Text(text.into()));
        self
    }

    /// Adds a styled line for people only.
    pub(crate) fn styled(mut self, style: Style, text: impl Into<String>) -> Self {
        self.lines.push(HumanLine::Styled(style, text.into()));
        self
    }

    /// The JSON object: the envelope, then the fields.
    pub(crate) fn to_json(&self) -> Value {
        let mut obj = self.fields.clone();
        // The envelope goes in last: a field can never replace `version` or `kind`.
        obj.extend(envelope(&self.kind));
        Value::Object(obj)
    }

    fn human_text(&self, out: &Output) -> String {
        self.lines
            .iter()
            .map(|line| match line {
                HumanLine::Text(t) => t.clone(),
                HumanLine::Labelled(label, value) => {
                    format!("{} {value}", out.paint(Style::Dim, &format!("{label}:")))
                }
                HumanLine::Styled(style, t) => out.paint(*style, t),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_json_result_has_version_and_kind() {
        let report = Report::new("keygen")
            .shown("key_type", "ed25519")
            .field("bits", 256);
        let json = report.to_json();
        assert_eq!(json["version"], 1);
        assert_eq!(json["kind"], "keygen");
        assert_eq!(json["key_type"], "ed25519");
        assert_eq!(json["bits"], 256);
        let clash = Report::new("x")
            .field("version", "v0.0.1")
            .field("kind", "y")
            .to_json();
        assert_eq!(
            (clash["version"].as_u64(), clash["kind"].as_str()),
            (Some(1), Some("x"))
        );
    }

    #[test]
    fn no_colour_means_no_escape_codes() {
        let err = CliError::input("bad key", "use a PEM file");
        assert_eq!(
            error_line(false, &err),
            "error: bad key; hint: use a PEM file"
        );
        assert!(error_line(true, &err).contains("\x1b[31m"));
    }
}
