//! Whether named packages are visible to the keys, from whatever the
//! repository offers: `metadata-url` (Composer 2), then `available-packages`,
//! then `providers-url` with `provider-includes` (the Composer 1 layout that
//! repo.magento.com serves), as Composer's `ComposerRepository` reads them.

use std::collections::BTreeSet;

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde_json::{Map, Value};

use super::hidden::Near;
use super::http::Reply;
use super::listing::{listed, listed_near};
use crate::cli::settings;
use crate::composer::repo_url::{RepoUrl, UrlError};
use crate::digest::sha256_hex;
use crate::exit::{Outcome, Status};

/// What is percent-encoded in the path of a provider file: `$`, as
/// Composer requests it (repo.magento.com names its files `name$hash.json`),
/// and what no URL may hold as it is.
const PROVIDER_FILE: &AsciiSet = &CONTROLS.add(b' ').add(b'"').add(b'<').add(b'>').add(b'$');

/// How entitlement requests are made, so the logic can be tested alone.
pub(crate) trait Fetch {
    /// GET `url`: any HTTP answer, or the verdict on a request that failed.
    fn get(&mut self, url: &RepoUrl) -> Result<Reply, Outcome>;
    /// The verdict on an HTTP answer that is not the one wanted.
    fn refuse(&self, url: &RepoUrl, reply: &Reply) -> Outcome;
}

/// Each name with whether the keys can see it; every name the repository
/// lists on the way is offered to `near`.
pub(crate) fn visibility(
    doc: &Map<String, Value>,
    names: &[String],
    at: &RepoUrl,
    fetch: &mut dyn Fetch,
    near: &mut Near,
) -> Result<Vec<(String, bool)>, Outcome> {
    offer_listed(doc, near);
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut unknown: Vec<&String> = Vec::new();
    for name in names {
        if inline(doc, name) {
            seen.insert(name.clone());
        } else {
            unknown.push(name);
        }
    }
    let available = doc.get("available-packages").and_then(Value::as_array);
    let patterns = doc
        .get("available-package-patterns")
        .and_then(Value::as_array);
    let listed = |name: &str| {
        available.is_some_and(|list| list.iter().any(|v| v.as_str() == Some(name)))
            || patterns.is_some_and(|list| {
                list.iter()
                    .filter_map(Value::as_str)
                    .any(|p| glob(&p.to_ascii_lowercase(), name))
            })
    };
    let has_listing = available.is_some() || patterns.is_some();
    let metadata_url = doc.get("metadata-url").and_then(Value::as_str);

    let mut need_providers = Vec::new();
    for name in unknown {
        if has_listing && !listed(name) {
            continue;
        }
        if let Some(template) = metadata_url {
            let url = link(at, &template.replace("%package%", name))?;
            let reply = fetch.get(&url)?;
            match reply.status {
                200 if has_versions(&reply.body, name) => {
                    seen.insert(name.clone());
                }
                // The root answered 200 to these keys: a package they may not
                // see is missing (404) or refused (403), not a key problem.
                200 | 403 | 404 => {}
                _ => return Err(fetch.refuse(&url, &reply)),
            }
        } else if has_listing {
            seen.insert(name.clone());
        } else {
            need_providers.push(name.clone());
        }
    }
    if !need_providers.is_empty() {
        providers(doc, &mut need_providers, at, fetch, &mut seen, near)?;
    }
    Ok(names
        .iter()
        .map(|n| (n.clone(), seen.contains(n)))
        .collect())
}

/// The names packages.json itself lists: inline packages and providers,
/// `available-packages`.
fn offer_listed(doc: &Map<String, Value>, near: &mut Near) {
    for section in ["packages", "providers"] {
        if let Some(map) = doc.get(section).and_then(Value::as_object) {
            map.keys().for_each(|name| near.offer(name));
        }
    }
    if let Some(list) = doc.get("available-packages").and_then(Value::as_array) {
        list.iter()
            .filter_map(Value::as_str)
            .for_each(|name| near.offer(name));
    }
}

/// `packages` inline in packages.json (the simplest layout).
fn inline(doc: &Map<String, Value>, name: &str) -> bool {
    let versions = doc.get("packages").and_then(|p| p.get(name));
    match versions {
        Some(Value::Object(map)) => !map.is_empty(),
        Some(Value::Array(list)) => !list.is_empty(),
        _ => false,
    }
}

/// A Composer 2 metadata file lists at least one version of `name`.
fn has_versions(body: &[u8], name: &str) -> bool {
    let wanted = [name.to_string()];
    listed(body, "packages", &wanted).is_some_and(|found| !found.is_empty())
}

/// The Composer 1 layout: names in `providers` inline or in each
/// `provider-includes` file, whose hash is checked. Files are fetched only
/// until every name is found.
fn providers(
    doc: &Map<String, Value>,
    wanted: &mut Vec<String>,
    at: &RepoUrl,
    fetch: &mut dyn Fetch,
    seen: &mut BTreeSet<String>,
    near: &mut Near,
) -> Result<(), Outcome> {
    let mut take = |found: Vec<String>, wanted: &mut Vec<String>| {
        wanted.retain(|name| !found.contains(name));
        seen.extend(found);
    };
    if let Some(inline) = doc.get("providers").and_then(Value::as_object) {
        let found = wanted
            .iter()
            .filter(|name| inline.contains_key(name.as_str()))
            .cloned()
            .collect();
        take(found, wanted);
    }
    let Some(includes) = doc.get("provider-includes").and_then(Value::as_object) else {
        return Ok(());
    };
    for (path, hashes) in includes {
        if wanted.is_empty() {
            break;
        }
        let hash = hashes.get("sha256").and_then(Value::as_str);
        let file = match hash {
            Some(hash) => path.replace("%hash%", hash),
            None => path.clone(),
        };
        let file = utf8_percent_encode(file.trim_start_matches('/'), PROVIDER_FILE).to_string();
        let url = link(at, &file)?;
        let reply = fetch.get(&url)?;
        if reply.status != 200 {
            return Err(fetch.refuse(&url, &reply));
        }
        if let Some(hash) = hash {
            let actual = sha256_hex(&reply.body);
            if !actual.eq_ignore_ascii_case(hash) {
                let message = format!(
                    "{} does not match the sha256 that packages.json gives for it",
                    url.shown()
                );
                return Err(Outcome::of(Status::Unreachable, message).with_hint(
                    "a cache or proxy between the job and the repository served a stale or \
                     altered file: try again, or bypass it with NO_PROXY",
                ));
            }
        }
        match listed_near(&reply.body, "providers", wanted, near) {
            Some(found) => take(found, wanted),
            None => {
                let message = format!("{} is not a Composer provider file", url.shown());
                return Err(Outcome::of(Status::Unreachable, message).with_hint(format!(
                    "check {}, and any proxy in between",
                    settings::name("--repo-url")
                )));
            }
        }
    }
    Ok(())
}

/// A URL from packages.json, resolved against the repository's (see
/// [`RepoUrl::join`]), if credentials may follow it there.
fn link(at: &RepoUrl, reference: &str) -> Result<RepoUrl, Outcome> {
    let refused = |message: String, hint: Option<&str>| {
        Outcome::of(Status::Unreachable, message).with_hint_opt(hint.map(str::to_string))
    };
    match at.join(reference) {
        Ok(url) if url.may_carry_credentials() => Ok(url),
        Ok(url) => Err(refused(
            format!("packages.json points to plain http on host {}", url.host()),
            Some("the repository must be served over https"),
        )),
        Err(UrlError::Credentials) => Err(refused(
            "packages.json points to a URL that carries credentials (user:pass@); they are not \
             followed"
                .into(),
            None,
        )),
        Err(_) => Err(refused(
            format!("packages.json points to {reference}, which is not an http(s) URL"),
            None,
        )),
    }
}

/// `*` matches any run of characters, as in `available-package-patterns`.
fn glob(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || !name[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Fake {
        files: HashMap<String, (u16, String)>,
        asked: Vec<String>,
    }

    impl Fetch for Fake {
        fn get(&mut self, url: &RepoUrl) -> Result<Reply, Outcome> {
            let url = url.uri().to_string();
            self.asked.push(url.clone());
            let (status, body) = self
                .files
                .get(&url)
                .cloned()
                .unwrap_or((404, String::new()));
            Ok(Reply {
                status,
                body: body.into_bytes(),
                ..Reply::default()
            })
        }
        fn refuse(&self, url: &RepoUrl, reply: &Reply) -> Outcome {
            Outcome::of(
                Status::Unreachable,
                format!("{} {}", url.shown(), reply.status),
            )
        }
    }

    type Visible = Result<Vec<(String, bool)>, Outcome>;

    fn run(doc: &str, files: &[(&str, u16, &str)], names: &[&str]) -> (Visible, Vec<String>) {
        let doc: Map<String, Value> = serde_json::from_str(doc).unwrap();
        let mut fake = Fake {
            files: files
                .iter()
                .map(|(u, s, b)| (u.to_string(), (*s, b.to_string())))
                .collect(),
            asked: Vec::new(),
        };
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let at = RepoUrl::parse("https://r.test/sub").unwrap();
        let out = visibility(&doc, &names, &at, &mut fake, &mut Near::new(&names));
        (out, fake.asked)
    }

    #[test]
    fn composer_1_provider_includes_with_hashes() {
        let listing = r#"{"providers":{"magento\/product-community-edition":{"sha256":"x"}}}"#;
        let hash = sha256_hex(listing.as_bytes());
        let doc = format!(
            r#"{{"packages":[],"providers-url":"/p/%package%$%hash%.json","provider-includes":{{"p/provider-ce$%hash%.json":{{"sha256":"{hash}"}}}}}}"#
        );
        let url = format!("https://r.test/sub/p/provider-ce%24{hash}.json");
        let (out, asked) = run(
            &doc,
            &[(&url, 200, listing)],
            &[
                "magento/product-community-edition",
                "magento/product-enterprise-edition",
            ],
        );
        assert_eq!(
            out.unwrap(),
            [
                ("magento/product-community-edition".to_string(), true),
                ("magento/product-enterprise-edition".to_string(), false)
            ]
        );
        assert_eq!(asked.len(), 1);
        assert_eq!(asked[0], url);

        // An altered file is caught.
        let (out, _) = run(&doc, &[(&url, 200, r#"{"providers":{}}"#)], &["a/b"]);
        assert!(out.unwrap_err().message.contains("sha256"));
    }

    #[test]
    fn composer_2_metadata_url() {
        let doc = r#"{"packages":[],"metadata-url":"/p2/%package%.json"}"#;
        let (out, asked) = run(
            doc,
            &[(
                "https://r.test/p2/a/b.json",
                200,
                r#"{"packages":{"a/b":[{"version":"1.0.0"}]}}"#,
            )],
            &["a/b", "c/d"],
        );
        assert_eq!(
            out.unwrap(),
            [("a/b".to_string(), true), ("c/d".to_string(), false)]
        );
        assert_eq!(asked.len(), 2);
        let (out, _) = run(doc, &[("https://r.test/p2/a/b.json", 500, "")], &["a/b"]);
        assert!(out.is_err());
        let (out, _) = run(doc, &[("https://r.test/p2/a/b.json", 403, "")], &["a/b"]);
        assert_eq!(out.unwrap(), [("a/b".to_string(), false)]);
    }

    #[test]
    fn available_packages_need_no_request() {
        let doc = r#"{"packages":[],"available-packages":["a/b"],"available-package-patterns":["magento/module-*"]}"#;
        let (out, asked) = run(doc, &[], &["a/b", "c/d", "magento/module-x"]);
        assert_eq!(
            out.unwrap(),
            [
                ("a/b".to_string(), true),
                ("c/d".to_string(), false),
                ("magento/module-x".to_string(), true)
            ]
        );
        assert!(asked.is_empty());
    }

    #[test]
    fn inline_packages() {
        let doc = r#"{"packages":{"a/b":{"1.0.0":{}}}}"#;
        let (out, _) = run(doc, &[], &["a/b", "c/d"]);
        assert_eq!(
            out.unwrap(),
            [("a/b".to_string(), true), ("c/d".to_string(), false)]
        );
    }

    #[test]
    fn globs() {
        assert!(glob("magento/*", "magento/x"));
        assert!(glob("*/module-*-x", "v/module-a-x"));
        assert!(!glob("magento/*", "other/x"));
    }
}
