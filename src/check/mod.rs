//! The check of reachability, credentials and entitlements.
//!
//! Not built yet: every caller goes through [`run`], which says so plainly
//! rather than pretend that keys work.

use anyhow::Result;

use crate::cli::CheckArgs;
use crate::composer::repo_url::RepoUrl;
use crate::exit::{Code, Failure};
use crate::keys::Keys;
use crate::report::Reporter;

/// Check `keys` against `repo` as `args` asks; an error carries the outcome's
/// exit code and hint.
pub fn run(
    _repo: &RepoUrl,
    _keys: &Keys,
    _args: &CheckArgs,
    _reporter: &mut dyn Reporter,
) -> Result<()> {
    Err(Failure::new(Code::Unexpected, "the check is not built yet")
        .with_hint("pass --no-check to write the credentials without checking them")
        .into())
}
