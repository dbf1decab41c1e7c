//! The places the journal works in, opened and locked: the job's state
//! directory, and an auth file's directory with its ledger.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;

use super::ledger::Ledger;
use super::limits::MAX_RECORD_BYTES;
use super::state::State;
use crate::composer::auth::AuthDoc;
use crate::digest::sha256_hex;
use crate::dir::{Dir, Durability, Found, Lock, Opened};
use crate::exit::Failure;

/// Where a file's ledger and the copy of its previous bytes live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Place {
    /// Beside the file, for every job that writes it to find: the Composer home.
    Beside,
    /// In the job's private state directory: a project's work tree.
    Private,
}

/// This job's state file, its directory open and locked.
pub(super) struct Job {
    pub(super) dir: Dir,
    pub(super) name: String,
    pub(super) path: PathBuf,
    _lock: Option<Lock>,
}

impl Job {
    pub(super) fn open(state_path: &Path, create: bool, timeout: Duration) -> Result<Option<Job>> {
        let path = std::path::absolute(state_path)?;
        let name = file_name(&path)?;
        let Some((opened, lock)) = Dir::open_locked(
            &parent_of(&path),
            "the state directory",
            create,
            timeout,
            None,
        )?
        else {
            return Ok(None);
        };
        Ok(Some(Job {
            dir: opened.dir,
            name,
            path,
            _lock: lock,
        }))
    }

    pub(super) fn load(&self) -> Result<State> {
        State::load(&self.dir, &self.name)
    }

    pub(super) fn save(&self, state: &State) -> Result<()> {
        state.save(&self.dir, &self.name)
    }
}

/// One auth file and its ledger, both directories open (and locked).
pub(super) struct Site<'a> {
    pub(super) dir: &'a Dir,
    pub(super) name: String,
    pub(super) path: PathBuf,
    pub(super) ledger_dir: &'a Dir,
    pub(super) ledger_name: String,
}

impl<'a> Site<'a> {
    pub(super) fn new(
        dir: &'a Dir,
        target: &Path,
        ledger_dir: &'a Dir,
        ledger: &Path,
    ) -> Result<Self> {
        Ok(Site {
            dir,
            name: file_name(target)?,
            path: target.to_path_buf(),
            ledger_dir,
            ledger_name: file_name(ledger)?,
        })
    }

    pub(super) fn ledger_path(&self) -> PathBuf {
        self.ledger_dir.join(&self.ledger_name)
    }

    /// The ledger, `None` when no setup is active. One that is damaged or
    /// that another user planted is refused, never trusted.
    pub(super) fn load_ledger(&self) -> Result<Option<Ledger>> {
        let path = self.ledger_path();
        let found = self
            .ledger_dir
            .read(&self.ledger_name, MAX_RECORD_BYTES)
            .map_err(|err| untrusted_ledger(&path, &self.path, &format!("{err:#}")))?;
        let Some(found) = found else { return Ok(None) };
        Ledger::parse(&found.bytes)
            .map(Some)
            .map_err(|why| untrusted_ledger(&path, &self.path, &format!("it is corrupt: {why}")))
    }

    pub(super) fn save_ledger(&self, ledger: &Ledger) -> Result<()> {
        if ledger.holders.is_empty() {
            return self.remove_ledger();
        }
        let bytes = ledger.to_bytes();
        if bytes.len() as u64 > MAX_RECORD_BYTES {
            return Err(Failure::bad_input(format!(
                "the ledger of {} would be larger than {} KiB (too many setups at once)",
                self.path.display(),
                MAX_RECORD_BYTES / 1024
            ))
            .into());
        }
        // The ledger must survive a power loss when it holds the only copy
        // of the user's previous file.
        let durability = if ledger.original.bytes_base64.is_some() {
            Durability::Full
        } else {
            Durability::None
        };
        self.ledger_dir
            .write(&self.ledger_name, &bytes, 0o600, durability)
    }

    pub(super) fn remove_ledger(&self) -> Result<()> {
        self.ledger_dir.remove(&self.ledger_name, Durability::None)
    }

    pub(super) fn read_file(&self, cap: u64) -> Result<Option<Found>> {
        self.dir.read(&self.name, cap)
    }

    pub(super) fn backup_name(&self, id: &str) -> String {
        format!(".{}.magento-auth-{id}.orig", self.name)
    }

    pub(super) fn parse(&self, found: &Found) -> Result<AuthDoc, Failure> {
        AuthDoc::parse(&found.bytes, &self.path.display().to_string())
    }
}

pub(super) fn untrusted_ledger(ledger: &Path, target: &Path, why: &str) -> anyhow::Error {
    Failure::bad_input(format!(
        "the ledger {} of {} cannot be trusted: {why}",
        ledger.display(),
        target.display()
    ))
    .with_hint(format!(
        "it records which jobs hold credentials in {}: check that file by hand (remove \
         entries no running job needs), then remove the ledger",
        target.display()
    ))
    .into()
}

pub(super) fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

pub(super) fn file_name(path: &Path) -> Result<String> {
    path.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
        .ok_or_else(|| {
            Failure::bad_input(format!("{} has no usable file name", path.display())).into()
        })
}

pub(super) fn ledger_path(target: &Path, place: Place, state_path: &Path) -> Result<PathBuf> {
    Ok(match place {
        Place::Beside => parent_of(target).join(format!(".{}.magento-auth", file_name(target)?)),
        Place::Private => {
            let key = sha256_hex(target.to_string_lossy().as_bytes());
            parent_of(&std::path::absolute(state_path)?).join(format!("{}.ledger", &key[..16]))
        }
    })
}

pub(super) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub(super) fn age(since: u64) -> String {
    let seconds = now().saturating_sub(since);
    match seconds {
        0..120 => format!("{seconds} s"),
        120..7200 => format!("{} min", seconds / 60),
        _ => format!("{} h", seconds / 3600),
    }
}

/// Open the directory of an auth file and lock it (unless it is the job's
/// own, already locked). `None` when it does not exist and `create` is false.
pub(super) fn open_site_dir(
    target: &Path,
    what: &str,
    create: bool,
    timeout: Duration,
    job: &Job,
) -> Result<Option<(Opened, Option<Lock>)>> {
    Dir::open_locked(&parent_of(target), what, create, timeout, Some(&job.dir))
}
