//! The leak sweep's "done when" (issue 16): every form a key takes, in every
//! kind of place a job leaves it, is found and named; nothing else is.

use std::fs;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::common::*;
use crate::scan::{leaks, magento_tree, scan};

/// Issue 16's "done when": each form a key takes, in each kind of place a
/// job leaves it (deep in vendor/, in a directory git ignores, in the tail of
/// a file too large to read whole, next to a symbolic link loop), is found
/// and named; nothing else is.
#[test]
fn every_form_in_every_kind_of_place_is_found() {
    let pair = format!("{PUBLIC}:{PRIVATE}");
    let canary_forms = [
        ("raw", format!("user={PUBLIC}")),
        ("raw", format!("password={PRIVATE}")),
        ("base64", format!("Basic {}", BASE64.encode(&pair))),
        ("base64", format!("b={}", BASE64.encode(format!("x{pair}")))),
        (
            "base64",
            format!("b={}", BASE64.encode(format!("xy{pair}"))),
        ),
    ];
    // Keys of another repository, with characters that escaping changes.
    let (public, private) = ("us/er+name@01", "pa ss/w\"rd%42");
    let escaped_forms = [
        ("url-encoded", "u=us%2Fer%2Bname%4001".to_string()),
        (
            "json-escaped",
            r#"{"password": "pa ss\/w\"rd%42"}"#.to_string(),
        ),
    ];
    for (keys, forms) in [
        (None, &canary_forms[..]),
        (Some((public, private)), &escaped_forms[..]),
    ] {
        let mut world = World::new();
        if let Some((public, private)) = keys {
            world
                .set("MAGENTO_PUBLIC_KEY", public)
                .set("MAGENTO_PRIVATE_KEY", private);
        }
        magento_tree(&world.project);
        let loop_dir = world.project.join("pub/media/loop");
        fs::create_dir_all(&loop_dir).unwrap();
        std::os::unix::fs::symlink("..", loop_dir.join("up")).unwrap();
        std::os::unix::fs::symlink(&loop_dir, loop_dir.join("self")).unwrap();
        let mut expected = Vec::new();
        for (n, (form, text)) in forms.iter().enumerate() {
            for place in ["vendor/a/b/c/d/e/f/g", "build/ignored", "pub/media/loop"] {
                let rel = format!("{place}/leak{n}.txt");
                let path = world.project.join(&rel);
                fs::create_dir_all(path.parent().unwrap()).unwrap();
                fs::write(&path, format!("before\n{text}\nafter\n")).unwrap();
                expected.push((rel, form.to_string()));
            }
            let rel = format!("var/big{n}.sql");
            plant_in_tail(&world.project.join(&rel), text);
            expected.push((rel, form.to_string()));
        }
        let out = scan(&world, &[]).code(7);
        expected.sort();
        assert_eq!(leaks(&out), expected, "{out:#?}");
        let secrets = match keys {
            None => secret_forms(),
            Some((public, private)) => secret_forms_of(public, private),
        };
        for secret in secrets {
            assert!(!out.stdout.contains(&secret) && !out.stderr.contains(&secret));
        }
    }
}

/// `text` at the end of a sparse 80 MiB file (over the 64 MiB read whole).
fn plant_in_tail(path: &Path, text: &str) {
    use std::io::{Seek, SeekFrom, Write};
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut file = fs::File::create(path).unwrap();
    file.set_len(80 * 1024 * 1024).unwrap();
    file.seek(SeekFrom::End(-(text.len() as i64) - 1)).unwrap();
    file.write_all(text.as_bytes()).unwrap();
}
