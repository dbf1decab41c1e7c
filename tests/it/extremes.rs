//! No panic, ever: extreme `--timeout`, `--retries` and `Retry-After` values
//! end in a documented exit code, in bounded time, without a stack trace,
//! even with RUST_BACKTRACE set as some CI images do.

use std::time::{Duration, Instant};

use crate::common::*;
use crate::fake_repo::*;

/// A world that trusts an HTTPS fake, with RUST_BACKTRACE=1.
fn scene() -> (World, FakeRepo) {
    let mut world = World::new();
    let ca = TestCa::new("trusted");
    let repo = FakeRepo::https(&ca);
    repo.require_keys(PUBLIC, PRIVATE);
    serve_composer1(&repo, &["magento/product-community-edition"]);
    let ca_file = ca.write(&world.root, "ca.pem");
    world.set("SSL_CERT_FILE", &ca_file);
    world.set("RUST_BACKTRACE", "1");
    (world, repo)
}

/// Every command that takes the check options, against `url`, with `extra`.
fn commands<'a>(url: &'a str, extra: &[&'a str]) -> Vec<Vec<&'a str>> {
    let mut out = Vec::new();
    for head in [
        vec!["check", "--repo-url", url],
        vec!["setup", "--repo-url", url],
        vec!["exec", "--mode", "home", "--repo-url", url],
    ] {
        let mut args = head;
        args.extend_from_slice(extra);
        if args[0] == "exec" {
            args.extend_from_slice(&["--", "true"]);
        }
        out.push(args);
    }
    out
}

/// Run, and fail on any sign of a panic or a backtrace; the outcome and
/// how long it took.
fn run_calm(world: &World, args: &[&str]) -> (Outcome, Duration) {
    let started = Instant::now();
    let outcome = world.run(args);
    let took = started.elapsed();
    for sign in [
        "panicked",
        "internal error",
        "stack backtrace",
        "RUST_BACKTRACE",
    ] {
        assert!(
            !outcome.stderr.contains(sign),
            "{args:?} printed {sign:?}:\n{outcome:#?}"
        );
    }
    assert_ne!(outcome.code, 101, "{args:?} panicked:\n{outcome:#?}");
    (outcome, took)
}

#[test]
fn out_of_range_limits_are_bad_input_and_nothing_is_written() {
    let (world, repo) = scene();
    let url = repo.url();
    let before = world.snapshot();
    for (option, value) in [
        ("--timeout", "0"),
        ("--timeout", "3601"),
        ("--timeout", "18446744073709551615"),
        ("--timeout", "18446744073709551616"),
        ("--timeout", "99999999999999999999999999999999999999999"),
        ("--retries", "11"),
        ("--retries", "4294967296"),
        ("--retries", "18446744073709551616"),
    ] {
        for args in commands(&url, &[option, value]) {
            let (outcome, _) = run_calm(&world, &args);
            let outcome = outcome
                .code(3)
                .stderr_has(&format!("{option} is out of range"));
            assert!(
                outcome.stderr.contains("hint: give a number"),
                "{outcome:#?}"
            );
            assert_eq!(world.snapshot(), before, "{args:?} wrote something");
        }
    }
    // No request was made for any of them.
    assert!(repo.requests().is_empty(), "{:#?}", repo.requests());
    // The edges are in range.
    for args in commands(&url, &["--timeout", "3600", "--retries", "10"]) {
        run_calm(&world, &args).0.ok();
    }
}

#[test]
fn huge_retry_after_ends_every_command_in_time() {
    for value in [
        "18446744073709551615",
        "18446744073709551616",
        "99999999999999999999999999999999999999999",
        "Fri, 31 Dec 9999 23:59:59 GMT",
        "Fri, 31 Dec 18446744073709551615 23:59:59 GMT",
        // In the past: retried at once, until the retries run out.
        "Thu, 01 Jan 1970 00:00:00 GMT",
    ] {
        for status in [429, 503] {
            let (world, repo) = scene();
            repo.route(
                "/packages.json",
                vec![Answer::new(status, "slow down").header("Retry-After", value)],
            );
            let url = repo.url();
            for args in commands(&url, &["--timeout", "3", "--retries", "10"]) {
                let (outcome, took) = run_calm(&world, &args);
                outcome.code(6).stderr_has(&format!("HTTP {status}"));
                assert!(
                    took < Duration::from_secs(15),
                    "{args:?} with Retry-After {value:?} took {took:?}"
                );
                assert!(!world.home_auth().exists(), "{args:?} left auth.json");
            }
        }
    }
}

#[test]
fn doctor_and_cleanup_stay_calm_too() {
    let (mut world, repo) = scene();
    let url = repo.url();
    world.set("MAGENTO_AUTH_REPO_URL", &url);
    run_calm(&world, &["doctor"]).0.ok();
    run_calm(&world, &["cleanup"]).0.ok();
    // cleanup's lock wait shares the range of every --timeout.
    for value in ["0", "3601", "18446744073709551616"] {
        run_calm(&world, &["cleanup", "--timeout", value])
            .0
            .code(3)
            .stderr_has("--timeout is out of range");
    }
    run_calm(&world, &["cleanup", "--timeout", "3600"]).0.ok();
    // A repository URL with a port beyond 65535 is bad input, not a panic.
    world.set(
        "MAGENTO_AUTH_REPO_URL",
        "https://127.0.0.1:99999999999999999999",
    );
    run_calm(&world, &["doctor"]).0.code(3);
    run_calm(&world, &["setup", "--no-check"]).0.code(3);
}
