//! Exit codes and the typed failure that carries one.
//!
//! The table lives here and in the README; nothing else picks a number.

use std::fmt;

/// The documented exit codes of magento-auth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    Success = 0,
    /// I/O errors and anything else not foreseen.
    Unexpected = 1,
    /// Usage errors (clap exits with 2 itself).
    Usage = 2,
    /// Bad input: keys, malformed auth.json / COMPOSER_AUTH / state, unsafe paths.
    BadInput = 3,
    /// The repository answered 401.
    InvalidKeys = 4,
    /// The repository answered 403, or a required package is not visible.
    Forbidden = 5,
    /// DNS, connection, proxy, TLS, timeout, 5xx, 3xx, 404 or not a repository.
    Unreachable = 6,
}

/// A failure that has its own exit code, a status word and, usually, a hint.
///
/// Messages name things (a variable, a path, a length) and never hold a secret.
#[derive(Debug)]
pub struct Failure {
    pub code: Code,
    /// The status word of the SPEC's outcome table, where one applies.
    pub status: Option<&'static str>,
    pub message: String,
    pub hint: Option<String>,
}

impl Failure {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Failure {
            code,
            status: None,
            message: message.into(),
            hint: None,
        }
    }

    /// Bad input: exit 3.
    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::new(Code::BadInput, message)
    }

    pub fn with_status(mut self, status: &'static str) -> Self {
        self.status = Some(status);
        self
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// An I/O error without the "(os error N)" noise.
pub fn plain_io(err: &std::io::Error) -> String {
    let text = err.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// The exit code and hint for any error that reaches `main`.
pub fn classify(err: &anyhow::Error) -> (Code, Option<&str>) {
    match err.downcast_ref::<Failure>() {
        Some(failure) => (failure.code, failure.hint.as_deref()),
        None => (Code::Unexpected, None),
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
        assert_eq!(classify(&err), (Code::BadInput, Some("fix it")));
        assert_eq!(format!("{err:#}"), "reading auth.json: bad");
    }

    #[test]
    fn other_errors_are_unexpected() {
        let err = anyhow::anyhow!("disk on fire");
        assert_eq!(classify(&err), (Code::Unexpected, None));
    }
}
