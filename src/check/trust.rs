//! The certificates the check trusts: the system store, or `SSL_CERT_FILE` /
//! `SSL_CERT_DIR` when set (as Composer and OpenSSL read them), plus `--ca-file`.
//! There is no way to turn verification off.
//!
//! The system store is the first CA bundle file found (the file Composer's
//! composer/ca-bundle gives PHP and curl), the certificate directory only
//! where there is no such file. Loading both, as rustls-native-certs does,
//! parses every certificate twice on Debian and Ubuntu, where
//! update-ca-certificates writes the same certificates to both: that was 80%
//! of a check's instructions. A certificate put only in the directory, by
//! hand, is not trusted; name it in SSL_CERT_DIR or --ca-file.

use std::path::{Path, PathBuf};

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::exit::Failure;

pub(crate) struct Roots {
    pub(crate) certs: Vec<CertificateDer<'static>>,
}

impl Roots {
    pub(crate) fn load(ca_file: Option<&Path>) -> Result<Self, Failure> {
        // Unreadable entries in the store are skipped, as curl skips them;
        // an empty store shows up as a TLS error naming the CA options.
        let mut certs = system_certs();
        if let Some(path) = ca_file {
            let bad = |why: String| {
                Failure::bad_input(format!("--ca-file {}: {why}", path.display()))
                    .with_hint("give a PEM file holding the CA certificate(s) that sign the repository's certificate")
            };
            let bytes =
                std::fs::read(path).map_err(|err| bad(format!("cannot read it ({err})")))?;
            let extra: Vec<_> = CertificateDer::pem_slice_iter(&bytes)
                .collect::<Result<_, _>>()
                .map_err(|err| bad(format!("is not valid PEM ({err})")))?;
            if extra.is_empty() {
                return Err(bad("holds no PEM certificate".into()));
            }
            certs.extend(extra);
        }
        Ok(Roots { certs })
    }
}

fn system_certs() -> Vec<CertificateDer<'static>> {
    if std::env::var_os("SSL_CERT_DIR").is_none()
        && let Some(file) = bundle_file()
        && let Ok(bytes) = std::fs::read(&file)
    {
        let found = pem_certificates(&bytes);
        if !found.is_empty() {
            return found;
        }
    }
    // A directory, or nothing readable: rustls-native-certs, which reads
    // SSL_CERT_FILE and SSL_CERT_DIR as OpenSSL does, else the platform's store.
    rustls_native_certs::load_native_certs().certs
}

/// The one file of CA certificates to read: `SSL_CERT_FILE`, else (on Unix
/// but macOS, whose store is the keychain) the first bundle file found.
fn bundle_file() -> Option<PathBuf> {
    if let Some(file) = std::env::var_os("SSL_CERT_FILE") {
        return Some(file.into());
    }
    #[cfg(all(unix, not(target_os = "macos")))]
    return openssl_probe::probe().cert_file;
    #[cfg(not(all(unix, not(target_os = "macos"))))]
    None
}

/// The `CERTIFICATE` blocks of a PEM file; blocks that do not decode are
/// skipped, as rustls-native-certs skips them (each error moves past its
/// block, so the iteration ends).
fn pem_certificates(bytes: &[u8]) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_slice_iter(bytes)
        .filter_map(Result::ok)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_certificates_skip_what_is_not_one() {
        // A broken block and a private key first: what follows is still read.
        let mut pem = String::from("junk before\n");
        pem.push_str("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n");
        pem.push_str("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
        let mut expected = Vec::new();
        for name in ["a", "b"] {
            let key = rcgen::KeyPair::generate().unwrap();
            let params = rcgen::CertificateParams::new(vec![format!("{name}.test")]).unwrap();
            let cert = params.self_signed(&key).unwrap();
            pem.push_str(&cert.pem().replace('\n', "\r\n"));
            pem.push_str("# a comment\r\n");
            expected.push(cert.der().clone());
        }
        assert_eq!(pem_certificates(pem.as_bytes()), expected);
    }
}
