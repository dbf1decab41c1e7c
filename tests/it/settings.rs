//! Every option of every command, given as an option and as its variable,
//! takes effect with the same meaning; an option beats its variable. The
//! options are read from each command's `--help`, so a new option without a
//! row in `PROBES` fails here.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::*;
use crate::fake_repo::{Answer, FakeRepo, TestCa, serve_composer2};

/// How a case gives the setting under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Given {
    Option,
    Variable,
    /// The option, and its variable holding a contrary value.
    Both,
}

#[derive(Debug)]
struct Case {
    command: &'static str,
    option: String,
    variable: Option<String>,
    given: Given,
}

/// One run of the command under test, built by a probe.
struct Run {
    world: World,
    args: Vec<String>,
    /// exec's command, after `--`.
    child: Vec<String>,
    stdin: Option<String>,
}

impl Case {
    fn run(&self) -> Run {
        self.run_in(World::new())
    }

    fn run_in(&self, world: World) -> Run {
        Run {
            world,
            args: Vec::new(),
            child: vec!["true".into()],
            stdin: None,
        }
    }

    /// Give the setting as the case says: `value` for the option (none for
    /// a flag), `contrary` for its variable when both are given.
    fn give(&self, run: &mut Run, value: Option<&str>, contrary: &str) {
        let as_option = |run: &mut Run| {
            run.args.push(self.option.clone());
            run.args.extend(value.map(str::to_string));
        };
        let variable = || self.variable.as_deref().expect("a variable");
        match self.given {
            Given::Option => as_option(run),
            Given::Variable => {
                run.world.set(variable(), value.unwrap_or("true"));
            }
            Given::Both => {
                as_option(run);
                run.world.set(variable(), contrary);
            }
        }
    }

    fn launch(&self, run: &Run) -> Outcome {
        let argv = self.argv(run);
        match &run.stdin {
            Some(input) => run.world.run_with_stdin(&argv, input),
            None => run.world.run(&argv),
        }
    }

    /// For runs that speak to GitHub: the keys may appear on stdout on
    /// `::add-mask::` lines alone.
    fn launch_masked(&self, world: &World, argv: &[&str]) -> Outcome {
        let output = world.command(argv).output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert_no_secret(&stderr, "stderr");
        for line in stdout.lines().filter(|l| !l.starts_with("::add-mask::")) {
            assert_no_secret(line, "stdout");
        }
        Outcome {
            code: output.status.code().unwrap_or(-1),
            stdout,
            stderr,
        }
    }

    fn argv<'a>(&'a self, run: &'a Run) -> Vec<&'a str> {
        let mut argv: Vec<&str> = vec![self.command];
        argv.extend(run.args.iter().map(String::as_str));
        if self.command == "exec" {
            argv.push("--");
            argv.extend(run.child.iter().map(String::as_str));
        }
        argv
    }

    fn is(&self, commands: &[&str]) -> bool {
        commands.contains(&self.command)
    }

    fn unexpected(&self) -> ! {
        panic!("no probe of {} for {}", self.option, self.command)
    }
}

fn args(run: &mut Run, more: &[&str]) {
    run.args.extend(more.iter().map(|a| a.to_string()));
}

/// exec's command: records what it was given (COMPOSER_AUTH, the auth.json
/// files it can see) under `seen/`, for `credentials`.
fn recording_child(run: &mut Run) {
    let seen = run.world.root.join("seen");
    fs::create_dir_all(&seen).unwrap();
    let script = r#"printf '%s' "${COMPOSER_AUTH-}" > "$0/env"
cp "$COMPOSER_HOME/auth.json" "$0/home" 2>/dev/null
cp auth.json "$0/project" 2>/dev/null
cp ../app/auth.json "$0/app" 2>/dev/null
[ -f "$MAGENTO_AUTH_STATE_FILE_SEEN" ] && : > "$0/state"
: > "$0/ran""#;
    run.child = vec!["sh".into(), "-c".into(), script.into()];
    run.child.push(seen.display().to_string());
}

/// Where the credentials went, for setup (the files it left) and exec (what
/// its command saw): the place and the `http-basic` entry for `host`.
fn credentials(case: &Case, world: &World, host: &str) -> Vec<(&'static str, serde_json::Value)> {
    let places: [(&str, PathBuf); 4] = if case.command == "exec" {
        let seen = world.root.join("seen");
        ["env", "home", "project", "app"].map(|p| (p, seen.join(p)))
    } else {
        [
            ("env", world.root.join("no-such-file")),
            ("home", world.home_auth()),
            ("project", world.project.join("auth.json")),
            ("app", world.root.join("app/auth.json")),
        ]
    };
    let mut found = Vec::new();
    for (place, path) in places {
        let Ok(text) = fs::read_to_string(&path) else {
            continue;
        };
        if text.is_empty() {
            continue;
        }
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        found.push((place, doc["http-basic"][host].clone()));
    }
    found
}

fn canary_entry() -> serde_json::Value {
    serde_json::json!({ "username": PUBLIC, "password": PRIVATE })
}

/// A repository that knows the canary keys and serves `vendor/pkg`.
fn repository() -> FakeRepo {
    let repo = FakeRepo::http();
    serve_composer2(&repo, &["vendor/pkg"], true);
    repo.require_keys(PUBLIC, PRIVATE);
    repo
}

fn asked_for(repo: &FakeRepo, path: &str) -> bool {
    repo.paths().iter().any(|p| p == path)
}

/// A file holding both keys, for the leak sweep to find.
fn leak_in(dir: &Path) {
    fs::create_dir_all(dir).unwrap();
    fs::write(dir.join("leak.txt"), format!("{PUBLIC} {PRIVATE}\n")).unwrap();
}

/// The keys the command used are the canaries, whatever the setting under
/// test said about where they come from: each command shows it its way.
fn keys_reach(case: &Case, mut run: Run) {
    let repo = repository();
    match case.command {
        "setup" => args(&mut run, &["--no-check"]),
        "exec" => {
            args(&mut run, &["--no-check"]);
            recording_child(&mut run);
        }
        "check" => args(&mut run, &["--repo-url", &repo.url()]),
        "cleanup" | "scan" => {
            leak_in(&run.world.project);
            if case.command == "cleanup" {
                args(&mut run, &["--scan"]);
            }
        }
        _ => case.unexpected(),
    }
    let out = case.launch(&run);
    match case.command {
        "setup" | "exec" => {
            out.ok();
            let found = credentials(case, &run.world, "repo.magento.com");
            let want = if case.command == "exec" {
                "env"
            } else {
                "home"
            };
            assert!(
                found.contains(&(want, canary_entry())),
                "{case:?}: {found:?}"
            );
        }
        "check" => {
            out.ok();
            assert!(asked_for(&repo, "/packages.json"), "{case:?}");
        }
        _ => {
            out.code(7);
        }
    }
}

fn other_variable(case: &Case, key: &str, other: &str, value: &str) {
    let mut run = case.run();
    run.world.unset(key).set(other, value);
    case.give(&mut run, Some(other), "");
    keys_reach(case, run);
}

fn public_key_env(case: &Case) {
    other_variable(case, "MAGENTO_PUBLIC_KEY", "OTHER_PUBLIC", PUBLIC);
}

fn private_key_env(case: &Case) {
    other_variable(case, "MAGENTO_PRIVATE_KEY", "OTHER_PRIVATE", PRIVATE);
}

fn private_key_stdin(case: &Case) {
    let mut run = case.run();
    run.world.unset("MAGENTO_PRIVATE_KEY");
    run.stdin = Some(format!("{PRIVATE}\n"));
    case.give(&mut run, None, "");
    keys_reach(case, run);
}

/// `skip`: no keys, and the command goes on with exit 0.
fn on_missing(case: &Case) {
    let mut world = World::bare();
    world.set("COMPOSER_HOME", world.home.join(".composer"));
    let mut run = case.run_in(world);
    case.give(&mut run, Some("skip"), "fail");
    match case.command {
        "exec" => recording_child(&mut run),
        "cleanup" => args(&mut run, &["--scan"]),
        _ => {}
    }
    let out = case.launch(&run).ok();
    assert!(
        format!("{}{}", out.stdout, out.stderr).contains("skipped"),
        "{case:?}: {out:#?}"
    );
    if case.command == "exec" {
        assert!(run.world.root.join("seen/ran").exists(), "{case:?}");
    }
}

/// `project`: the credentials go to the project's auth.json.
fn mode(case: &Case) {
    let mut run = case.run();
    case.give(&mut run, Some("project"), "home");
    args(&mut run, &["--no-check"]);
    if case.command == "exec" {
        recording_child(&mut run);
    }
    case.launch(&run).ok();
    let found = credentials(case, &run.world, "repo.magento.com");
    assert_eq!(found, [("project", canary_entry())], "{case:?}");
}

/// No request reaches the repository, which would refuse the keys.
fn no_check(case: &Case) {
    let repo = FakeRepo::http();
    repo.route("/packages.json", vec![Answer::new(401, "{}")]);
    let mut run = case.run();
    case.give(&mut run, None, "false");
    args(&mut run, &["--repo-url", &repo.url()]);
    if case.command == "exec" {
        recording_child(&mut run);
    }
    case.launch(&run).ok();
    assert!(repo.paths().is_empty(), "{case:?}: {:?}", repo.paths());
    assert_eq!(credentials(case, &run.world, &repo.auth_host()).len(), 1);
}

/// A failed check is a warning; the credentials are there all the same.
fn warn_only(case: &Case) {
    let repo = FakeRepo::http();
    serve_composer2(&repo, &[], true);
    repo.require_keys("someone", "else");
    let mut run = case.run();
    case.give(&mut run, None, "false");
    args(&mut run, &["--repo-url", &repo.url()]);
    if case.command == "exec" {
        recording_child(&mut run);
    }
    let out = case.launch(&run).ok();
    assert!(
        out.stderr.contains("the check failed"),
        "{case:?}: {out:#?}"
    );
    assert!(asked_for(&repo, "/packages.json"), "{case:?}");
    let found = credentials(case, &run.world, &repo.auth_host());
    assert_eq!(found.len(), 1, "{case:?}: {found:?}");
}

/// The repository named is the one asked (doctor: the one described).
fn repo_url(case: &Case) {
    let repo = repository();
    let mut run = case.run();
    case.give(&mut run, Some(&repo.url()), "https://repo.invalid");
    if case.command == "exec" {
        recording_child(&mut run);
    }
    let out = case.launch(&run).ok();
    if case.command == "doctor" {
        assert!(
            out.stdout
                .contains(&format!("Credentials for {}", repo.auth_host())),
            "{case:?}: {out:#?}"
        );
        return;
    }
    assert!(asked_for(&repo, "/packages.json"), "{case:?}");
    if case.is(&["setup", "exec"]) {
        let found = credentials(case, &run.world, &repo.auth_host());
        assert_eq!(found.len(), 1, "{case:?}: {found:?}");
    }
}

/// The project is the directory named: its composer.json says which
/// packages to check, its auth.json is described, its files are searched.
fn working_dir(case: &Case) {
    let app = {
        let world = World::new();
        let app = world.root.join("app");
        let mut run = case.run_in(world);
        fs::create_dir_all(&app).unwrap();
        case.give(&mut run, Some(&app.display().to_string()), ".");
        (run, app)
    };
    let (mut run, app) = app;
    let repo = repository();
    match case.command {
        "setup" | "check" | "exec" => {
            fs::write(
                app.join("composer.json"),
                r#"{"require": {"magento/product-community-edition": "*"}}"#,
            )
            .unwrap();
            args(&mut run, &["--repo-url", &repo.url()]);
            args(&mut run, &["--require-package", "auto"]);
            // Not visible to the keys: only the project's composer.json names it.
            let out = case.launch(&run).code(5);
            assert!(
                out.stderr.contains("magento/product-community-edition"),
                "{case:?}: {out:#?}"
            );
        }
        "doctor" => {
            fs::write(app.join("auth.json"), "{}").unwrap();
            let out = case.launch(&run).ok();
            let shown = app.join("auth.json").display().to_string();
            assert!(out.stdout.contains(&shown), "{case:?}: {out:#?}");
        }
        "scan" => {
            leak_in(&app);
            case.launch(&run).code(7);
        }
        _ => case.unexpected(),
    }
}

/// The package named is the one asked for.
fn require_package(case: &Case) {
    let repo = repository();
    let mut run = case.run();
    case.give(&mut run, Some("vendor/pkg"), "none");
    args(&mut run, &["--repo-url", &repo.url()]);
    case.launch(&run).ok();
    assert!(asked_for(&repo, "/p2/vendor/pkg.json"), "{case:?}");
}

/// The check gives up after the seconds given (cleanup: the wait for a
/// lock, in the same range: 0 is refused).
fn timeout(case: &Case) {
    let mut run = case.run();
    if case.command == "cleanup" {
        case.give(&mut run, Some("0"), "");
        let out = case.launch(&run).code(3);
        assert!(out.stderr.contains("out of range"), "{case:?}: {out:#?}");
        return;
    }
    let repo = FakeRepo::http();
    let slow = Answer::new(200, "{}").after(Duration::from_secs(6));
    repo.route("/packages.json", vec![slow]);
    case.give(&mut run, Some("1"), "");
    args(&mut run, &["--repo-url", &repo.url()]);
    let started = Instant::now();
    case.launch(&run).code(6);
    assert!(started.elapsed() < Duration::from_secs(5), "{case:?}");
}

/// No retry: one request to a repository that keeps answering 503.
fn retries(case: &Case) {
    let repo = FakeRepo::http();
    repo.route("/packages.json", vec![Answer::new(503, "busy")]);
    let mut run = case.run();
    case.give(&mut run, Some("0"), "");
    args(&mut run, &["--repo-url", &repo.url()]);
    case.launch(&run).code(6);
    assert_eq!(repo.paths().len(), 1, "{case:?}");
}

/// The CA given is trusted.
fn ca_file(case: &Case) {
    let ca = TestCa::new("settings");
    let repo = FakeRepo::https(&ca);
    serve_composer2(&repo, &[], true);
    repo.require_keys(PUBLIC, PRIVATE);
    let mut run = case.run();
    let file = ca.write(&run.world.root, "ca.pem");
    case.give(&mut run, Some(&file.display().to_string()), "");
    args(&mut run, &["--repo-url", &repo.url()]);
    case.launch(&run).ok();
    assert!(asked_for(&repo, "/packages.json"), "{case:?}");
}

/// `github`: the command speaks in workflow commands (doctor: keeps the
/// job's state where a GitHub job does).
fn ci(case: &Case) {
    let mut run = case.run();
    let runner_temp = run.world.root.join("runner");
    fs::create_dir_all(&runner_temp).unwrap();
    run.world
        .set("RUNNER_TEMP", &runner_temp)
        .set("GITHUB_RUN_ID", "5")
        .set("GITHUB_JOB", "build");
    case.give(&mut run, Some("github"), "none");
    let repo = repository();
    match case.command {
        "setup" | "exec" => args(&mut run, &["--no-check"]),
        "check" => args(&mut run, &["--repo-url", &repo.url()]),
        "doctor" => {
            let argv = ["setup", "--ci", "github", "--no-check"];
            case.launch_masked(&run.world, &argv).ok();
            let out = case.launch_masked(&run.world, &case.argv(&run)).ok();
            assert!(
                out.stdout.contains("This job has set up"),
                "{case:?}: {out:#?}"
            );
            return;
        }
        _ => {}
    }
    let out = case.launch_masked(&run.world, &case.argv(&run));
    assert!(
        out.stdout.lines().any(|l| l.starts_with("::")),
        "{case:?}: {out:#?}"
    );
}

/// Setup records in the file named, exec too while the command runs,
/// cleanup and doctor read it; check and scan keep no state and leave none.
fn state_file(case: &Case) {
    let mut run = case.run();
    let state = run.world.root.join("state/job.json");
    let contrary = run.world.root.join("other.json").display().to_string();
    case.give(&mut run, Some(&state.display().to_string()), &contrary);
    let given = ["--state-file", &state.display().to_string()].map(str::to_string);
    match case.command {
        "setup" => {
            args(&mut run, &["--no-check"]);
            case.launch(&run).ok();
            assert!(state.is_file(), "{case:?}");
        }
        "exec" => {
            args(&mut run, &["--no-check", "--mode", "project"]);
            recording_child(&mut run);
            run.world.set("MAGENTO_AUTH_STATE_FILE_SEEN", &state);
            case.launch(&run).ok();
            assert!(run.world.root.join("seen/state").exists(), "{case:?}");
        }
        "cleanup" | "doctor" => {
            let mut setup = vec!["setup", "--no-check"];
            setup.extend(given.iter().map(String::as_str));
            run.world.run(&setup).ok();
            assert!(run.world.home_auth().exists());
            let out = case.launch(&run).ok();
            if case.command == "cleanup" {
                assert!(!run.world.home_auth().exists(), "{case:?}: {out:#?}");
            } else {
                assert!(
                    out.stdout.contains("This job has set up"),
                    "{case:?}: {out:#?}"
                );
            }
        }
        "check" | "scan" => {
            let repo = repository();
            if case.command == "check" {
                args(&mut run, &["--repo-url", &repo.url()]);
            }
            case.launch(&run).ok();
            assert!(!state.exists(), "{case:?}");
        }
        _ => case.unexpected(),
    }
}

/// One JSON object on stdout.
fn json(case: &Case) {
    let repo = repository();
    let mut run = case.run();
    case.give(&mut run, None, "");
    if case.command == "check" {
        args(&mut run, &["--repo-url", &repo.url()]);
    }
    let out = case.launch(&run).ok();
    let value: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert!(value["status"].is_string(), "{case:?}: {value}");
}

/// The download token pair is asked for.
fn download_token(case: &Case) {
    let repo = repository();
    let mut run = case.run();
    case.give(&mut run, None, "");
    args(&mut run, &["--repo-url", &repo.url()]);
    let out = case.launch(&run).code(3);
    assert!(out.stderr.contains("MAGENTO_MAGEID"), "{case:?}: {out:#?}");
}

/// The directory named is searched after the restore.
fn scan(case: &Case) {
    let mut run = case.run();
    let dir = run.world.root.join("searched");
    leak_in(&dir);
    case.give(&mut run, Some(&dir.display().to_string()), "");
    case.launch(&run).code(7);
}

/// The sweep's seconds, in the range every timeout has: 0 is refused.
fn scan_timeout(case: &Case) {
    let mut run = case.run();
    case.give(&mut run, Some("0"), "");
    let out = case.launch(&run).code(3);
    assert!(out.stderr.contains("out of range"), "{case:?}: {out:#?}");
}

/// `warn`: a planted key is still named, and the exit is 0, not 7.
fn on_leak(case: &Case) {
    let mut run = case.run();
    fs::write(run.world.project.join("leaked.txt"), PRIVATE).unwrap();
    case.give(&mut run, Some("warn"), "fail");
    if case.command == "cleanup" {
        args(&mut run, &["--scan"]);
    }
    let out = case.launch(&run).ok();
    assert!(
        out.stdout.contains("leak: leaked.txt"),
        "{case:?}: {out:#?}"
    );
}

/// A key in the middle of a file over 64 MiB is found.
fn whole_files(case: &Case) {
    let mut run = case.run();
    let big = run.world.project.join("big.bin");
    let mut file = fs::File::create(&big).unwrap();
    file.set_len(72 << 20).unwrap();
    use std::io::{Seek, SeekFrom, Write};
    file.seek(SeekFrom::Start(36 << 20)).unwrap();
    file.write_all(PRIVATE.as_bytes()).unwrap();
    case.give(&mut run, None, "");
    if case.command == "cleanup" {
        args(&mut run, &["--scan"]);
    }
    case.launch(&run).code(7);
}

type Probe = fn(&Case);

/// Every option of every command, and how to prove it takes effect.
const PROBES: &[(&str, Probe)] = &[
    ("--mode", mode),
    ("--no-check", no_check),
    ("--warn-only", warn_only),
    ("--public-key-env", public_key_env),
    ("--private-key-env", private_key_env),
    ("--private-key-stdin", private_key_stdin),
    ("--on-missing", on_missing),
    ("--repo-url", repo_url),
    ("--working-dir", working_dir),
    ("--require-package", require_package),
    ("--timeout", timeout),
    ("--retries", retries),
    ("--ca-file", ca_file),
    ("--ci", ci),
    ("--state-file", state_file),
    ("--json", json),
    ("--download-token", download_token),
    ("--scan", scan),
    ("--scan-timeout", scan_timeout),
    ("--whole-files", whole_files),
    ("--on-leak", on_leak),
];

/// The options of `command` and their variables, from its `--help`.
fn options_of(command: &str) -> Vec<(String, Option<String>)> {
    let out = World::bare().run(&[command, "--help"]).ok();
    let mut options: Vec<(String, Option<String>)> = Vec::new();
    for line in out.stdout.lines() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let flag = trimmed.strip_prefix("-h, ").unwrap_or(trimmed);
        if (1..=6).contains(&indent) && flag.starts_with("--") {
            let name = flag.split([' ', '=', '[']).next().unwrap().to_string();
            options.push((name, None));
        } else if let Some(env) = trimmed.strip_prefix("[env: ") {
            let name = env.trim_end_matches(']').split('=').next().unwrap();
            options.last_mut().expect("an option first").1 = Some(name.to_string());
        }
    }
    options.retain(|(name, _)| !matches!(name.as_str(), "--help" | "--version"));
    assert!(options.len() > 3, "{command} --help: {options:?}");
    options
}

fn every_option_of(command: &'static str) {
    for (option, variable) in options_of(command) {
        let probe = PROBES
            .iter()
            .find(|(name, _)| *name == option)
            .unwrap_or_else(|| panic!("{command} {option} has no row in PROBES"))
            .1;
        let mut givens = vec![Given::Option];
        if variable.is_some() {
            givens.extend([Given::Variable, Given::Both]);
        }
        for given in givens {
            probe(&Case {
                command,
                option: option.clone(),
                variable: variable.clone(),
                given,
            });
        }
    }
}

#[test]
fn setup_takes_every_option_and_variable() {
    every_option_of("setup");
}

#[test]
fn exec_takes_every_option_and_variable() {
    every_option_of("exec");
}

#[test]
fn check_takes_every_option_and_variable() {
    every_option_of("check");
}

#[test]
fn cleanup_takes_every_option_and_variable() {
    every_option_of("cleanup");
}

#[test]
fn doctor_takes_every_option_and_variable() {
    every_option_of("doctor");
}

#[test]
fn scan_takes_every_option_and_variable() {
    every_option_of("scan");
}

/// exec has every option setup has, with the same variable: it is setup,
/// the command, and cleanup.
#[test]
fn exec_has_setups_options() {
    let exec = options_of("exec");
    for option in options_of("setup") {
        assert!(exec.contains(&option), "exec lacks {option:?}");
    }
}
