//! Every form a secret could travel in: raw, JSON-escaped (as serde and as
//! PHP's `json_encode` write it), percent-encoded, and base64 at each
//! alignment.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

use crate::secret::Secret;

/// Forms shorter than this are left alone: blanking `null` or a two-letter
/// word everywhere would garble output and protect nothing that matters
/// (Marketplace keys are 32 characters).
const MIN_FORM: usize = 6;

/// How a form was made from the secret: what a leak sweep reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Form {
    Raw,
    Base64,
    UrlEncoded,
    JsonEscaped,
}

impl Form {
    pub(crate) fn word(self) -> &'static str {
        match self {
            Form::Raw => "raw",
            Form::Base64 => "base64",
            Form::UrlEncoded => "url-encoded",
            Form::JsonEscaped => "json-escaped",
        }
    }
}

/// Every form `secret` could travel in, at least [`MIN_FORM`] long.
pub(super) fn forms_of(secret: &str) -> Vec<Secret> {
    labelled_forms(secret)
        .into_iter()
        .map(|(_, form)| form)
        .collect()
}

/// Every form `secret` could travel in, at least [`MIN_FORM`] long, each
/// with how it was made (the first way, where two ways give the same text).
pub(crate) fn labelled_forms(secret: &str) -> Vec<(Form, Secret)> {
    if secret.is_empty() {
        return Vec::new();
    }
    let mut texts: Vec<(Form, String)> = vec![(Form::Raw, secret.to_string())];
    // Letters, digits and `-._~` (every Marketplace key) read the same
    // JSON-escaped and percent-encoded: only base64 changes them.
    let plain = secret
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    if !plain {
        // JSON: as serde writes it, and as PHP does with and without escaping
        // `/` and non-ASCII (Composer writes files with neither escaped).
        // Most secrets read the same in some of these (`public:private` in
        // all): each distinct text once, so its base64 is made once.
        let serde = Value::String(secret.to_string()).to_string();
        let mut escaped = vec![serde[1..serde.len() - 1].to_string()];
        for slashes in [false, true] {
            for unicode in [false, true] {
                escaped.push(php_json(secret, slashes, unicode));
            }
        }
        for text in escaped {
            if texts.iter().any(|(_, known)| *known == text) {
                drop(Secret::new(text));
            } else {
                texts.push((Form::JsonEscaped, text));
            }
        }
    }
    let mut forms: Vec<(Form, String)> = Vec::new();
    for (form, text) in &texts {
        forms.push((*form, text.clone()));
        forms.extend(
            base64_forms(text.as_bytes())
                .into_iter()
                .map(|b| (Form::Base64, b)),
        );
    }
    if !plain {
        for lowercase in [false, true] {
            for plus in [false, true] {
                forms.push((Form::UrlEncoded, percent_encode(secret, lowercase, plus)));
            }
        }
    }
    // Wrapped at once, so that every copy is wiped when it is dropped.
    let forms: Vec<(Form, Secret)> = forms
        .into_iter()
        .map(|(form, text)| (form, Secret::new(text)))
        .collect();
    drop(
        texts
            .into_iter()
            .map(|(_, t)| Secret::new(t))
            .collect::<Vec<_>>(),
    );
    let mut out: Vec<(Form, Secret)> = Vec::new();
    for (form, text) in forms {
        if text.expose().chars().count() >= MIN_FORM && !out.iter().any(|(_, t)| *t == text) {
            out.push((form, text));
        }
    }
    out
}

/// Base64 of `bytes` as it shows alone (padded and not), and inside longer
/// base64 at each of the three alignments it could have there: from the
/// first whole 3-byte group on, up to the last whole group, which is all
/// that does not depend on the bytes around it. Each alignment also without
/// its first and last group, so that a fragment is found even where those
/// were cut off; the longer forms, tried first, take those groups too
/// wherever they are there.
fn base64_forms(bytes: &[u8]) -> Vec<String> {
    let mut forms = vec![STANDARD.encode(bytes), STANDARD_NO_PAD.encode(bytes)];
    for offset in 0..3 {
        let Some(rest) = bytes.get(offset..) else {
            continue;
        };
        let whole = rest.len() / 3 * 3;
        forms.push(STANDARD_NO_PAD.encode(&rest[..whole]));
        let encoded = STANDARD.encode(rest);
        if encoded.len() > 8 {
            forms.push(encoded[4..encoded.len() - 4].to_string());
        }
    }
    forms
}

pub(super) fn php_json(text: &str, slashes: bool, unicode: bool) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' if slashes => out.push_str("\\/"),
            c if u32::from(c) < 0x20 || (unicode && !c.is_ascii()) => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// RFC 3986's unreserved characters: all that a percent-encoder keeps.
const RESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Everything but the unreserved characters as `%XX`, in either hex case;
/// with `plus`, a space as `+` (form encoding).
pub(super) fn percent_encode(text: &str, lowercase: bool, plus: bool) -> String {
    let encode = |part: &str| {
        let encoded = utf8_percent_encode(part, RESERVED).to_string();
        if !lowercase {
            return encoded;
        }
        // Only the two digits after each `%`: the text's own letters stay.
        let mut digits = 0;
        encoded
            .chars()
            .map(|c| match c {
                '%' => {
                    digits = 2;
                    c
                }
                c if digits > 0 => {
                    digits -= 1;
                    c.to_ascii_lowercase()
                }
                c => c,
            })
            .collect::<String>()
    };
    if plus {
        text.split(' ').map(encode).collect::<Vec<_>>().join("+")
    } else {
        encode(text)
    }
}
