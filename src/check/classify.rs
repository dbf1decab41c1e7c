//! From what the repository answered to a status, a message and a hint, in
//! the words of Adobe's page on Marketplace authentication keys.

use serde_json::{Map, Value};

use super::http::Reply;
use super::net_error::{NetError, NetKind};
use crate::cli::settings;
use crate::exit::{Outcome, Status};
use crate::sanitize;

/// An outcome of the table with its hint.
fn verdict(status: Status, message: String, hint: impl Into<String>) -> Outcome {
    Outcome::of(status, message).with_hint(hint)
}

pub(crate) const INVALID_KEYS_HINT: &str = "the public key is the username and the private key the password: \
     check that they are not swapped, and that the pair is enabled in Commerce Marketplace, \
     My Profile, Marketplace tab, Access Keys (disabled or deleted keys are rejected)";

pub(crate) const FORBIDDEN_HINT: &str = "the keys work but access was refused: the MAGEID they belong to \
     may lack access, or access expired because of an outstanding invoice; the primary contact \
     of the account should check its invoices, then contact Adobe Commerce support";

pub(crate) const NOT_ENTITLED_HINT: &str = "Adobe Commerce packages need keys created under a MAGEID \
     that has been granted access, usually the primary contact of the Adobe Commerce account, \
     who may not be the cloud project owner: ask them for keys, or to share access";

const TLS_HINT: &str = "the certificate must chain to a CA in the system trust store, in \
     SSL_CERT_FILE or SSL_CERT_DIR, or in --ca-file (behind a TLS-inspecting proxy, give its CA \
     that way); verification cannot be turned off";

/// Where the check was talking to, for messages.
pub(crate) struct Context<'a> {
    /// The URL requested, without credentials.
    pub(crate) url: &'a str,
    /// The proxy the request went through, if any.
    pub(crate) proxy: Option<&'a str>,
    pub(crate) attempts: u32,
}

/// The verdict on an answer that is not a 200, or on a failed request.
pub(crate) fn failure(result: &Result<Reply, NetError>, ctx: &Context) -> Outcome {
    match result {
        Ok(reply) => http_failure(reply, ctx),
        Err(err) => net_failure(err, ctx),
    }
}

fn http_failure(reply: &Reply, ctx: &Context) -> Outcome {
    let url = ctx.url;
    let status = reply.status;
    let said = server_warning(&reply.body)
        .map(|w| format!("; the repository says: \"{w}\""))
        .unwrap_or_default();
    match status {
        401 => verdict(
            Status::InvalidKeys,
            format!("{url} rejected the keys (HTTP 401){said}"),
            INVALID_KEYS_HINT,
        ),
        403 => verdict(
            Status::Forbidden,
            format!("{url} refused access (HTTP 403){said}"),
            FORBIDDEN_HINT,
        ),
        300..=399 => {
            let target = reply
                .location
                .as_deref()
                .map(location_host)
                .unwrap_or_else(|| "nowhere (no Location header)".into());
            verdict(
                Status::Unreachable,
                format!("{url} redirects (HTTP {status}) to {target}; redirects are not followed"),
                format!(
                    "credentials go to the repository's own host alone: give {} the address \
                     that answers without a redirect",
                    settings::name("--repo-url")
                ),
            )
        }
        404 => verdict(
            Status::Unreachable,
            format!("{url} was not found (HTTP 404){said}"),
            format!(
                "check {}; repo.magento.com also answers 404 when the licence was revoked \
                 or the keys were deleted: check them in Commerce Marketplace, My Profile, Access Keys",
                settings::name("--repo-url")
            ),
        ),
        429 | 500..=599 => verdict(
            Status::Unreachable,
            format!(
                "{url} answered HTTP {status}{} after {} attempt(s){}{said}",
                if status == 429 {
                    " (too many requests)"
                } else {
                    ""
                },
                ctx.attempts,
                reply
                    .retry_after
                    .map(|d| format!("; it asked to retry after {} s", d.as_secs()))
                    .unwrap_or_default()
            ),
            format!(
                "the repository is failing or limiting requests: try again later, or raise \
                 {} and {}",
                settings::name("--retries"),
                settings::name("--timeout")
            ),
        ),
        _ => verdict(
            Status::Unreachable,
            format!("{url} answered HTTP {status}{said}"),
            format!(
                "check {}, and any proxy between the job and the repository",
                settings::name("--repo-url")
            ),
        ),
    }
}

fn net_failure(err: &NetError, ctx: &Context) -> Outcome {
    let url = ctx.url;
    let via = ctx
        .proxy
        .map(|p| format!(" through the proxy {p}"))
        .unwrap_or_default();
    let message = format!(
        "{url} is unreachable{via}: {} error: {}",
        err.kind.word(),
        err.detail
    );
    let hint = match err.kind {
        NetKind::Dns => format!(
            "check the host in {} and the job's DNS; a job that must use a proxy needs \
             HTTPS_PROXY",
            settings::name("--repo-url")
        ),
        NetKind::Connect => "check the job's network and firewall; a job that must use a proxy \
                             needs HTTPS_PROXY (and NO_PROXY for hosts it must not proxy)"
            .into(),
        NetKind::Proxy => "check HTTPS_PROXY / https_proxy / ALL_PROXY and NO_PROXY: the proxy \
                           must be running and allow CONNECT to the repository"
            .into(),
        NetKind::Tls => TLS_HINT.into(),
        NetKind::Timeout => format!(
            "the repository did not answer in time: raise {}, or check the firewall and \
             proxy settings (HTTPS_PROXY, NO_PROXY)",
            settings::name("--timeout")
        ),
        NetKind::Protocol | NetKind::TooLarge => format!(
            "something between the job and the repository is not speaking HTTP as expected: \
             check {} and any proxy",
            settings::name("--repo-url")
        ),
    };
    verdict(Status::Unreachable, message, hint)
}

/// The repository document of a 200 answer, or why it is not one.
pub(crate) fn repository_document(
    reply: &Reply,
    ctx: &Context,
) -> Result<Map<String, Value>, Outcome> {
    const KEYS: &[&str] = &[
        "packages",
        "providers",
        "provider-includes",
        "providers-url",
        "metadata-url",
        "available-packages",
        "available-package-patterns",
        "includes",
    ];
    let not_one = || {
        verdict(
            Status::Unreachable,
            format!(
                "{} answered HTTP 200 with something that is not a Composer repository",
                ctx.url
            ),
            format!(
                "check {}; a captive portal or proxy may be answering in the repository's place",
                settings::name("--repo-url")
            ),
        )
    };
    match serde_json::from_slice::<Value>(&reply.body) {
        Ok(Value::Object(map)) if KEYS.iter().any(|k| map.contains_key(*k)) => Ok(map),
        _ => Err(not_one()),
    }
}

/// The longest part of the repository's own words that a message quotes.
const QUOTED: usize = 300;

/// The repository's own `warning` (or, failing that, `info`, `message`), made
/// safe to print: one line, bounded, no key in it in any form the server
/// could echo it in (the credentials sent are registered with the
/// sanitiser before any request). Blanked before it is cut short, so that
/// no part of a form survives at the cut.
pub(crate) fn server_warning(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let text = ["warning", "info", "message", "error"]
        .iter()
        .find_map(|k| value.get(*k).and_then(Value::as_str))?;
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let clean: String = sanitize::text(&one_line).chars().take(QUOTED).collect();
    let clean = clean.trim().to_string();
    (!clean.is_empty()).then_some(clean)
}

/// Only the host of a redirect target: its path or query could hold anything.
fn location_host(location: &str) -> String {
    match location.parse::<ureq::http::Uri>() {
        Ok(uri) => match (uri.host(), uri.port_u16()) {
            (Some(host), Some(port)) => format!("host {host}:{port}"),
            (Some(host), None) => format!("host {host}"),
            (None, _) => "a path on the same host".into(),
        },
        Err(_) if location.contains("://") => "an address that is not a valid URL".into(),
        Err(_) => "a path on the same host".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Context<'static> {
        Context {
            url: "https://repo.magento.com/packages.json",
            proxy: None,
            attempts: 1,
        }
    }

    fn reply(status: u16, body: &str) -> Result<Reply, NetError> {
        Ok(Reply {
            status,
            body: body.as_bytes().to_vec(),
            ..Reply::default()
        })
    }

    #[test]
    fn statuses_of_http_answers() {
        let cases = [
            (401, Status::InvalidKeys),
            (403, Status::Forbidden),
            (404, Status::Unreachable),
            (302, Status::Unreachable),
            (429, Status::Unreachable),
            (503, Status::Unreachable),
            (418, Status::Unreachable),
        ];
        for (code, status) in cases {
            assert_eq!(failure(&reply(code, ""), &ctx()).status, status, "{code}");
        }
    }

    #[test]
    fn the_repository_warning_is_quoted_without_secrets() {
        sanitize::register("SECRETKEY");
        let body = r#"{"warning":"Your Magento authentication keys are invalid.\nSECRETKEY"}"#;
        let verdict = failure(&reply(401, body), &ctx());
        assert!(
            verdict.message.contains(
                "the repository says: \"Your Magento authentication keys are invalid. ***\""
            ),
            "{}",
            verdict.message
        );
        assert!(verdict.hint.unwrap().contains("not swapped"));
    }

    #[test]
    fn a_warning_that_echoes_the_credentials_in_any_form_is_blanked() {
        use base64::Engine;
        use base64::engine::general_purpose::STANDARD as BASE64;
        let (user, password) = ("us/er é", "pa\"ss:%w");
        let basic = BASE64.encode(format!("{user}:{password}"));
        // As keys::read registers them: each key, and the pair.
        for secret in [user, password, &format!("{user}:{password}")] {
            sanitize::register(secret);
        }
        let echoes = [
            format!("Basic {basic}"),
            format!("{user} {password}"),
            "user=us%2Fer%20%C3%A9&password=pa%22ss%3a%25w".to_string(),
            format!("as JSON: {}", serde_json::to_string(password).unwrap()),
            // A form that reaches past the 300th character is blanked whole.
            format!("{} {basic}", "x".repeat(290)),
        ];
        for echo in echoes {
            let body = serde_json::json!({ "warning": echo }).to_string();
            let said = server_warning(body.as_bytes()).unwrap();
            for leak in [
                user,
                password,
                "us%2Fer",
                "pa%22ss",
                "pa\\\"ss",
                &basic[..8],
            ] {
                assert!(!said.contains(leak), "{leak:?} in {said:?}");
            }
            assert!(said.contains("***"), "{said}");
        }
    }

    #[test]
    fn redirects_name_only_the_host() {
        let result = Ok(Reply {
            status: 302,
            location: Some("https://u:p@elsewhere.example:8443/x?token=1".into()),
            ..Reply::default()
        });
        let verdict = failure(&result, &ctx());
        assert!(verdict.message.contains("host elsewhere.example:8443"));
        assert!(!verdict.message.contains("token") && !verdict.message.contains("u:p"));
    }

    #[test]
    fn unreachable_says_which_kind() {
        for (kind, word) in [
            (NetKind::Dns, "DNS"),
            (NetKind::Connect, "connection"),
            (NetKind::Proxy, "proxy"),
            (NetKind::Tls, "TLS"),
            (NetKind::Timeout, "timeout"),
        ] {
            let verdict = failure(
                &Err(NetError {
                    kind,
                    detail: "x".into(),
                }),
                &ctx(),
            );
            assert_eq!(verdict.status, Status::Unreachable);
            assert!(
                verdict.message.contains(&format!("{word} error")),
                "{}",
                verdict.message
            );
        }
        let tls = net_failure(
            &NetError {
                kind: NetKind::Tls,
                detail: "x".into(),
            },
            &ctx(),
        );
        assert!(tls.hint.unwrap().contains("--ca-file"));
    }

    #[test]
    fn only_composer_documents_pass() {
        let ok = reply(
            200,
            r#"{"packages":[],"providers-url":"/p/%package%$%hash%.json"}"#,
        )
        .unwrap();
        assert!(repository_document(&ok, &ctx()).is_ok());
        for body in ["<html>login</html>", "{}", "[]", r#"{"status":"up"}"#] {
            let r = reply(200, body).unwrap();
            assert_eq!(
                repository_document(&r, &ctx()).unwrap_err().status,
                Status::Unreachable
            );
        }
    }
}
