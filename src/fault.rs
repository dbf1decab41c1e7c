//! Named points where a test can stop the process, to prove that a job killed
//! at any step loses nothing. Compiled in only with the `fault-points`
//! feature; otherwise each point is an empty inline function.

/// With `fault-points`: when `MAGENTO_AUTH_FAULT_POINT` names this point,
/// write its name to the file `MAGENTO_AUTH_FAULT_SIGNAL` names and wait to
/// be killed (aborting after 30 s if nobody does).
///
/// When `MAGENTO_AUTH_FAULT_PAUSE` names this point instead, write its name
/// the same way, then wait until that file is removed and go on (giving up
/// after 30 s): a race test changes the files between two system calls.
#[cfg(feature = "fault-points")]
pub(crate) fn point(name: &str) {
    let named = |var: &str| std::env::var_os(var).is_some_and(|wanted| wanted == name);
    let (kill, pause) = (
        named("MAGENTO_AUTH_FAULT_POINT"),
        named("MAGENTO_AUTH_FAULT_PAUSE"),
    );
    if !kill && !pause {
        return;
    }
    let signal = std::env::var_os("MAGENTO_AUTH_FAULT_SIGNAL").map(std::path::PathBuf::from);
    if let Some(signal) = &signal {
        let _ = std::fs::write(signal, name);
    }
    if pause {
        for _ in 0..3000 {
            if signal.as_ref().is_none_or(|s| !s.exists()) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        return;
    }
    std::thread::sleep(std::time::Duration::from_secs(30));
    std::process::abort();
}

#[cfg(not(feature = "fault-points"))]
#[inline(always)]
pub(crate) fn point(_name: &str) {}

/// The point `write:<file>:<step>` inside an atomic write, named without
/// allocating when the feature is off.
#[inline(always)]
#[cfg_attr(not(unix), allow(dead_code))] // only the Unix writes have points
pub(crate) fn write_point(_file: &str, _step: &str) {
    #[cfg(feature = "fault-points")]
    point(&format!("write:{_file}:{_step}"));
}

/// With `fault-points`: whether `MAGENTO_AUTH_FAULT_SIMULATE` names this
/// condition of the machine (such as `no-hard-links`), so tests reach paths
/// this machine would not take. Always `false` without the feature.
#[inline(always)]
#[cfg_attr(not(unix), allow(dead_code))]
pub(crate) fn simulated(_condition: &str) -> bool {
    #[cfg(feature = "fault-points")]
    return std::env::var_os("MAGENTO_AUTH_FAULT_SIMULATE").is_some_and(|c| c == _condition);
    #[cfg(not(feature = "fault-points"))]
    false
}
