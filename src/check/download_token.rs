//! `--download-token`: the MAGEID and download access token pair, checked
//! against Adobe's download endpoint with Basic auth (never in the URL, TLS
//! verified: the seed's `curl -k` is not copied).

use anyhow::Result;

use super::classify::{self, Context};
use super::http::{BasicAuth, Client};
use super::trust;
use crate::cli::CheckCommandArgs;
use crate::composer::repo_url::{RepoUrl, UrlError};
use crate::exit::{Failure, Outcome, Status};
use crate::report::Reporter;
use crate::secret::Secret;

pub(crate) const DEFAULT_URL: &str = "https://www.magentocommerce.com/products/downloads/info/help";
const MAGEID: &str = "MAGENTO_MAGEID";
const TOKEN: &str = "MAGENTO_DOWNLOAD_TOKEN";

/// The URL the pair is checked against, refused (before anything is sent,
/// and without echoing it) when it is not https or carries credentials.
pub(crate) fn validate_url(args: &CheckCommandArgs) -> Result<RepoUrl, Failure> {
    let url_text = args.download_token_url.as_deref().unwrap_or(DEFAULT_URL);
    match RepoUrl::absolute(url_text) {
        Ok(url) if url.may_carry_credentials() => Ok(url),
        Err(UrlError::Credentials) => Err(Failure::bad_input(
            "the download token URL carries credentials (user:pass@)",
        )
        .with_hint(
            "give the URL without them; the pair comes from MAGENTO_MAGEID and \
             MAGENTO_DOWNLOAD_TOKEN",
        )),
        _ => Err(Failure::bad_input("the download token URL must be https")),
    }
}

/// Check the pair and fold the outcome into `report`.
pub(crate) fn check(
    args: &CheckCommandArgs,
    report: &mut Outcome,
    reporter: &mut dyn Reporter,
) -> Result<()> {
    let var = |name: &str| {
        std::env::var(name)
            .ok()
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .map(Secret::new)
    };
    let (Some(mageid), Some(token)) = (var(MAGEID), var(TOKEN)) else {
        let missing = Outcome::of(
            Status::MissingKeys,
            format!("--download-token needs {MAGEID} and {TOKEN}, and they are not both set"),
        )
        .with_hint(
            "your MAGEID is shown top left of your magento.com account page; the token is made \
             under My Account, Account Settings, Downloads Access Token; pass both from masked \
             secrets",
        );
        conclude(report, missing);
        return Ok(());
    };
    reporter.mask(token.expose());
    // Not a secret to mask in CI logs, but never quoted back from a server.
    crate::sanitize::register(mageid.expose());
    let url_text = args.download_token_url.as_deref().unwrap_or(DEFAULT_URL);
    let url = validate_url(args)?;
    let roots = trust::Roots::load(args.check.ca_file.as_deref())?;
    let timeout = crate::cli::timeout(args.check.timeout)?;
    let retries = crate::cli::retries(args.check.retries)?;
    let mut client = match Client::new(roots, timeout, retries) {
        Ok(client) => client,
        Err(why) => {
            conclude(report, Outcome::of(Status::Unreachable, why));
            return Ok(());
        }
    };
    let auth = BasicAuth::new(url.auth_host(), &mageid, &token);
    let result = client.get(&url, Some(&auth));
    report.attempts += client.attempts;
    report.duration_ms += u64::try_from(client.elapsed().as_millis()).unwrap_or(0);
    match &result {
        Ok(reply) if reply.status == 200 => {
            report
                .message
                .push_str("; the download access token was accepted");
        }
        Ok(reply) if reply.status == 401 => {
            let rejected = Outcome::of(
                Status::InvalidKeys,
                format!("{url_text} rejected {MAGEID} and {TOKEN} (HTTP 401)"),
            )
            .with_hint(
                "the MAGEID is the username and the download access token the password; \
                 generating a new token (magento.com, My Account, Account Settings, Downloads \
                 Access Token) replaces and disables the old one",
            );
            conclude(report, rejected);
        }
        _ => {
            let proxy = client.proxy_for(&url).map(str::to_string);
            let verdict = classify::failure(
                &result,
                &Context {
                    url: url_text,
                    proxy: proxy.as_deref(),
                    attempts: client.attempts,
                },
            );
            conclude(report, verdict);
        }
    }
    Ok(())
}

/// The check's outcome with the pair's verdict in its place.
fn conclude(report: &mut Outcome, verdict: Outcome) {
    *report = std::mem::take(report).concluded(verdict);
}
