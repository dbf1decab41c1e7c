//! Real Composer as the oracle: where it looks for auth.json, and that it
//! reads, rewrites and keeps what magento-auth writes.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

/// The real `composer`, or a skip; under CI=true a missing Composer fails.
pub fn composer_bin() -> Option<PathBuf> {
    match which_composer() {
        Some(path) => Some(path),
        None if std::env::var_os("CI").is_some() => {
            panic!("composer is not installed; scripts/test installs it")
        }
        None => {
            eprintln!("skipped: composer is not installed (scripts/test installs it)");
            None
        }
    }
}

fn which_composer() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("composer"))
        .find(|p| p.is_file())
}

/// Composer with exactly the world's environment, never interactive.
pub fn composer_command(world: &World, bin: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .args(["--no-ansi", "--no-interaction"])
        .env_clear()
        .current_dir(&world.project);
    for (name, value) in &world.vars {
        cmd.env(name, value);
    }
    cmd.env("COMPOSER_NO_INTERACTION", "1");
    cmd
}

/// [`composer_command`] without network, which must succeed.
fn composer(world: &World, bin: &Path, args: &[&str]) -> std::process::Output {
    let out = composer_command(world, bin, args)
        .env("COMPOSER_DISABLE_NETWORK", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "composer {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Where our setup wrote, from its own report.
fn where_setup_writes(world: &World) -> PathBuf {
    let out = world.run(&["setup", "--no-check"]).ok();
    let path = out
        .stderr
        .split_once(" to ")
        .and_then(|(_, rest)| rest.split_once("; "))
        .map(|(path, _)| PathBuf::from(path))
        .unwrap_or_else(|| panic!("no path in {}", out.stderr));
    world.run(&["cleanup"]).ok();
    path
}

#[test]
fn our_home_is_composers_home() {
    let Some(bin) = composer_bin() else { return };
    type Arrange = fn(&mut World);
    let cases: [(&str, Arrange); 6] = [
        ("COMPOSER_HOME set", |w| {
            w.set("COMPOSER_HOME", w.root.join("custom-home"));
        }),
        ("XDG_CONFIG_HOME set", |w| {
            w.set("XDG_CONFIG_HOME", w.root.join("xdg"));
        }),
        ("only ~/.config/composer exists", |w| {
            fs::create_dir_all(w.home.join(".config/composer")).unwrap();
        }),
        ("only ~/.composer exists", |w| {
            fs::create_dir_all(w.home.join(".composer")).unwrap();
        }),
        ("neither exists", |_| {}),
        ("neither exists, an XDG variable set", |w| {
            w.set("XDG_RUNTIME_DIR", w.root.join("run"));
        }),
    ];
    for (name, arrange) in cases {
        let mut world = World::new();
        world.unset("COMPOSER_HOME");
        arrange(&mut world);
        let ours = where_setup_writes(&world);
        let out = composer(&world, &bin, &["config", "--global", "home"]);
        let theirs = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
        assert_eq!(ours, theirs.join("auth.json"), "{name}");
    }
}

#[test]
fn a_composer_written_auth_json_is_merged_read_and_restored_byte_for_byte() {
    let Some(bin) = composer_bin() else { return };
    let world = World::new();
    composer(
        &world,
        &bin,
        &["config", "--global", "http-basic.example.org", "u", "p"],
    );
    composer(
        &world,
        &bin,
        &["config", "--global", "github-oauth.github.com", "ghp_x"],
    );
    let original = fs::read(world.home_auth()).unwrap();
    let original_mode = mode(&world.home_auth());

    world.run(&["setup", "--no-check"]).ok();
    // Composer still reads every entry of the merged file.
    let out = composer(
        &world,
        &bin,
        &["config", "--global", "http-basic.example.org"],
    );
    let entry: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(entry, serde_json::json!({"username": "u", "password": "p"}));
    let out = composer(
        &world,
        &bin,
        &["config", "--global", "github-oauth.github.com"],
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), "ghp_x");

    world.run(&["cleanup"]).ok().stderr_has("restored");
    assert_eq!(fs::read(world.home_auth()).unwrap(), original);
    assert_eq!(mode(&world.home_auth()), original_mode);
}

#[test]
fn a_change_composer_makes_during_the_job_is_kept() {
    let Some(bin) = composer_bin() else { return };
    let world = World::new();
    composer(
        &world,
        &bin,
        &["config", "--global", "http-basic.example.org", "u", "p"],
    );
    world.run(&["setup", "--no-check"]).ok();
    // Composer edits the file in place while the job runs.
    composer(
        &world,
        &bin,
        &[
            "config",
            "--global",
            "gitlab-token.gitlab.example.com",
            "glpat",
        ],
    );
    composer(
        &world,
        &bin,
        &["config", "--global", "--unset", "http-basic.example.org"],
    );
    world
        .run(&["cleanup"])
        .ok()
        .stderr_has("kept the changes made since");
    let doc = json(&world.home_auth());
    assert_eq!(doc["gitlab-token"]["gitlab.example.com"], "glpat");
    assert!(doc["http-basic"].get("example.org").is_none());
    assert!(doc["http-basic"].get("repo.magento.com").is_none());
    world.assert_no_secret_in_files();
}
