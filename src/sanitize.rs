//! The one gate for text on its way out: everything magento-auth prints or
//! writes for people and CI (stdout, stderr, `--json`, annotations, outputs,
//! the job summary, GitLab sections, the panic hook) passes [`text`] (or
//! [`lines`], [`json`], which apply it piecewise).
//!
//! Server answers, paths and inputs are untrusted: they could carry a key the
//! server echoes, a newline followed by a GitHub workflow command, or terminal
//! escapes. Each piece comes out as one line where
//! - every registered secret is `***` in each form it could travel in: raw,
//!   JSON-escaped (as serde and as PHP's `json_encode` write it),
//!   percent-encoded (either hex case, `+` for space), and base64 at each of
//!   the three alignments it could have inside longer base64;
//! - the userinfo of any URL (`user:pass@`) is `***`;
//! - line breaks and other control characters are shown as `\n`, `\u{7}`...,
//!   ANSI escape sequences are dropped, and nothing can be read as a
//!   workflow command (`::name::` at the start, `##[name]` anywhere);
//! - the length is capped, and a cut is marked.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::Value;

use crate::secret::Secret;
use controls::{defuse, visible};
use forms::forms_of;
pub(crate) use forms::{Form, labelled_forms};

mod controls;
mod forms;

/// Characters kept of one message (a hint, a warning, a JSON string).
pub(crate) const CAP: usize = 4096;
/// Characters kept of one line of data (a JSON object, a line of a report):
/// a backstop, since such a line is made of capped messages, and generous,
/// so that a JSON object (up to 20 package names, a message and a hint,
/// escaped) is never cut into invalid JSON.
pub(crate) const DATA_CAP: usize = 256 * 1024;
/// What a secret becomes.
pub(crate) const REDACTED: &str = "***";
/// Appended where text was cut.
pub(crate) const CUT: &str = "…[cut]";

/// The forms of every registered secret, and the same sorted longest first
/// (so that a form that holds another is blanked whole), made when text is
/// next cleaned. Readers hold the lock only to clone an `Arc`.
struct Registry {
    /// The secrets registered, so that one given twice (a key masked as read
    /// and again once validated) costs nothing the second time.
    secrets: Vec<Secret>,
    forms: Vec<Secret>,
    sorted: Option<Arc<Vec<Secret>>>,
}

static FORMS: Mutex<Registry> = Mutex::new(Registry {
    secrets: Vec::new(),
    forms: Vec::new(),
    sorted: None,
});

/// Redact `secret`, in every form, from everything printed from now on.
pub(crate) fn register(secret: &str) {
    let mut registry = FORMS.lock().unwrap_or_else(PoisonError::into_inner);
    if registry
        .secrets
        .iter()
        .any(|known| known.expose() == secret)
    {
        return;
    }
    registry.secrets.push(Secret::new(secret.to_string()));
    let new = forms_of(secret);
    if new.is_empty() {
        return;
    }
    for form in new {
        if !registry.forms.contains(&form) {
            registry.forms.push(form);
        }
    }
    registry.sorted = None;
}

fn registered() -> Option<Arc<Vec<Secret>>> {
    let mut registry = FORMS.lock().unwrap_or_else(PoisonError::into_inner);
    if registry.forms.is_empty() {
        return None;
    }
    if registry.sorted.is_none() {
        let mut sorted = registry.forms.clone();
        sorted.sort_by_key(|form| Reverse(form.expose().len()));
        registry.sorted = Some(Arc::new(sorted));
    }
    registry.sorted.clone()
}

/// One piece of text made safe to print: one line, at most [`CAP`] characters.
pub(crate) fn text(raw: &str) -> String {
    clean(raw, CAP)
}

/// Multi-line data the product composed (a report): each line made safe on
/// its own, at most [`DATA_CAP`] characters. Untrusted pieces must have
/// passed [`text`] before they were composed, or a newline in them would
/// start a line here.
pub(crate) fn lines(raw: &str) -> String {
    raw.split('\n')
        .map(|line| clean(line, DATA_CAP))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A JSON value with every string (keys included) passed through [`text`].
pub(crate) fn json(value: &Value) -> Value {
    match value {
        Value::String(s) => Value::String(text(s)),
        Value::Array(items) => Value::Array(items.iter().map(json).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, value)| (text(key), json(value)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn clean(raw: &str, cap: usize) -> String {
    let forms = registered();
    let longest = forms
        .as_deref()
        .and_then(|f| f.first())
        .map_or(0, |f| f.expose().chars().count());
    // Work on a bounded prefix, long enough that any form starting before
    // the cap is whole in it (escaping only lengthens text), so that the
    // cut never leaves the head of a secret behind.
    let keep = cap.saturating_add(longest);
    let (head, cut) = match raw.char_indices().nth(keep) {
        Some((at, _)) => (&raw[..at], true),
        None => (raw, false),
    };
    let mut out = defuse(visible(head));
    out = hide_userinfo(&out).into_owned();
    if let Some(forms) = forms.as_deref() {
        for form in forms {
            if out.contains(form.expose()) {
                out = out.replace(form.expose(), REDACTED);
            }
        }
    }
    match out.char_indices().nth(cap) {
        Some((at, _)) => {
            out.truncate(at);
            out.push_str(CUT);
        }
        None if cut => out.push_str(CUT),
        None => {}
    }
    out
}

/// `scheme://user:pass@host` becomes `scheme://***@host`, wherever a URL
/// appears in the text.
fn hide_userinfo(text: &str) -> Cow<'_, str> {
    if !text.contains("://") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| {
                matches!(c, '/' | '?' | '#' | '"' | '\'' | '<' | '>') || c.is_whitespace()
            })
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(at) => {
                out.push_str(REDACTED);
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::forms::{percent_encode, php_json};
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};

    // The registry is process-wide: each test registers its own secrets,
    // which no other test prints.
    const PUBLIC: &str = "pub/lic\"k%y é+€ 'x\\0123456789ab";
    const PRIVATE: &str = "sanitizeprivatekey0123456789ABCD";

    fn setup() {
        register(PUBLIC);
        register(PRIVATE);
        register(&format!("{PUBLIC}:{PRIVATE}"));
    }

    /// The middle of base64 of `text` placed after `k` other bytes: what a
    /// search for the text inside longer base64 looks for.
    fn inner_base64(text: &str) -> Vec<String> {
        (0..3)
            .map(|k| {
                let encoded = STANDARD.encode(&text.as_bytes()[k..]);
                encoded[4..encoded.len() - 4].to_string()
            })
            .collect()
    }

    fn leaks(out: &str) -> Vec<String> {
        let mut needles = Vec::new();
        for key in [PUBLIC, PRIVATE] {
            let serde = serde_json::to_string(key).unwrap();
            let texts = [
                key.to_string(),
                serde[1..serde.len() - 1].to_string(),
                php_json(key, true, true),
                php_json(key, true, false),
            ];
            for text in &texts {
                needles.push(text.clone());
                needles.extend(inner_base64(text));
            }
            for lower in [false, true] {
                for plus in [false, true] {
                    needles.push(percent_encode(key, lower, plus));
                }
            }
        }
        needles.extend(inner_base64(&format!("{PUBLIC}:{PRIVATE}")));
        needles.into_iter().filter(|n| out.contains(n)).collect()
    }

    #[test]
    fn every_form_of_a_secret_is_redacted_at_every_offset() {
        setup();
        let pair = format!("{PUBLIC}:{PRIVATE}");
        let serde = serde_json::to_string(PUBLIC).unwrap();
        let texts = [
            PUBLIC.to_string(),
            PRIVATE.to_string(),
            pair.clone(),
            serde[1..serde.len() - 1].to_string(),
            php_json(PUBLIC, true, true),
            php_json(PUBLIC, false, false),
            format!("{{\"http-basic\":{{\"h\":{{\"username\":{serde}}}}}}}"),
        ];
        for text in &texts {
            // Raw and percent-encoded, between other text.
            for shown in [
                text.clone(),
                percent_encode(text, false, false),
                percent_encode(text, true, true),
            ] {
                let out = super::text(&format!("before {shown} after"));
                assert!(leaks(&out).is_empty(), "{:?} in {out}", leaks(&out));
                assert!(
                    out.starts_with("before ") && out.ends_with(" after"),
                    "{out}"
                );
            }
            // Base64 after 0 to 5 other bytes, followed by 0 to 2 more, padded
            // or not.
            for before in 0..6 {
                for after in 0..3 {
                    let mut bytes = b"xyzuvw"[..before].to_vec();
                    bytes.extend_from_slice(text.as_bytes());
                    bytes.extend_from_slice(&b"pqr"[..after]);
                    for encoded in [STANDARD.encode(&bytes), STANDARD_NO_PAD.encode(&bytes)] {
                        let out = super::text(&format!("Basic {encoded}."));
                        assert!(
                            leaks(&out).is_empty(),
                            "{before}/{after}: {:?} in {out}",
                            leaks(&out)
                        );
                        assert!(out.contains(REDACTED), "{out}");
                    }
                }
            }
        }
    }

    #[test]
    fn control_characters_cannot_start_a_line_and_escapes_are_dropped() {
        let out = text("a\nb\r\nc\td\u{0}e\u{7f}f\u{85}g\u{9b}31mh\u{2028}i\u{202e}j");
        assert_eq!(
            out,
            "a\\nb\\r\\nc d\\u{0}e\\u{7f}f\\u{85}g\\u{9b}31mh\\u{2028}i\\u{202e}j"
        );
        let ansi = "\x1b[2J\x1b[1;31mred\x1b[0m \x1b]8;;https://evil.example\x07link\x1b]8;;\x1b\\ \
                    \x1b(Bx\x1b7y\x1b";
        assert_eq!(text(ansi), "red link xy");
        // An OSC without its end hides nothing after it.
        assert_eq!(text("\x1b]0;title\nrest"), "0;title\\nrest");
        assert!(!text("\x1b\x1b[\x1b]\x1bP").contains('\x1b'));
    }

    #[test]
    fn nothing_reads_as_a_workflow_command() {
        assert_eq!(text("::error::pwned"), "\\::error::pwned");
        assert_eq!(text(" \u{3000}::add-mask::x"), " \u{3000}\\::add-mask::x");
        assert_eq!(text("a\n::error::x"), "a\\n::error::x");
        assert_eq!(
            text("x ##[error]y ###[set-output]"),
            "x ##\\[error]y ###\\[set-output]"
        );
        assert_eq!(
            lines("ok\n::warning::x\n  ##[debug]y"),
            "ok\n\\::warning::x\n  ##\\[debug]y"
        );
    }

    #[test]
    fn userinfo_in_urls_is_hidden() {
        assert_eq!(
            text("see https://user:pa%20ss@host.example:8443/p?q=u:v@w and http://a@b"),
            "see https://***@host.example:8443/p?q=u:v@w and http://***@b"
        );
        assert_eq!(text("https://host/a@b"), "https://host/a@b");
    }

    #[test]
    fn length_is_capped_and_the_cut_marked() {
        let out = text(&"x".repeat(CAP * 10));
        assert_eq!(out, format!("{}{CUT}", "x".repeat(CAP)));
        assert_eq!(text(&"y".repeat(CAP)), "y".repeat(CAP));
        // Escapes count after escaping; a secret across the cap is blanked
        // whole, never cut to a readable head.
        setup();
        let out = text(&format!("{}{PRIVATE}", "z".repeat(CAP - 3)));
        assert!(out.ends_with("zzz***"), "{out}");
        assert!(!out.contains(&PRIVATE[..4]), "{out}");
        let out = lines(&format!("{}\nshort", "w".repeat(DATA_CAP + 5)));
        assert!(out.ends_with(&format!("{CUT}\nshort")));
    }

    #[test]
    fn json_strings_are_sanitised_and_the_document_stays_valid() {
        setup();
        let value = serde_json::json!({
            "message": format!("{PUBLIC}\n::error::x\x1b[2J"),
            "packages": [{"name": PRIVATE, "visible": true}],
            "http_status": null,
        });
        let out = json(&value).to_string();
        assert!(leaks(&out).is_empty(), "{out}");
        let back: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(back["message"], "***\\n::error::x");
        assert_eq!(back["packages"][0]["name"], "***");
        assert_eq!(back["http_status"], Value::Null);
    }

    #[test]
    fn short_values_are_not_forms() {
        register("null");
        register("");
        assert_eq!(text("null true"), "null true");
    }
}
