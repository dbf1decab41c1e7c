//! The runner's reading of an environment file, for the tests of what
//! magento-auth writes to one: shared by the unit tests of src/ci/github.rs
//! and the integration tests.
#![allow(dead_code)]

/// Parse an environment file as the runner's FileCommandManager does:
/// `NAME=VALUE` lines, or `NAME<<DELIM`, value lines, and a line `DELIM`.
pub(crate) fn parse_env_file(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        if line.is_empty() {
            continue;
        }
        let eq = line.find('=');
        let heredoc = line.find("<<");
        match (eq, heredoc) {
            (Some(e), h) if h.is_none_or(|h| e < h) => {
                out.push((line[..e].to_string(), line[e + 1..].to_string()));
            }
            (_, Some(h)) => {
                let (name, delimiter) = (&line[..h], &line[h + 2..]);
                if name.is_empty() || delimiter.is_empty() {
                    return Err(format!("invalid heredoc {line:?}"));
                }
                let mut value = Vec::new();
                loop {
                    let Some(next) = lines.get(i) else {
                        return Err(format!("no closing {delimiter}"));
                    };
                    i += 1;
                    if *next == delimiter {
                        break;
                    }
                    value.push(*next);
                }
                out.push((name.to_string(), value.join("\n")));
            }
            _ => return Err(format!("invalid line {line:?}")),
        }
    }
    Ok(out)
}
