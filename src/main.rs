use std::process::ExitCode;

use clap::Parser;
use magento_auth::cli::Cli;
use magento_auth::report::{Console, Reporter};

fn main() -> ExitCode {
    magento_auth::harden::disable_backtraces();
    // A panic prints where, never its payload (which could hold anything) and
    // never a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        Console.error(
            &format!("internal error{place}"),
            Some("this is a bug in magento-auth; please report it"),
        );
    }));
    let cli = Cli::parse();
    ExitCode::from(magento_auth::run(&cli))
}
