//! What setup and exec share: the keys read and checked, and the keys
//! written into the auth.json of a file mode.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;

use crate::check;
use crate::ci::Platform;
use crate::cli::{CheckArgs, KeyArgs, Mode, OnMissing, PlatformArgs, RepoArgs};
use crate::composer;
use crate::composer::home::{ProcessEnv, composer_home};
use crate::composer::repo_url::RepoUrl;
use crate::exit::{Outcome, Status};
use crate::journal::liveness::Lifetime;
use crate::journal::{self, Place, Request, Written};
use crate::keys::{self, Intake, Keys};
use crate::report::Reporter;

/// Whether setup checks the keys before it writes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CheckPolicy {
    /// A failed check stops setup, which writes nothing.
    Enforce,
    /// A failed check is a warning; the credentials are written anyway.
    WarnOnly,
    /// No check (`--no-check`).
    Skip,
}

impl CheckPolicy {
    pub(crate) fn from_flags(no_check: bool, warn_only: bool) -> Self {
        match (no_check, warn_only) {
            (true, _) => CheckPolicy::Skip,
            (false, true) => CheckPolicy::WarnOnly,
            (false, false) => CheckPolicy::Enforce,
        }
    }
}

/// The steps every command that needs keys shares: parse the URL, read the
/// keys, run the check. `None` when keys are missing and may be skipped.
pub(crate) struct Prepared {
    pub(crate) repo: RepoUrl,
    pub(crate) keys: Keys,
    pub(crate) platform: Platform,
    pub(crate) state_path: PathBuf,
    /// How long a lock may be waited for.
    pub(crate) timeout: Duration,
    /// The check's: `ok`, `unchecked` with --no-check, or the failure that
    /// --warn-only let setup go on after.
    pub(crate) outcome: Outcome,
}

pub(crate) fn prepare(
    keys_args: &KeyArgs,
    repo_args: &RepoArgs,
    check_args: &CheckArgs,
    platform_args: &PlatformArgs,
    policy: CheckPolicy,
    reporter: &mut dyn Reporter,
) -> Result<Option<Prepared>> {
    let repo = RepoUrl::parse(&repo_args.repo_url)?;
    let platform = Platform::detect(platform_args.ci);
    let keys = match keys::read(keys_args, repo.is_magento(), reporter)? {
        Intake::Present(keys) => keys,
        Intake::Missing => {
            return match keys_args.on_missing {
                OnMissing::Fail => Err(keys::missing(keys_args).into()),
                OnMissing::Skip => {
                    reporter.notice(&keys::skipped(keys_args));
                    Ok(None)
                }
            };
        }
    };
    let outcome = match policy {
        CheckPolicy::Skip => Outcome::of(Status::Unchecked, "").with_repository(repo.base()),
        CheckPolicy::Enforce | CheckPolicy::WarnOnly => {
            let checked = check::run_in(
                &repo,
                &keys,
                check_args,
                &repo_args.working_dir,
                true,
                reporter,
            );
            match (checked, policy) {
                (Ok(outcome), _) => outcome,
                (Err(err), CheckPolicy::WarnOnly) => {
                    let outcome = Outcome::of_error(&err);
                    let hint = outcome
                        .hint
                        .as_deref()
                        .map(|h| format!("; {h}"))
                        .unwrap_or_default();
                    reporter.warning(&format!(
                        "the check failed, going on as asked: {}{hint}",
                        outcome.message
                    ));
                    outcome
                }
                (Err(err), _) => return Err(err),
            }
        }
    };
    let state_path = journal::state::locate(platform_args.state_file.as_deref(), platform);
    Ok(Some(Prepared {
        repo,
        keys,
        platform,
        state_path,
        // Locks are waited for as long as the check may take.
        timeout: crate::cli::timeout(check_args.timeout)?,
        outcome,
    }))
}

/// Write the keys into the auth.json of a file mode, with the project
/// mode's warnings. `lifetime` says how long the job that uses them lives.
pub(crate) fn write_for_mode(
    mode: Mode,
    working_dir: &Path,
    host: &str,
    prepared: &Prepared,
    lifetime: Lifetime,
    reporter: &mut dyn Reporter,
) -> Result<Written> {
    let (target, what, place) = match mode {
        Mode::Home => (
            composer_home(&ProcessEnv)?.join("auth.json"),
            "the Composer home",
            Place::Beside,
        ),
        Mode::Project => (
            composer::project_auth_json(working_dir),
            "the project directory",
            Place::Private,
        ),
        Mode::Env => unreachable!("env mode writes no file"),
    };
    let target = std::path::absolute(&target)?;
    let written = journal::write(
        &Request {
            target: &target,
            what,
            place,
            host,
            state_path: &prepared.state_path,
            lifetime,
            timeout: prepared.timeout,
        },
        &prepared.keys,
        reporter,
    )?;
    if mode == Mode::Project {
        warn_about_project_file(&written.target, working_dir, reporter);
    }
    Ok(written)
}

/// A project auth.json lives in the workspace: say when git could commit it,
/// and when there is no composer.json for it to serve.
fn warn_about_project_file(target: &Path, working_dir: &Path, reporter: &mut dyn Reporter) {
    let manifest = composer::composer_json(working_dir);
    if !manifest.is_file() {
        reporter.warning(&format!(
            "{} does not exist: Composer reads a project auth.json only beside it",
            manifest.display()
        ));
    }
    if composer::git_ignores(target) == Some(false) {
        reporter.warning(&format!(
            "{} is not ignored by git: add `auth.json` to .gitignore so it is never committed \
             (magento-auth cleanup removes it at the end of the job)",
            target.display()
        ));
    }
}
