//! Item 11: setup refuses to write what cleanup could not read back (1 MiB
//! is the most auth.json may hold), and handles anything below it.

use std::fmt::Write as _;

use super::*;

const MIB: usize = 1024 * 1024;

/// Composer's pretty print (four spaces a level), as setup writes a file.
fn pretty_len(text: &str) -> usize {
    use serde::Serialize;
    let value: serde_json::Value = serde_json::from_str(text).unwrap();
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    value
        .serialize(&mut serde_json::Serializer::with_formatter(
            &mut out, formatter,
        ))
        .unwrap();
    out.len()
}

/// About 200 KB compact, past 1 MiB once pretty-printed (even two spaces a
/// level): an array nested 40 deep, each element on its own line once
/// pretty, beside a padding string and another host's entry.
fn deep_compact() -> String {
    let depth = 40;
    let leaves = vec!["0"; 15_000].join(",");
    let nested = format!("{}{leaves}{}", "[".repeat(depth), "]".repeat(depth));
    let padding = "x".repeat(170_000);
    let text = format!(
        r#"{{"http-basic":{{"other.example":{{"username":"u","password":"p"}}}},"extra":{nested},"padding":"{padding}"}}"#
    );
    let pretty =
        serde_json::to_vec_pretty(&serde_json::from_str::<serde_json::Value>(&text).unwrap())
            .unwrap();
    assert!(
        (190_000..=220_000).contains(&text.len()) && pretty.len() > MIB,
        "compact {} bytes, pretty {} bytes",
        text.len(),
        pretty.len()
    );
    text
}

#[test]
fn a_file_that_would_grow_past_the_limit_is_refused_and_unchanged() {
    let world = World::new();
    let original = deep_compact();
    write_mode(&world.home_auth(), original.as_bytes(), 0o644);
    let job = Job::canary("big");
    let out = job.run(&world, "setup", &[]);
    assert_eq!(out.code, 3, "{out:#?}");
    assert_eq!(
        fs::read(world.home_auth()).unwrap(),
        original.as_bytes(),
        "auth.json after the refused setup"
    );
    job.run(&world, "cleanup", &[]).ok();
    assert_eq!(
        fs::read(world.home_auth()).unwrap(),
        original.as_bytes(),
        "auth.json after cleanup"
    );
    assert_eq!(mode(&world.home_auth()), 0o644);
    assert_no_key_under(&world.root);
}

/// About 800 KB of other hosts' entries, with long passwords so that the
/// file stays under 1 MiB whether it is written compact or pretty.
fn many_hosts(pretty: bool) -> String {
    let mut doc = serde_json::Map::new();
    let mut section = serde_json::Map::new();
    let mut n = 0;
    let mut size = 0;
    while size < 800_000 {
        let mut password = String::new();
        while password.len() < 300 {
            write!(password, "pw{n:05}-").unwrap();
        }
        let entry = serde_json::json!({"username": format!("user{n:05}"), "password": password});
        size += 350;
        section.insert(format!("host{n:05}.example"), entry);
        n += 1;
    }
    doc.insert("http-basic".into(), section.into());
    let value = serde_json::Value::Object(doc);
    let mut text = if pretty {
        String::from_utf8(serde_json::to_vec_pretty(&value).unwrap()).unwrap()
    } else {
        value.to_string()
    };
    text.push('\n');
    text
}

#[test]
fn a_large_file_below_the_limit_comes_back_byte_identical() {
    for pretty in [false, true] {
        let original = many_hosts(pretty);
        assert!(
            (700_000..MIB - 64 * 1024).contains(&pretty_len(&original))
                && original.len() >= 700_000,
            "pretty {pretty}: {} bytes, {} pretty-printed",
            original.len(),
            pretty_len(&original)
        );
        let world = World::new();
        write_mode(&world.home_auth(), original.as_bytes(), 0o640);
        let job = Job::canary("large");
        job.run(&world, "setup", &[]).ok();
        assert_eq!(
            json(&world.home_auth())["http-basic"]["repo.magento.com"],
            job.entry()
        );
        job.run(&world, "cleanup", &[]).ok();
        assert!(
            fs::read(world.home_auth()).unwrap() == original.as_bytes(),
            "pretty {pretty}: auth.json is not byte-identical after cleanup"
        );
        assert_eq!(mode(&world.home_auth()), 0o640, "pretty {pretty}");
        assert_no_key_under(&world.root);
    }
}
