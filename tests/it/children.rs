//! No child process but exec's own sees a key: stand-in `git` and `composer`
//! first on PATH write down the environment they were given.

use std::fs;
use std::path::{Path, PathBuf};

use crate::common::*;

/// A COMPOSER_AUTH that holds the canaries (for another host).
fn composer_auth_with_canaries() -> String {
    format!(
        r#"{{"http-basic":{{"example.org":{{"username":"{PUBLIC}","password":"{PRIVATE}"}}}}}}"#
    )
}

/// Put stand-ins for git (answering "not ignored") and composer (a version
/// line) first on PATH; the directory their dumps go to.
fn stand_ins(world: &mut World) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = world.root.join("bin");
    let dumps = world.root.join("dumps");
    fs::create_dir_all(&bin).unwrap();
    fs::create_dir_all(&dumps).unwrap();
    for (name, tail) in [
        ("git", "exit 1"),
        (
            "composer",
            "echo 'Composer version 2.8.0 2024-09-01 10:00:00'",
        ),
    ] {
        let script = bin.join(name);
        fs::write(
            &script,
            format!(
                "#!/bin/sh\nenv > \"{}/{name}.$$\"\n{tail}\n",
                dumps.display()
            ),
        )
        .unwrap();
        fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = std::env::var("PATH").unwrap_or_default();
    world.set("PATH", format!("{}:{path}", bin.display()));
    world.set("COMPOSER_AUTH", composer_auth_with_canaries());
    fs::write(world.project.join("composer.json"), "{}\n").unwrap();
    dumps
}

/// The environments `name` was run with; fails when it never ran, so that
/// no test passes by not exercising the helper.
fn dumps_of(dir: &Path, name: &str) -> Vec<String> {
    let found: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!("{name}."))
        })
        .map(|e| fs::read_to_string(e.path()).unwrap())
        .collect();
    assert!(!found.is_empty(), "{name} never ran");
    found
}

fn assert_clean(dir: &Path, name: &str) {
    for env in dumps_of(dir, name) {
        assert_no_secret(&env, &format!("the environment of {name}"));
        for var in [
            "COMPOSER_AUTH=",
            "MAGENTO_PUBLIC_KEY=",
            "MAGENTO_PRIVATE_KEY=",
        ] {
            assert!(!env.contains(var), "{name} got {var}");
        }
    }
}

#[test]
fn git_check_ignore_gets_no_key_in_setup() {
    let mut world = World::new();
    let dumps = stand_ins(&mut world);
    world
        .run(&["setup", "--no-check", "--mode", "project"])
        .ok()
        .stderr_has("is not ignored by git");
    assert_clean(&dumps, "git");
}

#[test]
fn keys_from_other_variables_stay_out_of_helpers_and_the_child() {
    let mut world = World::new();
    let dumps = stand_ins(&mut world);
    world
        .unset("MAGENTO_PUBLIC_KEY")
        .unset("MAGENTO_PRIVATE_KEY")
        .set("OTHER_PUBLIC", PUBLIC)
        .set("OTHER_PRIVATE", PRIVATE);
    let other = [
        "--public-key-env",
        "OTHER_PUBLIC",
        "--private-key-env",
        "OTHER_PRIVATE",
    ];
    let mut setup = vec!["setup", "--no-check", "--mode", "project"];
    setup.extend_from_slice(&other);
    world.run(&setup).ok().stderr_has("is not ignored by git");
    world.run(&["cleanup"]).ok();
    let child_env = dumps.join("child.env");
    let script = format!("env > {}", child_env.display());
    let mut exec = vec!["exec", "--no-check", "--mode", "project"];
    exec.extend_from_slice(&other);
    exec.extend_from_slice(&["--", "sh", "-c", &script]);
    world.run(&exec).ok();
    assert_clean(&dumps, "git");
    let env = fs::read_to_string(&child_env).unwrap();
    for var in ["OTHER_PUBLIC=", "OTHER_PRIVATE="] {
        assert!(!env.contains(var), "exec's child got {var}");
    }
    // The child's COMPOSER_AUTH is the user's own (it holds the canaries
    // here, for another host); the keys reach it through auth.json alone.
    let without_composer_auth: String = env
        .lines()
        .filter(|l| !l.starts_with("COMPOSER_AUTH="))
        .collect::<Vec<_>>()
        .join("\n");
    assert_no_secret(&without_composer_auth, "the environment of exec's child");
}

#[test]
fn exec_in_env_mode_gives_the_child_composer_auth_only() {
    let mut world = World::new();
    let dumps = stand_ins(&mut world);
    world.unset("COMPOSER_AUTH");
    let child_env = dumps.join("child.env");
    let script = format!("env > {}", child_env.display());
    world
        .run(&["exec", "--no-check", "--", "sh", "-c", &script])
        .ok();
    let env = fs::read_to_string(&child_env).unwrap();
    assert!(
        env.contains("COMPOSER_AUTH="),
        "the documented form is missing"
    );
    let rest: String = env
        .lines()
        .filter(|l| !l.starts_with("COMPOSER_AUTH="))
        .collect::<Vec<_>>()
        .join("\n");
    assert_no_secret(&rest, "the environment of exec's child");
}

#[test]
fn doctor_runs_composer_and_git_without_keys() {
    let mut world = World::new();
    let dumps = stand_ins(&mut world);
    fs::write(world.project.join("auth.json"), "{}\n").unwrap();
    let out = world.run(&["doctor"]).ok();
    assert!(out.stdout.contains("Composer version 2.8.0"), "{out:#?}");
    assert!(out.stdout.contains("git does not ignore it"), "{out:#?}");
    assert_clean(&dumps, "composer");
    assert_clean(&dumps, "git");
}

#[test]
fn check_without_keys_asks_composer_its_version_without_keys() {
    let mut world = World::new();
    let dumps = stand_ins(&mut world);
    world
        .unset("MAGENTO_PUBLIC_KEY")
        .unset("MAGENTO_PRIVATE_KEY")
        .set("MAGENTO_DOWNLOAD_TOKEN", PRIVATE);
    let url = format!("http://127.0.0.1:{}", crate::proxy::free_port());
    world
        .run(&["check", "--repo-url", &url, "--retries", "0"])
        .code(3);
    assert_clean(&dumps, "composer");
}
