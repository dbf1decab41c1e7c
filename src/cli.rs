//! The command line: every option's `///` comment is its help text.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::exit::Failure;

mod limits;

pub(crate) use limits::{retries, timeout};
use limits::{saturating_u32, saturating_u64};

/// Safe repo.magento.com credentials for CI jobs: set up, check, clean up.
///
/// Keys are read from the environment (MAGENTO_PUBLIC_KEY, MAGENTO_PRIVATE_KEY),
/// never from the command line. Options can also be given as MAGENTO_AUTH_*
/// variables (shown with each option), which is how the GitHub Action passes them.
#[derive(Debug, Parser)]
#[command(name = "magento-auth", version, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Write credentials for Composer, then check them (unless --no-check)
    Setup(SetupArgs),
    /// Check reachability, credentials and entitlements; writes nothing
    Check(CheckCommandArgs),
    /// Undo what setup did, restoring every file as it was (idempotent)
    Cleanup(CleanupArgs),
    /// Set up, run a command, always clean up, exit with the command's status
    Exec(ExecArgs),
    /// Show which credentials Composer will use for the host, and conflicts
    Doctor(DoctorArgs),
}

impl Command {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Command::Setup(_) => "setup",
            Command::Check(_) => "check",
            Command::Cleanup(_) => "cleanup",
            Command::Exec(_) => "exec",
            Command::Doctor(_) => "doctor",
        }
    }

    pub(crate) fn platform(&self) -> &PlatformArgs {
        match self {
            Command::Setup(a) => &a.platform,
            Command::Check(a) => &a.platform,
            Command::Cleanup(a) => &a.platform,
            Command::Exec(a) => &a.platform,
            Command::Doctor(a) => &a.platform,
        }
    }

    /// Refuse values out of range (exit 3) before anything runs.
    pub(crate) fn validate(&self) -> Result<(), Failure> {
        match self {
            Command::Setup(a) => a.check.validate(),
            Command::Check(a) => a.check.validate(),
            Command::Exec(a) => a.check.validate(),
            Command::Cleanup(a) => timeout(a.timeout).map(drop),
            Command::Doctor(_) => Ok(()),
        }
    }

    /// The repository URL as given, for summaries.
    pub(crate) fn repo_url(&self) -> Option<&str> {
        match self {
            Command::Setup(a) => Some(&a.repo.repo_url),
            Command::Check(a) => Some(&a.repo.repo_url),
            Command::Exec(a) => Some(&a.repo.repo_url),
            Command::Doctor(a) => Some(&a.repo.repo_url),
            Command::Cleanup(_) => None,
        }
    }
}

/// Where credentials go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Mode {
    /// auth.json in Composer's home directory
    Home,
    /// auth.json next to composer.json in --working-dir
    Project,
    /// a COMPOSER_AUTH value, nothing on disk
    Env,
}

impl Mode {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Mode::Home => "home",
            Mode::Project => "project",
            Mode::Env => "env",
        }
    }
}

/// What to do when no keys are set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum OnMissing {
    /// exit 3 (missing-keys)
    Fail,
    /// exit 0 with a notice (for example a pull request from a fork)
    Skip,
}

/// The CI platform, normally detected from the environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum CiName {
    Github,
    Gitlab,
    Bitbucket,
    None,
}

#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Keys (never passed as values on the command line)")]
pub(crate) struct KeyArgs {
    /// Read the public key (the username) from this environment variable
    #[arg(long, value_name = "NAME", default_value = "MAGENTO_PUBLIC_KEY")]
    pub(crate) public_key_env: String,

    /// Read the private key (the password) from this environment variable
    #[arg(long, value_name = "NAME", default_value = "MAGENTO_PRIVATE_KEY")]
    pub(crate) private_key_env: String,

    /// Read the private key from standard input (one line)
    #[arg(long)]
    pub(crate) private_key_stdin: bool,

    /// When no keys are set: fail (exit 3) or skip (exit 0 with a notice)
    #[arg(
        long,
        value_enum,
        value_name = "WHAT",
        default_value = "fail",
        env = "MAGENTO_AUTH_ON_MISSING",
        hide_env_values = true
    )]
    pub(crate) on_missing: OnMissing,
}

#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Repository")]
pub(crate) struct RepoArgs {
    /// The Composer repository the keys are for
    #[arg(
        long,
        value_name = "URL",
        default_value = "https://repo.magento.com",
        env = "MAGENTO_AUTH_REPO_URL",
        hide_env_values = true
    )]
    pub(crate) repo_url: String,

    /// The project directory (holds composer.json)
    #[arg(
        long,
        value_name = "DIR",
        default_value = ".",
        env = "MAGENTO_AUTH_WORKING_DIR",
        hide_env_values = true
    )]
    pub(crate) working_dir: PathBuf,
}

#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Check")]
pub(crate) struct CheckArgs {
    /// A package the keys must be able to see (repeatable); `auto` reads
    /// composer.json and composer.lock, `none` checks no package
    #[arg(
        long = "require-package",
        value_name = "NAME",
        value_delimiter = ',',
        env = "MAGENTO_AUTH_REQUIRE_PACKAGES",
        hide_env_values = true
    )]
    pub(crate) require_packages: Vec<String>,

    /// Seconds the whole check may take, retries and waits included (1 to 3600)
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = saturating_u64)]
    pub(crate) timeout: u64,

    /// Retries after connection errors, 429 and 5xx (0 to 10)
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = saturating_u32)]
    pub(crate) retries: u32,

    /// An extra CA certificate file (PEM) to trust
    #[arg(long, value_name = "FILE")]
    pub(crate) ca_file: Option<PathBuf>,
}

impl CheckArgs {
    /// Both limits in range, or the failure that says which is not.
    pub(crate) fn validate(&self) -> Result<(), Failure> {
        timeout(self.timeout)?;
        retries(self.retries)?;
        Ok(())
    }
}

#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Platform")]
pub(crate) struct PlatformArgs {
    /// The CI platform (detected from the environment when not given)
    #[arg(
        long,
        value_enum,
        value_name = "NAME",
        env = "MAGENTO_AUTH_CI",
        hide_env_values = true
    )]
    pub(crate) ci: Option<CiName>,

    /// Where setup records what it did, for cleanup
    #[arg(
        long,
        value_name = "FILE",
        env = "MAGENTO_AUTH_STATE_FILE",
        hide_env_values = true
    )]
    pub(crate) state_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct SetupArgs {
    /// Where credentials go
    #[arg(
        long,
        value_enum,
        default_value = "home",
        env = "MAGENTO_AUTH_MODE",
        hide_env_values = true
    )]
    pub(crate) mode: Mode,

    /// Write without checking the keys against the repository
    #[arg(long, env = "MAGENTO_AUTH_NO_CHECK", hide_env_values = true)]
    pub(crate) no_check: bool,

    /// Report a failed check as a warning and write the credentials anyway
    #[arg(
        long,
        env = "MAGENTO_AUTH_WARN_ONLY",
        hide_env_values = true,
        conflicts_with = "no_check"
    )]
    pub(crate) warn_only: bool,

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

    #[command(flatten)]
    pub(crate) platform: PlatformArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ExecArgs {
    /// Where credentials go while the command runs
    #[arg(long, value_enum, default_value = "env")]
    pub(crate) mode: Mode,

    /// Run without checking the keys against the repository first
    #[arg(long)]
    pub(crate) no_check: bool,

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
        assert_eq!(args.mode, Mode::Env);
        assert_eq!(args.command, ["composer", "install", "--no-dev"]);
    }

    #[test]
    fn no_option_takes_a_key_value() {
        let help = Cli::command().render_long_help().to_string();
        assert!(!help.contains("--public-key "));
        assert!(!help.contains("--private-key "));
    }
}
