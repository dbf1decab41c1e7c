//! The tests' fake repo.magento.com, standalone, for `bench/run`.
//!
//! Usage: `fake_repo DIR [SECONDS]` with the keys it accepts in
//! `MAGENTO_PUBLIC_KEY` / `MAGENTO_PRIVATE_KEY` (never argv). Writes the CA to
//! `DIR/ca.pem`, prints `url=https://127.0.0.1:PORT` and `ca=DIR/ca.pem` on
//! stdout, appends `METHOD PATH` to `DIR/requests.log` for every request, and
//! exits when stdin closes or after SECONDS (default 1800).

#[path = "../tests/it/fake_repo.rs"]
mod fake_repo;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use fake_repo::{FakeRepo, TestCa};

/// The benchmark's runs, with room to spare; the fake refuses more.
const CONNECTIONS: usize = 20_000;
const LONGEST: Duration = Duration::from_secs(4 * 3600);

fn main() {
    let mut args = std::env::args_os().skip(1);
    let Some(dir) = args.next().map(PathBuf::from) else {
        eprintln!("usage: fake_repo DIR [SECONDS]");
        std::process::exit(2);
    };
    let lifetime = args
        .next()
        .and_then(|s| s.to_str()?.parse::<u64>().ok())
        .map_or(Duration::from_secs(1800), Duration::from_secs)
        .min(LONGEST);
    let key = |name: &str| std::env::var(name).unwrap_or_default();
    let (public, private) = (key("MAGENTO_PUBLIC_KEY"), key("MAGENTO_PRIVATE_KEY"));

    let ca = TestCa::new("bench");
    let ca_path = ca.write(&dir, "ca.pem");
    let repo = FakeRepo::https_accepting(&ca, CONNECTIONS);
    if !public.is_empty() {
        repo.require_keys(&public, &private);
    }
    // The README's quick start asks for the enterprise edition.
    let names = [
        "magento/product-community-edition",
        "magento/product-enterprise-edition",
    ];
    fake_repo::serve_composer2(&repo, &names, true);
    let log_path = dir.join("requests.log");
    let mut log = std::fs::File::create(&log_path).expect("creating requests.log");
    println!("url={}", repo.url());
    println!("ca={}", ca_path.display());
    std::io::stdout().flush().expect("stdout");

    let (closed, stdin_closed) = mpsc::channel();
    std::thread::spawn(move || {
        // Read to EOF (whatever is written is ignored), then say so.
        let mut sink = [0u8; 256];
        let mut stdin = std::io::stdin();
        while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
        let _ = closed.send(());
    });

    // The fake records requests before it answers them; copy them to the log
    // as they come, until stdin closes or the time is up.
    let end = Instant::now() + lifetime;
    let mut logged = 0;
    loop {
        let requests = repo.requests();
        for request in &requests[logged..] {
            writeln!(log, "{} {}", request.method, request.raw_path).expect("writing the log");
        }
        logged = requests.len();
        let now = Instant::now();
        if now >= end {
            break;
        }
        match stdin_closed.recv_timeout((end - now).min(Duration::from_millis(10))) {
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            _ => break,
        }
    }
    let requests = repo.requests();
    for request in &requests[logged..] {
        writeln!(log, "{} {}", request.method, request.raw_path).expect("writing the log");
    }
}
