//! Elsewhere the same operations by path: Windows has no openat, and its
//! per-user profile directories are private by default.

use std::fs;

use super::*;

/// How long a replace or delete waits for another process to let go of the file.
const SHARING_PATIENCE: Duration = Duration::from_secs(2);

/// Run `op` again while Windows says "access denied" because another process
/// holds the file open without delete sharing: Composer reading auth.json, a
/// virus scanner, a search indexer. They let go within milliseconds; a
/// directory that is truly not writable fails after [`SHARING_PATIENCE`].
fn patiently(mut op: impl FnMut() -> std::io::Result<()>) -> std::io::Result<()> {
    let deadline = Instant::now() + SHARING_PATIENCE;
    let mut pause = Duration::from_millis(5);
    loop {
        match op() {
            Err(err) if err.kind() == ErrorKind::PermissionDenied && Instant::now() < deadline => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            result => return result,
        }
    }
}

impl Dir {
    pub(crate) fn open(path: &Path, _what: &str, create: bool) -> Result<Option<Opened>> {
        let (existing, missing) = existing_and_missing(path)?;
        if !create && !missing.is_empty() {
            return Ok(None);
        }
        let mut at = existing;
        let mut created = Vec::new();
        for name in missing {
            at.push(name);
            match fs::create_dir(&at) {
                Ok(()) => created.push(at.clone()),
                Err(err) if err.kind() == ErrorKind::AlreadyExists => {}
                Err(err) => return Err(write_failure(&at, &err)),
            }
        }
        Ok(Some(Opened {
            dir: Dir {
                path: path.to_path_buf(),
            },
            created,
        }))
    }

    pub(crate) fn read(&self, name: &str, cap: u64) -> Result<Option<Found>> {
        let path = self.join(name);
        let meta = match fs::symlink_metadata(&path) {
            Ok(meta) => meta,
            Err(err) if err.kind() == ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(unreadable(&path, &err).into()),
        };
        if meta.file_type().is_symlink() {
            return Err(symlink_refused(&path).into());
        }
        if !meta.is_file() {
            return Err(not_regular(&path).into());
        }
        if meta.len() > cap {
            return Err(too_large(&path, cap).into());
        }
        let bytes = fs::read(&path).map_err(|e| unreadable(&path, &e))?;
        let mode = if meta.permissions().readonly() {
            0o400
        } else {
            0o600
        };
        Ok(Some(Found { bytes, mode }))
    }

    pub(crate) fn write(
        &self,
        name: &str,
        bytes: &[u8],
        _mode: u32,
        durability: Durability,
    ) -> Result<()> {
        let path = self.join(name);
        if fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(symlink_refused(&path).into());
        }
        let mut attempt = 0;
        let (temp, mut file) = loop {
            let temp = self.join(&temp_name(name, attempt));
            match fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&temp)
            {
                Ok(file) => break (temp, file),
                Err(err) if err.kind() == ErrorKind::AlreadyExists && attempt < 100 => attempt += 1,
                Err(err) => return Err(write_failure(&self.path, &err)),
            }
        };
        let result = (|| -> std::io::Result<()> {
            file.write_all(bytes)?;
            if durability != Durability::None {
                file.sync_data()?;
            }
            drop(file);
            patiently(|| fs::rename(&temp, &path))
        })();
        if let Err(err) = result {
            let _ = fs::remove_file(&temp);
            return Err(write_failure(&self.path, &err))
                .with_context(|| format!("writing {}", path.display()));
        }
        Ok(())
    }

    pub(crate) fn link(&self, name: &str, new_name: &str) -> Result<bool> {
        Ok(fs::hard_link(self.join(name), self.join(new_name)).is_ok())
    }

    pub(crate) fn rename(&self, from: &str, to: &str) -> Result<bool> {
        match patiently(|| fs::rename(self.join(from), self.join(to))) {
            Ok(()) => Ok(true),
            Err(err) if err.kind() == ErrorKind::NotFound => Ok(false),
            Err(err) => Err(write_failure(&self.path, &err)),
        }
    }

    pub(crate) fn remove(&self, name: &str, _durability: Durability) -> Result<()> {
        match patiently(|| fs::remove_file(self.join(name))) {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == ErrorKind::NotFound => Ok(()),
            Err(err) => Err(write_failure(&self.path, &err)),
        }
    }

    pub(crate) fn has(&self, name: &str) -> bool {
        fs::symlink_metadata(self.join(name)).is_ok()
    }

    pub(crate) fn names(&self) -> Vec<String> {
        fs::read_dir(&self.path)
            .map(|entries| {
                entries
                    .flatten()
                    .filter_map(|e| e.file_name().to_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub(crate) fn same_as(&self, other: &Dir) -> bool {
        match (self.path.canonicalize(), other.path.canonicalize()) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        }
    }

    pub(crate) fn is_linked(&self) -> bool {
        self.path.is_dir()
    }

    pub(super) fn lock(&self, wait: Duration, timeout: Duration) -> Result<Lock> {
        // Directories cannot be opened as files here: lock a file in the
        // temp directory named after the directory instead.
        let name = crate::digest::sha256_hex(self.path.to_string_lossy().as_bytes());
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(std::env::temp_dir().join(format!("magento-auth-{}.lock", &name[..16])))?;
        let deadline = Instant::now() + wait;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Lock { _file: file }),
                Err(fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Err(fs::TryLockError::WouldBlock) => {
                    return Err(lock_timeout(&self.path, timeout));
                }
                Err(fs::TryLockError::Error(err)) => return Err(err.into()),
            }
        }
    }

    pub(super) fn remove_stale_temps(&self) {
        for name in self.names() {
            if is_our_temp(&name) {
                let _ = fs::remove_file(self.join(&name));
            }
        }
    }
}
