//! Integration tests: the real binary, run as a user or CI job would, each test
//! in its own HOME and temp directories with the ambient CI environment scrubbed.
//! Unix only for now: they use signals, modes and /proc.
#![cfg(unix)]

mod common;
#[path = "../support/env_file.rs"]
mod env_file;
mod fake_repo;
mod proxy;

mod bad_input;
mod canary;
mod check;
mod children;
mod cleanup;
mod composer;
mod composer_install;
mod docker;
mod doctor;
mod exec;
mod extremes;
#[cfg(feature = "fault-points")]
mod faults;
mod help;
mod keys;
mod ledger;
mod platforms;
mod readme;
mod sanitise;
mod scan;
mod scan_places;
mod setup;
mod shared_runner;
