//! Item 1, races: another user swaps a path for a symlink between the
//! binary's check and its use. The binary pauses at a named point
//! (MAGENTO_AUTH_FAULT_PAUSE), the test makes the swap, then lets it go on;
//! whatever it exits with, the victim is untouched.

use std::fs;
use std::os::unix::fs::symlink;
use std::process::Child;
use std::thread::sleep;

use super::*;

/// A run of the binary stopped at a pause point.
struct Paused {
    child: Child,
    signal: PathBuf,
    point: &'static str,
}

/// Start `cmd` and wait (bounded) until it pauses at `point`.
fn pause_at(world: &World, mut cmd: Command, point: &'static str) -> Paused {
    let signal = world.root.join("paused");
    let _ = fs::remove_file(&signal);
    cmd.env("MAGENTO_AUTH_FAULT_PAUSE", point)
        .env("MAGENTO_AUTH_FAULT_SIGNAL", &signal)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    for _ in 0..1000 {
        if fs::read_to_string(&signal).is_ok_and(|s| s == point) {
            return Paused {
                child,
                signal,
                point,
            };
        }
        if let Some(status) = child.try_wait().unwrap() {
            let output = child.wait_with_output().unwrap();
            let _ = fs::remove_file(&signal);
            panic!(
                "the run ended ({status}) without pausing at {point}:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the run never paused at {point} within 10 s");
}

impl Paused {
    /// Let the run go on and wait (bounded) for its end: exit 0, 1 or 3.
    fn resume(mut self) -> Outcome {
        fs::remove_file(&self.signal).unwrap();
        for _ in 0..4000 {
            if self.child.try_wait().unwrap().is_some() {
                let outcome = Outcome::from_output(self.child.wait_with_output().unwrap());
                assert_no_key(&outcome.stdout, "stdout");
                assert_no_key(&outcome.stderr, "stderr");
                assert!(
                    [0, 1, 3].contains(&outcome.code),
                    "after the swap at {}: {outcome:#?}",
                    self.point
                );
                return outcome;
            }
            sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        panic!("the run did not end within 40 s after {}", self.point);
    }
}

/// A file another user cares about, outside the home: its bytes and mode
/// must survive.
fn victim_file(world: &World) -> PathBuf {
    let victim = dir_with_mode(&world.root.join("victim"), 0o755).join("victim.json");
    write_mode(&victim, b"victim\n", 0o644);
    victim
}

fn assert_victim_untouched(victim: &Path) {
    let meta = fs::symlink_metadata(victim).expect("the victim is still there");
    assert!(meta.is_file(), "the victim is still a regular file");
    assert_eq!(fs::read(victim).unwrap(), b"victim\n", "the victim's bytes");
    assert_eq!(mode(victim), 0o644, "the victim's mode");
    assert_no_key_under(victim.parent().unwrap());
}

/// Swap `path` for a symlink to `victim`.
fn swap_for_link(path: &Path, victim: &Path) {
    fs::remove_file(path).unwrap();
    symlink(victim, path).unwrap();
}

#[test]
fn auth_json_swapped_for_a_symlink_during_setup() {
    let world = World::new();
    write_mode(&world.home_auth(), COMPOSER_WRITTEN.as_bytes(), 0o644);
    let victim = victim_file(&world);
    let job = Job::canary("race-setup");
    let paused = pause_at(
        &world,
        job.command(&world, "setup", &[]),
        "journal:target-read",
    );
    swap_for_link(&world.home_auth(), &victim);
    paused.resume();
    assert_victim_untouched(&victim);
}

#[test]
fn composer_home_swapped_for_a_symlink_after_it_was_opened() {
    let world = World::new();
    let home = world.composer_home();
    write_mode(&home.join("auth.json"), COMPOSER_WRITTEN.as_bytes(), 0o644);
    chmod(&home, 0o700);
    let victim = dir_with_mode(&world.root.join("victim-dir"), 0o755);
    fs::write(victim.join("keep.txt"), "victim\n").unwrap();
    let job = Job::canary("race-dir");
    let paused = pause_at(
        &world,
        job.command(&world, "setup", &[]),
        "journal:dir-opened",
    );
    fs::rename(&home, world.root.join("moved-home")).unwrap();
    symlink(&victim, &home).unwrap();
    paused.resume();
    assert!(
        !victim.join("auth.json").exists(),
        "auth.json was written into the directory the home was swapped for"
    );
    assert_eq!(fs::read(victim.join("keep.txt")).unwrap(), b"victim\n");
    assert_no_key_under(&victim);
}

#[test]
fn auth_json_swapped_for_a_symlink_during_cleanup() {
    let world = World::new();
    write_mode(&world.home_auth(), COMPOSER_WRITTEN.as_bytes(), 0o644);
    let victim = victim_file(&world);
    let job = Job::canary("race-cleanup");
    job.run(&world, "setup", &[]).ok();
    let paused = pause_at(
        &world,
        job.command(&world, "cleanup", &[]),
        "journal:target-read",
    );
    swap_for_link(&world.home_auth(), &victim);
    paused.resume();
    assert_victim_untouched(&victim);
}
