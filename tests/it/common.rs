//! The test harness: a scrubbed environment per test and canary keys that are
//! searched for in every output.
#![allow(dead_code)]

use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

/// Canary keys: valid Marketplace shapes, unique enough to search for.
pub const PUBLIC: &str = "c4n4rypub11c0123456789abcdefABCD";
pub const PRIVATE: &str = "c4n4rypr1v8e9876543210zyxwvZYXWV";

pub const BIN: &str = env!("CARGO_BIN_EXE_magento-auth");

/// The binary's path as a command to run: a program that is there on every
/// platform. Cargo names it in its own host's form, which is a Unix path for
/// tests built for Windows and run under wine; Windows' form there.
pub fn native_bin() -> String {
    if cfg!(unix) {
        return BIN.to_string();
    }
    let real = fs::canonicalize(BIN).expect("the binary");
    let text = real.to_string_lossy();
    text.strip_prefix(r"\\?\").unwrap_or(&text).to_string()
}

/// One test's world: its own HOME, TMPDIR and project directory.
pub struct World {
    _root: tempfile::TempDir,
    pub root: PathBuf,
    pub home: PathBuf,
    pub tmp: PathBuf,
    pub project: PathBuf,
    pub vars: Vec<(String, OsString)>,
}

impl World {
    /// A world with the canary keys set and COMPOSER_HOME pointing into HOME.
    pub fn new() -> Self {
        let mut world = Self::bare();
        world.set("MAGENTO_PUBLIC_KEY", PUBLIC);
        world.set("MAGENTO_PRIVATE_KEY", PRIVATE);
        let composer_home = world.home.join(".composer");
        world.set("COMPOSER_HOME", &composer_home);
        world
    }

    /// A world with no keys and no COMPOSER_HOME.
    pub fn bare() -> Self {
        let root = tempfile::tempdir().expect("temp dir");
        let path = root.path().to_path_buf();
        let home = path.join("home");
        let tmp = path.join("tmp");
        let project = path.join("project");
        for dir in [&home, &tmp, &project] {
            fs::create_dir_all(dir).unwrap();
        }
        let mut world = World {
            _root: root,
            root: path,
            home,
            tmp,
            project,
            vars: Vec::new(),
        };
        let home = world.home.clone();
        let tmp = world.tmp.clone();
        world.set("HOME", &home);
        world.set("TMPDIR", &tmp);
        world.set("PATH", std::env::var_os("PATH").unwrap_or_default());
        // Windows programs need these to start at all (Winsock reads
        // SYSTEMROOT); the state directory is named after USERNAME.
        #[cfg(windows)]
        {
            for name in ["SYSTEMROOT", "WINDIR", "PATHEXT"] {
                if let Some(value) = std::env::var_os(name) {
                    world.set(name, value);
                }
            }
            world.set("USERNAME", TEST_USER);
        }
        world
    }

    pub fn set(&mut self, name: &str, value: impl Into<OsString>) -> &mut Self {
        self.unset(name);
        self.vars.push((name.to_string(), value.into()));
        self
    }

    pub fn unset(&mut self, name: &str) -> &mut Self {
        self.vars.retain(|(n, _)| n != name);
        self
    }

    pub fn composer_home(&self) -> PathBuf {
        self.home.join(".composer")
    }

    pub fn home_auth(&self) -> PathBuf {
        self.composer_home().join("auth.json")
    }

    /// The default state file of a local job run in the project directory:
    /// `local-` and the start of the SHA-256 of the directory's real path.
    pub fn state_file(&self) -> PathBuf {
        self.state_file_of(&self.project)
    }

    /// The default state file of a local job run in `dir`.
    pub fn state_file_of(&self, dir: &Path) -> PathBuf {
        use sha2::{Digest, Sha256};
        let uid = user_id();
        let real = dir.canonicalize().unwrap();
        let hash = format!("{:x}", Sha256::digest(real.as_os_str().as_encoded_bytes()));
        self.tmp
            .join(format!("magento-auth-{uid}"))
            .join(format!("local-{}.json", &hash[..12]))
    }

    /// The binary with exactly this world's environment: nothing ambient
    /// (CI, GITHUB_*, COMPOSER_*, ...) leaks in.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args).env_clear().current_dir(&self.project);
        for (name, value) in &self.vars {
            cmd.env(name, value);
        }
        cmd.stdin(Stdio::null());
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Outcome {
        Outcome::of(self.command(args))
    }

    /// For `setup --mode env`, whose stdout is the `export` line by design:
    /// only stderr is searched for the canaries.
    pub fn run_secret_stdout(&self, args: &[&str]) -> Outcome {
        let output = output_of(&mut self.command(args));
        assert_no_secret(&String::from_utf8_lossy(&output.stderr), "stderr");
        Outcome {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    pub fn run_with_stdin(&self, args: &[&str], input: &str) -> Outcome {
        let mut cmd = self.command(args);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        Outcome::from_output(child.wait_with_output().unwrap())
    }

    /// The binary as an unprivileged user: root reads and writes anything,
    /// so a test of permissions drops to `nobody` (and gives it the world)
    /// when it runs as root.
    #[cfg(unix)]
    pub fn unprivileged(&self, args: &[&str]) -> Command {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return self.command(args);
        }
        let status = Command::new("chown")
            .args(["-R", "65534:65534"])
            .arg(&self.root)
            .status()
            .unwrap();
        assert!(status.success());
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(BIN)
            .args(args);
        cmd.env_clear()
            .current_dir(&self.project)
            .stdin(Stdio::null());
        for (name, value) in &self.vars {
            cmd.env(name, value);
        }
        cmd
    }

    /// Every file below the world's root, with its bytes.
    pub fn all_files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        walk(&self.root, &mut out);
        out
    }

    /// A snapshot of every file and its mode, to prove nothing changed.
    pub fn snapshot(&self) -> Vec<(PathBuf, Vec<u8>, u32)> {
        self.all_files()
            .into_iter()
            .map(|(p, b)| {
                let mode = mode(&p);
                (p, b, mode)
            })
            .collect()
    }

    /// Fail unless the home auth.json is `original` again, byte for byte and
    /// with its mode 0644 (the tests write originals so), or absent when
    /// there was none.
    pub fn assert_home_auth_is(&self, original: Option<&str>, context: &str) {
        match original {
            Some(text) => {
                assert_eq!(
                    fs::read_to_string(self.home_auth()).unwrap(),
                    text,
                    "{context}"
                );
                assert_eq!(mode(&self.home_auth()), 0o644, "{context}");
            }
            None => assert!(!self.home_auth().exists(), "{context}: auth.json is left"),
        }
    }

    /// A GitHub runner's environment files (`GITHUB_ENV`, `GITHUB_OUTPUT`,
    /// `GITHUB_STATE`, `GITHUB_STEP_SUMMARY`), empty, in a `RUNNER_TEMP` of
    /// the world, with the job's variables pointing to them.
    pub fn github_runner(
        &mut self,
        run_id: &str,
        job: &str,
    ) -> std::collections::HashMap<&'static str, PathBuf> {
        let dir = self.root.join("runner_temp");
        fs::create_dir_all(&dir).unwrap();
        let mut files = std::collections::HashMap::new();
        for name in [
            "GITHUB_ENV",
            "GITHUB_OUTPUT",
            "GITHUB_STATE",
            "GITHUB_STEP_SUMMARY",
        ] {
            let path = dir.join(format!("{}.txt", name.to_lowercase()));
            fs::write(&path, "").unwrap();
            self.set(name, &path);
            files.insert(name, path);
        }
        self.set("GITHUB_ACTIONS", "true")
            .set("RUNNER_TEMP", &dir)
            .set("GITHUB_RUN_ID", run_id)
            .set("GITHUB_JOB", job);
        files
    }

    /// Fail if any file below the root holds a canary in any form.
    pub fn assert_no_secret_in_files(&self) {
        for (path, bytes) in self.all_files() {
            assert_no_secret(
                &String::from_utf8_lossy(&bytes),
                &format!("file {}", path.display()),
            );
        }
    }
}

fn walk(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            walk(&path, out);
        } else if meta.is_file() {
            out.push((path.clone(), fs::read(&path).unwrap_or_default()));
        }
    }
}

/// The permission bits; on Windows, which has none, 0o444 or 0o644 after
/// the read-only attribute.
pub fn mode(path: &Path) -> u32 {
    #[cfg(unix)]
    use std::os::unix::fs::PermissionsExt;
    fs::symlink_metadata(path)
        .map(|m| {
            #[cfg(unix)]
            let bits = m.permissions().mode() & 0o7777;
            #[cfg(not(unix))]
            let bits = if m.permissions().readonly() {
                0o444
            } else {
                0o644
            };
            bits
        })
        .unwrap_or(0)
}

/// The user name a world gives the binary on Windows.
#[cfg(windows)]
pub const TEST_USER: &str = "magento-tester";

/// What the binary names this user's private state directory after.
pub fn user_id() -> String {
    #[cfg(unix)]
    // SAFETY: getuid has no preconditions.
    let id = unsafe { libc::getuid() }.to_string();
    #[cfg(windows)]
    let id = TEST_USER.to_string();
    id
}

/// Fail unless `path` has these permission bits. Windows files have none
/// (a file in the user's profile is private by its directory's ACL), so
/// there this checks nothing.
#[track_caller]
pub fn assert_mode(path: &Path, expected: u32) {
    if cfg!(unix) {
        assert_eq!(mode(path), expected, "mode of {}", path.display());
    }
}

/// Run `cmd` to its end. wine now and then fails to start a process with
/// ERROR_INTERNAL_ERROR (1359) when several start at once, which a real
/// Windows does not: such a start is tried again, three times at most.
pub fn output_of(cmd: &mut Command) -> std::process::Output {
    let mut output = cmd.output();
    for _ in 0..3 {
        match &output {
            Err(err) if cfg!(windows) && err.raw_os_error() == Some(1359) => {
                std::thread::sleep(std::time::Duration::from_millis(200));
                output = cmd.output();
            }
            _ => break,
        }
    }
    output.expect("run magento-auth")
}

/// Run `script` with `sh` in a private mount namespace, with `world`'s
/// environment. `None` (the test is skipped, with a note) when the script
/// exits 99, which it does when it cannot mount: only root can, as in CI,
/// where a skip is a failure instead.
#[cfg(unix)]
pub fn in_mount_namespace(world: &World, script: &str) -> Option<Outcome> {
    let mut cmd = Command::new("unshare");
    cmd.args(["-m", "sh", "-c", script]).env_clear();
    for (name, value) in &world.vars {
        cmd.env(name, value);
    }
    let out = Outcome::of(cmd);
    if out.code == 99 && std::env::var_os("CI").is_none() {
        eprintln!("skipped: cannot mount here (CI, as root, can)");
        return None;
    }
    Some(out)
}

/// What a run of the binary produced.
#[derive(Debug)]
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    pub fn of(mut cmd: Command) -> Self {
        Self::from_output(output_of(&mut cmd))
    }

    pub fn from_output(output: std::process::Output) -> Self {
        let outcome = Outcome {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        // Every run of every test is searched for the canaries.
        assert_no_secret(&outcome.stdout, "stdout");
        assert_no_secret(&outcome.stderr, "stderr");
        outcome
    }

    pub fn ok(self) -> Self {
        assert_eq!(self.code, 0, "expected success:\n{self:#?}");
        self
    }

    pub fn code(self, expected: i32) -> Self {
        assert_eq!(self.code, expected, "expected exit {expected}:\n{self:#?}");
        self
    }

    pub fn stderr_has(self, needle: &str) -> Self {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}:\n{self:#?}"
        );
        self
    }
}

/// Every form the canary keys could leak in (see [`secret_forms_of`]).
pub fn secret_forms() -> Vec<String> {
    secret_forms_of(PUBLIC, PRIVATE)
}

/// Every form a pair of keys could leak in: each key raw, JSON-escaped (as
/// serde writes it, and as PHP's `json_encode` does, `/` and non-ASCII
/// escaped), URL-escaped (upper- and lowercase hex, and form encoding with
/// `+`); and base64, at every offset, of `public:private` (an Authorization
/// header) and of each key raw and JSON-escaped (inside a base64'd
/// COMPOSER_AUTH), so that they are found inside any longer encoded text.
pub fn secret_forms_of(public: &str, private: &str) -> Vec<String> {
    let mut forms = Vec::new();
    let mut encoded_texts = vec![format!("{public}:{private}")];
    for key in [public, private] {
        let json = serde_json::to_string(key).unwrap();
        let escaped = [
            key.to_string(),
            json[1..json.len() - 1].to_string(),
            php_json_escape(key),
        ];
        forms.extend_from_slice(&escaped);
        // Base64 of a JSON document (a COMPOSER_AUTH) holds the key escaped.
        encoded_texts.extend_from_slice(&escaped);
        forms.push(url_escape(key, false, false));
        forms.push(url_escape(key, true, false));
        forms.push(url_escape(key, false, true));
    }
    for text in encoded_texts {
        let bytes = text.as_bytes();
        for offset in 0..3 {
            // Aligned at `offset`, the encoding is exact but for its last
            // group, which depends on what follows; the first one is left
            // off too, so that a form never needs the bytes before it.
            let encoded = BASE64.encode(&bytes[offset..]);
            forms.push(encoded[4..encoded.len() - 4].to_string());
        }
    }
    forms.sort();
    forms.dedup();
    forms
}

/// `json_encode` without flags: `/` as `\/`, non-ASCII as `\uXXXX` pairs.
fn php_json_escape(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' => out.push_str("\\/"),
            c if (c as u32) < 0x20 || !c.is_ascii() => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// Percent-encoding of everything but RFC 3986's unreserved characters.
fn url_escape(text: &str, lowercase: bool, plus_for_space: bool) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            b' ' if plus_for_space => out.push('+'),
            _ if lowercase => out.push_str(&format!("%{b:02x}")),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

pub fn assert_no_secret(text: &str, what: &str) {
    assert_no_form(text, what, &secret_forms());
}

/// Fail if `text` holds any of `forms`.
pub fn assert_no_form(text: &str, what: &str, forms: &[String]) {
    if let Some(form) = forms.iter().find(|form| text.contains(form.as_str())) {
        panic!("a secret ({form:.6}…) leaked into {what}:\n{text}");
    }
}

/// Whether `text` holds any of `forms`.
pub fn holds_form(text: &str, forms: &[String]) -> bool {
    forms.iter().any(|form| text.contains(form.as_str()))
}

/// An auth.json exactly as Composer 2.5.5 wrote it (`composer config --global
/// http-basic.example.org u p` on a new home), quirk `}},` included.
pub const COMPOSER_WRITTEN: &str = r#"{
    "bitbucket-oauth": {},
    "github-oauth": {},
    "gitlab-oauth": {},
    "gitlab-token": {},
    "http-basic": {
        "example.org": {
            "username": "u",
            "password": "p"
        }},
    "bearer": {}
}
"#;

/// Write a file with these permission bits (on Windows, which has none,
/// just write it).
pub fn write_mode(path: &Path, bytes: &[u8], mode: u32) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }
    #[cfg(not(unix))]
    let _ = mode;
}

pub fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}
