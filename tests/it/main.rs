//! Integration tests: the real binary, run as a user or CI job would, each test
//! in its own HOME and temp directories with the ambient CI environment scrubbed.
//! Most modules run on Unix only (signals, modes, /proc, setpriv, a real
//! Composer); the ones without `#[cfg(unix)]` also run for Windows, under wine
//! here (scripts/windows-tests) and natively on CI's Windows runner.
// Helpers and imports that only the Unix-only tests use.
#![cfg_attr(not(unix), allow(unused_imports, dead_code))]

mod common;
#[path = "../support/env_file.rs"]
mod env_file;
mod fake_repo;
mod proxy;

mod bad_input;
#[cfg(unix)]
mod canary;
mod check;
#[cfg(unix)]
mod children;
mod cleanup;
#[cfg(unix)]
mod composer;
#[cfg(unix)]
mod composer_install;
#[cfg(unix)]
mod docker;
#[cfg(unix)]
mod doctor;
mod exec;
#[cfg(unix)]
mod extremes;
#[cfg(all(unix, feature = "fault-points"))]
mod faults;
mod help;
mod keys;
mod layout;
#[cfg(unix)]
mod ledger;
mod not_entitled;
mod platforms;
#[cfg(unix)]
mod readme;
mod sanitise;
mod scan;
#[cfg(unix)]
mod scan_places;
#[cfg(unix)]
mod settings;
mod setup;
#[cfg(unix)]
mod shadow;
#[cfg(unix)]
mod shared_runner;
#[cfg(unix)]
mod trust;
#[cfg(windows)]
mod windows;
#[cfg(unix)]
mod words;
