//! A job killed at any step of setup or cleanup loses nothing: the next
//! cleanup (or setup, then cleanup) leaves the user's auth.json as it was.
//! Needs the `fault-points` feature, which scripts/test turns on.

use std::fs;
use std::process::Stdio;
use std::thread::sleep;
use std::time::Duration;

use crate::common::*;

const SETUP_POINTS: &[&str] = &[
    "write:job.json:temp-written",
    "write:job.json:renamed",
    "setup:state-saved",
    "write:.auth.json.magento-auth:temp-written",
    "write:.auth.json.magento-auth:renamed",
    "setup:ledger-saved",
    "setup:backup-linked",
    "write:auth.json:temp-written",
    "write:auth.json:renamed",
    "setup:target-written",
];

const CLEANUP_POINTS: &[&str] = &[
    "cleanup:backup-renamed",
    "cleanup:target-undone",
    "cleanup:ledger-saved",
];

fn state_arg(world: &World) -> String {
    world
        .root
        .join("state/job.json")
        .to_str()
        .unwrap()
        .to_string()
}

/// Run `args`, stop at `point`, and SIGKILL it there.
fn kill_at(world: &World, args: &[&str], point: &str) {
    let signal = world.root.join("reached");
    let _ = fs::remove_file(&signal);
    let mut cmd = world.command(args);
    cmd.env("MAGENTO_AUTH_FAULT_POINT", point)
        .env("MAGENTO_AUTH_FAULT_SIGNAL", &signal)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let reached = (0..400).any(|_| {
        sleep(Duration::from_millis(10));
        signal.exists()
    });
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(reached, "{args:?} never reached {point}");
}

fn originals() -> [Option<&'static str>; 2] {
    [None, Some(COMPOSER_WRITTEN)]
}

fn arrange(original: Option<&str>) -> World {
    let world = World::new();
    if let Some(text) = original {
        write_mode(&world.home_auth(), text.as_bytes(), 0o644);
    }
    world
}

fn assert_original(world: &World, original: Option<&str>, context: &str) {
    world.assert_home_auth_is(original, context);
    let leftovers: Vec<_> = fs::read_dir(world.composer_home())
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    let expected = usize::from(original.is_some());
    assert_eq!(leftovers.len(), expected, "{context}: {leftovers:?}");
    world.assert_no_secret_in_files();
}

/// A world with `original`, whose setup was killed at `point`; the state
/// file's path.
fn setup_killed_at(original: Option<&str>, point: &str) -> (World, String) {
    let world = arrange(original);
    let state = state_arg(&world);
    kill_at(
        &world,
        &["setup", "--no-check", "--state-file", &state],
        point,
    );
    (world, state)
}

/// Every (original, point) a setup can be killed at: the backup points only
/// where there is a file to keep aside.
fn setup_kills() -> impl Iterator<Item = (Option<&'static str>, &'static str)> {
    originals().into_iter().flat_map(|original| {
        SETUP_POINTS
            .iter()
            .filter(move |point| original.is_some() || !point.starts_with("setup:backup"))
            .map(move |point| (original, *point))
    })
}

#[test]
fn setup_killed_at_any_step_then_cleanup() {
    for (original, point) in setup_kills() {
        let (world, state) = setup_killed_at(original, point);
        world.run(&["cleanup", "--state-file", &state]).ok();
        assert_original(
            &world,
            original,
            &format!("setup killed at {point}, then cleanup"),
        );
    }
}

#[test]
fn setup_killed_at_any_step_then_setup_and_cleanup() {
    for (original, point) in setup_kills() {
        let (world, state) = setup_killed_at(original, point);
        world
            .run(&["setup", "--no-check", "--state-file", &state])
            .ok();
        assert_eq!(
            json(&world.home_auth())["http-basic"]["repo.magento.com"]["username"],
            PUBLIC
        );
        world.run(&["cleanup", "--state-file", &state]).ok();
        assert_original(
            &world,
            original,
            &format!("setup killed at {point}, then setup, cleanup"),
        );
    }
}

#[test]
fn cleanup_killed_at_any_step_then_cleanup() {
    for original in originals() {
        for point in CLEANUP_POINTS {
            let world = arrange(original);
            let state = state_arg(&world);
            world
                .run(&["setup", "--no-check", "--state-file", &state])
                .ok();
            if original.is_none() && point.starts_with("cleanup:backup") {
                continue; // Removing a file setup created needs no backup.
            }
            kill_at(&world, &["cleanup", "--state-file", &state], point);
            world.run(&["cleanup", "--state-file", &state]).ok();
            assert_original(
                &world,
                original,
                &format!("cleanup killed at {point}, then cleanup"),
            );
        }
    }
}

/// On a file system without hard links the state keeps the previous bytes
/// (synced) and cleanup writes them back; killed anywhere, nothing is lost.
#[test]
fn without_hard_links_the_state_keeps_the_file() {
    for point in [
        "setup:state-saved",
        "write:auth.json:renamed",
        "setup:target-written",
    ] {
        let mut world = arrange(Some(COMPOSER_WRITTEN));
        world.set("MAGENTO_AUTH_FAULT_SIMULATE", "no-hard-links");
        let state = state_arg(&world);
        world
            .run(&["setup", "--no-check", "--state-file", &state])
            .ok();
        let names: Vec<_> = fs::read_dir(world.composer_home())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert!(
            names
                .iter()
                .all(|n| !n.to_string_lossy().ends_with(".orig")),
            "{names:?}"
        );
        world.run(&["cleanup", "--state-file", &state]).ok();
        assert_original(
            &world,
            Some(COMPOSER_WRITTEN),
            "no hard links, setup and cleanup",
        );
        kill_at(
            &world,
            &["setup", "--no-check", "--state-file", &state],
            point,
        );
        world.run(&["cleanup", "--state-file", &state]).ok();
        assert_original(
            &world,
            Some(COMPOSER_WRITTEN),
            &format!("no hard links, setup killed at {point}"),
        );
    }
}
