//! The leak sweep (issue 16): keys planted in every form, in every kind of
//! place a job leaves them, are found; a clean tree has none; no output holds
//! a key.

use std::fs;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::common::*;

/// A tree shaped like a Magento project: vendor/, var/, generated/, pub/,
/// a .git directory, an ignored directory.
pub(crate) fn magento_tree(root: &Path) {
    for dir in [
        "app/etc",
        "vendor/magento/module-catalog/Model",
        "vendor/composer",
        "var/composer_home",
        "var/log",
        "generated/code",
        "pub/static",
        ".git/objects/ab",
        "build",
    ] {
        fs::create_dir_all(root.join(dir)).unwrap();
    }
    fs::write(
        root.join("composer.json"),
        r#"{"require": {"magento/product-community-edition": "2.4.7"}}"#,
    )
    .unwrap();
    fs::write(
        root.join(".gitignore"),
        "/vendor/\n/var/\n/build/\n/auth.json\n",
    )
    .unwrap();
    fs::write(
        root.join("app/etc/env.php"),
        "<?php return ['db' => ['password' => 'not-a-key']];",
    )
    .unwrap();
    for n in 0..50 {
        fs::write(
            root.join(format!(
                "vendor/magento/module-catalog/Model/Product{n}.php"
            )),
            format!(
                "<?php class Product{n} {{ /* base64 and hex: {} */ }}",
                BASE64.encode([n as u8; 48])
            ),
        )
        .unwrap();
    }
    fs::write(
        root.join("var/log/system.log"),
        "[2026-12-05] main.INFO: cache flushed\n",
    )
    .unwrap();
}

pub(crate) fn scan(world: &World, args: &[&str]) -> Outcome {
    let mut all = vec!["scan"];
    all.extend_from_slice(args);
    world.run(&all)
}

/// The leak lines of a run's stdout: `(path, form)`.
pub(crate) fn leaks(out: &Outcome) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = out
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("leak: "))
        .filter_map(|l| l.rsplit_once(" ("))
        // Paths are printed with the platform's separator; compared with '/'.
        .map(|(path, form)| {
            let path = path.replace(std::path::MAIN_SEPARATOR, "/");
            (path, form.trim_end_matches(')').to_string())
        })
        .collect();
    found.sort();
    found
}

#[test]
fn a_clean_magento_tree_is_clean() {
    let world = World::new();
    magento_tree(&world.project);
    let out = scan(&world, &[]).ok();
    assert!(leaks(&out).is_empty(), "{out:#?}");
    let out = scan(&world, &["--json"]).ok();
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(json["status"], "clean");
    assert_eq!(json["files"], serde_json::json!([]));
    assert_eq!(json["scanned_files"], 54, "every file but .git's: {json}");
    assert!(json["scanned_bytes"].as_u64().unwrap() > 0);
    assert!(json["duration_ms"].is_u64());
}

#[cfg(unix)]
#[test]
fn keys_in_every_form_and_every_place_are_found() {
    let world = World::new();
    magento_tree(&world.project);
    let pair = BASE64.encode(format!("{PUBLIC}:{PRIVATE}"));
    let entry = format!(
        r#"{{"http-basic":{{"repo.magento.com":{{"username":"{PUBLIC}","password":"{PRIVATE}"}}}}}}"#
    );
    let planted = [
        // What bin/magento sampledata:deploy leaves in the project.
        ("var/composer_home/auth.json", entry.clone(), "raw"),
        // An auth.json copied into an ignored build context.
        ("build/docker/auth.json", entry.clone(), "raw"),
        // A .env holding COMPOSER_AUTH, base64'd by a deploy script.
        (
            "deploy.env",
            format!("COMPOSER_AUTH_B64={}\n", BASE64.encode(&entry)),
            "base64",
        ),
        // A -vvv log with the Basic header, deep in vendor/.
        (
            "vendor/composer/install.log",
            format!("Authorization: Basic {pair}\n"),
            "base64",
        ),
        // The header at another alignment inside a longer base64 text.
        (
            "var/log/x.log",
            format!("blob={}", BASE64.encode(format!("xx{PUBLIC}:{PRIVATE}yy"))),
            "base64",
        ),
    ];
    for (path, text, _) in &planted {
        let path = world.project.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
    // Next to a symbolic link loop and a link out of the tree (never followed).
    std::os::unix::fs::symlink(&world.project, world.project.join("var/loop")).unwrap();
    std::os::unix::fs::symlink(world.home.join("nowhere"), world.project.join("var/out")).unwrap();
    let out = scan(&world, &[]).code(7);
    let mut expected: Vec<(String, String)> = planted
        .iter()
        .map(|(path, _, form)| (path.to_string(), form.to_string()))
        .collect();
    expected.sort();
    assert_eq!(leaks(&out), expected, "{out:#?}");
    // --json says the same.
    let out = scan(&world, &["--json"]).code(7);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(json["status"], "leaked");
    assert_eq!(json["files"].as_array().unwrap().len(), planted.len());
}

#[test]
fn a_key_in_the_tail_of_a_large_file_is_found() {
    let world = World::new();
    let big = world.project.join("var/backup.sql");
    fs::create_dir_all(big.parent().unwrap()).unwrap();
    let file = fs::File::create(&big).unwrap();
    file.set_len(80 * 1024 * 1024).unwrap();
    drop(file);
    use std::io::{Seek, SeekFrom, Write};
    let mut file = fs::OpenOptions::new().write(true).open(&big).unwrap();
    file.seek(SeekFrom::End(-100)).unwrap();
    file.write_all(PRIVATE.as_bytes()).unwrap();
    drop(file);
    let out = scan(&world, &[]).code(7);
    assert_eq!(
        leaks(&out),
        [("var/backup.sql".to_string(), "raw".to_string())]
    );
}

#[test]
fn named_roots_and_a_missing_root() {
    let world = World::new();
    fs::create_dir_all(world.root.join("a")).unwrap();
    fs::write(world.root.join("a/f"), PUBLIC).unwrap();
    fs::write(world.root.join("single.txt"), PRIVATE).unwrap();
    let a = world.root.join("a");
    let single = world.root.join("single.txt");
    let out = scan(&world, &[a.to_str().unwrap(), single.to_str().unwrap()]).code(7);
    assert_eq!(
        leaks(&out),
        [
            ("f".to_string(), "raw".to_string()),
            ("single.txt".to_string(), "raw".to_string())
        ]
    );
    let missing = world.root.join("nothing-here");
    scan(&world, &[missing.to_str().unwrap()])
        .code(3)
        .stderr_has("does not exist");
}

#[test]
fn without_keys_scan_fails_or_skips_as_asked() {
    let mut world = World::new();
    world
        .unset("MAGENTO_PUBLIC_KEY")
        .unset("MAGENTO_PRIVATE_KEY");
    scan(&world, &[]).code(3);
    scan(&world, &["--on-missing", "skip"]).ok();
}

#[test]
fn cleanup_scan_sweeps_after_restoring() {
    let world = World::new();
    world.run(&["setup", "--no-check"]).ok();
    // A copy the job made of the home's auth.json, into the workspace.
    fs::copy(world.home_auth(), world.project.join("auth.json.bak")).unwrap();
    world
        .run(&["cleanup", "--scan"])
        .code(7)
        .stderr_has("1 file(s) hold a key");
    assert!(!world.home_auth().exists(), "cleanup restored first");
    fs::remove_file(world.project.join("auth.json.bak")).unwrap();
    world.run(&["cleanup", "--scan"]).ok();
}

#[test]
fn on_github_each_leak_is_an_annotation_and_no_output_holds_a_key() {
    let mut world = World::new();
    let files = world.github_runner("9", "scan");
    fs::write(world.project.join("leaked.env"), format!("KEY={PRIVATE}\n")).unwrap();
    let output = world.command(&["scan"]).output().unwrap();
    assert_eq!(output.status.code(), Some(7));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    // Only the masks themselves may name the keys.
    let shown: String = stdout
        .lines()
        .filter(|l| !l.starts_with("::add-mask::"))
        .collect::<Vec<_>>()
        .join("\n");
    assert_no_secret(&shown, "stdout");
    assert_no_secret(&String::from_utf8_lossy(&output.stderr), "stderr");
    assert!(
        stdout.lines().any(|l| l.starts_with("::warning ")
            && l.contains("file=leaked.env")
            && l.contains("leaked.env holds a Marketplace key (raw)")),
        "{stdout}"
    );
    for (name, path) in files {
        assert_no_secret(&fs::read_to_string(path).unwrap_or_default(), name);
    }
    let summary =
        fs::read_to_string(world.root.join("runner_temp/github_step_summary.txt")).unwrap();
    assert!(summary.contains("leaked"), "{summary}");
}

#[test]
fn the_sweep_is_bounded_by_its_timeout() {
    let world = World::new();
    scan(&world, &["--scan-timeout", "0"])
        .code(3)
        .stderr_has("out of range");
}

// wine fails to start a process whose environment holds these keys.
#[cfg(unix)]
/// Keys with characters that escaping changes (for a repository other than
/// repo.magento.com) are found JSON-escaped and URL-encoded too.
#[test]
fn escaped_forms_of_other_keys_are_found() {
    let mut world = World::new();
    let (public, private) = ("us/er+name@01", "pa ss/w\"rd%42");
    world
        .set("MAGENTO_PUBLIC_KEY", public)
        .set("MAGENTO_PRIVATE_KEY", private);
    fs::write(
        world.project.join("composer.log"),
        "user=us%2Fer%2Bname%4001\n",
    )
    .unwrap();
    fs::write(
        world.project.join("auth.json"),
        r#"{"password": "pa ss\/w\"rd%42"}"#,
    )
    .unwrap();
    let output = world.command(&["scan"]).output().unwrap();
    assert_eq!(output.status.code(), Some(7));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut found: Vec<&str> = stdout.lines().filter(|l| l.starts_with("leak: ")).collect();
    found.sort();
    assert_eq!(
        found,
        [
            "leak: auth.json (json-escaped)",
            "leak: composer.log (url-encoded)"
        ],
        "{stdout}"
    );
    for form in secret_forms_of(public, private) {
        assert!(!stdout.contains(&form), "a key form in stdout: {stdout}");
    }
}

/// `--on-leak warn` (the action's default): each file is still named, the
/// status still reads leaked, and the exit is 0 with no error.
#[test]
fn on_leak_warn_names_each_file_and_exits_zero() {
    let mut world = World::new();
    fs::create_dir_all(world.project.join("var")).unwrap();
    fs::write(world.project.join("var/auth.json"), PRIVATE).unwrap();
    fs::write(world.project.join(".env"), format!("K={PUBLIC}")).unwrap();
    let out = scan(&world, &["--on-leak", "warn"]).ok();
    assert_eq!(
        leaks(&out),
        [
            (".env".to_string(), "raw".to_string()),
            ("var/auth.json".to_string(), "raw".to_string())
        ]
    );
    assert!(!out.stderr.contains("error:"), "{out:#?}");
    let out = scan(&world, &["--on-leak", "warn", "--json"]).ok();
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(json["status"], "leaked");
    // The same through the variable the CI templates set.
    world.set("MAGENTO_AUTH_ON_LEAK", "warn");
    scan(&world, &[]).ok();
    world.run(&["cleanup", "--scan"]).ok();
    world.set("MAGENTO_AUTH_ON_LEAK", "fail");
    world.run(&["cleanup", "--scan"]).code(7);
    // On GitHub: one warning annotation a file, no error, the summary says leaked.
    world.unset("MAGENTO_AUTH_ON_LEAK");
    let files = world.github_runner("9", "scan");
    let output = world
        .command(&["scan", "--on-leak", "warn"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let warnings = stdout
        .lines()
        .filter(|l| l.starts_with("::warning ") && l.contains(",file="))
        .count();
    assert_eq!(warnings, 2, "{stdout}");
    assert!(!stdout.contains("::error"), "{stdout}");
    let summary = fs::read_to_string(&files["GITHUB_STEP_SUMMARY"]).unwrap();
    assert!(summary.contains("`leaked`"), "{summary}");
}
