//! The undoable write of an auth file: write, lock, ledger, backup, undo.
//!
//! Every rule about changing a user's auth.json lives here once:
//! - only in trusted directories, through opened directory handles that never
//!   follow a symlink ([`dir`]);
//! - every wait for a lock bounded by the command's timeout;
//! - one ledger per file shared by all jobs that set it up at once, so that
//!   the latest setup still active for a host keeps its credentials and the
//!   last one out restores the original byte for byte ([`ledger`]);
//! - a setup of a job that has died is undone by the next job that looks
//!   ([`liveness`]);
//! - one size limit for what setup accepts, writes and records, so that
//!   whatever setup accepted, cleanup can undo;
//! - a project's work tree gets nothing but auth.json: its ledger and the
//!   previous file's bytes live in the job's private state directory.
//!
//! The job's own record ([`state`]) says which files it holds a place in.

pub(crate) mod dir;
mod job;
pub(crate) mod ledger;
pub(crate) mod liveness;
pub(crate) mod state;
mod sweep;
mod undo;

use job::Job;
pub(crate) use job::{end_job, pending, record_export, undo};
pub(crate) use sweep::sweep_home;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::Value;

use crate::composer::auth::{AuthDoc, sha256_hex};
use crate::exit::Failure;
use crate::keys::Keys;
use crate::report::Reporter;
use dir::{Dir, Durability, Found, Lock, Opened};
use ledger::{Holder, HostEntry, Ledger};
use liveness::Lifetime;
use state::{FileEntry, State};
use undo::release_entry;

/// The largest auth.json setup reads or writes: far above any real one.
pub(crate) const MAX_AUTH_BYTES: u64 = 1 << 20;
/// The largest auth.json cleanup reads: Composer may have added to the file
/// since setup.
const MAX_CHANGED_AUTH_BYTES: u64 = 4 * MAX_AUTH_BYTES;
/// The largest ledger or state: the original file in base64 and a few
/// hundred bytes for each active setup.
pub(crate) const MAX_RECORD_BYTES: u64 = 2 * MAX_AUTH_BYTES + (1 << 20);

/// Where a file's ledger and the copy of its previous bytes live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Place {
    /// Beside the file, for every job that writes it to find: the Composer home.
    Beside,
    /// In the job's private state directory: a project's work tree.
    Private,
}

/// What a setup asks for.
#[derive(Debug)]
pub(crate) struct Request<'a> {
    /// The auth.json to write, an absolute path.
    pub target: &'a Path,
    /// What its directory is, for messages: "the Composer home".
    pub what: &'a str,
    pub place: Place,
    pub host: &'a str,
    pub state_path: &'a Path,
    pub lifetime: Lifetime,
    /// How long any lock may be waited for.
    pub timeout: Duration,
}

/// A write setup made, for exec to undo.
#[derive(Clone, Debug)]
pub(crate) struct Written {
    pub id: String,
    pub target: PathBuf,
}

/// One auth file and its ledger, both directories open (and locked).
struct Site<'a> {
    dir: &'a Dir,
    name: String,
    path: PathBuf,
    ledger_dir: &'a Dir,
    ledger_name: String,
}

impl<'a> Site<'a> {
    fn new(dir: &'a Dir, target: &Path, ledger_dir: &'a Dir, ledger: &Path) -> Result<Self> {
        Ok(Site {
            dir,
            name: file_name(target)?,
            path: target.to_path_buf(),
            ledger_dir,
            ledger_name: file_name(ledger)?,
        })
    }

    fn ledger_path(&self) -> PathBuf {
        self.ledger_dir.join(&self.ledger_name)
    }

    /// The ledger, `None` when no setup is active. One that is damaged or
    /// that another user planted is refused, never trusted.
    fn load_ledger(&self) -> Result<Option<Ledger>> {
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

    fn save_ledger(&self, ledger: &Ledger) -> Result<()> {
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

    fn remove_ledger(&self) -> Result<()> {
        self.ledger_dir.remove(&self.ledger_name, Durability::None)
    }

    fn read_file(&self, cap: u64) -> Result<Option<Found>> {
        self.dir.read(&self.name, cap)
    }

    fn backup_name(&self, id: &str) -> String {
        format!(".{}.magento-auth-{id}.orig", self.name)
    }

    fn parse(&self, found: &Found) -> Result<AuthDoc, Failure> {
        AuthDoc::parse(&found.bytes, &self.path.display().to_string())
    }
}

fn untrusted_ledger(ledger: &Path, target: &Path, why: &str) -> anyhow::Error {
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

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn file_name(path: &Path) -> Result<String> {
    path.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
        .ok_or_else(|| {
            Failure::bad_input(format!("{} has no usable file name", path.display())).into()
        })
}

fn ledger_path(target: &Path, place: Place, state_path: &Path) -> Result<PathBuf> {
    Ok(match place {
        Place::Beside => parent_of(target).join(format!(".{}.magento-auth", file_name(target)?)),
        Place::Private => {
            let key = sha256_hex(target.to_string_lossy().as_bytes());
            parent_of(&std::path::absolute(state_path)?).join(format!("{}.ledger", &key[..16]))
        }
    })
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn age(since: u64) -> String {
    let seconds = now().saturating_sub(since);
    match seconds {
        0..120 => format!("{seconds} s"),
        120..7200 => format!("{} min", seconds / 60),
        _ => format!("{} h", seconds / 3600),
    }
}

/// Open the directory of an auth file and lock it (unless it is the job's
/// own, already locked). `None` when it does not exist and `create` is false.
fn open_site_dir(
    target: &Path,
    what: &str,
    create: bool,
    timeout: Duration,
    job: &Job,
) -> Result<Option<(Opened, Option<Lock>)>> {
    Dir::open_locked(&parent_of(target), what, create, timeout, Some(&job.dir))
}

/// Merge the keys into the auth file `request` names, recording in the
/// file's ledger and the job's state how to undo it.
pub(crate) fn write(
    request: &Request,
    keys: &Keys,
    reporter: &mut dyn Reporter,
) -> Result<Written> {
    let job = Job::open(request.state_path, true, request.timeout)?
        .expect("a directory opened with create exists");
    let mut state = job.load()?;
    undo_stale(&job, &mut state, request, reporter)?;

    let target = request.target.to_path_buf();
    let ledger_path = ledger_path(&target, request.place, &job.path)?;
    let (opened, _lock) = open_swept(request, &job, &ledger_path, reporter)?;
    crate::fault::point("journal:dir-opened");
    let ledger_dir = match request.place {
        Place::Beside => &opened.dir,
        Place::Private => &job.dir,
    };
    let site = Site::new(&opened.dir, &target, ledger_dir, &ledger_path)?;
    let before = site.load_ledger()?;
    let current = site.read_file(MAX_AUTH_BYTES)?;
    crate::fault::point("journal:target-read");
    let merged = merge(&site, current.as_ref(), request.host, keys)?;

    let id = state::new_id();
    let mut ledger = match before.clone() {
        Some(ledger) => ledger.joined(current.as_ref(), &merged.original, &opened.created),
        None => Ledger::first(current.as_ref(), &merged.original, &opened.created),
    };
    ledger.holders.push(Holder {
        id: id.clone(),
        host: request.host.to_string(),
        entry: merged.entry,
        state: job.path.clone(),
        since: now(),
        anchor: liveness::anchor(request.lifetime),
    });
    ledger.written_sha256 = sha256_hex(&merged.bytes);

    // The state first, then the backup, the ledger, the file: a job killed
    // before the file is written leaves records that do not match it, and
    // cleanup then keeps the file as it is.
    state.files.push(FileEntry {
        id: id.clone(),
        target: target.clone(),
        host: request.host.to_string(),
        ledger: ledger_path,
    });
    job.save(&state)?;
    crate::fault::point("setup:state-saved");
    let first = before.is_none();
    if let Err(err) = commit(
        &site,
        request.place,
        &id,
        current.as_ref(),
        &mut ledger,
        first,
        &merged.bytes,
    ) {
        // Nothing was written: put the records back as they were. Failing
        // here too (a read-only home) must not hide the first error.
        let _ = match &before {
            Some(previous) => site.save_ledger(previous),
            None => site.remove_ledger(),
        };
        state.files.pop();
        let _ = job.save(&state);
        if first {
            dir::remove_empty_dirs(&opened.created);
        }
        return Err(err);
    }
    crate::fault::point("setup:target-written");
    Ok(Written { id, target })
}

/// Open and lock the directory of the file, and undo the setups of dead
/// jobs in it. Undoing the last of them removes the directories it created,
/// which may be this one: then it is created and opened again.
fn open_swept(
    request: &Request,
    job: &Job,
    ledger_path: &Path,
    reporter: &mut dyn Reporter,
) -> Result<(Opened, Option<Lock>)> {
    for _ in 0..3 {
        let (opened, lock) =
            open_site_dir(request.target, request.what, true, request.timeout, job)?
                .expect("a directory opened with create exists");
        let ledger_dir = match request.place {
            Place::Beside => &opened.dir,
            Place::Private => &job.dir,
        };
        let site = Site::new(&opened.dir, request.target, ledger_dir, ledger_path)?;
        sweep::sweep(&site, &job.path, reporter)?;
        if opened.dir.is_linked() {
            return Ok((opened, lock));
        }
    }
    Err(anyhow::anyhow!(
        "{} kept being removed while setup opened it",
        parent_of(request.target).display()
    ))
}

/// Undo a setup of the same file and host this job never undid (a killed exec).
fn undo_stale(
    job: &Job,
    state: &mut State,
    request: &Request,
    reporter: &mut dyn Reporter,
) -> Result<()> {
    let stale: Vec<FileEntry> = state
        .files
        .iter()
        .filter(|e| e.target == request.target && e.host == request.host)
        .cloned()
        .collect();
    for entry in stale {
        reporter.warning(&format!(
            "found an earlier setup of {} for {} that was never cleaned up (a killed job?); undoing it first",
            request.target.display(),
            request.host
        ));
        release_entry(job, &entry, request.timeout, reporter)?;
        state.files.retain(|e| e.id != entry.id);
        job.save(state)?;
    }
    Ok(())
}

/// The file with the keys merged in.
struct Merged {
    bytes: Vec<u8>,
    /// The entry the keys make.
    entry: Value,
    /// What the host had before.
    original: ledger::Before,
}

fn merge(site: &Site, current: Option<&Found>, host: &str, keys: &Keys) -> Result<Merged> {
    let mut doc = match current {
        Some(found) => site.parse(found)?,
        None => AuthDoc::empty(),
    };
    let original = ledger::Before {
        entry: HostEntry {
            host: host.to_string(),
            entry: doc.http_basic(host).cloned(),
        },
        http_basic_existed: doc.has_http_basic_section(),
    };
    doc.set_keys(host, keys);
    let bytes = doc.to_file_bytes();
    if bytes.len() as u64 > MAX_AUTH_BYTES {
        return Err(Failure::bad_input(format!(
            "{} would be larger than {} KiB with the credentials in it, more than cleanup could restore",
            site.path.display(),
            MAX_AUTH_BYTES / 1024
        ))
        .with_hint(
            "check what wrote such a large file; move it out of the way, or choose another --mode",
        )
        .into());
    }
    Ok(Merged {
        entry: doc.http_basic(host).cloned().unwrap_or(Value::Null),
        bytes,
        original,
    })
}

/// Keep the previous file (a first setup), save the ledger, write the file.
/// A backup made here goes again when a later step fails.
fn commit(
    site: &Site,
    place: Place,
    id: &str,
    current: Option<&Found>,
    ledger: &mut Ledger,
    first: bool,
    bytes: &[u8],
) -> Result<()> {
    let mut linked = None;
    if first && let Some(found) = current {
        let backup = site.backup_name(id);
        if place == Place::Beside && site.dir.link(&site.name, &backup)? {
            crate::fault::point("setup:backup-linked");
            ledger.original.backup = Some(backup.clone());
            linked = Some(backup);
        } else {
            // No hard links here, or a work tree: the ledger keeps the bytes.
            ledger.original.bytes_base64 = Some(BASE64.encode(&found.bytes));
        }
    }
    let result = site.save_ledger(ledger).and_then(|()| {
        crate::fault::point("setup:ledger-saved");
        site.dir
            .write(&site.name, bytes, 0o600, Durability::Content)
    });
    if result.is_err()
        && let Some(backup) = linked
    {
        let _ = site.dir.remove(&backup, Durability::None);
    }
    result
}
