//! Doctor: every source in Composer's order, the winner, and the problems.

use std::fs;
use std::process::Command;

use crate::common::*;

/// Put a stand-in `composer` that reports `version` first on PATH: the
/// doctor's order depends on the Composer version.
fn with_composer_version(world: &mut World, version: &str) {
    let bin = world.root.join("bin");
    fs::create_dir_all(&bin).unwrap();
    let script = format!("#!/bin/sh\necho 'Composer version {version} 2026-01-01 00:00:00'\n");
    write_mode(&bin.join("composer"), script.as_bytes(), 0o755);
    world.set("PATH", format!("{}:/usr/bin:/bin", bin.display()));
}

#[test]
fn lists_sources_in_order_and_names_the_winner() {
    let mut world = World::new();
    with_composer_version(&mut world, "2.10.2");
    world.run(&["setup", "--no-check"]).ok();
    let out = world.run(&["doctor"]).ok();
    let home_auth = world.home_auth().display().to_string();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines[0].starts_with("Credentials for repo.magento.com"),
        "{}",
        out.stdout
    );
    let position = |needle: &str| {
        out.stdout
            .find(needle)
            .unwrap_or_else(|| panic!("{needle} missing:\n{}", out.stdout))
    };
    assert!(position("config.json") < position(&format!("{home_auth}\n")));
    assert!(position(&format!("{home_auth}\n")) < position("composer.json"));
    assert!(position("composer.json") < position("COMPOSER_AUTH"));
    assert!(
        out.stdout.contains(&format!("Composer uses: {home_auth}")),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains(&format!(
        "username {}…(32 chars), password …(32 chars)",
        &PUBLIC[..4]
    )));
    // Between setup and cleanup the job's own setup is live: said as such,
    // not as a killed job's (issue 13, item 8).
    assert!(
        out.stdout.contains(&format!(
            "This job has set up {home_auth}; `magento-auth cleanup` at the end of the job undoes it"
        )) && !out.stdout.contains("killed job"),
        "a live setup is not a problem:\n{}",
        out.stdout
    );

    // COMPOSER_AUTH wins over the files, and a different key there conflicts.
    world.set(
        "COMPOSER_AUTH",
        r#"{"http-basic":{"repo.magento.com":{"username":"ffffffffffffffffffffffffffffffff","password":"x"}}}"#,
    );
    let out = world.run(&["doctor"]).ok();
    assert!(
        out.stdout.contains("Composer uses: COMPOSER_AUTH"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("conflicting credentials"),
        "{}",
        out.stdout
    );
    world.run(&["cleanup"]).ok();
}

#[test]
fn older_composer_lets_the_project_auth_json_win_over_composer_auth() {
    let mut world = World::new();
    let entry = |user: &str| {
        serde_json::json!({"http-basic": {"repo.magento.com": {"username": user, "password": "x"}}})
            .to_string()
    };
    fs::write(world.project.join("composer.json"), "{}").unwrap();
    fs::write(world.project.join("auth.json"), entry("project-user")).unwrap();
    world.set("COMPOSER_AUTH", entry("env-user"));
    with_composer_version(&mut world, "2.5.5");
    let out = world.run(&["doctor"]).ok();
    assert!(
        out.stdout.contains("Composer uses: ./auth.json"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.find("COMPOSER_AUTH").unwrap() < out.stdout.find("./composer.json").unwrap()
    );
    assert!(
        out.stdout.contains("composer/composer#12084"),
        "{}",
        out.stdout
    );
    with_composer_version(&mut world, "2.10.2");
    let out = world.run(&["doctor"]).ok();
    assert!(
        out.stdout.contains("Composer uses: COMPOSER_AUTH"),
        "{}",
        out.stdout
    );
    // The boundary is 2.7.8 (composer/composer#12084), not 2.8.
    for (version, winner) in [("2.7.7", "./auth.json"), ("2.7.8", "COMPOSER_AUTH")] {
        with_composer_version(&mut world, version);
        let out = world.run(&["doctor"]).ok();
        assert!(
            out.stdout.contains(&format!("Composer uses: {winner}"))
                && out.stdout.contains("Composer 2.7.8 and later"),
            "{version}: {}",
            out.stdout
        );
    }
}

#[test]
fn reports_a_project_auth_json_git_would_commit_and_unusable_files() {
    let world = World::new();
    fs::write(
        world.project.join("composer.json"),
        r#"{"config": {"http-basic": 3}}"#,
    )
    .unwrap();
    fs::write(world.project.join("auth.json"), "{}").unwrap();
    assert!(
        Command::new("git")
            .args(["init", "-q"])
            .current_dir(&world.project)
            .status()
            .unwrap()
            .success()
    );
    let out = world.run(&["doctor"]).ok();
    assert!(
        out.stdout.contains("git does not ignore it"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("Composer cannot use"), "{}", out.stdout);
    assert!(
        out.stdout.contains("Composer uses: nothing"),
        "{}",
        out.stdout
    );
}

#[test]
fn names_the_composer_binary_and_its_version() {
    let mut world = World::new();
    let bin = world.root.join("bin");
    fs::create_dir(&bin).unwrap();
    write_mode(
        &bin.join("composer"),
        b"#!/bin/sh\necho 'Composer version 2.5.5 2023-03-21 11:50:05'\n",
        0o755,
    );
    world.set("PATH", format!("{}:/usr/bin:/bin", bin.display()));
    let out = world.run(&["doctor"]).ok();
    assert!(
        out.stdout.contains("Composer version 2.5.5"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("prints the whole username"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("Problems:"), "{}", out.stdout);
}

/// A setup recorded in this job's state whose process is gone (the shell
/// that ran it ended without a cleanup) is a problem, said as such.
#[test]
fn a_setup_whose_job_ended_is_a_problem() {
    let world = World::new();
    let mut shell = std::process::Command::new("sh");
    shell
        .arg("-c")
        .arg(format!("'{BIN}' setup --no-check"))
        .env_clear()
        .current_dir(&world.project)
        .envs(world.vars.iter().map(|(n, v)| (n, v)));
    let out = Outcome::from_output(shell.output().unwrap());
    assert_eq!(out.code, 0, "{out:#?}");
    let out = world.run(&["doctor"]).ok();
    let problems = &out.stdout[out.stdout.find("Problems:").unwrap()..];
    assert!(
        problems.contains("whose job is no longer running (a killed job?)"),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains("This job has set up"),
        "{}",
        out.stdout
    );
}
