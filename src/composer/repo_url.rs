//! The one URL type: the repository, and every URL the check requests on
//! its behalf, parsed once (with `http::Uri`, which ureq uses) into the
//! parts that decide where credentials may go.

use ureq::http::Uri;
use ureq::http::uri::Scheme;

use crate::cli::settings;
use crate::exit::Failure;

/// The default repository; its keys must be Marketplace keys.
pub(crate) const MAGENTO_HOST: &str = "repo.magento.com";

/// Why a text is not a URL magento-auth sends anything to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UrlError {
    /// No `scheme://`.
    NotAbsolute,
    /// A scheme other than http and https.
    NotHttp,
    /// A user (and password) before the host: never followed, never echoed.
    Credentials,
    /// Not a URL `http::Uri` reads, or a bad host or port.
    Malformed,
}

/// An absolute http(s) URL without credentials: `--repo-url` (see
/// [`RepoUrl::parse`]) or a URL the check requests (see [`RepoUrl::absolute`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RepoUrl {
    uri: Uri,
    port: Option<u16>,
}

impl RepoUrl {
    /// A `--repo-url`: `http(s)://host[:port][/path]`, plain http for loopback
    /// hosts alone, without query or fragment. Messages never echo the URL:
    /// the one refused may hold a credential.
    pub(crate) fn parse(url: &str) -> Result<Self, Failure> {
        let refuse = |what: &str| {
            Failure::bad_input(format!("{} {what}", settings::name("--repo-url")))
                .with_hint("give the repository as https://host[:port][/path], as in composer.json")
        };
        let parsed = Self::absolute(url).map_err(|err| match err {
            UrlError::NotAbsolute => refuse("is not an absolute URL"),
            UrlError::NotHttp => refuse("must use https"),
            UrlError::Credentials => Failure::bad_input(format!("{} carries credentials (user:pass@)", settings::name("--repo-url")))
                .with_hint("give the URL without them; the keys come from MAGENTO_PUBLIC_KEY and MAGENTO_PRIVATE_KEY"),
            UrlError::Malformed => refuse("has a bad host or port, or a character a URL cannot hold"),
        })?;
        if url.contains('#') || parsed.uri.query().is_some() {
            return Err(refuse("must not have a query or fragment"));
        }
        if !parsed.may_carry_credentials() {
            return Err(Failure::bad_input(format!(
                "{} uses plain http for a host that is not loopback: the keys would cross the network unencrypted",
                settings::name("--repo-url")
            ))
            .with_hint("use https"));
        }
        Ok(parsed)
    }

    /// Any absolute http(s) URL without credentials; a fragment is dropped,
    /// as a client drops it.
    pub(crate) fn absolute(url: &str) -> Result<Self, UrlError> {
        let (scheme, rest) = url.split_once("://").ok_or(UrlError::NotAbsolute)?;
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        // Looked for before parsing, so that no parse error can hide it.
        if authority.contains('@') {
            return Err(UrlError::Credentials);
        }
        if !(scheme.eq_ignore_ascii_case("https") || scheme.eq_ignore_ascii_case("http")) {
            return Err(UrlError::NotHttp);
        }
        let uri: Uri = url.parse().map_err(|_| UrlError::Malformed)?;
        let (Some(host), Some(authority)) = (uri.host(), uri.authority()) else {
            return Err(UrlError::Malformed);
        };
        // `http::Uri` keeps a port it cannot read (`host:x`, `host:99999`,
        // `host:`) as text and reports none: that is no port at all.
        let port = uri.port_u16();
        if host.is_empty() || (port.is_none() && authority.as_str().len() != host.len()) {
            return Err(UrlError::Malformed);
        }
        Ok(RepoUrl { uri, port })
    }

    /// A URL found in the repository's documents, resolved as Composer
    /// resolves it: an absolute one as it is, one starting with `/` on this
    /// URL's origin, others below this URL.
    pub(crate) fn join(&self, reference: &str) -> Result<Self, UrlError> {
        if reference.contains("://") {
            Self::absolute(reference)
        } else if reference.starts_with('/') {
            Self::absolute(&format!("{}{reference}", self.origin()))
        } else {
            Self::absolute(&format!("{}/{reference}", self.base()))
        }
    }

    pub(crate) fn is_https(&self) -> bool {
        self.uri.scheme() == Some(&Scheme::HTTPS)
    }

    fn scheme(&self) -> &str {
        if self.is_https() { "https" } else { "http" }
    }

    fn default_port(&self) -> u16 {
        if self.is_https() { 443 } else { 80 }
    }

    /// As written, IPv6 literals with their brackets (as PHP's parse_url gives them).
    pub(crate) fn host(&self) -> &str {
        self.uri.host().unwrap_or_default()
    }

    /// The port requests go to.
    pub(crate) fn port(&self) -> u16 {
        self.port.unwrap_or_else(|| self.default_port())
    }

    /// The key of `http-basic` that Composer uses for this repository: the host,
    /// plus `:port` when the port is not the scheme's default. Credentials go
    /// only to URLs with the same key.
    pub(crate) fn auth_host(&self) -> String {
        match self.port {
            Some(port) if port != self.default_port() => format!("{}:{port}", self.host()),
            _ => self.host().to_string(),
        }
    }

    pub(crate) fn is_magento(&self) -> bool {
        self.host().eq_ignore_ascii_case(MAGENTO_HOST)
    }

    pub(crate) fn is_loopback(&self) -> bool {
        let host = self.host().trim_start_matches('[').trim_end_matches(']');
        host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    /// Whether credentials may be sent here: over https, or to this machine.
    pub(crate) fn may_carry_credentials(&self) -> bool {
        self.is_https() || self.is_loopback()
    }

    /// `scheme://host[:port]`, the port as written.
    fn origin(&self) -> String {
        let authority = self.uri.authority().map_or("", |a| a.as_str());
        format!("{}://{authority}", self.scheme())
    }

    /// The URL without a trailing slash or a query, for messages and as the
    /// base of the repository's files.
    pub(crate) fn base(&self) -> String {
        format!("{}{}", self.origin(), self.uri.path().trim_end_matches('/'))
    }

    /// The URL to request.
    pub(crate) fn uri(&self) -> &Uri {
        &self.uri
    }

    /// The URL without its query, for messages.
    pub(crate) fn shown(&self) -> String {
        format!("{}{}", self.origin(), self.uri.path())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host_of(url: &str) -> String {
        RepoUrl::parse(url).unwrap().auth_host()
    }

    #[test]
    fn host_keys() {
        assert_eq!(host_of("https://repo.magento.com"), "repo.magento.com");
        assert_eq!(host_of("https://repo.magento.com/"), "repo.magento.com");
        assert_eq!(host_of("https://repo.magento.com:443"), "repo.magento.com");
        assert_eq!(
            host_of("https://repo.magento.com:8443/x"),
            "repo.magento.com:8443"
        );
        assert_eq!(host_of("http://127.0.0.1:8080"), "127.0.0.1:8080");
        assert_eq!(host_of("http://localhost:80"), "localhost");
        assert_eq!(host_of("https://[::1]:4443"), "[::1]:4443");
        assert_eq!(
            host_of("HTTPS://mirror.example.com/magento/"),
            "mirror.example.com"
        );
    }

    #[test]
    fn base_and_path() {
        let url = RepoUrl::parse("https://mirror.example.com/magento/").unwrap();
        assert_eq!(url.base(), "https://mirror.example.com/magento");
        assert!(!url.is_magento());
        assert!(
            RepoUrl::parse("https://REPO.magento.com")
                .unwrap()
                .is_magento()
        );
        assert_eq!(
            RepoUrl::parse("https://repo.magento.com:443")
                .unwrap()
                .base(),
            "https://repo.magento.com:443"
        );
    }

    #[test]
    fn refusals() {
        for url in [
            "repo.magento.com",
            "ftp://repo.magento.com",
            "https://",
            "https://host:port",
            "https://host:99999",
            "https://host:",
            "https://host/?q=1",
            "https://host/#x",
            "http://repo.magento.com",
            "http://10.0.0.1",
            "https://[::1",
            "https://host/a b",
            "https://rép.example",
        ] {
            assert!(RepoUrl::parse(url).is_err(), "{url}");
        }
    }

    #[test]
    fn credentials_in_the_url_are_refused_without_echoing_them() {
        for url in [
            "https://user:s3cr3t@repo.magento.com",
            "https://us er:s3cr3t@repo.magento.com",
        ] {
            let err = RepoUrl::parse(url).unwrap_err();
            assert!(err.message.contains("credentials"));
            assert!(!err.message.contains("s3cr3t"));
        }
        assert_eq!(
            RepoUrl::absolute("https://u:p@host/"),
            Err(UrlError::Credentials)
        );
    }

    #[test]
    fn plain_http_only_for_loopback() {
        for url in [
            "http://127.0.0.1",
            "http://127.1.2.3:81",
            "http://[::1]:8080",
            "http://localhost",
        ] {
            assert!(RepoUrl::parse(url).is_ok(), "{url}");
        }
    }

    #[test]
    fn request_urls_and_their_authorities() {
        let url = RepoUrl::absolute("https://repo.magento.com/packages.json").unwrap();
        assert_eq!(
            (url.auth_host().as_str(), url.port()),
            ("repo.magento.com", 443)
        );
        let url = RepoUrl::absolute("https://127.0.0.1:8443/p/a%24b.json?x=1#f").unwrap();
        assert_eq!(url.auth_host(), "127.0.0.1:8443");
        assert_eq!(url.shown(), "https://127.0.0.1:8443/p/a%24b.json");
        assert_eq!(
            url.uri().to_string(),
            "https://127.0.0.1:8443/p/a%24b.json?x=1"
        );
        let url = RepoUrl::absolute("http://[::1]:80/x").unwrap();
        assert_eq!(url.auth_host(), "[::1]");
        assert!(url.is_loopback() && url.may_carry_credentials());
        assert_eq!(RepoUrl::absolute("ftp://host/"), Err(UrlError::NotHttp));
        assert_eq!(RepoUrl::absolute("/x"), Err(UrlError::NotAbsolute));
    }

    #[test]
    fn links_resolve_as_composer_resolves_them() {
        let repo = RepoUrl::parse("https://r.test:8443/sub/").unwrap();
        let join = |r: &str| repo.join(r).map(|u| u.uri().to_string());
        assert_eq!(
            join("/p2/a/b.json").unwrap(),
            "https://r.test:8443/p2/a/b.json"
        );
        assert_eq!(
            join("p/x.json").unwrap(),
            "https://r.test:8443/sub/p/x.json"
        );
        assert_eq!(join("https://cdn.test/x").unwrap(), "https://cdn.test/x");
        assert_eq!(join("https://u:p@cdn.test/x"), Err(UrlError::Credentials));
    }
}
