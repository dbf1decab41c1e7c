//! Item 12: without RUNNER_TEMP every job's state lives in one
//! `$TMPDIR/magento-auth-<uid>`; jobs starting and ending side by side there
//! never trip over each other's state directory.

use std::sync::Arc;

use super::*;

/// 8 jobs at once, 25 rounds of setup + cleanup each; `home_of(n)` is job
/// n's COMPOSER_HOME. Every command exits 0.
fn hammer(world: &Arc<World>, home_of: impl Fn(usize) -> PathBuf) {
    let threads: Vec<_> = (0..8)
        .map(|n| {
            let world = world.clone();
            let home = home_of(n);
            std::thread::spawn(move || {
                let job = Job::canary(&format!("tmp-{n}"));
                for round in 0..25 {
                    for command in ["setup", "cleanup"] {
                        let mut cmd = job.command(&world, command, &[]);
                        cmd.env("COMPOSER_HOME", &home);
                        let out = run_bounded(cmd);
                        assert_eq!(out.code, 0, "job {n}, round {round}, {command}: {out:#?}");
                    }
                }
            })
        })
        .collect();
    join_all(threads);
}

#[test]
fn jobs_with_their_own_homes_share_one_tmpdir() {
    let world = Arc::new(World::new());
    let root = world.root.clone();
    hammer(&world, |n| root.join(format!("home-{n}")));
    for n in 0..8 {
        assert!(!root.join(format!("home-{n}/auth.json")).exists());
    }
    assert_eq!(state_files_left(&world), Vec::<PathBuf>::new());
    assert_no_key_under(&world.root);
}

#[test]
fn jobs_with_one_home_share_one_tmpdir() {
    let world = Arc::new(World::new());
    write_mode(&world.home_auth(), COMPOSER_WRITTEN.as_bytes(), 0o644);
    let home = world.composer_home();
    hammer(&world, |_| home.clone());
    assert_eq!(
        fs::read_to_string(world.home_auth()).unwrap(),
        COMPOSER_WRITTEN
    );
    assert_eq!(state_files_left(&world), Vec::<PathBuf>::new());
    assert_no_key_under(&world.root);
}
