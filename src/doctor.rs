//! Doctor: which credentials Composer will use for the host, and what is wrong.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::Result;

use crate::ci::Platform;
use crate::cli::DoctorArgs;
use crate::composer;
use crate::composer::home::{ProcessEnv, composer_home};
use crate::composer::repo_url::RepoUrl;
use crate::composer::sources::{self, Holding, Origin, Source};
use crate::report::Reporter;
use crate::state;

/// `magento-auth doctor`: the report goes to stdout; it always exits 0 once
/// it could look, since finding problems is its job.
pub fn run(args: &DoctorArgs, reporter: &mut dyn Reporter) -> Result<()> {
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
    let found = sources::collect(
        home.as_deref(),
        &manifest,
        &project_auth,
        composer_auth.as_deref(),
        &host,
    );

    let mut out = format!("Credentials for {host}, in Composer's order (a later source wins):\n");
    for (n, source) in found.iter().enumerate() {
        out.push_str(&format!(
            "  {}. {}\n     {}\n",
            n + 1,
            source.label,
            describe(&source.holding)
        ));
        if let Holding::Unreadable(why) = &source.holding {
            problems.push(format!("Composer cannot use {}: {why}", source.label));
        }
    }
    match sources::winner(&found) {
        Some(winner) => out.push_str(&format!("Composer uses: {}\n", winner.label)),
        None => out.push_str(&format!(
            "Composer uses: nothing; it has no credentials for {host}\n"
        )),
    }
    conflicts(&found, &mut problems);
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
    if project_auth.is_file() && composer::git_ignores(&project_auth) == Some(false) {
        problems.push(format!(
            "{} is inside the workspace and git does not ignore it: it could be committed or \
             shipped in an artifact; add auth.json to .gitignore",
            project_auth.display()
        ));
    }
    let state_path = state::locate(
        args.platform.state_file.as_deref(),
        Platform::detect(args.platform.ci),
    );
    match state::load(&state_path) {
        Ok(state) if !state.entries.is_empty() => problems.push(format!(
            "{} records {} setup(s) not cleaned up (a killed job?): run `magento-auth cleanup`",
            state_path.display(),
            state.entries.len()
        )),
        Ok(_) => {}
        Err(err) => problems.push(format!("{err:#}")),
    }
    out.push_str(&composer_binary(&mut problems));
    if problems.is_empty() {
        out.push_str("Problems: none found\n");
    } else {
        out.push_str("Problems:\n");
        for problem in &problems {
            out.push_str(&format!("  - {problem}\n"));
        }
    }
    reporter.data(out.trim_end());
    Ok(())
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
    if winner.origin == Origin::EnvAuth && with_entry.len() > 1 {
        problems.push(
            "COMPOSER_AUTH overrides the auth.json files in current Composer; some older \
             versions let a project auth.json win (composer/composer#12084)"
                .into(),
        );
    }
}

/// Composer's path and version, and what that version means for secrets.
fn composer_binary(problems: &mut Vec<String>) -> String {
    let Ok(path) = which::which("composer") else {
        return "Composer: not found on PATH\n".into();
    };
    let output = Command::new(&path)
        .args(["--version", "--no-ansi", "--no-interaction"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .env("COMPOSER_NO_INTERACTION", "1")
        .output();
    let version_line = output
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Composer"))
                .map(str::to_string)
        })
        .unwrap_or_else(|| "version unknown".into());
    if let Some(version) = parse_version(&version_line)
        && version < (2, 10, 2)
    {
        problems.push(format!(
            "Composer {}.{}.{} prints the whole username (the public key) in -vvv output; \
             avoid -vvv in CI or upgrade to 2.10.2 or later",
            version.0, version.1, version.2
        ));
    }
    format!("Composer: {} ({version_line})\n", display(&path))
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

/// `Composer version 2.5.5 2023-03-21 11:50:05` → (2, 5, 5).
fn parse_version(line: &str) -> Option<(u32, u32, u32)> {
    let word = line
        .split_whitespace()
        .find(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()))?;
    let mut parts = word.split(['.', '-', '+']).map(|p| p.parse::<u32>().ok());
    Some((
        parts.next()??,
        parts.next()??,
        parts.next().flatten().unwrap_or(0),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse() {
        assert_eq!(
            parse_version("Composer version 2.5.5 2023-03-21 11:50:05"),
            Some((2, 5, 5))
        );
        assert_eq!(parse_version("Composer version 2.10.2"), Some((2, 10, 2)));
        assert_eq!(parse_version("Composer version 2.9.0-RC1"), Some((2, 9, 0)));
        assert_eq!(parse_version("version unknown"), None);
    }
}
