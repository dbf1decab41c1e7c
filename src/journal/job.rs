//! This job's side of the journal: its state file, which records the
//! setups it holds and the variables it exported, under the state
//! directory's lock.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;

use super::ledger::Ledger;
use super::limits::MAX_RECORD_BYTES;
use super::liveness::{self, Liveness};
use super::site::{Job, file_name, parent_of};
use super::state::{self, EnvEntry, State};
use super::undo::release_entry;
use crate::dir::{Dir, read_path};
use crate::report::Reporter;

/// Undo one setup of this job (exec's).
pub(crate) fn undo(
    state_path: &Path,
    id: &str,
    timeout: Duration,
    reporter: &mut dyn Reporter,
) -> Result<()> {
    let Some(job) = Job::open(state_path, false, timeout)? else {
        return Ok(());
    };
    let mut state = job.load()?;
    let Some(entry) = state.files.iter().find(|e| e.id == id).cloned() else {
        return Ok(());
    };
    release_entry(&job, &entry, timeout, reporter)?;
    state.files.retain(|e| e.id != id);
    job.save(&state)
}

/// What [`end_job`] found.
#[derive(Debug, Default)]
pub(crate) struct Ended {
    pub(crate) had_state: bool,
    pub(crate) undone: usize,
}

/// Undo everything this job set up, newest first, saving the state after
/// each so that a cleanup killed half way can run again; `reset` puts back
/// each exported variable. Removes the job's state, and its directory when
/// `tidy` and nothing else is in it.
pub(crate) fn end_job(
    state_path: &Path,
    tidy: bool,
    timeout: Duration,
    reporter: &mut dyn Reporter,
    mut reset: impl FnMut(&EnvEntry, &mut dyn Reporter) -> Result<()>,
) -> Result<Ended> {
    let Some(job) = Job::open(state_path, false, timeout)? else {
        return Ok(Ended::default());
    };
    if !job.dir.has(&job.name) {
        return Ok(Ended::default());
    }
    let mut state = job.load()?;
    let mut ended = Ended {
        had_state: true,
        undone: 0,
    };
    while let Some(entry) = state.files.last().cloned() {
        release_entry(&job, &entry, timeout, reporter)?;
        state.files.pop();
        job.save(&state)?;
        ended.undone += 1;
    }
    while let Some(entry) = state.env.last().cloned() {
        reset(&entry, reporter)?;
        state.env.pop();
        job.save(&state)?;
        ended.undone += 1;
    }
    if ended.undone == 0 {
        // A state with nothing in it: remove it all the same.
        job.save(&state)?;
    }
    if tidy {
        // Still under the lock: a setup waiting for it opens the directory
        // again when it finds it removed.
        let _ = std::fs::remove_dir(parent_of(&job.path));
    }
    Ok(ended)
}

/// Record that the variable `name` (whose value was `previous`) is exported
/// to later steps, then `export` it; the record goes when exporting fails.
/// A second export in one job keeps the value from before the first.
pub(crate) fn record_export(
    state_path: &Path,
    name: &str,
    previous: Option<String>,
    timeout: Duration,
    export: impl FnOnce() -> Result<()>,
) -> Result<()> {
    let job = Job::open(state_path, true, timeout)?.expect("a directory opened with create exists");
    let mut state = job.load()?;
    let first = !state.env.iter().any(|e| e.name == name);
    if first {
        state.env.push(EnvEntry {
            id: state::new_id(),
            name: name.to_string(),
            previous,
        });
        job.save(&state)?;
    }
    if let Err(err) = export() {
        if first {
            state.env.pop();
            job.save(&state)?;
        }
        return Err(err);
    }
    Ok(())
}

/// What a job's state records, for doctor: the files whose setup is still
/// held by a running job, and those whose job has died (or cannot be
/// checked). Read without a lock; changes nothing.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    pub(crate) active: Vec<PathBuf>,
    pub(crate) stale: Vec<PathBuf>,
    /// Setups whose job cannot be checked (another machine; Windows).
    pub(crate) unchecked: Vec<PathBuf>,
    /// Variables exported to later steps (GitHub `env` mode).
    pub(crate) exported: Vec<String>,
}

pub(crate) fn pending(state_path: &Path) -> Result<Pending> {
    let path = std::path::absolute(state_path)?;
    let Some(opened) = Dir::open(&parent_of(&path), "the state directory", false)? else {
        return Ok(Pending::default());
    };
    let state = State::load(&opened.dir, &file_name(&path)?)?;
    let mut pending = Pending {
        exported: state.env.iter().map(|e| e.name.clone()).collect(),
        ..Pending::default()
    };
    for entry in state.files {
        let anchor = read_path(&entry.ledger, MAX_RECORD_BYTES)
            .ok()
            .flatten()
            .and_then(|found| Ledger::parse(&found.bytes).ok())
            .and_then(|ledger| ledger.holders.into_iter().find(|h| h.id == entry.id))
            .map(|holder| holder.anchor);
        match anchor.map(|a| liveness::check(a.as_ref())) {
            Some(Liveness::Alive) => pending.active.push(entry.target),
            Some(Liveness::Unknown(_)) => pending.unchecked.push(entry.target),
            _ => pending.stale.push(entry.target),
        }
    }
    Ok(pending)
}
