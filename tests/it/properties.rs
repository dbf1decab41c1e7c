//! Properties over arbitrary input, for the pieces that take untrusted text:
//! the GitHub environment-file writer and the auth.json merge and undo.

use magento_auth::ci::github::env_file_entry;
use magento_auth::composer::auth::AuthDoc;
use magento_auth::keys::Keys;
use magento_auth::secret::Secret;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use crate::platforms::parse_env_file;

fn text() -> impl Strategy<Value = String> {
    // Bias toward the characters that matter to the file format.
    prop_oneof![
        ".*",
        proptest::collection::vec(
            prop_oneof![
                prop::sample::select(vec!["\n", "\r", "=", "<<", "ghadelimiter_"])
                    .prop_map(str::to_string),
                "[a-zA-Z0-9_]{0,4}",
            ],
            0..12
        )
        .prop_map(|parts| parts.concat()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// What the writer accepts, the runner reads back as exactly that one
    /// variable, whatever stands around it in the file.
    #[test]
    fn env_file_entries_set_exactly_the_intended_variable(name in text(), value in text()) {
        let Ok(entry) = env_file_entry(&name, &value) else {
            return Ok(());
        };
        let file = format!("BEFORE=1\n{entry}AFTER<<EOF\nx\nEOF\n");
        let parsed = parse_env_file(&file).map_err(TestCaseError::fail)?;
        prop_assert_eq!(
            parsed,
            vec![("BEFORE".into(), "1".into()), (name, value), ("AFTER".into(), "x".into())]
        );
    }
}

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
