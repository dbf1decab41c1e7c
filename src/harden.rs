//! Process hardening while secrets are held.
//!
//! On Linux the process is made non-dumpable: no core file, and no other
//! process of the same user may read its memory or `/proc/<pid>/environ`
//! (which holds the keys it was started with). Everywhere on Unix the soft
//! core-size limit is 0. `exec`'s child gets the user's limit back.

#[cfg(unix)]
use std::sync::OnceLock;

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
pub fn restore_for_child(command: &mut std::process::Command) {
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
