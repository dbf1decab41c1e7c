//! A parallel walk over every regular file under some roots: what git
//! ignores too, never `.git`, never through a symbolic link, no special
//! file. Workers share one stack of directories still to read.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Instant;

/// Directories waiting to be read, and how many workers are reading one
/// (the walk is over when none waits and none is being read).
struct Queue {
    dirs: Vec<PathBuf>,
    busy: usize,
}

/// Walk `roots` with `workers` threads, calling `visit` on every regular
/// file, until everything was seen or `deadline` passed. `false` when the
/// deadline cut the walk short.
pub(crate) fn walk(
    roots: &[PathBuf],
    workers: usize,
    deadline: Instant,
    visit: &(dyn Fn(&Path) + Sync),
) -> bool {
    let mut dirs = Vec::new();
    for root in roots {
        match fs::symlink_metadata(root) {
            Ok(meta) if meta.is_dir() => dirs.push(root.clone()),
            Ok(meta) if meta.is_file() => visit(root),
            _ => {}
        }
    }
    let queue = Mutex::new(Queue { dirs, busy: 0 });
    let more = Condvar::new();
    let late = AtomicBool::new(false);
    std::thread::scope(|scope| {
        for _ in 0..workers.max(1) {
            scope.spawn(|| worker(&queue, &more, &late, deadline, visit));
        }
    });
    !late.load(Ordering::Relaxed)
}

fn worker(
    queue: &Mutex<Queue>,
    more: &Condvar,
    late: &AtomicBool,
    deadline: Instant,
    visit: &(dyn Fn(&Path) + Sync),
) {
    loop {
        let dir = {
            let mut q = queue.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                if late.load(Ordering::Relaxed) {
                    return;
                }
                if let Some(dir) = q.dirs.pop() {
                    q.busy += 1;
                    break dir;
                }
                if q.busy == 0 {
                    more.notify_all();
                    return;
                }
                q = more.wait(q).unwrap_or_else(|e| e.into_inner());
            }
        };
        let found = read_dir(&dir, deadline, late, visit);
        let mut q = queue.lock().unwrap_or_else(|e| e.into_inner());
        q.dirs.extend(found);
        q.busy -= 1;
        more.notify_all();
    }
}

/// Visit the files of `dir`; its subdirectories, to be read next.
fn read_dir(
    dir: &Path,
    deadline: Instant,
    late: &AtomicBool,
    visit: &(dyn Fn(&Path) + Sync),
) -> Vec<PathBuf> {
    let mut subdirs = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return subdirs;
    };
    for entry in entries.flatten() {
        if Instant::now() >= deadline {
            late.store(true, Ordering::Relaxed);
            break;
        }
        // The entry's own type, not its target's: a link is never followed.
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        if kind.is_dir() {
            if entry.file_name() != ".git" {
                subdirs.push(path);
            }
        } else if kind.is_file() {
            visit(&path);
        }
    }
    subdirs
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn every_regular_file_once_but_not_git_links_or_loops() {
        let root = tempfile::tempdir().unwrap();
        let base = root.path();
        for dir in ["a/b/c", "vendor/x", ".git/objects", "var"] {
            fs::create_dir_all(base.join(dir)).unwrap();
        }
        for file in [
            "top",
            "a/one",
            "a/b/c/deep",
            "vendor/x/lib.php",
            ".git/objects/o",
            "var/log",
        ] {
            fs::write(base.join(file), file).unwrap();
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(base, base.join("a/loop")).unwrap();
            std::os::unix::fs::symlink(base.join("top"), base.join("link")).unwrap();
        }
        let seen = Mutex::new(Vec::new());
        let done = walk(
            &[base.to_path_buf()],
            4,
            Instant::now() + Duration::from_secs(10),
            &|path| {
                let rel = path
                    .strip_prefix(base)
                    .unwrap()
                    .to_string_lossy()
                    .replace(std::path::MAIN_SEPARATOR, "/");
                seen.lock().unwrap().push(rel);
            },
        );
        assert!(done);
        let mut seen = seen.into_inner().unwrap();
        seen.sort();
        assert_eq!(
            seen,
            ["a/b/c/deep", "a/one", "top", "var/log", "vendor/x/lib.php"]
        );
    }

    #[test]
    fn a_passed_deadline_cuts_the_walk_short() {
        let root = tempfile::tempdir().unwrap();
        fs::write(root.path().join("f"), "x").unwrap();
        let done = walk(&[root.path().to_path_buf()], 2, Instant::now(), &|_| {});
        assert!(!done);
    }
}
