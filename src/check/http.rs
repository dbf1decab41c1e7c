//! The check's HTTP client: TLS always verified, no redirects followed,
//! credentials only to the repository's own host, bounded in time and size,
//! retries with backoff for what may pass. What went wrong below HTTP is
//! named in [`super::net_error`].

use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ureq::Agent;
use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};

use super::net_error::{NetError, NetKind, is_unknown_issuer, net_error};
use super::noproxy::{self, NoProxy};
use super::retry_after::retry_after_from;
use super::trust::Roots;
use crate::composer::repo_url::RepoUrl;
use crate::secret::Secret;

/// The largest body read; repository documents are far smaller.
pub(crate) const BODY_CAP: u64 = 4 * 1024 * 1024;

/// The longest one connection attempt may take, within the overall timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// An HTTP answer of any status.
#[derive(Clone, Debug, Default)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) location: Option<String>,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) body: Vec<u8>,
}

/// Basic credentials for the repository's host alone.
pub(crate) struct BasicAuth {
    /// The authority (`host[:port]`) they may be sent to.
    pub(crate) authority: String,
    header: Secret,
}

impl BasicAuth {
    pub(crate) fn new(authority: String, username: &Secret, password: &Secret) -> Self {
        let mut pair = format!("{}:{}", username.expose(), password.expose());
        let header = Secret::new(format!("Basic {}", BASE64.encode(pair.as_bytes())));
        zeroize::Zeroize::zeroize(&mut pair);
        BasicAuth { authority, header }
    }
}

pub(crate) struct Client {
    roots: Roots,
    direct: Agent,
    proxied: Option<(Agent, String, ureq::Proxy)>,
    no_proxy: NoProxy,
    started: Instant,
    deadline: Instant,
    retries: u32,
    /// Every request sent, retries included.
    pub(crate) attempts: u32,
}

impl Client {
    /// `timeout` bounds everything this client does, retries and waits included.
    ///
    /// Only https requests may go through a proxy (as a CONNECT tunnel, so the
    /// proxy sees a host and port, never the credentials); plain http, which
    /// is allowed for loopback hosts alone, always goes direct.
    pub(crate) fn new(roots: Roots, timeout: Duration, retries: u32) -> Result<Self, String> {
        let env = |name: &str| std::env::var(name).ok();
        let proxy_url = noproxy::proxy_from_env("https", &env);
        let no_proxy = noproxy::no_proxy_from_env(&env);
        let direct = agent(&roots, None);
        let proxied = match proxy_url {
            None => None,
            Some(url) => {
                let url = if url.contains("://") {
                    url
                } else {
                    format!("http://{url}")
                };
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(format!(
                        "the proxy {} is not an http:// or https:// proxy, which is all magento-auth supports",
                        proxy_display(&url)
                    ));
                }
                let proxy = ureq::Proxy::new(&url)
                    .map_err(|_| format!("the proxy URL {} is not valid", proxy_display(&url)))?;
                Some((
                    agent(&roots, Some(proxy.clone())),
                    proxy_display(&url),
                    proxy,
                ))
            }
        };
        let started = Instant::now();
        // The caller bounds the timeout; should it not, "no deadline" is the
        // only sane reading of one beyond what an Instant holds.
        let deadline = started
            .checked_add(timeout)
            .unwrap_or_else(|| started + Duration::from_secs(86_400 * 365));
        Ok(Client {
            roots,
            direct,
            proxied,
            no_proxy,
            started,
            deadline,
            retries,
            attempts: 0,
        })
    }

    pub(crate) fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// The proxy a request to `url` goes through, for messages.
    pub(crate) fn proxy_for(&self, url: &RepoUrl) -> Option<&str> {
        match &self.proxied {
            Some((_, shown, _))
                if url.is_https() && !self.no_proxy.bypasses(url.host(), url.port()) =>
            {
                Some(shown)
            }
            _ => None,
        }
    }

    /// GET `url`, retrying connection errors, 429 and 5xx within the deadline.
    /// `auth` is sent only when `url` is on its authority.
    pub(crate) fn get(
        &mut self,
        url: &RepoUrl,
        auth: Option<&BasicAuth>,
    ) -> Result<Reply, NetError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = self.get_once(url, auth);
            let retry_after = match &result {
                Ok(reply) if reply.status == 429 || (500..600).contains(&reply.status) => {
                    reply.retry_after
                }
                Err(err) if err.kind.retryable() => None,
                _ => return result,
            };
            if attempt > self.retries {
                return result;
            }
            // 0.5 s, 1 s, 2 s, ... unless the server says how long. A wait
            // that would not end before the deadline is not begun: the
            // comparison is between durations, so no value of Retry-After
            // can overflow it.
            let backoff = retry_after
                .unwrap_or_else(|| Duration::from_millis(500u64 << (attempt - 1).min(6)));
            let left = self.deadline.saturating_duration_since(Instant::now());
            if backoff >= left {
                return result;
            }
            std::thread::sleep(backoff);
        }
    }

    fn get_once(&mut self, url: &RepoUrl, auth: Option<&BasicAuth>) -> Result<Reply, NetError> {
        let remaining = self.deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(NetError {
                kind: NetKind::Timeout,
                detail: "the time allowed (--timeout) ran out".into(),
            });
        }
        self.attempts += 1;
        let via_proxy = self.proxy_for(url).is_some();
        let mut sent = self.send(url, auth, via_proxy, remaining);
        // A CA in the system's certificate directory but not in its bundle:
        // read the directory, as curl would have, and ask once more.
        if let Err(err) = &sent
            && is_unknown_issuer(err)
            && let Some(wider) = self.roots.widened()
        {
            self.direct = agent(&wider, None);
            if let Some((proxied, _, proxy)) = &mut self.proxied {
                *proxied = agent(&wider, Some(proxy.clone()));
            }
            self.roots = wider;
            sent = self.send(url, auth, via_proxy, remaining);
        }
        let response = sent.map_err(|err| net_error(err, via_proxy))?;
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let location = header("location");
        let retry_after =
            header("retry-after").and_then(|v| retry_after_from(&v, std::time::SystemTime::now()));
        let mut body = Vec::new();
        let reader = response.into_body().into_reader();
        reader
            .take(BODY_CAP + 1)
            .read_to_end(&mut body)
            .map_err(|err| net_error(ureq::Error::from(err), via_proxy))?;
        if body.len() as u64 > BODY_CAP {
            return Err(NetError {
                kind: NetKind::TooLarge,
                detail: format!(
                    "the response to {} is larger than {} MiB",
                    url.shown(),
                    BODY_CAP / 1024 / 1024
                ),
            });
        }
        Ok(Reply {
            status,
            location,
            retry_after,
            body,
        })
    }
}

impl Client {
    /// One GET of `url`, with the credentials when it is on their authority.
    fn send(
        &self,
        url: &RepoUrl,
        auth: Option<&BasicAuth>,
        via_proxy: bool,
        remaining: Duration,
    ) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
        let agent = match (&self.proxied, via_proxy) {
            (Some((agent, _, _)), true) => agent,
            _ => &self.direct,
        };
        let mut request = agent
            .get(url.uri().clone())
            .header("Accept", "application/json")
            .config()
            .timeout_global(Some(remaining))
            // A dropped SYN should leave time for a retry.
            .timeout_connect(Some(remaining.min(CONNECT_TIMEOUT)))
            .build();
        if let Some(auth) = auth
            && auth.authority.eq_ignore_ascii_case(&url.auth_host())
        {
            request = request.header("Authorization", auth.header.expose());
        }
        request.call()
    }
}

fn agent(roots: &Roots, proxy: Option<ureq::Proxy>) -> Agent {
    let certs: Vec<Certificate<'static>> = roots
        .certs
        .iter()
        .map(|der| Certificate::from_der(der.as_ref()).to_owned())
        .collect();
    let tls = TlsConfig::builder()
        .provider(TlsProvider::Rustls)
        .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .root_certs(RootCerts::new_with_certs(&certs))
        .build();
    let config = Agent::config_builder()
        .tls_config(tls)
        .proxy(proxy)
        .http_status_as_error(false)
        .max_redirects(0)
        .https_only(false)
        .user_agent(concat!("magento-auth/", env!("CARGO_PKG_VERSION")))
        .build();
    Agent::new_with_config(config)
}

/// A proxy URL without any credentials in it, for messages.
fn proxy_display(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
            format!("{scheme}://{}", rest.trim_end_matches('/'))
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn proxy_credentials_are_never_shown() {
        assert_eq!(
            proxy_display("http://user:pw@proxy.local:3128/"),
            "http://proxy.local:3128"
        );
        assert_eq!(proxy_display("http://proxy:3128"), "http://proxy:3128");
    }

    #[test]
    fn basic_auth_hides_its_value() {
        let auth = BasicAuth::new(
            "h".into(),
            &Secret::new("user".into()),
            &Secret::new("pass".into()),
        );
        assert_eq!(auth.header.expose(), "Basic dXNlcjpwYXNz");
        assert_eq!(format!("{:?}", auth.header), "***");
    }
}
