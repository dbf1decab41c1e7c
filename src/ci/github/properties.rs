//! What the environment-file writer accepts, the runner reads back as
//! exactly the one variable meant, whatever the name and value hold.

use proptest::prelude::*;

use super::env_file_entry;

#[path = "../../../tests/support/env_file.rs"]
mod env_file;
use env_file::parse_env_file;

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
