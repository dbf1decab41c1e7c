//! Undoing one setup: the file gets the credentials of the latest other
//! setup still active for the host, or, when none is left, the original back.

use std::path::Path;
use std::time::Duration;

use anyhow::Result;

use super::ledger::{Holder, Ledger};
use super::limits::{MAX_CHANGED_AUTH_BYTES, MAX_RECORD_BYTES};
use super::site::{Job, Site, file_name, open_site_dir, parent_of};
use super::state::FileEntry;
use crate::composer::auth::{AuthDoc, entry_fingerprint};
use crate::digest::sha256_hex;
use crate::dir::{self, Dir, Durability, Found};
use crate::exit::Failure;
use crate::report::Reporter;

/// What undoing one setup did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Undone {
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
    /// Other setups of the host with the same credentials are active.
    Shared,
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
        Undone::Shared => format!(
            "left {path} as it is: other jobs that set up {host} with the same credentials are still running"
        ),
    })
}

/// Undo this job's setup `entry`, whose state the caller holds locked.
pub(super) fn release_entry(
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
pub(super) fn release(site: &Site, id: &str) -> Result<Undone> {
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
        return Ok(Undone::Shared);
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
