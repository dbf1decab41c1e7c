use std::fs;

use crate::common::*;

#[test]
fn home_mode_writes_a_private_auth_json_and_cleanup_removes_it() {
    let world = World::new();
    world
        .run(&["setup", "--no-check"])
        .ok()
        .stderr_has("wrote credentials for repo.magento.com");
    let auth = world.home_auth();
    assert_eq!(mode(&auth), 0o600);
    assert_eq!(mode(&world.composer_home()), 0o700);
    let doc = json(&auth);
    assert_eq!(doc["http-basic"]["repo.magento.com"]["username"], PUBLIC);
    assert_eq!(doc["http-basic"]["repo.magento.com"]["password"], PRIVATE);
    assert_eq!(mode(&world.state_file()), 0o600);
    assert_eq!(mode(world.state_file().parent().unwrap()), 0o700);

    world.run(&["cleanup"]).ok().stderr_has("removed");
    assert!(!auth.exists());
    assert!(
        !world.composer_home().exists(),
        "the directory setup created is gone"
    );
    assert!(!world.state_file().exists());
    world.assert_no_secret_in_files();
    assert!(
        fs::read_dir(&world.tmp).unwrap().next().is_none(),
        "nothing left in TMPDIR"
    );
}
