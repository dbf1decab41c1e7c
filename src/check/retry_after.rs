//! How long a `Retry-After` header asks to wait.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// delay-seconds, or an HTTP date from `now` in any of the three forms
/// RFC 9110 has recipients accept (read by httpdate). A date in the past
/// means now; a number or date too large to hold means "longer than any
/// check waits"; anything else is `None` (the caller then backs off on its own).
pub(crate) fn retry_after_from(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Duration::from_secs(
            value.parse::<u64>().unwrap_or(u64::MAX),
        ));
    }
    let now = now.duration_since(UNIX_EPOCH).ok()?.as_secs();
    let at = match httpdate::parse_http_date(value) {
        Ok(at) => at.duration_since(UNIX_EPOCH).ok()?.as_secs(),
        Err(_) if beyond_year_9999(value) => u64::MAX,
        Err(_) => return None,
    };
    Some(Duration::from_secs(at.saturating_sub(now)))
}

/// An IMF-fixdate whose year has more than four digits: past the last date
/// httpdate reads, so later than any wait, and not to be mistaken for no
/// date (which would make the caller retry at once).
fn beyond_year_9999(value: &str) -> bool {
    let parts: Vec<&str> = value.split(' ').collect();
    matches!(
        parts[..],
        [_, _, _, year, _, "GMT"] if year.len() > 4 && year.bytes().all(|b| b.is_ascii_digit())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // Sun, 06 Nov 1994 08:49:37 GMT
    const NOW: u64 = 784_111_777;

    fn at_now(value: &str) -> Option<Duration> {
        retry_after_from(value, UNIX_EPOCH + Duration::from_secs(NOW))
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        assert_eq!(at_now(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(
            at_now("Sun, 06 Nov 1994 08:50:07 GMT"),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            at_now("Sun, 06 Nov 1994 08:00:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(
            at_now("Tue, 29 Feb 2028 12:00:00 GMT"),
            Some(Duration::from_secs(1_835_438_400 - NOW))
        );
        for bad in ["soon", "Sun, 06 Foo 1994 08:49:37 GMT", "-1"] {
            assert_eq!(at_now(bad), None, "{bad}");
        }
    }

    #[test]
    fn retry_after_in_the_obsolete_date_forms() {
        // RFC 9110, 5.6.7: a recipient must accept all three forms.
        assert_eq!(
            at_now("Sunday, 06-Nov-94 08:50:07 GMT"),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            at_now("Sun Nov  6 08:50:07 1994"),
            Some(Duration::from_secs(30))
        );
    }

    #[test]
    fn retry_after_beyond_any_wait_saturates() {
        let forever = Some(Duration::from_secs(u64::MAX));
        for huge in [
            "18446744073709551615",
            "18446744073709551616",
            "99999999999999999999999999999999999999999",
        ] {
            assert_eq!(at_now(huge), forever, "{huge}");
        }
        // A date beyond what the seconds hold is the last one they do.
        for huge in [
            "Fri, 31 Dec 18446744073709551615 23:59:59 GMT",
            "Fri, 31 Dec 584554051223 23:59:59 GMT",
        ] {
            assert_eq!(
                at_now(huge),
                Some(Duration::from_secs(u64::MAX - NOW)),
                "{huge}"
            );
        }
        assert_eq!(
            at_now("Fri, 31 Dec 9999 23:59:59 GMT"),
            Some(Duration::from_secs(253_402_300_799 - NOW))
        );
    }
}
