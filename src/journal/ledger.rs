//! The ledger of one auth file: what it was before the first active setup,
//! and every setup active on it now, in the order they began.
//!
//! Several jobs can set up one file at once (runner services sharing a home,
//! jobs of one repository with the same keys). The ledger is the one record
//! all of them change, under the lock of the file's directory, so that
//! whichever ends first, the file holds the credentials of the latest setup
//! still active for each host, and the last one out puts back the original.
//! It lives only while setups are active. Like auth.json itself it holds
//! credentials (those of the active setups, and the original entries), so it
//! is written owner-only in a trusted directory.

use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::liveness::Anchor;
use crate::digest::sha256_hex;
use crate::dir::Found;

pub(crate) const VERSION: u32 = 2;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Ledger {
    pub(crate) version: u32,
    pub(crate) original: Original,
    /// SHA-256 of the bytes magento-auth last wrote to the file: while the
    /// file still has them, nobody else changed it.
    pub(crate) written_sha256: String,
    /// Someone else changed the file while setups were active (Composer
    /// stored a token): the last one out then takes out only its own entries.
    pub(crate) changed_since: bool,
    pub(crate) holders: Vec<Holder>,
}

/// The file before the first active setup.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Original {
    pub(crate) existed: bool,
    pub(crate) mode: Option<u32>,
    /// SHA-256 of its bytes, checked before they are put back.
    pub(crate) sha256: Option<String>,
    /// A hard link to it beside it, which cleanup renames back (owner, mode
    /// and times kept).
    pub(crate) backup: Option<String>,
    /// Its bytes, where the file system has no hard links or the file is in
    /// a work tree that must not get a second file.
    pub(crate) bytes_base64: Option<String>,
    /// Whether it had an `http-basic` section.
    pub(crate) http_basic_existed: bool,
    /// The entry each host that any setup touched had, `None` for none.
    pub(crate) hosts: Vec<HostEntry>,
    /// Directories created for the file, outermost first: the last one out
    /// removes them.
    pub(crate) created_dirs: Vec<PathBuf>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HostEntry {
    pub(crate) host: String,
    pub(crate) entry: Option<Value>,
}

/// One active setup.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Holder {
    pub(crate) id: String,
    pub(crate) host: String,
    /// The `http-basic` entry it wrote: it comes back when a later setup of
    /// the same host ends first.
    pub(crate) entry: Value,
    /// Its job's state file: a job never judges its own setups dead.
    pub(crate) state: PathBuf,
    /// When it began, in seconds since the epoch.
    pub(crate) since: u64,
    /// The process that lives as long as its job, where one is known.
    pub(crate) anchor: Option<Anchor>,
}

/// What a host had before a setup, as the ledger keeps it.
#[derive(Clone, Debug)]
pub(crate) struct Before {
    pub(crate) entry: HostEntry,
    pub(crate) http_basic_existed: bool,
}

impl Ledger {
    /// The ledger of the first active setup: the file as it is now is the
    /// original.
    pub(crate) fn first(current: Option<&Found>, before: &Before, created: &[PathBuf]) -> Self {
        Ledger {
            version: VERSION,
            original: Original {
                existed: current.is_some(),
                mode: current.map(|c| c.mode),
                sha256: current.map(|c| sha256_hex(&c.bytes)),
                backup: None,
                bytes_base64: None,
                http_basic_existed: before.http_basic_existed,
                hosts: vec![before.entry.clone()],
                created_dirs: created.to_vec(),
            },
            written_sha256: String::new(),
            changed_since: false,
            holders: Vec::new(),
        }
    }

    /// The ledger as a further setup finds it: the file changed since if it
    /// no longer has what magento-auth wrote; a host no setup touched yet
    /// has its original entry in the file now.
    pub(crate) fn joined(
        mut self,
        current: Option<&Found>,
        before: &Before,
        created: &[PathBuf],
    ) -> Self {
        let unchanged = current.is_some_and(|c| sha256_hex(&c.bytes) == self.written_sha256);
        self.changed_since |= !unchanged;
        if !self
            .original
            .hosts
            .iter()
            .any(|h| h.host == before.entry.host)
        {
            self.original.hosts.push(before.entry.clone());
        }
        self.original.created_dirs.extend_from_slice(created);
        self
    }

    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, String> {
        let ledger: Ledger = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if ledger.version != VERSION {
            return Err(format!("unknown version {}", ledger.version));
        }
        if let Some(encoded) = &ledger.original.bytes_base64 {
            let bytes = BASE64
                .decode(encoded)
                .map_err(|_| "the original bytes are not base64")?;
            if Some(sha256_hex(&bytes)) != ledger.original.sha256 {
                return Err("the original bytes do not match their checksum".into());
            }
        }
        Ok(ledger)
    }

    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec(self).expect("a ledger always serializes");
        bytes.push(b'\n');
        bytes
    }

    /// The original entry of `host`, if it had one.
    pub(crate) fn original_entry(&self, host: &str) -> Option<&Value> {
        self.original
            .hosts
            .iter()
            .find(|h| h.host == host)
            .and_then(|h| h.entry.as_ref())
    }

    /// The original bytes kept in the ledger itself, if any.
    pub(crate) fn original_bytes(&self) -> Option<Vec<u8>> {
        BASE64.decode(self.original.bytes_base64.as_ref()?).ok()
    }

    /// The latest active setup of `host`.
    pub(crate) fn heir(&self, host: &str) -> Option<&Holder> {
        self.holders.iter().rev().find(|h| h.host == host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> Ledger {
        Ledger {
            version: VERSION,
            original: Original {
                existed: true,
                mode: Some(0o644),
                sha256: Some(sha256_hex(b"{}\n")),
                backup: None,
                bytes_base64: Some(BASE64.encode(b"{}\n")),
                http_basic_existed: false,
                hosts: vec![HostEntry {
                    host: "repo.magento.com".into(),
                    entry: None,
                }],
                created_dirs: vec![],
            },
            written_sha256: "0".repeat(64),
            changed_since: false,
            holders: vec![Holder {
                id: "1-2".into(),
                host: "repo.magento.com".into(),
                entry: serde_json::json!({"username": "u", "password": "p"}),
                state: "/tmp/s/local.json".into(),
                since: 1,
                anchor: None,
            }],
        }
    }

    #[test]
    fn round_trips_and_refuses_damage() {
        let ledger = sample();
        assert_eq!(Ledger::parse(&ledger.to_bytes()).unwrap(), ledger);
        let text = String::from_utf8(ledger.to_bytes()).unwrap();
        let damaged = [
            text.replace("\"version\":2", "\"version\":9"),
            text.replace(&BASE64.encode(b"{}\n"), &BASE64.encode(b"[]\n")),
            text.replace("\"holders\"", "\"holderz\""),
            text[..text.len() / 2].to_string(),
        ];
        for bad in damaged {
            assert!(Ledger::parse(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
