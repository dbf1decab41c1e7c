//! A real `composer install` from the tests' HTTPS repository, with the
//! credentials magento-auth set up, in each way a user would; and, after
//! cleanup, the same install refused.

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Output};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::common::*;
use crate::composer::{composer_bin, composer_command};
use crate::fake_repo::*;

pub const MODULE: &str = "magento/module-fake";

/// A shop: a project requiring MODULE from a fake repo.magento.com that wants
/// the canary keys and serves MODULE as a real tar archive.
pub struct Shop {
    pub world: World,
    pub repo: FakeRepo,
    pub bin: PathBuf,
    _ca: TestCa,
}

impl Shop {
    pub fn new(packages: &[&str]) -> Option<Self> {
        let bin = composer_bin()?;
        let mut world = World::new();
        let ca = TestCa::new("shop");
        let repo = FakeRepo::https(&ca);
        let ca_file = ca.write(&world.root, "ca.pem");
        world.set("SSL_CERT_FILE", &ca_file);
        world.set("COMPOSER_CACHE_DIR", world.root.join("composer-cache"));
        let url = repo.url();
        let versions: Vec<(&str, serde_json::Value)> = packages
            .iter()
            .map(|name| (*name, serve_archive(&world, &repo, name)))
            .collect();
        serve_composer1_versions(&repo, &versions);
        let manifest = serde_json::json!({
            "name": "test/shop",
            "repositories": [{ "type": "composer", "url": url }, { "packagist.org": false }],
            "require": { MODULE: "1.0.0" },
        });
        fs::write(world.project.join("composer.json"), manifest.to_string()).unwrap();
        Some(Shop {
            world,
            repo,
            bin,
            _ca: ca,
        })
    }

    pub fn composer(&self, args: &[&str]) -> Output {
        composer_command(&self.world, &self.bin, args)
            .output()
            .unwrap()
    }

    /// Forget everything a previous install left: vendor, lock, cache.
    pub fn fresh(&self) {
        for dir in ["vendor", "composer.lock"] {
            let path = self.world.project.join(dir);
            let _ = fs::remove_dir_all(&path).or_else(|_| fs::remove_file(&path));
        }
        let _ = fs::remove_dir_all(self.world.root.join("composer-cache"));
    }

    pub fn installed(&self) -> bool {
        self.world
            .project
            .join("vendor")
            .join(MODULE)
            .join("README.md")
            .is_file()
    }

    /// The usernames the repository received with archive downloads.
    pub fn archive_users(&self) -> Vec<String> {
        self.repo
            .requests()
            .into_iter()
            .filter(|r| r.path.starts_with("/archives/"))
            .map(|r| user_of(r.authorization.as_deref()))
            .collect()
    }

    pub fn url(&self) -> String {
        self.repo.url()
    }

    /// After cleanup, a fresh install is refused: the credentials are gone.
    pub fn assert_refused_after_cleanup(&self) {
        self.fresh();
        let out = self.composer(&["install"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && stderr.contains("401"),
            "the install went on without keys:\n{stderr}"
        );
        assert!(!self.installed());
        self.world.assert_no_secret_in_files();
    }
}

/// The username of a Basic Authorization header, or "" without one.
pub fn user_of(header: Option<&str>) -> String {
    let Some(encoded) = header.and_then(|h| h.strip_prefix("Basic ")) else {
        return String::new();
    };
    let decoded = String::from_utf8(BASE64.decode(encoded).unwrap()).unwrap();
    decoded
        .split_once(':')
        .map(|(u, _)| u.to_string())
        .unwrap_or_default()
}

/// Make a tar archive of a small package with `tar`, serve it, and return
/// the version metadata that points at it.
fn serve_archive(world: &World, repo: &FakeRepo, name: &str) -> serde_json::Value {
    let source = world.root.join("archive-source").join(name);
    fs::create_dir_all(&source).unwrap();
    fs::write(source.join("README.md"), format!("{name}\n")).unwrap();
    fs::write(
        source.join("composer.json"),
        serde_json::json!({ "name": name }).to_string(),
    )
    .unwrap();
    let tar = world.root.join("archive.tar");
    // Named members, no "." entry, which PHP's PharData cannot extract.
    let status = Command::new("tar")
        .arg("-cf")
        .arg(&tar)
        .arg("-C")
        .arg(&source)
        .args(["README.md", "composer.json"])
        .status()
        .unwrap();
    assert!(status.success());
    let bytes = fs::read(&tar).unwrap();
    fs::remove_file(&tar).unwrap();
    fs::remove_dir_all(world.root.join("archive-source")).unwrap();
    let path = format!("/archives/{name}/{}-1.0.0.tar", name.replace('/', "-"));
    repo.route(&path, vec![Answer::new(200, bytes)]);
    serde_json::json!({
        "name": name,
        "version": "1.0.0",
        "version_normalized": "1.0.0.0",
        "type": "library",
        // The Composer 1 layout numbers every version; Composer needs it.
        "uid": 1001,
        "dist": { "type": "tar", "url": format!("{}{path}", repo.url()), "reference": null, "shasum": "" }
    })
}

fn install_with_keys(shop: &Shop, command: Command) {
    let out = Outcome::of(command);
    assert_eq!(out.code, 0, "{out:#?}");
    assert!(shop.installed(), "{out:#?}");
    assert_eq!(
        shop.archive_users(),
        [PUBLIC],
        "the archive was fetched with the keys"
    );
}

fn composer_install_after(shop: &Shop) {
    let out = shop.composer(&["install"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(shop.installed());
    assert_eq!(
        shop.archive_users(),
        [PUBLIC],
        "the archive was fetched with the keys"
    );
}

#[test]
fn home_mode() {
    let Some(shop) = Shop::new(&[MODULE]) else {
        return;
    };
    shop.repo.require_keys(PUBLIC, PRIVATE);
    shop.world.run(&["setup", "--repo-url", &shop.url()]).ok();
    composer_install_after(&shop);
    shop.world.run(&["cleanup"]).ok();
    assert!(!shop.world.home_auth().exists());
    shop.assert_refused_after_cleanup();
}

#[test]
fn project_mode() {
    let Some(shop) = Shop::new(&[MODULE]) else {
        return;
    };
    shop.repo.require_keys(PUBLIC, PRIVATE);
    shop.world
        .run(&["setup", "--mode", "project", "--repo-url", &shop.url()])
        .ok();
    assert!(shop.world.project.join("auth.json").is_file());
    composer_install_after(&shop);
    shop.world.run(&["cleanup"]).ok();
    assert!(!shop.world.project.join("auth.json").exists());
    shop.assert_refused_after_cleanup();
}

#[test]
fn exec_with_nothing_on_disk() {
    let Some(shop) = Shop::new(&[MODULE]) else {
        return;
    };
    shop.repo.require_keys(PUBLIC, PRIVATE);
    let composer = shop.bin.to_str().unwrap().to_string();
    let url = shop.url();
    install_with_keys(
        &shop,
        shop.world.command(&[
            "exec",
            "--repo-url",
            &url,
            "--",
            &composer,
            "install",
            "--no-interaction",
        ]),
    );
    assert!(!shop.world.home_auth().exists() && !shop.world.project.join("auth.json").exists());
    assert!(!shop.world.state_file().exists());
    shop.assert_refused_after_cleanup();
}

#[test]
fn env_mode_through_eval() {
    let Some(shop) = Shop::new(&[MODULE]) else {
        return;
    };
    shop.repo.require_keys(PUBLIC, PRIVATE);
    let script = format!(
        "eval \"$({BIN} setup --mode env --repo-url {})\" && {} install --no-interaction",
        shop.url(),
        shop.bin.display()
    );
    let mut cmd = Command::new("sh");
    cmd.args(["-c", &script])
        .env_clear()
        .current_dir(&shop.world.project);
    for (name, value) in &shop.world.vars {
        cmd.env(name, value);
    }
    install_with_keys(&shop, cmd);
    // The variable lived in that shell only.
    shop.assert_refused_after_cleanup();
}

fn write_auth(path: &std::path::Path, user: &str, host: &str) {
    let doc = serde_json::json!({ "http-basic": { host: { "username": user, "password": "pw" } } });
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, doc.to_string()).unwrap();
}

/// The doctor's winner, as the username its source holds.
fn doctor_winner(shop: &Shop) -> String {
    let out = shop.world.run(&["doctor", "--repo-url", &shop.url()]).ok();
    let line = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("Composer uses: "))
        .unwrap_or_else(|| panic!("{}", out.stdout))
        .to_string();
    // Project files are named relative to --working-dir (here the default, ".").
    if line.starts_with("COMPOSER_AUTH") {
        "from-env".into()
    } else if line == "./auth.json" {
        "from-project-auth".into()
    } else if line.starts_with("./composer.json") {
        "from-composer-json".into()
    } else if line == shop.world.home_auth().display().to_string() {
        "from-home".into()
    } else {
        panic!("unexpected winner {line}")
    }
}

#[test]
fn the_source_doctor_names_is_the_one_composer_uses() {
    type Arrange = fn(&Shop, &str);
    let home: Arrange = |s, host| write_auth(&s.world.home_auth(), "from-home", host);
    let project: Arrange = |s, host| {
        write_auth(
            &s.world.project.join("auth.json"),
            "from-project-auth",
            host,
        )
    };
    let manifest: Arrange = |s, host| {
        let path = s.world.project.join("composer.json");
        let mut doc: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        doc["config"] = serde_json::json!({ "http-basic": { host: { "username": "from-composer-json", "password": "pw" } } });
        fs::write(&path, doc.to_string()).unwrap();
    };
    let cases: [(&str, &[Arrange], bool); 6] = [
        ("home auth.json alone", &[home], false),
        ("project auth.json over home", &[home, project], false),
        ("composer.json config over home", &[home, manifest], false),
        (
            "project auth.json over composer.json config",
            &[manifest, project],
            false,
        ),
        ("COMPOSER_AUTH over the home file", &[home], true),
        // Which of these wins depends on the Composer version: the doctor
        // asks the Composer on PATH, and must agree with it.
        ("COMPOSER_AUTH and both files", &[home, project], true),
    ];
    for (name, arrange, with_env) in cases {
        let Some(mut shop) = Shop::new(&[MODULE]) else {
            return;
        };
        let host = shop.repo.auth_host();
        for step in arrange {
            step(&shop, &host);
        }
        if with_env {
            let value = serde_json::json!({ "http-basic": { &host: { "username": "from-env", "password": "pw" } } });
            shop.world.set("COMPOSER_AUTH", value.to_string());
        }
        let winner = doctor_winner(&shop);
        composer_install_as(&shop, &winner, name);
    }
}

fn composer_install_as(shop: &Shop, user: &str, case: &str) {
    let out = shop.composer(&["install"]);
    assert!(
        out.status.success(),
        "{case}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let users: Vec<String> = shop
        .repo
        .requests()
        .iter()
        .map(|r| user_of(r.authorization.as_deref()))
        .collect();
    assert!(
        !users.is_empty() && users.iter().all(|u| u == user),
        "{case}: doctor said {user}, Composer sent {users:?}"
    );
}

const EE: &str = "magento/product-enterprise-edition";

#[test]
fn keys_without_commerce_are_not_entitled_for_us_and_for_composer() {
    for entitled in [false, true] {
        let packages: &[&str] = if entitled { &[MODULE, EE] } else { &[MODULE] };
        let Some(shop) = Shop::new(packages) else {
            return;
        };
        shop.repo.require_keys(PUBLIC, PRIVATE);
        let url = shop.url();
        let check = shop
            .world
            .run(&["check", "--repo-url", &url, "--require-package", EE]);
        shop.world
            .run(&["setup", "--no-check", "--repo-url", &url])
            .ok();
        let require = shop.composer(&["require", &format!("{EE}:1.0.0")]);
        shop.world.run(&["cleanup"]).ok();
        let stderr = String::from_utf8_lossy(&require.stderr);
        if entitled {
            assert_eq!(check.code, 0, "{check:#?}");
            assert!(require.status.success(), "{stderr}");
        } else {
            assert_eq!(check.code, 5, "{check:#?}");
            assert!(
                check.stderr.contains(&format!("cannot see {EE}")),
                "{check:#?}"
            );
            assert!(!require.status.success(), "{stderr}");
            assert!(stderr.contains("could not be found"), "{stderr}");
        }
    }
}
