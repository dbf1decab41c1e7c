//! The merge and its undo over arbitrary documents and arbitrary bytes: a
//! refusal or a document, never a panic; and the keys given back unchanged.

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::AuthDoc;
use crate::keys::Keys;
use crate::secret::Secret;

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|n| json!(n)),
        ".{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec((".{0,6}", inner), 0..4)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn auth_doc() -> impl Strategy<Value = Value> {
    let hosts = proptest::collection::vec(
        (
            prop_oneof![Just("repo.magento.com".to_string()), "[a-z.:0-9]{1,12}"],
            json_value(),
        ),
        0..4,
    );
    (
        proptest::collection::vec(("[a-z-]{1,10}", json_value()), 0..4),
        proptest::option::of(hosts),
    )
        .prop_map(|(others, hosts)| {
            let mut doc: Map<String, Value> = others
                .into_iter()
                .filter(|(k, _)| k != "http-basic")
                .collect();
            if let Some(hosts) = hosts {
                doc.insert(
                    "http-basic".into(),
                    Value::Object(hosts.into_iter().collect()),
                );
            }
            Value::Object(doc)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    /// Setting the keys and undoing it gives back the same document, in the
    /// same order, and the keys are gone.
    #[test]
    fn merge_then_undo_is_the_identity(doc in auth_doc(), host in prop_oneof![Just("repo.magento.com".to_string()), "[a-z.:0-9]{1,12}"]) {
        let bytes = serde_json::to_vec(&doc).unwrap();
        let original = AuthDoc::parse(&bytes, "auth.json").unwrap();
        let keys = Keys {
            public: Secret::new("p".repeat(32)),
            private: Secret::new("s".repeat(32)),
        };
        let mut merged = original.clone();
        merged.set_keys(&host, &keys);
        let reparsed = AuthDoc::parse(&merged.to_file_bytes(), "auth.json").unwrap();
        prop_assert_eq!(&reparsed, &merged);
        let previous = original.http_basic(&host).cloned();
        let mut undone = reparsed;
        undone.restore_entry(&host, previous.as_ref(), original.has_http_basic_section());
        prop_assert_eq!(undone.to_compact(), original.to_compact());
        prop_assert!(!undone.to_compact().contains(&"s".repeat(32)));
    }
}

/// Arbitrary bytes as auth.json: a refusal or a document, never a panic; and
/// a document takes the keys and gives them back unchanged.
mod auth_json_bytes {
    use super::*;

    fn bytes() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..64),
            auth_doc().prop_map(|doc| serde_json::to_vec_pretty(&doc).unwrap()),
            // Valid documents with one byte changed: near misses.
            (auth_doc(), any::<prop::sample::Index>(), any::<u8>()).prop_map(|(doc, at, byte)| {
                let mut bytes = serde_json::to_vec(&doc).unwrap();
                let i = at.index(bytes.len());
                bytes[i] = byte;
                bytes
            }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

        #[test]
        fn any_bytes_are_refused_or_merge_and_undo_cleanly(bytes in bytes()) {
            let Ok(original) = AuthDoc::parse(&bytes, "auth.json") else {
                return Ok(());
            };
            let keys = Keys {
                public: Secret::new("p".repeat(32)),
                private: Secret::new("s".repeat(32)),
            };
            let mut merged = original.clone();
            merged.set_keys("repo.magento.com", &keys);
            let written = merged.to_file_bytes();
            let reparsed = AuthDoc::parse(&written, "auth.json").unwrap();
            let previous = original.http_basic("repo.magento.com").cloned();
            let mut undone = reparsed;
            undone.restore_entry(
                "repo.magento.com",
                previous.as_ref(),
                original.has_http_basic_section(),
            );
            prop_assert_eq!(undone.to_compact(), original.to_compact());
        }
    }
}
