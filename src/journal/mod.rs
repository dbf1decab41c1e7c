//! The undoable write of an auth file: write, lock, ledger, backup, undo.
//!
//! Every rule about changing a user's auth.json lives here once:
//! - only in trusted directories, through opened directory handles that never
//!   follow a symlink ([`crate::dir`]);
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

mod job;
pub(crate) mod ledger;
mod limits;
pub(crate) mod liveness;
mod site;
pub(crate) mod state;
mod sweep;
mod undo;

pub(crate) use job::{Ended, Pending, end_job, pending, record_export, undo};
pub(crate) use site::Place;
pub(crate) use sweep::sweep_home;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::Value;

use crate::composer::auth::AuthDoc;
use crate::digest::sha256_hex;
use crate::dir::{self, Durability, Found, Lock, Opened};
use crate::exit::Failure;
use crate::keys::Keys;
use crate::report::Reporter;
use ledger::{Holder, HostEntry, Ledger};
use limits::MAX_AUTH_BYTES;
use liveness::Lifetime;
use site::{Job, Site, ledger_path, now, open_site_dir, parent_of};
use state::{FileEntry, State};
use undo::release_entry;

/// What a setup asks for.
#[derive(Debug)]
pub(crate) struct Request<'a> {
    /// The auth.json to write, an absolute path.
    pub(crate) target: &'a Path,
    /// What its directory is, for messages: "the Composer home".
    pub(crate) what: &'a str,
    pub(crate) place: Place,
    pub(crate) host: &'a str,
    pub(crate) state_path: &'a Path,
    pub(crate) lifetime: Lifetime,
    /// How long any lock may be waited for.
    pub(crate) timeout: Duration,
}

/// A write setup made, for exec to undo.
#[derive(Clone, Debug)]
pub(crate) struct Written {
    pub(crate) id: String,
    pub(crate) target: PathBuf,
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
            format!("check what wrote such a large file; move it out of the way, or {}", crate::cli::settings::another_value("--mode")),
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
