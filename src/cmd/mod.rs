//! The commands: each a thin caller of the domain modules (keys, composer,
//! journal, check, ci), reading top to bottom.

mod check;
mod cleanup;
mod doctor;
mod exec;
mod prepare;
mod setup;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::report::{Reporter, Summary};

/// Run the command `cli` names: the exit code and the outcome to report.
pub(crate) fn dispatch(cli: &Cli, reporter: &mut dyn Reporter) -> Result<(u8, Summary)> {
    cli.command.validate()?;
    let name = cli.command.name();
    let plain = |status: &str| Summary {
        command: name,
        status: status.to_string(),
        ..Summary::default()
    };
    match &cli.command {
        Command::Setup(args) => setup::run(args, reporter).map(|summary| (0, summary)),
        Command::Check(args) => check::run(args, reporter).map(|report| {
            let summary = Summary {
                repository: Some(report.repository),
                message: Some(report.message),
                hint: report.hint,
                ..plain(report.status.word())
            };
            (0, summary)
        }),
        Command::Cleanup(args) => cleanup::run(args, reporter).map(|()| (0, plain("cleaned"))),
        Command::Exec(args) => {
            exec::run(args, reporter).map(|(code, status)| (code, plain(&status)))
        }
        Command::Doctor(args) => doctor::run(args, reporter).map(|()| (0, plain("ok"))),
    }
}
