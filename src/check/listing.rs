//! Reading which names a repository file lists without building the whole
//! document in memory: provider files and metadata of repo.magento.com run to
//! megabytes, and `check` stays within a few MiB of memory.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::hidden::Near;

/// The names among `wanted` that `body[section]` maps to a non-empty array
/// or object; `None` when the body is not a JSON object with that section.
pub(crate) fn listed(body: &[u8], section: &str, wanted: &[String]) -> Option<Vec<String>> {
    read(body, section, wanted, None)
}

/// [`listed`], offering every name of the section to `near` on the way.
pub(crate) fn listed_near(
    body: &[u8],
    section: &str,
    wanted: &[String],
    near: &mut Near,
) -> Option<Vec<String>> {
    read(body, section, wanted, Some(near))
}

fn read(
    body: &[u8],
    section: &str,
    wanted: &[String],
    near: Option<&mut Near>,
) -> Option<Vec<String>> {
    let mut de = serde_json::Deserializer::from_slice(body);
    Root {
        section,
        wanted,
        near,
    }
    .deserialize(&mut de)
    .ok()
    .flatten()
}

struct Root<'a> {
    section: &'a str,
    wanted: &'a [String],
    near: Option<&'a mut Near>,
}

impl<'de> DeserializeSeed<'de> for Root<'_> {
    type Value = Option<Vec<String>>;
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Root<'_> {
    type Value = Option<Vec<String>>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<String>()? {
            if key == self.section && found.is_none() {
                found = map.next_value_seed(Section(self.wanted, self.near.as_deref_mut()))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

struct Section<'a>(&'a [String], Option<&'a mut Near>);

impl<'de> DeserializeSeed<'de> for Section<'_> {
    type Value = Option<Vec<String>>;
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Section<'_> {
    type Value = Option<Vec<String>>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of packages")
    }
    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut names = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let non_empty = map.next_value_seed(NonEmpty)?;
            if let Some(near) = self.1.as_deref_mut()
                && non_empty
            {
                near.offer(&key);
            }
            if non_empty && self.0.contains(&key) && !names.contains(&key) {
                names.push(key);
            }
        }
        Ok(Some(names))
    }
    // `"packages": []` is what an empty section looks like in PHP's JSON.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Some(Vec::new()))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// Whether a value is a non-empty array or object, without keeping it.
struct NonEmpty;

impl<'de> DeserializeSeed<'de> for NonEmpty {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<bool, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NonEmpty {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let mut any = false;
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {
            any = true;
        }
        Ok(any)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        let mut any = false;
        while seq.next_element::<IgnoredAny>()?.is_some() {
            any = true;
        }
        Ok(any)
    }
    fn visit_unit<E>(self) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_bool<E>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_str<E>(self, _: &str) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_u64<E>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_i64<E>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_f64<E>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn finds_only_wanted_non_empty_entries() {
        let body = br#"{"warning":"x","providers":{"a\/b":{"sha256":"00"},"c/d":{},"e/f":[1],"g/h":null},"other":[1,2]}"#;
        let wanted = names(&["a/b", "c/d", "e/f", "g/h", "x/y"]);
        assert_eq!(
            listed(body, "providers", &wanted),
            Some(names(&["a/b", "e/f"]))
        );
        assert_eq!(
            listed(br#"{"packages":[]}"#, "packages", &wanted),
            Some(vec![])
        );
        assert_eq!(listed(br#"{"other":{}}"#, "providers", &wanted), None);
        assert_eq!(listed(b"<html>", "providers", &wanted), None);
        assert_eq!(listed(br#"{"providers":"no"}"#, "providers", &wanted), None);
        assert_eq!(listed(br#"[1]"#, "providers", &wanted), None);
    }
}
