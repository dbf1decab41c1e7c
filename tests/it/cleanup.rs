//! Cleanup restores byte for byte, keeps changes made since setup, and is
//! harmless to run again.

use std::fs;
use std::path::Path;

use crate::common::*;

fn setup_then_cleanup_restores(original: &[u8], file_mode: u32) {
    let world = World::new();
    write_mode(&world.home_auth(), original, file_mode);
    world.run(&["setup", "--no-check"]).ok();
    assert_ne!(fs::read(world.home_auth()).unwrap(), original);
    world.run(&["cleanup"]).ok().stderr_has("restored");
    assert_eq!(fs::read(world.home_auth()).unwrap(), original);
    assert_mode(&world.home_auth(), file_mode);
    world.assert_no_secret_in_files();
}

#[test]
fn a_previous_file_with_other_entries_comes_back_byte_identical() {
    setup_then_cleanup_restores(COMPOSER_WRITTEN.as_bytes(), 0o644);
    // Formatting Composer would not write, kept exactly.
    setup_then_cleanup_restores(b"{\"github-oauth\":{\"github.com\":\"x\"}   }", 0o600);
    setup_then_cleanup_restores(b"{}", 0o400);
}

#[test]
fn a_previous_entry_for_the_same_host_comes_back() {
    let original = b"{\n    \"http-basic\": {\n        \"repo.magento.com\": {\n            \"username\": \"old\",\n            \"password\": \"older\"\n        }\n    }\n}\n";
    setup_then_cleanup_restores(original, 0o640);
}

#[test]
fn no_previous_file_means_the_file_and_its_directories_go() {
    let world = World::new();
    world.run(&["setup", "--no-check"]).ok();
    world.run(&["cleanup"]).ok();
    assert!(!world.composer_home().exists());
    assert!(fs::read_dir(&world.home).unwrap().next().is_none());
}

#[test]
fn changes_made_after_setup_are_kept() {
    let world = World::new();
    let original = br#"{"http-basic":{"repo.magento.com":{"username":"old","password":"older"},"other.org":{"username":"a","password":"b"}}}"#;
    write_mode(&world.home_auth(), original, 0o644);
    world.run(&["setup", "--no-check"]).ok();
    // Composer stores a GitHub token while the job runs.
    let mut doc = json(&world.home_auth());
    doc["github-oauth"] = serde_json::json!({"github.com": "ghp_token"});
    write_mode(
        &world.home_auth(),
        serde_json::to_string_pretty(&doc).unwrap().as_bytes(),
        0o600,
    );

    world
        .run(&["cleanup"])
        .ok()
        .stderr_has("kept the changes made since");
    let after = json(&world.home_auth());
    assert_eq!(after["github-oauth"]["github.com"], "ghp_token");
    assert_eq!(after["http-basic"]["repo.magento.com"]["username"], "old");
    assert_eq!(after["http-basic"]["repo.magento.com"]["password"], "older");
    assert_eq!(after["http-basic"]["other.org"]["username"], "a");
    world.assert_no_secret_in_files();
}

#[test]
fn a_file_that_had_no_entry_loses_only_setups_entry() {
    let world = World::new();
    world.run(&["setup", "--no-check"]).ok();
    let mut doc = json(&world.home_auth());
    doc["bearer"] = serde_json::json!({"example.org": "t"});
    fs::write(world.home_auth(), serde_json::to_vec(&doc).unwrap()).unwrap();
    world.run(&["cleanup"]).ok();
    assert_eq!(
        json(&world.home_auth()),
        serde_json::json!({"bearer": {"example.org": "t"}})
    );
    world.assert_no_secret_in_files();
}

#[test]
fn an_entry_replaced_since_setup_is_left_alone() {
    let world = World::new();
    world.run(&["setup", "--no-check"]).ok();
    let theirs = br#"{"http-basic":{"repo.magento.com":{"username":"theirs","password":"x"}}}"#;
    fs::write(world.home_auth(), theirs).unwrap();
    world.run(&["cleanup"]).ok().stderr_has("left as it is");
    assert_eq!(fs::read(world.home_auth()).unwrap(), theirs);
}

#[test]
fn a_file_removed_since_setup_comes_back_if_it_was_there_before() {
    let world = World::new();
    write_mode(&world.home_auth(), COMPOSER_WRITTEN.as_bytes(), 0o644);
    world.run(&["setup", "--no-check"]).ok();
    fs::remove_file(world.home_auth()).unwrap();
    world.run(&["cleanup"]).ok();
    assert_eq!(
        fs::read_to_string(world.home_auth()).unwrap(),
        COMPOSER_WRITTEN
    );
}

#[test]
fn cleanup_twice_and_cleanup_without_setup_are_harmless() {
    let world = World::new();
    world
        .run(&["cleanup"])
        .ok()
        .stderr_has("nothing to clean up");
    write_mode(&world.home_auth(), COMPOSER_WRITTEN.as_bytes(), 0o644);
    world.run(&["setup", "--no-check"]).ok();
    world.run(&["cleanup"]).ok();
    let after_first = world.snapshot();
    world
        .run(&["cleanup"])
        .ok()
        .stderr_has("nothing to clean up");
    assert_eq!(world.snapshot(), after_first);
    assert_eq!(
        fs::read_to_string(world.home_auth()).unwrap(),
        COMPOSER_WRITTEN
    );
}

#[test]
fn two_hosts_in_one_file_unwind_in_order() {
    let mut world = World::new();
    write_mode(&world.home_auth(), COMPOSER_WRITTEN.as_bytes(), 0o644);
    world.run(&["setup", "--no-check"]).ok();
    world
        .set("MAGENTO_PUBLIC_KEY", "mirror-user")
        .set("MAGENTO_PRIVATE_KEY", "mirror-pass");
    world
        .run(&[
            "setup",
            "--no-check",
            "--repo-url",
            "https://mirror.example.com",
        ])
        .ok();
    let doc = json(&world.home_auth());
    assert_eq!(doc["http-basic"]["repo.magento.com"]["username"], PUBLIC);
    assert_eq!(
        doc["http-basic"]["mirror.example.com"]["username"],
        "mirror-user"
    );
    world.run(&["cleanup"]).ok();
    assert_eq!(
        fs::read_to_string(world.home_auth()).unwrap(),
        COMPOSER_WRITTEN
    );
}

#[test]
fn jobs_keep_separate_state() {
    let mut world = World::new();
    world.set("CI_JOB_ID", "1001").set("GITLAB_CI", "true");
    world
        .run(&["setup", "--no-check", "--mode", "project"])
        .ok();
    let state_dir = world.state_file().parent().unwrap().to_path_buf();
    assert!(state_dir.join("1001.json").is_file());
    // Another job's cleanup does not touch this one's files.
    world.set("CI_JOB_ID", "1002");
    world
        .run(&["cleanup"])
        .ok()
        .stderr_has("nothing to clean up");
    assert!(world.project.join("auth.json").is_file());
    world.set("CI_JOB_ID", "1001");
    world.run(&["cleanup"]).ok();
    assert!(!world.project.join("auth.json").exists());
}

#[test]
fn an_explicit_state_file_is_used() {
    let world = World::new();
    let state = world.root.join("state/here.json");
    let state_arg = state.to_str().unwrap();
    world
        .run(&["setup", "--no-check", "--state-file", state_arg])
        .ok();
    assert!(state.is_file());
    assert!(!world.state_file().exists());
    world
        .run(&["cleanup"])
        .ok()
        .stderr_has("nothing to clean up");
    world.run(&["cleanup", "--state-file", state_arg]).ok();
    assert!(!state.exists());
    assert!(!world.home_auth().exists());
}

#[test]
fn a_corrupt_state_file_is_bad_input_and_changes_nothing() {
    let world = World::new();
    write_mode(&world.home_auth(), COMPOSER_WRITTEN.as_bytes(), 0o644);
    world.run(&["setup", "--no-check"]).ok();
    let text = fs::read_to_string(world.state_file()).unwrap();
    fs::write(world.state_file(), &text[..text.len() / 2]).unwrap();
    let before = world.snapshot();
    world.run(&["cleanup"]).code(3).stderr_has("is corrupt");
    world
        .run(&["setup", "--no-check"])
        .code(3)
        .stderr_has("is corrupt");
    assert_eq!(world.snapshot(), before);
}

#[test]
fn concurrent_setups_and_cleanups_of_the_same_and_other_hosts_lose_nothing() {
    let world = World::new();
    write_mode(&world.home_auth(), COMPOSER_WRITTEN.as_bytes(), 0o644);
    let original = json(&world.home_auth());
    let runs: Vec<_> = (0..16)
        .map(|n| {
            let state = world.root.join(format!("state/{n}.json"));
            let mut setup = world.command(&[
                "setup",
                "--no-check",
                "--repo-url",
                &format!("https://h{}.example.com", n % 4),
                "--state-file",
                state.to_str().unwrap(),
            ]);
            setup.env("MAGENTO_PUBLIC_KEY", format!("user{n}"));
            let cleanup = world.command(&["cleanup", "--state-file", state.to_str().unwrap()]);
            std::thread::spawn(move || {
                Outcome::of(setup).ok();
                Outcome::of(cleanup).ok();
            })
        })
        .collect();
    for run in runs {
        run.join().unwrap();
    }
    // Interleaved runs each take out only their own entry, and the last one
    // out puts back the entry and the mode from before the first.
    assert_eq!(json(&world.home_auth()), original);
    assert_mode(&world.home_auth(), 0o644);
    let names: Vec<_> = fs::read_dir(world.composer_home())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        names,
        ["auth.json"],
        "no ledger, backup or temporary file is left"
    );
    world.assert_no_secret_in_files();
}

/// Job `n` (with its own state and keys) of two that share one home.
fn job(world: &World, n: usize, command: &str) -> Outcome {
    let state = world.root.join(format!("state/job{n}.json"));
    let mut args = vec![command, "--state-file", state.to_str().unwrap()];
    if command == "setup" {
        args.push("--no-check");
    }
    let mut cmd = world.command(&args);
    cmd.env("MAGENTO_PUBLIC_KEY", format!("{n}").repeat(32));
    Outcome::of(cmd).ok()
}

#[test]
fn same_host_jobs_unwind_to_the_original_whichever_ends_first() {
    for first_out in [0, 1] {
        let world = World::new();
        let original =
            br#"{"http-basic":{"repo.magento.com":{"username":"old","password":"older"}}}"#;
        write_mode(&world.home_auth(), original, 0o640);
        job(&world, 1, "setup");
        job(&world, 2, "setup");
        assert_eq!(
            json(&world.home_auth())["http-basic"]["repo.magento.com"]["username"],
            "2".repeat(32)
        );
        job(&world, 1 + first_out, "cleanup");
        job(&world, 2 - first_out, "cleanup");
        let after = json(&world.home_auth());
        assert_eq!(
            after["http-basic"]["repo.magento.com"]["username"],
            "old",
            "first out: job {}",
            first_out + 1
        );
        assert_mode(&world.home_auth(), 0o640);
        let text = fs::read_to_string(world.home_auth()).unwrap();
        assert!(
            !text.contains(&"1".repeat(32)) && !text.contains(&"2".repeat(32)),
            "{text}"
        );
        assert!(
            !world
                .composer_home()
                .join(".auth.json.magento-auth")
                .exists()
        );
    }
}

#[test]
fn same_host_jobs_without_a_previous_file_leave_none() {
    for first_out in [0, 1] {
        let world = World::new();
        job(&world, 1, "setup");
        job(&world, 2, "setup");
        job(&world, 1 + first_out, "cleanup");
        assert!(world.home_auth().exists(), "the other job still needs it");
        job(&world, 2 - first_out, "cleanup");
        assert!(!world.home_auth().exists());
        assert!(!world.composer_home().exists());
    }
}

#[cfg(unix)]
#[test]
fn the_file_put_back_is_the_same_file_with_its_times() {
    use std::os::unix::fs::MetadataExt;
    let world = World::new();
    write_mode(&world.home_auth(), COMPOSER_WRITTEN.as_bytes(), 0o640);
    // A time in the past that a rewrite would replace.
    let past = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_600_000_000);
    fs::File::options()
        .write(true)
        .open(world.home_auth())
        .unwrap()
        .set_modified(past)
        .unwrap();
    let before = fs::metadata(world.home_auth()).unwrap();
    world.run(&["setup", "--no-check"]).ok();
    assert_ne!(fs::metadata(world.home_auth()).unwrap().ino(), before.ino());
    world.run(&["cleanup"]).ok();
    let after = fs::metadata(world.home_auth()).unwrap();
    assert_eq!(after.ino(), before.ino(), "the very file is back");
    assert_eq!(after.modified().unwrap(), past);
    assert_eq!(
        fs::read_to_string(world.home_auth()).unwrap(),
        COMPOSER_WRITTEN
    );
    let names: Vec<_> = fs::read_dir(world.composer_home())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(names, ["auth.json"], "no backup is left");
}

/// Outside CI every shell is its own job, keyed by its directory: a cleanup
/// in one project never undoes a setup made in another (issue 13, item 9).
#[test]
fn local_runs_in_two_projects_keep_separate_state() {
    let world = World::new();
    let [a, b] = ["a", "b"].map(|name| {
        let dir = world.root.join(name);
        fs::create_dir(&dir).unwrap();
        fs::write(dir.join("composer.json"), "{}").unwrap();
        dir
    });
    let in_dir = |dir: &Path, args: &[&str]| {
        let mut cmd = world.command(args);
        cmd.current_dir(dir);
        Outcome::of(cmd)
    };
    for dir in [&a, &b] {
        in_dir(dir, &["setup", "--no-check", "--mode", "project"]).ok();
        assert!(dir.join("auth.json").exists());
    }
    assert_ne!(world.state_file_of(&a), world.state_file_of(&b));
    in_dir(&a, &["cleanup"]).ok();
    assert!(!a.join("auth.json").exists());
    assert!(
        b.join("auth.json").exists(),
        "cleanup in a/ removed b/'s auth.json"
    );
    in_dir(&b, &["cleanup"]).ok();
    assert!(!b.join("auth.json").exists());
    world.assert_no_secret_in_files();
}

/// After `eval "$(setup --mode env)"` there is nothing on disk: cleanup says
/// to unset COMPOSER_AUTH, not that setup did not run (issue 13, item 8).
#[test]
fn cleanup_after_env_mode_says_to_unset_composer_auth() {
    let mut world = World::new();
    let out = world.run_secret_stdout(&["setup", "--no-check", "--mode", "env"]);
    assert_eq!(out.code, 0, "{out:#?}");
    let value = out
        .stdout
        .trim()
        .strip_prefix("export COMPOSER_AUTH='")
        .and_then(|v| v.strip_suffix('\''))
        .unwrap()
        .to_string();
    world.set("COMPOSER_AUTH", value);
    let out = world.run_secret_stdout(&["cleanup"]);
    assert_eq!(out.code, 0, "{out:#?}");
    assert!(
        out.stderr.contains("unset COMPOSER_AUTH") && !out.stderr.contains("setup did not run"),
        "{out:#?}"
    );
    assert!(world.all_files().is_empty(), "nothing on disk");
}
