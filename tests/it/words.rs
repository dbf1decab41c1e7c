//! Messages name a setting as the user's platform gives it: an action input
//! on GitHub, a component input or variable on GitLab, a repository variable
//! on Bitbucket, an option locally. Skipping for absent keys never tells the
//! user to do what they did, and on GitHub it is a `::notice::`.

use crate::common::*;

#[derive(Clone, Copy, Debug)]
enum Platform {
    Github,
    Gitlab,
    Bitbucket,
    Local,
}

const PLATFORMS: [Platform; 4] = [
    Platform::Github,
    Platform::Gitlab,
    Platform::Bitbucket,
    Platform::Local,
];

impl Platform {
    fn world(self, keys: bool) -> World {
        let mut world = if keys { World::new() } else { World::bare() };
        world.set("COMPOSER_HOME", world.home.join(".composer"));
        match self {
            Platform::Github => {
                world.github_runner("9", "build");
            }
            Platform::Gitlab => {
                world.set("GITLAB_CI", "true").set("CI_JOB_ID", "9");
            }
            Platform::Bitbucket => {
                world
                    .set("BITBUCKET_BUILD_NUMBER", "9")
                    .set("BITBUCKET_STEP_UUID", "{9}");
            }
            Platform::Local => {}
        }
        world
    }

    /// How `--on-missing` and `--repo-url` are named to this platform's users.
    fn words(self, option: &str) -> String {
        let (input, variable) = match option {
            "--on-missing" => ("on-missing", "MAGENTO_AUTH_ON_MISSING"),
            "--repo-url" => ("repository-url", "MAGENTO_AUTH_REPO_URL"),
            "--require-package" => ("require-packages", "MAGENTO_AUTH_REQUIRE_PACKAGES"),
            other => panic!("no words for {other}"),
        };
        match self {
            Platform::Github => format!("the action input `{input}`"),
            Platform::Gitlab => format!("the component input `{input}` (variable {variable})"),
            Platform::Bitbucket => format!("the repository variable {variable}"),
            Platform::Local => option.to_string(),
        }
    }

    /// Where the keys come from, in this platform's words.
    fn key_words(self) -> &'static str {
        match self {
            Platform::Github => "the action inputs `public-key` and `private-key`",
            Platform::Gitlab => "the CI/CD variables MAGENTO_PUBLIC_KEY and MAGENTO_PRIVATE_KEY",
            Platform::Bitbucket => {
                "the repository variables MAGENTO_PUBLIC_KEY and MAGENTO_PRIVATE_KEY"
            }
            Platform::Local => "MAGENTO_PUBLIC_KEY and MAGENTO_PRIVATE_KEY",
        }
    }

    fn is_ci(self) -> bool {
        !matches!(self, Platform::Local)
    }
}

fn said(out: &Outcome) -> String {
    format!("{}{}", out.stdout, out.stderr)
}

#[test]
fn skipping_names_the_setting_in_the_platforms_words_and_does_not_ask_for_itself() {
    for platform in PLATFORMS {
        for command in ["setup", "check", "exec", "scan"] {
            let mut world = platform.world(false);
            world.set("MAGENTO_AUTH_ON_MISSING", "skip");
            let mut args = vec![command];
            if command == "exec" {
                args.extend(["--", "true"]);
            }
            let out = world.run(&args).ok();
            let text = said(&out);
            let context = format!("{platform:?} {command}: {out:#?}");
            assert!(text.contains("skipped: no Marketplace keys"), "{context}");
            assert!(text.contains(platform.key_words()), "{context}");
            assert!(
                text.contains(&format!(
                    "going on without credentials, as {} says",
                    platform.words("--on-missing")
                )),
                "{context}"
            );
            // It skipped as asked: it must not tell the user to ask for it.
            assert!(!text.contains("to skip"), "{context}");
            assert!(!text.contains("Use --on-missing"), "{context}");
            if platform.is_ci() {
                assert!(!text.contains("--on-missing"), "{context}");
            }
        }
    }
}

#[test]
fn missing_keys_name_the_setting_in_the_platforms_words() {
    for platform in PLATFORMS {
        let out = platform.world(false).run(&["setup", "--no-check"]).code(3);
        let text = said(&out);
        let context = format!("{platform:?}: {out:#?}");
        assert!(
            text.contains(&format!("no Marketplace keys: {}", platform.key_words())),
            "{context}"
        );
        assert!(
            text.contains(&format!("set {} to skip", platform.words("--on-missing"))),
            "{context}"
        );
        if platform.is_ci() {
            assert!(!text.contains("--on-missing"), "{context}");
            assert!(!text.contains("--public-key-env"), "{context}");
        }
    }
}

#[test]
fn bad_settings_are_named_in_the_platforms_words() {
    let cases = [
        ("MAGENTO_AUTH_REPO_URL", "http://example.com", "--repo-url"),
        (
            "MAGENTO_AUTH_REQUIRE_PACKAGES",
            "Not A Name",
            "--require-package",
        ),
    ];
    for platform in PLATFORMS {
        for (variable, value, option) in cases {
            let mut world = platform.world(false);
            world.set(variable, value);
            let out = world.run(&["check"]).code(3);
            let text = said(&out);
            let context = format!("{platform:?} {variable}: {out:#?}");
            assert!(text.contains(&platform.words(option)), "{context}");
            if platform.is_ci() {
                assert!(!text.contains(option), "{context}");
            }
        }
    }
}

/// On GitHub a skip is a `::notice::` on stdout, where the runner turns it
/// into an annotation on the run's page; outputs still say `skipped`.
#[test]
fn github_shows_a_skip_as_a_notice() {
    for command in ["setup", "check", "exec", "scan"] {
        let mut world = World::bare();
        let files = world.github_runner("9", "build");
        world.set("MAGENTO_AUTH_ON_MISSING", "skip");
        let mut args = vec![command];
        if command == "exec" {
            args.extend(["--", "true"]);
        }
        let out = world.run(&args).ok();
        let notices: Vec<&str> = out
            .stdout
            .lines()
            .filter(|l| l.starts_with("::notice title=magento-auth::skipped: no Marketplace keys"))
            .collect();
        assert_eq!(notices.len(), 1, "{command}: {out:#?}");
        // Workflow-command data: one line, nothing that could start another.
        assert!(
            !notices[0][2..].contains("::error"),
            "{command}: {notices:?}"
        );
        if command == "setup" {
            let output = std::fs::read_to_string(&files["GITHUB_OUTPUT"]).unwrap();
            assert!(output.contains("\nskipped\n"), "{output}");
        }
    }
}

/// On GitLab the skip stays outside the collapsed section, in view.
#[test]
fn gitlab_keeps_a_skip_in_view() {
    let mut world = Platform::Gitlab.world(false);
    world.set("MAGENTO_AUTH_ON_MISSING", "skip");
    let out = world.run(&["setup"]).ok();
    let mut open = false;
    for line in out.stderr.lines() {
        if line.contains("section_start:") {
            open = true;
        }
        if line.contains("section_end:") {
            open = false;
        }
        if line.contains("skipped: no Marketplace keys") {
            assert!(!open, "the skip is folded away: {out:#?}");
            return;
        }
    }
    panic!("no skip line: {out:#?}");
}

/// Setup checks the keys before it writes them (a failed check writes
/// nothing): no help text or document may say it writes first. A sentence
/// that names writing (or setting up) before checking says so.
#[test]
fn texts_say_setup_checks_before_it_writes() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut texts: Vec<(String, Vec<String>)> = Vec::new();
    let mut files = vec![
        "README.md".to_string(),
        "action.yml".into(),
        "templates/magento-auth.yml".into(),
    ];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".md") {
            files.push(format!("docs/{name}"));
        }
    }
    for file in files {
        let text = std::fs::read_to_string(root.join(&file)).unwrap();
        let sentences = text
            .split("\n\n")
            .flat_map(|p| p.split(['.', ';', '|']))
            .map(str::to_string)
            .collect();
        texts.push((file, sentences));
    }
    for command in ["", "setup", "exec"] {
        let args: Vec<&str> = [command, "--help"]
            .into_iter()
            .filter(|a| !a.is_empty())
            .collect();
        let help = World::bare().run(&args).ok().stdout;
        let lines = help.lines().map(str::to_string).collect();
        texts.push((format!("magento-auth {command} --help"), lines));
    }
    let mut wrong = Vec::new();
    for (source, sentences) in &texts {
        for sentence in sentences {
            let plain = sentence.split_whitespace().collect::<Vec<_>>().join(" ");
            if writes_before_checking(&plain.to_lowercase()) {
                wrong.push(format!("{source}: {plain}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "write-then-check wording:\n{}",
        wrong.join("\n")
    );
}

/// Whether `text` names writing or setting up before checking.
fn writes_before_checking(text: &str) -> bool {
    const WRITING: [&str; 7] = [
        "write ",
        "writes ",
        "sets the keys up",
        "sets them up",
        "set up,",
        "give composer",
        "gives composer",
    ];
    let first_write = WRITING
        .iter()
        .filter_map(|w| text.find(w))
        // "before they write" is the right order.
        .filter(|&at| !text[..at].ends_with("before they ") && !text[..at].ends_with("before it "))
        .min();
    let first_check = text.match_indices("check").map(|(at, _)| at).find(|&at| {
        let before = text[..at].chars().last();
        let after = &text[at + "check".len()..];
        before.is_none_or(|c| c == ' ' || c == '(' || c == ',')
            && (after.starts_with(' ') || after.starts_with("s ") || after.starts_with(','))
    });
    matches!((first_write, first_check), (Some(w), Some(c)) if w < c)
}

/// The check's own hints (here a 404) name the repository's setting in the
/// platform's words too.
#[test]
fn the_checks_hints_name_the_repository_setting_in_the_platforms_words() {
    for platform in PLATFORMS {
        let repo = crate::fake_repo::FakeRepo::http();
        let mut world = platform.world(true);
        world.set("MAGENTO_AUTH_REPO_URL", repo.url());
        // On GitHub stdout starts with the keys' ::add-mask:: lines, by design.
        let out = world
            .run_secret_stdout(&["check", "--retries", "0"])
            .code(6);
        let unmasked: Vec<&str> = out
            .stdout
            .lines()
            .filter(|l| !l.starts_with("::add-mask::"))
            .collect();
        assert_no_secret(&unmasked.join("\n"), "stdout");
        let text = said(&out);
        let context = format!("{platform:?}: {out:#?}");
        assert!(text.contains("HTTP 404"), "{context}");
        let words = format!("check {};", platform.words("--repo-url"));
        assert!(text.contains(&words), "{context}");
        if platform.is_ci() {
            assert!(!text.contains("--repo-url"), "{context}");
        }
    }
}
