//! This job's side of the journal: its state file, which records the
//! setups it holds and the variables it exported, under the state
//! directory's lock.

use std::path::Path;
use std::time::Duration;

use anyhow::Result;

use super::dir::Dir;
use super::site::{Job, file_name, parent_of};
use super::state::{self, EnvEntry, State};
use super::undo::release_entry;
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
    pub had_state: bool,
    pub undone: usize,
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
    job.save(&state)?;
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

/// How many setups the job's state records (for doctor), without a lock.
pub(crate) fn pending(state_path: &Path) -> Result<usize> {
    let path = std::path::absolute(state_path)?;
    let Some(opened) = Dir::open(&parent_of(&path), "the state directory", false)? else {
        return Ok(0);
    };
    let state = State::load(&opened.dir, &file_name(&path)?)?;
    Ok(state.files.len() + state.env.len())
}
