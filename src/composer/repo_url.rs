//! The repository URL and the host key Composer looks credentials up by.

use crate::exit::Failure;

/// The default repository; its keys must be Marketplace keys.
pub const MAGENTO_HOST: &str = "repo.magento.com";

/// A parsed `--repo-url`: `http(s)://host[:port][/path]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoUrl {
    pub scheme: &'static str,
    /// As written, IPv6 literals with their brackets (as PHP's parse_url gives them).
    pub host: String,
    pub port: Option<u16>,
    /// Without a trailing slash; empty for the root.
    pub path: String,
}

impl RepoUrl {
    pub fn parse(url: &str) -> Result<Self, Failure> {
        let refuse = |what: &str| {
            Failure::bad_input(format!("--repo-url {what}"))
                .with_hint("give the repository as https://host[:port][/path], as in composer.json")
        };
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| refuse("is not an absolute URL"))?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "https" => "https",
            "http" => "http",
            _ => return Err(refuse("must use https")),
        };
        let (authority, path) = match rest.find(['/', '?', '#']) {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        if authority.contains('@') {
            // Never echo this URL: it holds a credential.
            return Err(Failure::bad_input("--repo-url carries credentials (user:pass@)")
                .with_hint("give the URL without them; the keys come from MAGENTO_PUBLIC_KEY and MAGENTO_PRIVATE_KEY"));
        }
        if path.contains(['?', '#']) {
            return Err(refuse("must not have a query or fragment"));
        }
        let (host, port) =
            split_host_port(authority).ok_or_else(|| refuse("has a bad host or port"))?;
        if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(refuse("has a bad host or port"));
        }
        let parsed = RepoUrl {
            scheme,
            host: host.to_string(),
            port,
            path: path.trim_end_matches('/').to_string(),
        };
        if scheme == "http" && !parsed.is_loopback() {
            return Err(Failure::bad_input(
                "--repo-url uses plain http for a host that is not loopback: the keys would cross the network unencrypted",
            )
            .with_hint("use https"));
        }
        Ok(parsed)
    }

    fn default_port(&self) -> u16 {
        if self.scheme == "https" { 443 } else { 80 }
    }

    /// The key of `http-basic` that Composer uses for this repository: the host,
    /// plus `:port` when the port is not the scheme's default.
    pub fn auth_host(&self) -> String {
        match self.port {
            Some(port) if port != self.default_port() => format!("{}:{port}", self.host),
            _ => self.host.clone(),
        }
    }

    pub fn is_magento(&self) -> bool {
        self.host.eq_ignore_ascii_case(MAGENTO_HOST)
    }

    pub fn is_loopback(&self) -> bool {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    /// The URL without a trailing slash, for messages and requests.
    pub fn base(&self) -> String {
        match self.port {
            Some(port) => format!("{}://{}:{port}{}", self.scheme, self.host, self.path),
            None => format!("{}://{}{}", self.scheme, self.host, self.path),
        }
    }
}

fn split_host_port(authority: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if authority.starts_with('[') {
        let end = authority.find(']')?;
        let (host, rest) = authority.split_at(end + 1);
        match rest {
            "" => (host, None),
            _ => (host, Some(rest.strip_prefix(':')?)),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        None => None,
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => Some(p.parse().ok()?),
        Some(_) => return None,
    };
    Some((host, port))
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
        assert_eq!(url.path, "/magento");
        assert_eq!(url.base(), "https://mirror.example.com/magento");
        assert!(!url.is_magento());
        assert!(
            RepoUrl::parse("https://REPO.magento.com")
                .unwrap()
                .is_magento()
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
            "https://host/?q=1",
            "https://host/#x",
            "http://repo.magento.com",
            "http://10.0.0.1",
            "https://[::1",
        ] {
            assert!(RepoUrl::parse(url).is_err(), "{url}");
        }
    }

    #[test]
    fn credentials_in_the_url_are_refused_without_echoing_them() {
        let err = RepoUrl::parse("https://user:s3cr3t@repo.magento.com").unwrap_err();
        assert!(err.message.contains("credentials"));
        assert!(!err.message.contains("s3cr3t"));
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
}
