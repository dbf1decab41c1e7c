//! Item 1: credentials go only into directories no other user can change,
//! and never into a file looser than 0600.

use std::fs;
use std::os::unix::fs::MetadataExt;

use super::*;

/// An existing COMPOSER_HOME with `mode`, holding nothing.
fn home_with_mode(world: &World, mode: u32) -> PathBuf {
    dir_with_mode(&world.composer_home(), mode)
}

#[test]
fn a_home_writable_by_group_or_others_is_refused() {
    for open in [0o777, 0o770, 0o757] {
        let world = World::new();
        let home = home_with_mode(&world, open);
        let out = Job::canary("open").run(&world, "setup", &[]);
        assert_eq!(out.code, 3, "home {open:o}: {out:#?}");
        assert!(
            out.stderr.contains(&home.display().to_string()) && out.stderr.contains("writable by"),
            "home {open:o}: the message names the home and why: {out:#?}"
        );
        assert!(
            !world.home_auth().exists(),
            "home {open:o}: auth.json was written"
        );
        Job::canary("open").run(&world, "cleanup", &[]).ok();
        assert!(!world.home_auth().exists());
        world.assert_no_secret_in_files();
    }
}

#[test]
fn a_sticky_world_writable_home_is_accepted() {
    let world = World::new();
    home_with_mode(&world, 0o1777);
    Job::canary("sticky").run(&world, "setup", &[]).ok();
    assert_eq!(
        json(&world.home_auth())["http-basic"]["repo.magento.com"],
        Job::canary("sticky").entry()
    );
    Job::canary("sticky").run(&world, "cleanup", &[]).ok();
    assert!(!world.home_auth().exists());
}

#[test]
fn an_open_ancestor_of_the_home_is_refused() {
    let mut world = World::new();
    let shared = dir_with_mode(&world.root.join("shared"), 0o777);
    let home = dir_with_mode(&shared.join("composer"), 0o700);
    world.set("COMPOSER_HOME", &home);
    let out = Job::canary("ancestor").run(&world, "setup", &[]);
    assert_eq!(out.code, 3, "{out:#?}");
    assert!(
        has_line_with(&out, &[&shared.display().to_string()]),
        "the message names the open ancestor {}: {out:#?}",
        shared.display()
    );
    assert!(!home.join("auth.json").exists());
    Job::canary("ancestor").run(&world, "cleanup", &[]).ok();
}

#[test]
fn a_home_owned_by_another_user_is_refused() {
    if !is_root() {
        eprintln!("skipped: only root can give a directory to another user");
        return;
    }
    let world = World::new();
    let home = home_with_mode(&world, 0o755);
    std::os::unix::fs::chown(&home, Some(65534), Some(65534)).unwrap();
    let out = Job::canary("foreign").run(&world, "setup", &[]);
    assert_eq!(out.code, 3, "{out:#?}");
    assert!(out.stderr.contains("owned by another user"), "{out:#?}");
    assert!(!world.home_auth().exists());
}

#[test]
fn an_open_project_directory_is_refused() {
    let world = World::new();
    fs::write(world.project.join("composer.json"), "{}\n").unwrap();
    chmod(&world.project, 0o777);
    let project = world.project.display().to_string();
    let out = Job::canary("project").run(
        &world,
        "setup",
        &["--mode", "project", "--working-dir", &project],
    );
    assert_eq!(out.code, 3, "{out:#?}");
    assert!(!world.project.join("auth.json").exists());
    Job::canary("project").run(&world, "cleanup", &[]).ok();
    world.assert_no_secret_in_files();
}

#[test]
fn a_state_file_in_an_open_directory_is_refused() {
    let world = World::new();
    let open = dir_with_mode(&world.root.join("open-state"), 0o777);
    let state = open.join("job.json");
    let out = Job::canary("state").run(&world, "setup", &["--state-file", state.to_str().unwrap()]);
    assert_eq!(out.code, 3, "{out:#?}");
    assert!(!state.exists());
    assert!(!world.home_auth().exists());
}

#[test]
fn an_auth_json_owned_by_another_user_is_refused_and_unchanged() {
    if !is_root() {
        eprintln!("skipped: only root can give a file to another user");
        return;
    }
    let world = World::new();
    write_mode(&world.home_auth(), COMPOSER_WRITTEN.as_bytes(), 0o644);
    std::os::unix::fs::chown(world.home_auth(), Some(65534), Some(65534)).unwrap();
    let before = fs::metadata(world.home_auth()).unwrap();
    let out = Job::canary("foreign-file").run(&world, "setup", &[]);
    assert_eq!(out.code, 3, "{out:#?}");
    assert!(out.stderr.contains("owned by another user"), "{out:#?}");
    let after = fs::metadata(world.home_auth()).unwrap();
    assert_eq!(
        fs::read_to_string(world.home_auth()).unwrap(),
        COMPOSER_WRITTEN
    );
    assert_eq!(
        (after.ino(), after.uid(), after.mode()),
        (before.ino(), before.uid(), before.mode()),
        "the very file, its owner and mode"
    );
}

#[test]
fn a_credential_never_sits_in_a_file_looser_than_0600() {
    let world = World::new();
    let original = br#"{"github-oauth": {"github.com": "tok"}}"#;
    write_mode(&world.home_auth(), original, 0o644);
    let job = Job::canary("loose");
    job.run(&world, "setup", &[]).ok();
    assert_eq!(
        mode(&world.home_auth()),
        0o600,
        "auth.json while it holds the keys"
    );
    // Composer stores a token meanwhile, rewriting the file in place.
    let mut doc = json(&world.home_auth());
    doc["gitlab-token"] = serde_json::json!({"gitlab.com": "added"});
    fs::write(world.home_auth(), serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    job.run(&world, "cleanup", &[]).ok();
    let after = json(&world.home_auth());
    assert_eq!(after["github-oauth"]["github.com"], "tok");
    assert_eq!(after["gitlab-token"]["gitlab.com"], "added");
    assert_eq!(
        mode(&world.home_auth()) & 0o077,
        0,
        "a file that now holds a token Composer added is not opened up again: {:o}",
        mode(&world.home_auth())
    );
    world.assert_no_secret_in_files();
}
