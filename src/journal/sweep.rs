//! Setups whose job has died are undone by the next job that looks.

use std::path::Path;
use std::time::Duration;

use anyhow::Result;

use super::liveness::{self, Liveness};
use super::site::{Place, Site, age, file_name, ledger_path, parent_of};
use super::undo::{Undone, release};
use crate::dir::Dir;
use crate::report::Reporter;

/// Undo the setups in `site` whose job has died; warn about those that
/// cannot be checked. Returns the warnings.
pub(super) fn sweep(
    site: &Site,
    own_state: &Path,
    reporter: &mut dyn Reporter,
) -> Result<Vec<String>> {
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
    // Most homes have no ledger: a look by path settles that at the cost of
    // one system call; the trusted walk is for a home that has one.
    if std::fs::symlink_metadata(&ledger_path).is_err() {
        return Ok(Vec::new());
    }
    if let Err(err) = Dir::open(&parent_of(target), "the Composer home", false) {
        // Not a home setup would write to: say so, since setups are recorded there.
        return Ok(vec![format!("{err:#}")]);
    }
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
