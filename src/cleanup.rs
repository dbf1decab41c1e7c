//! Cleanup: undo what setup did, keeping every change made since.

use std::path::Path;

use anyhow::Result;

use crate::ci::{Platform, github};
use crate::cli::CleanupArgs;
use crate::composer::auth::{self, AuthDoc};
use crate::exit::Failure;
use crate::files::{self, DirLock, Found};
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
            files::write_atomic(target, &previous.bytes, previous.mode)?;
            reporter.info(&format!(
                "restored {} (it had been removed)",
                target.display()
            ));
        }
        return Ok(());
    }
    let _lock = lock_unless_same(&dir, state_dir)?;
    let current = files::read_target(target)?;
    match current {
        Some(current) if auth::sha256_hex(&current.bytes) == entry.written_sha256 => {
            restore_previous(entry, reporter)
        }
        None => match &entry.previous {
            Some(previous) => {
                files::write_atomic(target, &previous.bytes, previous.mode)?;
                reporter.info(&format!(
                    "restored {} (it had been removed)",
                    target.display()
                ));
                Ok(())
            }
            None => {
                files::remove_empty_dirs(&entry.created_dirs);
                Ok(())
            }
        },
        Some(current) => undo_entry_only(entry, &current, reporter),
    }
}

fn restore_previous(entry: &Entry, reporter: &mut dyn Reporter) -> Result<()> {
    let target = &entry.target;
    match &entry.previous {
        Some(previous) => {
            files::write_atomic(target, &previous.bytes, previous.mode)?;
            reporter.info(&format!(
                "restored {} as it was before setup",
                target.display()
            ));
        }
        None => {
            files::remove_file(target)?;
            files::remove_empty_dirs(&entry.created_dirs);
            reporter.info(&format!(
                "removed {} (setup had created it)",
                target.display()
            ));
        }
    }
    Ok(())
}

/// The file changed since setup (Composer stored a token, say): remove or
/// put back only the host's entry, and only if it is still setup's.
fn undo_entry_only(entry: &Entry, current: &Found, reporter: &mut dyn Reporter) -> Result<()> {
    let target = &entry.target;
    let what = target.display().to_string();
    let mut doc = AuthDoc::parse(&current.bytes, &what).map_err(|failure| {
        Failure::bad_input(format!(
            "{what} changed since setup and is no longer usable: {}",
            failure.message
        ))
        .with_hint(format!(
            "remove the \"{}\" entry from it by hand, then run cleanup again",
            entry.host
        ))
    })?;
    let ours = doc
        .http_basic(&entry.host)
        .is_some_and(|e| auth::entry_fingerprint(e) == entry.entry_sha256);
    if !ours {
        reporter.info(&format!(
            "{what} changed since setup and its entry for {} is no longer the one setup wrote; left as it is",
            entry.host
        ));
        return Ok(());
    }
    let before = entry
        .previous
        .as_ref()
        .and_then(|p| AuthDoc::parse(&p.bytes, &what).ok());
    let previous_entry = before.as_ref().and_then(|d| d.http_basic(&entry.host));
    let section_existed = before.as_ref().is_some_and(AuthDoc::has_http_basic_section);
    doc.restore_entry(&entry.host, previous_entry, section_existed);
    if doc.is_empty() && entry.previous.is_none() {
        files::remove_file(target)?;
        files::remove_empty_dirs(&entry.created_dirs);
        reporter.info(&format!("removed {what} (setup had created it)"));
    } else {
        files::write_atomic(target, &doc.to_file_bytes(), current.mode)?;
        reporter.info(&format!(
            "removed setup's entry for {} from {what} and kept the changes made since",
            entry.host
        ));
    }
    Ok(())
}
