//! Integration tests: the real binary, run as a user or CI job would, each test
//! in its own HOME and temp directories with the ambient CI environment scrubbed.

mod common;
mod fake_repo;
mod proxy;

mod check;
mod cleanup;
mod doctor;
mod exec;
mod keys;
mod setup;
