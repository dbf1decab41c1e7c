//! The check of reachability, credentials and entitlements.
//!
//! One `GET packages.json` with the keys tells apart every outcome of the
//! SPEC's table; named packages cost one request each (`metadata-url`) or one
//! per provider file (the Composer 1 layout), never an archive.

pub mod classify;
pub mod download_token;
pub mod entitlement;
pub mod http;
pub mod listing;
pub mod noproxy;
pub mod packages;
pub mod trust;

use std::path::Path;

use anyhow::Result;
use serde_json::{Value, json};

use crate::cli::CheckArgs;
use crate::composer::repo_url::RepoUrl;
use crate::exit::Failure;
use crate::keys::Keys;
use crate::report::Reporter;
use classify::{Context, NOT_ENTITLED_HINT, Status, Verdict};
use http::{BasicAuth, Client, Reply};

/// What a check found, as `--json` prints it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckReport {
    pub status: Status,
    pub repository: String,
    pub http_status: Option<u16>,
    pub attempts: u32,
    pub duration_ms: u64,
    pub packages: Vec<(String, bool)>,
    pub message: String,
    pub hint: Option<String>,
}

impl CheckReport {
    /// A report for an outcome reached before any request (keys, skip).
    pub fn without_request(
        repo: &RepoUrl,
        status: Status,
        message: String,
        hint: Option<String>,
    ) -> Self {
        CheckReport {
            status,
            repository: repo.base(),
            http_status: None,
            attempts: 0,
            duration_ms: 0,
            packages: Vec::new(),
            message,
            hint,
        }
    }

    pub fn to_json(&self) -> Value {
        let packages: Vec<Value> = self
            .packages
            .iter()
            .map(|(name, visible)| json!({"name": name, "visible": visible}))
            .collect();
        json!({
            "status": self.status.word(),
            "repository": self.repository,
            "http_status": self.http_status,
            "attempts": self.attempts,
            "duration_ms": self.duration_ms,
            "packages": packages,
            "message": self.message,
            "hint": self.hint,
        })
    }

    /// `Ok` for the statuses that exit 0, else the failure with its code.
    pub fn into_result(self) -> Result<(), Failure> {
        if self.status.code() as u8 == 0 {
            return Ok(());
        }
        let mut failure =
            Failure::new(self.status.code(), self.message).with_status(self.status.word());
        failure.hint = self.hint;
        Err(failure)
    }
}

/// Check `keys` against `repo` as `args` asks; an error carries the outcome's
/// exit code and hint. Packages are the ones named with `--require-package`
/// (`auto` reading composer.json in the current directory).
pub fn run(
    repo: &RepoUrl,
    keys: &Keys,
    args: &CheckArgs,
    reporter: &mut dyn Reporter,
) -> Result<()> {
    run_in(repo, keys, args, Path::new("."), false, reporter)
}

/// [`run`] for a project in `working_dir`; `default_auto` makes `auto` the
/// default when no `--require-package` is given (setup and exec).
pub fn run_in(
    repo: &RepoUrl,
    keys: &Keys,
    args: &CheckArgs,
    working_dir: &Path,
    default_auto: bool,
    reporter: &mut dyn Reporter,
) -> Result<()> {
    let names = packages::resolve(
        &args.require_packages,
        working_dir,
        repo,
        default_auto,
        reporter,
    )?;
    let report = check(repo, keys, args, &names)?;
    say(&report, reporter);
    Ok(report.into_result()?)
}

/// Tell a human how it went; failures are left to the caller's error line.
pub fn say(report: &CheckReport, reporter: &mut dyn Reporter) {
    if report.status == Status::Ok {
        reporter.info(&format!("check: ok: {}", report.message));
    }
}

/// The check itself. An `Err` is bad input (`--ca-file`); every outcome of
/// the table is in the report.
pub fn check(
    repo: &RepoUrl,
    keys: &Keys,
    args: &CheckArgs,
    names: &[String],
) -> Result<CheckReport, Failure> {
    let roots = trust::Roots::load(args.ca_file.as_deref())?;
    let timeout = crate::cli::timeout(args.timeout)?;
    let retries = crate::cli::retries(args.retries)?;
    let mut report = CheckReport {
        status: Status::Ok,
        repository: repo.base(),
        http_status: None,
        attempts: 0,
        duration_ms: 0,
        packages: Vec::new(),
        message: String::new(),
        hint: None,
    };
    let mut client = match Client::new(&roots, timeout, retries) {
        Ok(client) => client,
        Err(why) => {
            report.status = Status::Unreachable;
            report.message = why;
            report.hint = Some("fix HTTPS_PROXY / https_proxy / ALL_PROXY".into());
            return Ok(report);
        }
    };
    let verdict = probe(repo, keys, &mut client, names, &mut report);
    report.attempts = client.attempts;
    report.duration_ms = u64::try_from(client.elapsed().as_millis()).unwrap_or(u64::MAX);
    if let Err(verdict) = verdict {
        report.status = verdict.status;
        report.message = verdict.message;
        report.hint = verdict.hint;
    }
    Ok(report)
}

fn probe(
    repo: &RepoUrl,
    keys: &Keys,
    client: &mut Client,
    names: &[String],
    report: &mut CheckReport,
) -> Result<(), Verdict> {
    let url = repo.join("packages.json").map_err(|_| Verdict {
        status: Status::Unreachable,
        message: format!(
            "{} has no packages.json magento-auth can request",
            repo.base()
        ),
        hint: Some("check --repo-url".into()),
    })?;
    if !url.may_carry_credentials() {
        // RepoUrl::parse refuses this already; never send keys in the clear.
        return Err(Verdict {
            status: Status::Unreachable,
            message: "plain http is allowed for loopback hosts only".into(),
            hint: Some("use https".into()),
        });
    }
    let full = url.shown();
    let auth = BasicAuth::new(url.auth_host(), &keys.public, &keys.private);
    let redact = [keys.public.expose(), keys.private.expose()];
    let result = client.get(&url, Some(&auth));
    let proxy = client.proxy_for(&url).map(str::to_string);
    let ctx = Context {
        url: &full,
        proxy: proxy.as_deref(),
        attempts: client.attempts,
        redact: &redact,
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
            redact: &redact,
        };
        report.packages = entitlement::visibility(&doc, names, repo, &mut fetch)?;
        let hidden: Vec<&str> = report
            .packages
            .iter()
            .filter(|(_, visible)| !visible)
            .map(|(n, _)| n.as_str())
            .collect();
        if !hidden.is_empty() {
            return Err(Verdict {
                status: Status::NotEntitled,
                message: format!(
                    "the keys are valid for {repository}, but cannot see {}",
                    hidden.join(", ")
                ),
                hint: Some(NOT_ENTITLED_HINT.into()),
            });
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
    redact: &'a [&'a str],
}

impl entitlement::Fetch for Fetcher<'_> {
    fn get(&mut self, url: &RepoUrl) -> Result<Reply, Verdict> {
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
                        redact: self.redact,
                    },
                ))
            }
        }
    }

    fn refuse(&self, url: &RepoUrl, reply: &Reply) -> Verdict {
        classify::failure(
            &Ok(reply.clone()),
            &Context {
                url: &url.shown(),
                proxy: None,
                attempts: self.client.attempts,
                redact: self.redact,
            },
        )
    }
}
