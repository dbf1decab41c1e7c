//! Doctor: which credentials Composer will use for the host, and what is wrong.

use std::path::Path;

use anyhow::Result;

use crate::ci::Platform;
use crate::cli::DoctorArgs;
use crate::composer;
use crate::composer::binary::{ComposerBinary, Precedence};
use crate::composer::home::{ProcessEnv, composer_home};
use crate::composer::repo_url::RepoUrl;
use crate::composer::sources::{self, Holding, Origin, Source};
use crate::journal;
use crate::report::Reporter;
use crate::sanitize::text as clean;

/// `magento-auth doctor`: the report goes to stdout; it always exits 0 once
/// it could look, since finding problems is its job.
pub(crate) fn run(args: &DoctorArgs, reporter: &mut dyn Reporter) -> Result<()> {
    let repo = RepoUrl::parse(&args.repo.repo_url)?;
    let host = repo.auth_host();
    let mut problems = Vec::new();
    let home = match composer_home(&ProcessEnv) {
        Ok(home) => Some(home),
        Err(failure) => {
            problems.push(failure.message);
            None
        }
    };
    let working_dir = &args.repo.working_dir;
    let manifest = composer::composer_json(working_dir);
    let project_auth = composer::project_auth_json(working_dir);
    let composer_auth = std::env::var("COMPOSER_AUTH").ok();
    // The order depends on the Composer that will run.
    let binary = ComposerBinary::find();
    let precedence = binary
        .as_ref()
        .map_or(Precedence::EnvLast, ComposerBinary::precedence);
    let found = sources::collect(
        home.as_deref(),
        &manifest,
        &project_auth,
        composer_auth.as_deref(),
        &host,
        precedence,
    );

    // The report is composed of lines; each piece that comes from a path,
    // a file or a program is made one safe line before it goes in.
    let mut out = describe_sources(&found, &host, &mut problems);
    conflicts(&found, &mut problems);
    project_problems(&project_auth, &manifest, &mut problems);
    out.push_str(&describe_job(
        args,
        home.as_deref(),
        reporter,
        &mut problems,
    ));
    out.push_str(&describe_binary(binary.as_ref(), &mut problems));
    out.push_str(&describe_problems(&problems));
    reporter.data(out.trim_end());
    Ok(())
}

/// Every source in Composer's order, and the one Composer uses.
fn describe_sources(found: &[Source], host: &str, problems: &mut Vec<String>) -> String {
    let mut out = format!(
        "Credentials for {}, in Composer's order (a later source wins):\n",
        clean(host)
    );
    for (n, source) in found.iter().enumerate() {
        out.push_str(&format!(
            "  {}. {}\n     {}\n",
            n + 1,
            clean(&source.label),
            clean(&describe(&source.holding))
        ));
        if let Holding::Unreadable(why) = &source.holding {
            problems.push(format!("Composer cannot use {}: {why}", source.label));
        }
    }
    match sources::winner(found) {
        Some(winner) => out.push_str(&format!("Composer uses: {}\n", clean(&winner.label))),
        None => out.push_str(&format!(
            "Composer uses: nothing; it has no credentials for {}\n",
            clean(host)
        )),
    }
    out
}

/// A project auth.json Composer ignores, or that git could commit.
fn project_problems(project_auth: &Path, manifest: &Path, problems: &mut Vec<String>) {
    if project_auth.is_file() && !manifest.is_file() {
        problems.push(format!(
            "{} has no {} beside it, so Composer ignores it",
            project_auth.display(),
            manifest
                .file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        ));
    }
    if project_auth.is_file() && composer::git_ignores(project_auth) == Some(false) {
        problems.push(format!(
            "{} is inside the workspace and git does not ignore it: it could be committed or \
             shipped in an artifact; add auth.json to .gitignore",
            project_auth.display()
        ));
    }
}

/// This job's setups; setups of jobs that died are undone here too, and
/// those that cannot be checked are problems.
fn describe_job(
    args: &DoctorArgs,
    home: Option<&Path>,
    reporter: &mut dyn Reporter,
    problems: &mut Vec<String>,
) -> String {
    let state_path = journal::state::locate(
        args.platform.state_file.as_deref(),
        Platform::detect(args.platform.ci),
    );
    let mut out = String::new();
    match journal::pending(&state_path) {
        Ok(pending) => {
            out.push_str(&describe_pending(&pending));
            if !pending.stale.is_empty() {
                problems.push(format!(
                    "{} records {} setup(s) whose job is no longer running (a killed job?): run `magento-auth cleanup`",
                    clean(&state_path.display().to_string()),
                    pending.stale.len()
                ));
            }
            if !pending.unchecked.is_empty() {
                problems.push(format!(
                    "{} records {} setup(s) whose job cannot be checked here (another machine, \
                     or a platform where processes cannot be checked): if that job has ended, \
                     run `magento-auth cleanup` with this state",
                    clean(&state_path.display().to_string()),
                    pending.unchecked.len()
                ));
            }
        }
        Err(err) => problems.push(format!("{err:#}")),
    }
    if let Some(home) = home {
        let timeout = std::time::Duration::from_secs(30);
        match journal::sweep_home(&home.join("auth.json"), &state_path, timeout, reporter) {
            Ok(unknown) => problems.extend(unknown),
            Err(err) => problems.push(format!("{err:#}")),
        }
    }
    out
}

fn describe_problems(problems: &[String]) -> String {
    if problems.is_empty() {
        return "Problems: none found\n".into();
    }
    let mut out = "Problems:\n".to_string();
    for problem in problems {
        out.push_str(&format!("  - {}\n", clean(problem)));
    }
    out
}

fn describe(holding: &Holding) -> String {
    match holding {
        Holding::Absent => "not there".into(),
        Holding::Unreadable(why) => format!("unusable: {why}"),
        Holding::NoEntry => "no entry for this host".into(),
        Holding::Entry {
            username, password, ..
        } => format!("username {username}, password {password}"),
    }
}

/// Sources that disagree: the user may think one set of keys is in use while
/// Composer sends another.
fn conflicts(found: &[Source], problems: &mut Vec<String>) {
    let with_entry: Vec<(&Source, &String)> = found
        .iter()
        .filter_map(|s| match &s.holding {
            Holding::Entry { fingerprint, .. } => Some((s, fingerprint)),
            _ => None,
        })
        .collect();
    let Some((winner, winning)) = with_entry.last() else {
        return;
    };
    for (source, fingerprint) in &with_entry[..with_entry.len() - 1] {
        if fingerprint != winning {
            problems.push(format!(
                "conflicting credentials: {} differs from {}, which wins",
                source.label, winner.label
            ));
        }
    }
    let env_and_project = |o: &Origin| matches!(o, Origin::EnvAuth | Origin::ProjectAuth);
    if env_and_project(&winner.origin)
        && with_entry
            .iter()
            .filter(|(s, _)| env_and_project(&s.origin))
            .count()
            > 1
    {
        problems.push(
            "COMPOSER_AUTH and the project's auth.json both hold credentials: Composer 2.7.8 and \
             later take COMPOSER_AUTH, older versions the auth.json (composer/composer#12084)"
                .into(),
        );
    }
}

/// This job's own setups: active ones are not a problem, cleanup at the end
/// of the job undoes them.
fn describe_pending(pending: &journal::Pending) -> String {
    let mut out = String::new();
    for target in &pending.active {
        out.push_str(&format!(
            "This job has set up {}; `magento-auth cleanup` at the end of the job undoes it\n",
            clean(&target.display().to_string())
        ));
    }
    for name in &pending.exported {
        out.push_str(&format!(
            "This job exported {name} to its later steps; `magento-auth cleanup` resets it\n"
        ));
    }
    out
}

/// Composer's path and version, and what that version means for secrets.
fn describe_binary(binary: Option<&ComposerBinary>, problems: &mut Vec<String>) -> String {
    let Some(binary) = binary else {
        return "Composer: not found on PATH (the order above is current Composer's)\n".into();
    };
    if binary.shows_username()
        && let Some((major, minor, patch)) = binary.version
    {
        problems.push(format!(
            "Composer {major}.{minor}.{patch} prints the whole username (the public key) in -vvv output; \
             avoid -vvv in CI or upgrade to 2.10.2 or later"
        ));
    }
    format!(
        "Composer: {} ({})\n",
        clean(&binary.path.display().to_string()),
        clean(&binary.version_line)
    )
}
