//! All user-facing output goes through a [`Reporter`].
//!
//! Stdout carries data only (an `export` line, the doctor's report); everything
//! said to a human goes to stderr. The CI platforms implement the trait to add
//! masks, annotations, sections, outputs and a job summary. Every reporter
//! passes every piece of text through [`crate::sanitize`] before it prints or
//! writes it; only [`Reporter::secret_data`] and a platform's own commands
//! bypass it.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;
use std::path::PathBuf;

use crate::exit::Outcome;
use crate::sanitize;

/// How a command ended, for machine-readable outputs and summaries: its
/// outcome, and what the command wrote where.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Summary {
    pub(crate) command: &'static str,
    pub(crate) mode: Option<&'static str>,
    pub(crate) auth_file: Option<PathBuf>,
    pub(crate) outcome: Outcome,
}

impl Summary {
    pub(crate) fn new(command: &'static str, outcome: Outcome) -> Self {
        Summary {
            command,
            outcome,
            ..Summary::default()
        }
    }

    /// The summary with every piece of text made safe to print.
    pub(crate) fn sanitized(&self) -> Summary {
        let text = |t: &String| sanitize::text(t);
        let outcome = &self.outcome;
        Summary {
            command: self.command,
            mode: self.mode,
            auth_file: self
                .auth_file
                .as_ref()
                .map(|p| PathBuf::from(sanitize::text(&p.display().to_string()))),
            outcome: Outcome {
                repository: outcome.repository.as_ref().map(text),
                message: sanitize::text(&outcome.message),
                hint: outcome.hint.as_ref().map(text),
                packages: Box::default(),
                shadowed_by: Box::new(
                    outcome
                        .shadowed_by
                        .iter()
                        .map(|s| crate::exit::Shadowed {
                            path: s.path.as_ref().map(text),
                            ..s.clone()
                        })
                        .collect(),
                ),
                ..outcome.clone()
            },
        }
    }
}

pub(crate) trait Reporter {
    /// Register a secret before it could ever be printed: it is redacted, in
    /// every form, from all output (whatever the reporter), and registered
    /// with the platform's log masking.
    fn mask(&mut self, secret: &str) {
        sanitize::register(secret);
        self.platform_mask(secret);
    }
    /// The platform's own log masking, if it has one. The console has none.
    fn platform_mask(&mut self, _secret: &str) {}
    /// Progress and results for humans.
    fn info(&mut self, text: &str);
    /// Something the user should see although nothing failed (a step
    /// skipped): an annotation where the platform has them.
    fn notice(&mut self, text: &str) {
        self.info(text);
    }
    /// Something the user should fix, that does not stop the job.
    fn warning(&mut self, text: &str);
    /// A failure with what to do about it.
    fn error(&mut self, message: &str, hint: Option<&str>);
    /// Data for stdout: a report, a JSON object.
    fn data(&mut self, text: &str);
    /// A JSON document on stdout, its strings sanitised one by one so that it
    /// stays valid.
    fn json(&mut self, value: &serde_json::Value) {
        self.data(&sanitize::json(value).to_string());
    }
    /// A file the leak sweep found a key in: one `leak: <path> (<form>)` line
    /// on stdout, where platforms with annotations add one.
    fn leak(&mut self, path: &str, form: &str) {
        self.data(&format!("leak: {} ({form})", sanitize::text(path)));
    }
    /// The one line that must carry a secret to stdout, unredacted: the
    /// `export COMPOSER_AUTH=...` of `setup --mode env`, made for `eval`.
    fn secret_data(&mut self, text: &str) {
        line_to_stdout(text);
    }
    /// Fold the detail that follows (info lines) under `title`, where the
    /// platform can; warnings and errors stay outside.
    fn group(&mut self, _title: &str) {}
    /// Stop folding.
    fn end_group(&mut self) {}
    /// The outcome, once, at the end: outputs and summaries where the platform has them.
    fn summary(&mut self, _summary: &Summary) -> anyhow::Result<()> {
        Ok(())
    }
}

/// A foldable section of detail that opens on its first line, so that not even
/// its title comes before a platform's masks, and closes before a warning or
/// an error, so that those stay in view.
#[derive(Debug, Default)]
pub(crate) struct Fold {
    title: Option<String>,
    open: bool,
}

impl Fold {
    /// Fold the detail that follows under `title`; `true` when a section was
    /// open and must be closed first.
    pub(crate) fn want(&mut self, title: &str) -> bool {
        self.title = Some(title.replace(['\r', '\n'], " "));
        std::mem::take(&mut self.open)
    }

    /// The title to open a section with before a line of detail, if one is
    /// wanted and none is open.
    pub(crate) fn opening(&mut self) -> Option<String> {
        if self.open {
            return None;
        }
        let title = self.title.clone()?;
        self.open = true;
        Some(title)
    }

    /// Whether a section is open and must be closed now (it opens again on
    /// the next line of detail).
    pub(crate) fn closing(&mut self) -> bool {
        std::mem::take(&mut self.open)
    }

    /// No more folding; `true` when a section must be closed.
    pub(crate) fn done(&mut self) -> bool {
        self.title = None;
        std::mem::take(&mut self.open)
    }
}

/// Plain text on the terminal or in any CI log.
#[derive(Debug, Default)]
pub(crate) struct Console;

impl Reporter for Console {
    fn info(&mut self, text: &str) {
        line_to_stderr(&sanitize::text(text));
    }

    fn warning(&mut self, text: &str) {
        line_to_stderr(&format!("warning: {}", sanitize::text(text)));
    }

    fn error(&mut self, message: &str, hint: Option<&str>) {
        line_to_stderr(&error_text(message, hint));
    }

    fn data(&mut self, text: &str) {
        line_to_stdout(&sanitize::lines(text));
    }
}

/// `error: ...` and, when there is one, `hint: ...` on the next line; each
/// part sanitised on its own, so that only this line break is in it.
pub(crate) fn error_text(message: &str, hint: Option<&str>) -> String {
    let message = sanitize::text(message);
    match hint {
        Some(hint) => format!("error: {message}\nhint: {}", sanitize::text(hint)),
        None => format!("error: {message}"),
    }
}

/// Write `text` as it is: for text already sanitised, or a platform's own
/// commands and markers.
pub(crate) fn line_to_stderr(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// Write `text` as it is (see [`line_to_stderr`]).
pub(crate) fn line_to_stdout(text: &str) {
    let mut stdout = std::io::stdout().lock();
    // A closed stdout (`| head`) is not worth a panic.
    let _ = writeln!(stdout, "{text}");
    let _ = stdout.flush();
}

/// Collects everything said, for unit tests.
#[cfg(test)]
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    pub(crate) lines: Vec<String>,
}

#[cfg(test)]
impl Reporter for Recorder {
    fn platform_mask(&mut self, secret: &str) {
        self.lines.push(format!("mask: {}", secret.len()));
    }
    fn info(&mut self, text: &str) {
        self.lines.push(format!("info: {text}"));
    }
    fn warning(&mut self, text: &str) {
        self.lines.push(format!("warning: {text}"));
    }
    fn error(&mut self, message: &str, hint: Option<&str>) {
        self.lines.push(format!("error: {message} / {hint:?}"));
    }
    fn data(&mut self, text: &str) {
        self.lines.push(format!("data: {text}"));
    }
    fn secret_data(&mut self, text: &str) {
        self.lines.push(format!("secret data: {}", text.len()));
    }
}
