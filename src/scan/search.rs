//! Looking for every form of the keys in one file's bytes.

use std::cell::RefCell;
use std::fs::File;
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::path::Path;

use aho_corasick::{AhoCorasick, packed};

use crate::sanitize::Form;
use crate::secret::Secret;

/// Files larger than this are read only at their start and end, unless the
/// whole file is asked for: keys leak into configuration and logs, not into
/// the middle of archives.
pub(crate) const WHOLE_FILE_LIMIT: u64 = 64 * 1024 * 1024;
/// How much of the start and of the end of a larger file is read.
const PART: u64 = 8 * 1024 * 1024;
/// What one read asks for: most files of a project fit in one, and the
/// buffer stays in the processor's cache.
const CHUNK: usize = 256 * 1024;

thread_local! {
    /// Each worker's one read buffer, kept from file to file: no allocation a
    /// file. It holds bytes of the files searched; those are not the keys
    /// unless a file leaked them, and then only until the next file.
    static BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// The patterns of every form, searched for at once.
pub(crate) struct Needles {
    searcher: Searcher,
    forms: Vec<Form>,
    /// The longest pattern less one byte: what is carried from one read to
    /// the next, so that a key cut by a read's end is still found.
    carry: usize,
}

impl Needles {
    pub(crate) fn new(patterns: Vec<(Form, Secret)>) -> Self {
        let patterns = minimal(patterns);
        let forms = patterns.iter().map(|(form, _)| *form).collect();
        let carry = patterns
            .iter()
            .map(|(_, text)| text.expose().len().saturating_sub(1))
            .max()
            .unwrap_or(0);
        let texts = || patterns.iter().map(|(_, text)| text.expose());
        // Teddy (SIMD) where the processor has it: several times faster here
        // than the automaton, whose own choice of prefilter, a byte that is
        // rare in prose, is common in base64 and source code.
        let searcher = match packed::Config::new().builder().extend(texts()).build() {
            Some(teddy) => Searcher::Packed(teddy),
            None => Searcher::Automaton(
                AhoCorasick::new(texts()).expect("literal patterns always build"),
            ),
        };
        Needles {
            searcher,
            forms,
            carry,
        }
    }

    /// The form of the first key found in `bytes`.
    fn find(&self, bytes: &[u8]) -> Option<Form> {
        let pattern = match &self.searcher {
            Searcher::Packed(teddy) => teddy.find(bytes)?.pattern(),
            Searcher::Automaton(automaton) => automaton.find(bytes)?.pattern(),
        };
        Some(self.forms[pattern.as_usize()])
    }

    /// The form of a key in the file at `path`, if it holds one, and how many
    /// bytes were read. Unreadable files hold nothing that could be read
    /// either.
    pub(crate) fn search_file(&self, path: &Path, whole: bool) -> (Option<Form>, u64) {
        let Ok(mut file) = File::open(path) else {
            return (None, 0);
        };
        BUFFER.with_borrow_mut(|buffer| {
            if buffer.len() < CHUNK + self.carry {
                buffer.resize(CHUNK + self.carry, 0);
            }
            let (mut read, mut kept) = (0, 0);
            let found = self.search_part(
                &mut file,
                buffer,
                &mut kept,
                &mut read,
                (!whole).then_some(PART),
            );
            if found.is_some() || read < PART || whole {
                return (found, read);
            }
            // Only a file larger than PART gets here: ask for its length now
            // rather than for every file.
            let len = file.metadata().map_or(0, |m| m.len());
            if len <= WHOLE_FILE_LIMIT {
                let found = self.search_part(&mut file, buffer, &mut kept, &mut read, None);
                return (found, read);
            }
            if file.seek(SeekFrom::Start(len - PART)).is_err() {
                return (None, read);
            }
            // Far from the start: nothing to carry over.
            kept = 0;
            let found = self.search_part(&mut file, buffer, &mut kept, &mut read, Some(PART));
            (found, read)
        })
    }

    /// Search what `file` gives from where it is, up to `limit` bytes (to
    /// its end without one), in reads of [`CHUNK`] after the `kept` bytes
    /// carried at the buffer's start; add the bytes read to `read`.
    fn search_part(
        &self,
        file: &mut File,
        buffer: &mut [u8],
        kept: &mut usize,
        read: &mut u64,
        limit: Option<u64>,
    ) -> Option<Form> {
        let mut left = limit.unwrap_or(u64::MAX);
        while left > 0 {
            let want = CHUNK.min(usize::try_from(left).unwrap_or(CHUNK));
            let n = match file.read(&mut buffer[*kept..*kept + want]) {
                Ok(0) => return None,
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return None,
            };
            *read += n as u64;
            left -= n as u64;
            let filled = *kept + n;
            if let Some(form) = self.find(&buffer[..filled]) {
                return Some(form);
            }
            *kept = self.carry.min(filled);
            buffer.copy_within(filled - *kept..filled, 0);
        }
        None
    }
}

enum Searcher {
    Packed(packed::Searcher),
    Automaton(AhoCorasick),
}

/// The patterns without those that hold another of the same form: a text
/// holding the longer one holds the shorter, so the longer one can never be
/// the only one found (the base64 of `public:private` holds the base64 of
/// the public key at the same alignment, the padded base64 the unpadded).
fn minimal(patterns: Vec<(Form, Secret)>) -> Vec<(Form, Secret)> {
    let holds = |outer: &Secret, inner: &Secret| {
        let (outer, inner) = (outer.expose().as_bytes(), inner.expose().as_bytes());
        outer.len() > inner.len() && outer.windows(inner.len()).any(|w| w == inner)
    };
    let keep: Vec<bool> = patterns
        .iter()
        .map(|(form, text)| {
            !patterns
                .iter()
                .any(|(other, inner)| other == form && holds(text, inner))
        })
        .collect();
    patterns
        .into_iter()
        .zip(keep)
        .filter_map(|(pattern, keep)| keep.then_some(pattern))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn raw(text: &str) -> Needles {
        Needles::new(vec![(Form::Raw, Secret::new(text.into()))])
    }

    #[test]
    fn the_form_of_the_first_key_found_is_named() {
        let needles = Needles::new(vec![
            (Form::Raw, Secret::new("secretkey".into())),
            (Form::Base64, Secret::new("c2VjcmV0".into())),
        ]);
        assert_eq!(needles.find(b"x = c2VjcmV0a2V5"), Some(Form::Base64));
        assert_eq!(needles.find(b"password: secretkey"), Some(Form::Raw));
        assert_eq!(needles.find(b"nothing here"), None);
    }

    #[test]
    fn a_pattern_holding_another_of_its_form_is_dropped() {
        let kept = minimal(vec![
            (Form::Raw, Secret::new("pub:priv".into())),
            (Form::Raw, Secret::new("pub".into())),
            (Form::Base64, Secret::new("cHViOnByaXY=".into())),
            (Form::Base64, Secret::new("cHViOnByaXY".into())),
            (Form::UrlEncoded, Secret::new("pub%3Apriv".into())),
        ]);
        let kept: Vec<(Form, &str)> = kept.iter().map(|(f, t)| (*f, t.expose())).collect();
        assert_eq!(
            kept,
            [
                (Form::Raw, "pub"),
                (Form::Base64, "cHViOnByaXY"),
                (Form::UrlEncoded, "pub%3Apriv"),
            ]
        );
    }

    #[test]
    fn a_key_across_two_reads_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let needles = raw("secretkey");
        for at in [CHUNK - 4, CHUNK - 9, CHUNK, 3 * CHUNK - 1] {
            let path = dir.path().join(format!("f{at}"));
            let mut bytes = vec![b'.'; 4 * CHUNK];
            bytes[at..at + 9].copy_from_slice(b"secretkey");
            std::fs::write(&path, &bytes).unwrap();
            assert_eq!(
                needles.search_file(&path, false),
                (
                    Some(Form::Raw),
                    (at as u64 + 9).div_ceil(CHUNK as u64) * CHUNK as u64
                ),
                "at {at}"
            );
        }
        let path = dir.path().join("clean");
        std::fs::write(&path, vec![b'.'; 4 * CHUNK + 5]).unwrap();
        assert_eq!(
            needles.search_file(&path, false),
            (None, 4 * CHUNK as u64 + 5)
        );
    }

    #[test]
    fn a_large_file_is_read_at_both_ends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.log");
        let needles = raw("secretkey");
        let file = File::create(&path).unwrap();
        file.set_len(WHOLE_FILE_LIMIT + 2 * PART).unwrap();
        drop(file);
        let mut file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        file.seek(SeekFrom::Start(WHOLE_FILE_LIMIT)).unwrap();
        file.write_all(b"secretkey").unwrap();
        assert_eq!(needles.search_file(&path, false), (None, 2 * PART));
        let (form, read) = needles.search_file(&path, true);
        assert_eq!(form, Some(Form::Raw));
        assert!(read > WHOLE_FILE_LIMIT, "{read}");
        file.seek(SeekFrom::End(-20)).unwrap();
        file.write_all(b"secretkey").unwrap();
        assert_eq!(
            needles.search_file(&path, false),
            (Some(Form::Raw), 2 * PART)
        );
    }

    #[test]
    fn a_key_across_the_first_part_s_end_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mid.sql");
        let mut file = File::create(&path).unwrap();
        file.set_len(2 * PART).unwrap();
        file.seek(SeekFrom::Start(PART - 4)).unwrap();
        file.write_all(b"secretkey").unwrap();
        assert_eq!(
            raw("secretkey").search_file(&path, false).0,
            Some(Form::Raw)
        );
    }

    #[test]
    fn a_file_of_the_limit_is_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("limit.sql");
        let mut file = File::create(&path).unwrap();
        file.set_len(WHOLE_FILE_LIMIT).unwrap();
        file.seek(SeekFrom::Start(WHOLE_FILE_LIMIT / 2)).unwrap();
        file.write_all(b"secretkey").unwrap();
        let found = raw("secretkey").search_file(&path, false);
        assert_eq!(found.0, Some(Form::Raw));
    }
}
