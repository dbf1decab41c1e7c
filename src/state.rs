//! What setup did, recorded so cleanup can undo it: where, and how to undo.
//!
//! The file is written owner-only in an owner-only directory. It may hold the
//! bytes of the user's previous auth.json (so they can come back byte for byte),
//! never the keys setup wrote: those are only fingerprinted.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

use crate::ci::{self, Platform};
use crate::exit::Failure;
use crate::files::{self, Found};

const VERSION: u64 = 1;

/// One file setup changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Tells the entries of concurrent setups in one job apart.
    pub id: String,
    pub target: PathBuf,
    /// The `http-basic` key setup wrote.
    pub host: String,
    /// The file as it was before setup; `None` when there was none.
    pub previous: Option<Found>,
    /// SHA-256 of the bytes setup wrote.
    pub written_sha256: String,
    /// Fingerprint of the `http-basic` entry setup wrote.
    pub entry_sha256: String,
    /// Directories setup created for the file, outermost first.
    pub created_dirs: Vec<PathBuf>,
    /// A hard link to the previous file, beside it: the durable copy that
    /// cleanup renames back (owner, mode and times kept). `None` where the
    /// file system has no hard links; `previous` serves then.
    pub backup: Option<PathBuf>,
}

/// A variable setup exported to later steps (GitHub `env` mode).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvEntry {
    pub id: String,
    pub name: String,
    /// The value the job had before; `None` when it was unset.
    pub previous: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct State {
    pub entries: Vec<Entry>,
    pub env: Vec<EnvEntry>,
}

impl State {
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.env.is_empty()
    }
}

/// Where this job's state lives: `--state-file`, else a per-job file in a
/// private directory (`$RUNNER_TEMP/magento-auth` on GitHub, else
/// `${TMPDIR:-/tmp}/magento-auth-<uid>`).
pub fn locate(explicit: Option<&Path>, platform: Platform) -> PathBuf {
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
    // SAFETY: getuid cannot fail and touches no memory.
    unsafe { libc::getuid() }
}

#[cfg(not(unix))]
fn user_id() -> String {
    std::env::var("USERNAME").unwrap_or_else(|_| "user".into())
}

/// Make sure the state directory exists, is a real directory, is ours and is
/// private. A directory in a shared /tmp that fails this could be an attack.
pub fn prepare_dir(state_path: &Path) -> Result<PathBuf> {
    let dir = files::parent_of(state_path);
    let missing = files::missing_dirs(&dir);
    files::create_private_dirs(&missing)?;
    let meta =
        fs::symlink_metadata(&dir).with_context(|| format!("inspecting {}", dir.display()))?;
    if !meta.is_dir() {
        return Err(unsafe_dir(&dir, "is not a directory").into());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if meta.uid() != user_id() {
            return Err(unsafe_dir(&dir, "belongs to another user").into());
        }
        if meta.mode() & 0o022 != 0 {
            return Err(unsafe_dir(&dir, "is writable by other users").into());
        }
    }
    Ok(dir)
}

fn unsafe_dir(dir: &Path, why: &str) -> Failure {
    Failure::bad_input(format!("the state directory {} {why}", dir.display()))
        .with_hint("remove it, or pass --state-file with a path in a private directory")
}

/// Read the state; an absent file is an empty state.
pub fn load(path: &Path) -> Result<State> {
    // Room for a few previous files of the largest size setup accepts, in base64.
    let Some(found) = files::read_capped(path, 8 * files::MAX_FILE_BYTES)? else {
        return Ok(State::default());
    };
    parse(&found.bytes).map_err(|why| {
        Failure::bad_input(format!(
            "the state file {} is corrupt: {why}",
            path.display()
        ))
        .with_hint(
            "check auth.json by hand (the state would have told cleanup what to restore), \
                 then delete the state file",
        )
        .into()
    })
}

/// Write the state, or remove the file when nothing is left to undo.
pub fn save(path: &Path, state: &State) -> Result<()> {
    if state.is_empty() {
        return files::remove_file(path);
    }
    let mut entries = state
        .entries
        .iter()
        .map(entry_to_json)
        .collect::<Result<Vec<_>>>()?;
    entries.extend(
        state
            .env
            .iter()
            .map(|e| json!({"id": e.id, "kind": "env", "name": e.name, "previous": e.previous})),
    );
    let entries = Value::Array(entries);
    let checksum = entries_checksum(&entries);
    let value = json!({ "version": VERSION, "entries": entries, "entries_sha256": checksum });
    let mut bytes = serde_json::to_vec_pretty(&value)?;
    bytes.push(b'\n');
    // Only a state that holds the one copy of a user's previous file must
    // survive a power loss; where a hard link beside the file keeps it, or
    // there was none, the state can be lost without losing anything of the
    // user's.
    let durability = if state
        .entries
        .iter()
        .any(|e| e.previous.is_some() && e.backup.is_none())
    {
        files::Durability::Full
    } else {
        files::Durability::None
    };
    files::write_atomic(path, &bytes, 0o600, durability)
}

fn path_text(path: &Path) -> Result<&str> {
    path.to_str()
        .ok_or_else(|| Failure::bad_input(format!("{} is not valid UTF-8", path.display())).into())
}

fn entry_to_json(entry: &Entry) -> Result<Value> {
    let dirs = entry
        .created_dirs
        .iter()
        .map(|d| path_text(d))
        .collect::<Result<Vec<_>>>()?;
    Ok(json!({
        "id": entry.id,
        "kind": "file",
        "target": path_text(&entry.target)?,
        "host": entry.host,
        "existed": entry.previous.is_some(),
        "previous_base64": entry.previous.as_ref().map(|p| BASE64.encode(&p.bytes)),
        "previous_mode": entry.previous.as_ref().map(|p| p.mode),
        "written_sha256": entry.written_sha256,
        "entry_sha256": entry.entry_sha256,
        "backup": entry.backup.as_deref().map(path_text).transpose()?,
        "created_dirs": dirs,
    }))
}

/// SHA-256 of the entries as compact JSON, which reads back to the same bytes.
fn entries_checksum(entries: &Value) -> String {
    crate::composer::auth::sha256_hex(entries.to_string().as_bytes())
}

fn parse(bytes: &[u8]) -> Result<State, String> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON ({e})"))?;
    if value.get("version").and_then(Value::as_u64) != Some(VERSION) {
        return Err("unknown version".into());
    }
    let entries = value.get("entries").ok_or("no entries")?;
    // A state that still parses can be damaged too (a changed byte of the
    // previous file would be restored as it is): the checksum tells.
    if value.get("entries_sha256").and_then(Value::as_str) != Some(&entries_checksum(entries)) {
        return Err("its checksum does not match its entries".into());
    }
    let mut state = State::default();
    for entry in entries.as_array().ok_or("no entries")? {
        match entry.get("kind").and_then(Value::as_str) {
            Some("file") => state.entries.push(parse_entry(entry)?),
            Some("env") => state.env.push(parse_env_entry(entry)?),
            _ => return Err("an entry of unknown kind".into()),
        }
    }
    Ok(state)
}

fn parse_env_entry(value: &Value) -> Result<EnvEntry, String> {
    let text = |name: &str| value.get(name).and_then(Value::as_str).map(str::to_string);
    let previous = match value.get("previous") {
        Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        _ => return Err("an env entry has no previous".into()),
    };
    Ok(EnvEntry {
        id: text("id").ok_or("an env entry has no id")?,
        name: text("name").ok_or("an env entry has no name")?,
        previous,
    })
}

fn parse_entry(value: &Value) -> Result<Entry, String> {
    let text = |name: &str| {
        value
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| format!("an entry has no {name}"))
    };
    let existed = value
        .get("existed")
        .and_then(Value::as_bool)
        .ok_or("an entry has no existed")?;
    let previous = if existed {
        let bytes = BASE64
            .decode(text("previous_base64")?)
            .map_err(|_| "previous_base64 is not base64".to_string())?;
        let mode = value
            .get("previous_mode")
            .and_then(Value::as_u64)
            .filter(|m| *m <= 0o7777)
            .ok_or("an entry has no previous_mode")? as u32;
        Some(Found { bytes, mode })
    } else {
        None
    };
    let created_dirs = value
        .get("created_dirs")
        .and_then(Value::as_array)
        .ok_or("an entry has no created_dirs")?
        .iter()
        .map(|d| {
            d.as_str()
                .map(PathBuf::from)
                .ok_or("created_dirs holds a non-string")
        })
        .collect::<Result<Vec<_>, _>>()?;
    let hex = |name: &str| {
        let h = text(name)?;
        (h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
            .then_some(h)
            .ok_or_else(|| format!("{name} is not a SHA-256"))
    };
    Ok(Entry {
        id: text("id")?,
        target: PathBuf::from(text("target")?),
        host: text("host")?,
        previous,
        written_sha256: hex("written_sha256")?,
        entry_sha256: hex("entry_sha256")?,
        created_dirs,
        backup: match value.get("backup") {
            None | Some(Value::Null) => None,
            Some(Value::String(path)) => Some(PathBuf::from(path)),
            Some(_) => return Err("backup is not a path".into()),
        },
    })
}

/// A new entry id, unique among the entries of one job.
pub fn new_entry_id() -> String {
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
        State {
            entries: vec![Entry {
                id: "1-2".into(),
                target: "/h/.composer/auth.json".into(),
                host: "repo.magento.com".into(),
                previous: Some(Found {
                    bytes: b"{\"x\": 1}\n\xff".to_vec(),
                    mode: 0o644,
                }),
                written_sha256: "a".repeat(64),
                entry_sha256: "b".repeat(64),
                created_dirs: vec!["/h/.composer".into()],
                backup: Some("/h/.composer/.auth.json.magento-auth-1-2.orig".into()),
            }],
            env: vec![EnvEntry {
                id: "3-4".into(),
                name: "COMPOSER_AUTH".into(),
                previous: Some("{}".into()),
            }],
        }
    }

    #[test]
    fn state_round_trips_through_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("job.json");
        save(&path, &sample()).unwrap();
        assert_eq!(load(&path).unwrap(), sample());
        save(&path, &State::default()).unwrap();
        assert!(!path.exists());
        assert_eq!(load(&path).unwrap(), State::default());
    }

    #[test]
    fn corrupt_state_is_bad_input() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("job.json");
        save(&path, &sample()).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        for broken in [
            &text[..text.len() / 2],
            "[]",
            &text.replace("\"file\"", "\"disk\""),
            &text.replace("\"existed\": true", "\"existed\": false"),
        ] {
            fs::write(&path, broken).unwrap();
            let err = load(&path).unwrap_err();
            let failure = err.downcast_ref::<Failure>().unwrap();
            assert!(failure.message.contains("is corrupt"), "{failure}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn an_open_state_directory_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("shared");
        fs::create_dir(&shared).unwrap();
        fs::set_permissions(&shared, fs::Permissions::from_mode(0o777)).unwrap();
        assert!(prepare_dir(&shared.join("job.json")).is_err());
        fs::set_permissions(&shared, fs::Permissions::from_mode(0o700)).unwrap();
        assert!(prepare_dir(&shared.join("job.json")).is_ok());
    }
}
