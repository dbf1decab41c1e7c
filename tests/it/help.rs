//! The interface, snapshotted: a change to an option or a usage error shows
//! up in review as a change to these files. `UPDATE_SNAPSHOTS=1 cargo test`
//! rewrites them.

use std::fs;
use std::path::PathBuf;

use crate::common::*;

fn snapshot(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        fs::write(&path, actual).unwrap();
        return;
    }
    let expected = fs::read_to_string(&path).unwrap_or_default();
    assert!(
        expected == actual,
        "{name} changed; run UPDATE_SNAPSHOTS=1 cargo test and review the diff\n--- expected\n{expected}\n--- actual\n{actual}"
    );
}

#[test]
fn help_texts() {
    let world = World::bare();
    for command in ["", "setup", "check", "cleanup", "exec", "doctor", "scan"] {
        let args: Vec<&str> = [command, "--help"]
            .into_iter()
            .filter(|a| !a.is_empty())
            .collect();
        let mut cmd = world.command(&args);
        cmd.env("COLUMNS", "100");
        let out = Outcome::of(cmd).ok();
        let name = if command.is_empty() {
            "help.txt".to_string()
        } else {
            format!("help-{command}.txt")
        };
        snapshot(&name, &out.stdout);
    }
}

#[test]
fn usage_errors() {
    let world = World::bare();
    let mut all = String::new();
    for args in [
        vec!["setup", "--mode", "disk"],
        vec!["setup", "--private-key", "x"],
        vec!["exec", "--no-check"],
        vec!["setup", "--no-check", "--warn-only"],
        vec!["frobnicate"],
    ] {
        let out = world.run(&args).code(2);
        all.push_str(&format!(
            "$ magento-auth {}\n{}\n",
            args.join(" "),
            out.stderr
        ));
    }
    snapshot("usage-errors.txt", &all);
}
