//! Item 13: a home setup cannot write in is a clear refusal that leaves no
//! state behind, and a home or project that vanished after setup is no
//! reason for cleanup to fail, now or when run again.

use super::*;

fn unprivileged(world: &World, args: &[&str]) -> Outcome {
    let mut cmd = world.unprivileged(args);
    Job::canary("ro").identify(&mut cmd);
    run_bounded(cmd)
}

#[test]
fn a_read_only_home_is_refused_and_leaves_no_state() {
    let world = World::new();
    let home = dir_with_mode(&world.composer_home(), 0o700);
    // World::unprivileged gives the world, modes kept, to the unprivileged
    // user when the tests run as root.
    chmod(&home, 0o500);
    let out = unprivileged(&world, &["setup", "--no-check"]);
    assert_eq!(out.code, 3, "{out:#?}");
    assert!(
        out.stderr.contains(&home.display().to_string()),
        "the message names the home: {out:#?}"
    );
    unprivileged(&world, &["cleanup"]).ok();
    assert_eq!(state_files_left(&world), Vec::<PathBuf>::new());
    assert!(!world.home_auth().exists());
    world.assert_no_secret_in_files();
}

#[test]
fn a_home_removed_after_setup_needs_no_cleanup() {
    for original in [None, Some(COMPOSER_WRITTEN)] {
        let world = World::new();
        if let Some(text) = original {
            write_mode(&world.home_auth(), text.as_bytes(), 0o644);
        }
        let job = Job::canary("vanished");
        job.run(&world, "setup", &[]).ok();
        fs::remove_dir_all(world.composer_home()).unwrap();
        job.run(&world, "cleanup", &[]).ok();
        job.run(&world, "cleanup", &[]).ok();
        assert_eq!(
            state_files_left(&world),
            Vec::<PathBuf>::new(),
            "original {}",
            original.is_some()
        );
        assert_no_key_under(&world.root);
    }
}

#[test]
fn a_project_removed_after_setup_needs_no_cleanup() {
    let world = World::new();
    let project = world.root.join("checkout");
    fs::create_dir(&project).unwrap();
    fs::write(project.join("composer.json"), "{}\n").unwrap();
    let dir = project.display().to_string();
    let job = Job::canary("vanished");
    job.run(
        &world,
        "setup",
        &["--mode", "project", "--working-dir", &dir],
    )
    .ok();
    assert!(project.join("auth.json").is_file());
    fs::remove_dir_all(&project).unwrap();
    job.run(&world, "cleanup", &[]).ok();
    job.run(&world, "cleanup", &[]).ok();
    assert_eq!(state_files_left(&world), Vec::<PathBuf>::new());
    assert_no_key_under(&world.root);
}
