//! Setup: make the keys available to Composer for this job only.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::check;
use crate::ci::{self, Platform};
use crate::cleanup;
use crate::cli::{CheckArgs, KeyArgs, Mode, OnMissing, PlatformArgs, RepoArgs, SetupArgs};
use crate::composer;
use crate::composer::auth::{self, AuthDoc};
use crate::composer::home::{ProcessEnv, composer_home};
use crate::composer::repo_url::RepoUrl;
use crate::exit::Failure;
use crate::files::{self, DirLock, Durability};
use crate::keys::{self, Intake, Keys};
use crate::ledger::{Ledger, Record};
use crate::report::{Reporter, Summary};
use crate::state::{self, Entry, EnvEntry};

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
    let state_path = state::locate(platform_args.state_file.as_deref(), platform);
    Ok(Some(Prepared {
        repo,
        keys,
        platform,
        state_path,
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
            let entry = write_for_mode(
                args.mode,
                &args.repo.working_dir,
                &host,
                &prepared,
                reporter,
            )?;
            remember_state_path(&prepared)?;
            reporter.info(&format!(
                "wrote credentials for {host} to {}; `magento-auth cleanup` restores it",
                entry.target.display()
            ));
            summary.auth_file = Some(entry.target);
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
    let state_dir = state::prepare_dir(&prepared.state_path)?;
    let _lock = DirLock::acquire(&state_dir)?;
    let mut state = state::load(&prepared.state_path)?;
    // A second setup in the job keeps the value from before the first.
    let first = !state.env.iter().any(|e| e.name == "COMPOSER_AUTH");
    if first {
        state.env.push(EnvEntry {
            id: state::new_entry_id(),
            name: "COMPOSER_AUTH".into(),
            previous: std::env::var("COMPOSER_AUTH").ok(),
        });
        state::save(&prepared.state_path, &state)?;
    }
    if let Err(err) = ci::github::append("GITHUB_ENV", "COMPOSER_AUTH", &value) {
        if first {
            state.env.pop();
            state::save(&prepared.state_path, &state)?;
        }
        return Err(err);
    }
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
/// mode's warnings.
pub fn write_for_mode(
    mode: Mode,
    working_dir: &Path,
    host: &str,
    prepared: &Prepared,
    reporter: &mut dyn Reporter,
) -> Result<Entry> {
    let target = target_path(mode, working_dir)?;
    let entry = write_file(
        &target,
        host,
        &prepared.keys,
        &prepared.state_path,
        reporter,
    )?;
    if mode == Mode::Project {
        warn_about_project_file(&entry.target, working_dir, reporter);
    }
    Ok(entry)
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
    let mut ledger = Ledger::load(target)?;
    let record = ledger_record(
        &ledger,
        &doc,
        host,
        previous.as_ref().map(|p| p.mode),
        &created_dirs,
    );
    doc.set_keys(host, keys);
    let bytes = doc.to_file_bytes();
    let id = state::new_entry_id();
    // A file there before is kept aside as a hard link (see files::link_backup).
    let backup = previous.as_ref().map(|_| files::backup_path(target, &id));
    let mut entry = Entry {
        id,
        target: target.to_path_buf(),
        host: host.to_string(),
        previous,
        written_sha256: auth::sha256_hex(&bytes),
        entry_sha256: auth::keys_fingerprint(keys),
        created_dirs,
        backup,
    };
    // The state first, then the ledger, then the backup: a job killed before
    // the file is written leaves records that do not match it, and cleanup
    // then keeps the file as it is (and removes a backup it finds).
    state.entries.push(entry.clone());
    state::save(state_path, state)?;
    crate::fault::point("setup:state-saved");
    ledger.records.push(Record {
        id: entry.id.clone(),
        fingerprint: entry.entry_sha256.clone(),
        ..record
    });
    let written = ledger.save().and_then(|()| {
        crate::fault::point("setup:ledger-saved");
        if let Some(backup) = &entry.backup {
            if files::link_backup(target, backup)? {
                crate::fault::point("setup:backup-linked");
            } else {
                // No hard links here: the state keeps the one copy, durably.
                entry.backup = None;
                state.entries.last_mut().expect("pushed above").backup = None;
                state::save(state_path, state)?;
            }
        }
        files::write_atomic(target, &bytes, 0o600, Durability::Content)
    });
    if let Err(err) = written {
        if let Some(backup) = &entry.backup {
            let _ = files::remove_file(backup);
        }
        ledger.take(&entry.id);
        ledger.save()?;
        state.entries.pop();
        state::save(state_path, state)?;
        return Err(err);
    }
    crate::fault::point("setup:target-written");
    Ok(entry)
}

/// What this setup's ledger record inherits: the original entry from the first
/// active setup of the host; the file's mode and created directories from the
/// first of all.
fn ledger_record(
    ledger: &Ledger,
    doc: &AuthDoc,
    host: &str,
    file_mode: Option<u32>,
    created_dirs: &[PathBuf],
) -> Record {
    let (original, section_existed) = match ledger.first_for(host) {
        Some(first) => (first.original.clone(), first.section_existed),
        None => (doc.http_basic(host).cloned(), doc.has_http_basic_section()),
    };
    Record {
        id: String::new(),
        host: host.to_string(),
        fingerprint: String::new(),
        original,
        section_existed,
        file_mode: ledger.records.first().map_or(file_mode, |r| r.file_mode),
        concurrent: ledger.records.iter().map(|r| r.id.clone()).collect(),
        created_dirs: ledger
            .records
            .first()
            .map_or_else(|| created_dirs.to_vec(), |r| r.created_dirs.clone()),
    }
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
