//! Process hardening while secrets are held.
//!
//! Backtraces are never captured (they would cost time and could hold
//! anything); children get the user's setting back.
//!
//! On Linux the process is made non-dumpable: no core file, and no other
//! process of the same user may read its memory or `/proc/<pid>/environ`
//! (which holds the keys it was started with). Everywhere on Unix the soft
//! core-size limit is 0. `exec`'s child gets the user's limit back.
//!
//! Every child process is made here, so that none inherits a credential
//! unless it is exec's own child, and then only as documented.

use std::ffi::{OsStr, OsString};
use std::process::Command;
use std::sync::OnceLock;

/// Secrets besides the keys that a helper never needs.
const HELPER_NEVER_SEES: [&str; 2] = ["COMPOSER_AUTH", "MAGENTO_DOWNLOAD_TOKEN"];

/// A helper process (`git check-ignore`, `composer --version`): the user's
/// environment without the key variables (the defaults and any named by
/// `--public-key-env`/`--private-key-env`), `COMPOSER_AUTH` or the download
/// token. A helper needs none of them, and what it inherits can end up in
/// its logs, crash reports or its own children.
pub(crate) fn helper(program: impl AsRef<OsStr>) -> Command {
    let mut command = Command::new(program);
    for name in crate::keys::key_variables() {
        command.env_remove(name);
    }
    for name in HELPER_NEVER_SEES {
        command.env_remove(name);
    }
    restore_backtrace_env(&mut command);
    command
}

/// exec's own child: the user's environment and limits without the key
/// variables; the caller adds credentials in their documented form
/// (`COMPOSER_AUTH` in env mode, a file otherwise).
pub(crate) fn exec_child(program: impl AsRef<OsStr>) -> Command {
    let mut command = Command::new(program);
    for name in crate::keys::key_variables() {
        command.env_remove(name);
    }
    restore_backtrace_env(&mut command);
    restore_for_child(&mut command);
    command
}

#[cfg(unix)]
static CORE_LIMIT: OnceLock<Option<u64>> = OnceLock::new();

static ORIGINAL_BACKTRACE: OnceLock<Option<OsString>> = OnceLock::new();

/// Turn off backtrace capture in this process: errors never show one, so
/// capturing one (which anyhow does when RUST_BACKTRACE is set, as some CI
/// images do) is wasted time. Call once, first thing in `main`, before any
/// thread exists.
pub fn disable_backtraces() {
    ORIGINAL_BACKTRACE.get_or_init(|| std::env::var_os("RUST_LIB_BACKTRACE"));
    // SAFETY: called at the start of main, while the process has one thread,
    // so nothing reads the environment at the same time.
    unsafe { std::env::set_var("RUST_LIB_BACKTRACE", "0") };
}

/// An empty `MAGENTO_AUTH_*` variable means the setting is not set, as a CI
/// template that exports every input, empty or not, expects; clap would read
/// it as an empty value. Call once, first thing in `main`, before any thread
/// exists.
pub fn forget_empty_settings() {
    let empty: Vec<OsString> = std::env::vars_os()
        .filter(|(name, value)| {
            value.is_empty()
                && name
                    .to_str()
                    .is_some_and(|n| n.starts_with("MAGENTO_AUTH_"))
        })
        .map(|(name, _)| name)
        .collect();
    for name in empty {
        // SAFETY: called at the start of main, while the process has one
        // thread, so nothing reads the environment at the same time.
        unsafe { std::env::remove_var(name) };
    }
}

/// Give a child process the RUST_LIB_BACKTRACE the user had.
fn restore_backtrace_env(command: &mut Command) {
    match ORIGINAL_BACKTRACE.get() {
        Some(Some(value)) => {
            command.env("RUST_LIB_BACKTRACE", value);
        }
        _ => {
            command.env_remove("RUST_LIB_BACKTRACE");
        }
    }
}

/// A panic prints where, never its payload (which could hold anything) and
/// never a backtrace.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        use crate::report::{Console, Reporter};
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        Console.error(
            &format!("internal error{place}"),
            Some("this is a bug in magento-auth; please report it"),
        );
    }));
}

/// Harden this process. Best effort: a platform that refuses is no reason
/// to fail a job.
pub(crate) fn harden() {
    #[cfg(target_os = "linux")]
    let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
    #[cfg(unix)]
    {
        use rustix::process::{Resource, getrlimit, setrlimit};
        let mut limit = getrlimit(Resource::Core);
        CORE_LIMIT.get_or_init(|| limit.current);
        limit.current = Some(0);
        let _ = setrlimit(Resource::Core, limit);
    }
}

/// Give a child the core-size limit the user had.
fn restore_for_child(command: &mut Command) {
    #[cfg(unix)]
    if let Some(&soft) = CORE_LIMIT.get() {
        use std::os::unix::process::CommandExt;
        // SAFETY: between fork and exec only the getrlimit and setrlimit
        // system calls run (rustix calls them directly), which are
        // async-signal-safe, and nothing is allocated.
        unsafe {
            command.pre_exec(move || {
                use rustix::process::{Resource, getrlimit, setrlimit};
                let mut limit = getrlimit(Resource::Core);
                limit.current = match (soft, limit.maximum) {
                    (Some(soft), Some(hard)) => Some(soft.min(hard)),
                    (None, hard) => hard,
                    (soft, None) => soft,
                };
                let _ = setrlimit(Resource::Core, limit);
                Ok(())
            });
        }
    }
    #[cfg(not(unix))]
    let _ = command;
}
