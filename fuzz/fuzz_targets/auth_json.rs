//! Any bytes as an auth.json: refused, or merged, written, read back equal,
//! and undone to the same document.
#![no_main]

use libfuzzer_sys::fuzz_target;
use magento_auth::fuzzing::{AuthDoc, Keys, Secret};

const HOSTS: [&str; 4] = ["repo.magento.com", "127.0.0.1:8443", "", "a.b:c"];

fuzz_target!(|data: &[u8]| {
    // The first byte picks the host setup writes for; the rest is the file.
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let host = HOSTS[usize::from(pick) % HOSTS.len()];
    let Ok(original) = AuthDoc::parse(bytes, "auth.json") else {
        return;
    };
    let keys = Keys {
        public: Secret::new("p".repeat(32)),
        private: Secret::new("s".repeat(32)),
    };
    let mut merged = original.clone();
    merged.set_keys(host, &keys);
    let written = merged.to_file_bytes();
    let reparsed = AuthDoc::parse(&written, "auth.json").expect("what setup writes parses");
    assert_eq!(reparsed, merged, "the file holds what was merged");
    let previous = original.http_basic(host).cloned();
    let mut undone = reparsed;
    undone.restore_entry(host, previous.as_ref(), original.has_http_basic_section());
    // Exact undo also means the key is gone (unless the file held it before).
    assert_eq!(undone.to_compact(), original.to_compact(), "undo is exact");
});
