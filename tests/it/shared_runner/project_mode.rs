//! Item 14: in project mode the workspace gains nothing but auth.json (no
//! ledger, backup or temporary file git could pick up or an artifact could
//! ship), and git sees exactly what it saw before once cleanup ran.

use super::*;

/// The project's auth.json before setup: another host's credentials.
const PREVIOUS: &str =
    r#"{"http-basic": {"other.example": {"username": "u", "password": "prevpass"}}}"#;

/// Git with nothing of the machine's or the user's configuration.
fn git(world: &World, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &world.home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .current_dir(&world.project)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Every file and symlink below the project, `.git` left out.
fn project_files(world: &World) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![world.project.clone()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if entry.file_name() == ".git" {
                continue;
            }
            if entry.file_type().unwrap().is_dir() {
                pending.push(path.clone());
            }
            out.push(path.strip_prefix(&world.project).unwrap().to_path_buf());
        }
    }
    out.sort();
    out
}

#[test]
fn project_mode_adds_nothing_but_auth_json() {
    for ignored in [true, false] {
        let world = World::new();
        git(&world, &["init", "-q"]);
        fs::write(world.project.join("composer.json"), "{}\n").unwrap();
        if ignored {
            fs::write(world.project.join(".gitignore"), "/auth.json\n").unwrap();
        }
        git(&world, &["add", "."]);
        git(&world, &["commit", "-q", "-m", "project"]);
        let auth = world.project.join("auth.json");
        write_mode(&auth, PREVIOUS.as_bytes(), 0o644);
        let status = git(&world, &["status", "--porcelain", "--ignored"]);
        let files = project_files(&world);
        let context = format!("auth.json ignored by git: {ignored}");

        let job = Job::canary("project");
        let dir = world.project.display().to_string();
        job.run(
            &world,
            "setup",
            &["--mode", "project", "--working-dir", &dir],
        )
        .ok();
        assert_eq!(
            json(&auth)["http-basic"]["repo.magento.com"],
            job.entry(),
            "{context}"
        );
        assert_eq!(
            project_files(&world),
            files,
            "{context}: the project gained files while set up"
        );
        // `.git` included: nothing of the previous file hides in there either.
        for (path, bytes) in files_under(&world.project) {
            assert!(
                path == auth || !String::from_utf8_lossy(&bytes).contains("prevpass"),
                "{context}: {} holds the previous auth.json's password",
                path.display()
            );
        }

        job.run(&world, "cleanup", &[]).ok();
        assert_eq!(
            git(&world, &["status", "--porcelain", "--ignored"]),
            status,
            "{context}"
        );
        assert_eq!(fs::read_to_string(&auth).unwrap(), PREVIOUS, "{context}");
        assert_eq!(mode(&auth), 0o644, "{context}");
        assert_no_key_under(&world.root);
    }
}
