//! Exec: the child gets the credentials, signals reach it, cleanup always runs.

use std::fs;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::Duration;

use crate::common::*;

/// sha256sum of a string, as the child's shell computes it.
fn sha256(text: &str) -> String {
    use std::io::Write;
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap()
}

#[test]
fn the_child_gets_composer_auth_and_nothing_touches_disk() {
    let world = World::new();
    let out = world
        .run(&[
            "exec",
            "--no-check",
            "--",
            "sh",
            "-c",
            r#"printf %s "$COMPOSER_AUTH" | sha256sum; test -z "${MAGENTO_PUBLIC_KEY+x}${MAGENTO_PRIVATE_KEY+x}" || echo keys-visible"#,
        ])
        .ok();
    let expected = format!(
        r#"{{"http-basic":{{"repo.magento.com":{{"username":"{PUBLIC}","password":"{PRIVATE}"}}}}}}"#
    );
    assert_eq!(out.stdout, sha256(&expected));
    assert_eq!(
        world.all_files().len(),
        0,
        "env mode writes nothing, not even state"
    );
}

#[test]
fn the_childs_status_is_the_exit_code() {
    let world = World::new();
    world
        .run(&["exec", "--no-check", "--", "sh", "-c", "exit 7"])
        .code(7);
    world
        .run(&["exec", "--no-check", "--", "sh", "-c", "kill -USR1 $$"])
        .code(128 + 10);
}

#[test]
fn a_missing_command_is_127_and_writes_nothing() {
    let world = World::new();
    world
        .run(&[
            "exec",
            "--no-check",
            "--mode",
            "home",
            "--",
            "no-such-command-xyz",
        ])
        .code(127)
        .stderr_has("command not found: no-such-command-xyz");
    assert!(world.all_files().is_empty());
}

#[test]
fn home_mode_writes_for_the_child_and_restores_after() {
    let world = World::new();
    write_mode(&world.home_auth(), COMPOSER_WRITTEN.as_bytes(), 0o644);
    let auth = world.home_auth();
    let script = format!(
        "grep -q repo.magento.com {0} && test \"$(stat -c %a {0})\" = 600",
        auth.display()
    );
    world
        .run(&[
            "exec",
            "--no-check",
            "--mode",
            "home",
            "--",
            "sh",
            "-c",
            &script,
        ])
        .ok();
    assert_eq!(fs::read_to_string(&auth).unwrap(), COMPOSER_WRITTEN);
    assert_eq!(mode(&auth), 0o644);
    assert!(!world.state_file().exists());
    // A failing child still gets its file cleaned up.
    world
        .run(&["exec", "--no-check", "--mode", "home", "--", "false"])
        .code(1);
    assert_eq!(fs::read_to_string(&auth).unwrap(), COMPOSER_WRITTEN);
}

/// Start exec with a child that writes its pid to `pidfile`, then sleeps.
fn start_sleeper(world: &World, pidfile: &Path) -> Child {
    let script = format!("echo $$ > {}; exec sleep 30", pidfile.display());
    let mut cmd = world.command(&[
        "exec",
        "--no-check",
        "--mode",
        "home",
        "--",
        "sh",
        "-c",
        &script,
    ]);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    for _ in 0..200 {
        if fs::read_to_string(pidfile).is_ok_and(|p| p.ends_with('\n')) {
            return child;
        }
        sleep(Duration::from_millis(25));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the child never started");
}

fn signal(pid: u32, signal: i32) {
    // SAFETY: sending a signal to a process this test started.
    assert_eq!(unsafe { libc::kill(pid as i32, signal) }, 0);
}

fn alive(pid: u32) -> bool {
    // SAFETY: signal 0 only checks for existence.
    unsafe { libc::kill(pid as i32, 0) == 0 }
}

#[test]
fn sigterm_reaches_the_child_and_the_file_is_restored() {
    let world = World::new();
    write_mode(&world.home_auth(), COMPOSER_WRITTEN.as_bytes(), 0o644);
    let pidfile = world.root.join("child.pid");
    let exec = start_sleeper(&world, &pidfile);
    let child_pid: u32 = fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(json(&world.home_auth())["http-basic"]["repo.magento.com"].is_object());

    signal(exec.id(), libc::SIGTERM);
    let out = Outcome::from_output(exec.wait_with_output().unwrap());
    assert_eq!(out.code, 143, "{out:#?}");
    assert!(!alive(child_pid), "the child got SIGTERM too");
    assert_eq!(
        fs::read_to_string(world.home_auth()).unwrap(),
        COMPOSER_WRITTEN
    );
    assert_eq!(mode(&world.home_auth()), 0o644);
    assert!(!world.state_file().exists());
}

#[test]
fn sigint_hup_and_quit_are_forwarded_too() {
    for (sig, code) in [
        (libc::SIGINT, 130),
        (libc::SIGHUP, 129),
        (libc::SIGQUIT, 131),
    ] {
        let world = World::new();
        let pidfile = world.root.join("child.pid");
        let exec = start_sleeper(&world, &pidfile);
        signal(exec.id(), sig);
        let out = Outcome::from_output(exec.wait_with_output().unwrap());
        assert_eq!(out.code, code, "signal {sig}: {out:#?}");
        assert!(!world.home_auth().exists());
    }
}

#[test]
fn after_sigkill_of_exec_cleanup_restores() {
    let world = World::new();
    write_mode(&world.home_auth(), COMPOSER_WRITTEN.as_bytes(), 0o640);
    let pidfile = world.root.join("child.pid");
    let mut exec = start_sleeper(&world, &pidfile);
    let child_pid: u32 = fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    signal(exec.id(), libc::SIGKILL);
    exec.wait().unwrap();
    signal(child_pid, libc::SIGKILL);
    assert_ne!(
        fs::read_to_string(world.home_auth()).unwrap(),
        COMPOSER_WRITTEN
    );

    world.run(&["cleanup"]).ok().stderr_has("restored");
    assert_eq!(
        fs::read_to_string(world.home_auth()).unwrap(),
        COMPOSER_WRITTEN
    );
    assert_eq!(mode(&world.home_auth()), 0o640);
    world.assert_no_secret_in_files();
}

#[test]
fn the_childs_command_line_holds_no_secret() {
    let world = World::new();
    let out = world
        .run(&[
            "exec",
            "--no-check",
            "--",
            "sh",
            "-c",
            "cat /proc/$$/cmdline; cat /proc/$PPID/cmdline",
        ])
        .ok();
    assert!(out.stdout.contains("exec"), "{}", out.stdout);
}

#[test]
fn other_processes_of_the_user_cannot_read_the_keys_from_proc() {
    let world = World::new();
    // The child is such a process: it may not read its parent's environment
    // (which holds the keys magento-auth was started with) nor dump it.
    let script = r#"
        if cat /proc/$PPID/environ >/dev/null 2>&1; then echo environ-readable; fi
        grep -q "^Max core file size *0 " /proc/$PPID/limits || echo parent-may-dump
        grep "^Max core file size" /proc/self/limits > "$1"
    "#;
    let own_limits = world.root.join("child-limits");
    let mut cmd = world.unprivileged(&[
        "exec",
        "--no-check",
        "--",
        "sh",
        "-c",
        script,
        "sh",
        own_limits.to_str().unwrap(),
    ]);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let out = Outcome::of(cmd).ok();
    assert!(!out.stdout.contains("environ-readable"), "{out:#?}");
    assert!(!out.stdout.contains("parent-may-dump"), "{out:#?}");
    let parent = fs::read_to_string("/proc/self/limits").unwrap();
    let ours = parent
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap();
    assert_eq!(
        fs::read_to_string(own_limits).unwrap().trim(),
        ours.trim(),
        "the child has the user's limit"
    );
}

#[test]
fn the_child_sees_the_users_backtrace_setting_not_ours() {
    // magento-auth turns backtrace capture off for itself (RUST_LIB_BACKTRACE=0);
    // the child must get the user's setting back.
    let mut world = World::new();
    world.set("RUST_BACKTRACE", "full");
    let script = r#"printf '%s' "${RUST_LIB_BACKTRACE-unset}""#;
    let out = world
        .run(&["exec", "--no-check", "--", "sh", "-c", script])
        .ok();
    assert_eq!(out.stdout, "unset");
    world.set("RUST_LIB_BACKTRACE", "1");
    let out = world
        .run(&["exec", "--no-check", "--", "sh", "-c", script])
        .ok();
    assert_eq!(out.stdout, "1");
    // And an error says what happened without a backtrace.
    world.set("MAGENTO_PRIVATE_KEY", "short");
    let out = world.run(&["setup", "--no-check"]).code(3);
    assert!(
        !out.stderr.to_lowercase().contains("backtrace"),
        "{}",
        out.stderr
    );
}
