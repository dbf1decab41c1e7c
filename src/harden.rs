//! Process hardening while secrets are held.
//!
//! On Linux the process is made non-dumpable: no core file, and no other
//! process of the same user may read its memory or `/proc/<pid>/environ`
//! (which holds the keys it was started with). Everywhere on Unix the soft
//! core-size limit is 0. `exec`'s child gets the user's limit back.
//!
//! Every child process is made here, so that none inherits a credential
//! unless it is exec's own child, and then only as documented.

use std::ffi::OsStr;
use std::process::Command;
#[cfg(unix)]
use std::sync::OnceLock;

/// Secrets besides the keys that a helper never needs.
const HELPER_NEVER_SEES: [&str; 2] = ["COMPOSER_AUTH", "MAGENTO_DOWNLOAD_TOKEN"];

/// A helper process (`git check-ignore`, `composer --version`): the user's
/// environment without the key variables (the defaults and any named by
/// `--public-key-env`/`--private-key-env`), `COMPOSER_AUTH` or the download
/// token. A helper needs none of them, and what it inherits can end up in
/// its logs, crash reports or its own children.
pub fn helper(program: impl AsRef<OsStr>) -> Command {
    let mut command = Command::new(program);
    for name in crate::keys::key_variables() {
        command.env_remove(name);
    }
    for name in HELPER_NEVER_SEES {
        command.env_remove(name);
    }
    crate::restore_backtrace_env(&mut command);
    command
}

/// exec's own child: the user's environment and limits without the key
/// variables; the caller adds credentials in their documented form
/// (`COMPOSER_AUTH` in env mode, a file otherwise).
pub fn exec_child(program: impl AsRef<OsStr>) -> Command {
    let mut command = Command::new(program);
    for name in crate::keys::key_variables() {
        command.env_remove(name);
    }
    crate::restore_backtrace_env(&mut command);
    restore_for_child(&mut command);
    command
}

#[cfg(unix)]
static CORE_LIMIT: OnceLock<libc::rlim_t> = OnceLock::new();

/// Harden this process. Best effort: a platform that refuses is no reason
/// to fail a job.
pub fn harden() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with PR_SET_DUMPABLE takes plain integers.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit and setrlimit read and write the struct given.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_CORE, &mut limit) == 0 {
                CORE_LIMIT.get_or_init(|| limit.rlim_cur);
                limit.rlim_cur = 0;
                libc::setrlimit(libc::RLIMIT_CORE, &limit);
            }
        }
    }
}

/// Give a child the core-size limit the user had.
fn restore_for_child(command: &mut Command) {
    #[cfg(unix)]
    if let Some(&soft) = CORE_LIMIT.get() {
        use std::os::unix::process::CommandExt;
        // SAFETY: only async-signal-safe calls run between fork and exec.
        unsafe {
            command.pre_exec(move || {
                let mut limit = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                if libc::getrlimit(libc::RLIMIT_CORE, &mut limit) == 0 {
                    limit.rlim_cur = soft.min(limit.rlim_max);
                    libc::setrlimit(libc::RLIMIT_CORE, &limit);
                }
                Ok(())
            });
        }
    }
    #[cfg(not(unix))]
    let _ = command;
}
