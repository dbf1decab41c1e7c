//! The ledger beside a home auth.json, as another user or a dead job leaves
//! it: planted, naming a job on another machine, or from before a restart.

use std::fs;

use serde_json::Value;

use crate::common::*;

fn ledger_of(world: &World) -> std::path::PathBuf {
    world.composer_home().join(".auth.json.magento-auth")
}

fn edit_ledger(world: &World, edit: impl FnOnce(&mut Value)) {
    let path = ledger_of(world);
    let mut ledger: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    edit(&mut ledger);
    fs::write(&path, serde_json::to_vec(&ledger).unwrap()).unwrap();
}

fn job(world: &World, id: &str, args: &[&str]) -> Outcome {
    let mut cmd = world.command(args);
    cmd.env("CI_JOB_ID", id);
    Outcome::of(cmd)
}

/// A ledger another user put beside auth.json is never trusted: setup
/// refuses (exit 3) and names it, doctor lists it as a problem.
#[test]
fn a_planted_ledger_is_refused_and_reported() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root to plant a file of another user");
        return;
    }
    let world = World::new();
    let original = br#"{"http-basic": {"other.example": {"username": "u", "password": "p"}}}"#;
    write_mode(&world.home_auth(), original, 0o600);
    let ledger = ledger_of(&world);
    fs::write(&ledger, br#"{"version": 2}"#).unwrap();
    std::os::unix::fs::chown(&ledger, Some(65534), Some(65534)).unwrap();
    world
        .run(&["setup", "--no-check"])
        .code(3)
        .stderr_has("cannot be trusted")
        .stderr_has("owned by another user")
        .stderr_has(&ledger.display().to_string());
    assert_eq!(fs::read(world.home_auth()).unwrap(), original);
    let doctor = world.run(&["doctor"]).ok();
    let problems = &doctor.stdout[doctor.stdout.find("Problems:").unwrap()..];
    assert!(
        problems.contains(&ledger.display().to_string()),
        "{doctor:#?}"
    );
}

/// A setup from another machine (a shared network home) cannot be proven
/// dead: another job warns, naming the file and the setup's age, keeps its
/// credentials for it, and doctor lists it.
#[test]
fn a_setup_that_cannot_be_checked_is_warned_about_and_kept() {
    let world = World::new();
    job(&world, "a", &["setup", "--no-check"]).ok();
    edit_ledger(&world, |ledger| {
        ledger["holders"][0]["anchor"]["machine"] = "another-machine".into();
    });
    let (public, private) = (
        "0therpub11c0123456789abcdefABCD0",
        "0therpr1v8e9876543210zyxwvZYXWV0",
    );
    let mut cmd = world.command(&["setup", "--no-check"]);
    cmd.env("CI_JOB_ID", "b")
        .env("MAGENTO_PUBLIC_KEY", public)
        .env("MAGENTO_PRIVATE_KEY", private);
    let out = Outcome::of(cmd).ok();
    assert!(
        out.stderr.contains("warning:")
            && out.stderr.contains("cannot check")
            && out.stderr.contains("another-machine")
            && out
                .stderr
                .contains(&world.home_auth().display().to_string())
            && out.stderr.contains(" ago"),
        "{out:#?}"
    );
    let entry = &json(&world.home_auth())["http-basic"]["repo.magento.com"];
    assert_eq!(
        entry["username"], public,
        "the later setup's keys are in use"
    );
    job(&world, "b", &["cleanup"]).ok();
    let entry = &json(&world.home_auth())["http-basic"]["repo.magento.com"];
    assert_eq!(
        entry["username"], PUBLIC,
        "the unchecked job's keys come back"
    );
    let doctor = job(&world, "b", &["doctor"]).ok();
    let problems = &doctor.stdout[doctor.stdout.find("Problems:").unwrap()..];
    assert!(problems.contains("cannot check"), "{doctor:#?}");
}

/// A setup from before the machine restarted (the whole runner died between
/// setup and cleanup) is dead: the next job's cleanup removes its keys and
/// says so, and the file is as it was before.
#[test]
fn a_setup_from_before_a_restart_is_undone_by_the_next_job() {
    let world = World::new();
    write_mode(&world.home_auth(), COMPOSER_WRITTEN.as_bytes(), 0o644);
    job(&world, "a", &["setup", "--no-check"]).ok();
    edit_ledger(&world, |ledger| {
        ledger["holders"][0]["anchor"]["boot"] = "a boot long ago".into();
    });
    let out = job(&world, "next", &["cleanup"]).ok();
    assert!(
        out.stderr.contains("no longer running")
            && out.stderr.contains("restarted")
            && out
                .stderr
                .contains(&world.home_auth().display().to_string()),
        "{out:#?}"
    );
    assert_eq!(
        fs::read(world.home_auth()).unwrap(),
        COMPOSER_WRITTEN.as_bytes()
    );
    assert_mode(&world.home_auth(), 0o644);
    assert!(!ledger_of(&world).exists());
    world.assert_no_secret_in_files();
    // The dead job's own cleanup, if it ever runs, finds nothing to undo.
    job(&world, "a", &["cleanup"]).ok();
    assert_eq!(
        fs::read(world.home_auth()).unwrap(),
        COMPOSER_WRITTEN.as_bytes()
    );
}

/// doctor in the job whose setup cannot be checked says so, and does not
/// call it a killed job.
#[test]
fn doctor_says_a_setup_that_cannot_be_checked_is_not_known_to_be_dead() {
    let world = World::new();
    job(&world, "a", &["setup", "--no-check"]).ok();
    edit_ledger(&world, |ledger| {
        ledger["holders"][0]["anchor"]["machine"] = "another-machine".into();
    });
    let out = job(&world, "a", &["doctor"]).ok();
    assert!(out.stdout.contains("cannot be checked here"), "{out:#?}");
    assert!(!out.stdout.contains("a killed job?"), "{out:#?}");
    job(&world, "a", &["cleanup"]).ok();
}
