//! Item 10: a job killed hard (runner stopped, job cancelled with SIGKILL)
//! never runs its cleanup; the next job on the runner removes its keys, and
//! never those of a job that is still running.

use std::thread::sleep;

use super::*;

/// A user's auth.json before any job ran.
const ORIGINAL: &str = r#"{"http-basic":{"other.example":{"username":"u","password":"p"}}}"#;

/// Job A (`CI_JOB_ID=dead`, keys of job 1): its shell runs setup, then
/// sleeps, and the whole job is killed with SIGKILL before any cleanup.
fn dead_job(world: &World, original: Option<&str>) -> Job {
    if let Some(text) = original {
        write_mode(&world.home_auth(), text.as_bytes(), 0o644);
    }
    let job = Job::numbered("dead", 1);
    let script = format!("'{BIN}' setup --no-check && exec sleep 300");
    let mut shell = Command::new("sh");
    shell
        .args(["-c", &script])
        .env_clear()
        .current_dir(&world.project);
    for (name, value) in &world.vars {
        shell.env(name, value);
    }
    job.identify(&mut shell);
    {
        use std::os::unix::process::CommandExt;
        shell.process_group(0);
    }
    shell
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = shell.spawn().unwrap();
    let pgid = child.id() as libc::pid_t;
    // Set up, and setup has ended: the shell went on to `exec sleep`.
    let comm = format!("/proc/{pgid}/comm");
    let set_up = (0..1000).any(|_| {
        let done = read_opt(&world.home_auth())
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .is_some_and(|doc| doc["http-basic"]["repo.magento.com"] == job.entry())
            && fs::read_to_string(&comm).is_ok_and(|c| c.trim() == "sleep");
        if !done {
            sleep(Duration::from_millis(10));
        }
        done
    });
    // SAFETY: kill has no memory preconditions; the group is the child's own.
    unsafe { libc::kill(-pgid, libc::SIGKILL) };
    let output = child.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert_no_key(&stdout, "the dead job's stdout");
    assert_no_key(&stderr, "the dead job's stderr");
    assert!(
        set_up,
        "job A never finished its setup within 10 s:\n{stderr}"
    );
    job
}

fn assert_reports_the_dead_job(world: &World, out: &Outcome, context: &str) {
    let path = world.home_auth().display().to_string();
    assert!(
        has_line_with(out, &["no longer running", &path]),
        "{context}: no line says the job that set up {path} is no longer running:\n{out:#?}"
    );
}

/// After the next job's own command, the dead job's cleanup finds nothing
/// left to do and changes nothing.
fn dead_job_cleans_up_late(world: &World, dead: &Job) {
    let before = read_opt(&world.home_auth());
    dead.run(world, "cleanup", &[]).ok();
    assert_eq!(
        read_opt(&world.home_auth()),
        before,
        "the dead job's late cleanup"
    );
}

#[test]
fn the_next_jobs_cleanup_removes_a_dead_jobs_keys() {
    for original in [Some(ORIGINAL), None] {
        let world = World::new();
        let dead = dead_job(&world, original);
        let out = Job::canary("next").run(&world, "cleanup", &[]).ok();
        assert_reports_the_dead_job(&world, &out, "cleanup");
        world.assert_home_auth_is(original, "after the next job's cleanup");
        dead_job_cleans_up_late(&world, &dead);
        world.assert_home_auth_is(original, "after the dead job's cleanup");
        assert_no_key_under(&world.root);
    }
}

#[test]
fn doctor_removes_a_dead_jobs_keys() {
    for original in [Some(ORIGINAL), None] {
        let world = World::new();
        let dead = dead_job(&world, original);
        let out = Job::canary("next").run(&world, "doctor", &[]).ok();
        assert_reports_the_dead_job(&world, &out, "doctor");
        world.assert_home_auth_is(original, "after the next job's doctor");
        dead_job_cleans_up_late(&world, &dead);
        world.assert_home_auth_is(original, "after the dead job's cleanup");
        assert_no_key_under(&world.root);
    }
}

#[test]
fn the_next_jobs_setup_replaces_a_dead_jobs_keys() {
    for original in [Some(ORIGINAL), None] {
        let world = World::new();
        let dead = dead_job(&world, original);
        let next = Job::canary("next");
        let out = next.run(&world, "setup", &[]).ok();
        assert_reports_the_dead_job(&world, &out, "setup");
        assert_eq!(
            json(&world.home_auth())["http-basic"]["repo.magento.com"],
            next.entry()
        );
        let text = fs::read_to_string(world.home_auth()).unwrap();
        assert_no_form(
            &text,
            "auth.json",
            &secret_forms_of(&dead.public, &dead.private),
        );
        next.run(&world, "cleanup", &[]).ok();
        world.assert_home_auth_is(original, "after the next job's cleanup");
        dead_job_cleans_up_late(&world, &dead);
        world.assert_home_auth_is(original, "after the dead job's cleanup");
        assert_no_key_under(&world.root);
    }
}

/// Control: a job whose setup ran from this (living) process keeps its keys
/// through another job's setup and cleanup.
#[test]
fn a_living_jobs_keys_are_never_taken() {
    for original in [Some(ORIGINAL), None] {
        let world = World::new();
        if let Some(text) = original {
            write_mode(&world.home_auth(), text.as_bytes(), 0o644);
        }
        let alive = Job::numbered("alive", 1);
        alive.run(&world, "setup", &[]).ok();
        let next = Job::canary("next");
        let out = next.run(&world, "setup", &[]).ok();
        assert!(!out.stderr.contains("no longer running"), "{out:#?}");
        next.run(&world, "cleanup", &[]).ok();
        assert_eq!(
            json(&world.home_auth())["http-basic"]["repo.magento.com"],
            alive.entry(),
            "the living job lost its keys"
        );
        alive.run(&world, "cleanup", &[]).ok();
        world.assert_home_auth_is(original, "after both cleanups");
        assert_no_key_under(&world.root);
    }
}
