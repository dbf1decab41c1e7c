//! magento-auth: safe repo.magento.com credentials for CI jobs.
//!
//! Only `report` prints; everything else returns values or errors.
#![warn(clippy::print_stdout, clippy::print_stderr)]

mod check;
mod ci;
mod cli;
mod cmd;
mod composer;
mod digest;
mod dir;
mod exit;
mod fault;
mod harden;
mod journal;
mod keys;
mod report;
mod sanitize;
mod scan;
mod secret;
mod signals;

pub use cli::Cli;
pub use harden::{disable_backtraces, forget_empty_settings, install_panic_hook};

/// What the fuzz targets (fuzz/) drive: the parsers of untrusted text.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::check::noproxy::NoProxy;
    pub use crate::composer::auth::AuthDoc;
    pub use crate::keys::Keys;
    pub use crate::secret::Secret;
}

use crate::ci::Platform;
use crate::composer::repo_url::RepoUrl;
use crate::exit::Outcome;
use crate::report::Summary;

/// Run a parsed command line on the platform it asks for; the exit code.
pub fn run(cli: &Cli) -> u8 {
    harden::harden();
    let platform = Platform::detect(cli.command.platform().ci);
    cli::settings::speak_to(platform.audience());
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
