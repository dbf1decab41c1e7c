//! GitLab CI: collapsible sections around detail; everything else plain.

use crate::report::{Console, Reporter};

#[derive(Debug, Default)]
pub struct GitlabReporter {
    console: Console,
    open: Vec<String>,
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Reporter for GitlabReporter {
    fn info(&mut self, text: &str) {
        self.console.info(text);
    }
    fn warning(&mut self, text: &str) {
        self.console.warning(text);
    }
    fn error(&mut self, message: &str, hint: Option<&str>) {
        self.console.error(message, hint);
    }
    fn data(&mut self, text: &str) {
        self.console.data(text);
    }
    fn group(&mut self, title: &str) {
        let name = format!("magento_auth_{}", self.open.len());
        let title = title.replace(['\r', '\n', '\x1b'], " ");
        self.console.info(&format!(
            "\x1b[0Ksection_start:{}:{name}[collapsed=true]\r\x1b[0K{title}",
            now()
        ));
        self.open.push(name);
    }
    fn end_group(&mut self) {
        if let Some(name) = self.open.pop() {
            self.console
                .info(&format!("\x1b[0Ksection_end:{}:{name}\r\x1b[0K", now()));
        }
    }
}
