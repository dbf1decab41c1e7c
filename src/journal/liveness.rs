//! Whether the job behind a setup still runs.
//!
//! A setup returns at once while its job goes on, so its own process proves
//! nothing. Each setup records an anchor: a process that lives as long as
//! its job, with what tells it apart from a later process of the same pid
//! (its start time, the machine's boot id and host name).
//! - `exec`: itself; it lives as long as the command it runs.
//! - `setup` on GitHub Actions: the runner's `Runner.Worker`, which runs one
//!   job and ends with it (the step's shell ends with the step).
//! - `setup` elsewhere: its parent, the job's shell (GitLab runs
//!   `before_script` and `script` in one shell; a local shell is the user's).
//!
//! A setup is dead when its anchor has ended (no such process, or another
//! process under its pid) or the machine has restarted since. On another
//! machine (a shared network home) or without a process table to look in,
//! death cannot be proven and magento-auth warns instead.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Anchor {
    pub(crate) pid: u32,
    /// Its start time in clock ticks since boot (Linux).
    pub(crate) start: Option<u64>,
    /// The machine's boot id (Linux).
    pub(crate) boot: Option<String>,
    pub(crate) machine: String,
}

/// Which process a setup's job lives as long as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lifetime {
    /// This process (`exec`).
    ThisProcess,
    /// The job that ran this command (`setup`); `on_github` looks for the
    /// runner's worker among the ancestors.
    Job { on_github: bool },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Liveness {
    #[cfg_attr(not(unix), allow(dead_code))]
    Alive,
    Dead(String),
    /// Cannot be told from here; why.
    Unknown(String),
}

/// The anchor for a setup that lives as long as `lifetime` says.
pub(crate) fn anchor(lifetime: Lifetime) -> Option<Anchor> {
    let pid = match lifetime {
        Lifetime::ThisProcess => std::process::id(),
        Lifetime::Job { on_github } => job_process(on_github)?,
    };
    Some(Anchor {
        pid,
        start: start_time(pid),
        boot: boot_id(),
        machine: machine_name()?,
    })
}

/// Whether the setup anchored at `anchor` still runs.
pub(crate) fn check(anchor: Option<&Anchor>) -> Liveness {
    let Some(anchor) = anchor else {
        return Liveness::Unknown("it recorded no process to check".into());
    };
    if machine_name().as_deref() != Some(anchor.machine.as_str()) {
        return Liveness::Unknown(format!(
            "it was set up on another machine, {}",
            anchor.machine
        ));
    }
    if let (Some(then), Some(now)) = (&anchor.boot, boot_id())
        && *then != now
    {
        return Liveness::Dead("the machine has restarted since".into());
    }
    process_liveness(anchor)
}

#[cfg(target_os = "linux")]
fn process_liveness(anchor: &Anchor) -> Liveness {
    match (stat_fields(anchor.pid), anchor.start) {
        (None, _) => Liveness::Dead(format!("its job's process {} has ended", anchor.pid)),
        (Some(fields), Some(start)) if fields.start != start => Liveness::Dead(format!(
            "its job's process {} has ended (another process has its id now)",
            anchor.pid
        )),
        _ => Liveness::Alive,
    }
}

#[cfg(all(unix, not(target_os = "linux")))]
fn process_liveness(anchor: &Anchor) -> Liveness {
    use rustix::process::{Pid, test_kill_process};
    let Some(pid) = i32::try_from(anchor.pid).ok().and_then(Pid::from_raw) else {
        return Liveness::Unknown("its process id is not valid here".into());
    };
    match test_kill_process(pid) {
        Err(rustix::io::Errno::SRCH) => {
            Liveness::Dead(format!("its job's process {} has ended", anchor.pid))
        }
        // A process of that id exists (it may be another one: without start
        // times, a reused id reads as alive, which is the safe side).
        _ => Liveness::Alive,
    }
}

#[cfg(not(unix))]
fn process_liveness(_anchor: &Anchor) -> Liveness {
    Liveness::Unknown("processes cannot be checked on this platform".into())
}

/// The fields of `/proc/<pid>/stat` this module reads.
#[cfg(target_os = "linux")]
struct StatFields {
    parent: u32,
    start: u64,
    name: String,
}

#[cfg(target_os = "linux")]
fn stat_fields(pid: u32) -> Option<StatFields> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The name is in parentheses and may hold anything, spaces and `)` too.
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let name = text.get(open + 1..close)?.to_string();
    let rest: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    // Fields from the third on: state, ppid (4th), ..., starttime (22nd).
    let state = *rest.first()?;
    if state == "Z" || state == "X" {
        // A zombie has ended; only its parent has not reaped it yet.
        return None;
    }
    Some(StatFields {
        parent: rest.get(1)?.parse().ok()?,
        start: rest.get(19)?.parse().ok()?,
        name,
    })
}

#[cfg(target_os = "linux")]
fn start_time(pid: u32) -> Option<u64> {
    stat_fields(pid).map(|f| f.start)
}

#[cfg(not(target_os = "linux"))]
fn start_time(_pid: u32) -> Option<u64> {
    None
}

#[cfg(target_os = "linux")]
fn boot_id() -> Option<String> {
    let text = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    Some(text.trim().to_string())
}

#[cfg(not(target_os = "linux"))]
fn boot_id() -> Option<String> {
    None
}

#[cfg(unix)]
fn machine_name() -> Option<String> {
    let name = rustix::system::uname();
    name.nodename().to_str().ok().map(str::to_string)
}

#[cfg(not(unix))]
fn machine_name() -> Option<String> {
    std::env::var("COMPUTERNAME").ok()
}

/// The process the job of this command lives as long as.
#[cfg(unix)]
fn job_process(on_github: bool) -> Option<u32> {
    let parent = rustix::process::getppid()?
        .as_raw_nonzero()
        .get()
        .unsigned_abs();
    #[cfg(target_os = "linux")]
    if on_github {
        // The runner's worker, a few generations up: node or a shell, then
        // the worker. Bounded, in case of a loop.
        let mut pid = parent;
        for _ in 0..32 {
            let Some(fields) = stat_fields(pid) else {
                break;
            };
            if fields.name == "Runner.Worker" {
                return Some(pid);
            }
            if fields.parent <= 1 {
                break;
            }
            pid = fields.parent;
        }
    }
    let _ = on_github;
    Some(parent)
}

#[cfg(not(unix))]
fn job_process(_on_github: bool) -> Option<u32> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_finished_one_is_dead() {
        let me = anchor(Lifetime::ThisProcess).unwrap();
        // Elsewhere no process can be checked: every holder is unknown.
        if cfg!(not(unix)) {
            assert!(matches!(check(Some(&me)), Liveness::Unknown(_)));
            return;
        }
        assert_eq!(check(Some(&me)), Liveness::Alive);
        #[cfg(unix)]
        {
            let mut child = std::process::Command::new("true").spawn().unwrap();
            let pid = child.id();
            child.wait().unwrap();
            let gone = Anchor { pid, ..me.clone() };
            assert!(matches!(check(Some(&gone)), Liveness::Dead(_)));
        }
        #[cfg(target_os = "linux")]
        {
            let reused = Anchor {
                start: me.start.map(|s| s + 1),
                ..me.clone()
            };
            assert!(matches!(check(Some(&reused)), Liveness::Dead(_)));
            let rebooted = Anchor {
                boot: Some("another boot".into()),
                ..me.clone()
            };
            assert!(matches!(check(Some(&rebooted)), Liveness::Dead(_)));
        }
        let elsewhere = Anchor {
            machine: "another-machine".into(),
            ..me
        };
        assert!(matches!(check(Some(&elsewhere)), Liveness::Unknown(_)));
        assert!(matches!(check(None), Liveness::Unknown(_)));
    }
}
