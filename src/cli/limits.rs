//! The ranges of numeric options, checked in one place (exit 3 outside),
//! and the parsers that let a huge value reach that check.

use std::time::Duration;

use super::settings;
use crate::exit::Failure;

/// The most `--retries`: with backoff, more only prolongs a failing job.
pub(crate) const MAX_RETRIES: u32 = 10;

/// The longest `--timeout`: an hour is far beyond any healthy repository,
/// and keeps every deadline computed from it far from overflow.
pub(crate) const MAX_TIMEOUT_SECONDS: u64 = 3600;

/// `--timeout` as a duration, refused (exit 3) outside 1..=3600 seconds.
/// Every timeout option goes through here, so all share one range.
pub(crate) fn timeout(seconds: u64) -> Result<Duration, Failure> {
    if (1..=MAX_TIMEOUT_SECONDS).contains(&seconds) {
        return Ok(Duration::from_secs(seconds));
    }
    Err(Failure::bad_input(format!(
        "{} is out of range: {}",
        settings::name("--timeout"),
        shown(seconds)
    ))
    .with_hint(format!(
        "give a number of seconds from 1 to {MAX_TIMEOUT_SECONDS}"
    )))
}

/// `--retries`, refused (exit 3) above 10.
pub(crate) fn retries(n: u32) -> Result<u32, Failure> {
    if n <= MAX_RETRIES {
        return Ok(n);
    }
    Err(Failure::bad_input(format!(
        "{} is out of range: {}",
        settings::name("--retries"),
        shown(if n == u32::MAX { u64::MAX } else { n.into() })
    ))
    .with_hint(format!("give a number from 0 to {MAX_RETRIES}")))
}

/// A number as the user gave it, unless it was too large to hold.
fn shown(n: u64) -> String {
    match n {
        u64::MAX => "too large".into(),
        n => n.to_string(),
    }
}

/// A whole number whose overflow saturates, so that a huge value reaches
/// the range check (exit 3) instead of failing as a usage error.
pub(crate) fn saturating_u64(text: &str) -> Result<u64, String> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err("expected a whole number".into());
    }
    Ok(text.parse::<u64>().unwrap_or(u64::MAX))
}

pub(crate) fn saturating_u32(text: &str) -> Result<u32, String> {
    saturating_u64(text).map(|n| u32::try_from(n).unwrap_or(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_checked_in_one_place() {
        assert_eq!(timeout(1).unwrap(), Duration::from_secs(1));
        assert_eq!(timeout(3600).unwrap(), Duration::from_secs(3600));
        for bad in [0, 3601, u64::MAX] {
            let failure = timeout(bad).unwrap_err();
            assert_eq!(failure.code, crate::exit::Code::BadInput, "{bad}");
        }
        assert_eq!(retries(10).unwrap(), 10);
        assert!(retries(11).is_err());
        assert!(retries(u32::MAX).is_err());
        assert_eq!(saturating_u64("18446744073709551616"), Ok(u64::MAX));
        assert_eq!(saturating_u32("4294967296"), Ok(u32::MAX));
        assert!(saturating_u64("-1").is_err());
        assert!(saturating_u64("").is_err());
    }
}
