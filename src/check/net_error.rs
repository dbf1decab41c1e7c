//! What went wrong below HTTP: DNS, connection, proxy, TLS, timeout, or a
//! server that does not speak HTTP, each with a detail a user can act on.

/// What went wrong below HTTP, by the name a user can act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NetKind {
    Dns,
    Connect,
    Proxy,
    Tls,
    Timeout,
    /// The server spoke something that is not HTTP, or the body broke off.
    Protocol,
    /// The body was larger than the client reads (`http::BODY_CAP`).
    TooLarge,
}

impl NetKind {
    pub(crate) fn word(self) -> &'static str {
        match self {
            NetKind::Dns => "DNS",
            NetKind::Connect => "connection",
            NetKind::Proxy => "proxy",
            NetKind::Tls => "TLS",
            NetKind::Timeout => "timeout",
            NetKind::Protocol => "protocol",
            NetKind::TooLarge => "size",
        }
    }

    pub(crate) fn retryable(self) -> bool {
        matches!(
            self,
            NetKind::Connect | NetKind::Proxy | NetKind::Timeout | NetKind::Protocol
        )
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NetError {
    pub(crate) kind: NetKind,
    /// What happened, without URLs' secrets (there are none in ours).
    pub(crate) detail: String,
}

/// A ureq error by the name a user can act on; `via_proxy` when the
/// request went through the proxy, whose failures are the proxy's.
pub(crate) fn net_error(err: ureq::Error, via_proxy: bool) -> NetError {
    use ureq::Error as E;
    let (kind, detail) = match &err {
        E::HostNotFound if via_proxy => (
            NetKind::Proxy,
            "the proxy's host name does not resolve".into(),
        ),
        E::HostNotFound => (NetKind::Dns, "the host name does not resolve".into()),
        E::Timeout(ureq::Timeout::Resolve) => (
            NetKind::Timeout,
            "resolving the host name took too long".into(),
        ),
        E::Timeout(ureq::Timeout::Connect) => (
            NetKind::Timeout,
            format!(
                "no connection{} in the time allowed",
                if via_proxy { " to the proxy" } else { "" }
            ),
        ),
        E::Timeout(_) => (
            NetKind::Timeout,
            "no answer within the time allowed (--timeout)".into(),
        ),
        E::ConnectProxyFailed(why) => (
            NetKind::Proxy,
            format!("the proxy refused the tunnel: {why}"),
        ),
        E::Rustls(tls) => (NetKind::Tls, tls_detail(tls)),
        E::Tls(why) => (NetKind::Tls, (*why).to_string()),
        E::Io(io) => io_error(io, via_proxy),
        E::LargeResponseHeader(..) | E::Protocol(_) | E::BodyStalled => (
            NetKind::Protocol,
            format!("the server's answer is not valid HTTP ({err})"),
        ),
        other => (NetKind::Connect, other.to_string()),
    };
    NetError { kind, detail }
}

fn io_error(io: &std::io::Error, via_proxy: bool) -> (NetKind, String) {
    use std::io::ErrorKind as K;
    if let Some(tls) = io.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()) {
        return (NetKind::Tls, tls_detail(tls));
    }
    let what = if via_proxy { "the proxy" } else { "the server" };
    let kind = if via_proxy {
        NetKind::Proxy
    } else {
        NetKind::Connect
    };
    if is_lookup_failure(io) {
        return if via_proxy {
            (
                NetKind::Proxy,
                "the proxy's host name does not resolve".into(),
            )
        } else {
            (NetKind::Dns, "the host name does not resolve".into())
        };
    }
    match io.kind() {
        K::TimedOut | K::WouldBlock => (
            NetKind::Timeout,
            "no answer within the time allowed (--timeout)".into(),
        ),
        K::ConnectionRefused => (kind, format!("{what} refused the connection")),
        K::ConnectionReset | K::ConnectionAborted | K::UnexpectedEof => {
            (kind, format!("{what} closed the connection ({io})"))
        }
        _ => (kind, format!("cannot connect to {what} ({io})")),
    }
}

/// A failed name lookup, which std reports with no `ErrorKind` of its own:
/// on Unix as getaddrinfo's text, on Windows as a Winsock error code
/// (WSAHOST_NOT_FOUND, WSATRY_AGAIN, WSANO_RECOVERY, WSANO_DATA).
fn is_lookup_failure(io: &std::io::Error) -> bool {
    if cfg!(windows) && matches!(io.raw_os_error(), Some(11001..=11004)) {
        return true;
    }
    io.to_string().contains("failed to lookup address")
}

/// Whether `err` is a certificate signed by a CA not among the roots: the
/// one TLS failure that more roots can cure.
pub(crate) fn is_unknown_issuer(err: &ureq::Error) -> bool {
    let unknown = |tls: &rustls::Error| {
        matches!(
            tls,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)
        )
    };
    match err {
        ureq::Error::Rustls(tls) => unknown(tls),
        ureq::Error::Io(io) => io
            .get_ref()
            .and_then(|e| e.downcast_ref::<rustls::Error>())
            .is_some_and(unknown),
        _ => false,
    }
}

fn tls_detail(err: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    match err {
        rustls::Error::InvalidCertificate(C::UnknownIssuer) => {
            "the server's certificate is signed by a CA that is not trusted".into()
        }
        rustls::Error::InvalidCertificate(C::NotValidForName)
        | rustls::Error::InvalidCertificate(C::NotValidForNameContext { .. }) => {
            "the server's certificate is not valid for this host name".into()
        }
        rustls::Error::InvalidCertificate(C::Expired)
        | rustls::Error::InvalidCertificate(C::ExpiredContext { .. }) => {
            "the server's certificate has expired".into()
        }
        other => format!("the TLS handshake failed ({other})"),
    }
}
