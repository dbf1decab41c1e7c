//! The check against a fake repo.magento.com that follows the real protocol.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::Value;

use crate::common::*;
use crate::fake_repo::*;
use crate::proxy::{Recorder, Tinyproxy, free_port};

const CE: &str = "magento/product-community-edition";
const EE: &str = "magento/product-enterprise-edition";

/// A world whose trust store (SSL_CERT_FILE) holds the CA of an HTTPS fake
/// that wants the canary keys.
struct Scene {
    world: World,
    ca: TestCa,
    repo: FakeRepo,
}

impl Scene {
    fn new() -> Self {
        let mut world = World::new();
        let ca = TestCa::new("trusted");
        let repo = FakeRepo::https(&ca);
        repo.require_keys(PUBLIC, PRIVATE);
        let ca_file = ca.write(&world.root, "ca.pem");
        world.set("SSL_CERT_FILE", &ca_file);
        Scene { world, ca, repo }
    }

    fn check(&self, extra: &[&str]) -> Outcome {
        let url = self.repo.url();
        let mut args = vec!["check", "--repo-url", url.as_str()];
        args.extend_from_slice(extra);
        self.world.run(&args)
    }

    /// `check --json`: the outcome and the one JSON object on stdout.
    fn check_json(&self, extra: &[&str]) -> (Outcome, Value) {
        let mut args = vec!["--json"];
        args.extend_from_slice(extra);
        let outcome = self.check(&args);
        let value = json_object(&outcome);
        (outcome, value)
    }
}

fn json_object(outcome: &Outcome) -> Value {
    let mut stream = serde_json::Deserializer::from_str(&outcome.stdout).into_iter::<Value>();
    let value = stream
        .next()
        .unwrap_or_else(|| panic!("no JSON on stdout:\n{outcome:#?}"))
        .unwrap();
    assert!(
        stream.next().is_none(),
        "more than one JSON value:\n{outcome:#?}"
    );
    assert!(value.is_object());
    for key in [
        "status",
        "repository",
        "http_status",
        "attempts",
        "duration_ms",
        "packages",
        "message",
        "hint",
    ] {
        assert!(value.get(key).is_some(), "JSON lacks {key}: {value}");
    }
    value
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", BASE64.encode(format!("{user}:{password}")))
}

#[test]
fn ok_takes_exactly_one_request_with_the_keys() {
    let scene = Scene::new();
    serve_composer1(&scene.repo, &[CE]);
    let (outcome, json) = scene.check_json(&[]);
    let outcome = outcome.ok();
    assert_eq!(json["status"], "ok");
    assert_eq!(json["http_status"], 200);
    assert_eq!(json["attempts"], 1);
    assert_eq!(json["repository"], scene.repo.url());
    assert_eq!(json["packages"], serde_json::json!([]));
    assert!(json["hint"].is_null());
    let requests = scene.repo.requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    assert_eq!(requests[0].method, "GET");
    assert_eq!(requests[0].path, "/packages.json");
    assert_eq!(
        requests[0].authorization.as_deref(),
        Some(basic(PUBLIC, PRIVATE).as_str())
    );
    assert!(!outcome.stdout.contains("error"));
}

#[test]
fn human_output_goes_to_stderr() {
    let scene = Scene::new();
    serve_composer1(&scene.repo, &[CE]);
    let outcome = scene.check(&[]).ok().stderr_has("check: ok");
    assert!(outcome.stdout.is_empty(), "{outcome:#?}");
}

#[test]
fn wrong_keys_are_invalid_keys_quoting_the_repository() {
    let mut scene = Scene::new();
    serve_composer1(&scene.repo, &[CE]);
    scene
        .world
        .set("MAGENTO_PRIVATE_KEY", "00000000000000000000000000000000");
    let (outcome, json) = scene.check_json(&[]);
    outcome
        .code(4)
        .stderr_has(WARNING_INVALID)
        .stderr_has("hint: the public key is the username and the private key the password")
        .stderr_has("Access Keys");
    assert_eq!(json["status"], "invalid-keys");
    assert_eq!(json["http_status"], 401);
    assert!(json["message"].as_str().unwrap().contains(WARNING_INVALID));
    assert_eq!(scene.repo.requests().len(), 1, "no retry on 401");
}

#[test]
fn forbidden_is_403() {
    let scene = Scene::new();
    scene
        .repo
        .route("/packages.json", vec![Answer::new(403, "Forbidden")]);
    let (outcome, json) = scene.check_json(&[]);
    outcome.code(5).stderr_has("outstanding invoice");
    assert_eq!(json["status"], "forbidden");
    assert_eq!(json["http_status"], 403);
    assert_eq!(scene.repo.requests().len(), 1, "no retry on 403");
}

#[test]
fn not_found_is_unreachable() {
    let scene = Scene::new();
    let (outcome, json) = scene.check_json(&[]);
    outcome
        .code(6)
        .stderr_has("HTTP 404")
        .stderr_has("--repo-url");
    assert_eq!(json["status"], "unreachable");
    assert_eq!(json["http_status"], 404);
}

#[test]
fn a_page_that_is_not_a_repository_is_unreachable() {
    let scene = Scene::new();
    scene.repo.route(
        "/packages.json",
        vec![Answer::new(200, "<html>Sign in to the Wi-Fi</html>")],
    );
    let (outcome, json) = scene.check_json(&[]);
    outcome.code(6).stderr_has("not a Composer repository");
    assert_eq!(json["status"], "unreachable");
}

#[test]
fn server_errors_are_retried_then_pass() {
    let scene = Scene::new();
    scene.repo.route(
        "/packages.json",
        vec![
            Answer::new(500, "oops"),
            Answer::new(503, "busy"),
            Answer::new(
                200,
                r#"{"packages":[],"metadata-url":"/p2/%package%.json"}"#,
            ),
        ],
    );
    let (outcome, json) = scene.check_json(&[]);
    outcome.ok();
    assert_eq!(json["status"], "ok");
    assert_eq!(json["attempts"], 3);
    assert_eq!(scene.repo.requests().len(), 3);
}

#[test]
fn retries_run_out_and_say_so() {
    let scene = Scene::new();
    scene
        .repo
        .route("/packages.json", vec![Answer::new(503, "busy")]);
    let (outcome, json) = scene.check_json(&["--retries", "1"]);
    outcome.code(6).stderr_has("HTTP 503 after 2 attempt(s)");
    assert_eq!(json["status"], "unreachable");
    assert_eq!(json["attempts"], 2);
    assert_eq!(scene.repo.requests().len(), 2);
}

#[test]
fn too_many_requests_honours_retry_after() {
    let scene = Scene::new();
    scene.repo.route(
        "/packages.json",
        vec![
            Answer::new(429, "slow down").header("Retry-After", "1"),
            Answer::new(
                200,
                r#"{"packages":[],"metadata-url":"/p2/%package%.json"}"#,
            ),
        ],
    );
    let (outcome, json) = scene.check_json(&[]);
    outcome.ok();
    assert_eq!(json["attempts"], 2);
    assert!(
        json["duration_ms"].as_u64().unwrap() >= 1000,
        "waited for Retry-After: {json}"
    );
}

#[test]
fn retry_after_beyond_the_timeout_is_not_waited_for() {
    let scene = Scene::new();
    scene.repo.route(
        "/packages.json",
        vec![Answer::new(429, "slow down").header("Retry-After", "3600")],
    );
    let (outcome, json) = scene.check_json(&["--timeout", "5"]);
    outcome
        .code(6)
        .stderr_has("HTTP 429")
        .stderr_has("asked to retry after 3600 s");
    assert_eq!(json["attempts"], 1);
    assert_eq!(scene.repo.requests().len(), 1);
}

#[test]
fn a_slow_answer_is_a_timeout() {
    let scene = Scene::new();
    scene.repo.route(
        "/packages.json",
        vec![Answer::new(200, "{}").after(Duration::from_secs(4))],
    );
    let (outcome, json) = scene.check_json(&["--timeout", "1"]);
    outcome.code(6).stderr_has("timeout error");
    assert_eq!(json["status"], "unreachable");
    assert!(json["http_status"].is_null());
}

#[test]
fn redirects_are_not_followed_and_carry_no_credentials() {
    let scene = Scene::new();
    let elsewhere = FakeRepo::https(&scene.ca);
    serve_composer1(&elsewhere, &[CE]);
    scene.repo.route(
        "/packages.json",
        vec![Answer::new(302, "").header(
            "Location",
            &format!("{}/packages.json?token=abc", elsewhere.url()),
        )],
    );
    let (outcome, json) = scene.check_json(&[]);
    let outcome = outcome
        .code(6)
        .stderr_has(&format!("host {}", elsewhere.addr));
    assert!(!outcome.stderr.contains("token=abc"), "{outcome:#?}");
    assert_eq!(json["status"], "unreachable");
    assert_eq!(json["http_status"], 302);
    assert_eq!(scene.repo.requests().len(), 1);
    assert!(
        elsewhere.requests().is_empty(),
        "the redirect was followed: {:#?}",
        elsewhere.requests()
    );
}

#[test]
fn an_untrusted_certificate_is_a_tls_error() {
    let scene = Scene::new();
    let stranger = TestCa::new("untrusted");
    let repo = FakeRepo::https(&stranger);
    serve_composer1(&repo, &[CE]);
    let url = repo.url();
    let outcome = scene.world.run(&["check", "--repo-url", &url, "--json"]);
    let json = json_object(&outcome);
    outcome
        .code(6)
        .stderr_has("TLS error")
        .stderr_has("not trusted")
        .stderr_has("--ca-file");
    assert_eq!(json["status"], "unreachable");
    assert!(
        repo.requests().is_empty(),
        "no request crossed an untrusted TLS session"
    );
}

#[test]
fn trust_comes_from_ca_file_or_ssl_cert_file_and_nothing_else() {
    let mut scene = Scene::new();
    serve_composer1(&scene.repo, &[CE]);
    scene.world.unset("SSL_CERT_FILE");
    // The system store does not hold the test CA.
    scene.check(&[]).code(6).stderr_has("TLS error");
    assert!(scene.repo.requests().is_empty());
    let ca_file = scene.ca.write(&scene.world.root, "extra.pem");
    scene.check(&["--ca-file", ca_file.to_str().unwrap()]).ok();
    // SSL_CERT_DIR, as OpenSSL reads it.
    let dir = scene.world.root.join("certs");
    std::fs::create_dir_all(&dir).unwrap();
    scene.ca.write(&dir, "test-ca.pem");
    scene.world.set("SSL_CERT_DIR", &dir);
    scene.check(&[]).ok();
    assert_eq!(scene.repo.requests().len(), 2);
}

#[test]
fn plain_http_only_for_loopback() {
    let world = World::new();
    let repo = FakeRepo::http();
    repo.require_keys(PUBLIC, PRIVATE);
    serve_composer2(&repo, &[CE], false);
    world.run(&["check", "--repo-url", &repo.url()]).ok();
    world
        .run(&["check", "--repo-url", "http://repo.example.com"])
        .code(3)
        .stderr_has("not loopback");
    let outcome = world
        .run(&[
            "check",
            "--repo-url",
            "https://user:s3cr3tpass@repo.example.com",
        ])
        .code(3)
        .stderr_has("credentials");
    assert!(!outcome.stderr.contains("s3cr3tpass"));
}

#[test]
fn entitled_packages_in_the_composer_1_layout() {
    let scene = Scene::new();
    serve_composer1(&scene.repo, &[CE]);
    let (outcome, json) = scene.check_json(&["--require-package", CE]);
    outcome.ok();
    assert_eq!(
        json["packages"],
        serde_json::json!([{"name": CE, "visible": true}])
    );
    let paths = scene.repo.paths();
    assert_eq!(
        paths.len(),
        2,
        "packages.json and one provider include: {paths:?}"
    );
    assert!(paths[1].starts_with("/p/provider-ce$"), "{paths:?}");
    let raw = &scene.repo.requests()[1].raw_path;
    assert!(
        raw.contains("%24"),
        "`$` is sent as %24, as Composer does: {raw}"
    );
    assert!(
        scene
            .repo
            .requests()
            .iter()
            .all(|r| r.authorization.as_deref() == Some(basic(PUBLIC, PRIVATE).as_str()))
    );
}

#[test]
fn commerce_packages_invisible_to_open_source_keys_are_not_entitled() {
    let scene = Scene::new();
    serve_composer1(&scene.repo, &[CE]);
    let (outcome, json) = scene.check_json(&["--require-package", CE, "--require-package", EE]);
    outcome
        .code(5)
        .stderr_has(EE)
        .stderr_has("primary contact of the Adobe Commerce account");
    assert_eq!(json["status"], "not-entitled");
    assert_eq!(json["http_status"], 200);
    assert_eq!(
        json["packages"],
        serde_json::json!([{"name": CE, "visible": true}, {"name": EE, "visible": false}])
    );
}

#[test]
fn a_provider_file_with_a_wrong_hash_is_caught() {
    let scene = Scene::new();
    serve_composer1(&scene.repo, &[CE]);
    // Learn the include's path from a good run, then alter its body.
    let (_, json) = scene.check_json(&["--require-package", CE]);
    assert_eq!(json["status"], "ok");
    let path = scene.repo.paths()[1].clone();
    scene
        .repo
        .route(&path, vec![Answer::new(200, r#"{"providers":{}}"#)]);
    let (outcome, json) = scene.check_json(&["--require-package", CE]);
    outcome.code(6).stderr_has("sha256");
    assert_eq!(json["status"], "unreachable");
}

#[test]
fn entitlement_through_metadata_url() {
    let scene = Scene::new();
    serve_composer2(&scene.repo, &[CE], false);
    let (outcome, json) = scene.check_json(&["--require-package", CE, "--require-package", EE]);
    outcome.code(5);
    assert_eq!(
        json["packages"],
        serde_json::json!([{"name": CE, "visible": true}, {"name": EE, "visible": false}])
    );
    assert_eq!(
        scene.repo.paths(),
        [
            "/packages.json",
            &format!("/p2/{CE}.json"),
            &format!("/p2/{EE}.json")
        ]
    );
}

#[test]
fn available_packages_spare_requests() {
    let scene = Scene::new();
    serve_composer2(&scene.repo, &[CE], true);
    let (outcome, json) = scene.check_json(&["--require-package", EE]);
    outcome.code(5);
    assert_eq!(json["status"], "not-entitled");
    assert_eq!(scene.repo.paths(), ["/packages.json"]);
}

#[test]
fn missing_keys_fail_or_skip() {
    let mut world = World::new();
    world
        .unset("MAGENTO_PUBLIC_KEY")
        .unset("MAGENTO_PRIVATE_KEY");
    let outcome = world.run(&["check", "--json"]);
    let json = json_object(&outcome);
    outcome.code(3).stderr_has("pull requests from forks");
    assert_eq!(json["status"], "missing-keys");
    assert_eq!(json["attempts"], 0);
    let outcome = world.run(&["check", "--json", "--on-missing", "skip"]);
    let json = json_object(&outcome);
    outcome.ok();
    assert_eq!(json["status"], "skipped");
}

#[test]
fn malformed_keys_are_refused_before_any_request() {
    let mut scene = Scene::new();
    serve_composer1(&scene.repo, &[CE]);
    // A control character is refused for any host, not only repo.magento.com.
    scene
        .world
        .set("MAGENTO_PUBLIC_KEY", "c4n4rypub11c01234\u{7}56789abcdef");
    let (outcome, json) = scene.check_json(&[]);
    outcome.code(3).stderr_has("MAGENTO_PUBLIC_KEY");
    assert_eq!(json["status"], "malformed-keys");
    assert_eq!(json["attempts"], 0);
    assert!(scene.repo.requests().is_empty());
}

#[test]
fn without_keys_the_credentials_composer_would_use_are_checked() {
    let mut scene = Scene::new();
    serve_composer1(&scene.repo, &[CE]);
    scene
        .world
        .unset("MAGENTO_PUBLIC_KEY")
        .unset("MAGENTO_PRIVATE_KEY");
    let auth = scene.world.home_auth();
    let doc = serde_json::json!({"http-basic": {scene.repo.auth_host(): {"username": PUBLIC, "password": PRIVATE}}});
    write_mode(&auth, doc.to_string().as_bytes(), 0o600);
    scene
        .check(&[])
        .ok()
        .stderr_has("the credentials Composer would use")
        .stderr_has(&auth.display().to_string());
    assert_eq!(
        scene.repo.requests()[0].authorization.as_deref(),
        Some(basic(PUBLIC, PRIVATE).as_str())
    );
}

#[test]
fn a_refused_connection_is_unreachable() {
    let world = World::new();
    let url = format!("https://127.0.0.1:{}", free_port());
    let outcome = world.run(&["check", "--repo-url", &url, "--json", "--retries", "0"]);
    let json = json_object(&outcome);
    outcome.code(6).stderr_has("connection error");
    assert_eq!(json["status"], "unreachable");
}

#[test]
fn an_unknown_host_is_unreachable() {
    let world = World::new();
    let outcome = world.run(&[
        "check",
        "--repo-url",
        "https://no-such-host.invalid",
        "--timeout",
        "5",
        "--retries",
        "0",
    ]);
    // Offline resolvers fail fast (DNS) or not at all (timeout).
    assert!(
        outcome.stderr.contains("DNS error") || outcome.stderr.contains("timeout error"),
        "{outcome:#?}"
    );
    outcome.code(6);
}

#[cfg(unix)]
#[test]
fn a_real_proxy_carries_the_check() {
    let mut scene = Scene::new();
    serve_composer1(&scene.repo, &[CE]);
    let proxy = Tinyproxy::start(&scene.world.root);
    scene.world.set("HTTPS_PROXY", proxy.url());
    scene.check(&[]).ok();
    let target = format!("CONNECT {}", scene.repo.addr);
    assert!(
        proxy.log().contains(&target),
        "tinyproxy did not carry the request:\n{}",
        proxy.log()
    );
    // Through the tunnel the proxy sees the host and port, never the keys.
    assert_no_secret(&proxy.log(), "the proxy's log");
    assert_eq!(scene.repo.requests().len(), 1);
}

#[cfg(unix)]
#[test]
fn an_https_repository_crosses_a_proxy_only_through_connect() {
    let mut scene = Scene::new();
    serve_composer1(&scene.repo, &[CE, EE]);
    let proxy = Tinyproxy::start(&scene.world.root);
    scene.world.set("https_proxy", proxy.url());
    let (outcome, json) = scene.check_json(&["--require-package", &format!("{CE},{EE}")]);
    outcome.ok();
    // packages.json and the provider include: each one
    // a tunnel, so the proxy never reads a request, let alone the keys.
    let attempts = json["attempts"].as_u64().unwrap();
    assert!(attempts >= 2, "{json}");
    let log = proxy.log();
    let requests: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("Request (file descriptor"))
        .collect();
    assert_eq!(requests.len() as u64, attempts, "{log}");
    for line in &requests {
        assert!(
            line.contains(&format!("): CONNECT {} ", scene.repo.addr)),
            "not a CONNECT tunnel to the repository: {line}"
        );
    }
    assert_no_secret(&log, "the proxy's log");
    for request in scene.repo.requests() {
        assert!(
            request.raw_path.starts_with('/'),
            "absolute form: {request:?}"
        );
    }
}

#[test]
fn a_plain_http_loopback_repository_is_never_proxied() {
    for variable in [
        "http_proxy",
        "HTTP_PROXY",
        "all_proxy",
        "ALL_PROXY",
        "https_proxy",
    ] {
        let mut world = World::new();
        let repo = FakeRepo::http();
        repo.require_keys(PUBLIC, PRIVATE);
        serve_composer1(&repo, &[CE]);
        let proxy = Recorder::start();
        world.set(variable, proxy.url());
        let url = repo.url();
        world
            .run(&["check", "--repo-url", &url, "--require-package", CE])
            .ok();
        assert!(
            proxy.seen().is_empty(),
            "with {variable}, the keys in clear text went to the proxy: {:?}",
            proxy.seen()
        );
        assert!(repo.requests().len() >= 2, "{:#?}", repo.requests());
    }
}

#[cfg(unix)]
#[test]
fn no_proxy_bypasses_the_proxy() {
    let mut scene = Scene::new();
    serve_composer1(&scene.repo, &[CE]);
    let proxy = Tinyproxy::start(&scene.world.root);
    scene.world.set("https_proxy", proxy.url());
    scene.world.set("NO_PROXY", "example.com , 127.0.0.0/8");
    scene.check(&[]).ok();
    assert!(
        !proxy
            .log()
            .contains(&format!("CONNECT {}", scene.repo.addr)),
        "NO_PROXY was not honoured:\n{}",
        proxy.log()
    );
    assert_eq!(scene.repo.requests().len(), 1);
}

#[test]
fn a_dead_proxy_is_a_proxy_error() {
    let mut scene = Scene::new();
    serve_composer1(&scene.repo, &[CE]);
    scene
        .world
        .set("HTTPS_PROXY", format!("http://127.0.0.1:{}", free_port()));
    let (outcome, json) = scene.check_json(&["--retries", "0"]);
    outcome
        .code(6)
        .stderr_has("proxy error")
        .stderr_has("HTTPS_PROXY");
    assert_eq!(json["status"], "unreachable");
    assert!(scene.repo.requests().is_empty());
}

#[test]
fn setup_checks_by_default_and_writes_nothing_when_keys_fail() {
    let mut scene = Scene::new();
    serve_composer1(&scene.repo, &[CE]);
    let url = scene.repo.url();
    scene
        .world
        .run(&["setup", "--repo-url", &url])
        .ok()
        .stderr_has("check: ok");
    assert_eq!(scene.repo.requests().len(), 1);
    scene.world.run(&["cleanup"]).ok();
    scene
        .world
        .run(&["setup", "--repo-url", &url, "--no-check"])
        .ok();
    assert_eq!(scene.repo.requests().len(), 1, "--no-check sends nothing");
    scene.world.run(&["cleanup"]).ok();

    scene
        .world
        .set("MAGENTO_PRIVATE_KEY", "11111111111111111111111111111111");
    let before = scene.world.snapshot();
    scene
        .world
        .run(&["setup", "--repo-url", &url])
        .code(4)
        .stderr_has("HTTP 401");
    assert_eq!(
        scene.world.snapshot(),
        before,
        "a failed check writes nothing"
    );
}

#[test]
fn the_download_token_pair_is_checked_with_basic_auth() {
    let mut scene = Scene::new();
    serve_composer1(&scene.repo, &[CE]);
    let adobe = FakeRepo::https(&scene.ca);
    adobe.require_keys("MAG123456", "d0wnl0adt0ken");
    adobe.route(
        "/products/downloads/info/help",
        vec![Answer::new(200, "help")],
    );
    let token_url = format!("{}/products/downloads/info/help", adobe.url());
    scene.world.set("MAGENTO_MAGEID", "MAG123456");
    scene.world.set("MAGENTO_DOWNLOAD_TOKEN", "d0wnl0adt0ken");
    let args = [
        "--download-token",
        "--download-token-url",
        token_url.as_str(),
    ];
    let (outcome, json) = scene.check_json(&args);
    assert!(!outcome.stderr.contains("d0wnl0adt0ken") && !outcome.stdout.contains("d0wnl0adt0ken"));
    outcome.ok();
    assert_eq!(json["status"], "ok");
    assert!(!adobe.requests()[0].raw_path.contains("MAG123456"));

    scene.world.unset("MAGENTO_MAGEID");
    let (outcome, json) = scene.check_json(&args);
    outcome.code(3).stderr_has("MAGENTO_MAGEID");
    assert_eq!(json["status"], "missing-keys");
    assert_eq!(adobe.requests().len(), 1);

    scene.world.set("MAGENTO_MAGEID", "MAG123456");
    scene.world.set("MAGENTO_DOWNLOAD_TOKEN", "wrongtoken");
    let (outcome, json) = scene.check_json(&args);
    outcome.code(4).stderr_has("MAGENTO_DOWNLOAD_TOKEN");
    assert_eq!(json["status"], "invalid-keys");
}

#[test]
fn an_oversized_body_is_cut_off() {
    let scene = Scene::new();
    let mut body = br#"{"packages":[],"x":""#.to_vec();
    body.resize(5 * 1024 * 1024, b'a');
    scene
        .repo
        .route("/packages.json", vec![Answer::new(200, body)]);
    let (outcome, json) = scene.check_json(&[]);
    outcome.code(6).stderr_has("larger than 4 MiB");
    assert_eq!(json["status"], "unreachable");
}

#[test]
fn setup_checks_the_project_s_commerce_packages_by_default() {
    let scene = Scene::new();
    serve_composer1(&scene.repo, &[CE]);
    std::fs::write(
        scene.world.project.join("composer.json"),
        format!(r#"{{"require":{{"{EE}":"2.4.7","php":"^8.2"}}}}"#),
    )
    .unwrap();
    let url = scene.repo.url();
    let before = scene.world.snapshot();
    scene
        .world
        .run(&["setup", "--repo-url", &url])
        .code(5)
        .stderr_has(EE);
    assert_eq!(scene.world.snapshot(), before);
    scene
        .world
        .run(&["setup", "--repo-url", &url, "--require-package", "none"])
        .ok();
    scene.world.run(&["cleanup"]).ok();
}

#[test]
fn credentials_never_go_to_another_host_named_by_packages_json() {
    let scene = Scene::new();
    let elsewhere = FakeRepo::https(&scene.ca);
    serve_composer2(&elsewhere, &[CE], false);
    let root = serde_json::json!({
        "packages": [],
        "metadata-url": format!("{}/p2/%package%.json", elsewhere.url()),
    });
    scene
        .repo
        .route("/packages.json", vec![Answer::json(200, &root)]);
    let (outcome, json) = scene.check_json(&["--require-package", CE]);
    outcome.ok();
    assert_eq!(
        json["packages"],
        serde_json::json!([{"name": CE, "visible": true}])
    );
    let got = elsewhere.requests();
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0].path, format!("/p2/{CE}.json"));
    assert_eq!(got[0].authorization, None, "the keys went to another host");
}

#[test]
fn json_is_printed_for_errors_outside_the_table_too() {
    let scene = Scene::new();
    let missing = scene.world.root.join("no-such-ca.pem");
    let (outcome, json) = scene.check_json(&["--ca-file", missing.to_str().unwrap()]);
    outcome.code(3).stderr_has("--ca-file");
    assert_eq!(json["status"], "error");
    assert_eq!(json["repository"], scene.repo.url());
    let outcome = scene.world.run(&[
        "check",
        "--json",
        "--repo-url",
        "https://user:s3cr3tpass@repo.example.com",
    ]);
    let json = json_object(&outcome);
    assert_eq!(outcome.code, 3);
    assert!(json["repository"].is_null());
    assert!(!outcome.stdout.contains("s3cr3tpass"), "{outcome:#?}");
}

#[test]
fn packages_json_cannot_send_the_check_to_plain_http() {
    let scene = Scene::new();
    let root = serde_json::json!({
        "packages": [],
        "metadata-url": "http://repo.example.com/p2/%package%.json",
    });
    scene
        .repo
        .route("/packages.json", vec![Answer::json(200, &root)]);
    let (outcome, json) = scene.check_json(&["--require-package", CE]);
    outcome.code(6).stderr_has("plain http");
    assert_eq!(json["status"], "unreachable");
    assert_eq!(json["attempts"], 1);
}

#[test]
fn a_warn_only_setup_says_in_the_job_summary_why_the_check_failed() {
    let mut scene = Scene::new();
    serve_composer1(&scene.repo, &[CE]);
    scene
        .world
        .set("MAGENTO_PRIVATE_KEY", "11111111111111111111111111111111");
    let runner_temp = scene.world.root.join("runner_temp");
    std::fs::create_dir(&runner_temp).unwrap();
    let summary_file = runner_temp.join("summary.md");
    let output_file = runner_temp.join("output.txt");
    scene
        .world
        .set("GITHUB_ACTIONS", "true")
        .set("RUNNER_TEMP", &runner_temp)
        .set("GITHUB_STEP_SUMMARY", &summary_file)
        .set("GITHUB_OUTPUT", &output_file);
    let url = scene.repo.url();
    let out = scene
        .world
        .command(&["setup", "--repo-url", &url, "--warn-only"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let output = std::fs::read_to_string(&output_file).unwrap();
    assert!(output.contains("\ninvalid-keys\n"), "{output}");
    let summary = std::fs::read_to_string(&summary_file).unwrap();
    assert!(summary.contains("| Status | `invalid-keys` |"), "{summary}");
    assert!(
        summary.contains("rejected the keys (HTTP 401)"),
        "the summary says what failed:\n{summary}"
    );
    assert!(
        summary.contains("not swapped"),
        "the summary says what to do:\n{summary}"
    );
    assert_no_secret(&summary, "the step summary");
}
