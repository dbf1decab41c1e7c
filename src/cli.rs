//! The command line: every option's `///` comment is its help text.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::exit::Failure;

mod groups;
mod limits;
mod scan;
pub(crate) mod settings;

pub(crate) use groups::{
    CheckArgs, CiName, KeyArgs, Mode, OnMissing, PlatformArgs, RepoArgs, WriteArgs,
};
use limits::saturating_u64;
pub(crate) use limits::{retries, timeout};
pub(crate) use scan::{OnLeak, ScanArgs, SweepArgs};

/// Safe repo.magento.com credentials for CI jobs: check, set up, clean up.
///
/// Keys are read from the environment (MAGENTO_PUBLIC_KEY, MAGENTO_PRIVATE_KEY),
/// never from the command line. Options can also be given as MAGENTO_AUTH_*
/// variables (shown with each option), which is how the GitHub Action passes them.
#[derive(Debug, Parser)]
#[command(
    name = "magento-auth",
    bin_name = "magento-auth",
    version,
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Check the keys (unless --no-check), then write credentials for Composer
    Setup(SetupArgs),
    /// Check reachability, credentials and entitlements; writes nothing
    Check(CheckCommandArgs),
    /// Undo what setup did, restoring every file as it was (idempotent)
    Cleanup(CleanupArgs),
    /// Set up, run a command, always clean up, exit with the command's status
    ///
    /// exec takes every option of setup, and its MAGENTO_AUTH_* variable, with the same
    /// meaning; only the default of --mode differs (env: the credentials reach the command
    /// alone and nothing is written). A failed check stops exec before the command runs,
    /// unless --warn-only (or --no-check) is given.
    Exec(ExecArgs),
    /// Show which credentials Composer will use for the host, and conflicts
    Doctor(DoctorArgs),
    /// Prove that no file under the roots holds either key, in any form
    Scan(ScanArgs),
}

impl Command {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Command::Setup(_) => "setup",
            Command::Check(_) => "check",
            Command::Cleanup(_) => "cleanup",
            Command::Exec(_) => "exec",
            Command::Doctor(_) => "doctor",
            Command::Scan(_) => "scan",
        }
    }

    pub(crate) fn platform(&self) -> &PlatformArgs {
        match self {
            Command::Setup(a) => &a.platform,
            Command::Check(a) => &a.platform,
            Command::Cleanup(a) => &a.platform,
            Command::Exec(a) => &a.platform,
            Command::Doctor(a) => &a.platform,
            Command::Scan(a) => &a.platform,
        }
    }

    /// Refuse values out of range (exit 3) before anything runs.
    pub(crate) fn validate(&self) -> Result<(), Failure> {
        match self {
            Command::Setup(a) => a.check.validate(),
            Command::Check(a) => a.check.validate(),
            Command::Exec(a) => a.check.validate(),
            Command::Cleanup(a) => timeout(a.timeout)
                .and_then(|_| timeout(a.sweep.scan_timeout))
                .map(drop),
            Command::Doctor(_) => Ok(()),
            Command::Scan(a) => timeout(a.sweep.scan_timeout).map(drop),
        }
    }

    /// The repository URL as given, for summaries.
    pub(crate) fn repo_url(&self) -> Option<&str> {
        match self {
            Command::Setup(a) => Some(&a.repo.repo_url),
            Command::Check(a) => Some(&a.repo.repo_url),
            Command::Exec(a) => Some(&a.repo.repo_url),
            Command::Doctor(a) => Some(&a.repo.repo_url),
            Command::Cleanup(_) | Command::Scan(_) => None,
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct SetupArgs {
    #[command(flatten)]
    pub(crate) write: WriteArgs,
    #[command(flatten)]
    pub(crate) keys: KeyArgs,
    #[command(flatten)]
    pub(crate) repo: RepoArgs,
    #[command(flatten)]
    pub(crate) check: CheckArgs,
    #[command(flatten)]
    pub(crate) platform: PlatformArgs,
}

#[derive(Debug, Args)]
pub(crate) struct CheckCommandArgs {
    /// Print one JSON object with the outcome on stdout
    #[arg(long)]
    pub(crate) json: bool,

    /// Also check the download access token pair MAGENTO_MAGEID + MAGENTO_DOWNLOAD_TOKEN
    #[arg(long)]
    pub(crate) download_token: bool,

    /// Where --download-token checks the pair (for tests and mirrors)
    #[arg(long, value_name = "URL", hide = true)]
    pub(crate) download_token_url: Option<String>,

    #[command(flatten)]
    pub(crate) keys: KeyArgs,
    #[command(flatten)]
    pub(crate) repo: RepoArgs,
    #[command(flatten)]
    pub(crate) check: CheckArgs,
    #[command(flatten)]
    pub(crate) platform: PlatformArgs,
}

#[derive(Debug, Args)]
pub(crate) struct CleanupArgs {
    /// Seconds to wait for a lock held by another process (1 to 3600)
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = saturating_u64)]
    pub(crate) timeout: u64,

    /// After restoring, search DIR (default: the working directory) for any
    /// copy of the keys left in a file, as `scan` does (exit 7 when one is)
    #[arg(long, value_name = "DIR", num_args = 0..=1, default_missing_value = ".")]
    pub(crate) scan: Option<PathBuf>,

    #[command(flatten)]
    pub(crate) sweep: SweepArgs,
    #[command(flatten)]
    pub(crate) keys: KeyArgs,
    #[command(flatten)]
    pub(crate) platform: PlatformArgs,
}

/// exec takes setup's options (it is setup, the command, then cleanup), with
/// one difference: by default the credentials go to the command alone.
#[derive(Debug, Args)]
#[command(mut_arg("mode", |arg| arg
    .default_value("env")
    .help("Where credentials go while the command runs")))]
pub(crate) struct ExecArgs {
    #[command(flatten)]
    pub(crate) write: WriteArgs,
    #[command(flatten)]
    pub(crate) keys: KeyArgs,
    #[command(flatten)]
    pub(crate) repo: RepoArgs,
    #[command(flatten)]
    pub(crate) check: CheckArgs,
    #[command(flatten)]
    pub(crate) platform: PlatformArgs,

    /// The command to run, after `--`
    #[arg(last = true, required = true, value_name = "CMD")]
    pub(crate) command: Vec<OsString>,
}

#[derive(Debug, Args)]
pub(crate) struct DoctorArgs {
    #[command(flatten)]
    pub(crate) repo: RepoArgs,
    #[command(flatten)]
    pub(crate) platform: PlatformArgs,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn exec_takes_the_command_after_the_separator() {
        let cli = Cli::try_parse_from([
            "magento-auth",
            "exec",
            "--no-check",
            "--",
            "composer",
            "install",
            "--no-dev",
        ])
        .unwrap();
        let Command::Exec(args) = cli.command else {
            panic!("not exec")
        };
        assert_eq!(args.write.mode, Mode::Env);
        assert_eq!(args.command, ["composer", "install", "--no-dev"]);
    }

    #[test]
    fn no_option_takes_a_key_value() {
        let help = Cli::command().render_long_help().to_string();
        assert!(!help.contains("--public-key "));
        assert!(!help.contains("--private-key "));
    }
}
