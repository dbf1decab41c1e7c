//! The leak sweep: prove that no file under some roots holds either key, in
//! any form setup or Composer could have written it. Files git ignores are
//! searched too (vendor/, var/ and build output are where leaks live);
//! `.git`, symbolic links and special files are not.

mod search;
mod walk;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use search::Needles;

use crate::sanitize::Form;
use crate::secret::Secret;

/// How a sweep is bounded.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub(crate) timeout: Duration,
    /// Read files over [`WHOLE_FILE_LIMIT`] whole, not only their ends.
    pub(crate) whole_files: bool,
    pub(crate) workers: usize,
}

/// What a sweep found.
#[derive(Debug, Default)]
pub(crate) struct Sweep {
    /// Each file holding a key: its path relative to its root, and the form.
    pub(crate) leaks: Vec<(PathBuf, Form)>,
    pub(crate) scanned_files: u64,
    pub(crate) scanned_bytes: u64,
    pub(crate) duration: Duration,
    /// `false` when the timeout cut it short.
    pub(crate) complete: bool,
}

/// Search every regular file under `roots` for any of `patterns`.
pub(crate) fn sweep(roots: &[PathBuf], patterns: Vec<(Form, Secret)>, limits: Limits) -> Sweep {
    let started = Instant::now();
    let needles = Needles::new(patterns);
    let leaks = Mutex::new(Vec::new());
    let (files, bytes) = (AtomicU64::new(0), AtomicU64::new(0));
    let visit = |path: &Path| {
        let (form, read) = needles.search_file(path, limits.whole_files);
        files.fetch_add(1, Ordering::Relaxed);
        bytes.fetch_add(read, Ordering::Relaxed);
        if let Some(form) = form {
            let mut leaks = leaks.lock().unwrap_or_else(|e| e.into_inner());
            leaks.push((relative(path, roots), form));
        }
    };
    let complete = walk::walk(roots, limits.workers, started + limits.timeout, &visit);
    let mut leaks = leaks.into_inner().unwrap_or_else(|e| e.into_inner());
    leaks.sort();
    Sweep {
        leaks,
        scanned_files: files.into_inner(),
        scanned_bytes: bytes.into_inner(),
        duration: started.elapsed(),
        complete,
    }
}

/// `path` relative to the root it was found under (a root that is a file
/// is named by its own name).
fn relative(path: &Path, roots: &[PathBuf]) -> PathBuf {
    roots
        .iter()
        .filter_map(|root| path.strip_prefix(root).ok())
        .find(|rel| !rel.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .or_else(|| path.file_name().map(PathBuf::from))
        .unwrap_or_else(|| path.to_path_buf())
}

/// As many workers as the machine has cores, at most 16: the sweep waits on
/// the disk as much as on the processor.
pub(crate) fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(4, |n| n.get().min(16))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn leaks_are_named_by_relative_path_and_form() {
        let root = tempfile::tempdir().unwrap();
        let base = root.path().to_path_buf();
        fs::create_dir_all(base.join("vendor/deep")).unwrap();
        fs::write(
            base.join("vendor/deep/auth.json"),
            "{\"password\": \"k3yk3yk3y\"}",
        )
        .unwrap();
        fs::write(base.join("clean.txt"), "nothing").unwrap();
        let sweep = sweep(
            &[base],
            vec![(Form::Raw, Secret::new("k3yk3yk3y".into()))],
            Limits {
                timeout: Duration::from_secs(10),
                whole_files: false,
                workers: 2,
            },
        );
        assert!(sweep.complete);
        assert_eq!(sweep.scanned_files, 2);
        assert_eq!(
            sweep.leaks,
            [(PathBuf::from("vendor/deep/auth.json"), Form::Raw)]
        );
    }
}
