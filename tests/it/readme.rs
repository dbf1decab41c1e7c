//! The README's shell snippets, run as written: a user copies them literally.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{BIN, Outcome, PRIVATE, PUBLIC, World};

/// Every ```sh block of README.md, in order.
fn readme_sh_blocks() -> Vec<String> {
    let readme = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let text = fs::read_to_string(&readme).unwrap();
    let mut blocks = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in text.lines() {
        match current.as_mut() {
            None if line.trim_end() == "```sh" => current = Some(Vec::new()),
            None => {}
            Some(lines) if line.trim_end() == "```" => {
                blocks.push(lines.join("\n") + "\n");
                current = None;
            }
            Some(lines) => lines.push(line),
        }
    }
    blocks
}

/// The README's snippet for `setup --mode env`: the one that runs it.
fn env_mode_snippet() -> String {
    let found: Vec<String> = readme_sh_blocks()
        .into_iter()
        .filter(|block| block.contains("magento-auth setup --mode env"))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "README.md has one ```sh block with `magento-auth setup --mode env`: {found:#?}"
    );
    found.into_iter().next().unwrap()
}

/// A `bin` directory for PATH: `magento-auth` (the binary under test) and a
/// `composer` that hands the `COMPOSER_AUTH` it was given to `seen` and
/// succeeds, as a `composer install` that found its credentials would.
fn tools(world: &World, seen: &Path) -> PathBuf {
    let bin = world.root.join("bin");
    fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(BIN, bin.join("magento-auth")).unwrap();
    let composer = bin.join("composer");
    fs::write(
        &composer,
        format!(
            "#!/bin/sh\nprintf '%s' \"${{COMPOSER_AUTH-unset}}\" > '{}'\n",
            seen.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&composer, fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

/// Run `script` in `sh` (without -e: the snippet must stop by itself) with
/// this world's environment and `bin` first on PATH.
fn run_sh(world: &World, bin: &Path, script: &str) -> Outcome {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(script)
        .env_clear()
        .current_dir(&world.project);
    for (name, value) in &world.vars {
        cmd.env(name, value);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths = vec![bin.to_path_buf()];
    paths.extend(std::env::split_paths(&path));
    cmd.env("PATH", std::env::join_paths(paths).unwrap());
    cmd.stdin(std::process::Stdio::null());
    Outcome::of(cmd)
}

#[test]
fn env_mode_snippet_stops_with_setups_exit_code_when_setup_fails() {
    let snippet = env_mode_snippet();
    let mut world = World::new();
    // A private key of the wrong length: setup refuses it with exit 3.
    world.set("MAGENTO_PRIVATE_KEY", "too-short");
    world.set("MAGENTO_AUTH_NO_CHECK", "true");
    let seen = world.root.join("composer-saw");
    let bin = tools(&world, &seen);
    let outcome = run_sh(&world, &bin, &snippet);
    assert_eq!(
        outcome.code, 3,
        "the snippet must exit with setup's code:\n{snippet}\n{outcome:#?}"
    );
    assert!(
        !seen.exists(),
        "the snippet went on to run composer after setup failed:\n{snippet}"
    );
    world.assert_no_secret_in_files();
}

#[test]
fn env_mode_snippet_exports_composer_auth_when_setup_succeeds() {
    let snippet = env_mode_snippet();
    let mut world = World::new();
    world.set("MAGENTO_AUTH_NO_CHECK", "true");
    let seen = world.root.join("composer-saw");
    let bin = tools(&world, &seen);
    let outcome = run_sh(&world, &bin, &snippet);
    assert_eq!(outcome.code, 0, "{snippet}\n{outcome:#?}");
    let given = fs::read_to_string(&seen).expect("composer ran");
    // The stand-in's record holds the keys; it goes now.
    fs::remove_file(&seen).unwrap();
    let auth: serde_json::Value = serde_json::from_str(&given).expect("COMPOSER_AUTH is JSON");
    assert_eq!(
        auth["http-basic"]["repo.magento.com"],
        serde_json::json!({ "username": PUBLIC, "password": PRIVATE }),
        "composer got the keys through COMPOSER_AUTH"
    );
    assert!(!world.home_auth().exists(), "env mode writes no auth.json");
    world.assert_no_secret_in_files();
}
