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
pub(crate) mod ledger;
pub(crate) mod liveness;
pub(crate) mod state;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::Value;

use crate::composer::auth::{AuthDoc, entry_fingerprint, sha256_hex};
use crate::exit::Failure;
use crate::keys::Keys;
use crate::report::Reporter;
use dir::{Dir, Durability, Found, Lock, Opened};
use ledger::{Holder, HostEntry, Ledger, Original};
use liveness::{Lifetime, Liveness};
use state::{EnvEntry, FileEntry, State};

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

/// This job's state file, its directory open and locked.
struct Job {
    dir: Dir,
    name: String,
    path: PathBuf,
    _lock: Option<Lock>,
}

impl Job {
    fn open(state_path: &Path, create: bool, timeout: Duration) -> Result<Option<Job>> {
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

    fn load(&self) -> Result<State> {
        State::load(&self.dir, &self.name)
    }

    fn save(&self, state: &State) -> Result<()> {
        state.save(&self.dir, &self.name)
    }
}

/// One auth file and its ledger, both directories open (and locked).
struct Site<'a> {
    dir: &'a Dir,
    name: String,
    path: PathBuf,
    ledger_dir: &'a Dir,
    ledger_name: String,
}

impl Site<'_> {
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
    let target = request.target.to_path_buf();
    // A setup of the same file and host this job never undid (a killed exec).
    let stale: Vec<FileEntry> = state
        .files
        .iter()
        .filter(|e| e.target == target && e.host == request.host)
        .cloned()
        .collect();
    for entry in stale {
        reporter.warning(&format!(
            "found an earlier setup of {} for {} that was never cleaned up (a killed job?); undoing it first",
            target.display(),
            request.host
        ));
        release_entry(&job, &entry, request.timeout, reporter)?;
        state.files.retain(|e| e.id != entry.id);
        job.save(&state)?;
    }

    let (opened, _lock) = open_site_dir(&target, request.what, true, request.timeout, &job)?
        .expect("a directory opened with create exists");
    crate::fault::point("journal:dir-opened");
    let ledger_path = ledger_path(&target, request.place, &job.path)?;
    let site = Site {
        dir: &opened.dir,
        name: file_name(&target)?,
        path: target.clone(),
        ledger_dir: match request.place {
            Place::Beside => &opened.dir,
            Place::Private => &job.dir,
        },
        ledger_name: file_name(&ledger_path)?,
    };
    sweep(&site, &job.path, reporter)?;
    let before = site.load_ledger()?;
    let current = site.read_file(MAX_AUTH_BYTES)?;
    crate::fault::point("journal:target-read");

    let mut doc = match &current {
        Some(found) => site.parse(found)?,
        None => AuthDoc::empty(),
    };
    let host = request.host;
    let original_entry = doc.http_basic(host).cloned();
    let section_existed = doc.has_http_basic_section();
    doc.set_keys(host, keys);
    let bytes = doc.to_file_bytes();
    if bytes.len() as u64 > MAX_AUTH_BYTES {
        return Err(Failure::bad_input(format!(
            "{} would be larger than {} KiB with the credentials in it, more than cleanup could restore",
            target.display(),
            MAX_AUTH_BYTES / 1024
        ))
        .with_hint("check what wrote such a large file; move it out of the way, or choose another --mode")
        .into());
    }

    let id = state::new_id();
    let holder = Holder {
        id: id.clone(),
        host: host.to_string(),
        entry: doc.http_basic(host).cloned().unwrap_or(Value::Null),
        state: job.path.clone(),
        since: now(),
        anchor: liveness::anchor(request.lifetime),
    };
    let mut ledger = match before.clone() {
        Some(mut ledger) => {
            let unchanged = current
                .as_ref()
                .is_some_and(|c| sha256_hex(&c.bytes) == ledger.written_sha256);
            ledger.changed_since |= !unchanged;
            if !ledger.original.hosts.iter().any(|h| h.host == host) {
                ledger.original.hosts.push(HostEntry {
                    host: host.to_string(),
                    entry: original_entry,
                });
            }
            ledger
                .original
                .created_dirs
                .extend(opened.created.iter().cloned());
            ledger
        }
        None => Ledger {
            version: ledger::VERSION,
            original: Original {
                existed: current.is_some(),
                mode: current.as_ref().map(|c| c.mode),
                sha256: current.as_ref().map(|c| sha256_hex(&c.bytes)),
                backup: None,
                bytes_base64: None,
                http_basic_existed: section_existed,
                hosts: vec![HostEntry {
                    host: host.to_string(),
                    entry: original_entry,
                }],
                created_dirs: opened.created.clone(),
            },
            written_sha256: String::new(),
            changed_since: false,
            holders: Vec::new(),
        },
    };
    ledger.holders.push(holder);
    ledger.written_sha256 = sha256_hex(&bytes);

    // The state first, then the backup, the ledger, the file: a job killed
    // before the file is written leaves records that do not match it, and
    // cleanup then keeps the file as it is.
    state.files.push(FileEntry {
        id: id.clone(),
        target: target.clone(),
        host: host.to_string(),
        ledger: ledger_path,
    });
    job.save(&state)?;
    crate::fault::point("setup:state-saved");

    let mut linked = None;
    let written = commit(
        &site,
        request.place,
        &id,
        current.as_ref(),
        &mut ledger,
        &mut linked,
        before.is_none(),
    )
    .and_then(|()| {
        site.dir
            .write(&site.name, &bytes, 0o600, Durability::Content)
    });
    if let Err(err) = written {
        // Nothing was written: put the records back as they were. Failing
        // here too (a read-only home) must not hide the first error.
        let _ = match &before {
            Some(previous) => site.save_ledger(previous),
            None => site.remove_ledger(),
        };
        if let Some(backup) = linked {
            let _ = site.dir.remove(&backup, Durability::None);
        }
        state.files.pop();
        let _ = job.save(&state);
        if before.is_none() {
            dir::remove_empty_dirs(&opened.created);
        }
        return Err(err);
    }
    crate::fault::point("setup:target-written");
    Ok(Written { id, target })
}

/// Keep the previous file (a first setup) and save the ledger.
fn commit(
    site: &Site,
    place: Place,
    id: &str,
    current: Option<&Found>,
    ledger: &mut Ledger,
    linked: &mut Option<String>,
    first: bool,
) -> Result<()> {
    if first && let Some(found) = current {
        let backup = site.backup_name(id);
        if place == Place::Beside && site.dir.link(&site.name, &backup)? {
            crate::fault::point("setup:backup-linked");
            ledger.original.backup = Some(backup.clone());
            *linked = Some(backup);
        } else {
            // No hard links here, or a work tree: the ledger keeps the bytes.
            ledger.original.bytes_base64 = Some(BASE64.encode(&found.bytes));
        }
    }
    site.save_ledger(ledger)?;
    crate::fault::point("setup:ledger-saved");
    Ok(())
}

/// What undoing one setup did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Undone {
    /// The ledger no longer lists it (undone already, by it or by a sweep).
    NotHeld,
    /// The file's directory is gone.
    Gone,
    Restored,
    RestoredRemoved,
    Removed,
    TookOutEntry,
    /// The file changed since and its entry is no longer this setup's.
    LeftAsIs,
    /// Other setups are active: the file now has their credentials.
    HandedOver,
}

fn describe(undone: Undone, path: &Path, host: &str) -> Option<String> {
    let path = path.display();
    Some(match undone {
        Undone::NotHeld => return None,
        Undone::Gone => format!("{path} is gone with its directory: nothing to restore"),
        Undone::Restored => format!("restored {path} as it was before setup"),
        Undone::RestoredRemoved => format!("restored {path} (it had been removed)"),
        Undone::Removed => format!("removed {path} (setup had created it)"),
        Undone::TookOutEntry => {
            format!("removed setup's entry for {host} from {path} and kept the changes made since")
        }
        Undone::LeftAsIs => format!(
            "{path} changed since setup and its entry for {host} is no longer the one setup wrote; left as it is"
        ),
        Undone::HandedOver => format!(
            "took this job's credentials for {host} out of {path}; other jobs' setups of it are still active"
        ),
    })
}

/// Undo this job's setup `entry`, whose state the caller holds locked.
fn release_entry(
    job: &Job,
    entry: &FileEntry,
    timeout: Duration,
    reporter: &mut dyn Reporter,
) -> Result<()> {
    let private = parent_of(&entry.ledger) == parent_of(&job.path);
    let Some((opened, _lock)) = open_site_dir(
        &entry.target,
        "the directory of auth.json",
        false,
        timeout,
        job,
    )?
    else {
        if private {
            // The work tree went away; its ledger here has one setup less.
            forget(&job.dir, &file_name(&entry.ledger)?, &entry.id)?;
        }
        if let Some(text) = describe(Undone::Gone, &entry.target, &entry.host) {
            reporter.info(&text);
        }
        return Ok(());
    };
    let site = Site {
        dir: &opened.dir,
        name: file_name(&entry.target)?,
        path: entry.target.clone(),
        ledger_dir: if private { &job.dir } else { &opened.dir },
        ledger_name: file_name(&entry.ledger)?,
    };
    let undone = release(&site, &entry.id)?;
    if let Some(text) = describe(undone, &entry.target, &entry.host) {
        reporter.info(&text);
    }
    Ok(())
}

/// Take the setup `id` out of a ledger whose file is gone.
fn forget(dir: &Dir, ledger_name: &str, id: &str) -> Result<()> {
    let Some(found) = dir.read(ledger_name, MAX_RECORD_BYTES)? else {
        return Ok(());
    };
    let Ok(mut ledger) = Ledger::parse(&found.bytes) else {
        return Ok(());
    };
    ledger.holders.retain(|h| h.id != id);
    if ledger.holders.is_empty() {
        dir.remove(ledger_name, Durability::None)
    } else {
        dir.write(ledger_name, &ledger.to_bytes(), 0o600, Durability::Full)
    }
}

/// Undo the setup `id` in `site`: the file gets the credentials of the
/// latest other setup still active for the host, or, when none is left, the
/// original back.
fn release(site: &Site, id: &str) -> Result<Undone> {
    let Some(mut ledger) = site.load_ledger()? else {
        // A backup a setup killed before its ledger was saved left.
        site.dir.remove(&site.backup_name(id), Durability::None)?;
        return Ok(Undone::NotHeld);
    };
    let Some(position) = ledger.holders.iter().position(|h| h.id == id) else {
        if ledger.original.backup.as_deref() != Some(site.backup_name(id).as_str()) {
            site.dir.remove(&site.backup_name(id), Durability::None)?;
        }
        return Ok(Undone::NotHeld);
    };
    let holder = ledger.holders.remove(position);
    let current = site.read_file(MAX_CHANGED_AUTH_BYTES)?;
    crate::fault::point("journal:target-read");
    let ours = current
        .as_ref()
        .is_some_and(|c| sha256_hex(&c.bytes) == ledger.written_sha256);
    ledger.changed_since |= current.is_some() && !ours;

    if !ledger.holders.is_empty() {
        let undone = hand_over(site, &mut ledger, &holder, current.as_ref())?;
        crate::fault::point("cleanup:target-undone");
        site.save_ledger(&ledger)?;
        crate::fault::point("cleanup:ledger-saved");
        return Ok(undone);
    }
    let undone = restore(site, &ledger, &holder, current.as_ref(), ours)?;
    crate::fault::point("cleanup:target-undone");
    if let Some(backup) = &ledger.original.backup {
        site.dir.remove(backup, Durability::None)?;
    }
    site.remove_ledger()?;
    crate::fault::point("cleanup:ledger-saved");
    if !site.dir.has(&site.name) {
        // The last one out removes what the first one in created.
        dir::remove_empty_dirs(&ledger.original.created_dirs);
    }
    Ok(undone)
}

/// Others remain: take this setup's entry out, if the file still has it.
fn hand_over(
    site: &Site,
    ledger: &mut Ledger,
    holder: &Holder,
    current: Option<&Found>,
) -> Result<Undone> {
    let Some(found) = current else {
        return Ok(Undone::LeftAsIs);
    };
    let mut doc = site
        .parse(found)
        .map_err(|f| unusable(site, &holder.host, f))?;
    if !take_out(&mut doc, ledger, holder) {
        return Ok(Undone::HandedOver);
    }
    let bytes = doc.to_file_bytes();
    site.dir
        .write(&site.name, &bytes, 0o600, Durability::Content)?;
    ledger.written_sha256 = sha256_hex(&bytes);
    Ok(Undone::HandedOver)
}

/// The last one out: the original back, byte for byte while nobody else
/// changed the file; else only this setup's entry taken out.
fn restore(
    site: &Site,
    ledger: &Ledger,
    holder: &Holder,
    current: Option<&Found>,
    ours: bool,
) -> Result<Undone> {
    let original = &ledger.original;
    match current {
        Some(_) if ours && !ledger.changed_since => {
            if !original.existed {
                site.dir.remove(&site.name, Durability::Full)?;
                return Ok(Undone::Removed);
            }
            if put_back(site, ledger)? {
                return Ok(Undone::Restored);
            }
        }
        None => {
            return Ok(if original.existed && put_back(site, ledger)? {
                Undone::RestoredRemoved
            } else {
                Undone::LeftAsIs
            });
        }
        Some(_) => {}
    }
    let found = current.expect("handled above");
    let mut doc = site
        .parse(found)
        .map_err(|f| unusable(site, &holder.host, f))?;
    if !take_out(&mut doc, ledger, holder) {
        return Ok(Undone::LeftAsIs);
    }
    if doc.is_empty() && !original.existed {
        site.dir.remove(&site.name, Durability::Full)?;
        return Ok(Undone::Removed);
    }
    // What is kept may hold credentials Composer added: never looser than 0600.
    let mode = original.mode.unwrap_or(0o600) & 0o600;
    site.dir
        .write(&site.name, &doc.to_file_bytes(), mode, Durability::Full)?;
    Ok(Undone::TookOutEntry)
}

/// Put the original file back: its backup renamed into place (owner, mode
/// and times as they were), else its bytes. `false` when neither is left.
fn put_back(site: &Site, ledger: &Ledger) -> Result<bool> {
    if let Some(backup) = &ledger.original.backup
        && site.dir.rename(backup, &site.name)?
    {
        crate::fault::point("cleanup:backup-renamed");
        return Ok(true);
    }
    match ledger.original_bytes() {
        Some(bytes) => {
            let mode = ledger.original.mode.unwrap_or(0o600);
            site.dir.write(&site.name, &bytes, mode, Durability::Full)?;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// Take `holder`'s entry out of `doc` if it is still there, giving the host
/// the entry of its latest other active setup, else its original one.
/// `false` when nothing changed.
fn take_out(doc: &mut AuthDoc, ledger: &Ledger, holder: &Holder) -> bool {
    let host = &holder.host;
    let Some(current) = doc.http_basic(host) else {
        return false;
    };
    if entry_fingerprint(current) != entry_fingerprint(&holder.entry) {
        return false;
    }
    let replacement = ledger
        .heir(host)
        .map(|h| h.entry.clone())
        .or_else(|| ledger.original_entry(host).cloned());
    if replacement.as_ref() == Some(current) {
        return false;
    }
    doc.restore_entry(
        host,
        replacement.as_ref(),
        ledger.original.http_basic_existed,
    );
    true
}

fn unusable(site: &Site, host: &str, failure: Failure) -> anyhow::Error {
    Failure::bad_input(format!(
        "{} changed since setup and is no longer usable: {}",
        site.path.display(),
        failure.message
    ))
    .with_hint(format!(
        "remove the \"{host}\" entry from it by hand, then run cleanup again"
    ))
    .into()
}

/// Undo the setups in `site` whose job has died; warn about those that
/// cannot be checked. Returns the warnings.
fn sweep(site: &Site, own_state: &Path, reporter: &mut dyn Reporter) -> Result<Vec<String>> {
    let Some(ledger) = site.load_ledger()? else {
        return Ok(Vec::new());
    };
    let mut warnings = Vec::new();
    for holder in ledger.holders {
        if holder.state == own_state {
            continue;
        }
        match liveness::check(holder.anchor.as_ref()) {
            Liveness::Alive => {}
            Liveness::Dead(why) => {
                if release(site, &holder.id)? != Undone::NotHeld {
                    reporter.info(&format!(
                        "removed the credentials of a job that is no longer running ({why}; set up {} ago) from {}",
                        age(holder.since),
                        site.path.display()
                    ));
                }
            }
            Liveness::Unknown(why) => {
                let text = format!(
                    "{} holds credentials of another job, set up {} ago, that magento-auth cannot check ({why}); \
                     if that job has ended, run its cleanup or remove its entry by hand",
                    site.path.display(),
                    age(holder.since)
                );
                reporter.warning(&text);
                warnings.push(text);
            }
        }
    }
    Ok(warnings)
}

/// Undo the setups of dead jobs in the home auth.json `target` (nothing when
/// it has no ledger). Returns what could not be checked.
pub(crate) fn sweep_home(
    target: &Path,
    state_path: &Path,
    timeout: Duration,
    reporter: &mut dyn Reporter,
) -> Result<Vec<String>> {
    let ledger_path = ledger_path(target, Place::Beside, state_path)?;
    let Some(opened) = Dir::open(&parent_of(target), "the Composer home", false)? else {
        return Ok(Vec::new());
    };
    if !opened.dir.has(&file_name(&ledger_path)?) {
        return Ok(Vec::new());
    }
    drop(opened);
    let Some((opened, _lock)) = Dir::open_locked(
        &parent_of(target),
        "the Composer home",
        false,
        timeout,
        None,
    )?
    else {
        return Ok(Vec::new());
    };
    let site = Site {
        dir: &opened.dir,
        name: file_name(target)?,
        path: target.to_path_buf(),
        ledger_dir: &opened.dir,
        ledger_name: file_name(&ledger_path)?,
    };
    sweep(&site, &std::path::absolute(state_path)?, reporter)
}

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
