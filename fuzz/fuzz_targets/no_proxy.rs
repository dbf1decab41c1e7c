//! Any NO_PROXY list and host: no panic, and the rules that hold for every
//! input: a list is the union of its comma-separated parts, `*` bypasses
//! everything, and the host's case does not matter.
#![no_main]

use libfuzzer_sys::fuzz_target;
use magento_auth::fuzzing::NoProxy;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // "LIST\nHOST" or "LIST\nHOST\nPORT"; a second list after a tab.
    let mut lines = text.splitn(3, '\n');
    let list = lines.next().unwrap_or("");
    let host = lines.next().unwrap_or("");
    let port = lines.next().and_then(|p| p.parse().ok()).unwrap_or(443u16);
    let (first, second) = list.split_once('\t').unwrap_or((list, ""));

    let joined = format!("{first},{second}");
    let either =
        NoProxy::parse(first).bypasses(host, port) || NoProxy::parse(second).bypasses(host, port);
    assert_eq!(
        NoProxy::parse(&joined).bypasses(host, port),
        either,
        "union"
    );
    assert!(
        NoProxy::parse(&format!("{first},*")).bypasses(host, port),
        "*"
    );
    assert_eq!(
        NoProxy::parse(first).bypasses(&host.to_ascii_uppercase(), port),
        NoProxy::parse(first).bypasses(host, port),
        "case"
    );
});
