//! Bad input and hostile surroundings: each gets a clear message and a
//! documented exit code, and no file changes.

use std::fs;
#[cfg(unix)]
use std::os::unix::fs::PermissionsExt;

use crate::common::*;

fn refused_unchanged(world: &World, args: &[&str], needle: &str) {
    let before = world.snapshot();
    world
        .run(args)
        .code(3)
        .stderr_has(needle)
        .stderr_has("hint: ");
    assert_eq!(world.snapshot(), before, "{args:?} changed a file");
}

#[test]
fn a_huge_auth_json() {
    let world = World::new();
    let mut big = b"{\"x\": \"".to_vec();
    big.resize(10 * 1024 * 1024, b'a');
    big.extend_from_slice(b"\"}");
    write_mode(&world.home_auth(), &big, 0o600);
    refused_unchanged(&world, &["setup", "--no-check"], "is larger than 1024 KiB");
}

#[test]
fn an_auth_json_that_is_a_directory() {
    let world = World::new();
    fs::create_dir_all(world.home_auth()).unwrap();
    refused_unchanged(&world, &["setup", "--no-check"], "is not a regular file");
}

#[cfg(unix)]
#[test]
fn an_unreadable_auth_json() {
    let world = World::new();
    write_mode(&world.home_auth(), COMPOSER_WRITTEN.as_bytes(), 0o600);
    let mut cmd = world.unprivileged(&["setup", "--no-check"]);
    // Owned by nobody now; take reading away from its owner.
    fs::set_permissions(world.home_auth(), fs::Permissions::from_mode(0o000)).unwrap();
    let before = world.snapshot();
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let out = Outcome::of(cmd).code(3);
    assert!(
        out.stderr.contains("cannot read") && out.stderr.contains("Permission denied"),
        "{out:#?}"
    );
    assert_eq!(world.snapshot(), before);
}

#[cfg(unix)]
#[test]
fn a_read_only_composer_home() {
    let world = World::new();
    write_mode(&world.home_auth(), COMPOSER_WRITTEN.as_bytes(), 0o644);
    let mut cmd = world.unprivileged(&["setup", "--no-check"]);
    fs::set_permissions(world.composer_home(), fs::Permissions::from_mode(0o555)).unwrap();
    let before = world.snapshot();
    let out = Outcome::of({
        cmd.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        cmd
    })
    .code(3);
    assert!(
        out.stderr.contains("cannot write in") && out.stderr.contains("hint: "),
        "{out:#?}"
    );
    assert_eq!(world.snapshot(), before);
}

#[cfg(unix)]
#[test]
fn a_full_disk() {
    // A 256 KiB tmpfs in a private mount namespace, filled up.
    let world = World::new();
    let disk = world.root.join("disk");
    fs::create_dir(&disk).unwrap();
    let home = disk.join("composer");
    let script = format!(
        "mount -t tmpfs -o size=256k tmpfs {disk} || exit 99
         mkdir {home} && printf '%s' '{{\"github-oauth\": {{}}}}' > {home}/auth.json
         dd if=/dev/zero of={disk}/filler bs=4k 2>/dev/null
         MAGENTO_AUTH_UNUSED=1 COMPOSER_HOME={home} {bin} setup --no-check; echo \"exit=$?\"
         cat {home}/auth.json; echo; ls -a {home}",
        disk = disk.display(),
        home = home.display(),
        bin = BIN
    );
    let Some(out) = in_mount_namespace(&world, &script) else {
        return;
    };
    assert!(out.stdout.contains("exit=3"), "{out:#?}");
    assert!(out.stderr.contains("No space left on device"), "{out:#?}");
    assert!(
        out.stdout.contains("{\"github-oauth\": {}}\n"),
        "the original is intact: {out:#?}"
    );
    assert!(
        !out.stdout.contains(".tmp"),
        "no temporary file is left: {out:#?}"
    );
    assert!(!world.state_file().exists(), "no state is left");
}

#[test]
fn keys_with_unicode_spaces_and_tabs() {
    for (public, needle) in [
        ("0123456789abcdef0123456789abcdeé", "got 32 characters"),
        ("0123456789abcdef 123456789abcdef", "got 32 characters"),
        ("0123456789abcdef\t123456789abcdef", "control character"),
    ] {
        let mut world = World::new();
        world.set("MAGENTO_PUBLIC_KEY", public);
        refused_unchanged(&world, &["setup", "--no-check"], needle);
    }
}

/// A state file damaged after setup wrote it: cut short, emptied, overwritten
/// with noise, or with a field changed that still parses. Cleanup and setup
/// refuse it (exit 3) and change no file, rather than write to a path setup
/// never touched.
#[test]
fn a_corrupted_or_truncated_state_file() {
    type Damage = fn(&str) -> Vec<u8>;
    let damage: [(&str, Damage); 5] = [
        ("cut short", |text| {
            text.as_bytes()[..text.len() / 2].to_vec()
        }),
        ("emptied", |_| Vec::new()),
        ("noise", |_| (0..=255u8).rev().collect()),
        ("another shape", |_| {
            b"{\"version\": 2, \"entries\": {}}".to_vec()
        }),
        ("the target changed", |text| {
            let mut state: serde_json::Value = serde_json::from_str(text).unwrap();
            let target = state["files"][0]["target"].as_str().unwrap().to_string();
            state["files"][0]["target"] = target.replace("auth.json", "other.json").into();
            serde_json::to_vec_pretty(&state).unwrap()
        }),
    ];
    for (what, damage) in damage {
        let world = World::new();
        write_mode(&world.home_auth(), COMPOSER_WRITTEN.as_bytes(), 0o644);
        world.run(&["setup", "--no-check"]).ok();
        let text = fs::read_to_string(world.state_file()).unwrap();
        fs::write(world.state_file(), damage(&text)).unwrap();
        let before = world.snapshot();
        for args in [&["cleanup"][..], &["setup", "--no-check"]] {
            let out = world.run(args);
            assert!(
                out.code == 3
                    && out.stderr.contains("state file")
                    && out.stderr.contains("is corrupt")
                    && out.stderr.contains("hint: "),
                "{what}: {args:?}: {out:#?}"
            );
        }
        assert_eq!(world.snapshot(), before, "{what}: a file changed");
    }
}

/// A ledger damaged while setups are active (or planted): cut short,
/// noise, or a byte of the previous file it keeps changed. Cleanup and setup
/// refuse to trust it (exit 3), say which file to check, and change nothing.
#[test]
fn a_damaged_ledger_is_refused_not_trusted() {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD as BASE64;
    type Damage = fn(&str) -> Vec<u8>;
    let damage: [(&str, Damage); 3] = [
        ("cut short", |text| {
            text.as_bytes()[..text.len() / 2].to_vec()
        }),
        ("noise", |_| (0..=255u8).rev().collect()),
        ("one byte of the previous file changed", |text| {
            let mut ledger: serde_json::Value = serde_json::from_str(text).unwrap();
            let original = &mut ledger["original"];
            let mut bytes = BASE64
                .decode(original["bytes_base64"].as_str().unwrap())
                .unwrap();
            bytes[10] ^= 0x20;
            original["bytes_base64"] = BASE64.encode(bytes).into();
            serde_json::to_vec(&ledger).unwrap()
        }),
    ];
    for (what, damage) in damage {
        let world = World::new();
        // Project mode keeps the previous bytes in the ledger itself.
        fs::write(world.project.join("composer.json"), "{}").unwrap();
        write_mode(
            &world.project.join("auth.json"),
            COMPOSER_WRITTEN.as_bytes(),
            0o600,
        );
        world
            .run(&["setup", "--no-check", "--mode", "project"])
            .ok();
        let state_dir = world.state_file().parent().unwrap().to_path_buf();
        let ledger = fs::read_dir(&state_dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "ledger"))
            .expect("a ledger in the state directory");
        let text = fs::read_to_string(&ledger).unwrap();
        fs::write(&ledger, damage(&text)).unwrap();
        let before = world.snapshot();
        for args in [
            &["cleanup"][..],
            &["setup", "--no-check", "--mode", "project"],
        ] {
            let out = world.run(args);
            assert!(
                out.code == 3
                    && out.stderr.contains("cannot be trusted")
                    && out.stderr.contains(&ledger.display().to_string())
                    && out.stderr.contains("hint: "),
                "{what}: {args:?}: {out:#?}"
            );
        }
        assert_eq!(world.snapshot(), before, "{what}: a file changed");
    }
}

/// Malformed credentials that hold the keys: every command refuses them (or
/// doctor reports them as a problem, exit 0) without echoing any part of
/// them, and changes no file. Entries of odd shape inside a well-formed
/// `http-basic` are not refused (setup replaces the entry and cleanup puts it
/// back), but doctor and the check must not echo them either.
#[test]
fn malformed_credentials_holding_the_keys_are_never_echoed() {
    let entry = format!(r#"{{"username":"{PUBLIC}","password":"{PRIVATE}"}}"#);
    let refused = [
        format!(r#"{{"http-basic":{{"repo.magento.com":{entry}}}"#),
        format!(r#"{{"http-basic":{{"repo.magento.com":{entry}}}}}x"#),
        format!(r#"{{"http-basic":["{PUBLIC}","{PRIVATE}"]}}"#),
        format!(r#"["{PUBLIC}:{PRIVATE}"]"#),
        format!("\u{feff}{{\"http-basic\":{{\"repo.magento.com\":{entry}}}}}"),
    ];
    let odd_entries = [
        format!(r#"{{"http-basic":{{"repo.magento.com":"{PRIVATE}"}}}}"#),
        format!(
            r#"{{"http-basic":{{"repo.magento.com":{{"username":"{PUBLIC}","password":7}}}}}}"#
        ),
        format!(
            r#"{{"http-basic":{{"repo.magento.com":{{"username":["{PUBLIC}"],"password":{{"p":"{PRIVATE}"}}}}}}}}"#
        ),
    ];
    for text in refused.iter().chain(&odd_entries) {
        let is_refused = refused.contains(text);
        // As COMPOSER_AUTH.
        let mut world = World::new();
        world.set("COMPOSER_AUTH", text);
        let before = world.snapshot();
        if is_refused {
            world
                .run(&["setup", "--no-check", "--mode", "env"])
                .code(3)
                .stderr_has("COMPOSER_AUTH");
            world
                .run(&["exec", "--no-check", "--", &native_bin(), "--version"])
                .code(3)
                .stderr_has("COMPOSER_AUTH");
        }
        let out = world.run(&["doctor"]).ok();
        assert!(out.stdout.contains("Problems:"), "{out:#?}");
        unusable_for_the_check(&mut world);
        assert_eq!(world.snapshot(), before, "{text}");

        // As the home auth.json.
        let mut world = World::new();
        write_mode(&world.home_auth(), text.as_bytes(), 0o600);
        let before = world.snapshot();
        if is_refused {
            world
                .run(&["setup", "--no-check"])
                .code(3)
                .stderr_has("auth.json");
            world
                .run(&[
                    "exec",
                    "--no-check",
                    "--mode",
                    "home",
                    "--",
                    &native_bin(),
                    "--version",
                ])
                .code(3)
                .stderr_has("auth.json");
        }
        world.run(&["doctor"]).ok();
        unusable_for_the_check(&mut world);
        assert_eq!(world.snapshot(), before, "{text}");
    }
}

/// Without keys the check takes the credentials Composer would use; these
/// are unusable, so it stops before any request (and a proxy on a closed
/// local port makes sure nothing would leave the machine if it did not).
fn unusable_for_the_check(world: &mut World) {
    world
        .unset("MAGENTO_PUBLIC_KEY")
        .unset("MAGENTO_PRIVATE_KEY")
        .set(
            "HTTPS_PROXY",
            format!("http://127.0.0.1:{}", crate::proxy::free_port()),
        );
    world
        .run(&["check", "--timeout", "2", "--retries", "0"])
        .code(3);
}

#[test]
fn a_repo_url_that_is_not_a_url_is_bad_input_and_nothing_is_written() {
    let world = World::new();
    for url in [
        "https://127.0.0.1:1/a b",
        "https://rép.example",
        "https://h^x.example",
    ] {
        refused_unchanged(
            &world,
            &["setup", "--no-check", "--repo-url", url],
            "--repo-url has a bad host or port",
        );
        world
            .run(&["check", "--repo-url", url, "--retries", "0"])
            .code(3)
            .stderr_has("--repo-url has a bad host or port");
    }
}
