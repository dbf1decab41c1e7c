//! magento-auth: safe repo.magento.com credentials for CI jobs.
//!
//! Only `report` prints; everything else returns values or errors.
#![warn(clippy::print_stdout, clippy::print_stderr)]

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

use crate::ci::Platform;
use crate::cli::Cli;
use crate::composer::repo_url::RepoUrl;
use crate::exit::Failure;
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
            let (code, hint) = exit::classify(&err);
            let message = format!("{err:#}");
            reporter.error(&message, hint);
            let summary = Summary {
                command: cli.command.name(),
                status: err
                    .downcast_ref::<Failure>()
                    .and_then(|f| f.status)
                    .unwrap_or("error")
                    .to_string(),
                // Parsed, never as given: the URL refused may be one that
                // carries credentials.
                repository: cli
                    .command
                    .repo_url()
                    .and_then(|url| RepoUrl::parse(url).ok())
                    .map(|url| url.base()),
                message: Some(message),
                hint: hint.map(str::to_string),
                ..Summary::default()
            };
            (code as u8, summary)
        }
    };
    if let Err(err) = reporter.summary(&summary) {
        let (failed, hint) = exit::classify(&err);
        reporter.error(&format!("{err:#}"), hint);
        if code == 0 {
            code = failed as u8;
        }
    }
    code
}
