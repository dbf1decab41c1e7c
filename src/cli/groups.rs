//! The groups of options several commands share, and their values.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::limits::{retries, saturating_u32, saturating_u64, timeout};
use crate::exit::Failure;

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

/// How setup checks and writes: `setup`'s options, and `exec`'s, since exec
/// is setup, the command, and cleanup. One group, so that neither command
/// can lose one of them or its variable.
#[derive(Debug, Args, Clone)]
pub(crate) struct WriteArgs {
    /// Where credentials go
    #[arg(
        long,
        value_enum,
        default_value = "home",
        env = "MAGENTO_AUTH_MODE",
        hide_env_values = true
    )]
    pub(crate) mode: Mode,

    /// Do not check the keys against the repository first
    #[arg(long, env = "MAGENTO_AUTH_NO_CHECK", hide_env_values = true)]
    pub(crate) no_check: bool,

    /// Report a failed check as a warning and go on with the credentials anyway
    #[arg(
        long,
        env = "MAGENTO_AUTH_WARN_ONLY",
        hide_env_values = true,
        conflicts_with = "no_check"
    )]
    pub(crate) warn_only: bool,
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
