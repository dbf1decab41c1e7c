//! Careful file handling: atomic writes, no symlinks, owner-only modes, locks.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::exit::Failure;

/// The largest auth.json or state file read: far above any real one.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// A file as it was found: its bytes and permission bits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub bytes: Vec<u8>,
    pub mode: u32,
}

/// Read a file that magento-auth may replace. `None` when it does not exist.
/// A symlink, a directory or an oversized file is refused (exit 3).
pub fn read_target(path: &Path) -> Result<Option<Found>> {
    read_capped(path, MAX_FILE_BYTES)
}

/// [`read_target`] with another size cap.
pub fn read_capped(path: &Path, cap: u64) -> Result<Option<Found>> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(err) if err.kind() == ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(unusable(path, &err).into()),
    };
    if meta.file_type().is_symlink() {
        return Err(Failure::bad_input(format!(
            "{} is a symbolic link; magento-auth never writes through one",
            path.display()
        ))
        .with_hint("replace the link with a regular file, or choose another --mode")
        .into());
    }
    if !meta.is_file() {
        return Err(
            Failure::bad_input(format!("{} is not a regular file", path.display()))
                .with_hint("move it out of the way, or choose another --mode")
                .into(),
        );
    }
    if meta.len() > cap {
        return Err(Failure::bad_input(format!(
            "{} is larger than {} KiB, far more than such a file holds",
            path.display(),
            cap / 1024
        ))
        .with_hint("check what wrote it; move it out of the way, or choose another --mode")
        .into());
    }
    let mut file = File::open(path).map_err(|err| unusable(path, &err))?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    Read::by_ref(&mut file)
        .take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|err| unusable(path, &err))?;
    if bytes.len() as u64 > cap {
        return Err(
            Failure::bad_input(format!("{} grew while it was read", path.display())).into(),
        );
    }
    Ok(Some(Found {
        bytes,
        mode: mode_of(&meta),
    }))
}

fn unusable(path: &Path, err: &std::io::Error) -> Failure {
    Failure::bad_input(format!("cannot read {}: {}", path.display(), plain_io(err)))
        .with_hint("check the file's owner and permissions")
}

/// An I/O error without the "(os error N)" noise.
pub fn plain_io(err: &std::io::Error) -> String {
    let text = err.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

#[cfg(unix)]
fn mode_of(meta: &fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}

#[cfg(not(unix))]
fn mode_of(meta: &fs::Metadata) -> u32 {
    if meta.permissions().readonly() {
        0o400
    } else {
        0o600
    }
}

/// How much of a write must survive a power loss, not just a killed process
/// (which the rename alone survives). Each fsync costs about a millisecond
/// here, on a command that should take one or two.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// The content and the directory entry: for a state that holds the only
    /// copy of the user's previous auth.json, and for what cleanup puts back
    /// or removes before it drops the state.
    Full,
    /// The content before the rename, so the file is the old or the new one,
    /// never empty: for auth.json itself.
    Content,
    /// Neither: for the ledger, which only refines what the state makes safe,
    /// and a state with no previous file in it (lost with a power loss, it
    /// loses nothing of the user's).
    None,
}

/// Replace `path` with `bytes` atomically: a temporary file in the same
/// directory, fsync as `durability` says, rename. The file gets `mode`
/// exactly (umask does not apply). A symlink at `path` is refused.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32, durability: Durability) -> Result<()> {
    let dir = parent_of(path);
    if fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(Failure::bad_input(format!(
            "{} is a symbolic link; magento-auth never writes through one",
            path.display()
        ))
        .into());
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let (tmp_path, mut file) = create_temp(&dir, &name)?;
    let result = (|| -> std::io::Result<()> {
        set_mode(&file, mode)?;
        file.write_all(bytes)?;
        if durability != Durability::None {
            file.sync_data()?;
        }
        drop(file);
        crate::fault::write_point(&name, "temp-written");
        fs::rename(&tmp_path, path)?;
        crate::fault::write_point(&name, "renamed");
        if durability == Durability::Full {
            sync_dir(&dir);
        }
        Ok(())
    })()
    .map_err(|err| write_failure(&dir, &err));
    if result.is_err() {
        let _ = fs::remove_file(&tmp_path);
    }
    result.with_context(|| format!("writing {}", path.display()))
}

fn create_temp(dir: &Path, name: &str) -> Result<(PathBuf, File)> {
    let mut attempt = 0u32;
    loop {
        let tmp = dir.join(format!(
            ".{name}.magento-auth-{}-{attempt}.tmp",
            std::process::id()
        ));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
        }
        match options.open(&tmp) {
            Ok(file) => return Ok((tmp, file)),
            Err(err) if err.kind() == ErrorKind::AlreadyExists && attempt < 100 => attempt += 1,
            Err(err) => {
                return Err(write_failure(dir, &err))
                    .with_context(|| format!("creating a file in {}", dir.display()));
            }
        }
    }
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

#[cfg(unix)]
fn set_mode(file: &File, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_file: &File, _mode: u32) -> std::io::Result<()> {
    Ok(())
}

fn sync_dir(dir: &Path) {
    // Makes the rename durable; not every platform can open a directory.
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

pub fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The ancestors of `dir` (itself included) that do not exist, outermost first.
pub fn missing_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut missing: Vec<PathBuf> = dir
        .ancestors()
        .filter(|a| !a.as_os_str().is_empty())
        .take_while(|a| fs::symlink_metadata(a).is_err())
        .map(Path::to_path_buf)
        .collect();
    missing.reverse();
    missing
}

/// Create each directory with mode 0700.
pub fn create_private_dirs(dirs: &[PathBuf]) -> Result<()> {
    for dir in dirs {
        #[cfg_attr(not(unix), allow(unused_mut))]
        let mut builder = fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        match builder.create(dir) {
            Ok(()) => {}
            Err(err) if err.kind() == ErrorKind::AlreadyExists => {}
            Err(err) => {
                return Err(write_failure(&parent_of(dir), &err))
                    .with_context(|| format!("creating {}", dir.display()));
            }
        }
    }
    Ok(())
}

/// Remove directories setup created, innermost first, where they are empty.
pub fn remove_empty_dirs(dirs: &[PathBuf]) {
    for dir in dirs.iter().rev() {
        // Not empty (someone else wrote there) or gone: leave it.
        let _ = fs::remove_dir(dir);
    }
}

/// Where [`link_backup`] keeps `target` for the setup `id`:
/// `.<name>.magento-auth-<id>.orig` beside it.
pub fn backup_path(target: &Path, id: &str) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    parent_of(target).join(format!(".{name}.magento-auth-{id}.orig"))
}

/// Keep the file at `target` as it is under a second name, `backup`, a hard
/// link in the same directory, durably: no bytes are copied, and owner, mode
/// and times stay the file's. `false` where the file system has no hard links.
pub fn link_backup(target: &Path, backup: &Path) -> Result<bool> {
    let dir = parent_of(target);
    if crate::fault::simulated("no-hard-links") {
        return Ok(false);
    }
    match fs::hard_link(target, backup) {
        Ok(()) => {
            sync_dir(&dir);
            Ok(true)
        }
        Err(err)
            if err.kind() == ErrorKind::Unsupported
                || err.raw_os_error().is_some_and(is_no_links_error) =>
        {
            Ok(false)
        }
        Err(err) => Err(write_failure(&dir, &err))
            .with_context(|| format!("keeping {} aside", target.display())),
    }
}

#[cfg(unix)]
fn is_no_links_error(code: i32) -> bool {
    code == libc::EPERM || code == libc::EOPNOTSUPP || code == libc::EMLINK || code == libc::EXDEV
}

#[cfg(not(unix))]
fn is_no_links_error(_code: i32) -> bool {
    true
}

/// Put a backup from [`link_backup`] back in place, durably. `false` when the
/// backup is gone.
pub fn restore_backup(backup: &Path, target: &Path) -> Result<bool> {
    if fs::symlink_metadata(backup).map_or(true, |m| !m.is_file()) {
        return Ok(false);
    }
    fs::rename(backup, target)
        .map_err(|err| write_failure(&parent_of(target), &err))
        .with_context(|| format!("putting {} back", target.display()))?;
    crate::fault::point("cleanup:backup-renamed");
    sync_dir(&parent_of(target));
    Ok(true)
}

/// Remove a file; a file already gone is fine.
pub fn remove_file(path: &Path) -> Result<()> {
    remove_file_with(path, Durability::None)
}

/// Remove a file; with [`Durability::Full`] the removal reaches the disk
/// before this returns (cleanup's removal of a file that held keys must
/// not come back after a power loss that kept the state's removal).
pub fn remove_file_with(path: &Path, durability: Durability) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => {
            if durability == Durability::Full {
                sync_dir(&parent_of(path));
            }
            Ok(())
        }
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(()),
        Err(err) => Err(write_failure(&parent_of(path), &err))
            .with_context(|| format!("removing {}", path.display())),
    }
}

/// An exclusive lock on a directory, held until dropped: serialises setups and
/// cleanups of files in it, across processes. Leaves nothing on disk on Unix.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

impl DirLock {
    /// Wait for the lock, then remove temporary files a killed process left:
    /// every write in the directory happens under this lock, so any found
    /// now is stale (and may hold keys).
    pub fn acquire(dir: &Path) -> Result<Self> {
        let file =
            lock_handle(dir).with_context(|| format!("opening {} to lock it", dir.display()))?;
        file.lock()
            .with_context(|| format!("locking {}", dir.display()))?;
        remove_stale_temps(dir);
        Ok(DirLock { _file: file })
    }
}

/// Whether `name` is one of [`create_temp`]'s names: `.<file>.magento-auth-<pid>-<n>.tmp`.
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

fn remove_stale_temps(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_str().is_some_and(is_our_temp)
            && entry.file_type().is_ok_and(|t| t.is_file())
        {
            let _ = fs::remove_file(entry.path());
        }
    }
}

#[cfg(unix)]
fn lock_handle(dir: &Path) -> std::io::Result<File> {
    File::open(dir)
}

#[cfg(not(unix))]
fn lock_handle(dir: &Path) -> std::io::Result<File> {
    // Directories cannot be opened as files here: lock a file in the temp
    // directory named after the directory instead.
    let name = crate::composer::auth::sha256_hex(dir.to_string_lossy().as_bytes());
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(std::env::temp_dir().join(format!("magento-auth-{}.lock", &name[..16])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_sets_the_mode_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.json");
        write_atomic(&path, b"{}\n", 0o600, Durability::Full).unwrap();
        write_atomic(&path, b"{\"a\":1}\n", 0o644, Durability::None).unwrap();
        let found = read_target(&path).unwrap().unwrap();
        assert_eq!(found.bytes, b"{\"a\":1}\n");
        #[cfg(unix)]
        assert_eq!(found.mode, 0o644);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_are_refused_and_their_target_not_created() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere.json");
        let link = dir.path().join("auth.json");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(read_target(&link).is_err());
        assert!(write_atomic(&link, b"{}", 0o600, Durability::Content).is_err());
        assert!(!target.exists());
    }

    #[test]
    fn missing_dirs_are_listed_outermost_first_and_created_private() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("a/b/c");
        let missing = missing_dirs(&deep);
        assert_eq!(
            missing,
            [dir.path().join("a"), dir.path().join("a/b"), deep.clone()]
        );
        create_private_dirs(&missing).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&deep).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700);
        }
        remove_empty_dirs(&missing);
        assert!(!dir.path().join("a").exists());
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
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(".auth.json.magento-auth-1-0.tmp"), "k").unwrap();
        fs::write(dir.path().join(".keep.tmp"), "k").unwrap();
        drop(DirLock::acquire(dir.path()).unwrap());
        let left: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(left, [".keep.tmp"]);
    }

    #[test]
    fn oversized_and_directory_targets_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read_target(dir.path()).is_err());
        let big = dir.path().join("big.json");
        fs::write(&big, vec![b' '; (MAX_FILE_BYTES + 1) as usize]).unwrap();
        assert!(read_target(&big).is_err());
        assert_eq!(read_target(&dir.path().join("none")).unwrap(), None);
    }
}
