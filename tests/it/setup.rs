//! Setup in each mode: what it writes, where, how, and what it refuses.

use std::fs;
use std::process::Command;

use crate::common::*;

#[test]
fn home_mode_writes_a_private_auth_json_and_cleanup_removes_it() {
    let world = World::new();
    world
        .run(&["setup", "--no-check"])
        .ok()
        .stderr_has("wrote credentials for repo.magento.com");
    let auth = world.home_auth();
    assert_mode(&auth, 0o600);
    assert_mode(&world.composer_home(), 0o700);
    let doc = json(&auth);
    assert_eq!(doc["http-basic"]["repo.magento.com"]["username"], PUBLIC);
    assert_eq!(doc["http-basic"]["repo.magento.com"]["password"], PRIVATE);
    assert_mode(&world.state_file(), 0o600);
    assert_mode(world.state_file().parent().unwrap(), 0o700);

    world.run(&["cleanup"]).ok().stderr_has("removed");
    assert!(!auth.exists());
    assert!(
        !world.composer_home().exists(),
        "the directory setup created is gone"
    );
    assert!(!world.state_file().exists());
    world.assert_no_secret_in_files();
    assert!(
        fs::read_dir(&world.tmp).unwrap().next().is_none(),
        "nothing left in TMPDIR"
    );
}

#[cfg(unix)]
#[test]
fn without_composer_home_it_uses_composers_own_resolution() {
    let mut world = World::new();
    world.unset("COMPOSER_HOME");
    // An XDG variable makes Composer prefer ~/.config/composer when neither exists.
    world.set("XDG_CONFIG_HOME", world.home.join("cfg"));
    world.run(&["setup", "--no-check"]).ok();
    assert!(world.home.join("cfg/composer/auth.json").is_file());
    world.run(&["cleanup"]).ok();
    assert!(!world.home.join("cfg").exists());

    // An existing ~/.composer wins when the XDG directory does not exist.
    fs::create_dir_all(world.home.join(".composer")).unwrap();
    world.run(&["setup", "--no-check"]).ok();
    assert!(world.home.join(".composer/auth.json").is_file());
    world.run(&["cleanup"]).ok();
    assert!(
        world.home.join(".composer").is_dir(),
        "a directory setup did not create stays"
    );
}

#[test]
fn merge_keeps_other_hosts_and_auth_types_in_order() {
    let world = World::new();
    write_mode(&world.home_auth(), COMPOSER_WRITTEN.as_bytes(), 0o644);
    world.run(&["setup", "--no-check"]).ok();
    let text = fs::read_to_string(world.home_auth()).unwrap();
    let keys: Vec<_> = json(&world.home_auth())
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(
        keys,
        [
            "bitbucket-oauth",
            "github-oauth",
            "gitlab-oauth",
            "gitlab-token",
            "http-basic",
            "bearer"
        ]
    );
    let hosts: Vec<_> = json(&world.home_auth())["http-basic"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(hosts, ["example.org", "repo.magento.com"]);
    assert!(
        text.starts_with("{\n    \"bitbucket-oauth\": {},\n"),
        "Composer's format:\n{text}"
    );
    // A file holding keys is private while they are in it.
    assert_mode(&world.home_auth(), 0o600);
    world.run(&["cleanup"]).ok().stderr_has("restored");
    assert_eq!(
        fs::read_to_string(world.home_auth()).unwrap(),
        COMPOSER_WRITTEN
    );
    assert_mode(&world.home_auth(), 0o644);
}

#[test]
fn malformed_auth_json_is_refused_and_left_byte_identical() {
    for text in [
        "{\"http-basic\": ",
        "[1, 2]",
        "\"x\"",
        r#"{"http-basic": ["a"]}"#,
        r#"{"http-basic": 1}"#,
        "\u{feff}{}",
        "",
    ] {
        let world = World::new();
        write_mode(&world.home_auth(), text.as_bytes(), 0o640);
        let before = world.snapshot();
        world
            .run(&["setup", "--no-check"])
            .code(3)
            .stderr_has("auth.json");
        assert_eq!(world.snapshot(), before, "changed for {text:?}");
        assert!(!world.state_file().exists());
    }
}

#[test]
fn malformed_composer_auth_is_refused() {
    for text in ["{", "[]", r#"{"http-basic": []}"#] {
        let mut world = World::new();
        world.set("COMPOSER_AUTH", text);
        let before = world.snapshot();
        let out = world
            .run_secret_stdout(&["setup", "--no-check", "--mode", "env"])
            .code(3);
        assert!(out.stderr.contains("COMPOSER_AUTH"), "{}", out.stderr);
        assert!(out.stdout.is_empty());
        let out = world
            .run(&["exec", "--no-check", "--", &native_bin(), "--version"])
            .code(3);
        assert!(out.stderr.contains("COMPOSER_AUTH"), "{}", out.stderr);
        assert_eq!(world.snapshot(), before);
    }
}

#[cfg(unix)]
#[test]
fn env_mode_prints_an_export_line_that_merges_composer_auth() {
    let mut world = World::new();
    world.set(
        "COMPOSER_AUTH",
        r#"{"github-oauth":{"github.com":"tok'en"}}"#,
    );
    let out = world
        .run_secret_stdout(&["setup", "--no-check", "--mode", "env"])
        .ok();
    assert_no_secret(&out.stderr, "stderr");
    // Let a real shell evaluate it, as `eval "$(magento-auth setup --mode env)"` would.
    let script = format!("{}\nprintf %s \"$COMPOSER_AUTH\"", out.stdout);
    let value = Command::new("sh")
        .arg("-c")
        .arg(script)
        .output()
        .unwrap()
        .stdout;
    let doc: serde_json::Value = serde_json::from_slice(&value).unwrap();
    assert_eq!(doc["github-oauth"]["github.com"], "tok'en");
    assert_eq!(doc["http-basic"]["repo.magento.com"]["username"], PUBLIC);
    assert_eq!(doc["http-basic"]["repo.magento.com"]["password"], PRIVATE);
    assert_eq!(world.all_files().len(), 0, "env mode writes nothing");
}

#[cfg(unix)]
#[test]
fn env_mode_refuses_a_terminal() {
    let world = World::new();
    // `script` gives the command a pseudo-terminal as stdout.
    let mut cmd = Command::new("script");
    cmd.args([
        "-qec",
        &format!("{BIN} setup --no-check --mode env"),
        "/dev/null",
    ])
    .env_clear()
    .current_dir(&world.project);
    for (name, value) in &world.vars {
        cmd.env(name, value);
    }
    let out = Outcome::of(cmd);
    assert_eq!(out.code, 3, "{out:#?}");
    assert!(out.stdout.contains("stdout is a terminal"), "{out:#?}");
}

#[cfg(unix)]
#[test]
fn project_mode_writes_beside_composer_json_and_warns_when_git_would_commit_it() {
    let world = World::new();
    fs::write(world.project.join("composer.json"), "{}").unwrap();
    let git = |args: &[&str]| {
        assert!(
            Command::new("git")
                .args(args)
                .current_dir(&world.project)
                .output()
                .unwrap()
                .status
                .success()
        );
    };
    git(&["init", "-q"]);
    world
        .run(&["setup", "--no-check", "--mode", "project"])
        .ok()
        .stderr_has("is not ignored by git");
    let auth = world.project.join("auth.json");
    assert_eq!(
        json(&auth)["http-basic"]["repo.magento.com"]["username"],
        PUBLIC
    );
    assert_mode(&auth, 0o600);
    world.run(&["cleanup"]).ok();
    assert!(!auth.exists());

    fs::write(world.project.join(".gitignore"), "/auth.json\n").unwrap();
    let out = world
        .run(&["setup", "--no-check", "--mode", "project"])
        .ok();
    assert!(!out.stderr.contains("not ignored"), "{}", out.stderr);
    world.run(&["cleanup"]).ok();
    assert!(!auth.exists());
    assert!(
        !world.home_auth().exists(),
        "project mode leaves the home alone"
    );
}

#[test]
fn project_mode_warns_without_composer_json() {
    let world = World::new();
    let sub = world.project.join("sub");
    fs::create_dir(&sub).unwrap();
    world
        .run(&[
            "setup",
            "--no-check",
            "--mode",
            "project",
            "--working-dir",
            "sub",
        ])
        .ok()
        .stderr_has("composer.json does not exist");
    assert!(sub.join("auth.json").is_file());
    world.run(&["cleanup"]).ok();
    assert!(!sub.join("auth.json").exists());
}

#[test]
fn the_host_key_carries_a_non_default_port() {
    let mut world = World::new();
    // Other repositories need not use Marketplace-shaped keys.
    world.set("MAGENTO_PUBLIC_KEY", "deploy-user");
    world.set("MAGENTO_PRIVATE_KEY", "a password:with colon");
    world
        .run(&[
            "setup",
            "--no-check",
            "--repo-url",
            "https://127.0.0.1:8443/",
        ])
        .ok();
    world
        .run(&[
            "setup",
            "--no-check",
            "--repo-url",
            "https://mirror.example.com:443",
        ])
        .ok();
    let doc = json(&world.home_auth());
    let hosts: Vec<_> = doc["http-basic"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(hosts, ["127.0.0.1:8443", "mirror.example.com"]);
    world.run(&["cleanup"]).ok();
    assert!(!world.home_auth().exists());
}

#[test]
fn unsafe_repository_urls_are_refused() {
    let world = World::new();
    world
        .run(&[
            "setup",
            "--no-check",
            "--repo-url",
            "http://repo.magento.com",
        ])
        .code(3)
        .stderr_has("not loopback");
    let out = world
        .run(&[
            "setup",
            "--no-check",
            "--repo-url",
            "https://u:hunter22@repo.magento.com",
        ])
        .code(3);
    assert!(!out.stderr.contains("hunter22"), "{}", out.stderr);
    assert!(!world.home_auth().exists());
}

#[cfg(unix)]
#[test]
fn a_symlinked_auth_json_is_refused_and_its_target_not_created() {
    let world = World::new();
    fs::create_dir_all(world.composer_home()).unwrap();
    let target = world.root.join("elsewhere/auth.json");
    std::os::unix::fs::symlink(&target, world.home_auth()).unwrap();
    world
        .run(&["setup", "--no-check"])
        .code(3)
        .stderr_has("symbolic link");
    assert!(!target.exists());
    assert!(
        fs::symlink_metadata(world.home_auth())
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(!world.state_file().exists());
}

#[test]
fn a_second_setup_repairs_stale_state_and_cleanup_still_restores_the_original() {
    let mut world = World::new();
    let original = br#"{"http-basic":{"repo.magento.com":{"username":"old","password":"older"}}}"#;
    write_mode(&world.home_auth(), original, 0o644);
    world.run(&["setup", "--no-check"]).ok();
    // The job was killed; a new setup with other keys runs with the same state.
    world.set("MAGENTO_PUBLIC_KEY", "ffffffffffffffffffffffffffffffff");
    world
        .run(&["setup", "--no-check"])
        .ok()
        .stderr_has("never cleaned up");
    assert_eq!(
        json(&world.home_auth())["http-basic"]["repo.magento.com"]["username"],
        "ffffffffffffffffffffffffffffffff"
    );
    world.run(&["cleanup"]).ok();
    assert_eq!(fs::read(world.home_auth()).unwrap(), original);
    assert_mode(&world.home_auth(), 0o644);
}

#[cfg(unix)]
#[test]
fn an_unsafe_state_directory_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let world = World::new();
    let dir = world.state_file().parent().unwrap().to_path_buf();
    fs::create_dir_all(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
    world
        .run(&["setup", "--no-check"])
        .code(3)
        .stderr_has("writable by group or others");
    assert!(!world.home_auth().exists());
}

/// An empty `MAGENTO_AUTH_*` variable means "not set", as a CI template that
/// exports every input expects (the GitLab component does); before, an empty
/// MAGENTO_AUTH_REQUIRE_PACKAGES was refused and an empty mode was a usage
/// error (issue 13, item 1).
#[test]
fn empty_settings_variables_are_not_set() {
    let mut world = World::new();
    for name in [
        "MAGENTO_AUTH_MODE",
        "MAGENTO_AUTH_REPO_URL",
        "MAGENTO_AUTH_WORKING_DIR",
        "MAGENTO_AUTH_ON_MISSING",
        "MAGENTO_AUTH_REQUIRE_PACKAGES",
        "MAGENTO_AUTH_WARN_ONLY",
        "MAGENTO_AUTH_STATE_FILE",
        "MAGENTO_AUTH_CI",
    ] {
        world.set(name, "");
    }
    world.run(&["setup", "--no-check"]).ok();
    assert!(
        world.home_auth().exists(),
        "the default mode (home) was used"
    );
    world.run(&["cleanup"]).ok();
    assert!(!world.home_auth().exists());
}
