//! The Composer on PATH: where it is, its version, and what that version
//! means for credentials.

use std::path::PathBuf;
use std::process::Stdio;

/// The first Composer version that applies `COMPOSER_AUTH` again after the
/// project's auth.json: 2.7.8 (composer/composer#12084, merged 2024-08-22;
/// FACTS.md). 2.5.5 is seen here to let the project auth.json win.
const ENV_LAST_SINCE: (u32, u32, u32) = (2, 7, 8);

/// The first version that shows only the start of a username in -vvv output.
const USERNAME_HIDDEN_SINCE: (u32, u32, u32) = (2, 10, 2);

/// Which credential source Composer applies last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Precedence {
    /// `COMPOSER_AUTH` over every file (current Composer).
    EnvLast,
    /// The project's auth.json over `COMPOSER_AUTH` (older Composer).
    ProjectAuthLast,
}

#[derive(Clone, Debug)]
pub(crate) struct ComposerBinary {
    pub(crate) path: PathBuf,
    /// The first line of `composer --version`, or "version unknown".
    pub(crate) version_line: String,
    pub(crate) version: Option<(u32, u32, u32)>,
}

impl ComposerBinary {
    /// `composer` on PATH and its version; `None` when there is none.
    pub(crate) fn find() -> Option<Self> {
        let path = which::which("composer").ok()?;
        let output = crate::harden::helper(&path)
            .args(["--version", "--no-ansi", "--no-interaction"])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .env("COMPOSER_NO_INTERACTION", "1")
            .output();
        let version_line = output
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("Composer"))
                    .map(str::to_string)
            })
            .unwrap_or_else(|| "version unknown".into());
        let version = parse_version(&version_line);
        Some(ComposerBinary {
            path,
            version_line,
            version,
        })
    }

    pub(crate) fn precedence(&self) -> Precedence {
        precedence_of(self.version)
    }

    /// Whether this version prints the whole public key with -vvv.
    pub(crate) fn shows_username(&self) -> bool {
        self.version.is_some_and(|v| v < USERNAME_HIDDEN_SINCE)
    }
}

/// The precedence of a Composer version; an unknown one (or none on PATH)
/// is taken to be current.
pub(crate) fn precedence_of(version: Option<(u32, u32, u32)>) -> Precedence {
    match version {
        Some(v) if v < ENV_LAST_SINCE => Precedence::ProjectAuthLast,
        _ => Precedence::EnvLast,
    }
}

/// `Composer version 2.5.5 2023-03-21 11:50:05` → (2, 5, 5).
pub(crate) fn parse_version(line: &str) -> Option<(u32, u32, u32)> {
    let word = line
        .split_whitespace()
        .find(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()))?;
    let mut parts = word.split(['.', '-', '+']).map(|p| p.parse::<u32>().ok());
    Some((
        parts.next()??,
        parts.next()??,
        parts.next().flatten().unwrap_or(0),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse() {
        assert_eq!(
            parse_version("Composer version 2.5.5 2023-03-21 11:50:05"),
            Some((2, 5, 5))
        );
        assert_eq!(parse_version("Composer version 2.10.2"), Some((2, 10, 2)));
        assert_eq!(parse_version("Composer version 2.9.0-RC1"), Some((2, 9, 0)));
        assert_eq!(parse_version("version unknown"), None);
    }

    #[test]
    fn precedence_follows_the_version() {
        assert_eq!(precedence_of(Some((2, 5, 5))), Precedence::ProjectAuthLast);
        // The boundary: composer/composer#12084 landed in 2.7.8.
        assert_eq!(precedence_of(Some((2, 7, 7))), Precedence::ProjectAuthLast);
        assert_eq!(precedence_of(Some((2, 7, 8))), Precedence::EnvLast);
        assert_eq!(precedence_of(Some((2, 10, 2))), Precedence::EnvLast);
        assert_eq!(precedence_of(None), Precedence::EnvLast);
    }
}
