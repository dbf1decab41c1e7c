//! `magento-auth check`: keys from the environment, else the credentials
//! Composer would use; one report, in words or as one JSON object.

use anyhow::Result;

use crate::check::{self as checking, download_token, packages};
use crate::cli::{CheckCommandArgs, OnMissing};
use crate::composer;
use crate::composer::binary::{ComposerBinary, Precedence};
use crate::composer::home::{ProcessEnv, composer_home};
use crate::composer::repo_url::RepoUrl;
use crate::composer::shadow::{self, KeysIn};
use crate::composer::sources;
use crate::exit::{Outcome, Status};
use crate::keys::{self, Intake, Keys};
use crate::report::Reporter;

/// Run the check command and say how it went. `Ok` holds an outcome that
/// exits 0 (`ok`, `skipped`); every other outcome is the error, with its
/// status, exit code and hint.
pub(crate) fn run(args: &CheckCommandArgs, reporter: &mut dyn Reporter) -> Result<Outcome> {
    let outcome = match outcome(args, reporter) {
        Ok(outcome) => outcome,
        Err(err) => {
            if args.json {
                reporter.json(&error_json(args, &err));
            }
            return Err(err);
        }
    };
    if args.json {
        reporter.json(&outcome.to_json());
    } else if outcome.status == Status::Skipped {
        reporter.notice(&outcome.message);
    } else {
        checking::say(&outcome, reporter);
    }
    Ok(outcome.into_result()?)
}

/// Everything the check command finds, printing nothing but notices: every
/// outcome of the SPEC's table is an `Ok`; an `Err` is bad input or I/O.
pub(crate) fn outcome(args: &CheckCommandArgs, reporter: &mut dyn Reporter) -> Result<Outcome> {
    let repo = RepoUrl::parse(&args.repo.repo_url)?;
    if args.download_token {
        download_token::validate_url(args)?;
    }
    let mut report = match report(args, &repo, reporter) {
        Ok(report) => report,
        Err(err) => match err.downcast::<Outcome>() {
            // Key problems are outcomes of the table too: report them as such.
            Ok(failure) if failure.status != Status::Error => failure.with_repository(repo.base()),
            Ok(failure) => return Err(failure.into()),
            Err(other) => return Err(other),
        },
    };
    if args.download_token && report.status == Status::Ok {
        download_token::check(args, &mut report, reporter)?;
    }
    Ok(report)
}

fn report(args: &CheckCommandArgs, repo: &RepoUrl, reporter: &mut dyn Reporter) -> Result<Outcome> {
    let names = packages::resolve(
        &args.check.require_packages,
        &args.repo.working_dir,
        repo,
        false,
        reporter,
    )?;
    let keys = match keys::read(&args.keys, repo.is_magento(), reporter)? {
        Intake::Present(keys) => {
            // Keys from the environment: say if Composer would send others.
            let mut outcome = checking::check(repo, &keys, &args.check, &names)?;
            outcome.shadowed_by = Box::new(shadow::warn(
                &args.repo.working_dir,
                &repo.auth_host(),
                &keys,
                KeysIn::Nowhere,
                reporter,
            ));
            return Ok(outcome);
        }
        Intake::Missing => match composer_credentials(args, repo, reporter) {
            Some(keys) => keys,
            None => {
                let outcome = match args.keys.on_missing {
                    OnMissing::Fail => {
                        let failure = keys::missing(&args.keys);
                        Outcome::of(Status::MissingKeys, failure.message)
                            .with_hint_opt(failure.hint)
                    }
                    OnMissing::Skip => Outcome::of(Status::Skipped, keys::skipped(&args.keys)),
                };
                return Ok(outcome.with_repository(repo.base()));
            }
        },
    };
    Ok(checking::check(repo, &keys, &args.check, &names)?)
}

/// No keys in the environment: the credentials Composer would use for the
/// host, as the doctor resolves them, saying where they came from.
fn composer_credentials(
    args: &CheckCommandArgs,
    repo: &RepoUrl,
    reporter: &mut dyn Reporter,
) -> Option<Keys> {
    let host = repo.auth_host();
    let home = composer_home(&ProcessEnv).ok();
    let working_dir = &args.repo.working_dir;
    let composer_auth = std::env::var("COMPOSER_AUTH").ok();
    let precedence = ComposerBinary::find().map_or(Precedence::EnvLast, |b| b.precedence());
    let found = sources::collect(
        home.as_deref(),
        &composer::composer_json(working_dir),
        &composer::project_auth_json(working_dir),
        composer_auth.as_deref(),
        &host,
        precedence,
    );
    let (label, public, private) =
        sources::winning_credentials(&found, composer_auth.as_deref(), &host)?;
    for secret in [&public, &private] {
        if !secret.expose().is_empty() {
            reporter.mask(secret.expose());
        }
    }
    reporter.info(&format!(
        "no keys in {} and {}: checking the credentials Composer would use for {host}, from {label}",
        args.keys.public_key_env, args.keys.private_key_env
    ));
    Some(Keys { public, private })
}

/// `--json` output for an error outside the table (a bad option, I/O), so
/// that scripts always get one object: status `error`.
fn error_json(args: &CheckCommandArgs, err: &anyhow::Error) -> serde_json::Value {
    // The URL as given is not echoed: it may be the one refused for holding
    // credentials.
    let repository = RepoUrl::parse(&args.repo.repo_url).ok().map(|r| r.base());
    Outcome {
        status: Status::Error,
        repository,
        ..Outcome::of_error(err)
    }
    .to_json()
}
