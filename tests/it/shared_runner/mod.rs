//! Black-box tests of the undoable write of auth.json on a shared runner
//! (issue 12): trusted directories only, bounded waits, jobs with the same
//! keys side by side, dead jobs, the size limit, one TMPDIR for many jobs, a
//! home that is read-only or vanishes, and a project that gains nothing but
//! its auth.json. Every wait here is bounded and everything spawned is killed.
//!
//! They were written against the code before the journal module, which
//! failed 24 of them (each on an assertion about behaviour); the journal
//! passes all.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::common::*;

mod bounded_waits;
mod dead_jobs;
mod project_mode;
#[cfg(feature = "fault-points")]
mod races;
mod read_only_home;
mod same_keys;
mod shared_tmpdir;
mod size_limit;
mod trusted_dirs;

/// The longest any single run of the binary may take before the test kills
/// it and fails: far above what one takes, far below a hung CI job.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// How many distinct job key pairs [`job_keys`] hands out.
const JOB_KEY_PAIRS: usize = 20;

/// Keys of job `n`: valid Marketplace shapes (32 ASCII letters and digits),
/// as unique as the canaries and searched for the same way.
pub fn job_keys(n: usize) -> (String, String) {
    assert!(n < JOB_KEY_PAIRS, "job_keys({n}) is not searched for");
    (
        format!("c4n4ryj0b{n:04}pubABCDEFGHIJKLMNOP"),
        format!("c4n4ryj0b{n:04}prvQRSTUVWXYZabcdef"),
    )
}

/// Every form of every key these tests use (the canaries and each job's).
fn all_forms() -> &'static [String] {
    static FORMS: OnceLock<Vec<String>> = OnceLock::new();
    FORMS.get_or_init(|| {
        let mut forms = secret_forms();
        for n in 0..JOB_KEY_PAIRS {
            let (public, private) = job_keys(n);
            forms.extend(secret_forms_of(&public, &private));
        }
        forms.sort();
        forms.dedup();
        forms
    })
}

/// Fail if `text` holds any key of these tests in any form.
pub fn assert_no_key(text: &str, what: &str) {
    assert_no_form(text, what, all_forms());
}

/// Fail if any file below `dir` holds any key of these tests.
pub fn assert_no_key_under(dir: &Path) {
    for (path, bytes) in files_under(dir) {
        assert_no_key(
            &String::from_utf8_lossy(&bytes),
            &format!("file {}", path.display()),
        );
    }
}

/// Every regular file below `dir` (symlinks not followed), with its bytes.
pub fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            match fs::symlink_metadata(&path) {
                Ok(meta) if meta.is_dir() => pending.push(path),
                Ok(meta) if meta.is_file() => {
                    let bytes = fs::read(&path).unwrap_or_default();
                    out.push((path, bytes));
                }
                _ => {}
            }
        }
    }
    out.sort();
    out
}

/// A job on the shared runner: its own `CI_JOB_ID` and keys, and the
/// repository it sets up (`None`: repo.magento.com).
#[derive(Clone, Debug)]
pub struct Job {
    pub id: String,
    pub public: String,
    pub private: String,
    pub repo_url: Option<String>,
}

impl Job {
    /// Job `id` with the canary keys, for repo.magento.com.
    pub fn canary(id: &str) -> Self {
        Job {
            id: id.to_string(),
            public: PUBLIC.to_string(),
            private: PRIVATE.to_string(),
            repo_url: None,
        }
    }

    /// Job `id` with the keys of [`job_keys`]`(n)`, for repo.magento.com.
    pub fn numbered(id: &str, n: usize) -> Self {
        let (public, private) = job_keys(n);
        Job {
            id: id.to_string(),
            public,
            private,
            repo_url: None,
        }
    }

    pub fn on_host(mut self, host: &str) -> Self {
        self.repo_url = Some(format!("https://{host}"));
        self
    }

    /// The `http-basic` key this job writes.
    pub fn host(&self) -> String {
        self.repo_url
            .as_deref()
            .map_or("repo.magento.com", |u| u.trim_start_matches("https://"))
            .to_string()
    }

    /// The entry this job writes.
    pub fn entry(&self) -> serde_json::Value {
        serde_json::json!({"username": self.public, "password": self.private})
    }

    /// `magento-auth <command> <extra...>` as this job, in `world`: `setup`
    /// gets `--no-check` and the job's repository.
    pub fn command(&self, world: &World, command: &str, extra: &[&str]) -> Command {
        let mut args = vec![command];
        if command == "setup" {
            args.push("--no-check");
            if let Some(url) = &self.repo_url {
                args.extend(["--repo-url", url]);
            }
        }
        args.extend_from_slice(extra);
        let mut cmd = world.command(&args);
        self.identify(&mut cmd);
        cmd
    }

    /// Give `cmd` this job's identity and keys.
    pub fn identify(&self, cmd: &mut Command) {
        cmd.env("CI_JOB_ID", &self.id)
            .env("MAGENTO_PUBLIC_KEY", &self.public)
            .env("MAGENTO_PRIVATE_KEY", &self.private);
    }

    pub fn run(&self, world: &World, command: &str, extra: &[&str]) -> Outcome {
        run_bounded(self.command(world, command, extra))
    }
}

/// Run `cmd` to its end, killing it and failing after [`RUN_LIMIT`]; every
/// output is searched for every key.
pub fn run_bounded(cmd: Command) -> Outcome {
    let (outcome, elapsed) = run_within(cmd, RUN_LIMIT);
    outcome.unwrap_or_else(|| panic!("a run did not end within {elapsed:?}; killed"))
}

/// Run `cmd` for at most `limit`: its outcome, or `None` when it had to be
/// killed, and how long it ran.
pub fn run_within(mut cmd: Command, limit: Duration) -> (Option<Outcome>, Duration) {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd.spawn().expect("spawn magento-auth");
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let polls = limit.as_millis() / 5 + 1;
    let mut status = None;
    for _ in 0..polls {
        if let Some(done) = child.try_wait().expect("wait for magento-auth") {
            status = Some(done);
            break;
        }
        if start.elapsed() >= limit {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let elapsed = start.elapsed();
    let Some(status) = status else {
        let _ = child.kill();
        let _ = child.wait();
        let _ = (stdout.join(), stderr.join());
        return (None, elapsed);
    };
    let output = std::process::Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    };
    let outcome = Outcome::from_output(output);
    assert_no_key(&outcome.stdout, "stdout");
    assert_no_key(&outcome.stderr, "stderr");
    (Some(outcome), elapsed)
}

/// Set `path`'s permission bits exactly (umask does not apply).
pub fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// A directory created (with its parents) and given `mode`.
pub fn dir_with_mode(path: &Path, mode: u32) -> PathBuf {
    fs::create_dir_all(path).unwrap();
    chmod(path, mode);
    path.to_path_buf()
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// The directory of every job's default state file in `world`.
pub fn state_dir(world: &World) -> PathBuf {
    world.state_file().parent().unwrap().to_path_buf()
}

/// State files (`<job>.json` in a `magento-auth*` directory) left anywhere
/// below the world's TMPDIR.
pub fn state_files_left(world: &World) -> Vec<PathBuf> {
    files_under(&world.tmp)
        .into_iter()
        .map(|(path, _)| path)
        .filter(|p| {
            p.extension().is_some_and(|e| e == "json")
                && p.components()
                    .any(|c| c.as_os_str().to_string_lossy().starts_with("magento-auth"))
        })
        .collect()
}

/// The file's bytes, or `None` when it is not there.
pub fn read_opt(path: &Path) -> Option<Vec<u8>> {
    match fs::symlink_metadata(path) {
        Ok(_) => Some(fs::read(path).unwrap()),
        Err(_) => None,
    }
}

/// Whether `text` (stdout and stderr of a run) has one line that holds
/// every one of `needles`.
pub fn has_line_with(outcome: &Outcome, needles: &[&str]) -> bool {
    outcome
        .stdout
        .lines()
        .chain(outcome.stderr.lines())
        .any(|line| needles.iter().all(|n| line.contains(n)))
}

/// Wait for every job thread; fail with what each failed job said.
fn join_all(threads: Vec<std::thread::JoinHandle<()>>) {
    let failures: Vec<String> = threads
        .into_iter()
        .filter_map(|t| t.join().err())
        .map(|e| {
            e.downcast_ref::<String>()
                .cloned()
                .unwrap_or_else(|| "a job panicked".into())
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
