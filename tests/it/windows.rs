//! What only Windows does: Composer's home under %APPDATA%, and a child
//! started by exec through cmd.exe. Run under wine by scripts/windows-tests.

use std::fs;

use crate::common::*;

#[test]
fn without_composer_home_it_uses_appdata_like_composer() {
    let mut world = World::new();
    world.unset("COMPOSER_HOME");
    let appdata = world.home.join("AppData").join("Roaming");
    fs::create_dir_all(&appdata).unwrap();
    world.set("APPDATA", &appdata);
    let auth = appdata.join("Composer").join("auth.json");
    world.run(&["setup", "--no-check"]).ok();
    assert_eq!(
        json(&auth)["http-basic"]["repo.magento.com"]["password"],
        PRIVATE
    );
    world.run(&["cleanup"]).ok().stderr_has("removed");
    assert!(!auth.exists());
    world.assert_no_secret_in_files();
}

#[test]
fn exec_writes_for_a_cmd_child_and_restores_after() {
    let world = World::new();
    let original = "{\n    \"github-oauth\": {\n        \"github.com\": \"t\"\n    }\n}\n";
    write_mode(&world.home_auth(), original.as_bytes(), 0o644);
    let auth = world.home_auth();
    // The child tells by its status whether the keys' file is there.
    let probe = format!(
        "findstr /c:\"repo.magento.com\" \"{}\" >nul && exit 5 || exit 6",
        auth.display()
    );
    world
        .run(&["exec", "--no-check", "--", "cmd", "/c", &probe])
        .code(5);
    assert_eq!(fs::read_to_string(&auth).unwrap(), original);
    assert!(!world.state_file().exists());
    world.assert_no_secret_in_files();
}

/// Windows refuses to replace or delete a file another process holds open
/// without delete sharing (Composer reading auth.json, a virus scanner, an
/// indexer): setup and cleanup wait a moment for it instead of failing.
#[test]
fn a_file_held_open_for_a_moment_by_another_process_does_not_fail_setup_or_cleanup() {
    use std::os::windows::fs::OpenOptionsExt;
    const FILE_SHARE_READ: u32 = 1;
    const FILE_SHARE_WRITE: u32 = 2;
    let world = World::new();
    let original = "{\n    \"github-oauth\": {\n        \"github.com\": \"t\"\n    }\n}\n";
    write_mode(&world.home_auth(), original.as_bytes(), 0o644);
    for command in [["setup", "--no-check"].as_slice(), &["cleanup"]] {
        let held = fs::OpenOptions::new()
            .read(true)
            .share_mode(FILE_SHARE_READ | FILE_SHARE_WRITE)
            .open(world.home_auth())
            .unwrap();
        let reader = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            drop(held);
        });
        world.run(command).ok();
        reader.join().unwrap();
    }
    assert_eq!(fs::read_to_string(world.home_auth()).unwrap(), original);
    world.assert_no_secret_in_files();
}
