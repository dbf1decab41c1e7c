//! A source Composer reads after the one magento-auth wrote holds other
//! credentials for the host: setup, exec and check say which source wins
//! (by the Composer on PATH, or for each side of 2.7.8 without one), and
//! never print those credentials (issue 13, item 5).

use std::fs;
use std::path::PathBuf;

use crate::common::*;
use crate::composer_install::{MODULE, Shop, user_of};
use crate::fake_repo::*;

/// Someone else's credentials: in no output, ever.
const OTHER_USER: &str = "0th3ru53r9876543210fedcbaFEDCBA9";
const OTHER_PASS: &str = "0th3rpa55wd0123456789abcdefABCDE";

const HOST: &str = "repo.magento.com";

fn other_auth(host: &str, user: &str) -> serde_json::Value {
    serde_json::json!({ "http-basic": { host: { "username": user, "password": OTHER_PASS } } })
}

/// A world whose PATH holds `true` and, when `composer` is given, a
/// stand-in `composer` that prints that version line; the project has a
/// composer.json, so Composer reads the project's auth.json.
fn world_with(composer: Option<&str>) -> World {
    let mut world = World::new();
    let bin = world.root.join("bin");
    fs::create_dir_all(&bin).unwrap();
    let truth = which("true");
    std::os::unix::fs::symlink(truth, bin.join("true")).unwrap();
    if let Some(version) = composer {
        let script = format!("#!/bin/sh\necho 'Composer version {version} 2024-08-22 10:20:55'\n");
        write_mode(&bin.join("composer"), script.as_bytes(), 0o755);
    }
    world.set("PATH", &bin);
    fs::write(world.project.join("composer.json"), r#"{"name":"t/t"}"#).unwrap();
    world
}

fn which(name: &str) -> PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap()
}

fn project_auth(world: &World, user: &str) {
    let path = world.project.join("auth.json");
    fs::write(path, other_auth(HOST, user).to_string()).unwrap();
}

/// The warning lines, after proving no byte of the other credentials is shown.
fn warnings(out: &Outcome) -> Vec<String> {
    for text in [&out.stdout, &out.stderr] {
        assert!(
            !text.contains(OTHER_USER) && !text.contains(OTHER_PASS) && !text.contains("0th3r"),
            "other credentials shown:\n{out:#?}"
        );
    }
    out.stderr
        .lines()
        .filter(|l| l.contains("holds other credentials"))
        .map(str::to_string)
        .collect()
}

fn one_warning(out: &Outcome, source: &str, versions: &str) {
    let found = warnings(out);
    assert_eq!(found.len(), 1, "{out:#?}");
    assert!(
        found[0].contains(&format!("{versions}: {source} holds other credentials")),
        "expected {source} ({versions}):\n{out:#?}"
    );
}

#[test]
fn setup_home_names_a_project_auth_json_with_any_composer() {
    for composer in [Some("2.7.7"), Some("2.7.8"), None] {
        let world = world_with(composer);
        project_auth(&world, OTHER_USER);
        let out = world.run(&["setup", "--no-check"]).ok();
        one_warning(&out, "./auth.json", HOST);
    }
}

#[test]
fn composer_auth_wins_over_a_project_file_from_2_7_8() {
    let cases = [
        (Some("2.7.8"), Some(" (Composer 2.7.8 on PATH)")),
        (Some("2.10.2"), Some(" (Composer 2.10.2 on PATH)")),
        (Some("2.7.7"), None),
        (None, Some(" with Composer 2.7.8 and later")),
    ];
    for (composer, expected) in cases {
        let mut world = world_with(composer);
        world.set("COMPOSER_AUTH", other_auth(HOST, OTHER_USER).to_string());
        let out = world
            .run(&["setup", "--no-check", "--mode", "project"])
            .ok();
        match expected {
            Some(versions) => {
                one_warning(&out, "COMPOSER_AUTH", &format!("{HOST}{versions}"));
            }
            None => assert!(warnings(&out).is_empty(), "{composer:?}: {out:#?}"),
        }
    }
}

#[test]
fn a_project_auth_json_wins_over_exec_composer_auth_before_2_7_8() {
    let cases = [
        (Some("2.7.7"), Some(" (Composer 2.7.7 on PATH)")),
        (Some("2.5.5"), Some(" (Composer 2.5.5 on PATH)")),
        (Some("2.7.8"), None),
        (None, Some(" with Composer before 2.7.8")),
    ];
    for (composer, expected) in cases {
        let world = world_with(composer);
        project_auth(&world, OTHER_USER);
        let out = world.run(&["exec", "--no-check", "--", "true"]).ok();
        match expected {
            Some(versions) => one_warning(&out, "./auth.json", &format!("{HOST}{versions}")),
            None => assert!(warnings(&out).is_empty(), "{composer:?}: {out:#?}"),
        }
    }
}

#[test]
fn composer_json_config_wins_over_the_home_file() {
    let world = world_with(Some("2.7.8"));
    let manifest = serde_json::json!({ "name": "t/t", "config": other_auth(HOST, OTHER_USER) });
    fs::write(world.project.join("composer.json"), manifest.to_string()).unwrap();
    let out = world.run(&["setup", "--no-check"]).ok();
    one_warning(&out, "./composer.json (\"config\" section)", HOST);
    // exec --mode home: the same.
    let out = world
        .run(&["exec", "--no-check", "--mode", "home", "--", "true"])
        .ok();
    one_warning(&out, "./composer.json (\"config\" section)", HOST);
}

#[test]
fn the_same_credentials_are_no_shadow() {
    for composer in [Some("2.7.7"), Some("2.7.8"), None] {
        let mut world = world_with(composer);
        // The keys themselves, fields in another order and one more field.
        let same = format!(
            r#"{{"http-basic":{{"{HOST}":{{"password":"{PRIVATE}","x":1,"username":"{PUBLIC}"}}}}}}"#
        );
        fs::write(world.project.join("auth.json"), &same).unwrap();
        world.set("COMPOSER_AUTH", &same);
        for args in [
            &["setup", "--no-check"][..],
            &["setup", "--no-check", "--mode", "project"],
            &["exec", "--no-check", "--", "true"],
        ] {
            let out = world.run(args).ok();
            assert!(warnings(&out).is_empty(), "{args:?}: {out:#?}");
        }
    }
}

#[test]
fn check_json_names_the_source_that_wins() {
    let world = world_with(Some("2.7.8"));
    let repo = FakeRepo::http();
    repo.require_keys(PUBLIC, PRIVATE);
    serve_composer2(&repo, &[MODULE], false);
    let host = repo.auth_host();
    let path = world.project.join("auth.json");
    fs::write(&path, other_auth(&host, OTHER_USER).to_string()).unwrap();
    let out = world
        .run(&["check", "--json", "--repo-url", &repo.url()])
        .ok();
    warnings(&out);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(json["status"], "ok");
    assert_eq!(
        json["shadowed_by"],
        serde_json::json!([{ "source": "project-auth", "path": path, "composer": "any" }]),
        "{out:#?}"
    );
    assert!(
        out.stderr
            .contains("Composer will not use the keys checked")
    );
    // Without the file, nothing wins over the keys.
    fs::remove_file(&path).unwrap();
    let out = world
        .run(&["check", "--json", "--repo-url", &repo.url()])
        .ok();
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(json["shadowed_by"], serde_json::json!([]), "{out:#?}");
}

/// The usernames the repository received.
fn users(shop: &Shop) -> Vec<String> {
    shop.repo
        .requests()
        .iter()
        .map(|r| user_of(r.authorization.as_deref()))
        .collect()
}

/// The real Composer as the oracle: the source our warning names is the
/// one whose username the repository receives; with no warning, the keys.
#[test]
fn the_source_named_is_the_one_real_composer_uses() {
    type Arrange = fn(&mut Shop, &str);
    let project: Arrange = |shop, host| {
        let path = shop.world.project.join("auth.json");
        fs::write(path, other_auth(host, "from-project-auth").to_string()).unwrap();
    };
    let env: Arrange = |shop, host| {
        let value = other_auth(host, "from-env").to_string();
        shop.world.set("COMPOSER_AUTH", value);
    };
    // (case, arrange, our arguments before `--`)
    let cases: [(&str, Arrange, &[&str]); 3] = [
        (
            "exec's COMPOSER_AUTH and a project auth.json",
            project,
            &["exec"],
        ),
        (
            "home file and COMPOSER_AUTH",
            env,
            &["exec", "--mode", "home"],
        ),
        (
            "project file and COMPOSER_AUTH",
            env,
            &["exec", "--mode", "project"],
        ),
    ];
    for (case, arrange, ours) in cases {
        let Some(mut shop) = Shop::new(&[MODULE]) else {
            return;
        };
        let host = shop.repo.auth_host();
        arrange(&mut shop, &host);
        let url = shop.url();
        let composer = shop.bin.to_str().unwrap().to_string();
        let mut args = ours.to_vec();
        args.extend(["--no-check", "--repo-url", &url, "--", &composer, "install"]);
        args.push("--no-interaction");
        let out = shop.world.run(&args).ok();
        let named = warnings(&out);
        let expected = match named.as_slice() {
            [] => PUBLIC.to_string(),
            [line] if line.contains(": COMPOSER_AUTH holds") => "from-env".into(),
            [line] if line.contains(": ./auth.json holds") => "from-project-auth".into(),
            _ => panic!("{case}: {out:#?}"),
        };
        let sent = users(&shop);
        assert!(
            !sent.is_empty() && sent.iter().all(|u| *u == expected),
            "{case}: we said {named:?}, Composer sent {sent:?}"
        );
        // Proof with Debian's Composer 2.5.5 that the warning is not silent.
        if out.stderr.contains("Composer 2.5.5 on PATH") || case.starts_with("home") {
            assert_ne!(expected, PUBLIC, "{case}: {out:#?}");
        }
    }
}
