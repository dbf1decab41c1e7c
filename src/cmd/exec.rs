//! Exec: set up, run a command with the credentials, always clean up.

use std::process::Command;

use anyhow::Result;

use super::prepare::{self, CheckPolicy, Prepared};
use crate::cli::{ExecArgs, Mode};
use crate::composer::shadow::KeysIn;
use crate::exit::{Code, Failure, Outcome, Status};
use crate::journal::{self, Written, liveness::Lifetime};
use crate::report::Reporter;
use crate::signals::Forwarder;

/// The exit status of a command that cannot be found, as shells and `env` use.
pub(crate) const NOT_FOUND: u8 = 127;

/// The exit status of a command that is there but cannot be run, as shells use.
pub(crate) const NOT_EXECUTABLE: u8 = 126;

/// `magento-auth exec -- CMD ARGS...`: the status to exit with, and the
/// outcome of the credentials' check (`ok`, `unchecked`, `skipped`).
pub(crate) fn run(args: &ExecArgs, reporter: &mut dyn Reporter) -> Result<(u8, Outcome)> {
    // Resolve first, so nothing is written for a command that is not there.
    let path = match resolve(&args.command[0]) {
        Ok(path) => path,
        Err(refused) => {
            let (code, failure) = *refused;
            reporter.error(&failure.message, failure.hint.as_deref());
            return Ok((code, failure));
        }
    };
    let signals = Forwarder::start()?;
    let Some(prepared) = prepare::prepare(
        &args.keys,
        &args.repo,
        &args.check,
        &args.platform,
        CheckPolicy::from_flags(args.write.no_check, args.write.warn_only),
        reporter,
    )?
    else {
        // Keys withheld and --on-missing skip: run the command without them.
        let mut command = crate::harden::exec_child(&path);
        command.args(&args.command[1..]);
        let code = run_unfolded(signals, command, reporter)?;
        return Ok((code, Outcome::of(Status::Skipped, "")));
    };
    let mut checked = prepared.outcome.clone();
    let host = prepared.repo.auth_host();
    // The child gets the credentials through Composer's channel alone:
    // the key variables are not passed on.
    let mut command = crate::harden::exec_child(&path);
    command.args(&args.command[1..]);

    if args.write.mode == Mode::Env {
        let value = crate::composer::auth::composer_auth_value(&host, &prepared.keys)?;
        reporter.mask(&value);
        command.env("COMPOSER_AUTH", value);
        reporter.info(&format!(
            "the command gets credentials for {host} in COMPOSER_AUTH; nothing is written"
        ));
        checked.shadowed_by = Box::new(shadow(args, &prepared, KeysIn::Env, reporter));
        return Ok((run_unfolded(signals, command, reporter)?, checked));
    }
    // exec lives as long as the command: if it dies, so does its setup.
    let written = prepare::write_for_mode(
        args.write.mode,
        &args.repo.working_dir,
        &host,
        &prepared,
        Lifetime::ThisProcess,
        reporter,
    )?;
    reporter.info(&format!(
        "wrote credentials for {host} to {} while the command runs",
        written.target.display()
    ));
    checked.shadowed_by = Box::new(shadow(
        args,
        &prepared,
        KeysIn::File(&written.target),
        reporter,
    ));
    let outcome = run_unfolded(signals, command, reporter);
    reporter.group("magento-auth exec: cleanup");
    let cleaned = clean_up(&prepared, &written, reporter);
    let code = match (outcome, cleaned) {
        (Ok(code), Ok(())) => code,
        (Ok(code), Err(err)) => {
            let failure = err.downcast_ref::<Failure>();
            reporter.error(
                &format!("cleanup after the command failed: {err:#}"),
                failure.and_then(|f| f.hint.as_deref()),
            );
            if code == 0 { 1 } else { code }
        }
        (Err(err), _) => return Err(err),
    };
    Ok((code, checked))
}

/// Warn when Composer will use other credentials than the keys given to it.
fn shadow(
    args: &ExecArgs,
    prepared: &Prepared,
    written: KeysIn,
    reporter: &mut dyn Reporter,
) -> Vec<crate::exit::Shadowed> {
    let host = prepared.repo.auth_host();
    crate::composer::shadow::warn(
        &args.repo.working_dir,
        &host,
        &prepared.keys,
        written,
        reporter,
    )
}

/// The command's file, as a shell finds it; else the status a shell exits
/// with (127 not found, 126 not executable) and why.
fn resolve(program: &std::ffi::OsStr) -> Result<std::path::PathBuf, Box<(u8, Failure)>> {
    if let Ok(path) = which::which(program) {
        return Ok(path);
    }
    let name = program.to_string_lossy();
    Err(Box::new(match not_executable(program) {
        Some(found) => (
            NOT_EXECUTABLE,
            Failure::new(
                Code::Unexpected,
                format!(
                    "{name}: permission denied ({} is not executable)",
                    found.display()
                ),
            )
            .with_hint("make it executable (chmod +x), or run it through its interpreter"),
        ),
        None => (
            NOT_FOUND,
            Failure::new(Code::Unexpected, format!("command not found: {name}")).with_hint(
                "check the name and PATH; exec runs the command directly, not through a shell",
            ),
        ),
    }))
}

/// The file a shell would have found for `program` but cannot run: the path
/// itself when it names one, else the first file of that name on PATH.
fn not_executable(program: &std::ffi::OsStr) -> Option<std::path::PathBuf> {
    let given = std::path::Path::new(program);
    if given.components().count() > 1 {
        return given.is_file().then(|| given.to_path_buf());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(given))
        .find(|candidate| candidate.is_file())
}

/// Run the child with its output outside any folded section: it is what the
/// user came to see.
fn run_unfolded(signals: Forwarder, command: Command, reporter: &mut dyn Reporter) -> Result<u8> {
    reporter.end_group();
    signals.run(command)
}

fn clean_up(prepared: &Prepared, written: &Written, reporter: &mut dyn Reporter) -> Result<()> {
    journal::undo(
        &prepared.state_path,
        &written.id,
        prepared.timeout,
        reporter,
    )
}
