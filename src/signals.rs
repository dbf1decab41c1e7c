//! exec's child and the signals meant for it.
//!
//! Every catchable terminating signal (HUP, INT, QUIT, TERM, USR1, USR2,
//! ALRM, PIPE) is caught for the whole of exec, so none ends it before
//! cleanup, and is passed on to the child once.
//!
//! Once, even when the signal went to exec's whole process group (`kill
//! -TERM -PGID`, a CI runner cancelling a job): the child runs in a process
//! group of its own, so such a signal reaches exec alone, and exec forwards
//! it. A child in exec's group would get it twice, directly and forwarded,
//! and exec cannot tell the two cases apart (both come from `kill`). When
//! exec is in the foreground of a terminal, the terminal is handed to the
//! child's group while it runs and taken back after, as a shell does for a
//! job, so Ctrl-C, Ctrl-\ and reads from the terminal reach the child
//! directly (and exec, no longer in the foreground, does not see them), and
//! Ctrl-Z stops the child and then exec, which resumes both on `fg`.

use std::process::Command;

use anyhow::Result;

#[cfg(unix)]
pub(crate) use unix::Forwarder;

/// Windows has no signals to forward: a console's Ctrl-C reaches the child
/// directly.
#[cfg(not(unix))]
pub(crate) struct Forwarder;

#[cfg(not(unix))]
impl Forwarder {
    pub(crate) fn start() -> Result<Self> {
        Ok(Forwarder)
    }

    /// Run `command` to its end; the status to exit with.
    pub(crate) fn run(self, mut command: Command) -> Result<u8> {
        let status = command.status()?;
        Ok(status.code().map_or(1, |c| c as u8))
    }
}

#[cfg(unix)]
mod unix {
    use std::os::fd::BorrowedFd;
    use std::os::unix::process::CommandExt;
    use std::sync::{Arc, Mutex};

    use rustix::process::{
        Pid, Signal, WaitId, WaitIdOptions, getpgrp, getpid, kill_process, kill_process_group,
        waitid,
    };
    use rustix::termios::{isatty, tcgetpgrp, tcsetpgrp};
    use signal_hook::consts::{
        SIGALRM, SIGHUP, SIGINT, SIGPIPE, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2,
    };
    use signal_hook::iterator::SignalsInfo;
    use signal_hook::iterator::backend::Handle;
    use signal_hook::iterator::exfiltrator::origin::WithOrigin;

    use super::{Command, Result};

    /// The catchable signals whose default action ends a process.
    pub(crate) const FORWARDED: [i32; 8] = [
        SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM, SIGPIPE,
    ];

    #[derive(Default)]
    struct Shared {
        /// The running child, which leads its own process group.
        child: Option<Pid>,
        /// The first signal that arrived, so none is lost before the child
        /// starts (then the child is not started at all).
        received: Option<i32>,
    }

    /// Catches [`FORWARDED`] from its start to the end of the process, and
    /// passes them to the child while it runs.
    pub(crate) struct Forwarder {
        shared: Arc<Mutex<Shared>>,
        handle: Handle,
    }

    impl Forwarder {
        pub(crate) fn start() -> Result<Self> {
            let mut signals = SignalsInfo::<WithOrigin>::new(FORWARDED)?;
            let handle = signals.handle();
            let shared = Arc::new(Mutex::new(Shared::default()));
            let forward = Arc::clone(&shared);
            let me = getpid().as_raw_nonzero().get();
            std::thread::spawn(move || {
                for origin in signals.forever() {
                    // SIGPIPE from exec's own write to a closed pipe is
                    // exec's business (the write fails), not the child's.
                    if origin.process.is_some_and(|p| p.pid == me) {
                        continue;
                    }
                    let mut shared = forward.lock().unwrap_or_else(|e| e.into_inner());
                    shared.received.get_or_insert(origin.signal);
                    if let (Some(child), Some(signal)) =
                        (shared.child, Signal::from_named_raw(origin.signal))
                    {
                        // The group, as a terminal or `kill -PGID` would
                        // have reached it; the child alone if it left it.
                        if kill_process_group(child, signal).is_err() {
                            let _ = kill_process(child, signal);
                        }
                    }
                }
            });
            Ok(Forwarder { shared, handle })
        }

        /// Start `command` unless a signal came first, wait for it to end;
        /// the status to exit with (128+N when it died of signal N).
        pub(crate) fn run(self, mut command: Command) -> Result<u8> {
            let terminal = foreground_terminal();
            command.process_group(0);
            let child = {
                let mut shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(signal) = shared.received {
                    return Ok(128u8.saturating_add(signal as u8));
                }
                let child = command.spawn().map_err(|err| {
                    anyhow::anyhow!(
                        "starting {:?}: {}",
                        command.get_program(),
                        crate::exit::plain_io(&err)
                    )
                })?;
                let pid = Pid::from_child(&child);
                shared.child = Some(pid);
                pid
            };
            if let Some(tty) = terminal {
                give_terminal(tty, child);
            }
            let status = wait(child, terminal, &self.shared);
            // Take the terminal back unless someone (a shell's `bg`, say)
            // already gave it to another group.
            if let Some(tty) = terminal
                && tcgetpgrp(tty).is_ok_and(|fg| fg == child)
            {
                give_terminal(tty, getpgrp());
            }
            self.handle.close();
            status
        }
    }

    /// Wait for the child to end; with a terminal, follow it through
    /// Ctrl-Z and `fg` as a shell would.
    fn wait(
        child: Pid,
        terminal: Option<BorrowedFd<'static>>,
        shared: &Mutex<Shared>,
    ) -> Result<u8> {
        let mut watch = WaitIdOptions::EXITED | WaitIdOptions::NOWAIT;
        if terminal.is_some() {
            watch |= WaitIdOptions::STOPPED;
        }
        loop {
            let status = match waitid(WaitId::Pid(child), watch) {
                Ok(Some(status)) => status,
                Ok(None) | Err(rustix::io::Errno::INTR) => continue,
                Err(err) => return Err(anyhow::Error::from(std::io::Error::from(err))),
            };
            if status.stopped() {
                // Consume the stop, which NOWAIT left in place.
                let _ = waitid(
                    WaitId::Pid(child),
                    WaitIdOptions::STOPPED | WaitIdOptions::NOHANG,
                );
                if let Some(tty) = terminal {
                    suspend_with(child, tty);
                }
                continue;
            }
            // The child is gone but not yet reaped, so its pid cannot be
            // reused: no forwarded signal can reach a stranger.
            shared.lock().unwrap_or_else(|e| e.into_inner()).child = None;
            let _ = waitid(WaitId::Pid(child), WaitIdOptions::EXITED);
            return Ok(match (status.exit_status(), status.terminating_signal()) {
                (Some(code), _) => code as u8,
                (None, Some(signal)) => 128u8.saturating_add(signal as u8),
                (None, None) => 1,
            });
        }
    }

    /// The child stopped (Ctrl-Z): take the terminal back, stop exec too
    /// so the shell sees its job stopped, and on `fg` give the terminal
    /// back and continue the child; on `bg` just continue it.
    fn suspend_with(child: Pid, tty: BorrowedFd<'static>) {
        give_terminal(tty, getpgrp());
        let _ = kill_process(getpid(), Signal::TSTP);
        // Here exec has been continued.
        if tcgetpgrp(tty).is_ok_and(|fg| fg == getpgrp()) {
            give_terminal(tty, child);
        }
        let _ = kill_process_group(child, Signal::CONT);
    }

    /// The terminal on stdin, stdout or stderr whose foreground is exec's
    /// process group, if any.
    fn foreground_terminal() -> Option<BorrowedFd<'static>> {
        let ours = getpgrp();
        [
            rustix::stdio::stdin(),
            rustix::stdio::stdout(),
            rustix::stdio::stderr(),
        ]
        .into_iter()
        .find(|fd| isatty(fd) && tcgetpgrp(fd).is_ok_and(|fg| fg == ours))
    }

    /// Make `group` the terminal's foreground, also from the background
    /// (where the kernel would stop exec with SIGTTOU unless it is blocked),
    /// and continue the child in case it touched the terminal too early.
    fn give_terminal(tty: BorrowedFd<'static>, group: Pid) {
        with_sigttou_blocked(|| {
            let _ = tcsetpgrp(tty, group);
        });
        if group != getpgrp() {
            let _ = kill_process_group(group, Signal::CONT);
        }
    }

    fn with_sigttou_blocked(f: impl FnOnce()) {
        // SAFETY: a zeroed sigset_t is a valid value to initialise;
        // sigemptyset/sigaddset fill it; pthread_sigmask changes this
        // thread's mask alone (a spawned child starts with an empty mask).
        let old = unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGTTOU);
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old);
            old
        };
        f();
        // SAFETY: puts back the mask read above.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
    }
}
