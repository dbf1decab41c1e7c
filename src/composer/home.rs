//! Composer's home directory, resolved exactly as `Factory::getHomeDir` does.

use std::path::{Path, PathBuf};

use crate::cli::settings;
use crate::exit::Failure;

/// What the resolution reads, so tests can give it any environment.
pub(crate) trait HomeEnv {
    fn var(&self, name: &str) -> Option<String>;
    /// Whether any variable whose name starts with `XDG_` is set (even empty).
    fn has_xdg_var(&self) -> bool;
    fn is_dir(&self, path: &Path) -> bool;
}

/// The real process environment and file system.
pub(crate) struct ProcessEnv;

impl HomeEnv for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
    }
    fn has_xdg_var(&self) -> bool {
        std::env::vars_os().any(|(k, _)| k.to_string_lossy().starts_with("XDG_"))
    }
    fn is_dir(&self, path: &Path) -> bool {
        path.is_dir()
    }
}

/// PHP's truthiness of a string: unset, "" and "0" are false.
fn truthy(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty() && v != "0")
}

/// Composer's home directory for this platform.
pub(crate) fn composer_home(env: &dyn HomeEnv) -> Result<PathBuf, Failure> {
    resolve(env, cfg!(windows))
}

/// The way out when Composer has no home: a mode that needs none.
fn other_mode() -> String {
    format!(
        "set COMPOSER_HOME, or set {} to project or env",
        settings::name("--mode")
    )
}

/// `Factory::getHomeDir`, with the platform as a parameter so every branch is
/// testable everywhere.
pub(crate) fn resolve(env: &dyn HomeEnv, windows: bool) -> Result<PathBuf, Failure> {
    if let Some(home) = truthy(env.var("COMPOSER_HOME")) {
        return Ok(PathBuf::from(home));
    }
    if windows {
        let appdata = truthy(env.var("APPDATA")).ok_or_else(|| {
            Failure::bad_input(
                "neither APPDATA nor COMPOSER_HOME is set, so Composer has no home directory",
            )
            .with_hint(other_mode())
        })?;
        let appdata = appdata.replace('\\', "/");
        return Ok(PathBuf::from(format!(
            "{}/Composer",
            appdata.trim_end_matches('/')
        )));
    }
    let user_dir = truthy(env.var("HOME"))
        .ok_or_else(|| {
            Failure::bad_input(
                "neither HOME nor COMPOSER_HOME is set, so Composer has no home directory",
            )
            .with_hint(other_mode())
        })?
        .replace('\\', "/");
    let user_dir = user_dir.trim_end_matches('/');
    let mut dirs = Vec::with_capacity(2);
    if env.has_xdg_var() || env.is_dir(Path::new("/etc/xdg")) {
        let config =
            truthy(env.var("XDG_CONFIG_HOME")).unwrap_or_else(|| format!("{user_dir}/.config"));
        dirs.push(PathBuf::from(format!("{config}/composer")));
    }
    dirs.push(PathBuf::from(format!("{user_dir}/.composer")));
    let existing = dirs.iter().position(|d| env.is_dir(d)).unwrap_or(0);
    Ok(dirs.swap_remove(existing))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    #[derive(Default)]
    struct FakeEnv {
        vars: HashMap<&'static str, &'static str>,
        dirs: HashSet<&'static str>,
    }

    impl HomeEnv for FakeEnv {
        fn var(&self, name: &str) -> Option<String> {
            self.vars.get(name).map(|v| v.to_string())
        }
        fn has_xdg_var(&self) -> bool {
            self.vars.keys().any(|k| k.starts_with("XDG_"))
        }
        fn is_dir(&self, path: &Path) -> bool {
            self.dirs.contains(path.to_str().unwrap())
        }
    }

    fn env(vars: &[(&'static str, &'static str)], dirs: &[&'static str]) -> FakeEnv {
        FakeEnv {
            vars: vars.iter().copied().collect(),
            dirs: dirs.iter().copied().collect(),
        }
    }

    fn unix(e: &FakeEnv) -> String {
        resolve(e, false).unwrap().to_string_lossy().into_owned()
    }

    #[test]
    fn composer_home_wins_unless_php_falsy() {
        assert_eq!(
            unix(&env(&[("COMPOSER_HOME", "/ch"), ("HOME", "/h")], &[])),
            "/ch"
        );
        assert_eq!(
            unix(&env(&[("COMPOSER_HOME", "0"), ("HOME", "/h")], &[])),
            "/h/.composer"
        );
        assert_eq!(
            unix(&env(&[("COMPOSER_HOME", ""), ("HOME", "/h")], &[])),
            "/h/.composer"
        );
    }

    #[test]
    fn without_xdg_it_is_dot_composer() {
        assert_eq!(unix(&env(&[("HOME", "/h/")], &[])), "/h/.composer");
        assert_eq!(unix(&env(&[("HOME", "/")], &[])), "/.composer");
    }

    #[test]
    fn xdg_prefers_the_first_existing_dir_else_the_xdg_one() {
        let vars = [("HOME", "/h"), ("XDG_RUNTIME_DIR", "/run")];
        assert_eq!(unix(&env(&vars, &[])), "/h/.config/composer");
        assert_eq!(unix(&env(&vars, &["/h/.composer"])), "/h/.composer");
        assert_eq!(
            unix(&env(&vars, &["/h/.composer", "/h/.config/composer"])),
            "/h/.config/composer"
        );
        let custom = [("HOME", "/h"), ("XDG_CONFIG_HOME", "/cfg")];
        assert_eq!(unix(&env(&custom, &[])), "/cfg/composer");
        // An empty XDG_CONFIG_HOME still turns XDG on, with the default dir.
        let empty = [("HOME", "/h"), ("XDG_CONFIG_HOME", "")];
        assert_eq!(unix(&env(&empty, &[])), "/h/.config/composer");
    }

    #[test]
    fn etc_xdg_turns_xdg_on() {
        assert_eq!(
            unix(&env(&[("HOME", "/h")], &["/etc/xdg"])),
            "/h/.config/composer"
        );
    }

    #[test]
    fn no_home_is_an_error() {
        assert!(resolve(&env(&[], &[]), false).is_err());
        assert!(resolve(&env(&[("HOME", "/h")], &[]), true).is_err());
    }

    #[test]
    fn windows_uses_appdata() {
        let e = env(&[("APPDATA", "C:\\Users\\u\\AppData\\Roaming\\")], &[]);
        assert_eq!(
            resolve(&e, true).unwrap().to_string_lossy(),
            "C:/Users/u/AppData/Roaming/Composer"
        );
        let e = env(&[("APPDATA", "C:\\x"), ("COMPOSER_HOME", "D:\\c")], &[]);
        assert_eq!(resolve(&e, true).unwrap().to_string_lossy(), "D:\\c");
    }
}
