//! A directory opened once and checked to be trusted; every file operation in
//! it is relative to that handle and never follows a symbolic link, so a name
//! swapped for a link between two calls is never followed.
//!
//! Trusted: the directory and each one above it belong to this user or to
//! root, and none is writable by group or others unless it has the sticky bit
//! (as /tmp has). Anyone who could write to one of them could swap what is
//! below it.

use std::io::{ErrorKind, Write};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::exit::{Code, Failure, plain_io};

/// A file as it was found: its bytes and permission bits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Found {
    pub(crate) bytes: Vec<u8>,
    pub(crate) mode: u32,
}

/// How much of a write must survive a power loss, not just a killed process
/// (which the rename alone survives). Each fsync costs about a millisecond
/// here, on a command that should take one or two.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Durability {
    /// The content and the directory entry: for a record that holds the only
    /// copy of the user's previous auth.json, and for what cleanup puts back
    /// or removes.
    Full,
    /// The content before the rename, so the file is the old or the new one,
    /// never empty: for auth.json itself.
    Content,
    /// Neither: for records whose loss loses nothing of the user's.
    None,
}

/// An opened, trusted directory.
#[derive(Debug)]
pub(crate) struct Dir {
    path: PathBuf,
    #[cfg(unix)]
    fd: std::os::fd::OwnedFd,
}

/// A directory [`Dir::open`] opened, and those it created on the way (outermost first).
#[derive(Debug)]
pub(crate) struct Opened {
    pub(crate) dir: Dir,
    pub(crate) created: Vec<PathBuf>,
}

/// An exclusive lock on a directory, held until dropped. Leaves nothing on
/// disk on Unix.
#[derive(Debug)]
pub(crate) struct Lock {
    _file: std::fs::File,
}

/// How many times a lock is taken again when the directory was removed
/// while this process waited for it.
const RELOCKS: usize = 8;

impl Dir {
    /// `name` inside the directory, for messages.
    pub(crate) fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Open the directory at `path` and lock it, waiting at most `timeout`,
    /// unless it is `held`, which this process has locked already (two
    /// locks of one process on one directory would wait for each other).
    /// When it is removed while this process waits (a cleanup removes an
    /// empty state directory), it is opened again. `None` when it does not
    /// exist and `create` is false.
    pub(crate) fn open_locked(
        path: &Path,
        what: &str,
        create: bool,
        timeout: Duration,
        held: Option<&Dir>,
    ) -> Result<Option<(Opened, Option<Lock>)>> {
        let deadline = Instant::now() + timeout;
        for _ in 0..RELOCKS {
            let Some(opened) = Dir::open(path, what, create)? else {
                return Ok(None);
            };
            if held.is_some_and(|h| opened.dir.same_as(h)) {
                return Ok(Some((opened, None)));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let lock = opened.dir.lock(left, timeout)?;
            if opened.dir.is_linked() {
                opened.dir.remove_stale_temps();
                return Ok(Some((opened, Some(lock))));
            }
        }
        Err(anyhow::anyhow!(
            "{} was removed and created again {RELOCKS} times while this process waited for it",
            path.display()
        ))
    }
}

/// Whether `name` is one of [`Dir::write`]'s temporary names:
/// `.<file>.magento-auth-<pid>-<n>.tmp`.
fn is_our_temp(name: &str) -> bool {
    let Some(stem) = name.strip_prefix('.').and_then(|n| n.strip_suffix(".tmp")) else {
        return false;
    };
    let Some((_, tail)) = stem.rsplit_once(".magento-auth-") else {
        return false;
    };
    tail.split_once('-').is_some_and(|(pid, n)| {
        !pid.is_empty() && !n.is_empty() && pid.bytes().chain(n.bytes()).all(|b| b.is_ascii_digit())
    })
}

fn temp_name(name: &str, attempt: u32) -> String {
    format!(".{name}.magento-auth-{}-{attempt}.tmp", std::process::id())
}

/// Permission and space problems while writing are the user's to fix: exit 3
/// with what to do; anything else stays an unexpected error.
fn write_failure(dir: &Path, err: &std::io::Error) -> anyhow::Error {
    match err.kind() {
        ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem | ErrorKind::StorageFull => {
            Failure::bad_input(format!(
                "cannot write in {}: {}",
                dir.display(),
                plain_io(err)
            ))
            .with_hint(format!(
                "make the directory writable, or {}",
                crate::cli::settings::another_value("--mode")
            ))
            .into()
        }
        _ => anyhow::Error::new(std::io::Error::new(err.kind(), plain_io(err))),
    }
}

fn unreadable(path: &Path, err: &std::io::Error) -> Failure {
    Failure::bad_input(format!("cannot read {}: {}", path.display(), plain_io(err)))
        .with_hint("check the file's owner and permissions")
}

fn symlink_refused(path: &Path) -> Failure {
    Failure::bad_input(format!(
        "{} is a symbolic link; magento-auth never writes through one",
        path.display()
    ))
    .with_hint(format!(
        "replace the link with a regular file, or {}",
        crate::cli::settings::another_value("--mode")
    ))
}

fn not_regular(path: &Path) -> Failure {
    Failure::bad_input(format!("{} is not a regular file", path.display())).with_hint(format!(
        "move it out of the way, or {}",
        crate::cli::settings::another_value("--mode")
    ))
}

fn too_large(path: &Path, cap: u64) -> Failure {
    Failure::bad_input(format!(
        "{} is larger than {} KiB, far more than such a file holds",
        path.display(),
        cap / 1024
    ))
    .with_hint(format!(
        "check what wrote it; move it out of the way, or {}",
        crate::cli::settings::another_value("--mode")
    ))
}

fn lock_timeout(path: &Path, timeout: Duration) -> anyhow::Error {
    Failure::new(
        Code::Unexpected,
        format!(
            "gave up after {} s waiting for the lock on {}: another process holds it",
            timeout.as_secs(),
            path.display()
        ),
    )
    .with_hint(
        "another magento-auth setup or cleanup may be running on it; if none is, find the \
         process that holds it open (fuser -v), or raise --timeout",
    )
    .into()
}

/// Split an absolute path into its longest existing ancestor, with links
/// resolved (a home reached through a link is legitimate), and the names
/// below it that do not exist yet, outermost first.
fn existing_and_missing(path: &Path) -> Result<(PathBuf, Vec<std::ffi::OsString>)> {
    let mut existing =
        std::path::absolute(path).with_context(|| format!("resolving {}", path.display()))?;
    let mut missing = Vec::new();
    loop {
        match existing.canonicalize() {
            Ok(real) => {
                missing.reverse();
                return Ok((real, missing));
            }
            Err(err) if err.kind() == ErrorKind::NotFound => {
                let name = match existing.components().next_back() {
                    Some(Component::Normal(name)) => name.to_os_string(),
                    _ => {
                        return Err(Failure::bad_input(format!(
                            "{} cannot be resolved",
                            path.display()
                        ))
                        .into());
                    }
                };
                missing.push(name);
                existing.pop();
            }
            Err(err) => {
                return Err(Failure::bad_input(format!(
                    "cannot use {}: {}",
                    existing.display(),
                    plain_io(&err)
                ))
                .into());
            }
        }
    }
}

#[cfg(not(unix))]
mod portable;
#[cfg(unix)]
mod unix;

/// Read a file by its path, to look at it only (the doctor's sources): in
/// any directory, but never through a symlink, and up to `cap` bytes.
pub(crate) fn read_path(path: &Path, cap: u64) -> Result<Option<Found>> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return Err(Failure::bad_input(format!("{} names no file", path.display())).into());
    };
    match std::fs::symlink_metadata(parent) {
        Ok(meta) if meta.is_dir() => {}
        _ => return Ok(None),
    }
    #[cfg(unix)]
    let dir = {
        let fd = rustix::fs::open(
            parent,
            rustix::fs::OFlags::DIRECTORY
                | rustix::fs::OFlags::RDONLY
                | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .map_err(|e| unreadable(parent, &std::io::Error::from(e)))?;
        Dir {
            path: parent.to_path_buf(),
            fd,
        }
    };
    #[cfg(not(unix))]
    let dir = Dir {
        path: parent.to_path_buf(),
    };
    dir.read(name, cap)
}

/// Remove directories setup created, innermost first, where they are empty.
pub(crate) fn remove_empty_dirs(dirs: &[PathBuf]) {
    for dir in dirs.iter().rev() {
        // Not empty (someone else wrote there) or gone: leave it.
        let _ = std::fs::remove_dir(dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(path: &Path) -> Dir {
        Dir::open(path, "the test directory", true)
            .unwrap()
            .unwrap()
            .dir
    }

    #[test]
    fn atomic_write_sets_the_mode_and_leaves_no_temp_file() {
        let root = tempfile::tempdir().unwrap();
        let dir = open(root.path());
        dir.write("auth.json", b"{}\n", 0o600, Durability::Full)
            .unwrap();
        dir.write("auth.json", b"{\"a\":1}\n", 0o644, Durability::None)
            .unwrap();
        let found = dir.read("auth.json", 1024).unwrap().unwrap();
        assert_eq!(found.bytes, b"{\"a\":1}\n");
        #[cfg(unix)]
        assert_eq!(found.mode, 0o644);
        assert_eq!(dir.names(), ["auth.json"]);
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_are_refused_and_their_target_not_created() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("elsewhere.json");
        std::os::unix::fs::symlink(&target, root.path().join("auth.json")).unwrap();
        let dir = open(root.path());
        assert!(dir.read("auth.json", 1024).is_err());
        assert!(
            dir.write("auth.json", b"{}", 0o600, Durability::Content)
                .is_err()
        );
        assert!(!target.exists());
    }

    #[test]
    fn missing_directories_are_created_private_outermost_first() {
        let root = tempfile::tempdir().unwrap();
        let deep = root.path().join("a/b/c");
        let opened = Dir::open(&deep, "the test directory", true)
            .unwrap()
            .unwrap();
        let real = root.path().canonicalize().unwrap();
        assert_eq!(
            opened.created,
            [real.join("a"), real.join("a/b"), real.join("a/b/c")]
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&deep).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700);
        }
        remove_empty_dirs(&opened.created);
        assert!(!root.path().join("a").exists());
        assert!(
            Dir::open(&deep, "the test directory", false)
                .unwrap()
                .is_none()
        );
    }

    #[cfg(unix)]
    #[test]
    fn directories_others_can_write_are_refused_unless_sticky() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        let shared = root.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        for (mode, trusted) in [
            (0o777, false),
            (0o770, false),
            (0o757, false),
            (0o1777, true),
            (0o755, true),
        ] {
            std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(mode)).unwrap();
            let below = Dir::open(&shared.join("home"), "the Composer home", true);
            assert_eq!(below.is_ok(), trusted, "mode {mode:o}");
            if let Err(err) = below {
                let text = format!("{err:#}");
                assert!(
                    text.contains("writable by") && text.contains("shared"),
                    "{text}"
                );
            }
        }
    }

    #[test]
    fn stale_temporary_files_are_recognised_exactly() {
        assert!(is_our_temp(".auth.json.magento-auth-123-0.tmp"));
        assert!(is_our_temp(
            "..auth.json.magento-auth.magento-auth-9-12.tmp"
        ));
        assert!(!is_our_temp("auth.json.magento-auth-123-0.tmp"));
        assert!(!is_our_temp(".auth.json.magento-auth-123.tmp"));
        assert!(!is_our_temp(".auth.json.magento-auth-x-0.tmp"));
        assert!(!is_our_temp(".auth.json.tmp"));
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join(".auth.json.magento-auth-1-0.tmp"), "k").unwrap();
        std::fs::write(root.path().join(".keep.tmp"), "k").unwrap();
        let (opened, lock) = Dir::open_locked(
            root.path(),
            "the test directory",
            false,
            Duration::from_secs(1),
            None,
        )
        .unwrap()
        .unwrap();
        drop(lock);
        assert_eq!(opened.dir.names(), [".keep.tmp"]);
    }

    #[test]
    fn oversized_and_directory_entries_are_refused() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("sub")).unwrap();
        std::fs::write(root.path().join("big.json"), vec![b' '; 2048]).unwrap();
        let dir = open(root.path());
        assert!(dir.read("sub", 1024).is_err());
        assert!(dir.read("big.json", 1024).is_err());
        assert_eq!(dir.read("none", 1024).unwrap(), None);
    }
}
