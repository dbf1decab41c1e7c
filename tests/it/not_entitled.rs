//! The not-entitled hint tells the cases apart (issue 13, item 7): a typo
//! close to a name the repository lists, an Adobe Commerce package (the
//! MAGEID), a third-party vendor's extension (another account, or not bought).

use serde_json::Value;

use crate::common::*;
use crate::fake_repo::*;

const CE: &str = "magento/product-community-edition";
const EE: &str = "magento/product-enterprise-edition";
const VENDOR: &str = "amasty/module-shop-by-brand";

/// `check --json` against an HTTP fake serving `names` in `layout`, each of
/// `required` asked for: the hint, after the exit code (5) and status.
fn hint(layout: fn(&FakeRepo, &[&str]), names: &[&str], required: &[&str]) -> String {
    let world = World::new();
    let repo = FakeRepo::http();
    repo.require_keys(PUBLIC, PRIVATE);
    layout(&repo, names);
    let mut args = vec!["check", "--json"];
    let url = repo.url();
    args.extend(["--repo-url", &url]);
    for name in required {
        args.extend(["--require-package", name]);
    }
    let out = world.run(&args).code(5);
    let json: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(json["status"], "not-entitled", "{out:#?}");
    let hint = json["hint"].as_str().unwrap().to_string();
    // The words reach stderr too, through the same sanitiser.
    assert!(out.stderr.contains(&hint[..20]), "{out:#?}");
    hint
}

fn composer1(repo: &FakeRepo, names: &[&str]) {
    serve_composer1(repo, names);
}

fn composer2_listed(repo: &FakeRepo, names: &[&str]) {
    serve_composer2(repo, names, true);
}

#[test]
fn a_typo_gets_did_you_mean_from_the_list_already_read() {
    for layout in [composer1 as fn(&FakeRepo, &[&str]), composer2_listed] {
        let hint = hint(layout, &[CE, EE], &["magento/product-enterprise-editon"]);
        assert!(
            hint.starts_with(&format!(
                "did you mean {EE} (not magento/product-enterprise-editon)?"
            )),
            "{hint}"
        );
        assert!(!hint.contains("MAGEID"), "{hint}");
    }
    // No request beyond the check's own: packages.json and the provider file.
    let world = World::new();
    let repo = FakeRepo::http();
    repo.require_keys(PUBLIC, PRIVATE);
    serve_composer1(&repo, &[CE, EE]);
    let url = repo.url();
    let args = [
        "check",
        "--repo-url",
        &url,
        "--require-package",
        "magento/product-enterprise-editon",
    ];
    world.run(&args).code(5).stderr_has("did you mean");
    assert_eq!(repo.requests().len(), 2, "{:?}", repo.paths());
}

#[test]
fn a_commerce_package_gets_the_mageid_story() {
    let hint = hint(composer1, &[CE], &[EE]);
    assert!(hint.contains("MAGEID"), "{hint}");
    assert!(
        !hint.contains("did you mean") && !hint.contains("third-party"),
        "{hint}"
    );
}

#[test]
fn a_third_party_extension_is_about_the_account_that_bought_it() {
    for layout in [composer1 as fn(&FakeRepo, &[&str]), composer2_listed] {
        let hint = hint(layout, &[CE, "amasty/module-other"], &[VENDOR]);
        assert!(hint.contains("third-party vendor"), "{hint}");
        assert!(hint.contains("bought with another account"), "{hint}");
        assert!(!hint.contains("MAGEID"), "{hint}");
    }
}

#[test]
fn every_case_at_once_names_its_packages() {
    let hint = hint(
        composer1,
        &[CE, EE],
        &[
            "magento/product-enterprise-editon",
            "magento/module-b2b",
            VENDOR,
        ],
    );
    assert!(hint.contains(&format!("did you mean {EE}")), "{hint}");
    assert!(
        hint.contains(
            "; magento/module-b2b: Adobe Commerce packages need keys created under a MAGEID"
        ),
        "{hint}"
    );
    assert!(
        hint.contains(&format!("; {VENDOR}: an extension of a third-party vendor")),
        "{hint}"
    );
}

#[test]
fn a_hostile_listed_name_is_never_suggested() {
    // A name one edit away, its last letter an escape character: close,
    // but not a package name, so it is not shown.
    let hostile = "magento/product-enterprise-editio\u{1b}";
    let world = World::new();
    let repo = FakeRepo::http();
    repo.require_keys(PUBLIC, PRIVATE);
    serve_composer2(&repo, &[CE, hostile], true);
    let url = repo.url();
    let out = world
        .run(&["check", "--repo-url", &url, "--require-package", EE])
        .code(5);
    assert!(!out.stderr.contains('\u{1b}'), "{out:#?}");
    assert!(!out.stderr.contains("did you mean"), "{out:#?}");
}
