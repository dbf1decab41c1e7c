//! The `auth.json` / `COMPOSER_AUTH` document: parse, merge, undo, serialize.
//!
//! Key order is kept (serde_json's `preserve_order`), and files are written the
//! way Composer writes them: four-space indent, slashes and Unicode unescaped.

use crate::digest::sha256_hex;
use serde_json::{Map, Value};

use crate::exit::Failure;
use crate::keys::Keys;

pub(crate) const HTTP_BASIC: &str = "http-basic";

/// A parsed auth document: always a JSON object whose `http-basic`, when
/// present, is an object.
#[derive(Clone, Debug, PartialEq)]
pub struct AuthDoc(Map<String, Value>);

impl AuthDoc {
    pub(crate) fn empty() -> Self {
        AuthDoc(Map::new())
    }

    /// Parse `bytes`; `what` names the source in messages (a path, COMPOSER_AUTH).
    pub fn parse(bytes: &[u8], what: &str) -> Result<Self, Failure> {
        let malformed = |why: String| {
            Failure::bad_input(format!("{what} {why}")).with_hint(format!(
                "fix or remove {what}; magento-auth changes nothing until it is a JSON object"
            ))
        };
        if bytes.starts_with(b"\xEF\xBB\xBF") {
            return Err(malformed(
                "starts with a byte order mark (BOM), which Composer refuses".into(),
            ));
        }
        let value: Value = serde_json::from_slice(bytes).map_err(|err| {
            malformed(format!(
                "is not valid JSON (line {}, column {})",
                err.line(),
                err.column()
            ))
        })?;
        let Value::Object(map) = value else {
            return Err(malformed(format!(
                "is not a JSON object but {}",
                kind(&value)
            )));
        };
        if let Some(section) = map.get(HTTP_BASIC)
            && !section.is_object()
        {
            return Err(malformed(format!(
                "has \"{HTTP_BASIC}\" that is {}, not an object",
                kind(section)
            )));
        }
        Ok(AuthDoc(map))
    }

    pub fn http_basic(&self, host: &str) -> Option<&Value> {
        self.0.get(HTTP_BASIC)?.as_object()?.get(host)
    }

    pub fn has_http_basic_section(&self) -> bool {
        self.0.contains_key(HTTP_BASIC)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Set `http-basic.<host>` to the keys, in place if the host is there,
    /// last otherwise; every other key and host stays as it was.
    pub fn set_keys(&mut self, host: &str, keys: &Keys) {
        let section = self
            .0
            .entry(HTTP_BASIC)
            .or_insert_with(|| Value::Object(Map::new()))
            .as_object_mut()
            .expect("parse checked that http-basic is an object");
        section.insert(host.to_string(), keys_entry(keys));
    }

    /// Put `http-basic.<host>` back to `previous` (or remove it), and drop the
    /// section if it is left empty and was not there before.
    pub fn restore_entry(&mut self, host: &str, previous: Option<&Value>, section_existed: bool) {
        let Some(section) = self.0.get_mut(HTTP_BASIC).and_then(Value::as_object_mut) else {
            return;
        };
        match previous {
            Some(entry) => {
                section.insert(host.to_string(), entry.clone());
            }
            None => {
                section.shift_remove(host);
                if section.is_empty() && !section_existed {
                    self.0.shift_remove(HTTP_BASIC);
                }
            }
        }
    }

    /// The file form: Composer's pretty print and a final newline.
    pub fn to_file_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
        let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
        serde::Serialize::serialize(&self.0, &mut ser).expect("a JSON map always serializes");
        out.push(b'\n');
        out
    }

    /// The compact form, for `COMPOSER_AUTH`.
    pub fn to_compact(&self) -> String {
        serde_json::to_string(&self.0).expect("a JSON map always serializes")
    }
}

/// The `COMPOSER_AUTH` value: the current one (if any) with our entry merged in.
pub(crate) fn composer_auth_value(host: &str, keys: &Keys) -> anyhow::Result<String> {
    let mut doc = match std::env::var("COMPOSER_AUTH") {
        Ok(current) if !current.is_empty() => AuthDoc::parse(current.as_bytes(), "COMPOSER_AUTH")?,
        Ok(_) => AuthDoc::empty(),
        Err(std::env::VarError::NotPresent) => AuthDoc::empty(),
        Err(std::env::VarError::NotUnicode(_)) => {
            return Err(Failure::bad_input("COMPOSER_AUTH is not valid UTF-8").into());
        }
    };
    doc.set_keys(host, keys);
    Ok(doc.to_compact())
}

fn keys_entry(keys: &Keys) -> Value {
    let mut entry = Map::new();
    entry.insert(
        "username".into(),
        Value::String(keys.public.expose().to_string()),
    );
    entry.insert(
        "password".into(),
        Value::String(keys.private.expose().to_string()),
    );
    Value::Object(entry)
}

/// The largest auth.json setup reads or writes: far above any real one.
/// The journal derives its other caps from it (journal/limits.rs).
pub(crate) const MAX_AUTH_BYTES: u64 = 1 << 20;

/// A fingerprint of an `http-basic` entry, so cleanup can tell whether the
/// entry is still the one setup wrote without the state file holding the keys.
pub(crate) fn entry_fingerprint(entry: &Value) -> String {
    sha256_hex(
        serde_json::to_string(entry)
            .expect("a JSON value always serializes")
            .as_bytes(),
    )
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod properties;

#[cfg(test)]
mod tests {
    use super::*;

    use crate::secret::Secret;

    fn keys() -> Keys {
        Keys {
            public: Secret::new("pppppppppppppppppppppppppppppppp".into()),
            private: Secret::new("ssssssssssssssssssssssssssssssss".into()),
        }
    }

    /// Numbers elsewhere in the file keep their value and their digits
    /// through a merge (found by the `auth_json` fuzz target: a float that
    /// did not read back as the same number, a big integer that lost digits).
    #[test]
    fn numbers_elsewhere_keep_their_value_and_digits() {
        let text = r#"{"a": 9028777777777788888.282887777772, "b": 1e2, "c": 1.0,
            "d": 123456789012345678901234567890, "e": -0.0}"#;
        let mut doc = AuthDoc::parse(text.as_bytes(), "auth.json").unwrap();
        doc.set_keys("repo.magento.com", &keys());
        let written = doc.to_file_bytes();
        assert_eq!(AuthDoc::parse(&written, "auth.json").unwrap(), doc);
        let written = String::from_utf8(written).unwrap();
        // (An exponent may gain its `+`: 1e2 is written 1e+2.)
        for spelling in [
            "9028777777777788888.282887777772",
            "1.0",
            "123456789012345678901234567890",
            "-0.0",
        ] {
            assert!(written.contains(spelling), "{spelling} in {written}");
        }
    }

    /// What `composer config --global http-basic.example.org u p` writes into a
    /// new auth.json (Composer 2.5.5): every auth type, empty objects included,
    /// and a `}},` its JSON manipulator leaves behind.
    const COMPOSER_WRITTEN: &str = r#"{
    "bitbucket-oauth": {},
    "github-oauth": {},
    "gitlab-oauth": {},
    "gitlab-token": {},
    "http-basic": {
        "example.org": {
            "username": "u",
            "password": "p/\u00e9"
        }},
    "bearer": {}
}
"#;

    #[test]
    fn we_write_composers_pretty_print() {
        let doc = AuthDoc::parse(COMPOSER_WRITTEN.as_bytes(), "auth.json").unwrap();
        // The same document as Composer's json_encode would print it; the
        // byte-identical restore does not depend on this (cleanup writes back
        // the bytes it found).
        let expected = COMPOSER_WRITTEN
            .replace("\\u00e9", "é")
            .replace("}},", "}\n    },");
        assert_eq!(String::from_utf8(doc.to_file_bytes()).unwrap(), expected);
    }

    #[test]
    fn merge_keeps_other_hosts_and_types_in_order() {
        let mut doc = AuthDoc::parse(COMPOSER_WRITTEN.as_bytes(), "auth.json").unwrap();
        let before = doc.clone();
        doc.set_keys("repo.magento.com", &keys());
        let text = String::from_utf8(doc.to_file_bytes()).unwrap();
        let order: Vec<_> = [
            "bitbucket-oauth",
            "github-oauth",
            "\"http-basic\"",
            "example.org",
            "repo.magento.com",
            "bearer",
        ]
        .iter()
        .map(|k| text.find(k).unwrap())
        .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{text}");
        doc.restore_entry("repo.magento.com", None, true);
        assert_eq!(doc, before);
    }

    #[test]
    fn replacing_an_entry_keeps_its_place_and_restores_it() {
        let text = r#"{"http-basic":{"repo.magento.com":{"username":"old","password":"older"},"z.org":{"username":"a","password":"b"}}}"#;
        let mut doc = AuthDoc::parse(text.as_bytes(), "auth.json").unwrap();
        let previous = doc.http_basic("repo.magento.com").cloned();
        doc.set_keys("repo.magento.com", &keys());
        assert!(
            doc.to_compact()
                .starts_with(r#"{"http-basic":{"repo.magento.com":{"username":"pppp"#)
        );
        doc.restore_entry("repo.magento.com", previous.as_ref(), true);
        assert_eq!(doc.to_compact(), text);
    }

    #[test]
    fn a_section_setup_created_goes_away() {
        let mut doc = AuthDoc::parse(br#"{"github-oauth":{"github.com":"t"}}"#, "x").unwrap();
        doc.set_keys("h", &keys());
        doc.restore_entry("h", None, false);
        assert_eq!(doc.to_compact(), r#"{"github-oauth":{"github.com":"t"}}"#);
    }

    #[test]
    fn malformed_documents_are_refused() {
        for (text, why) in [
            ("", "not valid JSON"),
            ("{", "not valid JSON"),
            ("[]", "not a JSON object but an array"),
            ("null", "but null"),
            (r#"{"http-basic": []}"#, "\"http-basic\" that is an array"),
            (r#"{"http-basic": "x"}"#, "\"http-basic\" that is a string"),
            ("\u{feff}{}", "byte order mark"),
        ] {
            let err = AuthDoc::parse(text.as_bytes(), "/h/auth.json").unwrap_err();
            assert!(err.message.contains(why), "{text:?}: {}", err.message);
            assert!(err.message.starts_with("/h/auth.json "));
        }
    }

    #[test]
    fn fingerprints_tell_entries_apart() {
        let mut doc = AuthDoc::empty();
        doc.set_keys("h", &keys());
        let written = entry_fingerprint(doc.http_basic("h").unwrap());
        assert_eq!(written, entry_fingerprint(&keys_entry(&keys())));
        let other: Value = serde_json::json!({"username": "x", "password": "y"});
        assert_ne!(entry_fingerprint(&other), written);
    }
}
