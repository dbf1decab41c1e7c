//! GitLab CI: collapsible sections around detail; everything else plain.

use crate::report::{Console, Fold, Reporter, line_to_stderr};
use crate::sanitize;

#[derive(Debug, Default)]
pub(crate) struct GitlabReporter {
    console: Console,
    fold: Fold,
    /// Sections opened so far, for unique names.
    sections: usize,
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl GitlabReporter {
    fn name(&self) -> String {
        format!("magento_auth_{}", self.sections)
    }

    fn close_fold(&mut self) {
        if self.fold.closing() {
            // The markers are the product's own escapes, written as they are.
            line_to_stderr(&format!(
                "\x1b[0Ksection_end:{}:{}\r\x1b[0K",
                now(),
                self.name()
            ));
        }
    }
}

impl Reporter for GitlabReporter {
    fn info(&mut self, text: &str) {
        if let Some(title) = self.fold.opening() {
            self.sections += 1;
            line_to_stderr(&format!(
                "\x1b[0Ksection_start:{}:{}[collapsed=true]\r\x1b[0K{}",
                now(),
                self.name(),
                sanitize::text(&title)
            ));
        }
        self.console.info(text);
    }
    fn notice(&mut self, text: &str) {
        // Outside the collapsed section, where a skipped step stays in view.
        self.close_fold();
        self.console.info(text);
    }
    fn warning(&mut self, text: &str) {
        self.close_fold();
        self.console.warning(text);
    }
    fn error(&mut self, message: &str, hint: Option<&str>) {
        self.close_fold();
        self.console.error(message, hint);
    }
    fn data(&mut self, text: &str) {
        self.console.data(text);
    }
    fn group(&mut self, title: &str) {
        self.close_fold();
        self.fold.want(title);
    }
    fn end_group(&mut self) {
        self.close_fold();
        self.fold.done();
    }
}
