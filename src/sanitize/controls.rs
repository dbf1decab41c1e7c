//! Text that can be read only as text: control characters shown as
//! escapes, terminal escape sequences dropped, nothing a GitHub runner reads
//! as a workflow command.

/// Control characters shown as escapes, escape sequences dropped.
pub(super) fn visible(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    // Once a string command has no end, none after it has one either.
    let mut unterminated = false;
    while let Some(c) = rest.chars().next() {
        rest = &rest[c.len_utf8()..];
        match c {
            '\x1b' => rest = skip_escape(rest, &mut unterminated),
            // A tab is spacing, not structure.
            '\t' => out.push(' '),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            // C0, DEL, C1 (NEL and the 8-bit CSI among them), and the
            // characters that end lines or reorder text where they show.
            c if c.is_control()
                || matches!(
                    c,
                    '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{061c}'
                )
                || ('\u{202a}'..='\u{202e}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c) =>
            {
                out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out
}

/// What is left after an ESC, read as a terminal would read it (ECMA-48): a
/// CSI up to its final byte; a string command (OSC, DCS, SOS, PM, APC) up to
/// its terminator, or only its opener when it has none (so that an
/// unterminated one hides nothing after it); one character of any other
/// sequence. Every byte looked at is ASCII, so every cut is on a character.
fn skip_escape<'a>(rest: &'a str, unterminated: &mut bool) -> &'a str {
    let bytes = rest.as_bytes();
    let run = |from: usize, range: std::ops::RangeInclusive<u8>| {
        from + bytes[from..]
            .iter()
            .take_while(|b| range.contains(b))
            .count()
    };
    match bytes.first() {
        Some(b'[') => {
            let end = run(1, 0x20..=0x3f);
            let end = end + usize::from(bytes.get(end).is_some_and(|b| (0x40..=0x7e).contains(b)));
            &rest[end..]
        }
        Some(b']' | b'P' | b'X' | b'^' | b'_') => {
            let body = &rest[1..];
            if !*unterminated {
                match string_end(body.as_bytes()) {
                    Some(end) => return &body[end..],
                    None => *unterminated = true,
                }
            }
            body
        }
        Some(0x20..=0x2f) => {
            let end = run(0, 0x20..=0x2f);
            let end = end + usize::from(bytes.get(end).is_some_and(|b| (0x30..=0x7e).contains(b)));
            &rest[end..]
        }
        Some(0x30..=0x7e) => &rest[1..],
        _ => rest,
    }
}

/// Where a string command ends: after BEL, ESC `\`, or the 8-bit ST.
fn string_end(body: &[u8]) -> Option<usize> {
    body.iter()
        .enumerate()
        .find_map(|(i, b)| match (b, body.get(i + 1)) {
            (0x07, _) => Some(i + 1),
            (0x1b, Some(b'\\')) | (0xc2, Some(0x9c)) => Some(i + 2),
            _ => None,
        })
}

/// Make sure GitHub reads no workflow command in the text: `::` at its start
/// (after leading whitespace, which the runner trims) gets a `\` in front,
/// and the older `##[` form, which the runner finds anywhere in a line,
/// becomes `##\[`. The reporter composes its own commands after this.
pub(super) fn defuse(mut text: String) -> String {
    if text.contains("##[") {
        text = text.replace("##[", "##\\[");
    }
    let lead = text.len() - text.trim_start().len();
    if text[lead..].starts_with("::") {
        text.insert(lead, '\\');
    }
    text
}
