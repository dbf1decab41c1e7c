//! Which proxy a request goes through: `https_proxy` and friends, with
//! `NO_PROXY` matched as Composer's `NoProxyPattern` and curl match it.
//!
//! Written here rather than taken from a crate: the check must bypass the
//! proxy exactly where Composer will, and the matcher in the tree (ureq's
//! `NoProxy`) reads neither CIDR ranges nor ports, and does not let a plain
//! domain match its subdomains or `.example.com` match `example.com`, as
//! Composer and curl do.

use std::net::IpAddr;

/// One `NO_PROXY` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Rule {
    /// `*`: no host goes through the proxy.
    All,
    /// A domain: matches itself and every subdomain; a leading `.` or `*.` is
    /// the same thing.
    Domain { name: String, port: Option<u16> },
    /// An address, or a network in CIDR form.
    Net {
        addr: IpAddr,
        prefix: u8,
        port: Option<u16>,
    },
}

/// A parsed `NO_PROXY` list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NoProxy {
    rules: Vec<Rule>,
}

impl NoProxy {
    /// Entries are separated by commas and/or whitespace; empty ones are skipped.
    pub fn parse(list: &str) -> Self {
        let rules = list
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|entry| !entry.is_empty())
            .filter_map(parse_rule)
            .collect();
        NoProxy { rules }
    }

    /// Whether a request to `host:port` bypasses the proxy. `host` is as in a
    /// URL: IPv6 literals may keep their brackets.
    pub fn bypasses(&self, host: &str, port: u16) -> bool {
        let host = unbracket(host).trim_end_matches('.').to_ascii_lowercase();
        let ip = host.parse::<IpAddr>().ok();
        self.rules.iter().any(|rule| match rule {
            Rule::All => true,
            Rule::Domain { name, port: want } => {
                ip.is_none()
                    && want.is_none_or(|p| p == port)
                    && (host == *name || host.ends_with(&format!(".{name}")))
            }
            Rule::Net {
                addr,
                prefix,
                port: want,
            } => want.is_none_or(|p| p == port) && ip.is_some_and(|ip| in_net(ip, *addr, *prefix)),
        })
    }
}

fn unbracket(host: &str) -> &str {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

fn parse_rule(entry: &str) -> Option<Rule> {
    if entry == "*" {
        return Some(Rule::All);
    }
    let (host, port) = split_port(entry)?;
    let host = unbracket(host);
    if let Some((addr, bits)) = host.split_once('/') {
        let addr: IpAddr = addr.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix: u8 = bits.parse().ok().filter(|b| *b <= max)?;
        return Some(Rule::Net { addr, prefix, port });
    }
    if let Ok(addr) = host.parse::<IpAddr>() {
        let prefix = if addr.is_ipv4() { 32 } else { 128 };
        return Some(Rule::Net { addr, prefix, port });
    }
    let name = host
        .trim_start_matches("*.")
        .trim_start_matches('.')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    (!name.is_empty()).then_some(Rule::Domain { name, port })
}

/// `host:port`, `[v6]:port`, a bare IPv6 address (several colons) or a host.
fn split_port(entry: &str) -> Option<(&str, Option<u16>)> {
    if entry.starts_with('[') {
        let end = entry.find(']')?;
        let rest = &entry[end + 1..];
        return match rest.strip_prefix(':') {
            Some(port) => Some((&entry[..=end], Some(port.parse().ok()?))),
            None if rest.is_empty() || rest.starts_with('/') => Some((entry, None)),
            None => None,
        };
    }
    match entry.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => Some((host, Some(port.parse().ok()?))),
        _ => Some((entry, None)),
    }
}

fn in_net(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V4(_)) => ip
            .to_ipv4_mapped()
            .is_some_and(|v4| in_net(IpAddr::V4(v4), net, prefix)),
        (IpAddr::V4(_), IpAddr::V6(_)) => false,
    }
}

/// The proxy URL for a request with `scheme`, from the environment as
/// Composer and curl read it: `https_proxy`/`HTTPS_PROXY` for https,
/// lowercase `http_proxy` for http (the uppercase one is unsafe under CGI),
/// then `all_proxy`/`ALL_PROXY`. Empty values count as unset.
pub(crate) fn proxy_from_env(scheme: &str, var: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let names: &[&str] = if scheme == "https" {
        &["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"]
    } else {
        &["http_proxy", "all_proxy", "ALL_PROXY"]
    };
    names.iter().find_map(|name| {
        var(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    })
}

/// `no_proxy`, else `NO_PROXY`.
pub(crate) fn no_proxy_from_env(var: &dyn Fn(&str) -> Option<String>) -> NoProxy {
    let list = var("no_proxy")
        .filter(|v| !v.is_empty())
        .or_else(|| var("NO_PROXY"))
        .unwrap_or_default();
    NoProxy::parse(&list)
}

#[cfg(test)]
mod properties;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table() {
        // (NO_PROXY, host, port, bypassed)
        let table: &[(&str, &str, u16, bool)] = &[
            ("", "repo.magento.com", 443, false),
            ("*", "repo.magento.com", 443, true),
            ("*", "10.1.2.3", 443, true),
            ("magento.com", "repo.magento.com", 443, true),
            ("magento.com", "magento.com", 443, true),
            (".magento.com", "repo.magento.com", 443, true),
            (".magento.com", "magento.com", 443, true),
            ("*.magento.com", "repo.magento.com", 443, true),
            ("magento.com", "notmagento.com", 443, false),
            ("repo.magento.com", "magento.com", 443, false),
            ("REPO.Magento.COM", "repo.magento.com", 443, true),
            ("repo.magento.com", "REPO.MAGENTO.COM.", 443, true),
            ("example.com, magento.com", "repo.magento.com", 443, true),
            ("example.com ,  magento.com ", "repo.magento.com", 443, true),
            ("example.com magento.com", "repo.magento.com", 443, true),
            (",,example.com,,", "example.com", 443, true),
            ("magento.com:443", "repo.magento.com", 443, true),
            ("magento.com:8443", "repo.magento.com", 443, false),
            ("magento.com:8443", "repo.magento.com", 8443, true),
            ("magento.com:bad", "repo.magento.com", 443, false),
            ("127.0.0.1", "127.0.0.1", 8080, true),
            ("127.0.0.1", "127.0.0.2", 8080, false),
            ("127.0.0.1:8080", "127.0.0.1", 8080, true),
            ("127.0.0.1:8080", "127.0.0.1", 9090, false),
            ("10.0.0.0/8", "10.20.30.40", 443, true),
            ("10.0.0.0/8", "11.0.0.1", 443, false),
            ("192.168.1.0/24", "192.168.1.77", 443, true),
            ("192.168.1.0/24", "192.168.2.1", 443, false),
            ("0.0.0.0/0", "8.8.8.8", 443, true),
            ("10.0.0.0/33", "10.0.0.1", 443, false),
            ("::1", "[::1]", 443, true),
            ("[::1]", "::1", 443, true),
            ("[::1]:8443", "[::1]", 8443, true),
            ("[::1]:8443", "[::1]", 443, false),
            ("fd00::/8", "[fd12:3456::1]", 443, true),
            ("fd00::/8", "[fe80::1]", 443, false),
            ("10.0.0.0/8", "[::ffff:10.1.1.1]", 443, true),
            // An IP rule says nothing about names, a name rule nothing about IPs.
            ("127.0.0.1", "localhost", 443, false),
            ("0.0.1", "127.0.0.1", 443, false),
        ];
        for (list, host, port, expected) in table {
            assert_eq!(
                NoProxy::parse(list).bypasses(host, *port),
                *expected,
                "NO_PROXY={list:?} host={host} port={port}"
            );
        }
    }

    #[test]
    fn proxy_variables_in_order() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let both = env(&[("https_proxy", "http://a:1"), ("HTTPS_PROXY", "http://b:2")]);
        assert_eq!(
            proxy_from_env("https", &both).as_deref(),
            Some("http://a:1")
        );
        let upper = env(&[("https_proxy", ""), ("HTTPS_PROXY", "http://b:2")]);
        assert_eq!(
            proxy_from_env("https", &upper).as_deref(),
            Some("http://b:2")
        );
        let all = env(&[("ALL_PROXY", "http://c:3")]);
        assert_eq!(proxy_from_env("https", &all).as_deref(), Some("http://c:3"));
        let http_upper = env(&[("HTTP_PROXY", "http://d:4")]);
        assert_eq!(proxy_from_env("http", &http_upper), None);
        assert_eq!(proxy_from_env("https", &http_upper), None);
        let lower = env(&[("no_proxy", "a.com"), ("NO_PROXY", "b.com")]);
        assert!(no_proxy_from_env(&lower).bypasses("a.com", 443));
        assert!(!no_proxy_from_env(&lower).bypasses("b.com", 443));
    }
}
