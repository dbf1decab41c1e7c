//! magento-auth: safe repo.magento.com credentials for CI jobs.
//!
//! Only `report` prints; everything else returns values or errors.
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod arena;
pub mod check;
pub mod ci;
pub mod cli;
mod cmd;
pub mod composer;
pub mod exit;
pub mod fault;
pub mod harden;
pub(crate) mod journal;
pub mod keys;
pub mod report;
pub mod sanitize;
pub mod secret;
pub mod signals;

use std::ffi::OsString;
use std::sync::OnceLock;

use crate::ci::Platform;
use crate::cli::Cli;
use crate::composer::repo_url::RepoUrl;
use crate::exit::Outcome;
use crate::report::Summary;

/// Run a parsed command line on the platform it asks for; the exit code.
pub fn run(cli: &Cli) -> u8 {
    harden::harden();
    let platform = Platform::detect(cli.command.platform().ci);
    let mut reporter = platform.reporter();
    let reporter = reporter.as_mut();
    reporter.group(&format!("magento-auth {}", cli.command.name()));
    let result = cmd::dispatch(cli, reporter);
    reporter.end_group();
    let (mut code, summary) = match result {
        Ok(done) => done,
        Err(err) => {
            let mut outcome = Outcome::of_error(&err);
            reporter.error(&outcome.message, outcome.hint.as_deref());
            // Parsed, never as given: the URL refused may be one that
            // carries credentials.
            outcome.repository = cli
                .command
                .repo_url()
                .and_then(|url| RepoUrl::parse(url).ok())
                .map(|url| url.base());
            (
                outcome.code as u8,
                Summary::new(cli.command.name(), outcome),
            )
        }
    };
    if let Err(err) = reporter.summary(&summary) {
        let failed = Outcome::of_error(&err);
        reporter.error(&failed.message, failed.hint.as_deref());
        if code == 0 {
            code = failed.code as u8;
        }
    }
    code
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
