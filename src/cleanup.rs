//! Cleanup: undo what setup did, keeping every change made since.

use std::path::Path;

use anyhow::Result;

use crate::ci::{Platform, github};
use crate::cli::CleanupArgs;
use crate::composer::auth::{self, AuthDoc};
use crate::exit::Failure;
use crate::files::{self, DirLock, Durability, Found};
use crate::ledger::{Ledger, Record};
use crate::report::Reporter;
use crate::setup::lock_unless_same;
use crate::state::{self, Entry, EnvEntry, State};

/// `magento-auth cleanup`.
pub fn run(args: &CleanupArgs, reporter: &mut dyn Reporter) -> Result<()> {
    let platform = Platform::detect(args.platform.ci);
    let explicit = args.platform.state_file.as_deref();
    let state_path = state::locate(explicit, platform);
    if files::read_target(&state_path)?.is_none() {
        reporter.info(&format!(
            "nothing to clean up: no state at {} (setup did not run in this job, or cleanup already did)",
            state_path.display()
        ));
        return Ok(());
    }
    let state_dir = state::prepare_dir(&state_path)?;
    let lock = DirLock::acquire(&state_dir)?;
    let mut state = state::load(&state_path)?;
    let mut undone = undo_where(&mut state, &state_path, |_| true, reporter)?;
    while let Some(entry) = state.env.pop() {
        reset_variable(&entry, platform, reporter)?;
        state::save(&state_path, &state)?;
        undone += 1;
    }
    drop(lock);
    if explicit.is_none() {
        // The per-job directory is ours; leave it only if others still use it.
        let _ = std::fs::remove_dir(&state_dir);
    }
    if undone == 0 {
        reporter.info("nothing to clean up");
    }
    Ok(())
}

/// Put back a variable setup exported to the job's later steps. GitHub
/// cannot unset one; an empty `COMPOSER_AUTH` is one Composer ignores.
fn reset_variable(entry: &EnvEntry, platform: Platform, reporter: &mut dyn Reporter) -> Result<()> {
    if platform != Platform::Github {
        reporter.warning(&format!(
            "setup exported {} to later GitHub steps, and this is not GitHub: nothing to reset here",
            entry.name
        ));
        return Ok(());
    }
    let previous = entry.previous.as_deref().unwrap_or("");
    reporter.mask(previous);
    github::append("GITHUB_ENV", &entry.name, previous)?;
    reporter.info(&format!(
        "reset {} for the later steps of this job",
        entry.name
    ));
    Ok(())
}

/// Undo the entries `select` picks, newest first, saving the state after each
/// so that a cleanup killed half way can be run again. The caller holds the
/// state directory's lock. Returns how many were undone.
pub fn undo_where(
    state: &mut State,
    state_path: &Path,
    select: impl Fn(&Entry) -> bool,
    reporter: &mut dyn Reporter,
) -> Result<usize> {
    let state_dir = files::parent_of(state_path);
    let mut undone = 0;
    while let Some(index) = state.entries.iter().rposition(&select) {
        undo(&state.entries[index], &state_dir, reporter)?;
        crate::fault::point("cleanup:ledger-saved");
        state.entries.remove(index);
        state::save(state_path, state)?;
        undone += 1;
    }
    Ok(undone)
}

/// Undo one entry: restore the file if it holds exactly what setup wrote,
/// else take out only setup's `http-basic` entry and keep everything else.
fn undo(entry: &Entry, state_dir: &Path, reporter: &mut dyn Reporter) -> Result<()> {
    let target = &entry.target;
    let dir = files::parent_of(target);
    if !dir.is_dir() {
        // The directory went away with everything in it: put back only what
        // was there before setup.
        if let Some(previous) = &entry.previous {
            files::create_private_dirs(&files::missing_dirs(&dir))?;
            files::write_atomic(target, &previous.bytes, previous.mode, Durability::Full)?;
            reporter.info(&format!(
                "restored {} (it had been removed)",
                target.display()
            ));
        }
        return Ok(());
    }
    let _lock = lock_unless_same(&dir, state_dir)?;
    let mut ledger = Ledger::load(target)?;
    let mine = ledger.take(&entry.id);
    // The bytes setup found are still right to put back while every setup
    // that was active then still is; otherwise they may hold keys of a job
    // that has ended.
    let found_bytes_valid = mine
        .as_ref()
        .is_none_or(|r| r.concurrent.iter().all(|id| ledger.is_active(id)));
    match files::read_target(target)? {
        Some(current)
            if found_bytes_valid && auth::sha256_hex(&current.bytes) == entry.written_sha256 =>
        {
            restore_previous(entry, reporter)?
        }
        None => {
            if found_bytes_valid && put_back(entry)? {
                reporter.info(&format!(
                    "restored {} (it had been removed)",
                    target.display()
                ));
            }
        }
        Some(current) => undo_entry_only(entry, mine.as_ref(), &mut ledger, &current, reporter)?,
    }
    // Whatever was done, the backup (if it is still there) is not needed.
    if let Some(backup) = &entry.backup {
        files::remove_file(backup)?;
    }
    crate::fault::point("cleanup:target-undone");
    ledger.save()?;
    if ledger.records.is_empty() {
        // The last one out removes what the first one in created.
        if let Some(record) = &mine {
            files::remove_empty_dirs(&record.created_dirs);
        }
        files::remove_empty_dirs(&entry.created_dirs);
    }
    Ok(())
}

/// Put the file setup found back: its backup renamed into place (owner, mode
/// and times as they were), else its bytes and mode from the state. `false`
/// when there was none.
fn put_back(entry: &Entry) -> Result<bool> {
    if let Some(backup) = &entry.backup
        && files::restore_backup(backup, &entry.target)?
    {
        return Ok(true);
    }
    match &entry.previous {
        Some(previous) => {
            files::write_atomic(
                &entry.target,
                &previous.bytes,
                previous.mode,
                Durability::Full,
            )?;
            Ok(true)
        }
        None => Ok(false),
    }
}

fn restore_previous(entry: &Entry, reporter: &mut dyn Reporter) -> Result<()> {
    let target = &entry.target;
    match &entry.previous {
        Some(_) => {
            put_back(entry)?;
            reporter.info(&format!(
                "restored {} as it was before setup",
                target.display()
            ));
        }
        None => {
            files::remove_file_with(target, Durability::Full)?;
            reporter.info(&format!(
                "removed {} (setup had created it)",
                target.display()
            ));
        }
    }
    Ok(())
}

/// The file changed since setup (Composer stored a token, another job set up
/// another host): take out only this setup's entry, and only if it is still
/// there. While another setup of the same host is active, the entry is left
/// to it; the last one out puts back what was there before the first.
fn undo_entry_only(
    entry: &Entry,
    mine: Option<&Record>,
    ledger: &mut Ledger,
    current: &Found,
    reporter: &mut dyn Reporter,
) -> Result<()> {
    let target = &entry.target;
    let host = &entry.host;
    let what = target.display().to_string();
    let mut doc = AuthDoc::parse(&current.bytes, &what).map_err(|failure| {
        Failure::bad_input(format!(
            "{what} changed since setup and is no longer usable: {}",
            failure.message
        ))
        .with_hint(format!(
            "remove the \"{host}\" entry from it by hand, then run cleanup again"
        ))
    })?;
    let fingerprint = mine.map_or(&entry.entry_sha256, |r| &r.fingerprint);
    if doc
        .http_basic(host)
        .is_none_or(|e| &auth::entry_fingerprint(e) != fingerprint)
    {
        reporter.info(&format!(
            "{what} changed since setup and its entry for {host} is no longer the one setup wrote; left as it is"
        ));
        return Ok(());
    }
    if let Some(heir) = ledger.records.iter_mut().rev().find(|r| &r.host == host) {
        heir.fingerprint = fingerprint.clone();
        reporter.info(&format!(
            "left the entry for {host} in {what} to another job's setup, which is still running and will clean it up"
        ));
        return Ok(());
    }
    let (original, section_existed, file_mode) = match mine {
        Some(record) => (
            record.original.clone(),
            record.section_existed,
            record.file_mode,
        ),
        None => {
            let before = entry
                .previous
                .as_ref()
                .and_then(|p| AuthDoc::parse(&p.bytes, &what).ok());
            (
                before.as_ref().and_then(|d| d.http_basic(host)).cloned(),
                before.as_ref().is_some_and(AuthDoc::has_http_basic_section),
                entry.previous.as_ref().map(|p| p.mode),
            )
        }
    };
    doc.restore_entry(host, original.as_ref(), section_existed);
    let last_out = ledger.records.is_empty();
    if doc.is_empty() && file_mode.is_none() && last_out {
        files::remove_file_with(target, Durability::Full)?;
        reporter.info(&format!("removed {what} (setup had created it)"));
    } else {
        // The last one out also puts back the mode the file had.
        let mode = if last_out {
            file_mode.unwrap_or(current.mode)
        } else {
            current.mode
        };
        files::write_atomic(target, &doc.to_file_bytes(), mode, Durability::Full)?;
        reporter.info(&format!(
            "removed setup's entry for {host} from {what} and kept the changes made since"
        ));
    }
    Ok(())
}
