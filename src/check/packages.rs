//! Which packages to check: named ones, `none`, or `auto` from the project.

use std::path::Path;

use serde_json::Value;

use crate::cli::settings;
use crate::composer;
use crate::composer::repo_url::RepoUrl;
use crate::exit::Failure;
use crate::report::Reporter;

/// At most this many packages are checked; more are sampled.
pub(crate) const MAX_PACKAGES: usize = 20;

/// The names to check from `--require-package` values.
pub(crate) fn resolve(
    given: &[String],
    working_dir: &Path,
    repo: &RepoUrl,
    default_auto: bool,
    reporter: &mut dyn Reporter,
) -> Result<Vec<String>, Failure> {
    // A blank entry (a trailing comma, `a/b,,c/d`, an empty variable) is
    // no entry at all.
    let given: Vec<String> = given
        .iter()
        .map(|g| g.trim().to_string())
        .filter(|g| !g.is_empty())
        .collect();
    let given = given.as_slice();
    let mut names: Vec<String> = Vec::new();
    let auto = given.iter().any(|g| g == "auto")
        || (given.is_empty() && default_auto && composer::composer_json(working_dir).is_file());
    for value in given {
        if value == "auto" || value == "none" {
            continue;
        }
        let name = normalize(value).ok_or_else(|| {
            Failure::bad_input(format!(
                "{value:?} in {} is not a package name",
                settings::name("--require-package")
            ))
            .with_hint("name packages as Composer does: vendor/name, or give auto or none")
        })?;
        names.push(name);
    }
    if given.iter().any(|g| g == "none") {
        if !names.is_empty() || given.iter().any(|g| g == "auto") {
            return Err(Failure::bad_input(format!(
                "none in {} cannot be combined with other values",
                settings::name("--require-package")
            )));
        }
        return Ok(Vec::new());
    }
    if auto {
        for name in from_project(working_dir, repo, reporter) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    if names.len() > MAX_PACKAGES {
        reporter.info(&format!(
            "{} packages to check; checking a sample of {MAX_PACKAGES}",
            names.len()
        ));
        names = sample(names, MAX_PACKAGES);
    }
    Ok(names)
}

/// `magento/product-*` first (they decide Commerce access), then evenly spread.
fn sample(names: Vec<String>, max: usize) -> Vec<String> {
    let (products, rest): (Vec<_>, Vec<_>) = names
        .into_iter()
        .partition(|n| n.starts_with("magento/product-"));
    let mut out: Vec<String> = products.into_iter().take(max).collect();
    let room = max - out.len();
    if room > 0 && !rest.is_empty() {
        let step = rest.len() as f64 / room as f64;
        out.extend((0..room.min(rest.len())).map(|i| rest[(i as f64 * step) as usize].clone()));
    }
    out
}

/// The `require` of composer.json that composer.lock says come from this
/// repository (their dist URL is on its host); with no lock, those named
/// `magento/product-*`. Unreadable files give no names, with a warning.
fn from_project(working_dir: &Path, repo: &RepoUrl, reporter: &mut dyn Reporter) -> Vec<String> {
    let manifest = composer::composer_json(working_dir);
    let read = |path: &Path| -> Option<Value> {
        let bytes = std::fs::read(path).ok()?;
        serde_json::from_slice(&bytes).ok()
    };
    let Some(doc) = read(&manifest) else {
        if manifest.exists() {
            reporter.warning(&format!(
                "{} is not valid JSON; checking no package from it",
                manifest.display()
            ));
        }
        return Vec::new();
    };
    let required: Vec<String> = doc
        .get("require")
        .and_then(Value::as_object)
        .map(|r| r.keys().filter_map(|k| normalize(k)).collect())
        .unwrap_or_default();
    let lock = manifest.with_extension("lock");
    match read(&lock) {
        Some(lock) => {
            let from_repo: Vec<String> = ["packages", "packages-dev"]
                .iter()
                .filter_map(|k| lock.get(*k).and_then(Value::as_array))
                .flatten()
                .filter(|p| {
                    p.pointer("/dist/url")
                        .and_then(Value::as_str)
                        .and_then(|url| RepoUrl::absolute(url).ok())
                        .is_some_and(|url| url.host().eq_ignore_ascii_case(repo.host()))
                })
                .filter_map(|p| p.get("name").and_then(Value::as_str).and_then(normalize))
                .collect();
            required
                .into_iter()
                .filter(|n| from_repo.contains(n))
                .collect()
        }
        None => required
            .into_iter()
            .filter(|n| n.starts_with("magento/product-"))
            .collect(),
    }
}

/// A package name as Composer accepts it, lowercased; `None` if it is not one.
pub(crate) fn normalize(name: &str) -> Option<String> {
    let name = name.trim().to_ascii_lowercase();
    let (vendor, package) = name.split_once('/')?;
    let ok = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    };
    (ok(vendor) && ok(package)).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalized() {
        assert_eq!(
            normalize(" Magento/Product-Enterprise-Edition ").as_deref(),
            Some("magento/product-enterprise-edition")
        );
        assert_eq!(normalize("nope"), None);
        assert_eq!(normalize("a/b c"), None);
    }
    use crate::report::Recorder;

    fn repo() -> RepoUrl {
        RepoUrl::parse("https://repo.magento.com").unwrap()
    }

    /// A trailing comma or `,,` in a package list is no entry, not a package
    /// named "" (issue 13, item 12).
    #[test]
    fn blank_entries_are_no_entries() {
        let dir = tempfile::tempdir().unwrap();
        let mut rec = Recorder::default();
        let given: Vec<String> = ["magento/a", "", " ", "magento/b"]
            .map(String::from)
            .to_vec();
        let names = resolve(&given, dir.path(), &repo(), false, &mut rec).unwrap();
        assert_eq!(names, ["magento/a", "magento/b"]);
        let names = resolve(
            &["none".into(), "".into()],
            dir.path(),
            &repo(),
            false,
            &mut rec,
        );
        assert_eq!(names.unwrap(), Vec::<String>::new());
    }

    #[test]
    fn auto_takes_the_lock_s_packages_from_this_host() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("composer.json"),
            r#"{"require":{"php":"^8.2","magento/product-enterprise-edition":"2.4.7","vendor/other":"1.0","magento/module-x":"1"}}"#,
        )
        .unwrap();
        let mut rec = Recorder::default();
        let names = resolve(&["auto".into()], dir.path(), &repo(), false, &mut rec).unwrap();
        assert_eq!(names, ["magento/product-enterprise-edition"]);
        std::fs::write(
            dir.path().join("composer.lock"),
            r#"{"packages":[
              {"name":"magento/module-x","dist":{"url":"https://repo.magento.com/archives/x.zip"}},
              {"name":"vendor/other","dist":{"url":"https://api.github.com/x.zip"}}]}"#,
        )
        .unwrap();
        let names = resolve(&[], dir.path(), &repo(), true, &mut rec).unwrap();
        assert_eq!(names, ["magento/module-x"]);
        assert!(
            resolve(&[], dir.path(), &repo(), false, &mut rec)
                .unwrap()
                .is_empty()
        );
        assert!(
            resolve(&["none".into()], dir.path(), &repo(), true, &mut rec)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn bad_names_are_refused_and_many_are_sampled() {
        let mut rec = Recorder::default();
        let dir = tempfile::tempdir().unwrap();
        assert!(resolve(&["not a name".into()], dir.path(), &repo(), false, &mut rec).is_err());
        let many: Vec<String> = (0..30).map(|i| format!("v/p{i}")).collect();
        let names = resolve(&many, dir.path(), &repo(), false, &mut rec).unwrap();
        assert_eq!(names.len(), MAX_PACKAGES);
        assert!(rec.lines.iter().any(|l| l.contains("sample")));
    }
}
