//! Every setting's name where a user gives it: the option, its variable,
//! the GitHub Action's input and the GitLab component's input. Messages name
//! a setting through here, so that a GitHub user reads of the action's
//! inputs, a GitLab user of the component's inputs and variables, and a
//! local user of options.

use std::sync::OnceLock;

/// Who reads the messages: decides the words a setting is named in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Audience {
    Github,
    Gitlab,
    Bitbucket,
    Local,
}

/// One setting in each of its places. `action` and `component` are what
/// the user writes under `with:` / `inputs:` (a value when an input takes
/// several settings, as `check` does).
#[derive(Debug)]
pub(crate) struct Setting {
    pub(crate) option: &'static str,
    pub(crate) variable: Option<&'static str>,
    pub(crate) action: Option<&'static str>,
    pub(crate) component: Option<&'static str>,
}

const fn row(
    option: &'static str,
    variable: Option<&'static str>,
    action: Option<&'static str>,
    component: Option<&'static str>,
) -> Setting {
    Setting {
        option,
        variable,
        action,
        component,
    }
}

/// The table: every option of every command has a row (a unit test holds
/// clap's definitions, action.yml and the component to it).
pub(crate) const SETTINGS: &[Setting] = &[
    row(
        "--mode",
        Some("MAGENTO_AUTH_MODE"),
        Some("mode"),
        Some("mode"),
    ),
    row(
        "--no-check",
        Some("MAGENTO_AUTH_NO_CHECK"),
        Some("check: false"),
        Some("check: false"),
    ),
    row(
        "--warn-only",
        Some("MAGENTO_AUTH_WARN_ONLY"),
        Some("check: warn"),
        Some("check: warn"),
    ),
    row(
        "--public-key-env",
        None,
        Some("public-key"),
        Some("public-key-variable"),
    ),
    row(
        "--private-key-env",
        None,
        Some("private-key"),
        Some("private-key-variable"),
    ),
    row("--private-key-stdin", None, None, None),
    row(
        "--on-missing",
        Some("MAGENTO_AUTH_ON_MISSING"),
        Some("on-missing"),
        Some("on-missing"),
    ),
    row(
        "--repo-url",
        Some("MAGENTO_AUTH_REPO_URL"),
        Some("repository-url"),
        Some("repository-url"),
    ),
    row(
        "--working-dir",
        Some("MAGENTO_AUTH_WORKING_DIR"),
        Some("working-directory"),
        Some("working-directory"),
    ),
    row(
        "--require-package",
        Some("MAGENTO_AUTH_REQUIRE_PACKAGES"),
        Some("require-packages"),
        Some("require-packages"),
    ),
    row("--timeout", None, None, None),
    row("--retries", None, None, None),
    row("--ca-file", None, None, None),
    row("--ci", Some("MAGENTO_AUTH_CI"), None, None),
    row("--state-file", Some("MAGENTO_AUTH_STATE_FILE"), None, None),
    row("--json", None, None, None),
    row("--download-token", None, None, None),
    row("--download-token-url", None, None, None),
    row("--scan", None, None, None),
    row("--scan-timeout", None, None, None),
    row("--whole-files", None, None, None),
    // The action's and the component's `scan` input also takes `false`
    // (no sweep at all); `warn` and `fail` are this option's values.
    row(
        "--on-leak",
        Some("MAGENTO_AUTH_ON_LEAK"),
        Some("scan"),
        Some("scan"),
    ),
];

static AUDIENCE: OnceLock<Audience> = OnceLock::new();

/// Say who reads this run's messages; once, before any is composed.
pub(crate) fn speak_to(audience: Audience) {
    let _ = AUDIENCE.set(audience);
}

fn audience() -> Audience {
    AUDIENCE.get().copied().unwrap_or(Audience::Local)
}

/// `option` (`--repo-url`) named as this run's reader gives it.
pub(crate) fn name(option: &str) -> String {
    name_for(option, audience())
}

/// "give {setting} another value", for hints that offer a way around.
pub(crate) fn another_value(option: &str) -> String {
    format!("give {} another value", name(option))
}

/// `option` named as `audience` gives it: a noun phrase that reads in any
/// sentence ("check {name}", "{name} is not ...").
pub(crate) fn name_for(option: &str, audience: Audience) -> String {
    let Some(setting) = SETTINGS.iter().find(|s| s.option == option) else {
        debug_assert!(false, "{option} has no row in SETTINGS");
        return option.to_string();
    };
    match (audience, setting) {
        (
            Audience::Github,
            Setting {
                action: Some(input),
                ..
            },
        ) => format!("the action input `{input}`"),
        (
            Audience::Gitlab,
            Setting {
                component: Some(input),
                variable: Some(variable),
                ..
            },
        ) => format!("the component input `{input}` (variable {variable})"),
        (
            Audience::Gitlab,
            Setting {
                component: Some(input),
                ..
            },
        ) => format!("the component input `{input}`"),
        (
            Audience::Gitlab,
            Setting {
                variable: Some(variable),
                ..
            },
        ) => format!("the variable {variable}"),
        (
            Audience::Bitbucket,
            Setting {
                variable: Some(variable),
                ..
            },
        ) => format!("the repository variable {variable}"),
        _ => option.to_string(),
    }
}

/// Absent keys in the reader's words: `public` and `private` name what
/// was read (variables, or standard input).
pub(crate) struct MissingKeys {
    /// Which settings were empty.
    pub(crate) what: String,
    /// Where the keys belong.
    pub(crate) fix: String,
    /// Why CI may have withheld them.
    pub(crate) why: &'static str,
    /// The setting that lets such jobs go on without keys.
    pub(crate) on_missing: String,
}

pub(crate) fn missing_keys(public: &str, private: &str) -> MissingKeys {
    missing_keys_for(public, private, audience())
}

pub(crate) fn missing_keys_for(public: &str, private: &str, audience: Audience) -> MissingKeys {
    let (what, fix, why) = match audience {
        Audience::Github => (
            "the action inputs `public-key` and `private-key` are empty".to_string(),
            "pass the keys to the action inputs `public-key` and `private-key` from secrets"
                .to_string(),
            "GitHub gives no secrets to pull requests from forks or to Dependabot runs",
        ),
        Audience::Gitlab => (
            format!("the CI/CD variables {public} and {private} are not set or empty"),
            format!(
                "store the keys as masked CI/CD variables {public} and {private} (the \
                 component inputs `public-key-variable` and `private-key-variable` name others)"
            ),
            "GitLab withholds masked variables from merge requests from forks, and protected \
             ones from unprotected branches",
        ),
        Audience::Bitbucket => (
            format!("the repository variables {public} and {private} are not set or empty"),
            format!("store the keys as secured repository variables {public} and {private}"),
            "Bitbucket withholds secured variables from pull requests from forks",
        ),
        Audience::Local => (
            format!("{public} and {private} are not set or empty"),
            format!(
                "export {public} and {private}, or name other variables with --public-key-env \
                 and --private-key-env"
            ),
            "CI withholds secrets from jobs it does not trust, such as pull requests from forks",
        ),
    };
    MissingKeys {
        what,
        fix,
        why,
        on_missing: name_for("--on-missing", audience),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Cli;
    use clap::CommandFactory;

    /// Every option of every command has a row, and every row an option.
    #[test]
    fn every_option_has_a_row() {
        let cli = Cli::command();
        let mut seen = Vec::new();
        for command in cli.get_subcommands() {
            for arg in command.get_arguments() {
                let Some(long) = arg.get_long() else { continue };
                if matches!(long, "help" | "version") {
                    continue;
                }
                let option = format!("--{long}");
                let row = SETTINGS.iter().find(|s| s.option == option);
                let row = row.unwrap_or_else(|| panic!("{option} has no row in SETTINGS"));
                let variable = arg.get_env().map(|v| v.to_string_lossy().into_owned());
                assert_eq!(
                    row.variable.map(str::to_string),
                    variable,
                    "{option} of {}: its variable",
                    command.get_name()
                );
                seen.push(option);
            }
        }
        for row in SETTINGS {
            assert!(
                seen.contains(&row.option.to_string()),
                "{} is no option",
                row.option
            );
        }
    }

    /// The inputs named are the action's and the component's.
    #[test]
    fn inputs_exist() {
        let action = include_str!("../../action.yml");
        let component = include_str!("../../templates/magento-auth.yml");
        for row in SETTINGS {
            if let Some(input) = row.action {
                let name = input.split(':').next().unwrap();
                assert!(
                    action.contains(&format!("\n  {name}:\n")),
                    "action.yml: {name}"
                );
            }
            if let Some(input) = row.component {
                let name = input.split(':').next().unwrap();
                assert!(
                    component.contains(&format!("\n    {name}:\n")),
                    "component: {name}"
                );
            }
        }
    }

    #[test]
    fn each_platform_has_its_words() {
        let cases = [
            (Audience::Github, "the action input `repository-url`"),
            (
                Audience::Gitlab,
                "the component input `repository-url` (variable MAGENTO_AUTH_REPO_URL)",
            ),
            (
                Audience::Bitbucket,
                "the repository variable MAGENTO_AUTH_REPO_URL",
            ),
            (Audience::Local, "--repo-url"),
        ];
        for (audience, words) in cases {
            assert_eq!(name_for("--repo-url", audience), words, "{audience:?}");
        }
        assert_eq!(name_for("--timeout", Audience::Github), "--timeout");
        assert_eq!(
            name_for("--no-check", Audience::Github),
            "the action input `check: false`"
        );
        assert_eq!(
            name_for("--ci", Audience::Gitlab),
            "the variable MAGENTO_AUTH_CI"
        );
    }
}
