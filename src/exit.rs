//! Exit codes and the typed failure that carries one.
//!
//! The table lives here and in the README; nothing else picks a number.

use std::fmt;

/// The documented exit codes of magento-auth.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Code {
    #[default]
    Success = 0,
    /// I/O errors and anything else not foreseen.
    Unexpected = 1,
    /// Usage errors: clap exits with 2 itself; the table is complete here.
    #[allow(dead_code)]
    Usage = 2,
    /// Bad input: keys, malformed auth.json / COMPOSER_AUTH / state, unsafe paths.
    BadInput = 3,
    /// The repository answered 401.
    InvalidKeys = 4,
    /// The repository answered 403, or a required package is not visible.
    Forbidden = 5,
    /// DNS, connection, proxy, TLS, timeout, 5xx, 3xx, 404 or not a repository.
    Unreachable = 6,
    /// `scan` found a key in a file.
    Leaked = 7,
}

/// How a command ended: the status words of the SPEC's outcome table, and
/// those the commands add (`unchecked`, `cleaned`, `error`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Status {
    #[default]
    Ok,
    /// Setup wrote the keys without checking them (`--no-check`).
    Unchecked,
    Skipped,
    Cleaned,
    MissingKeys,
    MalformedKeys,
    InvalidKeys,
    Forbidden,
    NotEntitled,
    Unreachable,
    /// `scan`: no file holds a key.
    Clean,
    /// `scan`: a file holds a key.
    Leaked,
    /// Anything outside the table: other bad input (exit 3), I/O (exit 1).
    Error,
}

impl Status {
    pub(crate) fn word(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Unchecked => "unchecked",
            Status::Skipped => "skipped",
            Status::Cleaned => "cleaned",
            Status::MissingKeys => "missing-keys",
            Status::MalformedKeys => "malformed-keys",
            Status::InvalidKeys => "invalid-keys",
            Status::Forbidden => "forbidden",
            Status::NotEntitled => "not-entitled",
            Status::Unreachable => "unreachable",
            Status::Clean => "clean",
            Status::Leaked => "leaked",
            Status::Error => "error",
        }
    }

    /// The exit code of the status; an `Error` outcome carries its own.
    pub(crate) fn code(self) -> Code {
        match self {
            Status::Ok | Status::Unchecked | Status::Skipped | Status::Cleaned | Status::Clean => {
                Code::Success
            }
            Status::MissingKeys | Status::MalformedKeys => Code::BadInput,
            Status::InvalidKeys => Code::InvalidKeys,
            Status::Forbidden | Status::NotEntitled => Code::Forbidden,
            Status::Unreachable => Code::Unreachable,
            Status::Leaked => Code::Leaked,
            Status::Error => Code::Unexpected,
        }
    }
}

/// The one outcome type: from the check's classification to the reporter's
/// summary, the GitHub output `status`, `--json` and the exit code. The
/// check's fields are filled where a check ran.
///
/// Messages name things (a variable, a path, a length) and never hold a secret.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub(crate) status: Status,
    /// The exit code: the status's, or for `Error` the failure's own.
    pub(crate) code: Code,
    pub(crate) message: String,
    pub(crate) hint: Option<String>,
    /// The repository URL as parsed, never as given (it may carry credentials).
    pub(crate) repository: Option<String>,
    pub(crate) http_status: Option<u16>,
    pub(crate) attempts: u32,
    pub(crate) duration_ms: u64,
    /// Each required package and whether the keys can see it (a boxed
    /// slice, like `shadowed_by`, to keep failures small).
    pub(crate) packages: Box<[(String, bool)]>,
    /// Sources Composer reads after the keys and that hold other credentials
    /// for the host: Composer will send those, not the keys. Boxed, one
    /// pointer wide: a failure travels in a `Result` and stays small (clippy's
    /// `result_large_err`), and this is empty almost always.
    #[allow(clippy::box_collection)]
    pub(crate) shadowed_by: Box<Vec<Shadowed>>,
}

/// A credential source that wins over the keys (see `composer::shadow`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Shadowed {
    /// `home-config`, `home-auth`, `COMPOSER_AUTH`, `project-config` or `project-auth`.
    pub(crate) source: &'static str,
    /// The file, or `None` for `COMPOSER_AUTH`.
    pub(crate) path: Option<String>,
    /// The Composer versions it wins with: the version on PATH (`2.5.5`),
    /// else `any`, `>=2.7.8` or `<2.7.8`.
    pub(crate) composer: String,
}

/// An outcome that ends a command with a non-zero exit code, as an error
/// that `?` carries up to [`crate::run`].
pub type Failure = Outcome;

impl Outcome {
    /// An outcome of the table (or `ok`, `skipped`...), with its exit code.
    pub(crate) fn of(status: Status, message: impl Into<String>) -> Self {
        Outcome {
            status,
            code: status.code(),
            message: message.into(),
            ..Outcome::default()
        }
    }

    /// A failure outside the table, with the code it exits with.
    pub(crate) fn new(code: Code, message: impl Into<String>) -> Self {
        Outcome {
            status: Status::Error,
            code,
            message: message.into(),
            ..Outcome::default()
        }
    }

    /// Bad input: exit 3.
    pub(crate) fn bad_input(message: impl Into<String>) -> Self {
        Self::new(Code::BadInput, message)
    }

    /// The same failure under a status of the table (and its exit code).
    pub(crate) fn with_status(mut self, status: Status) -> Self {
        self.status = status;
        self.code = status.code();
        self
    }

    pub(crate) fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// `with_hint` for an optional hint.
    pub(crate) fn with_hint_opt(mut self, hint: Option<String>) -> Self {
        self.hint = hint;
        self
    }

    pub(crate) fn with_repository(mut self, repository: impl Into<String>) -> Self {
        self.repository = Some(repository.into());
        self
    }

    /// This outcome's facts (repository, requests, packages) with `verdict`'s
    /// status, message and hint.
    pub(crate) fn concluded(self, verdict: Outcome) -> Self {
        Outcome {
            status: verdict.status,
            code: verdict.code,
            message: verdict.message,
            hint: verdict.hint,
            ..self
        }
    }

    /// `Ok` for the outcomes that exit 0, else the failure itself.
    pub(crate) fn into_result(self) -> Result<Outcome, Failure> {
        if self.code == Code::Success {
            Ok(self)
        } else {
            Err(self)
        }
    }

    /// The outcome of any error that reaches the top: a [`Failure`] as it
    /// is, anything else `error` with exit 1.
    pub(crate) fn of_error(err: &anyhow::Error) -> Self {
        let message = format!("{err:#}");
        match err.downcast_ref::<Failure>() {
            Some(failure) => Outcome {
                message,
                ..failure.clone()
            },
            None => Outcome::new(Code::Unexpected, message),
        }
    }

    /// The object `--json` prints.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        let packages: Vec<serde_json::Value> = self
            .packages
            .iter()
            .map(|(name, visible)| serde_json::json!({"name": name, "visible": visible}))
            .collect();
        let shadowed_by: Vec<serde_json::Value> = self
            .shadowed_by
            .iter()
            .map(
                |s| serde_json::json!({"source": s.source, "path": s.path, "composer": s.composer}),
            )
            .collect();
        serde_json::json!({
            "status": self.status.word(),
            "repository": self.repository,
            "http_status": self.http_status,
            "attempts": self.attempts,
            "duration_ms": self.duration_ms,
            "packages": packages,
            "message": self.message,
            "hint": self.hint,
            "shadowed_by": shadowed_by,
        })
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// An I/O error without the "(os error N)" noise.
pub(crate) fn plain_io(err: &std::io::Error) -> String {
    let text = err.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn failure_keeps_its_code_under_context() {
        let err = Err::<(), _>(Failure::bad_input("bad").with_hint("fix it"))
            .context("reading auth.json")
            .unwrap_err();
        let outcome = Outcome::of_error(&err);
        assert_eq!(
            (outcome.code, outcome.hint.as_deref()),
            (Code::BadInput, Some("fix it"))
        );
        assert_eq!(outcome.message, "reading auth.json: bad");
        assert_eq!(format!("{err:#}"), "reading auth.json: bad");
    }

    #[test]
    fn statuses_map_to_the_documented_exit_codes() {
        let table = [
            (Status::Ok, "ok", 0),
            (Status::Unchecked, "unchecked", 0),
            (Status::Skipped, "skipped", 0),
            (Status::Cleaned, "cleaned", 0),
            (Status::MissingKeys, "missing-keys", 3),
            (Status::MalformedKeys, "malformed-keys", 3),
            (Status::InvalidKeys, "invalid-keys", 4),
            (Status::Forbidden, "forbidden", 5),
            (Status::NotEntitled, "not-entitled", 5),
            (Status::Unreachable, "unreachable", 6),
        ];
        for (status, word, code) in table {
            assert_eq!(status.word(), word);
            assert_eq!(Outcome::of(status, "").code as u8, code, "{word}");
        }
        let failure = Failure::bad_input("x").with_status(Status::MalformedKeys);
        assert_eq!(
            (failure.status, failure.code),
            (Status::MalformedKeys, Code::BadInput)
        );
        assert_eq!(Failure::bad_input("x").status.word(), "error");
    }

    #[test]
    fn other_errors_are_unexpected() {
        let err = anyhow::anyhow!("disk on fire");
        let outcome = Outcome::of_error(&err);
        assert_eq!((outcome.code, outcome.hint), (Code::Unexpected, None));
        assert_eq!(outcome.status, Status::Error);
    }
}
