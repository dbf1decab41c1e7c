//! GitHub Actions: workflow commands, environment files, outputs, summary.
#![allow(clippy::print_stdout)]

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::exit::Failure;
use crate::report::{Fold, Reporter, Summary, line_to_stdout};
use crate::sanitize;

/// The state name under which setup saves its state file's path; the runner
/// hands it to the post step as `STATE_state_file`.
pub(crate) const STATE_NAME: &str = "state_file";

/// Workflow-command data: `%`, CR and LF escaped (`%` first).
pub(crate) fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Workflow-command property values: data escaping plus `:` and `,`.
pub(crate) fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// A delimiter no one can guess, in the toolkit's form
/// `ghadelimiter_<uuid>`: a random (version 4) UUID from the system's
/// random source.
fn fresh_delimiter() -> Result<String, Failure> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).map_err(|err| {
        Failure::new(
            crate::exit::Code::Unexpected,
            format!("no random numbers for a GitHub environment file: {err}"),
        )
    })?;
    let [hi, lo] =
        [0, 8].map(|i| u64::from_be_bytes(bytes[i..i + 8].try_into().expect("eight bytes")));
    Ok(format!(
        "ghadelimiter_{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xffff,
        hi & 0x0fff,
        0x8000 | ((lo >> 48) & 0x3fff),
        lo & 0xffff_ffff_ffff
    ))
}

/// One `NAME<<DELIMITER` entry of an environment file, or a refusal when the
/// name or value could break out of it.
pub(crate) fn env_file_entry(name: &str, value: &str) -> Result<String, Failure> {
    env_file_entry_with(name, value, &fresh_delimiter()?)
}

fn env_file_entry_with(name: &str, value: &str, delimiter: &str) -> Result<String, Failure> {
    // Names are ours (COMPOSER_AUTH, status, ...): letters, digits, `_`, `-`.
    let bad_name = name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    // A CR before the newline would end the value early on Windows runners.
    if bad_name || name.contains(delimiter) || value.contains(delimiter) || value.contains('\r') {
        return Err(Failure::bad_input(format!(
            "refusing to write {} to a GitHub environment file: it could inject other variables",
            if bad_name {
                "a variable name"
            } else {
                "a value"
            }
        )));
    }
    Ok(format!("{name}<<{delimiter}\n{value}\n{delimiter}\n"))
}

/// Append `name=value` to the environment file `variable` names
/// (`GITHUB_ENV`, `GITHUB_OUTPUT`, `GITHUB_STATE`).
pub(crate) fn append(variable: &str, name: &str, value: &str) -> Result<()> {
    let Some(path) = std::env::var_os(variable)
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
    else {
        return Err(Failure::bad_input(format!(
            "{variable} is not set, so the value cannot reach later steps"
        ))
        .with_hint(format!(
            "run inside GitHub Actions, or set {} to none",
            crate::cli::settings::name("--ci")
        ))
        .into());
    };
    let entry = env_file_entry(name, value)?;
    let mut file = OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)
        .map_err(|err| {
            Failure::bad_input(format!(
                "cannot write {variable} ({}): {}",
                path.display(),
                crate::exit::plain_io(&err)
            ))
        })?;
    file.write_all(entry.as_bytes())
        .with_context(|| format!("writing {variable}"))?;
    Ok(())
}

/// Everything on stdout, where the runner reads workflow commands, so that
/// masks are registered before any line that follows them. Text is
/// sanitised before a command is composed around it, so that the commands
/// are the product's own and nothing in the text can start another.
#[derive(Debug, Default)]
pub(crate) struct GithubReporter {
    masked: Vec<String>,
    fold: Fold,
}

impl GithubReporter {
    fn close_fold(&mut self) {
        if self.fold.closing() {
            line_to_stdout("::endgroup::");
        }
    }

    fn command(&self, name: &str, properties: &[(&str, &str)], data: &str) {
        let props: Vec<String> = properties
            .iter()
            .map(|(k, v)| format!("{k}={}", escape_property(v)))
            .collect();
        let props = if props.is_empty() {
            String::new()
        } else {
            format!(" {}", props.join(","))
        };
        line_to_stdout(&format!("::{name}{props}::{}", escape_data(data)));
    }
}

impl Reporter for GithubReporter {
    fn platform_mask(&mut self, secret: &str) {
        if secret.is_empty() || self.masked.iter().any(|m| m == secret) {
            return;
        }
        self.masked.push(secret.to_string());
        self.command("add-mask", &[], secret);
    }

    fn info(&mut self, text: &str) {
        if let Some(title) = self.fold.opening() {
            self.command("group", &[], &title);
        }
        line_to_stdout(&sanitize::text(text));
    }

    fn notice(&mut self, text: &str) {
        self.close_fold();
        self.command(
            "notice",
            &[("title", "magento-auth")],
            &sanitize::text(text),
        );
    }

    fn warning(&mut self, text: &str) {
        self.close_fold();
        self.command(
            "warning",
            &[("title", "magento-auth")],
            &sanitize::text(text),
        );
    }

    fn error(&mut self, message: &str, hint: Option<&str>) {
        self.close_fold();
        let message = sanitize::text(message);
        let text = match hint {
            Some(hint) => format!("{message}\nhint: {}", sanitize::text(hint)),
            None => message,
        };
        self.command("error", &[("title", "magento-auth")], &text);
    }

    fn data(&mut self, text: &str) {
        line_to_stdout(&sanitize::lines(text));
    }

    fn leak(&mut self, path: &str, form: &str) {
        let path = sanitize::text(path);
        line_to_stdout(&format!("leak: {path} ({form})"));
        self.close_fold();
        self.command(
            "warning",
            &[
                ("title", "magento-auth: a key left in a file"),
                ("file", &path),
            ],
            &format!(
                "{path} holds a Marketplace key ({form}): remove it before the workspace is shared"
            ),
        );
    }

    fn group(&mut self, title: &str) {
        if self.fold.want(&sanitize::text(title)) {
            line_to_stdout("::endgroup::");
        }
    }

    fn end_group(&mut self) {
        if self.fold.done() {
            line_to_stdout("::endgroup::");
        }
    }

    fn summary(&mut self, summary: &Summary) -> Result<()> {
        if summary.command == "cleanup" {
            return Ok(());
        }
        let summary = &summary.sanitized();
        let auth_file = summary
            .auth_file
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        // Outside a real step (`--ci github` on a laptop) there are no outputs.
        if std::env::var_os("GITHUB_OUTPUT").is_some_and(|p| !p.is_empty()) {
            append("GITHUB_OUTPUT", "status", summary.outcome.status.word())?;
            append("GITHUB_OUTPUT", "auth-file", &auth_file)?;
            append("GITHUB_OUTPUT", "mode", summary.mode.unwrap_or(""))?;
        }
        if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
            let mut file = OpenOptions::new().append(true).create(true).open(&path)?;
            file.write_all(summary_markdown(summary).as_bytes())?;
        }
        Ok(())
    }
}

/// The job summary: a small table, then what to do when something failed.
pub(crate) fn summary_markdown(summary: &Summary) -> String {
    let cell = |text: &str| text.replace('|', "\\|").replace(['\r', '\n'], " ");
    let mut out = format!("### magento-auth {}\n\n| | |\n|---|---|\n", summary.command);
    let outcome = &summary.outcome;
    out.push_str(&format!("| Status | `{}` |\n", outcome.status.word()));
    if let Some(repository) = &outcome.repository {
        out.push_str(&format!("| Repository | {} |\n", cell(repository)));
    }
    if let Some(mode) = summary.mode {
        out.push_str(&format!("| Mode | `{mode}` |\n"));
    }
    if let Some(file) = &summary.auth_file {
        out.push_str(&format!(
            "| Credentials in | `{}` |\n",
            cell(&file.display().to_string())
        ));
    }
    if !outcome.message.is_empty() {
        out.push_str(&format!("\n**{}**\n", cell(&outcome.message)));
    }
    if let Some(hint) = &outcome.hint {
        out.push_str(&format!("\n{}\n", cell(hint)));
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod properties;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::{Outcome, Status};

    #[test]
    fn escaping_follows_the_runner() {
        assert_eq!(escape_data("50%\r\nx"), "50%25%0D%0Ax");
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
    }

    #[test]
    fn env_entries_use_a_fresh_delimiter_and_refuse_it_in_values() {
        let a = env_file_entry("COMPOSER_AUTH", "{\"x\":1}").unwrap();
        let b = env_file_entry("COMPOSER_AUTH", "{\"x\":1}").unwrap();
        assert_ne!(a, b, "a fresh delimiter each time");
        let delimiter = a.lines().next().unwrap().split_once("<<").unwrap().1;
        assert!(
            delimiter.starts_with("ghadelimiter_") && delimiter.len() == 13 + 36,
            "{delimiter}"
        );
        assert_eq!(
            a,
            format!("COMPOSER_AUTH<<{delimiter}\n{{\"x\":1}}\n{delimiter}\n")
        );
        assert!(env_file_entry_with("X", "a\nEOF\nINJECTED=1", "EOF").is_err());
        assert!(env_file_entry_with("X\nY", "v", "EOF").is_err());
        assert!(env_file_entry_with("X=Y", "v", "EOF").is_err());
        // A newline in a value is fine in the heredoc form.
        assert!(env_file_entry_with("X", "a\nb", "EOF").is_ok());
    }

    #[test]
    fn the_summary_escapes_table_cells() {
        let text = summary_markdown(&Summary::new(
            "setup",
            Outcome::of(Status::InvalidKeys, "a | b\nc")
                .with_repository("https://repo.magento.com"),
        ));
        assert!(text.contains("| Status | `invalid-keys` |"));
        assert!(text.contains("**a \\| b c**"));
    }
}
