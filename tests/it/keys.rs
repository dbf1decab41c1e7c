//! Key intake: every refusal rule exits 3, names the key and its length, shows
//! no value and changes no file.

use crate::common::*;

const GOOD: &str = "0123456789abcdef0123456789abcdef";

fn refused(public: &str, private: &str, expected: &[&str]) {
    let mut world = World::new();
    world.set("MAGENTO_PUBLIC_KEY", public);
    world.set("MAGENTO_PRIVATE_KEY", private);
    crate::common::write_mode(&world.home_auth(), COMPOSER_WRITTEN.as_bytes(), 0o644);
    let before = world.snapshot();
    let out = world.run(&["setup", "--no-check"]).code(3);
    for needle in expected {
        assert!(
            out.stderr.contains(needle),
            "{public:?}/{private:?}: lacks {needle:?}\n{}",
            out.stderr
        );
    }
    for value in [public.trim(), private.trim()] {
        if value.len() >= 8 {
            assert!(
                !out.stderr.contains(value),
                "the value leaked:\n{}",
                out.stderr
            );
        }
    }
    assert!(out.stderr.contains("hint: "), "{}", out.stderr);
    assert_eq!(world.snapshot(), before, "a refused setup changed a file");
}

#[test]
fn empty_key() {
    refused("", GOOD, &["MAGENTO_PUBLIC_KEY is empty (length 0)"]);
    refused(GOOD, "  ", &["MAGENTO_PRIVATE_KEY is empty (length 0)"]);
}

#[test]
fn control_characters() {
    refused(
        "0123456789abcdef\n0123456789abcdef",
        GOOD,
        &[
            "MAGENTO_PUBLIC_KEY contains a control character",
            "length 33",
        ],
    );
    refused(
        GOOD,
        "0123456789abcdef\r0123456789abcdef",
        &["MAGENTO_PRIVATE_KEY contains a control"],
    );
    refused(
        GOOD,
        "0123456789abcdef\t0123456789abcdef",
        &["MAGENTO_PRIVATE_KEY contains a control"],
    );
}

#[test]
fn wrong_length_or_alphabet() {
    refused(
        &GOOD[..31],
        PRIVATE,
        &[
            "MAGENTO_PUBLIC_KEY is not a Marketplace public key",
            "got 31 characters",
        ],
    );
    refused(
        PUBLIC,
        &format!("{GOOD}0"),
        &["MAGENTO_PRIVATE_KEY", "got 33 characters"],
    );
    refused(
        PUBLIC,
        "0123456789abcdef0123456789abcde!",
        &["MAGENTO_PRIVATE_KEY", "got 32 characters"],
    );
}

#[test]
fn identical_keys() {
    refused(
        GOOD,
        GOOD,
        &["MAGENTO_PUBLIC_KEY and MAGENTO_PRIVATE_KEY are identical (length 32)"],
    );
}

#[test]
fn json_and_pair_values_get_specific_hints() {
    refused(
        r#"{"http-basic":{"repo.magento.com":{"username":"x","password":"y"}}}"#,
        GOOD,
        &[
            "looks like a COMPOSER_AUTH JSON object",
            "set the variable to the key alone",
        ],
    );
    refused(
        &format!("{GOOD}:{PRIVATE}"),
        PRIVATE,
        &["MAGENTO_PUBLIC_KEY contains ':'", "public:private"],
    );
    refused(
        PUBLIC,
        &format!("{GOOD}:x"),
        &["MAGENTO_PRIVATE_KEY", "public:private"],
    );
}

#[test]
fn surrounding_whitespace_is_trimmed_with_a_warning() {
    let mut world = World::new();
    world.set("MAGENTO_PRIVATE_KEY", format!("{PRIVATE}\n"));
    world
        .run(&["setup", "--no-check"])
        .ok()
        .stderr_has("warning: MAGENTO_PRIVATE_KEY had whitespace around it");
    assert_eq!(
        json(&world.home_auth())["http-basic"]["repo.magento.com"]["password"],
        PRIVATE
    );
    world.run(&["cleanup"]).ok();
}

#[test]
fn missing_keys_fail_with_the_reason_or_skip_on_request() {
    let mut world = World::bare();
    let before = world.snapshot();
    world
        .run(&["setup", "--no-check"])
        .code(3)
        .stderr_has("no Marketplace keys")
        .stderr_has("forks");
    world
        .run(&["setup", "--no-check", "--on-missing", "skip"])
        .ok()
        .stderr_has("skipped");
    // CI passes a withheld secret as an empty string.
    world
        .set("MAGENTO_PUBLIC_KEY", "")
        .set("MAGENTO_PRIVATE_KEY", "");
    world
        .run(&["setup", "--no-check", "--on-missing", "skip"])
        .ok()
        .stderr_has("forks");
    world
        .run(&[
            "exec",
            "--on-missing",
            "skip",
            "--",
            &native_bin(),
            "--version",
        ])
        .ok();
    assert_eq!(world.snapshot(), before);
}

#[test]
fn only_one_key_is_an_error_even_with_skip() {
    let mut world = World::new();
    world.unset("MAGENTO_PRIVATE_KEY");
    world
        .run(&["setup", "--no-check", "--on-missing", "skip"])
        .code(3)
        .stderr_has("MAGENTO_PRIVATE_KEY is not set");
}

#[test]
fn keys_from_other_variables_and_stdin() {
    let mut world = World::bare();
    world.set("COMPOSER_HOME", world.composer_home());
    world.set("MY_PUB", PUBLIC);
    world
        .run_with_stdin(
            &[
                "setup",
                "--no-check",
                "--public-key-env",
                "MY_PUB",
                "--private-key-stdin",
            ],
            &format!("{PRIVATE}\n"),
        )
        .ok();
    let doc = json(&world.home_auth());
    assert_eq!(doc["http-basic"]["repo.magento.com"]["username"], PUBLIC);
    assert_eq!(doc["http-basic"]["repo.magento.com"]["password"], PRIVATE);
    world.run(&["cleanup"]).ok();

    world.set("MY_PRIV", PRIVATE);
    world
        .run(&[
            "setup",
            "--no-check",
            "--public-key-env",
            "MY_PUB",
            "--private-key-env",
            "MY_PRIV",
        ])
        .ok();
    world.run(&["cleanup"]).ok();
    assert!(!world.home_auth().exists());
}

#[test]
fn key_values_are_never_accepted_as_arguments() {
    let world = World::new();
    let out = world.run(&["setup", "--public-key", "abc"]).code(2);
    assert!(out.stderr.contains("unexpected argument"), "{}", out.stderr);
}

#[test]
fn a_nul_byte_on_stdin_is_refused() {
    let world = World::new();
    let out = world
        .run_with_stdin(
            &["setup", "--no-check", "--private-key-stdin"],
            "0123456789abcdef\u{0}123456789abcdef\n",
        )
        .code(3);
    assert!(
        out.stderr
            .contains("the private key from standard input contains a control character"),
        "{}",
        out.stderr
    );
    assert!(!world.home_auth().exists());
}
