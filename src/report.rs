//! All user-facing output goes through a [`Reporter`].
//!
//! Stdout carries data only (an `export` line, the doctor's report); everything
//! said to a human goes to stderr. The CI platforms implement the trait to add
//! masks, annotations, sections, outputs and a job summary.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;
use std::path::PathBuf;

/// How a command ended, for machine-readable outputs and summaries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub command: &'static str,
    /// A status word: `ok`, `unchecked`, `skipped`, `cleaned`, or a failure's.
    pub status: String,
    pub repository: Option<String>,
    pub mode: Option<&'static str>,
    pub auth_file: Option<PathBuf>,
    pub message: Option<String>,
    pub hint: Option<String>,
}

pub trait Reporter {
    /// Register a secret with the platform's log masking before it could ever
    /// be printed. The console has none.
    fn mask(&mut self, _secret: &str) {}
    /// Progress and results for humans.
    fn info(&mut self, text: &str);
    /// Something the user should fix, that does not stop the job.
    fn warning(&mut self, text: &str);
    /// A failure with what to do about it.
    fn error(&mut self, message: &str, hint: Option<&str>);
    /// Data for stdout: an `export` line, a report.
    fn data(&mut self, text: &str);
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
pub struct Fold {
    title: Option<String>,
    open: bool,
}

impl Fold {
    /// Fold the detail that follows under `title`; `true` when a section was
    /// open and must be closed first.
    pub fn want(&mut self, title: &str) -> bool {
        self.title = Some(title.replace(['\r', '\n'], " "));
        std::mem::take(&mut self.open)
    }

    /// The title to open a section with before a line of detail, if one is
    /// wanted and none is open.
    pub fn opening(&mut self) -> Option<String> {
        if self.open {
            return None;
        }
        let title = self.title.clone()?;
        self.open = true;
        Some(title)
    }

    /// Whether a section is open and must be closed now (it opens again on
    /// the next line of detail).
    pub fn closing(&mut self) -> bool {
        std::mem::take(&mut self.open)
    }

    /// No more folding; `true` when a section must be closed.
    pub fn done(&mut self) -> bool {
        self.title = None;
        std::mem::take(&mut self.open)
    }
}

/// Plain text on the terminal or in any CI log.
#[derive(Debug, Default)]
pub struct Console;

impl Reporter for Console {
    fn info(&mut self, text: &str) {
        line_to_stderr(text);
    }

    fn warning(&mut self, text: &str) {
        line_to_stderr(&format!("warning: {text}"));
    }

    fn error(&mut self, message: &str, hint: Option<&str>) {
        line_to_stderr(&error_text(message, hint));
    }

    fn data(&mut self, text: &str) {
        line_to_stdout(text);
    }
}

/// `error: ...` and, when there is one, `hint: ...` on the next line.
pub fn error_text(message: &str, hint: Option<&str>) -> String {
    match hint {
        Some(hint) => format!("error: {message}\nhint: {hint}"),
        None => format!("error: {message}"),
    }
}

pub fn line_to_stderr(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

pub fn line_to_stdout(text: &str) {
    let mut stdout = std::io::stdout().lock();
    // A closed stdout (`| head`) is not worth a panic.
    let _ = writeln!(stdout, "{text}");
    let _ = stdout.flush();
}

/// Collects everything said, for unit tests.
#[cfg(test)]
#[derive(Debug, Default)]
pub struct Recorder {
    pub lines: Vec<String>,
}

#[cfg(test)]
impl Reporter for Recorder {
    fn mask(&mut self, secret: &str) {
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
}
