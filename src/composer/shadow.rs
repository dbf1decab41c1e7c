//! Whether Composer will send the keys magento-auth wrote, or the other
//! credentials of a source it reads later (see `sources`): then "check: ok"
//! would be about keys Composer never uses.
//!
//! Which source comes last depends on the Composer version (2.7.8 applies
//! `COMPOSER_AUTH` again after the project's files). Both orders are worked
//! out first; Composer is asked for its version (a PHP start, so not on every
//! run) only when they disagree.

use std::path::{Path, PathBuf};

use super::binary::{ComposerBinary, Precedence};
use super::home::{ProcessEnv, composer_home};
use super::sources::{self, Holding, Origin, Source, credentials_fingerprint};
use crate::exit::Shadowed;
use crate::keys::Keys;
use crate::report::Reporter;

/// Where the keys went.
#[derive(Clone, Copy, Debug)]
pub(crate) enum KeysIn<'a> {
    /// Nowhere (`check`): the keys are compared with what Composer uses now.
    Nowhere,
    /// `COMPOSER_AUTH`.
    Env,
    /// This auth.json.
    File(&'a Path),
}

/// The sources that will win over the keys written for `host`, each
/// reported as a warning (naming the source, never its credentials).
pub(crate) fn warn(
    working_dir: &Path,
    host: &str,
    keys: &Keys,
    written: KeysIn,
    reporter: &mut dyn Reporter,
) -> Vec<Shadowed> {
    let found = find(working_dir, host, keys, written);
    for (shadow, label) in &found {
        let versions = match shadow.composer.as_str() {
            "any" => String::new(),
            ">=2.7.8" => " with Composer 2.7.8 and later".into(),
            "<2.7.8" => " with Composer before 2.7.8".into(),
            installed => format!(" (Composer {installed} on PATH)"),
        };
        let keys_went = match written {
            KeysIn::Nowhere => "the keys checked".to_string(),
            KeysIn::Env => "the keys in COMPOSER_AUTH".to_string(),
            KeysIn::File(path) => format!("the keys written to {}", path.display()),
        };
        reporter.warning(&format!(
            "Composer will not use {keys_went} for {host}{versions}: {label} holds other \
             credentials for it and Composer reads it later; remove that entry, or write the \
             keys there"
        ));
    }
    found.into_iter().map(|(shadow, _)| shadow).collect()
}

/// Each winning source with its label; empty when Composer will use the keys.
fn find(working_dir: &Path, host: &str, keys: &Keys, written: KeysIn) -> Vec<(Shadowed, String)> {
    let home = composer_home(&ProcessEnv).ok();
    let manifest = super::composer_json(working_dir);
    let project_auth = super::project_auth_json(working_dir);
    let composer_auth = std::env::var("COMPOSER_AUTH").ok();
    let ours = credentials_fingerprint(keys.public.expose(), keys.private.expose());
    // Read once, in today's order; the order before 2.7.8 is a reordering.
    let current_order = sources::collect(
        home.as_deref(),
        &manifest,
        &project_auth,
        composer_auth.as_deref(),
        host,
        Precedence::EnvLast,
    );
    let older_order = sources::with_project_auth_last(&current_order);
    let under = |found: &[sources::Source]| {
        shadowing(found, written, &ours).map(|s| {
            let label = match s.origin {
                // The list's label for it says where it stands; here, its name.
                Origin::EnvAuth => "COMPOSER_AUTH".to_string(),
                _ => s.label.clone(),
            };
            (s.origin.clone(), label, s.path.clone())
        })
    };
    let (current, older) = (under(&current_order), under(&older_order));
    let tagged = |found: Option<(Origin, String, Option<PathBuf>)>, composer: &str| {
        found.map(|(origin, label, path)| {
            let path = path.map(|p| std::path::absolute(&p).unwrap_or(p));
            let shadow = Shadowed {
                source: origin_name(&origin),
                path: path.map(|p| p.display().to_string()),
                composer: composer.into(),
            };
            (shadow, label)
        })
    };
    if current.as_ref().map(|c| &c.0) == older.as_ref().map(|o| &o.0) {
        return tagged(current, "any").into_iter().collect();
    }
    match ComposerBinary::find().and_then(|b| b.version) {
        Some(version) => {
            let chosen = match super::binary::precedence_of(Some(version)) {
                Precedence::EnvLast => current,
                Precedence::ProjectAuthLast => older,
            };
            let (major, minor, patch) = version;
            tagged(chosen, &format!("{major}.{minor}.{patch}"))
                .into_iter()
                .collect()
        }
        None => [tagged(current, ">=2.7.8"), tagged(older, "<2.7.8")]
            .into_iter()
            .flatten()
            .collect(),
    }
}

/// The source Composer uses instead of the keys, if it holds others: the
/// last with an entry for the host after the one written (or of all, when
/// nothing was written).
fn shadowing<'a>(found: &'a [Source], written: KeysIn, ours: &str) -> Option<&'a Source> {
    let after = match written {
        KeysIn::Nowhere => 0,
        KeysIn::Env => position(found, |s| s.origin == Origin::EnvAuth)? + 1,
        KeysIn::File(path) => {
            let path = std::path::absolute(path).ok()?;
            position(found, |s| {
                s.path
                    .as_deref()
                    .and_then(|p| std::path::absolute(p).ok())
                    .is_some_and(|p| p == path)
            })? + 1
        }
    };
    let winner = sources::winner(&found[after..])?;
    match &winner.holding {
        Holding::Entry { credentials, .. } if credentials != ours => Some(winner),
        _ => None,
    }
}

fn position(found: &[Source], is: impl Fn(&Source) -> bool) -> Option<usize> {
    found.iter().position(is)
}

/// The name `--json` gives a source.
fn origin_name(origin: &Origin) -> &'static str {
    match origin {
        Origin::HomeConfig => "home-config",
        Origin::HomeAuth => "home-auth",
        Origin::EnvAuth => "COMPOSER_AUTH",
        Origin::ProjectConfig => "project-config",
        Origin::ProjectAuth => "project-auth",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn entry(user: &str) -> String {
        format!(r#"{{"http-basic":{{"h":{{"password":"p","username":"{user}"}}}}}}"#)
    }

    #[test]
    fn only_a_later_source_with_other_credentials_shadows() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        fs::create_dir_all(&home).unwrap();
        let project_auth = dir.path().join("auth.json");
        fs::write(home.join("auth.json"), entry("u")).unwrap();
        fs::write(&project_auth, entry("other")).unwrap();
        let collect = |env: Option<&str>, precedence| {
            sources::collect(
                Some(&home),
                &dir.path().join("composer.json"),
                &project_auth,
                env,
                "h",
                precedence,
            )
        };
        let ours = credentials_fingerprint("u", "p");
        let found = collect(None, Precedence::EnvLast);
        let home_auth = home.join("auth.json");
        let shadow = shadowing(&found, KeysIn::File(&home_auth), &ours).unwrap();
        assert_eq!(shadow.origin, Origin::ProjectAuth);
        // Written where the winner is: nothing after it.
        assert!(shadowing(&found, KeysIn::File(&project_auth), &ours).is_none());
        assert_eq!(
            shadowing(&found, KeysIn::Nowhere, &ours).unwrap().origin,
            Origin::ProjectAuth
        );
        // The same credentials, fields in another order: no shadow.
        fs::write(
            &project_auth,
            r#"{"http-basic":{"h":{"username":"u","password":"p"}}}"#,
        )
        .unwrap();
        let found = collect(None, Precedence::EnvLast);
        assert!(shadowing(&found, KeysIn::File(&home_auth), &ours).is_none());
        // COMPOSER_AUTH written: the project file wins only before 2.7.8.
        fs::write(&project_auth, entry("other")).unwrap();
        let found = collect(Some(&entry("u")), Precedence::EnvLast);
        assert!(shadowing(&found, KeysIn::Env, &ours).is_none());
        let found = collect(Some(&entry("u")), Precedence::ProjectAuthLast);
        assert_eq!(
            shadowing(&found, KeysIn::Env, &ours).unwrap().origin,
            Origin::ProjectAuth
        );
    }
}
