//! The commands: each a thin caller of the domain modules (keys, composer,
//! journal, check, ci), reading top to bottom.

mod check;
mod cleanup;
mod doctor;
mod exec;
mod prepare;
mod scan;
mod setup;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::exit::{Outcome, Status};
use crate::report::{Reporter, Summary};

/// Run the command `cli` names: the exit code and the outcome to report.
pub(crate) fn dispatch(cli: &Cli, reporter: &mut dyn Reporter) -> Result<(u8, Summary)> {
    cli.command.validate()?;
    let summary = |outcome| Summary::new(cli.command.name(), outcome);
    let plain = |status| summary(Outcome::of(status, ""));
    match &cli.command {
        Command::Setup(args) => setup::run(args, reporter).map(|summary| (0, summary)),
        Command::Check(args) => check::run(args, reporter).map(|outcome| (0, summary(outcome))),
        Command::Cleanup(args) => {
            cleanup::run(args, reporter).map(|()| (0, plain(Status::Cleaned)))
        }
        Command::Exec(args) => {
            exec::run(args, reporter).map(|(code, outcome)| (code, summary(outcome)))
        }
        Command::Doctor(args) => doctor::run(args, reporter).map(|()| (0, plain(Status::Ok))),
        Command::Scan(args) => scan::run(args, reporter).map(|outcome| (0, summary(outcome))),
    }
}
