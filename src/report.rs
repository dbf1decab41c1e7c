//! All user-facing output goes through a [`Reporter`].
//!
//! Stdout carries data only (an `export` line, the doctor's report); everything
//! said to a human goes to stderr. The CI platforms implement the trait to add
//! masks, annotations and sections.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;

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
        let mut out = format!("error: {message}");
        if let Some(hint) = hint {
            out.push_str("\nhint: ");
            out.push_str(hint);
        }
        line_to_stderr(&out);
    }

    fn data(&mut self, text: &str) {
        let mut stdout = std::io::stdout().lock();
        // A closed stdout (`| head`) is not worth a panic.
        let _ = writeln!(stdout, "{text}");
        let _ = stdout.flush();
    }
}

fn line_to_stderr(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// Collects everything said, for unit tests.
#[cfg(test)]
#[derive(Debug, Default)]
pub struct Recorder {
    pub lines: Vec<String>,
}

#[cfg(test)]
impl Reporter for Recorder {
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
