//! Setup: make the keys available to Composer for this job only.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;

use crate::check;
use crate::ci::{self, Platform};
use crate::cli::{CheckArgs, KeyArgs, Mode, OnMissing, PlatformArgs, RepoArgs, SetupArgs};
use crate::composer;
use crate::composer::auth::AuthDoc;
use crate::composer::home::{ProcessEnv, composer_home};
use crate::composer::repo_url::RepoUrl;
use crate::exit::Failure;
use crate::journal::liveness::Lifetime;
use crate::journal::{self, Place, Request, Written};
use crate::keys::{self, Intake, Keys};
use crate::report::{Reporter, Summary};

/// Whether setup checks the keys before it writes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckPolicy {
    /// A failed check stops setup, which writes nothing.
    Enforce,
    /// A failed check is a warning; the credentials are written anyway.
    WarnOnly,
    /// No check (`--no-check`).
    Skip,
}

impl CheckPolicy {
    pub fn from_flags(no_check: bool, warn_only: bool) -> Self {
        match (no_check, warn_only) {
            (true, _) => CheckPolicy::Skip,
            (false, true) => CheckPolicy::WarnOnly,
            (false, false) => CheckPolicy::Enforce,
        }
    }
}

/// The steps every command that needs keys shares: parse the URL, read the
/// keys, run the check. `None` when keys are missing and may be skipped.
pub struct Prepared {
    pub repo: RepoUrl,
    pub keys: Keys,
    pub platform: Platform,
    pub state_path: PathBuf,
    /// How long a lock may be waited for.
    pub timeout: Duration,
    /// `ok` when checked, `unchecked` with --no-check, a failure's status
    /// when the check failed and --warn-only let setup go on.
    pub status: String,
}

pub fn prepare(
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
            let failure = keys::missing(keys_args);
            return match keys_args.on_missing {
                OnMissing::Fail => Err(failure.into()),
                OnMissing::Skip => {
                    let hint = failure.hint.as_deref().unwrap_or_default();
                    reporter.info(&format!("skipped: {}; {hint}", failure.message));
                    Ok(None)
                }
            };
        }
    };
    let status = match policy {
        CheckPolicy::Skip => "unchecked".to_string(),
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
                (Ok(()), _) => "ok".to_string(),
                (Err(err), CheckPolicy::WarnOnly) => {
                    let failure = err.downcast_ref::<Failure>();
                    let status = failure
                        .and_then(|f| f.status)
                        .unwrap_or("error")
                        .to_string();
                    let hint = failure
                        .and_then(|f| f.hint.as_deref())
                        .map(|h| format!("; {h}"))
                        .unwrap_or_default();
                    reporter.warning(&format!(
                        "the check failed, going on as asked: {err:#}{hint}"
                    ));
                    status
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
        status,
    }))
}

/// `magento-auth setup`.
pub fn run(args: &SetupArgs, reporter: &mut dyn Reporter) -> Result<Summary> {
    let mut summary = Summary {
        command: "setup",
        repository: Some(args.repo.repo_url.clone()),
        mode: Some(args.mode.name()),
        ..Summary::default()
    };
    let policy = CheckPolicy::from_flags(args.no_check, args.warn_only);
    let Some(prepared) = prepare(
        &args.keys,
        &args.repo,
        &args.check,
        &args.platform,
        policy,
        reporter,
    )?
    else {
        summary.status = "skipped".into();
        return Ok(summary);
    };
    summary.status = prepared.status.clone();
    let host = prepared.repo.auth_host();
    match (args.mode, prepared.platform) {
        (Mode::Env, Platform::Github) => export_to_later_steps(&host, &prepared, reporter)?,
        (Mode::Env, _) => {
            if std::io::stdout().is_terminal() {
                return Err(Failure::bad_input(
                    "--mode env prints `export COMPOSER_AUTH=...` for eval, and stdout is a terminal",
                )
                .with_hint("run it as: eval \"$(magento-auth setup --mode env)\"")
                .into());
            }
            let value = composer_auth_value(&host, &prepared.keys)?;
            reporter.mask(&value);
            reporter.secret_data(&format!("export COMPOSER_AUTH={}", shell_quote(&value)));
            reporter.info(&format!(
                "COMPOSER_AUTH holds credentials for {host}; unset it when done"
            ));
        }
        (Mode::Home | Mode::Project, _) => {
            let written = write_for_mode(
                args.mode,
                &args.repo.working_dir,
                &host,
                &prepared,
                Lifetime::Job {
                    on_github: prepared.platform == Platform::Github,
                },
                reporter,
            )?;
            remember_state_path(&prepared)?;
            reporter.info(&format!(
                "wrote credentials for {host} to {}; `magento-auth cleanup` restores it",
                written.target.display()
            ));
            summary.auth_file = Some(written.target);
        }
    }
    Ok(summary)
}

/// GitHub `env` mode: `COMPOSER_AUTH` for the later steps of the job, with
/// the value it had recorded so that cleanup can put it back.
fn export_to_later_steps(
    host: &str,
    prepared: &Prepared,
    reporter: &mut dyn Reporter,
) -> Result<()> {
    let value = composer_auth_value(host, &prepared.keys)?;
    reporter.mask(&value);
    journal::record_export(
        &prepared.state_path,
        "COMPOSER_AUTH",
        std::env::var("COMPOSER_AUTH").ok(),
        prepared.timeout,
        || ci::github::append("GITHUB_ENV", "COMPOSER_AUTH", &value),
    )?;
    remember_state_path(prepared)?;
    reporter.info(&format!(
        "COMPOSER_AUTH holds credentials for {host} in the later steps of this job; cleanup resets it"
    ));
    Ok(())
}

/// On GitHub, tell the action's post step where the state is.
fn remember_state_path(prepared: &Prepared) -> Result<()> {
    if prepared.platform != Platform::Github
        || std::env::var_os("GITHUB_STATE").is_none_or(|v| v.is_empty())
    {
        return Ok(());
    }
    let path = prepared
        .state_path
        .to_str()
        .ok_or_else(|| Failure::bad_input("the state path is not valid UTF-8"))?;
    ci::github::append("GITHUB_STATE", ci::github::STATE_NAME, path)
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

/// The `COMPOSER_AUTH` value: the current one (if any) with our entry merged in.
pub fn composer_auth_value(host: &str, keys: &Keys) -> Result<String> {
    let mut doc = match std::env::var("COMPOSER_AUTH") {
        Ok(current) if !current.is_empty() => AuthDoc::parse(current.as_bytes(), "COMPOSER_AUTH")?,
        Ok(_) => AuthDoc::empty(),
        Err(std::env::VarError::NotPresent) => AuthDoc::empty(),
        Err(std::env::VarError::NotUnicode(_)) => {
            return Err(Failure::bad_input("COMPOSER_AUTH is not valid UTF-8").into());
        }
    };
    doc.set_keys(host, keys);
    Ok(doc.to_compact())
}

/// Quote for a POSIX shell: single quotes, with `'` written as `'\''`.
fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// A project auth.json lives in the workspace: say when git could commit it,
/// and when there is no composer.json for it to serve.
pub fn warn_about_project_file(target: &Path, working_dir: &Path, reporter: &mut dyn Reporter) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting_survives_quotes() {
        assert_eq!(shell_quote(r#"{"a":"it's"}"#), r#"'{"a":"it'\''s"}'"#);
    }
}
