//! Composer's view of credentials: where its files are, their shape, its host keys.

pub(crate) mod auth;
pub(crate) mod binary;
pub(crate) mod home;
pub(crate) mod repo_url;
pub(crate) mod shadow;
pub(crate) mod sources;

use std::path::{Path, PathBuf};

/// The project's composer.json, honouring the `COMPOSER` variable as Composer does.
pub(crate) fn composer_json(working_dir: &Path) -> PathBuf {
    let name = std::env::var_os("COMPOSER")
        .filter(|n| !n.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("composer.json"));
    working_dir.join(name)
}

/// The project's auth.json: beside composer.json.
pub(crate) fn project_auth_json(working_dir: &Path) -> PathBuf {
    parent_of(&composer_json(working_dir)).join("auth.json")
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Whether git ignores `path`: `None` when git is absent or `path` is not in a
/// work tree, so no warning is owed.
pub(crate) fn git_ignores(path: &Path) -> Option<bool> {
    let git = which::which("git").ok()?;
    let dir = parent_of(path);
    let name = path.file_name()?;
    let status = crate::harden::helper(git)
        .arg("check-ignore")
        .arg("-q")
        .arg("--")
        .arg(name)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .ok()?;
    match status.code() {
        Some(0) => Some(true),
        Some(1) => Some(false),
        _ => None,
    }
}
