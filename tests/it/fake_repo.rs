//! A fake of repo.magento.com: HTTPS on 127.0.0.1 with a CA made at test
//! time, speaking the Composer repository protocol (the Composer 1 layout with
//! real provider hashes, the Composer 2 `metadata-url` layout,
//! `available-packages`), answering 401 with the repository's warning JSON to
//! wrong keys, and recording every request it gets.
//!
//! Routes can be scripted with a sequence of answers (503 then 200, 429 with
//! Retry-After, a slow answer, a redirect). Dist archives can be added as
//! routes too, for tests that run a real Composer against it.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::{Digest, Sha256};

/// The most connections one fake accepts: every loop here is bounded.
const MAX_CONNECTIONS: usize = 500;
/// The most a fake may be told to accept ([`FakeRepo::https_accepting`]).
const MAX_CONNECTIONS_EVER: usize = 100_000;
/// The longest a scripted delay may be.
const MAX_DELAY: Duration = Duration::from_secs(10);

pub const WARNING_INVALID: &str = "Your Magento authentication keys are invalid. Please double-check your keys in your Marketplace account";
pub const WARNING_NONE: &str = "You haven't provided your Magento authentication keys";

/// A certificate authority made for one test, and a server certificate for
/// 127.0.0.1 and localhost signed by it.
pub struct TestCa {
    pub cert_pem: String,
    server: Arc<ServerConfig>,
}

impl TestCa {
    pub fn new(name: &str) -> Self {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, format!("magento-auth test CA {name}"));
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_key = KeyPair::generate().unwrap();
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let mut leaf =
            CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
        leaf.distinguished_name
            .push(DnType::CommonName, "fake repo.magento.com");
        let leaf_key = KeyPair::generate().unwrap();
        let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
        let chain = vec![CertificateDer::from(leaf_cert.der().to_vec())];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
        let server =
            ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(chain, key)
                .unwrap();
        TestCa {
            cert_pem: ca_cert.pem(),
            server: Arc::new(server),
        }
    }

    /// Write the CA certificate to `dir/name` for SSL_CERT_FILE or --ca-file.
    pub fn write(&self, dir: &Path, name: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, &self.cert_pem).unwrap();
        path
    }
}

/// One scripted answer.
#[derive(Clone, Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub delay: Duration,
}

impl Answer {
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Answer {
            status,
            headers: Vec::new(),
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    pub fn json(status: u16, value: &serde_json::Value) -> Self {
        Self::new(status, value.to_string()).header("Content-Type", "application/json")
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = delay.min(MAX_DELAY);
        self
    }
}

/// What the fake received.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    /// As sent, percent-encoding included.
    pub raw_path: String,
    /// Decoded (`%24` is `$`), as routes are keyed.
    pub path: String,
    pub authorization: Option<String>,
    pub host: Option<String>,
}

#[derive(Default)]
struct State {
    /// Path → answers in order; the last one repeats.
    routes: HashMap<String, VecDeque<Answer>>,
    requests: Vec<Request>,
    /// The Authorization header every request must carry, if any.
    required_auth: Option<String>,
}

pub struct FakeRepo {
    pub addr: SocketAddr,
    tls: bool,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl FakeRepo {
    /// HTTPS with a certificate from `ca`.
    pub fn https(ca: &TestCa) -> Self {
        Self::start(Some(ca.server.clone()), MAX_CONNECTIONS)
    }

    /// HTTPS accepting up to `connections` (capped) instead of the tests'
    /// 500: the benchmark (`examples/fake_repo.rs`) makes about a thousand.
    pub fn https_accepting(ca: &TestCa, connections: usize) -> Self {
        Self::start(
            Some(ca.server.clone()),
            connections.min(MAX_CONNECTIONS_EVER),
        )
    }

    /// Plain HTTP (loopback only, as the check allows).
    pub fn http() -> Self {
        Self::start(None, MAX_CONNECTIONS)
    }

    fn start(tls: Option<Arc<ServerConfig>>, connections: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let is_tls = tls.is_some();
        let accept = {
            let state = state.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                for _ in 0..connections {
                    let Ok((stream, _)) = listener.accept() else {
                        return;
                    };
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let state = state.clone();
                    let tls = tls.clone();
                    std::thread::spawn(move || handle(stream, tls, &state));
                }
            })
        };
        FakeRepo {
            addr,
            tls: is_tls,
            state,
            stop,
            accept: Some(accept),
        }
    }

    /// `https://127.0.0.1:PORT` (or http).
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The `http-basic` host key Composer uses for this fake.
    pub fn auth_host(&self) -> String {
        self.addr.to_string()
    }

    /// Answer `path` with `answers` in order, the last one from then on.
    pub fn route(&self, path: &str, answers: Vec<Answer>) -> &Self {
        assert!(!answers.is_empty());
        self.state
            .lock()
            .unwrap()
            .routes
            .insert(path.to_string(), answers.into());
        self
    }

    /// Refuse every request without Basic auth for `user:password`, with the
    /// 401 and warning JSON repo.magento.com sends.
    pub fn require_keys(&self, user: &str, password: &str) -> &Self {
        let header = format!("Basic {}", BASE64.encode(format!("{user}:{password}")));
        self.state.lock().unwrap().required_auth = Some(header);
        self
    }

    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().requests.clone()
    }

    pub fn paths(&self) -> Vec<String> {
        self.requests().into_iter().map(|r| r.path).collect()
    }
}

impl Drop for FakeRepo {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(handle) = self.accept.take() {
            let _ = handle.join();
        }
    }
}

fn handle(stream: TcpStream, tls: Option<Arc<ServerConfig>>, state: &Mutex<State>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    match tls {
        Some(config) => {
            let Ok(conn) = rustls::ServerConnection::new(config) else {
                return;
            };
            let mut tls = rustls::StreamOwned::new(conn, stream);
            serve(&mut tls, state);
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
        None => {
            let mut plain = stream;
            serve(&mut plain, state);
        }
    }
}

fn serve(io: &mut (impl Read + Write), state: &Mutex<State>) {
    let Some(request) = read_request(io) else {
        return;
    };
    let answer = {
        let mut state = state.lock().unwrap();
        state.requests.push(request.clone());
        let authorized = match &state.required_auth {
            None => true,
            Some(wanted) => request.authorization.as_deref() == Some(wanted.as_str()),
        };
        if !authorized {
            let warning = if request.authorization.is_some() {
                WARNING_INVALID
            } else {
                WARNING_NONE
            };
            Answer::json(401, &serde_json::json!({ "warning": warning }))
                .header("WWW-Authenticate", "Basic realm=\"Magento Repository\"")
        } else {
            match state.routes.get_mut(&request.path) {
                Some(answers) if answers.len() > 1 => answers.pop_front().unwrap(),
                Some(answers) => answers[0].clone(),
                None => Answer::new(404, "Not Found"),
            }
        }
    };
    std::thread::sleep(answer.delay);
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        answer.status,
        reason(answer.status),
        answer.body.len()
    );
    for (name, value) in &answer.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let _ = io.write_all(head.as_bytes());
    let _ = io.write_all(&answer.body);
    let _ = io.flush();
}

fn read_request(io: &mut impl Read) -> Option<Request> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    // At most 64 KiB of head, in at most 64 reads.
    for _ in 0..64 {
        if buf.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
        let n = io.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&buf);
    let mut lines = text.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let raw_path = first.next()?.to_string();
    let mut authorization = None;
    let mut host = None;
    for line in lines.take_while(|l| !l.is_empty()) {
        if let Some((name, value)) = line.split_once(':') {
            match name.trim().to_ascii_lowercase().as_str() {
                "authorization" => authorization = Some(value.trim().to_string()),
                "host" => host = Some(value.trim().to_string()),
                _ => {}
            }
        }
    }
    let path = percent_decode(raw_path.split('?').next().unwrap_or(""));
    Some(Request {
        method,
        raw_path,
        path,
        authorization,
        host,
    })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Whatever",
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A package the fake serves: its versions' metadata as Composer wants it.
pub fn package_versions(name: &str, repo_url: &str) -> serde_json::Value {
    serde_json::json!([{
        "name": name,
        "version": "2.4.7",
        "version_normalized": "2.4.7.0",
        "type": "metapackage",
        // The Composer 1 layout numbers every version; Composer needs it.
        "uid": 1000,
        "dist": {
            "type": "zip",
            "url": format!("{repo_url}/archives/{name}/{}-2.4.7.zip", name.replace('/', "-")),
            "reference": null,
            "shasum": ""
        }
    }])
}

/// The layout repo.magento.com serves: `packages.json` with `providers-url`
/// and `provider-includes` whose sha256 are real; provider files; package files.
/// JSON is written the way PHP writes it, slashes escaped.
pub fn serve_composer1(repo: &FakeRepo, names: &[&str]) {
    let url = repo.url();
    let packages: Vec<(&str, serde_json::Value)> = names
        .iter()
        .map(|name| (*name, package_versions(name, &url)[0].clone()))
        .collect();
    serve_composer1_versions(repo, &packages);
}

/// [`serve_composer1`] with each package's (one) version given in full.
pub fn serve_composer1_versions(repo: &FakeRepo, packages: &[(&str, serde_json::Value)]) {
    let mut providers = serde_json::Map::new();
    for (name, version) in packages {
        let mut by_version = serde_json::Map::new();
        by_version.insert(version["version"].as_str().unwrap().into(), version.clone());
        let file = php_json(&serde_json::json!({ "packages": { *name: by_version } }));
        let hash = sha256_hex(file.as_bytes());
        repo.route(
            &format!("/p/{name}${hash}.json"),
            vec![Answer::new(200, file)],
        );
        providers.insert(name.to_string(), serde_json::json!({ "sha256": hash }));
    }
    let include = php_json(&serde_json::json!({ "providers": providers }));
    let include_hash = sha256_hex(include.as_bytes());
    repo.route(
        &format!("/p/provider-ce${include_hash}.json"),
        vec![Answer::new(200, include)],
    );
    let root = serde_json::json!({
        "packages": [],
        "notify-batch": "/downloads/",
        "providers-url": "/p/%package%$%hash%.json",
        "search": "/search.json?q=%query%&type=%type%",
        "provider-includes": { "p/provider-ce$%hash%.json": { "sha256": include_hash } }
    });
    repo.route("/packages.json", vec![Answer::new(200, php_json(&root))]);
}

/// The Composer 2 layout: `metadata-url` and one `p2/<name>.json` per package;
/// with `listed`, also `available-packages`.
pub fn serve_composer2(repo: &FakeRepo, names: &[&str], listed: bool) {
    let url = repo.url();
    for name in names {
        let file = serde_json::json!({ "packages": { *name: package_versions(name, &url) } });
        repo.route(
            &format!("/p2/{name}.json"),
            vec![Answer::new(200, php_json(&file))],
        );
    }
    let mut root = serde_json::json!({
        "packages": [],
        "metadata-url": "/p2/%package%.json",
    });
    if listed {
        root["available-packages"] = serde_json::json!(names);
    }
    repo.route("/packages.json", vec![Answer::new(200, php_json(&root))]);
}

/// `json_encode` without flags: `/` written as `\/`.
fn php_json(value: &serde_json::Value) -> String {
    value.to_string().replace('/', "\\/")
}
