//! The one type that holds a secret.

use std::fmt;
use zeroize::Zeroize;

/// A secret string: printed as `***`, wiped from memory on drop.
///
/// The raw value is reachable only through [`Secret::expose`], which is called
/// where the value is written to a file, an environment or a request.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Secret(value)
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// Length in characters, which messages may show.
    pub(crate) fn char_len(&self) -> usize {
        self.0.chars().count()
    }
}

/// A shortened form of a secret for humans; never the whole value.
pub(crate) fn preview(value: &str, shown: usize) -> String {
    let len = value.chars().count();
    // Never show more than a quarter of a value, so short secrets stay hidden.
    let shown = shown.min(len / 4);
    let head: String = value.chars().take(shown).collect();
    format!("{head}…({len} chars)")
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CANARY: &str = "c4n4ryc4n4ryc4n4ryc4n4ryc4n4ry00";

    #[test]
    fn debug_and_display_hide_the_value() {
        let secret = Secret::new(CANARY.to_string());
        assert_eq!(format!("{secret:?}"), "***");
        assert_eq!(format!("{secret}"), "***");
        assert_eq!(format!("{:?}", Some(&secret)), "Some(***)");
        assert_eq!(secret.expose(), CANARY);
    }

    #[test]
    fn preview_shows_at_most_four_characters() {
        assert_eq!(preview(CANARY, 4), "c4n4…(32 chars)");
        assert_eq!(preview(CANARY, 0), "…(32 chars)");
        assert_eq!(preview("abc", 4), "…(3 chars)");
        assert_eq!(preview("abcdefgh", 4), "ab…(8 chars)");
    }
}
