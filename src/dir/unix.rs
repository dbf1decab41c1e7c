//! The Unix operations: openat and friends relative to the directory's
//! descriptor, through rustix.

use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, Stat};
use rustix::io::Errno;

use super::*;

fn io(err: Errno) -> std::io::Error {
    std::io::Error::from(err)
}

fn my_uid() -> u32 {
    static UID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *UID.get_or_init(|| rustix::process::geteuid().as_raw())
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

enum Walk {
    Opened(Opened),
    Missing,
    /// A directory on the way was removed after it was looked up.
    Vanished,
    /// A symbolic link on the way: walk the path with its links resolved.
    Linked,
}

/// One attempt of [`Dir::open`]: from `/` down, each directory opened
/// relative to the one above with no link followed, and checked. A path of
/// plain names is walked as it is; `resolved` walks it with its links (a
/// home reached through a link is legitimate) and `..` resolved first.
fn walk(path: &Path, what: &str, create: bool, resolved: bool) -> Result<Walk> {
    let absolute =
        std::path::absolute(path).with_context(|| format!("resolving {}", path.display()))?;
    let plain = absolute
        .components()
        .all(|c| matches!(c, Component::RootDir | Component::Normal(_)));
    let names: Vec<std::ffi::OsString> = if plain && !resolved {
        absolute.iter().skip(1).map(|n| n.to_os_string()).collect()
    } else {
        let (existing, missing) = existing_and_missing(path)?;
        if !create && !missing.is_empty() {
            return Ok(Walk::Missing);
        }
        existing
            .iter()
            .skip(1)
            .map(|n| n.to_os_string())
            .chain(missing)
            .collect()
    };
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
    let mut created = Vec::new();
    let mut creating = false;
    for name in names {
        at.push(&name);
        if !creating {
            match rustix::fs::openat(&fd, &name, DIR_FLAGS, Mode::empty()) {
                Ok(next) => {
                    fd = next;
                    check(&fd, &at)?;
                    continue;
                }
                Err(Errno::NOENT) if !create => return Ok(Walk::Missing),
                Err(Errno::NOENT) => creating = true,
                Err(Errno::LOOP | Errno::NOTDIR) if !resolved => return Ok(Walk::Linked),
                Err(err) => return Err(raced(&at, err)),
            }
        }
        match rustix::fs::mkdirat(&fd, &name, Mode::from_raw_mode(0o700)) {
            Ok(()) => created.push(at.clone()),
            Err(Errno::EXIST) => {}
            Err(Errno::NOENT) => return Ok(Walk::Vanished),
            Err(err) => {
                return Err(write_failure(at.parent().unwrap_or(&at), &io(err)))
                    .with_context(|| format!("creating {}", at.display()));
            }
        }
        fd = match rustix::fs::openat(&fd, &name, DIR_FLAGS, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => return Ok(Walk::Vanished),
            Err(err) => return Err(raced(&at, err)),
        };
        check(&fd, &at)?;
    }
    Ok(Walk::Opened(Opened {
        dir: Dir {
            path: path.to_path_buf(),
            fd,
        },
        created,
    }))
}

impl Dir {
    /// Open `path`, creating what is missing (mode 0700) when `create`, and
    /// check it and every directory above it. `None` when it does not exist
    /// and `create` is false.
    pub(crate) fn open(path: &Path, what: &str, create: bool) -> Result<Option<Opened>> {
        // A directory removed while it is walked (a cleanup removes an
        // empty state directory) is looked up again, and created if asked.
        let mut resolved = false;
        for _ in 0..8 {
            match walk(path, what, create, resolved)? {
                Walk::Opened(opened) => return Ok(Some(opened)),
                Walk::Missing => return Ok(None),
                Walk::Vanished => continue,
                Walk::Linked => resolved = true,
            }
        }
        Err(anyhow::anyhow!(
            "{} kept disappearing while it was opened",
            path.display()
        ))
    }

    /// Read `name`: `None` when it does not exist. A symlink, anything but
    /// a regular file, a file of another user and a file over `cap`
    /// bytes are refused (exit 3).
    pub(crate) fn read(&self, name: &str, cap: u64) -> Result<Option<Found>> {
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
            return Err(not_regular(&path).into());
        }
        if stat.st_uid != my_uid() {
            return Err(Failure::bad_input(format!(
                "{} is owned by another user (uid {}): it may have been planted",
                path.display(),
                stat.st_uid
            ))
            .with_hint(format!(
                "check where it came from, then remove it or {}",
                crate::cli::settings::another_value("--mode")
            ))
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
    pub(crate) fn write(
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
                    return Err(
                        Failure::bad_input(format!("{} is a directory", path.display())).into(),
                    );
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
                    return Err(write_failure(&self.path, &io(err)))
                        .with_context(|| format!("creating a file in {}", self.path.display()));
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
    pub(crate) fn link(&self, name: &str, new_name: &str) -> Result<bool> {
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
    pub(crate) fn rename(&self, from: &str, to: &str) -> Result<bool> {
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
    pub(crate) fn remove(&self, name: &str, durability: Durability) -> Result<()> {
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
    pub(crate) fn has(&self, name: &str) -> bool {
        rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW).is_ok()
    }

    /// The names in the directory.
    pub(crate) fn names(&self) -> Vec<String> {
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
    pub(crate) fn sync(&self) {
        let _ = rustix::fs::fsync(&self.fd);
    }

    /// Whether `other` is this same directory.
    pub(crate) fn same_as(&self, other: &Dir) -> bool {
        match (rustix::fs::fstat(&self.fd), rustix::fs::fstat(&other.fd)) {
            (Ok(a), Ok(b)) => a.st_dev == b.st_dev && a.st_ino == b.st_ino,
            _ => false,
        }
    }

    /// Whether the directory still has a name (was not removed).
    pub(crate) fn is_linked(&self) -> bool {
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
                    return Err(err).with_context(|| format!("locking {}", self.path.display()));
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
