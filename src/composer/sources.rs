//! Every place Composer takes credentials from, in its order of precedence.
//!
//! `Factory::createConfig` loads `$COMPOSER_HOME/config.json`, then
//! `$COMPOSER_HOME/auth.json`, then `COMPOSER_AUTH`; `createComposer` then
//! merges the project's composer.json `config` and the project's auth.json,
//! and current Composer applies `COMPOSER_AUTH` once more (older versions do
//! not: there the project's auth.json wins). A later source replaces an
//! earlier one per host.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::auth::{AuthDoc, HTTP_BASIC, MAX_AUTH_BYTES, entry_fingerprint};
use super::binary::Precedence;
use crate::digest::sha256_hex;
use crate::dir::read_path;
use crate::secret;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    HomeConfig,
    HomeAuth,
    ProjectConfig,
    ProjectAuth,
    EnvAuth,
}

/// What one source holds for the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Holding {
    Absent,
    Unreadable(String),
    NoEntry,
    /// The entry, shown safely, and a fingerprint to compare sources by.
    Entry {
        username: String,
        password: String,
        fingerprint: String,
        /// The username and password alone, hashed: the same credentials
        /// written with other fields or in another order compare equal.
        credentials: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Source {
    pub(crate) origin: Origin,
    pub(crate) label: String,
    pub(crate) path: Option<PathBuf>,
    pub(crate) holding: Holding,
}

/// The sources in the order Composer applies them; the last with an entry wins.
pub(crate) fn collect(
    home: Option<&Path>,
    composer_json: &Path,
    project_auth: &Path,
    composer_auth: Option<&str>,
    host: &str,
    precedence: Precedence,
) -> Vec<Source> {
    let mut sources = Vec::with_capacity(5);
    if let Some(home) = home {
        let config = home.join("config.json");
        sources.push(from_file(Origin::HomeConfig, &config, host, true));
        let auth = home.join("auth.json");
        sources.push(from_file(Origin::HomeAuth, &auth, host, false));
    }
    let env = Source {
        origin: Origin::EnvAuth,
        label: env_label(precedence).into(),
        path: None,
        holding: match composer_auth {
            Some(value) if !value.is_empty() => {
                holding_of(value.as_bytes(), "COMPOSER_AUTH", host, false)
            }
            _ => Holding::Absent,
        },
    };
    let project = [
        from_file(Origin::ProjectConfig, composer_json, host, true),
        from_file(Origin::ProjectAuth, project_auth, host, false),
    ];
    match precedence {
        Precedence::EnvLast => {
            sources.extend(project);
            sources.push(env);
        }
        Precedence::ProjectAuthLast => {
            sources.push(env);
            sources.extend(project);
        }
    }
    sources
}

fn env_label(precedence: Precedence) -> &'static str {
    match precedence {
        Precedence::EnvLast => "COMPOSER_AUTH (applied again last, so it wins over both files)",
        Precedence::ProjectAuthLast => {
            "COMPOSER_AUTH (this Composer applies it before the project's files)"
        }
    }
}

/// `sources` as [`collect`] gives them for `Precedence::EnvLast`, put in
/// the order of `Precedence::ProjectAuthLast` without reading them again.
pub(crate) fn with_project_auth_last(sources: &[Source]) -> Vec<Source> {
    let mut older: Vec<Source> = sources
        .iter()
        .filter(|s| s.origin != Origin::EnvAuth)
        .cloned()
        .collect();
    if let Some(env) = sources.iter().find(|s| s.origin == Origin::EnvAuth) {
        let at = older
            .iter()
            .position(|s| matches!(s.origin, Origin::ProjectConfig | Origin::ProjectAuth))
            .unwrap_or(older.len());
        let mut env = env.clone();
        env.label = env_label(Precedence::ProjectAuthLast).into();
        older.insert(at, env);
    }
    older
}

/// The source whose entry Composer uses, if any.
pub(crate) fn winner(sources: &[Source]) -> Option<&Source> {
    sources
        .iter()
        .rev()
        .find(|s| matches!(s.holding, Holding::Entry { .. }))
}

/// The username and password Composer would send to `host`, read from the
/// winning source, with that source's label. Read-only.
pub(crate) fn winning_credentials(
    sources: &[Source],
    composer_auth: Option<&str>,
    host: &str,
) -> Option<(String, secret::Secret, secret::Secret)> {
    let source = winner(sources)?;
    let bytes = match &source.path {
        Some(path) => read_path(path, MAX_AUTH_BYTES).ok()??.bytes,
        None => composer_auth?.as_bytes().to_vec(),
    };
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    let section = match source.origin {
        Origin::HomeConfig | Origin::ProjectConfig => value.get("config")?.get(HTTP_BASIC)?,
        _ => value.get(HTTP_BASIC)?,
    };
    let entry = section.get(host)?;
    let field = |name: &str| entry.get(name).and_then(Value::as_str).map(str::to_string);
    Some((
        source.label.clone(),
        secret::Secret::new(field("username")?),
        secret::Secret::new(field("password")?),
    ))
}

/// What [`Holding::Entry`]'s `credentials` holds for a username and password.
pub(crate) fn credentials_fingerprint(username: &str, password: &str) -> String {
    // Keys never hold NUL (refused as a control character): ours read one way.
    sha256_hex(format!("{username}\0{password}").as_bytes())
}

fn from_file(origin: Origin, path: &Path, host: &str, in_config: bool) -> Source {
    let label = if in_config {
        format!("{} (\"config\" section)", path.display())
    } else {
        path.display().to_string()
    };
    let holding = match read_path(path, MAX_AUTH_BYTES) {
        Ok(None) => Holding::Absent,
        Ok(Some(found)) => holding_of(&found.bytes, &path.display().to_string(), host, in_config),
        Err(err) => Holding::Unreadable(format!("{err:#}")),
    };
    Source {
        origin,
        label,
        path: Some(path.to_path_buf()),
        holding,
    }
}

fn holding_of(bytes: &[u8], what: &str, host: &str, in_config: bool) -> Holding {
    let doc = if in_config {
        // composer.json and config.json keep credentials under "config".
        let value: Value = match serde_json::from_slice(bytes) {
            Ok(v) => v,
            Err(err) => return Holding::Unreadable(format!("{what} is not valid JSON ({err})")),
        };
        let Some(config) = value.get("config") else {
            return Holding::NoEntry;
        };
        let mut inner = serde_json::Map::new();
        if let Some(section) = config.get(HTTP_BASIC) {
            inner.insert(HTTP_BASIC.into(), section.clone());
        }
        match AuthDoc::parse(&serde_json::to_vec(&inner).unwrap_or_default(), what) {
            Ok(doc) => doc,
            Err(failure) => return Holding::Unreadable(failure.message),
        }
    } else {
        match AuthDoc::parse(bytes, what) {
            Ok(doc) => doc,
            Err(failure) => return Holding::Unreadable(failure.message),
        }
    };
    match doc.http_basic(host) {
        None => Holding::NoEntry,
        Some(entry) => {
            let field = |name: &str| entry.get(name).and_then(Value::as_str).unwrap_or("");
            Holding::Entry {
                username: secret::preview(field("username"), 4),
                password: secret::preview(field("password"), 0),
                fingerprint: entry_fingerprint(entry),
                credentials: credentials_fingerprint(field("username"), field("password")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn the_last_source_with_an_entry_wins_and_secrets_stay_hidden() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let project = dir.path().join("project");
        fs::create_dir_all(&home).unwrap();
        fs::create_dir_all(&project).unwrap();
        fs::write(
            home.join("auth.json"),
            r#"{"http-basic":{"h":{"username":"aaaabbbbccccddddaaaabbbbccccdddd","password":"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"}}}"#,
        )
        .unwrap();
        fs::write(
            project.join("composer.json"),
            r#"{"config":{"http-basic":{"other":{}}}}"#,
        )
        .unwrap();
        fs::write(project.join("auth.json"), "not json").unwrap();
        let sources = collect(
            Some(&home),
            &project.join("composer.json"),
            &project.join("auth.json"),
            Some(""),
            "h",
            Precedence::EnvLast,
        );
        let holdings: Vec<_> = sources.iter().map(|s| &s.holding).collect();
        assert_eq!(holdings[0], &Holding::Absent);
        assert!(
            matches!(holdings[1], Holding::Entry { username, password, .. }
            if username == "aaaa…(32 chars)" && password == "…(32 chars)")
        );
        assert_eq!(holdings[2], &Holding::NoEntry);
        assert!(matches!(holdings[3], Holding::Unreadable(why) if why.contains("not valid JSON")));
        assert_eq!(winner(&sources).unwrap().origin, Origin::HomeAuth);
        let older = collect(
            Some(&home),
            &project.join("composer.json"),
            &project.join("auth.json"),
            Some(""),
            "h",
            Precedence::ProjectAuthLast,
        );
        // Reordering what was read once gives what reading again would.
        assert_eq!(with_project_auth_last(&sources), older);
        let order: Vec<_> = older.iter().map(|s| s.origin.clone()).collect();
        assert_eq!(
            order,
            [
                Origin::HomeConfig,
                Origin::HomeAuth,
                Origin::EnvAuth,
                Origin::ProjectConfig,
                Origin::ProjectAuth
            ]
        );
        let shown = format!("{sources:?}");
        assert!(
            !shown.contains("zzzz") && !shown.contains("aaaabbbb"),
            "{shown}"
        );
    }
}
