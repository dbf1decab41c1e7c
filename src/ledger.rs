//! The setups active on one auth file, shared by every job that writes it.
//!
//! A job's state file says how to undo its own setup, but two jobs on a
//! self-hosted runner can set up the same host in the same Composer home at
//! once. Each then sees the other's keys as "what was there before". The
//! ledger, beside the file and changed only under the directory's lock, keeps
//! what was there before the first of them, so that the last one out restores
//! it and no job's keys are left behind. It exists only while setups are
//! active; it holds fingerprints and, like auth.json itself, the original entry.

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde_json::{Value, json};

use crate::files;

/// One active setup of one host in the file.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub id: String,
    pub host: String,
    /// Fingerprint of the entry the file holds for this setup; a setup that
    /// ends while another of the same host is active hands its entry over.
    pub fingerprint: String,
    /// The host's entry before the first active setup of the host.
    pub original: Option<Value>,
    /// Whether `http-basic` existed before the first active setup of the host.
    pub section_existed: bool,
    /// The file's mode before the first active setup of any host; `None`
    /// when there was no file.
    pub file_mode: Option<u32>,
    /// The directories the first active setup of any host created for the
    /// file; the last one out removes them.
    pub created_dirs: Vec<PathBuf>,
    /// The setups active when this one began: while they all are, the bytes
    /// this setup found are still the right ones to put back.
    pub concurrent: Vec<String>,
}

#[derive(Debug)]
pub struct Ledger {
    path: PathBuf,
    pub records: Vec<Record>,
}

impl Ledger {
    /// The ledger of `target`: a hidden file beside it.
    pub fn of(target: &Path) -> PathBuf {
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        files::parent_of(target).join(format!(".{name}.magento-auth"))
    }

    /// Read the ledger; a missing or unreadable one is empty, since a ledger
    /// only refines what the state files already make safe.
    pub fn load(target: &Path) -> Result<Self> {
        let path = Self::of(target);
        let records = match files::read_target(&path)? {
            Some(found) => parse(&found.bytes).unwrap_or_default(),
            None => Vec::new(),
        };
        Ok(Ledger { path, records })
    }

    pub fn save(&self) -> Result<()> {
        if self.records.is_empty() {
            return files::remove_file(&self.path);
        }
        let records: Vec<Value> = self.records.iter().map(to_json).collect();
        let mut bytes = serde_json::to_vec(&json!({ "version": 1, "active": records }))?;
        bytes.push(b'\n');
        files::write_atomic(&self.path, &bytes, 0o600, files::Durability::None)
    }

    /// The first active record for `host`, whose `original` is the truth.
    pub fn first_for(&self, host: &str) -> Option<&Record> {
        self.records.iter().find(|r| r.host == host)
    }

    /// Take `id`'s record out.
    pub fn take(&mut self, id: &str) -> Option<Record> {
        let index = self.records.iter().position(|r| r.id == id)?;
        Some(self.records.remove(index))
    }

    pub fn is_active(&self, id: &str) -> bool {
        self.records.iter().any(|r| r.id == id)
    }
}

fn to_json(record: &Record) -> Value {
    json!({
        "id": record.id,
        "host": record.host,
        "fingerprint": record.fingerprint,
        "original": record.original,
        "section_existed": record.section_existed,
        "file_mode": record.file_mode,
        "concurrent": record.concurrent,
        "created_dirs": record.created_dirs.iter().map(|d| d.to_string_lossy()).collect::<Vec<_>>(),
    })
}

fn parse(bytes: &[u8]) -> Option<Vec<Record>> {
    let value: Value = serde_json::from_slice(bytes).ok()?;
    value
        .get("active")?
        .as_array()?
        .iter()
        .map(|r| {
            let text = |name: &str| r.get(name).and_then(Value::as_str).map(str::to_string);
            let flag = |name: &str| r.get(name).and_then(Value::as_bool);
            Some(Record {
                id: text("id")?,
                host: text("host")?,
                fingerprint: text("fingerprint")?,
                original: r.get("original").filter(|v| !v.is_null()).cloned(),
                section_existed: flag("section_existed")?,
                file_mode: match r.get("file_mode")? {
                    Value::Null => None,
                    mode => Some(u32::try_from(mode.as_u64()?).ok()?),
                },
                concurrent: r
                    .get("concurrent")?
                    .as_array()?
                    .iter()
                    .map(|v| v.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()?,
                created_dirs: r
                    .get("created_dirs")?
                    .as_array()?
                    .iter()
                    .map(|v| v.as_str().map(PathBuf::from))
                    .collect::<Option<Vec<_>>>()?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_disappears_when_empty() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("auth.json");
        let mut ledger = Ledger::load(&target).unwrap();
        assert!(ledger.records.is_empty());
        ledger.records.push(Record {
            id: "1-1".into(),
            host: "h".into(),
            fingerprint: "f".into(),
            original: Some(json!({"username": "u", "password": "p"})),
            section_existed: true,
            file_mode: Some(0o644),
            concurrent: vec!["0-9".into()],
            created_dirs: vec![dir.path().join("x")],
        });
        ledger.save().unwrap();
        assert!(dir.path().join(".auth.json.magento-auth").is_file());
        let mut again = Ledger::load(&target).unwrap();
        assert_eq!(again.records, ledger.records);
        assert!(again.take("1-1").is_some());
        again.save().unwrap();
        assert!(!dir.path().join(".auth.json.magento-auth").exists());
    }
}
