//! The options of the leak sweep: `scan`, and `cleanup --scan`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::groups::{KeyArgs, PlatformArgs};
use super::limits::saturating_u64;

#[derive(Debug, Args)]
pub(crate) struct ScanArgs {
    /// Print one JSON object with the outcome on stdout
    #[arg(long)]
    pub(crate) json: bool,

    /// The directory searched when no PATH is given
    #[arg(
        long,
        value_name = "DIR",
        default_value = ".",
        env = "MAGENTO_AUTH_WORKING_DIR",
        hide_env_values = true
    )]
    pub(crate) working_dir: PathBuf,

    #[command(flatten)]
    pub(crate) sweep: SweepArgs,
    #[command(flatten)]
    pub(crate) keys: KeyArgs,
    #[command(flatten)]
    pub(crate) platform: PlatformArgs,

    /// Files or directories to search (default: the working directory)
    #[arg(value_name = "PATH")]
    pub(crate) paths: Vec<PathBuf>,
}

#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Leak sweep")]
pub(crate) struct SweepArgs {
    /// Seconds the sweep may take; one cut short says how far it got (1 to 3600)
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 60,
        value_parser = saturating_u64
    )]
    pub(crate) scan_timeout: u64,

    /// Read files over 64 MiB whole, not only their first and last 8 MiB
    #[arg(long)]
    pub(crate) whole_files: bool,

    /// What a key found in a file does
    #[arg(
        long,
        value_enum,
        value_name = "WHAT",
        default_value = "fail",
        env = "MAGENTO_AUTH_ON_LEAK",
        hide_env_values = true
    )]
    pub(crate) on_leak: OnLeak,
}

/// What a leak does to the exit status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum OnLeak {
    /// exit 7 (leaked)
    Fail,
    /// a warning for each file, exit 0 (the status is still leaked)
    Warn,
}
