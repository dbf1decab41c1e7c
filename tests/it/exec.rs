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

#[cfg(unix)]
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

#[cfg(unix)]
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

#[cfg(unix)]
/// A command that is there but not executable exits 126, as a shell does
/// (issue 13, item 12), by path and on PATH; nothing is written.
#[test]
fn a_command_that_is_not_executable_is_126_and_writes_nothing() {
    let mut world = World::new();
    let bin = world.root.join("bin");
    fs::create_dir(&bin).unwrap();
    write_mode(
        &bin.join("not-runnable-xyz"),
        b"#!/bin/sh\necho ran\n",
        0o644,
    );
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    world.set("PATH", path);
    let by_path = bin.join("not-runnable-xyz");
    for program in [by_path.to_str().unwrap(), "not-runnable-xyz"] {
        let out = world
            .run(&["exec", "--no-check", "--mode", "home", "--", program])
            .code(126)
            .stderr_has("permission denied");
        assert!(!out.stdout.contains("ran"), "{out:#?}");
    }
    assert!(!world.home_auth().exists());
}

#[cfg(unix)]
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
    assert_mode(&auth, 0o644);
    assert!(!world.state_file().exists());
    // A failing child still gets its file cleaned up.
    world
        .run(&["exec", "--no-check", "--mode", "home", "--", "false"])
        .code(1);
    assert_eq!(fs::read_to_string(&auth).unwrap(), COMPOSER_WRITTEN);
}

/// Start exec with a child that writes its pid to `pidfile`, then sleeps.
#[cfg(unix)]
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

#[cfg(unix)]
fn signal(pid: u32, signal: i32) {
    // SAFETY: sending a signal to a process this test started.
    assert_eq!(unsafe { libc::kill(pid as i32, signal) }, 0);
}

#[cfg(unix)]
fn alive(pid: u32) -> bool {
    // SAFETY: signal 0 only checks for existence.
    unsafe { libc::kill(pid as i32, 0) == 0 }
}

#[cfg(unix)]
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
    assert_mode(&world.home_auth(), 0o644);
    assert!(!world.state_file().exists());
}

/// The catchable signals whose default action ends a process, by name.
#[cfg(unix)]
const TERMINATING: [(i32, &str); 8] = [
    (libc::SIGHUP, "HUP"),
    (libc::SIGINT, "INT"),
    (libc::SIGQUIT, "QUIT"),
    (libc::SIGTERM, "TERM"),
    (libc::SIGUSR1, "USR1"),
    (libc::SIGUSR2, "USR2"),
    (libc::SIGALRM, "ALRM"),
    (libc::SIGPIPE, "PIPE"),
];

/// A child that counts `name` signals, then exits with 100 + the count
/// (a second delivery has half a second to arrive).
const COUNTING_CHILD: &str = r#"
    n=0
    trap 'n=$((n+1)); echo $n > "$2"' "$1"
    echo $$ > "$3"
    i=0
    while [ "$n" -eq 0 ] && [ "$i" -lt 200 ]; do sleep 0.05; i=$((i+1)); done
    i=0
    while [ "$i" -lt 10 ]; do sleep 0.05; i=$((i+1)); done
    exit $((100 + n))
"#;

#[cfg(unix)]
#[test]
fn every_terminating_signal_reaches_the_child_once_and_cleanup_runs() {
    for (sig, name) in TERMINATING {
        for to_group in [false, true] {
            let world = World::new();
            write_mode(&world.home_auth(), COMPOSER_WRITTEN.as_bytes(), 0o644);
            let count = world.root.join("count");
            let ready = world.root.join("child.pid");
            let mut cmd = world.command(&[
                "exec",
                "--no-check",
                "--mode",
                "home",
                "--",
                "sh",
                "-c",
                COUNTING_CHILD,
                "sh",
                name,
                count.to_str().unwrap(),
                ready.to_str().unwrap(),
            ]);
            // exec leads a group of its own, as a CI step's shell would.
            std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
            cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
            let exec = cmd.spawn().unwrap();
            wait_for_line(&ready);
            let target = if to_group {
                -(exec.id() as i32)
            } else {
                exec.id() as i32
            };
            // SAFETY: signalling the process (group) this test started.
            assert_eq!(unsafe { libc::kill(target, sig) }, 0);
            let out = Outcome::from_output(exec.wait_with_output().unwrap());
            let case = format!(
                "SIG{name} to the {}",
                if to_group { "group" } else { "pid" }
            );
            assert_eq!(
                fs::read_to_string(&count).unwrap_or_default().trim(),
                "1",
                "{case}: signals the child saw"
            );
            assert_eq!(out.code, 101, "{case}: the child's status: {out:#?}");
            assert_eq!(
                fs::read_to_string(world.home_auth()).unwrap(),
                COMPOSER_WRITTEN,
                "{case}: cleanup did not run"
            );
            assert_mode(&world.home_auth(), 0o644);
            assert!(!world.state_file().exists(), "{case}");
        }
    }
}

/// Wait (up to 5 s) until `path` holds a whole line.
fn wait_for_line(path: &Path) {
    for _ in 0..200 {
        if fs::read_to_string(path).is_ok_and(|p| p.ends_with('\n')) {
            return;
        }
        sleep(Duration::from_millis(25));
    }
    panic!("the child never started");
}

#[cfg(unix)]
#[test]
fn a_child_killed_by_any_of_them_is_128_plus_n_and_cleanup_runs() {
    for (sig, _) in TERMINATING {
        let code = 128 + sig;
        let world = World::new();
        let pidfile = world.root.join("child.pid");
        let exec = start_sleeper(&world, &pidfile);
        signal(exec.id(), sig);
        let out = Outcome::from_output(exec.wait_with_output().unwrap());
        assert_eq!(out.code, code, "signal {sig}: {out:#?}");
        assert!(!world.home_auth().exists());
    }
}

#[cfg(unix)]
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
    assert_mode(&world.home_auth(), 0o640);
    world.assert_no_secret_in_files();
}

#[cfg(unix)]
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

#[cfg(unix)]
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

#[cfg(unix)]
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

#[cfg(unix)]
#[test]
fn on_a_terminal_the_child_holds_the_foreground_and_gets_ctrl_c_once() {
    use std::io::Write;
    let world = World::new();
    write_mode(&world.home_auth(), COMPOSER_WRITTEN.as_bytes(), 0o644);
    let (count, ready, got) = (
        world.root.join("count"),
        world.root.join("child.pid"),
        world.root.join("got"),
    );
    // The child reads a line from the terminal (which stops a process
    // outside the terminal's foreground group), then counts SIGINTs.
    let child = world.root.join("child.sh");
    let counting = COUNTING_CHILD.replace(
        "echo $$ > \"$3\"",
        "read line; echo \"$line\" > \"$4\"; echo $$ > \"$3\"",
    );
    fs::write(&child, counting).unwrap();
    let inner = format!(
        "{BIN} exec --no-check --mode home -- sh {} INT {} {} {}",
        child.display(),
        count.display(),
        ready.display(),
        got.display()
    );
    // util-linux script(1) runs the command on a new pseudo-terminal, in
    // its foreground, as an interactive terminal would.
    let mut cmd = Command::new("script");
    cmd.args(["-q", "-e", "-c", &inner, "/dev/null"])
        .env_clear()
        .current_dir(&world.project)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in &world.vars {
        cmd.env(name, value);
    }
    let mut term = cmd.spawn().expect("script(1) from util-linux");
    let mut keyboard = term.stdin.take().unwrap();
    keyboard.write_all(b"hello\n").unwrap();
    keyboard.flush().unwrap();
    wait_for_line(&ready);
    // Ctrl-C, as typed: the terminal sends SIGINT to its foreground group.
    keyboard.write_all(b"\x03").unwrap();
    keyboard.flush().unwrap();
    let mut status = None;
    for _ in 0..400 {
        status = term.try_wait().unwrap();
        if status.is_some() {
            break;
        }
        sleep(Duration::from_millis(25));
    }
    if status.is_none() {
        let _ = term.kill();
    }
    let out = Outcome::from_output(term.wait_with_output().unwrap());
    assert_eq!(fs::read_to_string(&got).unwrap().trim(), "hello");
    assert_eq!(fs::read_to_string(&count).unwrap_or_default().trim(), "1");
    assert_eq!(out.code, 101, "{out:#?}");
    assert_eq!(
        fs::read_to_string(world.home_auth()).unwrap(),
        COMPOSER_WRITTEN
    );
}
