//! The check of reachability, credentials and entitlements.
//!
//! One `GET packages.json` with the keys tells apart every outcome of the
//! SPEC's table; named packages cost one request each (`metadata-url`) or one
//! per provider file (the Composer 1 layout), never an archive.

pub(crate) mod classify;
pub(crate) mod download_token;
pub(crate) mod entitlement;
mod hidden;
pub(crate) mod http;
pub(crate) mod listing;
pub(crate) mod net_error;
pub(crate) mod noproxy;
pub(crate) mod packages;
mod retry_after;
pub(crate) mod trust;

use std::path::Path;

use anyhow::Result;

use crate::cli::{CheckArgs, settings};
use crate::composer::repo_url::RepoUrl;
use crate::exit::{Failure, Outcome, Status};
use crate::keys::Keys;
use crate::report::Reporter;
use classify::Context;
use http::{BasicAuth, Client, Reply};

/// Check `keys` against `repo` as `args` asks: `Ok` holds an outcome that
/// exits 0, an error carries the outcome's status, exit code and hint.
/// Packages are the ones named with `--require-package`; `default_auto`
/// makes `auto` (reading composer.json in `working_dir`) the default when
/// none is named (setup and exec).
pub(crate) fn run_in(
    repo: &RepoUrl,
    keys: &Keys,
    args: &CheckArgs,
    working_dir: &Path,
    default_auto: bool,
    reporter: &mut dyn Reporter,
) -> Result<Outcome> {
    let names = packages::resolve(
        &args.require_packages,
        working_dir,
        repo,
        default_auto,
        reporter,
    )?;
    let outcome = check(repo, keys, args, &names)?;
    say(&outcome, reporter);
    Ok(outcome.into_result()?)
}

/// Tell a human how it went; failures are left to the caller's error line.
pub(crate) fn say(outcome: &Outcome, reporter: &mut dyn Reporter) {
    if outcome.status == Status::Ok {
        reporter.info(&format!("check: ok: {}", outcome.message));
    }
}

/// The check itself. An `Err` is bad input (`--ca-file`); every outcome of
/// the table is an `Ok`.
pub(crate) fn check(
    repo: &RepoUrl,
    keys: &Keys,
    args: &CheckArgs,
    names: &[String],
) -> Result<Outcome, Failure> {
    let roots = trust::Roots::load(args.ca_file.as_deref())?;
    let timeout = crate::cli::timeout(args.timeout)?;
    let retries = crate::cli::retries(args.retries)?;
    let mut outcome = Outcome::of(Status::Ok, "").with_repository(repo.base());
    let mut client = match Client::new(roots, timeout, retries) {
        Ok(client) => client,
        Err(why) => {
            return Ok(outcome.concluded(
                Outcome::of(Status::Unreachable, why)
                    .with_hint("fix HTTPS_PROXY / https_proxy / ALL_PROXY"),
            ));
        }
    };
    let verdict = probe(repo, keys, &mut client, names, &mut outcome);
    outcome.attempts = client.attempts;
    outcome.duration_ms = u64::try_from(client.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(match verdict {
        Ok(()) => outcome,
        Err(verdict) => outcome.concluded(verdict),
    })
}

fn probe(
    repo: &RepoUrl,
    keys: &Keys,
    client: &mut Client,
    names: &[String],
    report: &mut Outcome,
) -> Result<(), Outcome> {
    let url = repo.join("packages.json").map_err(|_| {
        Outcome::of(
            Status::Unreachable,
            format!(
                "{} has no packages.json magento-auth can request",
                repo.base()
            ),
        )
        .with_hint(format!("check {}", settings::name("--repo-url")))
    })?;
    if !url.may_carry_credentials() {
        // RepoUrl::parse refuses this already; never send keys in the clear.
        return Err(Outcome::of(
            Status::Unreachable,
            "plain http is allowed for loopback hosts only",
        )
        .with_hint("use https"));
    }
    let full = url.shown();
    let auth = BasicAuth::new(url.auth_host(), &keys.public, &keys.private);
    let result = client.get(&url, Some(&auth));
    let proxy = client.proxy_for(&url).map(str::to_string);
    let ctx = Context {
        url: &full,
        proxy: proxy.as_deref(),
        attempts: client.attempts,
    };
    if let Ok(reply) = &result {
        report.http_status = Some(reply.status);
    }
    let reply = match result {
        Ok(reply) if reply.status == 200 => reply,
        other => return Err(classify::failure(&other, &ctx)),
    };
    let doc = classify::repository_document(&reply, &ctx)?;
    drop(reply);
    let repository = repo.base();
    let mut ok_message = format!("{repository} accepted the keys (HTTP 200)");
    if !names.is_empty() {
        let mut fetch = Fetcher {
            client,
            auth: &auth,
        };
        let mut near = hidden::Near::new(names);
        report.packages = entitlement::visibility(&doc, names, repo, &mut fetch, &mut near)?.into();
        let hidden: Vec<&str> = report
            .packages
            .iter()
            .filter(|(_, visible)| !visible)
            .map(|(n, _)| n.as_str())
            .collect();
        if !hidden.is_empty() {
            let message = format!(
                "the keys are valid for {repository}, but cannot see {}",
                hidden.join(", ")
            );
            let hint = hidden::hint(&hidden, &near);
            return Err(Outcome::of(Status::NotEntitled, message).with_hint(hint));
        }
        ok_message.push_str(&format!("; visible: {}", names.join(", ")));
    }
    report.message = ok_message;
    Ok(())
}

/// Entitlement requests through the check's client, with the same rules.
struct Fetcher<'a> {
    client: &'a mut Client,
    auth: &'a BasicAuth,
}

impl entitlement::Fetch for Fetcher<'_> {
    fn get(&mut self, url: &RepoUrl) -> Result<Reply, Outcome> {
        let result = self.client.get(url, Some(self.auth));
        match result {
            Ok(reply) => Ok(reply),
            err => {
                let proxy = self.client.proxy_for(url).map(str::to_string);
                Err(classify::failure(
                    &err,
                    &Context {
                        url: &url.shown(),
                        proxy: proxy.as_deref(),
                        attempts: self.client.attempts,
                    },
                ))
            }
        }
    }

    fn refuse(&self, url: &RepoUrl, reply: &Reply) -> Outcome {
        classify::failure(
            &Ok(reply.clone()),
            &Context {
                url: &url.shown(),
                proxy: None,
                attempts: self.client.attempts,
            },
        )
    }
}
