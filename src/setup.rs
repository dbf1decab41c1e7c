//! Setup: make the keys available to Composer for this job only.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::check;
use crate::ci::Platform;
use crate::cleanup;
use crate::cli::{CheckArgs, KeyArgs, Mode, OnMissing, PlatformArgs, RepoArgs, SetupArgs};
use crate::composer;
use crate::composer::auth::{self, AuthDoc};
use crate::composer::home::{ProcessEnv, composer_home};
use crate::composer::repo_url::RepoUrl;
use crate::exit::{Code, Failure};
use crate::files::{self, DirLock};
use crate::keys::{self, Intake, Keys};
use crate::report::Reporter;
use crate::state::{self, Entry};

/// The steps every command that needs keys shares: parse the URL, read the
/// keys, run the check. `None` when keys are missing and may be skipped.
pub struct Prepared {
    pub repo: RepoUrl,
    pub keys: Keys,
    pub platform: Platform,
    pub state_path: PathBuf,
}

pub fn prepare(
    keys_args: &KeyArgs,
    repo_args: &RepoArgs,
    check_args: &CheckArgs,
    platform_args: &PlatformArgs,
    no_check: bool,
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
    if !no_check {
        check::run_in(
            &repo,
            &keys,
            check_args,
            &repo_args.working_dir,
            true,
            reporter,
        )?;
    }
    let state_path = state::locate(platform_args.state_file.as_deref(), platform);
    Ok(Some(Prepared {
        repo,
        keys,
        platform,
        state_path,
    }))
}

/// `magento-auth setup`.
pub fn run(args: &SetupArgs, reporter: &mut dyn Reporter) -> Result<()> {
    let Some(prepared) = prepare(
        &args.keys,
        &args.repo,
        &args.check,
        &args.platform,
        args.no_check,
        reporter,
    )?
    else {
        return Ok(());
    };
    let host = prepared.repo.auth_host();
    match args.mode {
        Mode::Env => {
            if prepared.platform == Platform::Github {
                return Err(Failure::new(
                    Code::Unexpected,
                    "--mode env on GitHub Actions (exporting COMPOSER_AUTH to later steps) is not built yet",
                )
                .with_hint("use --mode home, or `magento-auth exec -- composer install`")
                .into());
            }
            if std::io::stdout().is_terminal() {
                return Err(Failure::bad_input(
                    "--mode env prints `export COMPOSER_AUTH=...` for eval, and stdout is a terminal",
                )
                .with_hint("run it as: eval \"$(magento-auth setup --mode env)\"")
                .into());
            }
            let value = composer_auth_value(&host, &prepared.keys)?;
            reporter.mask(&value);
            reporter.data(&format!("export COMPOSER_AUTH={}", shell_quote(&value)));
            reporter.info(&format!(
                "COMPOSER_AUTH holds credentials for {host}; unset it when done"
            ));
        }
        Mode::Home | Mode::Project => {
            let target = target_path(args.mode, &args.repo.working_dir)?;
            let entry = write_file(
                &target,
                &host,
                &prepared.keys,
                &prepared.state_path,
                reporter,
            )?;
            if args.mode == Mode::Project {
                warn_about_project_file(&entry.target, &args.repo.working_dir, reporter);
            }
            reporter.info(&format!(
                "wrote credentials for {host} to {}; `magento-auth cleanup` restores it",
                entry.target.display()
            ));
        }
    }
    Ok(())
}

/// The auth.json a file mode writes.
pub fn target_path(mode: Mode, working_dir: &Path) -> Result<PathBuf> {
    Ok(match mode {
        Mode::Home => composer_home(&ProcessEnv)?.join("auth.json"),
        Mode::Project => composer::project_auth_json(working_dir),
        Mode::Env => unreachable!("env mode writes no file"),
    })
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

/// Merge the keys into `target`, recording in the state how to undo it.
/// Stale state for the same file and host (a killed job) is undone first.
pub fn write_file(
    target: &Path,
    host: &str,
    keys: &Keys,
    state_path: &Path,
    reporter: &mut dyn Reporter,
) -> Result<Entry> {
    let target = absolute(target)?;
    let state_dir = state::prepare_dir(state_path)?;
    let _state_lock = DirLock::acquire(&state_dir)?;
    let mut state = state::load(state_path)?;

    let stale = |e: &Entry| e.target == target && e.host == host;
    if state.entries.iter().any(stale) {
        reporter.warning(&format!(
            "found an earlier setup of {} for {host} that was never cleaned up (a killed job?); undoing it first",
            target.display()
        ));
        cleanup::undo_where(&mut state, state_path, stale, reporter)?;
    }

    let dir = files::parent_of(&target);
    let missing = files::missing_dirs(&dir);
    files::create_private_dirs(&missing)?;
    let result = write_locked(
        &target,
        host,
        keys,
        &dir,
        missing.clone(),
        state_path,
        &mut state,
    );
    if result.is_err() {
        files::remove_empty_dirs(&missing);
    }
    result
}

#[allow(clippy::too_many_arguments)]
fn write_locked(
    target: &Path,
    host: &str,
    keys: &Keys,
    dir: &Path,
    created_dirs: Vec<PathBuf>,
    state_path: &Path,
    state: &mut state::State,
) -> Result<Entry> {
    let _target_lock = lock_unless_same(dir, &files::parent_of(state_path))?;
    let previous = files::read_target(target)?;
    let what = target.display().to_string();
    let mut doc = match &previous {
        Some(found) => AuthDoc::parse(&found.bytes, &what)?,
        None => AuthDoc::empty(),
    };
    doc.set_keys(host, keys);
    let bytes = doc.to_file_bytes();
    let entry = Entry {
        id: state::new_entry_id(),
        target: target.to_path_buf(),
        host: host.to_string(),
        previous,
        written_sha256: auth::sha256_hex(&bytes),
        entry_sha256: auth::keys_fingerprint(keys),
        created_dirs,
    };
    // The state first: a job killed between the two writes leaves a file that
    // does not match the state, and cleanup then keeps it as it is.
    state.entries.push(entry.clone());
    state::save(state_path, state)?;
    if let Err(err) = files::write_atomic(target, &bytes, 0o600) {
        state.entries.pop();
        state::save(state_path, state)?;
        return Err(err);
    }
    Ok(entry)
}

/// Lock `dir` unless it is the (already locked) state directory: two locks on
/// one directory from one process would wait for each other.
pub fn lock_unless_same(dir: &Path, state_dir: &Path) -> Result<Option<DirLock>> {
    let same = match (dir.canonicalize(), state_dir.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    Ok(if same {
        None
    } else {
        Some(DirLock::acquire(dir)?)
    })
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

fn absolute(path: &Path) -> Result<PathBuf> {
    Ok(std::path::absolute(path)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting_survives_quotes() {
        assert_eq!(shell_quote(r#"{"a":"it's"}"#), r#"'{"a":"it'\''s"}'"#);
    }
}
