//! magento-auth: safe repo.magento.com credentials for CI jobs.
//!
//! Only `report` prints; everything else returns values or errors.
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod check;
pub mod ci;
pub mod cleanup;
pub mod cli;
pub mod composer;
pub mod doctor;
pub mod exec;
pub mod exit;
pub mod files;
pub mod keys;
pub mod report;
pub mod secret;
pub mod setup;
pub mod state;

use std::ffi::OsString;
use std::sync::OnceLock;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::report::Reporter;

/// Run a parsed command line; the number to exit with on success.
pub fn run(cli: &Cli, reporter: &mut dyn Reporter) -> Result<u8> {
    match &cli.command {
        Command::Setup(args) => setup::run(args, reporter).map(|()| 0),
        Command::Check(args) => check::command::run(args, reporter).map(|_| 0),
        Command::Cleanup(args) => cleanup::run(args, reporter).map(|()| 0),
        Command::Exec(args) => exec::run(args, reporter),
        Command::Doctor(args) => doctor::run(args, reporter).map(|()| 0),
    }
}

static ORIGINAL_BACKTRACE: OnceLock<Option<OsString>> = OnceLock::new();

/// Turn off backtrace capture in this process: errors never show one, so
/// capturing one (which anyhow does when RUST_BACKTRACE is set, as some CI
/// images do) is wasted time. Call once, first thing, before any thread.
pub fn disable_backtraces() {
    ORIGINAL_BACKTRACE.get_or_init(|| std::env::var_os("RUST_LIB_BACKTRACE"));
    // SAFETY: called at the start of main, while the process has one thread.
    unsafe { std::env::set_var("RUST_LIB_BACKTRACE", "0") };
}

/// Give a child process the RUST_LIB_BACKTRACE the user had.
pub fn restore_backtrace_env(command: &mut std::process::Command) {
    match ORIGINAL_BACKTRACE.get() {
        Some(Some(value)) => {
            command.env("RUST_LIB_BACKTRACE", value);
        }
        _ => {
            command.env_remove("RUST_LIB_BACKTRACE");
        }
    }
}
