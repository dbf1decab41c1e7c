//! `magento-auth setup`: make the keys available to Composer for this job only.

use std::io::IsTerminal;

use anyhow::Result;

use super::prepare::{CheckPolicy, Prepared, prepare, write_for_mode};
use crate::ci::{self, Platform};
use crate::cli::{Mode, SetupArgs};
use crate::composer::auth::composer_auth_value;
use crate::composer::repo_url::RepoUrl;
use crate::composer::shadow::{self, KeysIn};
use crate::exit::{Failure, Outcome, Status};
use crate::journal::{self, liveness::Lifetime};
use crate::report::{Reporter, Summary};

/// `magento-auth setup`.
pub(crate) fn run(args: &SetupArgs, reporter: &mut dyn Reporter) -> Result<Summary> {
    let mut summary = Summary {
        mode: Some(args.write.mode.name()),
        ..Summary::new("setup", Outcome::of(Status::Skipped, ""))
    };
    let policy = CheckPolicy::from_flags(args.write.no_check, args.write.warn_only);
    let Some(prepared) = prepare(
        &args.keys,
        &args.repo,
        &args.check,
        &args.platform,
        policy,
        reporter,
    )?
    else {
        summary.outcome.repository = RepoUrl::parse(&args.repo.repo_url)
            .ok()
            .map(|url| url.base());
        return Ok(summary);
    };
    summary.outcome = prepared.outcome.clone();
    let host = prepared.repo.auth_host();
    match (args.write.mode, prepared.platform) {
        (Mode::Env, Platform::Github) => export_to_later_steps(&host, &prepared, reporter)?,
        (Mode::Env, _) => {
            if std::io::stdout().is_terminal() {
                return Err(Failure::bad_input(format!(
                    "with {} set to env, setup prints `export COMPOSER_AUTH=...` for eval, and stdout is a terminal",
                    crate::cli::settings::name("--mode")
                ))
                .with_hint(
                    "run it so that a failure stops the script: out=$(magento-auth setup --mode env) || exit $?; eval \"$out\"",
                )
                .into());
            }
            let value = composer_auth_value(&host, &prepared.keys)?;
            reporter.mask(&value);
            reporter.secret_data(&format!("export COMPOSER_AUTH={}", shell_quote(&value)));
            reporter.info(&format!(
                "COMPOSER_AUTH holds credentials for {host}; unset it when done"
            ));
        }
        (Mode::Home | Mode::Project, _) => {
            let written = write_for_mode(
                args.write.mode,
                &args.repo.working_dir,
                &host,
                &prepared,
                Lifetime::Job {
                    on_github: prepared.platform == Platform::Github,
                },
                reporter,
            )?;
            remember_state_path(&prepared)?;
            reporter.info(&format!(
                "wrote credentials for {host} to {}; `magento-auth cleanup` restores it",
                written.target.display()
            ));
            summary.auth_file = Some(written.target);
        }
    }
    let written = summary
        .auth_file
        .as_deref()
        .map_or(KeysIn::Env, KeysIn::File);
    summary.outcome.shadowed_by = Box::new(shadow::warn(
        &args.repo.working_dir,
        &host,
        &prepared.keys,
        written,
        reporter,
    ));
    Ok(summary)
}

/// GitHub `env` mode: `COMPOSER_AUTH` for the later steps of the job, with
/// the value it had recorded so that cleanup can put it back.
fn export_to_later_steps(
    host: &str,
    prepared: &Prepared,
    reporter: &mut dyn Reporter,
) -> Result<()> {
    let value = composer_auth_value(host, &prepared.keys)?;
    reporter.mask(&value);
    journal::record_export(
        &prepared.state_path,
        "COMPOSER_AUTH",
        std::env::var("COMPOSER_AUTH").ok(),
        prepared.timeout,
        || ci::github::append("GITHUB_ENV", "COMPOSER_AUTH", &value),
    )?;
    remember_state_path(prepared)?;
    reporter.info(&format!(
        "COMPOSER_AUTH holds credentials for {host} in the later steps of this job; cleanup resets it"
    ));
    Ok(())
}

/// On GitHub, tell the action's post step where the state is.
fn remember_state_path(prepared: &Prepared) -> Result<()> {
    if prepared.platform != Platform::Github
        || std::env::var_os("GITHUB_STATE").is_none_or(|v| v.is_empty())
    {
        return Ok(());
    }
    let path = prepared
        .state_path
        .to_str()
        .ok_or_else(|| Failure::bad_input("the state path is not valid UTF-8"))?;
    ci::github::append("GITHUB_STATE", ci::github::STATE_NAME, path)
}

/// Quote for a POSIX shell: single quotes, with `'` written as `'\''`.
fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting_survives_quotes() {
        assert_eq!(shell_quote(r#"{"a":"it's"}"#), r#"'{"a":"it'\''s"}'"#);
    }
}
