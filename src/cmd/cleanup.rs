//! Cleanup: undo what setup did, keeping every change made since.

use anyhow::Result;

use crate::ci::{Platform, github};
use crate::cli::CleanupArgs;
use crate::composer::home::{ProcessEnv, composer_home};
use crate::journal::{self, state::EnvEntry};
use crate::report::Reporter;

/// `magento-auth cleanup`.
pub(crate) fn run(args: &CleanupArgs, reporter: &mut dyn Reporter) -> Result<()> {
    let platform = Platform::detect(args.platform.ci);
    let explicit = args.platform.state_file.as_deref();
    let state_path = journal::state::locate(explicit, platform);
    let timeout = crate::cli::timeout(args.timeout)?;
    let ended = journal::end_job(
        &state_path,
        explicit.is_none(),
        timeout,
        reporter,
        |entry, reporter| reset_variable(entry, platform, reporter),
    )?;
    // A job killed before its cleanup left its keys in the home: undo them
    // now if it is gone.
    if let Ok(home) = composer_home(&ProcessEnv) {
        journal::sweep_home(&home.join("auth.json"), &state_path, timeout, reporter)?;
    }
    report_ended(&ended, &state_path, reporter);
    // Last, with everything restored: any copy of the keys left in a file.
    if let Some(root) = &args.scan {
        super::scan::sweep_roots(
            &args.keys,
            std::slice::from_ref(root),
            &args.sweep,
            false,
            reporter,
        )?;
    }
    Ok(())
}

/// Say what cleanup found to undo.
fn report_ended(ended: &journal::Ended, state_path: &std::path::Path, reporter: &mut dyn Reporter) {
    if !ended.had_state && std::env::var_os("COMPOSER_AUTH").is_some_and(|v| !v.is_empty()) {
        // `setup --mode env` off GitHub writes nothing: its credentials are
        // in this shell's COMPOSER_AUTH, which only the shell can drop.
        reporter.info(
            "nothing on disk to restore: the credentials are in COMPOSER_AUTH in this shell \
             (`setup --mode env` writes no file); run `unset COMPOSER_AUTH` to drop them",
        );
    } else if !ended.had_state {
        reporter.info(&format!(
            "nothing to clean up: no state at {} (setup did not run in this job, or cleanup already did)",
            state_path.display()
        ));
    } else if ended.undone == 0 {
        reporter.info("nothing to clean up");
    }
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
