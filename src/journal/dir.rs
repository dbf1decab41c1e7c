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
    pub bytes: Vec<u8>,
    pub mode: u32,
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
    pub dir: Dir,
    pub created: Vec<PathBuf>,
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
    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Open the directory at `path` and lock it, waiting at most `timeout`,
    /// unless it is `held`, which this process has locked already (two
    /// locks of one process on one directory would wait for each other).
    /// When it is removed while this process waits (a cleanup removes an
    /// empty state directory), it is opened again. `None` when it does not
    /// exist and `create` is false.
    pub fn open_locked(
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
            .with_hint("make the directory writable, or choose another --mode")
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
    .with_hint("replace the link with a regular file, or choose another --mode")
}

fn too_large(path: &Path, cap: u64) -> Failure {
    Failure::bad_input(format!(
        "{} is larger than {} KiB, far more than such a file holds",
        path.display(),
        cap / 1024
    ))
    .with_hint("check what wrote it; move it out of the way, or choose another --mode")
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

#[cfg(unix)]
mod imp {
    use std::os::fd::{AsFd, OwnedFd};

    use std::io::Read;

    use rustix::fs::{AtFlags, FileType, Mode, OFlags, Stat};
    use rustix::io::Errno;

    use super::*;

    fn io(err: Errno) -> std::io::Error {
        std::io::Error::from(err)
    }

    fn my_uid() -> u32 {
        rustix::process::geteuid().as_raw()
    }

    const DIR_FLAGS: OFlags = OFlags::DIRECTORY
        .union(OFlags::NOFOLLOW)
        .union(OFlags::RDONLY)
        .union(OFlags::CLOEXEC);

    /// Why `stat` makes a directory untrusted, if it does.
    fn distrust(stat: &Stat) -> Option<String> {
        let uid = stat.st_uid;
        if uid != my_uid() && uid != 0 {
            return Some(format!("is owned by another user (uid {uid})"));
        }
        let mode = stat.st_mode & 0o7777;
        if mode & 0o022 != 0 && mode & 0o1000 == 0 {
            return Some(format!(
                "is writable by group or others (mode {mode:04o}) and has no sticky bit, \
                 so another user could swap the files in it"
            ));
        }
        None
    }

    fn untrusted(what: &str, dir: &Path, at: &Path, why: &str) -> anyhow::Error {
        let subject = if at == dir {
            format!("{what} {}", dir.display())
        } else {
            format!("{}, above {what} {},", at.display(), dir.display())
        };
        Failure::bad_input(format!("refusing {subject}: it {why}"))
            .with_hint(
                "make it private (chmod go-w, and chown to this user) or choose another \
                 directory; magento-auth writes credentials only where no other user can \
                 change what is there (see SECURITY.md)",
            )
            .into()
    }

    fn raced(at: &Path, err: Errno) -> anyhow::Error {
        Failure::bad_input(format!(
            "{} changed while it was opened: {}",
            at.display(),
            plain_io(&io(err))
        ))
        .with_hint("something replaced a directory with a link or a file; check who writes there")
        .into()
    }

    impl Dir {
        /// Open `path`, creating what is missing (mode 0700) when `create`, and
        /// check it and every directory above it. `None` when it does not exist
        /// and `create` is false.
        pub fn open(path: &Path, what: &str, create: bool) -> Result<Option<Opened>> {
            let (existing, missing) = existing_and_missing(path)?;
            if !create && !missing.is_empty() {
                return Ok(None);
            }
            let mut at = PathBuf::from("/");
            let mut fd = rustix::fs::open("/", DIR_FLAGS, Mode::empty()).map_err(io)?;
            let check = |fd: &OwnedFd, at: &Path| -> Result<()> {
                let stat = rustix::fs::fstat(fd).map_err(io)?;
                match distrust(&stat) {
                    Some(why) => Err(untrusted(what, path, at, &why)),
                    None => Ok(()),
                }
            };
            check(&fd, &at)?;
            for component in existing.components() {
                let Component::Normal(name) = component else {
                    continue;
                };
                at.push(name);
                fd = rustix::fs::openat(&fd, name, DIR_FLAGS, Mode::empty())
                    .map_err(|e| raced(&at, e))?;
                check(&fd, &at)?;
            }
            let mut created = Vec::new();
            for name in missing {
                at.push(&name);
                match rustix::fs::mkdirat(&fd, &name, Mode::from_raw_mode(0o700)) {
                    Ok(()) => created.push(at.clone()),
                    Err(Errno::EXIST) => {}
                    Err(err) => {
                        return Err(write_failure(at.parent().unwrap_or(&at), &io(err)))
                            .with_context(|| format!("creating {}", at.display()));
                    }
                }
                fd = rustix::fs::openat(&fd, &name, DIR_FLAGS, Mode::empty())
                    .map_err(|e| raced(&at, e))?;
                check(&fd, &at)?;
            }
            Ok(Some(Opened {
                dir: Dir {
                    path: path.to_path_buf(),
                    fd,
                },
                created,
            }))
        }

        /// Read `name`: `None` when it does not exist. A symlink, anything but
        /// a regular file, a file of another user and a file over `cap`
        /// bytes are refused (exit 3).
        pub fn read(&self, name: &str, cap: u64) -> Result<Option<Found>> {
            let path = self.join(name);
            let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK;
            let fd = match rustix::fs::openat(&self.fd, name, flags, Mode::empty()) {
                Ok(fd) => fd,
                Err(Errno::NOENT) => return Ok(None),
                Err(Errno::LOOP) | Err(Errno::MLINK) => return Err(symlink_refused(&path).into()),
                Err(err) => return Err(unreadable(&path, &io(err)).into()),
            };
            let stat = rustix::fs::fstat(&fd).map_err(|e| unreadable(&path, &io(e)))?;
            if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
                return Err(Failure::bad_input(format!(
                    "{} is not a regular file",
                    path.display()
                ))
                .with_hint("move it out of the way, or choose another --mode")
                .into());
            }
            if stat.st_uid != my_uid() {
                return Err(Failure::bad_input(format!(
                    "{} is owned by another user (uid {}): it may have been planted",
                    path.display(),
                    stat.st_uid
                ))
                .with_hint("check where it came from, then remove it or choose another --mode")
                .into());
            }
            let size = u64::try_from(stat.st_size).unwrap_or(u64::MAX);
            if size > cap {
                return Err(too_large(&path, cap).into());
            }
            let mut bytes = Vec::with_capacity(size as usize);
            std::fs::File::from(fd)
                .take(cap + 1)
                .read_to_end(&mut bytes)
                .map_err(|e| unreadable(&path, &e))?;
            if bytes.len() as u64 > cap {
                return Err(too_large(&path, cap).into());
            }
            Ok(Some(Found {
                bytes,
                mode: stat.st_mode & 0o7777,
            }))
        }

        /// Replace `name` with `bytes` atomically: a new temporary file in the
        /// directory, fsync as `durability` says, rename. The file gets `mode`
        /// exactly (umask does not apply).
        pub fn write(
            &self,
            name: &str,
            bytes: &[u8],
            mode: u32,
            durability: Durability,
        ) -> Result<()> {
            let path = self.join(name);
            if let Ok(stat) = rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
                match FileType::from_raw_mode(stat.st_mode) {
                    FileType::Symlink => return Err(symlink_refused(&path).into()),
                    FileType::Directory => {
                        return Err(Failure::bad_input(format!(
                            "{} is a directory",
                            path.display()
                        ))
                        .into());
                    }
                    _ => {}
                }
            }
            let (temp, fd) = self.create_temp(name)?;
            let result = (|| -> std::io::Result<()> {
                rustix::fs::fchmod(&fd, Mode::from_raw_mode(mode & 0o7777)).map_err(io)?;
                let mut file = std::fs::File::from(fd);
                file.write_all(bytes)?;
                if durability != Durability::None {
                    file.sync_data()?;
                }
                drop(file);
                crate::fault::write_point(name, "temp-written");
                rustix::fs::renameat(&self.fd, &temp, &self.fd, name).map_err(io)?;
                crate::fault::write_point(name, "renamed");
                if durability == Durability::Full {
                    self.sync();
                }
                Ok(())
            })();
            if let Err(err) = result {
                let _ = rustix::fs::unlinkat(&self.fd, &temp, AtFlags::empty());
                return Err(write_failure(&self.path, &err))
                    .with_context(|| format!("writing {}", path.display()));
            }
            Ok(())
        }

        fn create_temp(&self, name: &str) -> Result<(String, OwnedFd)> {
            let flags =
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            for attempt in 0..100 {
                let temp = temp_name(name, attempt);
                match rustix::fs::openat(&self.fd, &temp, flags, Mode::from_raw_mode(0o600)) {
                    Ok(fd) => return Ok((temp, fd)),
                    Err(Errno::EXIST) => continue,
                    Err(err) => {
                        return Err(write_failure(&self.path, &io(err))).with_context(|| {
                            format!("creating a file in {}", self.path.display())
                        });
                    }
                }
            }
            Err(anyhow::anyhow!(
                "no free temporary name in {}",
                self.path.display()
            ))
        }

        /// Give the file `name` a second name `new_name`, a hard link, durably:
        /// no bytes are copied, owner, mode and times stay the file's. `false`
        /// where the file system has no hard links.
        pub fn link(&self, name: &str, new_name: &str) -> Result<bool> {
            if crate::fault::simulated("no-hard-links") {
                return Ok(false);
            }
            match rustix::fs::linkat(&self.fd, name, &self.fd, new_name, AtFlags::empty()) {
                Ok(()) => {
                    self.sync();
                    Ok(true)
                }
                Err(Errno::PERM | Errno::OPNOTSUPP | Errno::MLINK | Errno::XDEV | Errno::NOSYS) => {
                    Ok(false)
                }
                Err(err) => Err(write_failure(&self.path, &io(err)))
                    .with_context(|| format!("keeping {} aside", self.join(name).display())),
            }
        }

        /// Rename `from` to `to` (replacing it), durably. `false` when `from`
        /// is not there.
        pub fn rename(&self, from: &str, to: &str) -> Result<bool> {
            match rustix::fs::renameat(&self.fd, from, &self.fd, to) {
                Ok(()) => {
                    self.sync();
                    Ok(true)
                }
                Err(Errno::NOENT) => Ok(false),
                Err(err) => Err(write_failure(&self.path, &io(err)))
                    .with_context(|| format!("putting {} back", self.join(to).display())),
            }
        }

        /// Remove the file `name`; one already gone is fine.
        pub fn remove(&self, name: &str, durability: Durability) -> Result<()> {
            match rustix::fs::unlinkat(&self.fd, name, AtFlags::empty()) {
                Ok(()) => {
                    if durability == Durability::Full {
                        self.sync();
                    }
                    Ok(())
                }
                Err(Errno::NOENT) => Ok(()),
                Err(err) => Err(write_failure(&self.path, &io(err)))
                    .with_context(|| format!("removing {}", self.join(name).display())),
            }
        }

        /// Whether `name` exists (as anything).
        pub fn has(&self, name: &str) -> bool {
            rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW).is_ok()
        }

        /// The names in the directory.
        pub fn names(&self) -> Vec<String> {
            let Ok(entries) = rustix::fs::Dir::read_from(&self.fd) else {
                return Vec::new();
            };
            entries
                .flatten()
                .filter_map(|e| e.file_name().to_str().ok().map(str::to_string))
                .filter(|n| n != "." && n != "..")
                .collect()
        }

        /// Make the directory's entries durable.
        pub fn sync(&self) {
            let _ = rustix::fs::fsync(&self.fd);
        }

        /// Whether `other` is this same directory.
        pub fn same_as(&self, other: &Dir) -> bool {
            match (rustix::fs::fstat(&self.fd), rustix::fs::fstat(&other.fd)) {
                (Ok(a), Ok(b)) => a.st_dev == b.st_dev && a.st_ino == b.st_ino,
                _ => false,
            }
        }

        /// Whether the directory still has a name (was not removed).
        pub(super) fn is_linked(&self) -> bool {
            rustix::fs::fstat(&self.fd).is_ok_and(|s| s.st_nlink > 0)
        }

        pub(super) fn lock(&self, wait: Duration, timeout: Duration) -> Result<Lock> {
            let fd = rustix::fs::openat(&self.fd, ".", DIR_FLAGS, Mode::empty())
                .map_err(io)
                .with_context(|| format!("opening {} to lock it", self.path.display()))?;
            let file = std::fs::File::from(fd);
            let deadline = Instant::now() + wait;
            let mut pause = Duration::from_millis(2);
            loop {
                match file.try_lock() {
                    Ok(()) => return Ok(Lock { _file: file }),
                    Err(std::fs::TryLockError::WouldBlock) => {}
                    Err(std::fs::TryLockError::Error(err)) => {
                        return Err(err)
                            .with_context(|| format!("locking {}", self.path.display()));
                    }
                }
                let now = Instant::now();
                if now >= deadline {
                    return Err(lock_timeout(&self.path, timeout));
                }
                std::thread::sleep(pause.min(deadline - now));
                pause = (pause * 2).min(Duration::from_millis(50));
            }
        }

        /// Remove temporary files a killed process left: every write here
        /// happens under the lock, so any found now is stale (and may hold keys).
        pub(super) fn remove_stale_temps(&self) {
            for name in self.names() {
                if is_our_temp(&name) {
                    let _ = rustix::fs::unlinkat(&self.fd, name.as_str(), AtFlags::empty());
                }
            }
        }
    }

    impl AsFd for Dir {
        fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
            self.fd.as_fd()
        }
    }
}

#[cfg(not(unix))]
mod imp {
    //! Elsewhere the same operations by path: Windows has no openat, and its
    //! per-user profile directories are private by default.
    use std::fs;

    use super::*;

    impl Dir {
        pub fn open(path: &Path, _what: &str, create: bool) -> Result<Option<Opened>> {
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

        pub fn read(&self, name: &str, cap: u64) -> Result<Option<Found>> {
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
                return Err(Failure::bad_input(format!(
                    "{} is not a regular file",
                    path.display()
                ))
                .into());
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

        pub fn write(
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
                    Err(err) if err.kind() == ErrorKind::AlreadyExists && attempt < 100 => {
                        attempt += 1
                    }
                    Err(err) => return Err(write_failure(&self.path, &err)),
                }
            };
            let result = (|| -> std::io::Result<()> {
                file.write_all(bytes)?;
                if durability != Durability::None {
                    file.sync_data()?;
                }
                drop(file);
                fs::rename(&temp, &path)
            })();
            if let Err(err) = result {
                let _ = fs::remove_file(&temp);
                return Err(write_failure(&self.path, &err))
                    .with_context(|| format!("writing {}", path.display()));
            }
            Ok(())
        }

        pub fn link(&self, name: &str, new_name: &str) -> Result<bool> {
            Ok(fs::hard_link(self.join(name), self.join(new_name)).is_ok())
        }

        pub fn rename(&self, from: &str, to: &str) -> Result<bool> {
            match fs::rename(self.join(from), self.join(to)) {
                Ok(()) => Ok(true),
                Err(err) if err.kind() == ErrorKind::NotFound => Ok(false),
                Err(err) => Err(write_failure(&self.path, &err)),
            }
        }

        pub fn remove(&self, name: &str, _durability: Durability) -> Result<()> {
            match fs::remove_file(self.join(name)) {
                Ok(()) => Ok(()),
                Err(err) if err.kind() == ErrorKind::NotFound => Ok(()),
                Err(err) => Err(write_failure(&self.path, &err)),
            }
        }

        pub fn has(&self, name: &str) -> bool {
            fs::symlink_metadata(self.join(name)).is_ok()
        }

        pub fn names(&self) -> Vec<String> {
            fs::read_dir(&self.path)
                .map(|entries| {
                    entries
                        .flatten()
                        .filter_map(|e| e.file_name().to_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        }

        pub fn same_as(&self, other: &Dir) -> bool {
            match (self.path.canonicalize(), other.path.canonicalize()) {
                (Ok(a), Ok(b)) => a == b,
                _ => false,
            }
        }

        pub(super) fn is_linked(&self) -> bool {
            self.path.is_dir()
        }

        pub(super) fn lock(&self, wait: Duration, timeout: Duration) -> Result<Lock> {
            // Directories cannot be opened as files here: lock a file in the
            // temp directory named after the directory instead.
            let name = crate::composer::auth::sha256_hex(self.path.to_string_lossy().as_bytes());
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
}

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
