//! A CA that is only in a certificate directory, as `openssl rehash`
//! (c_rehash) leaves it, is trusted as curl and Composer trust it: one named
//! by SSL_CERT_DIR, and the system's own (issue 13, item 11).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;
use crate::composer_install::{MODULE, Shop};
use crate::fake_repo::*;

/// `dir` holding only the CA, under its name and the hash-named link that
/// `openssl rehash` makes; `None` without openssl (skipped, or failed in CI).
fn rehashed(root: &Path, ca_pem: &str) -> Option<PathBuf> {
    let dir = root.join("certs");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("test-ca.pem"), ca_pem).unwrap();
    match Command::new("openssl").arg("rehash").arg(&dir).status() {
        Ok(status) => assert!(status.success()),
        Err(_) if std::env::var_os("CI").is_none() => {
            eprintln!("skipped: no openssl to make the hash links");
            return None;
        }
        Err(err) => panic!("openssl: {err}"),
    }
    let links = fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".0")
        })
        .count();
    assert_eq!(links, 1, "openssl rehash made no hash link");
    Some(dir)
}

/// Whether curl completes a TLS handshake with `url` in `world`'s
/// environment (its SSL_CERT_FILE / SSL_CERT_DIR); `None` without curl.
fn curl_trusts(world: &World, url: &str) -> Option<bool> {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "-o", "/dev/null", "--max-time", "10"])
        .arg(format!("{url}/packages.json"))
        .env_clear();
    for (name, value) in &world.vars {
        if !name.starts_with("MAGENTO_") {
            cmd.env(name, value);
        }
    }
    // Any HTTP answer (401 here) means the certificate was trusted.
    cmd.status().ok().map(|s| s.success())
}

#[test]
fn a_ca_only_in_ssl_cert_dir_is_trusted_beside_another_bundle() {
    let mut world = World::new();
    let ca = TestCa::new("in-dir");
    let repo = FakeRepo::https(&ca);
    repo.require_keys(PUBLIC, PRIVATE);
    serve_composer1(&repo, &["magento/product-community-edition"]);
    let Some(dir) = rehashed(&world.root, &ca.cert_pem) else {
        return;
    };
    let url = repo.url();
    // SSL_CERT_FILE is a bundle without the CA.
    let other = TestCa::new("other").write(&world.root, "bundle.pem");
    world.set("SSL_CERT_FILE", &other);
    world
        .run(&["check", "--repo-url", &url])
        .code(6)
        .stderr_has("TLS error");
    world.set("SSL_CERT_DIR", &dir);
    world.run(&["check", "--repo-url", &url]).ok();
    if let Some(trusted) = curl_trusts(&world, &url) {
        assert!(
            trusted,
            "curl does not trust the directory: the test is wrong"
        );
    }
    // The hash link alone, its file elsewhere, as update-ca-certificates
    // leaves /etc/ssl/certs.
    let target = world.root.join("test-ca.pem");
    fs::rename(dir.join("test-ca.pem"), &target).unwrap();
    for entry in fs::read_dir(&dir).unwrap() {
        let link = entry.unwrap().path();
        fs::remove_file(&link).unwrap();
        std::os::unix::fs::symlink(&target, &link).unwrap();
    }
    world.run(&["check", "--repo-url", &url]).ok();
    // SSL_CERT_FILE set to a file that is not there is passed over.
    world.set("SSL_CERT_FILE", world.root.join("missing.pem"));
    world.run(&["check", "--repo-url", &url]).ok();
}

#[test]
fn composer_and_magento_auth_trust_the_same_ssl_cert_dir() {
    let Some(mut shop) = Shop::new(&[MODULE]) else {
        return;
    };
    shop.repo.require_keys(PUBLIC, PRIVATE);
    // Shop trusts its CA through SSL_CERT_FILE: move it to a directory.
    let ca_file = shop.world.root.join("ca.pem");
    let pem = fs::read_to_string(&ca_file).unwrap();
    fs::remove_file(&ca_file).unwrap();
    shop.world.unset("SSL_CERT_FILE");
    let Some(dir) = rehashed(&shop.world.root, &pem) else {
        return;
    };
    shop.world.set("SSL_CERT_DIR", &dir);
    let url = shop.url();
    shop.world.run(&["setup", "--repo-url", &url]).ok();
    let out = shop.composer(&["install"]);
    shop.world.run(&["cleanup"]).ok();
    assert!(
        out.status.success() && shop.installed(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// With no SSL_CERT_* variable, a CA put in the system's certificate
/// directory (/etc/ssl/certs) but not in its bundle file is trusted, as curl
/// (and so Composer) trusts it: the directory is read when the bundle does
/// not know the server's CA. The directory is replaced in a mount namespace
/// of the test's own; where none can be made (not root), skipped, except in CI.
#[test]
fn a_ca_only_in_the_system_certificate_directory_is_trusted_as_curl_trusts_it() {
    let world = World::new();
    let ca = TestCa::new("system-dir");
    let repo = FakeRepo::https(&ca);
    repo.require_keys(PUBLIC, PRIVATE);
    serve_composer1(&repo, &["magento/product-community-edition"]);
    let Some(dir) = rehashed(&world.root, &ca.cert_pem) else {
        return;
    };
    // The system's bundle as it is, without the test's CA, beside it.
    fs::copy(
        "/etc/ssl/certs/ca-certificates.crt",
        dir.join("ca-certificates.crt"),
    )
    .expect("Debian's CA bundle");
    let script = format!(
        "mount --bind '{dir}' /etc/ssl/certs || exit 99
         '{bin}' check --repo-url '{url}' --retries 0; echo \"check=$?\"
         curl -sS -o /dev/null --max-time 10 '{url}/packages.json'; echo \"curl=$?\"",
        dir = dir.display(),
        bin = BIN,
        url = repo.url(),
    );
    let Some(out) = in_mount_namespace(&world, &script) else {
        return;
    };
    assert!(out.stdout.contains("curl=0"), "the test is wrong: {out:#?}");
    assert!(out.stdout.contains("check=0"), "{out:#?}");
}
