//! NO_PROXY as the SPEC has it (domain suffixes, a leading dot or `*.`, `*`,
//! ports, IPs and CIDR, commas and spaces), against a model that works from
//! the rule as generated rather than from its text.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::NoProxy;
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Rule {
    All,
    Domain {
        name: String,
        port: Option<u16>,
    },
    Net {
        addr: IpAddr,
        prefix: u8,
        port: Option<u16>,
    },
}

#[derive(Clone, Debug)]
enum Host {
    Name(String),
    Ip(IpAddr),
}

/// A rule and how NO_PROXY spells it.
#[derive(Clone, Debug)]
struct Entry {
    rule: Rule,
    text: String,
}

fn label() -> impl Strategy<Value = String> {
    // A letter first: never an IP address by accident.
    "[a-z][a-z0-9-]{0,5}"
}

fn domain() -> impl Strategy<Value = String> {
    proptest::collection::vec(label(), 1..4).prop_map(|labels| labels.join("."))
}

fn port() -> impl Strategy<Value = u16> {
    prop_oneof![Just(443u16), Just(8443), Just(80), 1u16..]
}

/// Upper-case some letters: names are case-insensitive.
fn recase(text: &str, mask: u64) -> String {
    text.chars()
        .enumerate()
        .map(|(i, c)| {
            if mask >> (i % 64) & 1 == 1 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect()
}

fn entry() -> impl Strategy<Value = Entry> {
    let domain_entry = (
        domain(),
        prop::sample::select(vec!["", ".", "*."]),
        proptest::option::of(port()),
        any::<u64>(),
    )
        .prop_map(|(name, lead, port, mask)| {
            let mut text = format!("{lead}{}", recase(&name, mask));
            if let Some(port) = port {
                text.push_str(&format!(":{port}"));
            }
            Entry {
                rule: Rule::Domain { name, port },
                text,
            }
        });
    let v4 = (
        any::<[u8; 4]>(),
        0u8..=32,
        proptest::option::of(port()),
        any::<bool>(),
    )
        .prop_map(|(octets, prefix, port, as_cidr)| {
            let addr = Ipv4Addr::from(octets);
            // A CIDR takes no port here; a single address may.
            let (prefix, port) = if as_cidr { (prefix, None) } else { (32, port) };
            let text = match (as_cidr, port) {
                (true, _) => format!("{addr}/{prefix}"),
                (false, Some(port)) => format!("{addr}:{port}"),
                (false, None) => addr.to_string(),
            };
            Entry {
                rule: Rule::Net {
                    addr: IpAddr::V4(addr),
                    prefix,
                    port,
                },
                text,
            }
        });
    let v6 = (
        any::<[u16; 8]>(),
        0u8..=128,
        proptest::option::of(port()),
        0u8..3,
    )
        .prop_map(|(segments, prefix, port, form)| {
            let addr = Ipv6Addr::from(segments);
            let (text, prefix, port) = match form {
                0 => (format!("{addr}/{prefix}"), prefix, None),
                1 => (addr.to_string(), 128, None),
                _ => match port {
                    Some(port) => (format!("[{addr}]:{port}"), 128, Some(port)),
                    None => (format!("[{addr}]"), 128, None),
                },
            };
            Entry {
                rule: Rule::Net {
                    addr: IpAddr::V6(addr),
                    prefix,
                    port,
                },
                text,
            }
        });
    prop_oneof![
        1 => Just(Entry { rule: Rule::All, text: "*".into() }),
        6 => domain_entry,
        3 => v4,
        2 => v6,
    ]
}

/// The first `prefix` bits of two addresses agree, bit by bit.
fn same_prefix(a: &[u8], b: &[u8], prefix: u8) -> bool {
    (0..usize::from(prefix)).all(|bit| {
        let (byte, shift) = (bit / 8, 7 - bit % 8);
        (a[byte] >> shift) & 1 == (b[byte] >> shift) & 1
    })
}

fn octets(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

fn model(rule: &Rule, host: &Host, port: u16) -> bool {
    match (rule, host) {
        (Rule::All, _) => true,
        (Rule::Domain { name, port: want }, Host::Name(host)) => {
            want.is_none_or(|p| p == port) && (host == name || host.ends_with(&format!(".{name}")))
        }
        (
            Rule::Net {
                addr,
                prefix,
                port: want,
            },
            Host::Ip(ip),
        ) => {
            // An IPv4-mapped IPv6 host is its IPv4 address.
            let ip = match ip {
                IpAddr::V6(v6) if addr.is_ipv4() => v6.to_ipv4_mapped().map_or(*ip, IpAddr::V4),
                _ => *ip,
            };
            want.is_none_or(|p| p == port)
                && ip.is_ipv4() == addr.is_ipv4()
                && same_prefix(&octets(ip), &octets(*addr), *prefix)
        }
        _ => false,
    }
}

/// A host near the rules: one of their names, a subdomain or a look-alike
/// of one, an address in or next to one of their networks, or anything.
fn host_near(entries: Vec<Entry>) -> impl Strategy<Value = (Vec<Entry>, Host, String)> {
    let rules: Vec<Rule> = entries.iter().map(|e| e.rule.clone()).collect();
    (
        any::<prop::sample::Index>(),
        0u8..5,
        label(),
        any::<u128>(),
        any::<u64>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            move |(pick, how, extra, bits, mask, trailing_dot, mapped)| {
                let rule = rules.get(pick.index(rules.len().max(1))).cloned();
                let host = match (rule, how) {
                    (Some(Rule::Domain { name, .. }), 0) => Host::Name(name),
                    (Some(Rule::Domain { name, .. }), 1) => Host::Name(format!("{extra}.{name}")),
                    (Some(Rule::Domain { name, .. }), 2) => Host::Name(format!("{extra}{name}")),
                    (
                        Some(Rule::Net {
                            addr: IpAddr::V4(a),
                            ..
                        }),
                        0..=2,
                    ) => {
                        // Flip one bit, or none.
                        let flip = if how == 0 { 0 } else { 1u32 << (bits % 32) };
                        let v4 = Ipv4Addr::from(u32::from(a) ^ flip);
                        if mapped {
                            Host::Ip(IpAddr::V6(v4.to_ipv6_mapped()))
                        } else {
                            Host::Ip(IpAddr::V4(v4))
                        }
                    }
                    (
                        Some(Rule::Net {
                            addr: IpAddr::V6(a),
                            ..
                        }),
                        0..=2,
                    ) => {
                        let flip = if how == 0 { 0 } else { 1u128 << (bits % 128) };
                        Host::Ip(IpAddr::V6(Ipv6Addr::from(u128::from(a) ^ flip)))
                    }
                    (_, 3) => Host::Ip(IpAddr::V4(Ipv4Addr::from(bits as u32))),
                    (_, 4) => Host::Ip(IpAddr::V6(Ipv6Addr::from(bits))),
                    _ => Host::Name(format!("{extra}.example")),
                };
                let text = match &host {
                    Host::Name(name) => {
                        let dot = if trailing_dot { "." } else { "" };
                        format!("{}{dot}", recase(name, mask))
                    }
                    Host::Ip(IpAddr::V6(v6)) if trailing_dot => format!("[{v6}]"),
                    Host::Ip(ip) => ip.to_string(),
                };
                (entries.clone(), host, text)
            },
        )
}

fn separator() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![",", ", ", " , ", " ", ",,", "\t"])
}

fn case() -> impl Strategy<Value = (Vec<Entry>, Vec<&'static str>, Host, String, u16)> {
    (
        proptest::collection::vec(entry(), 0..4).prop_flat_map(host_near),
        proptest::collection::vec(separator(), 4),
        prop_oneof![Just(443u16), Just(8443), 1u16..],
    )
        .prop_map(|((entries, host, text), seps, port)| (entries, seps, host, text, port))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// The list bypasses a host exactly when one of its rules, as the
    /// model reads it, matches.
    #[test]
    fn matcher_agrees_with_the_model((entries, seps, host, text, port) in case()) {
        let mut list = String::new();
        for (i, entry) in entries.iter().enumerate() {
            if i > 0 {
                list.push_str(seps[i]);
            }
            list.push_str(&entry.text);
        }
        let expected = entries.iter().any(|e| model(&e.rule, &host, port));
        prop_assert_eq!(
            NoProxy::parse(&list).bypasses(&text, port),
            expected,
            "NO_PROXY={:?} host={:?} port={}", list, text, port
        );
    }

}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    /// A leading `.` or `*.` changes nothing; `*` bypasses every host.
    #[test]
    fn leading_dot_and_star(name in domain(), (_, _, host, text, port) in case()) {
        let _ = host;
        let plain = NoProxy::parse(&name).bypasses(&text, port);
        prop_assert_eq!(NoProxy::parse(&format!(".{name}")).bypasses(&text, port), plain);
        prop_assert_eq!(NoProxy::parse(&format!("*.{name}")).bypasses(&text, port), plain);
        let with_star = format!("{name},*");
        prop_assert!(NoProxy::parse(&with_star).bypasses(&text, port));
    }

    /// A name or address always matches itself, at any port, and with
    /// its port only at that port.
    #[test]
    fn a_host_matches_itself(name in domain(), ip in any::<[u8; 4]>(), port in 1u16.., other in 1u16..) {
        let ip = Ipv4Addr::from(ip).to_string();
        for host in [name.as_str(), ip.as_str()] {
            let with_port = format!("{host}:{port}");
            prop_assert!(NoProxy::parse(host).bypasses(host, port));
            prop_assert!(NoProxy::parse(&with_port).bypasses(host, port));
            prop_assert_eq!(NoProxy::parse(&with_port).bypasses(host, other), port == other);
        }
    }

    /// Whatever the text: no panic, a list is the union of its
    /// comma-separated parts, `*` bypasses all, and the host's case does
    /// not matter (the fuzz target `no_proxy` checks the same).
    #[test]
    fn any_text_is_handled(
        first in ".{0,30}",
        second in ".{0,30}",
        host in ".{0,20}",
        port in any::<u16>(),
    ) {
        let one = NoProxy::parse(&first).bypasses(&host, port);
        let other = NoProxy::parse(&second).bypasses(&host, port);
        let joined = format!("{first},{second}");
        prop_assert_eq!(NoProxy::parse(&joined).bypasses(&host, port), one || other);
        let star = format!("{first},*");
        prop_assert!(NoProxy::parse(&star).bypasses(&host, port));
        let upper = host.to_ascii_uppercase();
        prop_assert_eq!(NoProxy::parse(&first).bypasses(&upper, port), one);
    }
}
