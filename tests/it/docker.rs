//! docs/docker.md's BuildKit recipe (issue 16, item 4), taken from the page
//! as written: the Dockerfile mounts the secret as COMPOSER_AUTH, and the
//! command gives `docker` the keys in its environment, never in its argv. No
//! Docker engine runs here, so a stand-in `docker` on PATH is the peer: it
//! records what it was given.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::common::*;
use crate::fake_repo::*;

const DOC: &str = include_str!("../../docs/docker.md");

/// The fenced blocks of the page whose info string is `lang`.
fn blocks(lang: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut current: Option<String> = None;
    for line in DOC.lines() {
        match (&mut current, line.strip_prefix("```")) {
            (None, Some(info)) if info.trim() == lang => current = Some(String::new()),
            (Some(_), Some("")) => found.extend(current.take()),
            (Some(text), _) => {
                text.push_str(line);
                text.push('\n');
            }
            _ => {}
        }
    }
    found
}

/// The page's build command: the `magento-auth exec` of its first sh block.
fn build_command() -> String {
    let block = blocks("sh").into_iter().next().expect("an sh block");
    let line = block.lines().next().unwrap().to_string();
    assert!(line.starts_with("magento-auth exec "), "{line}");
    line
}

/// The Dockerfile's instructions, continuation lines joined.
fn instructions() -> Vec<String> {
    let dockerfile = blocks("dockerfile")
        .into_iter()
        .next()
        .expect("a dockerfile block");
    dockerfile
        .replace("\\\n", " ")
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn the_documented_dockerfile_mounts_the_secret_for_composer_only() {
    let lines = instructions();
    // `env=` on a secret mount needs Dockerfile syntax 1.10.
    assert_eq!(lines[0], "# syntax=docker/dockerfile:1.10");
    let mount = "--mount=type=secret,id=composer_auth,env=COMPOSER_AUTH";
    let runs: Vec<&String> = lines.iter().filter(|l| l.contains(mount)).collect();
    assert_eq!(runs.len(), 1, "{lines:#?}");
    assert!(runs[0].starts_with("RUN ") && runs[0].contains(" composer install"));
    // The id the build command sends is the one the Dockerfile mounts.
    assert!(build_command().contains("--secret id=composer_auth,env=COMPOSER_AUTH"));
    for line in &lines {
        let upper = line.to_uppercase();
        assert!(
            !(upper.starts_with("ARG ") || upper.starts_with("ENV "))
                || !line.contains("COMPOSER_AUTH"),
            "COMPOSER_AUTH would stay in the image: {line}"
        );
        assert!(
            !line.contains("auth.json"),
            "an auth.json in the image: {line}"
        );
    }
    // The page's last block runs the same build after the scan.
    let last = blocks("sh").pop().unwrap();
    assert_eq!(
        last.trim(),
        format!("magento-auth scan . && {}", build_command())
    );
}

#[test]
fn the_documented_build_gives_docker_the_keys_in_its_environment_only() {
    let mut world = World::new();
    // The check of exec, against a fake repository wanting the canary keys.
    let ca = TestCa::new("docker");
    let repo = FakeRepo::https(&ca);
    repo.require_keys(PUBLIC, PRIVATE);
    serve_composer1(&repo, &["magento/product-community-edition"]);
    let ca_file = ca.write(&world.root, "ca.pem");
    world.set("SSL_CERT_FILE", &ca_file);
    world.set("MAGENTO_AUTH_REPO_URL", repo.url());
    // The stand-in docker: its argv, COMPOSER_AUTH, and whether the keys'
    // own variables reached it, one file each.
    let bin = world.root.join("bin");
    let record = world.root.join("record");
    fs::create_dir_all(&bin).unwrap();
    fs::create_dir_all(&record).unwrap();
    let docker = bin.join("docker");
    fs::write(
        &docker,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{r}/argv'\nprintf '%s' \"$COMPOSER_AUTH\" > '{r}/composer_auth'\n\
             env | grep -c '^MAGENTO_P' > '{r}/key_vars'\ncat /proc/$$/cmdline > '{r}/cmdline'\n",
            r = record.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&docker, fs::Permissions::from_mode(0o755)).unwrap();
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths = vec![bin.clone()];
    paths.extend(std::env::split_paths(&path));
    world.set("PATH", std::env::join_paths(paths).unwrap());
    let dockerfile = blocks("dockerfile").remove(0);
    fs::write(world.project.join("Dockerfile"), dockerfile).unwrap();

    let command = build_command();
    let args: Vec<&str> = command.split_whitespace().skip(1).collect();
    let out = world.run(&args).ok();
    assert_no_secret(&out.stdout, "stdout");
    assert_no_secret(&out.stderr, "stderr");
    assert!(
        repo.paths().contains(&"/packages.json".to_string()),
        "exec checked the keys"
    );

    let argv = fs::read_to_string(record.join("argv")).unwrap();
    assert_eq!(
        argv.lines().collect::<Vec<_>>(),
        [
            "build",
            "--secret",
            "id=composer_auth,env=COMPOSER_AUTH",
            "."
        ]
    );
    let cmdline = fs::read(record.join("cmdline")).unwrap();
    assert_no_secret(&argv, "docker's argv");
    assert_no_secret(&String::from_utf8_lossy(&cmdline), "docker's /proc cmdline");
    let auth: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(record.join("composer_auth")).unwrap()).unwrap();
    assert_eq!(
        auth["http-basic"][repo.auth_host()],
        serde_json::json!({"username": PUBLIC, "password": PRIVATE}),
        "{}",
        auth["http-basic"].as_object().map(|o| o.len()).unwrap_or(0)
    );
    assert_eq!(
        fs::read_to_string(record.join("key_vars")).unwrap().trim(),
        "0"
    );
    // What the stand-in recorded holds the keys: gone with the test's world,
    // and nothing else of the world does.
    fs::remove_dir_all(&record).unwrap();
    world.assert_no_secret_in_files();
}
