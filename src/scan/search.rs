//! Looking for every form of the keys in one file's bytes.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use aho_corasick::AhoCorasick;

use crate::sanitize::Form;
use crate::secret::Secret;

/// Files larger than this are read only at their start and end, unless the
/// whole file is asked for: keys leak into configuration and logs, not into
/// the middle of archives.
pub(crate) const WHOLE_FILE_LIMIT: u64 = 64 * 1024 * 1024;
/// How much of the start and of the end of a larger file is read.
const PART: u64 = 8 * 1024 * 1024;

/// The patterns of every form, searched for at once.
pub(crate) struct Needles {
    automaton: AhoCorasick,
    forms: Vec<Form>,
}

impl Needles {
    pub(crate) fn new(patterns: Vec<(Form, Secret)>) -> Self {
        let forms = patterns.iter().map(|(form, _)| *form).collect();
        let automaton = AhoCorasick::new(patterns.iter().map(|(_, text)| text.expose()))
            .expect("literal patterns always build");
        Needles { automaton, forms }
    }

    /// The form of the first key found in `bytes`.
    fn find(&self, bytes: &[u8]) -> Option<Form> {
        let found = self.automaton.find(bytes)?;
        Some(self.forms[found.pattern().as_usize()])
    }

    /// The form of a key in the file at `path` of `len` bytes, if it holds
    /// one, and how many bytes were read. Unreadable files hold nothing
    /// that could be read either.
    pub(crate) fn search_file(&self, path: &Path, len: u64, whole: bool) -> (Option<Form>, u64) {
        let Ok(mut file) = File::open(path) else {
            return (None, 0);
        };
        if whole || len <= WHOLE_FILE_LIMIT {
            let mut bytes = Vec::with_capacity(len.min(WHOLE_FILE_LIMIT) as usize);
            if file.read_to_end(&mut bytes).is_err() {
                return (None, 0);
            }
            return (self.find(&bytes), bytes.len() as u64);
        }
        let mut read = 0;
        for start in [0, len - PART] {
            let mut part = Vec::with_capacity(PART as usize);
            let ok = file.seek(SeekFrom::Start(start)).is_ok()
                && Read::by_ref(&mut file)
                    .take(PART)
                    .read_to_end(&mut part)
                    .is_ok();
            read += part.len() as u64;
            if let (true, Some(form)) = (ok, self.find(&part)) {
                return (Some(form), read);
            }
        }
        (None, read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_large_file_is_read_at_both_ends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.log");
        let needles = Needles::new(vec![(Form::Raw, Secret::new("secretkey".into()))]);
        let file = File::create(&path).unwrap();
        file.set_len(WHOLE_FILE_LIMIT + 2 * PART).unwrap();
        drop(file);
        let mut file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        file.seek(SeekFrom::End(-20)).unwrap();
        std::io::Write::write_all(&mut file, b"secretkey").unwrap();
        let len = std::fs::metadata(&path).unwrap().len();
        let (form, read) = needles.search_file(&path, len, false);
        assert_eq!(form, Some(Form::Raw));
        assert_eq!(read, 2 * PART);
    }
}
