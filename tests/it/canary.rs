//! The canary suite: random keys through every command × mode × CI platform ×
//! outcome of the check, searched for in every form (`secret_forms_of`) in
//! stdout, stderr, the JSON output, GitHub's files, every file under the
//! test's directories after cleanup, and the command lines of `exec` and its
//! child while the child runs.
//!
//! Allowed: `::add-mask::` lines on GitHub; in `setup --mode env`, the
//! `GITHUB_ENV` entry on GitHub and the `export` line on stdout elsewhere
//! (both are the product of that command); the credentials file between
//! setup and cleanup.
//!
//! The keys are random on each run, from an alphabet with the characters that
//! escaping changes (`"` `\` `/` `%` `+` `'` space, non-ASCII), which the fake
//! repository's non-default host accepts. `CANARY_SEED=N` replays a run; the
//! seed is in every failure message.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::Duration;

use crate::common::*;
use crate::env_file::parse_env_file;
use crate::fake_repo::*;
use crate::proxy::free_port;

const CE: &str = "magento/product-community-edition";
const EE: &str = "magento/product-enterprise-edition";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ci {
    Github,
    Gitlab,
    Bitbucket,
    None,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Case {
    /// `--no-check` (check itself is not run).
    Unchecked,
    Ok,
    InvalidKeys,
    Forbidden,
    NotEntitled,
    Unreachable,
}

const CASES: [Case; 5] = [
    Case::Ok,
    Case::InvalidKeys,
    Case::Forbidden,
    Case::NotEntitled,
    Case::Unreachable,
];

const MODES: [&str; 3] = ["home", "project", "env"];

impl Case {
    fn status(self) -> &'static str {
        match self {
            Case::Unchecked => "unchecked",
            Case::Ok => "ok",
            Case::InvalidKeys => "invalid-keys",
            Case::Forbidden => "forbidden",
            Case::NotEntitled => "not-entitled",
            Case::Unreachable => "unreachable",
        }
    }

    /// Whether setup and exec write the credentials.
    fn writes(self) -> bool {
        matches!(self, Case::Unchecked | Case::Ok)
    }

    fn code(self) -> i32 {
        match self {
            Case::Unchecked | Case::Ok => 0,
            Case::InvalidKeys => 4,
            Case::Forbidden | Case::NotEntitled => 5,
            Case::Unreachable => 6,
        }
    }
}

/// A small xorshift generator: reproducible from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

fn seed() -> u64 {
    if let Some(seed) = std::env::var("CANARY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        return seed;
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    (nanos ^ u64::from(std::process::id()).rotate_left(32)) | 1
}

const ALNUM: &[&str] = &[
    "a", "b", "c", "d", "e", "f", "k", "q", "x", "z", "A", "F", "K", "Q", "Z", "0", "1", "5", "7",
    "9",
];
/// What JSON, URL, shell and workflow-command escaping change.
const SPECIAL: &[&str] = &[
    "\"", "\\", "/", "%", "+", "'", " ", "&", "=", "?", "#", "<", ">", "$", "`", "é", "€", "ß",
    "日", "😀",
];

/// A random key of 32 characters: letters and digits at both ends (so that
/// nothing is trimmed), a mix inside, with at least three special ones.
fn random_key(rng: &mut Rng, extra: &[&str]) -> String {
    let mut specials: Vec<&str> = SPECIAL.to_vec();
    specials.extend_from_slice(extra);
    let mut chars: Vec<&str> = (0..32)
        .map(|i| {
            if i == 0 || i == 31 || rng.next().is_multiple_of(2) {
                rng.pick(ALNUM)
            } else {
                rng.pick(&specials)
            }
        })
        .collect();
    for i in [5, 15, 25] {
        chars[i] = rng.pick(&specials);
    }
    chars.concat()
}

/// The keys of one run and the forms they could leak in.
struct Canary {
    public: String,
    private: String,
    forms: Vec<String>,
    seed: u64,
}

impl Canary {
    fn new() -> Self {
        Self::from_seed(seed())
    }

    fn from_seed(seed: u64) -> Self {
        let mut rng = Rng(seed);
        let public = random_key(&mut rng, &[]);
        // A username cannot hold ':', a password can.
        let private = random_key(&mut rng, &[":"]);
        Self::of(public, private, seed)
    }

    /// Marketplace keys (32 ASCII letters and digits), as repo.magento.com
    /// takes them.
    fn marketplace() -> Self {
        let seed = seed();
        let mut rng = Rng(seed);
        let mut key = || (0..32).map(|_| rng.pick(ALNUM)).collect::<String>();
        let public = key();
        let private = key();
        Self::of(public, private, seed)
    }

    fn of(public: String, private: String, seed: u64) -> Self {
        let forms = secret_forms_of(&public, &private);
        Canary {
            public,
            private,
            forms,
            seed,
        }
    }

    fn clean(&self, text: &str, what: &str) {
        assert_no_form(
            text,
            &format!("{what} (CANARY_SEED={})", self.seed),
            &self.forms,
        );
    }
}

const GITHUB_FILES: [&str; 4] = [
    "GITHUB_ENV",
    "GITHUB_OUTPUT",
    "GITHUB_STATE",
    "GITHUB_STEP_SUMMARY",
];

/// One job on one platform, against one repository.
struct Job<'a> {
    world: World,
    ci: Ci,
    canary: &'a Canary,
    repo_url: String,
    github: HashMap<&'static str, PathBuf>,
}

/// What one step printed, once searched.
struct Step {
    code: i32,
    stdout: String,
    stderr: String,
    /// The GitHub files the step wrote, by name.
    files: HashMap<&'static str, String>,
}

impl<'a> Job<'a> {
    fn new(ci: Ci, canary: &'a Canary, repo_url: String, ca_file: &Path) -> Self {
        let mut world = World::bare();
        let composer_home = world.home.join(".composer");
        world
            .set("MAGENTO_PUBLIC_KEY", &canary.public)
            .set("MAGENTO_PRIVATE_KEY", &canary.private)
            .set("COMPOSER_HOME", composer_home)
            .set("SSL_CERT_FILE", ca_file);
        fs::write(
            world.project.join("composer.json"),
            format!(r#"{{"name": "acme/shop", "require": {{"{EE}": "2.4.7"}}}}"#),
        )
        .unwrap();
        let mut github = HashMap::new();
        match ci {
            Ci::Github => {
                let runner_temp = world.root.join("runner_temp");
                fs::create_dir(&runner_temp).unwrap();
                for name in GITHUB_FILES {
                    let path = runner_temp.join(name.to_lowercase());
                    fs::write(&path, "").unwrap();
                    world.set(name, &path);
                    github.insert(name, path);
                }
                world
                    .set("GITHUB_ACTIONS", "true")
                    .set("RUNNER_TEMP", &runner_temp)
                    .set("GITHUB_RUN_ID", "77")
                    .set("GITHUB_JOB", "build");
            }
            Ci::Gitlab => {
                world.set("GITLAB_CI", "true").set("CI_JOB_ID", "4242");
            }
            Ci::Bitbucket => {
                world.set("BITBUCKET_BUILD_NUMBER", "9").set(
                    "BITBUCKET_STEP_UUID",
                    "{3f2a5c1e-0000-4000-8000-1234567890ab}",
                );
            }
            Ci::None => {}
        }
        Job {
            world,
            ci,
            canary,
            repo_url,
            github,
        }
    }

    fn what(&self, args: &[&str]) -> String {
        format!("{:?} {}", self.ci, args.join(" "))
    }

    /// Run one step and search everything it printed and wrote. `export` is
    /// set for `setup --mode env`, whose product is the secret.
    fn step(&self, args: &[&str], export: bool) -> Step {
        let output = self.world.command(args).output().unwrap();
        self.searched(args, output, export)
    }

    /// A step that reads the private key from standard input.
    fn step_with_private_key_on_stdin(&self, args: &[&str]) -> Step {
        use std::io::Write;
        let mut cmd = self.world.command(args);
        cmd.env_remove("MAGENTO_PRIVATE_KEY")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(format!("{}\n", self.canary.private).as_bytes())
            .unwrap();
        drop(stdin);
        self.searched(args, child.wait_with_output().unwrap(), false)
    }

    fn searched(&self, args: &[&str], output: std::process::Output, export: bool) -> Step {
        let what = self.what(args);
        let code = output.status.code().unwrap_or(-1);
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        self.canary.clean(&stderr, &format!("stderr of {what}"));
        for line in stdout.lines() {
            let allowed = (self.ci == Ci::Github && line.starts_with("::add-mask::"))
                || (self.ci != Ci::Github && export && line.starts_with("export COMPOSER_AUTH="));
            if !allowed {
                self.canary.clean(line, &format!("stdout of {what}"));
                if self.ci == Ci::Github {
                    // What the runner shows of a workflow command.
                    let shown = unescape_workflow_command(line);
                    self.canary
                        .clean(&shown, &format!("stdout of {what}, as shown"));
                }
            }
        }
        let mut files = HashMap::new();
        for (name, path) in &self.github {
            let text = fs::read_to_string(path).unwrap();
            if !(export && *name == "GITHUB_ENV") {
                self.canary.clean(&text, &format!("{name} after {what}"));
            }
            // The runner gives every step fresh files.
            fs::write(path, "").unwrap();
            files.insert(*name, text);
        }
        Step {
            code,
            stdout,
            stderr,
            files,
        }
    }

    /// Every file under the job's directories (HOME, TMPDIR, the project,
    /// RUNNER_TEMP) holds no form of the keys.
    fn files_clean(&self, when: &str) {
        for (path, bytes) in self.world.all_files() {
            self.canary.clean(
                &String::from_utf8_lossy(&bytes),
                &format!("{} {when} on {:?}", path.display(), self.ci),
            );
        }
    }

    fn check_args(&self, case: Case) -> Vec<String> {
        if case == Case::Unchecked {
            return ["--repo-url", &self.repo_url, "--no-check"]
                .map(str::to_string)
                .to_vec();
        }
        [
            "--repo-url",
            &self.repo_url,
            "--require-package",
            EE,
            "--retries",
            "0",
            "--timeout",
            "20",
        ]
        .map(str::to_string)
        .to_vec()
    }

    fn expect(&self, step: &Step, args: &[&str], case: Case) {
        assert_eq!(
            step.code,
            case.code(),
            "{} (CANARY_SEED={}):\n{}\n{}",
            self.what(args),
            self.canary.seed,
            step.stdout,
            step.stderr
        );
        if self.ci == Ci::Github && args[0] == "setup" {
            let output = parse_env_file(&step.files["GITHUB_OUTPUT"]).unwrap();
            assert!(
                output.contains(&("status".to_string(), case.status().to_string())),
                "{}: {output:?}",
                self.what(args)
            );
        }
    }

    /// `check --json`, `check`, and `check --private-key-stdin`.
    fn check(&self, case: Case) {
        for variant in ["--json", "", "--private-key-stdin"] {
            let mut args = vec!["check".to_string()];
            args.extend(self.check_args(case));
            let json = variant == "--json";
            if !variant.is_empty() {
                args.push(variant.into());
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let step = if variant == "--private-key-stdin" {
                self.step_with_private_key_on_stdin(&args)
            } else {
                self.step(&args, false)
            };
            self.expect(&step, &args, case);
            if json {
                // On GitHub the masks come first, each on its line.
                let data: String = step
                    .stdout
                    .lines()
                    .filter(|l| !l.starts_with("::"))
                    .collect();
                let value: serde_json::Value = serde_json::from_str(&data)
                    .unwrap_or_else(|_| panic!("{}: {}", self.what(&args), step.stdout));
                assert_eq!(value["status"], case.status());
            }
        }
    }

    /// `setup --mode MODE`, then `doctor` with what setup gave the job, then
    /// `cleanup` as the platform runs it; then every file is searched.
    fn setup_doctor_cleanup(&mut self, mode: &str, case: Case) {
        let mut args = vec!["setup".to_string(), "--mode".into(), mode.into()];
        args.extend(self.check_args(case));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let export = mode == "env";
        let step = self.step(&args, export);
        self.expect(&step, &args, case);
        let mut composer_auth = None;
        if case.writes() {
            match (mode, self.ci) {
                ("env", Ci::Github) => {
                    let env = parse_env_file(&step.files["GITHUB_ENV"]).unwrap();
                    let (_, value) = env.iter().find(|(n, _)| n == "COMPOSER_AUTH").unwrap();
                    composer_auth = Some(value.clone());
                }
                ("env", _) => {
                    let line = step
                        .stdout
                        .lines()
                        .find(|l| l.starts_with("export COMPOSER_AUTH="))
                        .unwrap_or_else(|| panic!("no export line: {}", step.stdout));
                    composer_auth = Some(eval_export(line));
                }
                _ => {
                    // The credentials are in place: the search finds them
                    // there, so a clean search later means something.
                    let file = if mode == "home" {
                        self.world.home_auth()
                    } else {
                        self.world.project.join("auth.json")
                    };
                    let text = fs::read_to_string(&file).unwrap();
                    assert!(holds_form(&text, &self.canary.forms), "{text}");
                }
            }
            if let Some(value) = &composer_auth {
                assert!(holds_form(value, &self.canary.forms));
                let doc: serde_json::Value = serde_json::from_str(value).unwrap();
                let host = self.repo_url.trim_start_matches("https://");
                assert_eq!(doc["http-basic"][host]["password"], *self.canary.private);
                self.world.set("COMPOSER_AUTH", value);
            }
            let doctor = ["doctor", "--repo-url", &self.repo_url];
            let step = self.step(&doctor, false);
            assert_eq!(step.code, 0, "{}", step.stderr);
            // It found the credentials, and showed no more than a preview.
            assert!(step.stdout.contains("(32 chars), password …(32 chars)"));
        }
        if self.ci == Ci::Github {
            // The post step: the main step's state as STATE_*.
            for (name, value) in parse_env_file(&step.files["GITHUB_STATE"]).unwrap() {
                self.world.set(&format!("STATE_{name}"), value);
            }
        }
        let step = self.step(&["cleanup"], false);
        assert_eq!(step.code, 0, "{}", step.stderr);
        if self.ci == Ci::Github && composer_auth.is_some() {
            let env = parse_env_file(&step.files["GITHUB_ENV"]).unwrap();
            assert_eq!(env, [("COMPOSER_AUTH".to_string(), String::new())]);
        }
        self.world.unset("COMPOSER_AUTH");
        self.world
            .vars
            .retain(|(name, _)| !name.starts_with("STATE_"));
        self.files_clean(&format!("after setup --mode {mode} and cleanup"));
    }

    /// `exec --mode MODE -- sh -c ...`: while the child runs, the command
    /// lines of exec and of the child are searched.
    fn exec(&self, mode: &str, case: Case) {
        let pidfile = self.world.root.join("child.pid");
        let go = self.world.root.join("go");
        let _ = fs::remove_file(&pidfile);
        let _ = fs::remove_file(&go);
        // The child waits (at most 10 s) for the test to have looked.
        let script = format!(
            "echo $$ > '{}'; i=0; while [ ! -e '{}' ] && [ $i -lt 1000 ]; do sleep 0.01; i=$((i+1)); done",
            pidfile.display(),
            go.display()
        );
        let mut args = vec!["exec".to_string(), "--mode".into(), mode.into()];
        args.extend(self.check_args(case));
        args.extend(["--", "sh", "-c", &script].map(str::to_string));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut child = self
            .world
            .command(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut started = false;
        for _ in 0..1000 {
            if fs::read_to_string(&pidfile).is_ok_and(|p| p.ends_with('\n')) {
                started = true;
                break;
            }
            if child.try_wait().unwrap().is_some() {
                break;
            }
            sleep(Duration::from_millis(10));
        }
        if started {
            let child_pid = fs::read_to_string(&pidfile).unwrap().trim().to_string();
            let mut seen = 0;
            for pid in [child.id().to_string(), child_pid] {
                let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap();
                let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
                seen += usize::from(cmdline.contains("sh -c"));
                self.canary.clean(
                    &cmdline,
                    &format!("/proc/{pid}/cmdline of {}", self.what(&args)),
                );
            }
            assert_eq!(seen, 2, "both command lines were read");
            fs::write(&go, "").unwrap();
        }
        let output = child.wait_with_output().unwrap();
        assert_eq!(started, case.writes(), "{}", self.what(&args));
        let step = self.searched(&args, output, false);
        self.expect(&step, &args, case);
        self.files_clean(&format!("after exec --mode {mode}"));
    }
}

/// Workflow-command data and properties as the runner reads them.
fn unescape_workflow_command(line: &str) -> String {
    line.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
}

/// What `eval "$line"` sets COMPOSER_AUTH to, as a real shell does it.
fn eval_export(line: &str) -> String {
    let out = Command::new("sh")
        .args([
            "-c",
            "eval \"$1\"; printf %s \"$COMPOSER_AUTH\"",
            "sh",
            line,
        ])
        .env_clear()
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

/// A repository that gives `case` to the canary keys.
fn repository(ca: &TestCa, canary: &Canary, case: Case) -> (Option<FakeRepo>, String) {
    if case == Case::Unreachable {
        return (None, format!("https://127.0.0.1:{}", free_port()));
    }
    let repo = FakeRepo::https(ca);
    repo.require_keys(&canary.public, &canary.private);
    match case {
        // A hostile or broken repository that echoes what it was sent, in
        // the warning the check quotes.
        Case::InvalidKeys | Case::Forbidden => {
            let status = if case == Case::Forbidden { 403 } else { 401 };
            repo.route(
                "/packages.json",
                vec![Answer::json(
                    status,
                    &serde_json::json!({ "warning": echo(canary) }),
                )],
            );
        }
        Case::NotEntitled => serve_composer1(&repo, &[CE]),
        _ => serve_composer1(&repo, &[CE, EE]),
    }
    let url = repo.url();
    (Some(repo), url)
}

/// The credentials as a repository received them, in the forms a careless
/// one would echo.
fn echo(canary: &Canary) -> String {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD as BASE64;
    let (public, private) = (&canary.public, &canary.private);
    format!(
        "Your keys are invalid. Authorization: Basic {}; username {public}; \
         password {}; as JSON {}",
        BASE64.encode(format!("{public}:{private}")),
        url_encode(private),
        serde_json::to_string(private).unwrap(),
    )
}

/// Every command, mode and outcome on one platform.
fn matrix(ci: Ci) {
    let canary = Canary::new();
    let ca = TestCa::new("canary");
    let scratch = tempfile::tempdir().unwrap();
    let ca_file = ca.write(scratch.path(), "ca.pem");
    for case in CASES {
        let (_repo, url) = repository(&ca, &canary, case);
        run_job(Job::new(ci, &canary, url, &ca_file), case);
    }
    // repo.magento.com itself, with Marketplace keys: written without a
    // check, and checked through a proxy on a closed local port (which also
    // keeps every request on this machine).
    let canary = Canary::marketplace();
    for case in [Case::Unchecked, Case::Unreachable] {
        let mut job = Job::new(ci, &canary, "https://repo.magento.com".into(), &ca_file);
        job.world
            .set("HTTPS_PROXY", format!("http://127.0.0.1:{}", free_port()));
        run_job(job, case);
    }
}

fn run_job(mut job: Job, case: Case) {
    if case != Case::Unchecked {
        job.check(case);
    }
    for mode in MODES {
        job.setup_doctor_cleanup(mode, case);
        job.exec(mode, case);
    }
    job.files_clean("at the end");
}

#[test]
fn canaries_on_github() {
    matrix(Ci::Github);
}

#[test]
fn canaries_on_gitlab() {
    matrix(Ci::Gitlab);
}

#[test]
fn canaries_on_bitbucket() {
    matrix(Ci::Bitbucket);
}

#[test]
fn canaries_without_ci() {
    matrix(Ci::None);
}

/// The search is not blind: each form is found where a leak would put it.
#[test]
fn the_search_finds_every_form_of_a_leak() {
    let first = seed();
    for n in 0..64 {
        search_finds_leaks(&Canary::from_seed(first.wrapping_add(n * 0x9e37_79b9) | 1));
    }
}

fn search_finds_leaks(canary: &Canary) {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD as BASE64;
    let (public, private) = (&canary.public, &canary.private);
    let composer_auth = serde_json::json!({
        "http-basic": {"h": {"username": public, "password": private}}
    })
    .to_string();
    let mut leaks = vec![
        format!(
            "Authorization: Basic {}",
            BASE64.encode(format!("{public}:{private}"))
        ),
        composer_auth.clone(),
        format!("password={}", url_encode(private)),
    ];
    for prefix in ["", "x", "xy"] {
        leaks.push(BASE64.encode(format!("{prefix}{composer_auth}")));
        leaks.push(BASE64.encode(format!("{prefix}{private}")));
    }
    for leak in leaks {
        assert!(
            holds_form(&leak, &canary.forms),
            "not found (CANARY_SEED={}): {leak}",
            canary.seed
        );
    }
    // And a mere prefix of a key is not a leak (doctor shows four characters).
    let prefix: String = public.chars().take(4).collect();
    assert!(!holds_form(
        &format!("username {prefix}…(32 chars)"),
        &canary.forms
    ));
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
