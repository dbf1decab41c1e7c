use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    magento_auth::disable_backtraces();
    magento_auth::forget_empty_settings();
    magento_auth::install_panic_hook();
    let cli = magento_auth::Cli::parse();
    ExitCode::from(magento_auth::run(&cli))
}
