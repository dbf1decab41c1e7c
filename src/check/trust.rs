//! The certificates the check trusts: the system store, or `SSL_CERT_FILE` /
//! `SSL_CERT_DIR` when set (as Composer and OpenSSL read them), plus `--ca-file`.
//! There is no way to turn verification off.

use std::path::Path;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::exit::Failure;

pub struct Roots {
    pub certs: Vec<CertificateDer<'static>>,
}

impl Roots {
    pub fn load(ca_file: Option<&Path>) -> Result<Self, Failure> {
        // Unreadable entries in the store are skipped, as curl skips them;
        // an empty store shows up as a TLS error naming the CA options.
        let mut certs = rustls_native_certs::load_native_certs().certs;
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
