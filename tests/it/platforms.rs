//! The CI platforms: GitHub's workflow commands and files read back with the
//! runner's rules, GitLab's sections, and per-job state keys.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::common::*;
use crate::env_file::parse_env_file;

struct Runner {
    world: World,
    files: HashMap<&'static str, PathBuf>,
}

impl Runner {
    fn new() -> Self {
        let mut world = World::new();
        let files = world.github_runner("77", "build");
        Runner { world, files }
    }

    fn file(&self, name: &str) -> Vec<(String, String)> {
        parse_env_file(&fs::read_to_string(&self.files[name]).unwrap()).unwrap()
    }

    fn value(&self, file: &str, name: &str) -> Option<String> {
        self.file(file)
            .into_iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }

    /// What the runner gives the post step: the main step's saved state.
    fn post_step(&mut self) {
        for (name, value) in self.file("GITHUB_STATE") {
            self.world.set(&format!("STATE_{name}"), value);
        }
        fs::write(&self.files["GITHUB_STATE"], "").unwrap();
    }
}

/// Run with stdout allowed to hold masks: every canary form must appear only
/// on `::add-mask::` lines, and each only after its mask.
fn run_masked(world: &World, args: &[&str]) -> Outcome {
    let output = world.command(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_no_secret(&stderr, "stderr");
    let masked: String = stdout
        .lines()
        .filter(|l| !l.starts_with("::add-mask::"))
        .collect::<Vec<_>>()
        .join("\n");
    assert_no_secret(&masked, "stdout outside ::add-mask::");
    Outcome {
        code: output.status.code().unwrap_or(-1),
        stdout,
        stderr,
    }
}

fn mask_lines(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("::add-mask::"))
        .collect()
}

#[test]
fn github_masks_first_then_outputs_summary_and_state() {
    let mut runner = Runner::new();
    let out = run_masked(&runner.world, &["setup", "--no-check"]).ok();
    let first = out.stdout.lines().next().unwrap();
    assert!(
        first.starts_with("::add-mask::"),
        "masks come first:\n{}",
        out.stdout
    );
    let masks = mask_lines(&out.stdout);
    let basic = BASE64.encode(format!("{PUBLIC}:{PRIVATE}"));
    for secret in [PUBLIC, PRIVATE, basic.as_str()] {
        assert!(masks.contains(&secret), "{secret:.4} is masked");
    }
    assert_eq!(
        runner.value("GITHUB_OUTPUT", "status").as_deref(),
        Some("unchecked")
    );
    assert_eq!(
        runner.value("GITHUB_OUTPUT", "mode").as_deref(),
        Some("home")
    );
    let auth_file = runner.value("GITHUB_OUTPUT", "auth-file").unwrap();
    assert_eq!(Path::new(&auth_file), runner.world.home_auth());
    let summary = fs::read_to_string(&runner.files["GITHUB_STEP_SUMMARY"]).unwrap();
    assert!(summary.contains("| Status | `unchecked` |"), "{summary}");
    assert_no_secret(&summary, "the step summary");
    assert_no_secret(
        &fs::read_to_string(&runner.files["GITHUB_OUTPUT"]).unwrap(),
        "GITHUB_OUTPUT",
    );
    let state = runner.value("GITHUB_STATE", "state_file").unwrap();
    assert!(
        Path::new(&state).starts_with(runner.world.root.join("runner_temp").join("magento-auth")),
        "{state}"
    );

    // The post step finds the state through STATE_state_file.
    runner.post_step();
    runner
        .world
        .set("RUNNER_TEMP", runner.world.root.join("elsewhere"));
    run_masked(&runner.world, &["cleanup"]).ok();
    assert!(!runner.world.home_auth().exists());
    assert!(!Path::new(&state).exists());
}

#[test]
fn github_env_mode_exports_composer_auth_and_cleanup_resets_it() {
    let mut runner = Runner::new();
    runner
        .world
        .set("COMPOSER_AUTH", r#"{"github-oauth":{"github.com":"tok"}}"#);
    let out = run_masked(&runner.world, &["setup", "--no-check", "--mode", "env"]).ok();
    let value = runner.value("GITHUB_ENV", "COMPOSER_AUTH").unwrap();
    assert!(
        mask_lines(&out.stdout).contains(&value.as_str()),
        "the exported value is masked"
    );
    let doc: serde_json::Value = serde_json::from_str(&value).unwrap();
    assert_eq!(doc["http-basic"]["repo.magento.com"]["password"], PRIVATE);
    assert_eq!(doc["github-oauth"]["github.com"], "tok");
    assert!(!runner.world.home_auth().exists());

    runner.post_step();
    run_masked(&runner.world, &["cleanup"]).ok();
    assert_eq!(
        runner.value("GITHUB_ENV", "COMPOSER_AUTH").as_deref(),
        Some(r#"{"github-oauth":{"github.com":"tok"}}"#)
    );
}

#[test]
fn github_env_mode_without_a_previous_value_resets_to_empty() {
    let mut runner = Runner::new();
    run_masked(&runner.world, &["setup", "--no-check", "--mode", "env"]).ok();
    runner.post_step();
    run_masked(&runner.world, &["cleanup"]).ok();
    assert_eq!(
        runner.value("GITHUB_ENV", "COMPOSER_AUTH").as_deref(),
        Some("")
    );
}

#[test]
fn a_key_with_a_newline_injects_nothing() {
    let mut runner = Runner::new();
    runner
        .world
        .set("MAGENTO_PUBLIC_KEY", format!("{PUBLIC}\nINJECTED=1"));
    run_masked(&runner.world, &["setup", "--no-check", "--mode", "env"]).code(3);
    assert!(runner.file("GITHUB_ENV").is_empty());
    // Even for another repository, where keys may take any shape, the
    // heredoc form keeps a value on its own lines.
    runner
        .world
        .set("MAGENTO_PUBLIC_KEY", "user")
        .set("MAGENTO_PRIVATE_KEY", "pass\nINJECTED=1");
    run_masked(
        &runner.world,
        &[
            "setup",
            "--no-check",
            "--mode",
            "env",
            "--repo-url",
            "https://mirror.example.com",
        ],
    )
    .code(3);
    assert!(runner.file("GITHUB_ENV").is_empty());
}

#[test]
fn github_failures_are_annotations_with_the_hint_and_a_status_output() {
    let mut runner = Runner::new();
    runner.world.set("MAGENTO_PRIVATE_KEY", "short");
    let out = run_masked(&runner.world, &["setup", "--no-check"]).code(3);
    let error = out
        .stdout
        .lines()
        .find(|l| l.starts_with("::error "))
        .expect("an annotation");
    assert!(
        error.starts_with("::error title=magento-auth::MAGENTO_PRIVATE_KEY is not a Marketplace"),
        "{error}"
    );
    assert!(error.contains("%0Ahint: "), "{error}");
    assert_eq!(
        runner.value("GITHUB_OUTPUT", "status").as_deref(),
        Some("malformed-keys")
    );
    let summary = fs::read_to_string(&runner.files["GITHUB_STEP_SUMMARY"]).unwrap();
    assert!(summary.contains("`malformed-keys`"), "{summary}");
}

#[test]
fn an_unwritable_github_env_is_a_clear_error_and_nothing_is_left() {
    let mut runner = Runner::new();
    runner
        .world
        .set("GITHUB_ENV", runner.world.root.join("no/such/dir/env"));
    let out = run_masked(&runner.world, &["setup", "--no-check", "--mode", "env"]).code(3);
    assert!(
        out.stdout.contains("cannot write GITHUB_ENV"),
        "{}",
        out.stdout
    );
    let state_dir = runner.world.root.join("runner_temp/magento-auth");
    assert!(
        fs::read_dir(&state_dir).map_or(true, |mut d| d.next().is_none()),
        "no state is left"
    );
    assert!(runner.file("GITHUB_STATE").is_empty());
}

#[test]
fn gitlab_uses_the_job_id_for_state_so_after_script_can_clean_up() {
    let mut world = World::new();
    world.set("GITLAB_CI", "true").set("CI_JOB_ID", "4242");
    world.run(&["setup", "--no-check"]).ok();
    let state_dir = world.state_file().parent().unwrap().to_path_buf();
    assert!(state_dir.join("4242.json").is_file());
    // after_script is another shell with the same job id.
    world.run(&["doctor"]).ok();
    world.run(&["cleanup"]).ok();
    assert!(!world.home_auth().exists());
}

#[test]
fn bitbucket_uses_the_step_uuid() {
    let mut world = World::new();
    world.set("BITBUCKET_BUILD_NUMBER", "9").set(
        "BITBUCKET_STEP_UUID",
        "{3f2a5c1e-0000-4000-8000-1234567890ab}",
    );
    world.run(&["setup", "--no-check"]).ok();
    let state_dir = world.state_file().parent().unwrap().to_path_buf();
    assert!(
        state_dir
            .join("3f2a5c1e-0000-4000-8000-1234567890ab.json")
            .is_file()
    );
    world.run(&["cleanup"]).ok();
    assert!(!world.home_auth().exists());
}

#[test]
fn the_ci_option_overrides_detection() {
    let mut world = World::new();
    world.set("GITHUB_ACTIONS", "true");
    let out = world.run(&["setup", "--no-check", "--ci", "none"]).ok();
    assert!(!out.stdout.contains("::add-mask::"), "{}", out.stdout);
    world.run(&["cleanup", "--ci", "none"]).ok();
}

#[test]
fn the_parser_follows_the_runner() {
    let parsed = parse_env_file("A=1\nB<<EOF\nx\ny=2\nEOF\nC=\n").unwrap();
    assert_eq!(
        parsed,
        [
            ("A".into(), "1".into()),
            ("B".into(), "x\ny=2".into()),
            ("C".into(), String::new())
        ]
    );
    assert!(parse_env_file("B<<EOF\nx\n").is_err());
}

#[cfg(unix)]
#[test]
fn github_folds_detail_into_groups_but_not_the_childs_output_nor_errors() {
    let runner = Runner::new();
    let out = run_masked(
        &runner.world,
        &[
            "exec",
            "--no-check",
            "--mode",
            "home",
            "--",
            "echo",
            "CHILD-OUTPUT",
        ],
    )
    .ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    let mut depth = 0;
    let mut grouped_detail = 0;
    for line in &lines {
        match *line {
            l if l.starts_with("::group::") => {
                assert_eq!(depth, 0, "groups do not nest:\n{}", out.stdout);
                depth += 1;
            }
            "::endgroup::" => depth -= 1,
            "CHILD-OUTPUT" => {
                assert_eq!(depth, 0, "the child's output is in view:\n{}", out.stdout)
            }
            l if l.starts_with("::add-mask::") => {}
            l if l.starts_with("::") => assert_eq!(depth, 0, "{l} is outside groups"),
            _ => {
                assert_eq!(depth, 1, "detail is folded:\n{}", out.stdout);
                grouped_detail += 1;
            }
        }
    }
    assert_eq!(depth, 0, "every group ends");
    assert!(
        grouped_detail >= 2,
        "setup's and cleanup's detail:\n{}",
        out.stdout
    );
    assert!(
        lines[0].starts_with("::add-mask::"),
        "nothing, not even a group, before the masks"
    );

    let mut failing = Runner::new();
    failing.world.set("MAGENTO_PRIVATE_KEY", "short");
    let out = run_masked(&failing.world, &["setup", "--no-check"]).code(3);
    assert!(
        !out.stdout.contains("::group::"),
        "an error alone opens no group:\n{}",
        out.stdout
    );
}

#[test]
fn gitlab_folds_detail_into_collapsed_sections() {
    let mut world = World::new();
    world.set("GITLAB_CI", "true").set("CI_JOB_ID", "77");
    let out = world.run(&["setup", "--no-check"]).ok();
    let start = out.stderr.find("section_start:").expect("a section starts");
    let detail = out.stderr.find("wrote credentials").unwrap();
    let end = out.stderr.find("section_end:").expect("a section ends");
    assert!(start < detail && detail < end, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("[collapsed=true]\r\x1b[0Kmagento-auth setup"),
        "{:?}",
        out.stderr
    );
    world.run(&["cleanup"]).ok();
}
