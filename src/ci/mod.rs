//! The CI platform a job runs on: detection and the job's identity.

pub(crate) mod github;
pub(crate) mod gitlab;

use crate::cli::CiName;
use crate::cli::settings::Audience;
use crate::report::{Console, Reporter};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Platform {
    Github,
    Gitlab,
    Bitbucket,
    Local,
}

impl Platform {
    /// `--ci` if given, else what the environment says.
    pub(crate) fn detect(choice: Option<CiName>) -> Self {
        match choice {
            Some(CiName::Github) => Platform::Github,
            Some(CiName::Gitlab) => Platform::Gitlab,
            Some(CiName::Bitbucket) => Platform::Bitbucket,
            Some(CiName::None) => Platform::Local,
            None if is_true("GITHUB_ACTIONS") => Platform::Github,
            None if is_true("GITLAB_CI") => Platform::Gitlab,
            None if var("BITBUCKET_BUILD_NUMBER").is_some() => Platform::Bitbucket,
            None => Platform::Local,
        }
    }
}

impl Platform {
    /// Who reads the messages, for the words settings are named in.
    pub(crate) fn audience(self) -> Audience {
        match self {
            Platform::Github => Audience::Github,
            Platform::Gitlab => Audience::Gitlab,
            Platform::Bitbucket => Audience::Bitbucket,
            Platform::Local => Audience::Local,
        }
    }

    /// The reporter that speaks this platform's log language.
    pub(crate) fn reporter(self) -> Box<dyn Reporter> {
        match self {
            Platform::Github => Box::new(github::GithubReporter::default()),
            Platform::Gitlab => Box::new(gitlab::GitlabReporter::default()),
            Platform::Bitbucket | Platform::Local => Box::new(Console),
        }
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn is_true(name: &str) -> bool {
    var(name).is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// The job's identity, for the state file's name: the same in every step and
/// shell of one job (GitLab's `after_script`, Bitbucket's `after-script`).
/// Outside CI, the current directory: a shell in one project never undoes
/// what a shell in another set up.
pub(crate) fn job_id() -> String {
    let raw = if let Some(id) = var("CI_JOB_ID") {
        id
    } else if let Some(uuid) = var("BITBUCKET_STEP_UUID") {
        uuid
    } else if let (Some(run), Some(job)) = (var("GITHUB_RUN_ID"), var("GITHUB_JOB")) {
        format!("{run}-{job}")
    } else {
        return local_id();
    };
    sanitize(&raw)
}

/// `local-<hash>` of the current directory (as its real path).
fn local_id() -> String {
    let here = std::env::current_dir()
        .and_then(|d| d.canonicalize())
        .unwrap_or_default();
    let hash = crate::digest::sha256_hex(here.as_os_str().as_encoded_bytes());
    format!("local-{}", &hash[..12])
}

/// Keep a file name safe: letters, digits, `-`, `_`, `.`; nothing else.
fn sanitize(raw: &str) -> String {
    let clean: String = raw
        .chars()
        .filter_map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '_' => Some(c),
            '.' => Some('_'),
            '{' | '}' => None,
            _ => Some('_'),
        })
        .take(100)
        .collect();
    if clean.is_empty() {
        "local".into()
    } else {
        clean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_ids_are_safe_file_names() {
        assert_eq!(
            sanitize("{8c3e1a52-0f3c-4b0e-9f5e-4b2a0c7e9d11}"),
            "8c3e1a52-0f3c-4b0e-9f5e-4b2a0c7e9d11"
        );
        assert_eq!(sanitize("123-build/../x"), "123-build____x");
        assert_eq!(sanitize("{}"), "local");
    }
}
