//! Item 6: a lock held forever by someone else (another user on a shared
//! runner, a stuck job) makes setup and cleanup fail in bounded time, never
//! hang the job.

use std::fs::File;
use std::os::fd::AsRawFd;

use super::*;

/// Long enough for `--timeout 2` and a slow machine, short enough to show a
/// wait that does not end.
const WITHIN: Duration = Duration::from_secs(15);

/// An exclusive flock on a directory, as another process would hold it.
struct Held(File);

fn hold_lock(dir: &Path) -> Held {
    let file = File::open(dir).unwrap();
    // SAFETY: the descriptor is open for the life of `file`.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    assert_eq!(rc, 0, "locking {}", dir.display());
    Held(file)
}

impl Drop for Held {
    fn drop(&mut self) {
        // SAFETY: as above; closing the file would release it too.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}

/// Run `cmd` while a lock is held: it must end within [`WITHIN`], exit 1,
/// and name the lock and `dir`.
fn assert_gives_up(cmd: Command, dir: &Path, what: &str) {
    let (outcome, elapsed) = run_within(cmd, WITHIN);
    let outcome = outcome.unwrap_or_else(|| {
        panic!(
            "{what} still waited for the lock on {} after {elapsed:?}; killed",
            dir.display()
        )
    });
    assert_eq!(outcome.code, 1, "{what}: {outcome:#?}");
    assert!(
        outcome.stderr.contains("lock") && outcome.stderr.contains(&dir.display().to_string()),
        "{what}: stderr names the lock and {}: {outcome:#?}",
        dir.display()
    );
}

#[test]
fn setup_gives_up_on_a_home_locked_forever() {
    let world = World::new();
    write_mode(&world.home_auth(), COMPOSER_WRITTEN.as_bytes(), 0o644);
    let home = world.composer_home();
    let held = hold_lock(&home);
    let job = Job::canary("locked");
    assert_gives_up(
        job.command(&world, "setup", &["--timeout", "2"]),
        &home,
        "setup",
    );
    drop(held);
    assert_eq!(
        fs::read_to_string(world.home_auth()).unwrap(),
        COMPOSER_WRITTEN
    );
    assert_eq!(mode(&world.home_auth()), 0o644);
    job.run(&world, "cleanup", &[]).ok();
    world.assert_no_secret_in_files();
}

#[test]
fn cleanup_gives_up_on_a_home_locked_forever_and_succeeds_later() {
    let world = World::new();
    write_mode(&world.home_auth(), COMPOSER_WRITTEN.as_bytes(), 0o644);
    let home = world.composer_home();
    let job = Job::canary("locked");
    job.run(&world, "setup", &[]).ok();
    let held = hold_lock(&home);
    assert_gives_up(
        job.command(&world, "cleanup", &["--timeout", "2"]),
        &home,
        "cleanup",
    );
    drop(held);
    job.run(&world, "cleanup", &[]).ok();
    assert_eq!(
        fs::read_to_string(world.home_auth()).unwrap(),
        COMPOSER_WRITTEN
    );
    assert_eq!(mode(&world.home_auth()), 0o644);
    world.assert_no_secret_in_files();
}

#[test]
fn setup_gives_up_on_a_state_directory_locked_forever() {
    let world = World::new();
    write_mode(&world.home_auth(), COMPOSER_WRITTEN.as_bytes(), 0o644);
    let states = dir_with_mode(&state_dir(&world), 0o700);
    let held = hold_lock(&states);
    let job = Job::canary("locked");
    assert_gives_up(
        job.command(&world, "setup", &["--timeout", "2"]),
        &states,
        "setup",
    );
    drop(held);
    assert_eq!(
        fs::read_to_string(world.home_auth()).unwrap(),
        COMPOSER_WRITTEN
    );
    job.run(&world, "cleanup", &[]).ok();
    assert_eq!(
        fs::read_to_string(world.home_auth()).unwrap(),
        COMPOSER_WRITTEN
    );
}
