//! The certificates the check trusts, from the sources Composer reads, in
//! its order (composer/ca-bundle `CaBundle::getSystemCaRootBundlePath`),
//! plus `--ca-file`. There is no way to turn verification off.
//!
//! 1. `SSL_CERT_FILE` and `SSL_CERT_DIR`: a file that holds a certificate,
//!    and every file in each directory of the list (the `*.0` links
//!    `c_rehash` / `openssl rehash` make included, each file read once).
//!    Composer takes the first of the two that is usable; curl and OpenSSL
//!    read both, so a certificate in either is trusted. One that is set but
//!    holds nothing (a file that is not there) is passed over, as Composer
//!    passes it over.
//! 2. Else the system store: the first CA bundle file found (the file
//!    composer/ca-bundle gives PHP and curl), and the system's certificate
//!    directory, which curl (and so Composer) reads beside it. The directory
//!    is read only when a server's CA is not in the bundle ([`Roots::widened`]):
//!    on Debian and Ubuntu update-ca-certificates writes the same
//!    certificates to both, and reading both every time doubles the cost of
//!    a check, while a CA put only in the directory, by hand, is rare.
//! 3. Else the platform's store (rustls-native-certs: the keychain on
//!    macOS, the Windows store).
//!
//! Every PEM file is read by rustls-pki-types' parser.

use std::path::{Path, PathBuf};

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::exit::Failure;

pub(crate) struct Roots {
    pub(crate) certs: Vec<CertificateDer<'static>>,
    /// The system's certificate directories, when they are trusted but were
    /// not read yet (see [`Roots::widened`]).
    unread_dirs: Vec<PathBuf>,
}

impl Roots {
    pub(crate) fn load(ca_file: Option<&Path>) -> Result<Self, Failure> {
        // Unreadable entries in the store are skipped, as curl skips them;
        // an empty store shows up as a TLS error naming the CA options.
        let (mut certs, unread_dirs) = system_certs();
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
        Ok(Roots { certs, unread_dirs })
    }

    /// These roots and the system's certificate directory, for a server
    /// whose CA is not among them; `None` when there is nothing more to read.
    pub(crate) fn widened(&self) -> Option<Roots> {
        if self.unread_dirs.is_empty() {
            return None;
        }
        let mut certs = self.certs.clone();
        for dir in &self.unread_dirs {
            certs.extend(rustls_native_certs::load_certs_from_paths(None, Some(dir)).certs);
        }
        certs.sort_unstable_by(|a, b| a.as_ref().cmp(b.as_ref()));
        certs.dedup();
        Some(Roots {
            certs,
            unread_dirs: Vec::new(),
        })
    }
}

/// The trusted certificates, and the system directories left to read when
/// a server's CA is not among them.
fn system_certs() -> (Vec<CertificateDer<'static>>, Vec<PathBuf>) {
    certs_for(
        std::env::var_os("SSL_CERT_FILE").as_deref(),
        std::env::var_os("SSL_CERT_DIR").as_deref(),
    )
}

/// The trusted certificates, given `SSL_CERT_FILE` and `SSL_CERT_DIR`, and
/// the system directories left to read.
fn certs_for(
    file: Option<&std::ffi::OsStr>,
    dirs: Option<&std::ffi::OsStr>,
) -> (Vec<CertificateDer<'static>>, Vec<PathBuf>) {
    let from_env = from_variables(file, dirs);
    if !from_env.is_empty() {
        return (from_env, Vec::new());
    }
    let (bundle, dir) = system_locations();
    if let Some(file) = bundle
        && let Ok(bytes) = std::fs::read(&file)
    {
        let found = pem_certificates(&bytes);
        if !found.is_empty() {
            return (found, dir);
        }
    }
    (rustls_native_certs::load_native_certs().certs, Vec::new())
}

/// The certificates of `SSL_CERT_FILE` and of every file in each directory
/// of `SSL_CERT_DIR` (a `:`-separated list, as OpenSSL reads it), each
/// certificate once; unreadable entries are skipped, as curl skips them.
fn from_variables(
    file: Option<&std::ffi::OsStr>,
    dirs: Option<&std::ffi::OsStr>,
) -> Vec<CertificateDer<'static>> {
    let mut certs = Vec::new();
    if let Some(file) = file.filter(|f| !f.is_empty())
        && let Ok(bytes) = std::fs::read(file)
    {
        certs.extend(pem_certificates(&bytes));
    }
    for dir in dirs.map(std::env::split_paths).into_iter().flatten() {
        if !dir.as_os_str().is_empty() {
            // Links to one file (hash names, readable names) are read once.
            certs.extend(rustls_native_certs::load_certs_from_paths(None, Some(&dir)).certs);
        }
    }
    certs.sort_unstable_by(|a, b| a.as_ref().cmp(b.as_ref()));
    certs.dedup();
    certs
}

/// The first bundle file and the certificate directories found on the system (on
/// Unix but macOS, whose store is the keychain): what Composer and curl use
/// when the variables give nothing. openssl-probe returns `SSL_CERT_FILE`
/// and `SSL_CERT_DIR` instead when they exist.
fn system_locations() -> (Option<PathBuf>, Vec<PathBuf>) {
    #[cfg(all(unix, not(target_os = "macos")))]
    {
        let probe = openssl_probe::probe();
        (probe.cert_file, probe.cert_dir)
    }
    #[cfg(not(all(unix, not(target_os = "macos"))))]
    (None, Vec::new())
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

    fn ca(name: &str) -> (String, CertificateDer<'static>) {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec![format!("{name}.test")]).unwrap();
        let cert = params.self_signed(&key).unwrap();
        (cert.pem(), cert.der().clone())
    }

    #[cfg(unix)]
    #[test]
    fn every_file_of_each_directory_and_the_file_are_read_once() {
        let root = tempfile::tempdir().unwrap();
        let (a_pem, a) = ca("a");
        let (b_pem, b) = ca("b");
        let (c_pem, c) = ca("c");
        // A bundle file, and two directories: one as c_rehash leaves it (a
        // hash-named link to a file elsewhere, and a readable-name link to
        // the same file), one with a plain file and what is not a certificate.
        let bundle = root.path().join("bundle.pem");
        std::fs::write(&bundle, &a_pem).unwrap();
        let hashed = root.path().join("hashed");
        let plain = root.path().join("plain");
        std::fs::create_dir_all(&hashed).unwrap();
        std::fs::create_dir_all(plain.join("a-subdirectory")).unwrap();
        std::fs::write(root.path().join("b.pem"), &b_pem).unwrap();
        std::os::unix::fs::symlink("../b.pem", hashed.join("9d66eef0.0")).unwrap();
        std::os::unix::fs::symlink("../b.pem", hashed.join("b.pem")).unwrap();
        std::os::unix::fs::symlink("../gone.pem", hashed.join("00000000.0")).unwrap();
        std::fs::write(plain.join("c.crt"), &c_pem).unwrap();
        std::fs::write(plain.join("README"), "not a certificate").unwrap();
        let dirs = std::env::join_paths([&hashed, &plain]).unwrap();

        let mut all = vec![a.clone(), b.clone(), c];
        all.sort_unstable_by(|x, y| x.as_ref().cmp(y.as_ref()));
        assert_eq!(from_variables(Some(bundle.as_os_str()), Some(&dirs)), all);
        assert_eq!(from_variables(None, Some(hashed.as_os_str())), [b]);
        assert_eq!(from_variables(Some(bundle.as_os_str()), None), [a]);
        // Set but holding nothing: nothing, so the system store is read.
        let missing = root.path().join("missing.pem");
        assert!(from_variables(Some(missing.as_os_str()), Some("".as_ref())).is_empty());
    }

    #[test]
    fn a_variable_that_gives_nothing_is_passed_over_as_composer_does() {
        let root = tempfile::tempdir().unwrap();
        let missing = root.path().join("missing.pem");
        let system = certs_for(None, None).0;
        // Composer goes on to the system's bundle; OpenSSL would trust nothing.
        assert_eq!(
            certs_for(Some(missing.as_os_str()), None).0.len(),
            system.len()
        );
        assert_eq!(
            certs_for(Some(missing.as_os_str()), Some(root.path().as_os_str()))
                .0
                .len(),
            system.len()
        );
        // One that gives a certificate replaces the system store.
        let (pem, der) = ca("only");
        let file = root.path().join("only.pem");
        std::fs::write(&file, pem).unwrap();
        // ... and the system directory with it.
        assert_eq!(certs_for(Some(file.as_os_str()), None), (vec![der], vec![]));
    }
}
