//! One job's record of what it set up, so that its cleanup (maybe another
//! shell, another step) finds it: which auth files it holds a place in, and
//! which variables it exported. It never holds a key or the user's previous
//! file: those are in the ledger of each file.

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::limits::MAX_RECORD_BYTES;
use crate::ci::{self, Platform};
use crate::dir::{Dir, Durability};
use crate::exit::Failure;

pub(crate) const VERSION: u32 = 2;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct State {
    pub(crate) version: u32,
    pub(crate) files: Vec<FileEntry>,
    pub(crate) env: Vec<EnvEntry>,
    /// SHA-256 of the entries: a state that still parses can be damaged too
    /// (a changed target would send cleanup to a file setup never touched).
    #[serde(default)]
    pub(crate) sha256: String,
}

/// This job's place in one auth file's ledger.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileEntry {
    pub(crate) id: String,
    pub(crate) target: PathBuf,
    pub(crate) host: String,
    /// Where the file's ledger is.
    pub(crate) ledger: PathBuf,
}

/// A variable setup exported to later steps (GitHub `env` mode).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EnvEntry {
    pub(crate) id: String,
    pub(crate) name: String,
    /// The value the job had before; `None` when it was unset.
    pub(crate) previous: Option<String>,
}

impl State {
    fn checksum(&self) -> String {
        let entries = serde_json::to_vec(&(&self.files, &self.env)).expect("entries serialize");
        crate::digest::sha256_hex(&entries)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.files.is_empty() && self.env.is_empty()
    }

    /// Read the state named `name` in `dir`; an absent file is an empty state.
    pub(crate) fn load(dir: &Dir, name: &str) -> Result<Self> {
        let Some(found) = dir.read(name, MAX_RECORD_BYTES)? else {
            return Ok(State {
                version: VERSION,
                ..State::default()
            });
        };
        let corrupt = |why: String| -> anyhow::Error {
            Failure::bad_input(format!(
                "the state file {} is corrupt: {why}",
                dir.join(name).display()
            ))
            .with_hint(
                "check auth.json by hand (the state would have told cleanup what to undo), \
                 then delete the state file",
            )
            .into()
        };
        let state: State =
            serde_json::from_slice(&found.bytes).map_err(|e| corrupt(e.to_string()))?;
        if state.version != VERSION {
            return Err(corrupt(format!("unknown version {}", state.version)));
        }
        if state.sha256 != state.checksum() {
            return Err(corrupt("its checksum does not match its entries".into()));
        }
        Ok(state)
    }

    /// Write the state, or remove it when nothing is left to undo. It holds
    /// nothing of the user's, so a power loss may take it.
    pub(crate) fn save(&self, dir: &Dir, name: &str) -> Result<()> {
        if self.is_empty() {
            return dir.remove(name, Durability::None);
        }
        let sealed = State {
            version: VERSION,
            sha256: self.checksum(),
            ..self.clone()
        };
        let mut bytes = serde_json::to_vec_pretty(&sealed)?;
        bytes.push(b'\n');
        if bytes.len() as u64 > MAX_RECORD_BYTES {
            return Err(Failure::bad_input(format!(
                "the state would be larger than {} KiB",
                MAX_RECORD_BYTES / 1024
            ))
            .into());
        }
        dir.write(name, &bytes, 0o600, Durability::None)
    }
}

/// Where this job's state lives: `--state-file`, else a per-job file in a
/// private directory (`$RUNNER_TEMP/magento-auth` on GitHub, else
/// `${TMPDIR:-/tmp}/magento-auth-<uid>`).
pub(crate) fn locate(explicit: Option<&Path>, platform: Platform) -> PathBuf {
    if let Some(path) = explicit {
        return path.to_path_buf();
    }
    // The post step of the action learns where main put it.
    if platform == Platform::Github
        && let Some(saved) =
            std::env::var_os(format!("STATE_{}", ci::github::STATE_NAME)).filter(|s| !s.is_empty())
    {
        return PathBuf::from(saved);
    }
    let dir = match (platform, std::env::var_os("RUNNER_TEMP")) {
        (Platform::Github, Some(temp)) if !temp.is_empty() => {
            PathBuf::from(temp).join("magento-auth")
        }
        _ => {
            let tmp = std::env::var_os("TMPDIR")
                .filter(|t| !t.is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(std::env::temp_dir);
            tmp.join(format!("magento-auth-{}", user_id()))
        }
    };
    dir.join(format!("{}.json", ci::job_id()))
}

#[cfg(unix)]
fn user_id() -> u32 {
    rustix::process::getuid().as_raw()
}

#[cfg(not(unix))]
fn user_id() -> String {
    std::env::var("USERNAME").unwrap_or_else(|_| "user".into())
}

/// A new id, unique among the setups of one machine.
pub(crate) fn new_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{}-{nanos}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> State {
        let state = State {
            version: VERSION,
            files: vec![FileEntry {
                id: "1-2".into(),
                target: "/h/.composer/auth.json".into(),
                host: "repo.magento.com".into(),
                ledger: "/h/.composer/.auth.json.magento-auth".into(),
            }],
            env: vec![EnvEntry {
                id: "3-4".into(),
                name: "COMPOSER_AUTH".into(),
                previous: Some("{}".into()),
            }],
            sha256: String::new(),
        };
        State {
            sha256: state.checksum(),
            ..state
        }
    }

    fn temp_dir() -> (tempfile::TempDir, Dir) {
        let root = tempfile::tempdir().unwrap();
        let dir = Dir::open(root.path(), "the state directory", false)
            .unwrap()
            .unwrap()
            .dir;
        (root, dir)
    }

    #[test]
    fn state_round_trips_and_goes_when_empty() {
        let (_root, dir) = temp_dir();
        sample().save(&dir, "job.json").unwrap();
        assert_eq!(State::load(&dir, "job.json").unwrap(), sample());
        State::default().save(&dir, "job.json").unwrap();
        assert!(!dir.has("job.json"));
        assert!(State::load(&dir, "job.json").unwrap().is_empty());
    }

    #[test]
    fn corrupt_state_is_bad_input() {
        let (root, dir) = temp_dir();
        sample().save(&dir, "job.json").unwrap();
        let text = std::fs::read_to_string(root.path().join("job.json")).unwrap();
        for broken in [
            &text[..text.len() / 2],
            "[]",
            &text.replace("\"version\": 2", "\"version\": 1"),
            &text.replace("\"ledger\"", "\"backup\""),
            &text.replace("/h/.composer/auth.json", "/h/.composer/other.json"),
        ] {
            std::fs::write(root.path().join("job.json"), broken).unwrap();
            let err = State::load(&dir, "job.json").unwrap_err();
            let failure = err.downcast_ref::<Failure>().unwrap();
            assert!(failure.message.contains("is corrupt"), "{failure}");
        }
    }
}
