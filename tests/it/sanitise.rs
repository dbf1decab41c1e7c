//! The output sanitiser, end to end: a hostile repository whose answers hold
//! the keys in every form, line breaks followed by workflow commands,
//! terminal escapes and bulk; paths with a newline in them; URLs with
//! credentials. Whatever the command and platform, nothing of it may reach
//! stdout, stderr, `--json`, GitHub's outputs or job summary as it was.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::common::*;
use crate::env_file::parse_env_file;
use crate::fake_repo::*;

/// The workflow commands magento-auth itself writes.
const OWN_COMMANDS: &[&str] = &[
    "add-mask", "warning", "error", "notice", "group", "endgroup", "debug",
];

/// No line of output may be longer: a message is capped at a few KiB, and an
/// annotation holds two (message and hint), `%` escaped as `%25`.
const LINE_LIMIT: usize = 32 * 1024;

/// Lines a hostile server (or path) sends after a line break.
const INJECTED: &str = "\n::error::pwned\r\n::add-mask::x\n  ::set-output name=status::ok\n\
                        ##[error]old form\n::stop-commands::tok3n\n\u{85}::error::pwned\n";

/// Terminal escapes: clear screen, colour, an OSC 8 hyperlink, the 8-bit CSI.
const ESCAPES: &str =
    "\x1b[2J\x1b[1;31mred\x1b[0m \x1b]8;;https://evil.example/\x07click\x1b]8;;\x07 \u{9b}31m";

/// Text that holds injected lines, then each of `forms`, then injected lines
/// and escapes again, then `bulk` characters.
fn hostile(forms: &[String], bulk: usize) -> String {
    format!(
        "hostile{INJECTED}{}{INJECTED}{ESCAPES}{}",
        forms.join(" "),
        "A".repeat(bulk)
    )
}

/// Keys with every character that escaping changes, for a repository that
/// is not repo.magento.com (which takes only letters and digits).
const SPECIAL_PUBLIC: &str = "pub/\u{e9}\"k%y +\u{20ac}'x\\0123456789abcdef";
const SPECIAL_PRIVATE: &str = "pr1v&=?#<>$`\u{df}\u{65e5}\u{1f600} /%+\"\\end0123";

/// A GitHub runner's files, empty, with the job's variables pointing to them.
fn github(world: &mut World) -> HashMap<&'static str, PathBuf> {
    world.github_runner("5", "sanitise")
}

/// What one run left: its exit code and every text it wrote.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    /// GitHub's files, by variable name.
    files: Vec<(String, String)>,
    what: String,
}

fn run(world: &World, files: &HashMap<&'static str, PathBuf>, args: &[&str]) -> Run {
    for path in files.values() {
        fs::write(path, "").unwrap();
    }
    let output = world.command(args).output().unwrap();
    let mut read: Vec<(String, String)> = files
        .iter()
        .map(|(name, path)| (name.to_string(), fs::read_to_string(path).unwrap()))
        .collect();
    read.sort();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        files: read,
        what: args.join(" "),
    }
}

/// The command name of a workflow command line (`::name k=v::data`).
fn command_name(line: &str) -> Option<&str> {
    let rest = line.trim_start().strip_prefix("::")?;
    let end = rest.find([' ', ':']).unwrap_or(rest.len());
    Some(&rest[..end])
}

/// Every rule of the sanitiser, on everything `run` wrote. `escapes_allowed`
/// for GitLab, whose section markers are escapes of its own (they are taken
/// out before the search).
fn assert_clean(run: &Run, forms: &[String], gitlab: bool) {
    let what = &run.what;
    let streams = [("stdout", &run.stdout), ("stderr", &run.stderr)];
    for (name, text) in streams {
        // Masks are the one place a secret may go (GitHub reads them).
        let unmasked: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with("::add-mask::"))
            .collect();
        assert_no_form(&unmasked.join("\n"), &format!("{name} of {what}"), forms);
        let mut text = text.to_string();
        if gitlab {
            for marker in ["\r\x1b[0K", "\x1b[0K"] {
                text = text.replace(marker, " ");
            }
        }
        assert!(
            !text.contains('\x1b') && !text.contains('\r'),
            "an escape or CR in {name} of {what}:\n{text:?}"
        );
        for line in text.lines() {
            if let Some(command) = command_name(line) {
                assert!(
                    OWN_COMMANDS.contains(&command),
                    "{name} of {what} has a workflow command that is not ours: {line:.200}"
                );
            }
            assert!(
                !line.contains("##["),
                "{name} of {what} has an old-form workflow command: {line:.200}"
            );
            assert!(
                !line.trim_start().starts_with("::error::pwned"),
                "{name} of {what}: {line:.200}"
            );
            assert!(
                line.chars().count() <= LINE_LIMIT,
                "a line of {} characters in {name} of {what}: {line:.200}",
                line.chars().count()
            );
        }
    }
    for (name, text) in &run.files {
        assert_no_form(text, &format!("{name} after {what}"), forms);
        assert!(
            !text.contains('\x1b') && !text.contains('\r'),
            "an escape or CR in {name} after {what}:\n{text:?}"
        );
        assert!(
            text.len() <= 4 * LINE_LIMIT,
            "{name} holds {} bytes after {what}",
            text.len()
        );
        if name != "GITHUB_STEP_SUMMARY" {
            for (key, value) in parse_env_file(text).unwrap() {
                assert!(
                    !value.contains('\n'),
                    "{name} {key} is not one line after {what}"
                );
            }
        }
    }
}

/// A repository that accepts the canary keys and answers `packages.json`
/// with `answer`.
fn repository(ca: &TestCa, answer: Answer) -> FakeRepo {
    let repo = FakeRepo::https(ca);
    repo.require_keys(PUBLIC, PRIVATE);
    repo.route("/packages.json", vec![answer]);
    repo
}

/// `packages.json` whose `metadata-url` is `text`: the check echoes it in
/// its message when it cannot follow it.
fn metadata_url_answer(text: &str) -> Answer {
    let doc = serde_json::json!({
        "packages": [],
        "metadata-url": format!("ftp://{text}/%package%.json"),
    });
    Answer::json(200, &doc)
}

/// Each command a job runs against `repo`, on each platform, with `--json`.
fn commands(repo: &FakeRepo, ca_file: &Path) -> Vec<(Vec<String>, bool)> {
    let url = repo.url();
    let ca = ca_file.to_str().unwrap().to_string();
    let common = |command: &str, ci: &str| -> Vec<String> {
        [
            command,
            "--ci",
            ci,
            "--repo-url",
            &url,
            "--ca-file",
            &ca,
            "--require-package",
            "magento/product-community-edition",
            "--retries",
            "0",
        ]
        .map(str::to_string)
        .to_vec()
    };
    let mut json = common("check", "none");
    json.push("--json".into());
    vec![
        (common("check", "github"), false),
        (json, false),
        (common("setup", "github"), false),
        (common("check", "gitlab"), true),
        (common("setup", "none"), false),
    ]
}

#[test]
fn a_hostile_repository_reaches_no_output_as_it_was() {
    let ca = TestCa::new("sanitise");
    for (public, private) in [(PUBLIC, PRIVATE), (SPECIAL_PUBLIC, SPECIAL_PRIVATE)] {
        let mut world = World::new();
        world
            .set("MAGENTO_PUBLIC_KEY", public)
            .set("MAGENTO_PRIVATE_KEY", private);
        let files = github(&mut world);
        let ca_file = ca.write(&world.root, "ca.pem");
        let forms = secret_forms_of(public, private);
        // Echoed in full: every form, injected lines, escapes, 200 KB.
        let repo = FakeRepo::https(&ca);
        repo.require_keys(public, private);
        repo.route(
            "/packages.json",
            vec![metadata_url_answer(&hostile(&forms, 200_000))],
        );
        for (args, gitlab) in commands(&repo, &ca_file) {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = run(&world, &files, &args);
            assert_eq!(out.code, 6, "{}:\n{}\n{}", out.what, out.stdout, out.stderr);
            assert_clean(&out, &forms, gitlab);
            let said = format!("{}{}", out.stdout, out.stderr);
            assert!(
                said.contains("***"),
                "the keys are shown redacted:\n{said:.3000}"
            );
            assert!(said.contains("…[cut]"), "the cut is marked:\n{said:.3000}");
            if args.contains(&"--json") {
                let doc: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
                let message = doc["message"].as_str().unwrap();
                assert_eq!(doc["status"], "unreachable");
                assert!(!message.contains('\x1b') && !message.contains('\n'));
                assert!(message.chars().count() <= 4096 + 10, "{message:.200}");
            }
        }
    }
}

#[test]
fn a_repository_warning_with_the_keys_in_any_form_shows_none_of_them() {
    let ca = TestCa::new("sanitise-warning");
    let mut world = World::new();
    let files = github(&mut world);
    let ca_file = ca.write(&world.root, "ca.pem");
    let forms = secret_forms();
    // The warning is quoted up to 300 characters: a few forms at a time.
    let mut chunks: Vec<Vec<String>> = vec![Vec::new()];
    for form in &forms {
        let last = chunks.last_mut().unwrap();
        if last.iter().map(|f| f.len() + 20).sum::<usize>() + form.len() > 250 {
            chunks.push(Vec::new());
        }
        chunks.last_mut().unwrap().push(form.clone());
    }
    assert!(chunks.len() < 60, "{} chunks", chunks.len());
    for chunk in &chunks {
        let warning = hostile(chunk, 0);
        let repo = FakeRepo::https(&ca);
        repo.route(
            "/packages.json",
            vec![Answer::json(
                403,
                &serde_json::json!({ "warning": warning }),
            )],
        );
        let url = repo.url();
        let ca = ca_file.to_str().unwrap();
        for ci in ["github", "none"] {
            let args = [
                "check",
                "--ci",
                ci,
                "--repo-url",
                &url,
                "--ca-file",
                ca,
                "--retries",
                "0",
            ];
            let out = run(&world, &files, &args);
            assert_eq!(out.code, 5, "{}:\n{}", out.what, out.stderr);
            assert_clean(&out, &forms, false);
        }
    }
}

#[test]
fn redirect_targets_and_server_urls_show_no_key_and_no_credentials() {
    let ca = TestCa::new("sanitise-urls");
    let mut world = World::new();
    let files = github(&mut world);
    let ca_file = ca.write(&world.root, "ca.pem");
    let ca_path = ca_file.to_str().unwrap();
    let mut forms = secret_forms();
    forms.push("hunter2-in-a-url".into());
    let redirect =
        Answer::new(302, "").header("Location", &format!("https://{PUBLIC}.{PRIVATE}.example/x"));
    let userinfo = Answer::json(
        200,
        &serde_json::json!({
            "packages": [],
            "metadata-url": "https://user:hunter2-in-a-url@127.0.0.1:1/p2/%package%.json",
        }),
    );
    for (answer, said) in [
        (redirect, "redirects (HTTP 302) to host ***.***.example"),
        (userinfo, "carries credentials (user:pass@)"),
    ] {
        let repo = repository(&ca, answer);
        let url = repo.url();
        for ci in ["github", "none"] {
            let args = [
                "check",
                "--ci",
                ci,
                "--repo-url",
                &url,
                "--ca-file",
                ca_path,
                "--retries",
                "0",
                "--require-package",
                "vendor/package",
            ];
            let out = run(&world, &files, &args);
            assert_eq!(out.code, 6, "{}:\n{}", out.what, out.stderr);
            assert_clean(&out, &forms, false);
            let all = format!("{}{}", out.stdout, out.stderr);
            assert!(all.contains(said), "{said:?} in:\n{all}");
            assert!(!all.contains("@127.0.0.1"), "{all}");
        }
    }
}

#[cfg(unix)]
#[test]
fn a_newline_in_composer_home_or_the_working_dir_starts_no_workflow_command() {
    let mut world = World::new();
    let files = github(&mut world);
    let home = world.root.join("home\n::error::pwned");
    let project = world.root.join("project\n::error::pwned\n##[error]x");
    fs::create_dir_all(&project).unwrap();
    fs::write(project.join("composer.json"), "{}").unwrap();
    world.set("COMPOSER_HOME", &home);
    let dir = project.to_str().unwrap();
    let forms = secret_forms();
    for args in [
        vec!["setup", "--ci", "github", "--no-check"],
        vec!["doctor", "--ci", "github", "--working-dir", dir],
        vec!["cleanup", "--ci", "github"],
        vec![
            "setup",
            "--ci",
            "github",
            "--no-check",
            "--mode",
            "project",
            "--working-dir",
            dir,
        ],
        vec!["doctor", "--ci", "github", "--working-dir", dir],
        vec!["doctor", "--ci", "none", "--working-dir", dir],
        vec!["cleanup", "--ci", "github"],
        vec!["setup", "--ci", "none", "--no-check"],
        vec!["cleanup", "--ci", "none"],
    ] {
        let out = run(&world, &files, &args);
        assert_clean(&out, &forms, false);
        let said = format!("{}{}", out.stdout, out.stderr);
        assert!(
            said.contains("\\n::error::pwned"),
            "the path is shown with its newline escaped ({}):\n{said}",
            out.what
        );
    }
}

#[test]
fn a_repository_url_with_credentials_is_refused_and_never_echoed() {
    let mut world = World::new();
    let files = github(&mut world);
    let (user, password) = ("alice-in-the-url", "hunter2-in-the-url");
    let mut forms = secret_forms();
    forms.extend(secret_forms_of(user, password));
    let url = format!("https://{user}:{password}@127.0.0.1:1/");
    let ci_runs: [&[&str]; 6] = [
        &["check", "--ci", "github"],
        &["check", "--ci", "none", "--json"],
        &["setup", "--ci", "github"],
        &["setup", "--ci", "gitlab", "--mode", "env"],
        &["doctor", "--ci", "github"],
        &["exec", "--ci", "github"],
    ];
    let bin = native_bin();
    for base in ci_runs {
        let mut args = base.to_vec();
        args.extend(["--repo-url", url.as_str()]);
        if base[0] == "exec" {
            args.extend(["--", bin.as_str(), "--version"]);
        }
        let out = run(&world, &files, &args);
        assert_eq!(out.code, 3, "{}:\n{}\n{}", out.what, out.stdout, out.stderr);
        assert_clean(&out, &forms, base.contains(&"gitlab"));
        let said = format!("{}{}", out.stdout, out.stderr);
        assert!(said.contains("credentials (user:pass@)"), "{said}");
        // Not even with its credentials blanked: the URL as given is not shown.
        for (name, text) in [("output", &said)]
            .into_iter()
            .chain(out.files.iter().map(|(n, t)| (n.as_str(), t)))
        {
            assert!(
                !text.contains("@127.0.0.1"),
                "{name} of {}:\n{text}",
                out.what
            );
        }
        if args.contains(&"--json") {
            let doc: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
            assert_eq!(doc["status"], "error");
        }
    }
}

#[test]
fn a_download_token_url_with_credentials_is_refused_and_never_echoed() {
    let mut world = World::new();
    let files = github(&mut world);
    world
        .set("MAGENTO_MAGEID", "MAG123456789")
        .set("MAGENTO_DOWNLOAD_TOKEN", "d0wnl0adt0k3nd0wnl0adt0k3n");
    let mut forms = secret_forms();
    forms.extend(secret_forms_of("mageid-in-the-url", "token-in-the-url"));
    forms.push("d0wnl0adt0k3n".into());
    let url = "https://mageid-in-the-url:token-in-the-url@127.0.0.1:1/help";
    // The keys are good, so that nothing but the token URL can fail.
    let ca = TestCa::new("sanitise-token");
    let ca_file = ca.write(&world.root, "ca.pem");
    let repo = FakeRepo::https(&ca);
    repo.require_keys(PUBLIC, PRIVATE);
    serve_composer2(&repo, &[], false);
    let repo_url = repo.url();
    for ci in ["github", "none"] {
        let args = [
            "check",
            "--ci",
            ci,
            "--repo-url",
            &repo_url,
            "--ca-file",
            ca_file.to_str().unwrap(),
            "--download-token",
            "--download-token-url",
            url,
            "--json",
        ];
        let out = run(&world, &files, &args);
        assert_eq!(out.code, 3, "{}:\n{}\n{}", out.what, out.stdout, out.stderr);
        assert_clean(&out, &forms, false);
        assert!(
            out.stderr.contains("carries credentials")
                || out.stdout.contains("carries credentials"),
            "{}\n{}",
            out.stdout,
            out.stderr
        );
    }
}
