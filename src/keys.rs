//! Key intake and validation: from the environment or stdin, never argv.

use std::io::BufRead;

use anyhow::Result;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::cli::KeyArgs;
use crate::exit::{Failure, Status};
use crate::report::Reporter;
use crate::secret::Secret;

/// The pair of Marketplace keys: public = username, private = password.
#[derive(Debug)]
pub struct Keys {
    pub public: Secret,
    pub private: Secret,
}

/// What the environment held.
#[derive(Debug)]
pub(crate) enum Intake {
    Present(Keys),
    /// Neither key is set (or both are empty): CI withheld the secrets.
    Missing,
}

const WHERE_KEYS_ARE: &str =
    "copy the key again from Commerce Marketplace, My Profile, Marketplace tab, Access Keys";

/// Read both keys as `args` says, validate them, and register them for masking.
///
/// `strict` asks for the Marketplace format (32 ASCII letters and digits), which
/// holds for repo.magento.com; other repositories may use other credentials.
pub(crate) fn read(args: &KeyArgs, strict: bool, reporter: &mut dyn Reporter) -> Result<Intake> {
    let public = read_env(&args.public_key_env)?;
    let private_name;
    let private = if args.private_key_stdin {
        private_name = "the private key from standard input".to_string();
        read_stdin_line()?
    } else {
        private_name = args.private_key_env.clone();
        read_env(&args.private_key_env)?
    };
    // Mask the raw values before anything about them is printed.
    for value in [&public, &private].into_iter().flatten() {
        if !value.expose().trim().is_empty() {
            reporter.mask(value.expose());
        }
    }
    let blank = |v: &Option<Secret>| v.as_ref().is_none_or(|s| s.expose().trim().is_empty());
    if blank(&public) && blank(&private) {
        return Ok(Intake::Missing);
    }
    let public = validate(&args.public_key_env, public, Role::Public, strict, reporter)?;
    let private = validate(&private_name, private, Role::Private, strict, reporter)?;
    if public.expose() == private.expose() {
        return Err(Failure::bad_input(format!(
            "{} and {} are identical (length {})",
            args.public_key_env,
            private_name,
            public.char_len()
        ))
        .with_status(Status::MalformedKeys)
        .with_hint(
            "the public key is the username and the private key the password: \
             they are two different values of one pair",
        )
        .into());
    }
    for key in [&public, &private] {
        reporter.mask(key.expose());
    }
    // The Basic credentials as they travel: what a leaked header would show.
    let pair = Secret::new(format!("{}:{}", public.expose(), private.expose()));
    let basic = Secret::new(BASE64.encode(pair.expose()));
    reporter.mask(basic.expose());
    // The pair itself, so that its base64 is redacted inside longer base64 too.
    crate::sanitize::register(pair.expose());
    Ok(Intake::Present(Keys { public, private }))
}

/// The failure for missing keys, in the words of the user's platform.
pub(crate) fn missing(args: &KeyArgs) -> Failure {
    let words = missing_words(args);
    Failure::bad_input(format!("no Marketplace keys: {}", words.what))
        .with_status(Status::MissingKeys)
        .with_hint(format!(
            "{}; {}: set {} to skip to let such jobs go on without keys",
            words.fix, words.why, words.on_missing
        ))
}

/// What to say when missing keys are skipped, as `--on-missing skip` asks:
/// why they are probably absent, and that the job goes on.
pub(crate) fn skipped(args: &KeyArgs) -> String {
    let words = missing_words(args);
    format!(
        "skipped: no Marketplace keys: {} ({}); going on without credentials, as {} says",
        words.what, words.why, words.on_missing
    )
}

fn missing_words(args: &KeyArgs) -> crate::cli::settings::MissingKeys {
    let private = if args.private_key_stdin {
        "the private key on standard input"
    } else {
        &args.private_key_env
    };
    crate::cli::settings::missing_keys(&args.public_key_env, private)
}

/// The names of every variable keys were read from (beyond the default
/// two), so that no helper process inherits them (`harden::helper`).
static KEY_VARIABLES: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// The variables that held keys in this run, the defaults included.
pub(crate) fn key_variables() -> Vec<String> {
    let mut names = vec![
        "MAGENTO_PUBLIC_KEY".to_string(),
        "MAGENTO_PRIVATE_KEY".into(),
    ];
    names.extend(
        KEY_VARIABLES
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned(),
    );
    names
}

fn read_env(name: &str) -> Result<Option<Secret>> {
    KEY_VARIABLES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(name.to_string());
    match std::env::var_os(name) {
        None => Ok(None),
        Some(value) => match value.into_string() {
            Ok(text) => Ok(Some(Secret::new(text))),
            Err(_) => Err(Failure::bad_input(format!("{name} is not valid UTF-8"))
                .with_status(Status::MalformedKeys)
                .with_hint(WHERE_KEYS_ARE)
                .into()),
        },
    }
}

fn read_stdin_line() -> Result<Option<Secret>> {
    let mut line = String::new();
    let read = std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|err| match err.kind() {
            std::io::ErrorKind::InvalidData => anyhow::Error::from(
                Failure::bad_input("the private key from standard input is not valid UTF-8")
                    .with_status(Status::MalformedKeys),
            ),
            _ => anyhow::Error::from(err).context("reading the private key from standard input"),
        })?;
    let secret = Secret::new(line);
    Ok((read > 0).then_some(secret))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Public,
    Private,
}

/// Apply the key rules to one value; `name` says which key in messages.
fn validate(
    name: &str,
    value: Option<Secret>,
    role: Role,
    strict: bool,
    reporter: &mut dyn Reporter,
) -> Result<Secret, Failure> {
    let refuse = |what: String, hint: &str| {
        Failure::bad_input(format!("{name} {what}"))
            .with_status(Status::MalformedKeys)
            .with_hint(hint)
    };
    let Some(value) = value else {
        return Err(refuse("is not set".into(), WHERE_KEYS_ARE));
    };
    let raw = value.expose();
    let trimmed = raw.trim();
    if trimmed.len() != raw.len() {
        reporter.warning(&format!(
            "{name} had whitespace around it (a pasted newline?); it was trimmed"
        ));
    }
    let key = Secret::new(trimmed.to_string());
    drop(value);
    let text = key.expose();
    let len = key.char_len();
    if text.is_empty() {
        return Err(refuse("is empty (length 0)".into(), WHERE_KEYS_ARE));
    }
    if text.chars().any(char::is_control) {
        return Err(refuse(
            format!("contains a control character such as CR, LF or NUL (length {len})"),
            "a key is one line of letters and digits; copy it again from Commerce Marketplace, \
             My Profile, Access Keys",
        ));
    }
    if text.starts_with('{') {
        return Err(refuse(
            format!("looks like a COMPOSER_AUTH JSON object, not a key (length {len})"),
            "set the variable to the key alone; magento-auth builds the COMPOSER_AUTH value itself",
        ));
    }
    let pair_hint = "this looks like `public:private` in one value: put the public key in \
                     MAGENTO_PUBLIC_KEY and the private key in MAGENTO_PRIVATE_KEY";
    // RFC 7617: a Basic auth user-id cannot contain a colon.
    if role == Role::Public && text.contains(':') {
        return Err(refuse(
            format!("contains ':' (length {len}), which a username cannot hold"),
            pair_hint,
        ));
    }
    if strict && !(len == 32 && text.bytes().all(|b| b.is_ascii_alphanumeric())) {
        let hint = if text.contains(':') {
            pair_hint
        } else {
            "Marketplace keys are 32 ASCII letters and digits; copy the key again from \
             Commerce Marketplace, My Profile, Access Keys, and check that it is not cut short"
        };
        let role_word = match role {
            Role::Public => "public key (username)",
            Role::Private => "private key (password)",
        };
        return Err(refuse(
            format!(
                "is not a Marketplace {role_word}: expected 32 ASCII letters and digits, \
                 got {len} characters"
            ),
            hint,
        ));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::Code;
    use crate::report::Recorder;

    const PUBLIC: &str = "0123456789abcdef0123456789abcdef";

    fn check(value: &str, role: Role, strict: bool) -> (Result<String, Failure>, Recorder) {
        let mut rec = Recorder::default();
        let out = validate(
            "MAGENTO_PUBLIC_KEY",
            Some(Secret::new(value.to_string())),
            role,
            strict,
            &mut rec,
        )
        .map(|s| s.expose().to_string());
        (out, rec)
    }

    #[test]
    fn a_marketplace_key_passes() {
        let (out, rec) = check(PUBLIC, Role::Public, true);
        assert_eq!(out.unwrap(), PUBLIC);
        assert!(rec.lines.is_empty());
    }

    #[test]
    fn surrounding_whitespace_is_trimmed_with_a_warning() {
        let (out, rec) = check(&format!(" {PUBLIC}\r\n"), Role::Public, true);
        assert_eq!(out.unwrap(), PUBLIC);
        assert!(rec.lines[0].contains("trimmed"), "{:?}", rec.lines);
    }

    #[test]
    fn refusals_name_the_key_and_length_never_the_value() {
        let cases = [
            ("", "is empty (length 0)"),
            ("   ", "is empty (length 0)"),
            ("0123456789abcdef\n0123456789abcdef", "control character"),
            ("0123456789abcdef\u{0}123456789abcdef", "control character"),
            ("0123456789abcdef0123456789abcde", "got 31 characters"),
            ("0123456789abcdef0123456789abcde-", "got 32 characters"),
            ("0123456789abcdef0123456789abcdeé", "got 32 characters"),
            ("{\"http-basic\":{}}", "COMPOSER_AUTH JSON"),
            ("abc:def", "contains ':'"),
        ];
        for (value, expected) in cases {
            let failure = check(value, Role::Public, true).0.unwrap_err();
            assert_eq!(failure.code, Code::BadInput, "{value:?}");
            assert!(
                failure.message.starts_with("MAGENTO_PUBLIC_KEY "),
                "{failure}"
            );
            assert!(failure.message.contains(expected), "{value:?}: {failure}");
            if value.trim().len() > 3 {
                assert!(!failure.message.contains(value.trim()), "{failure}");
                assert!(!failure.hint.as_deref().unwrap().contains(value.trim()));
            }
        }
    }

    #[test]
    fn a_user_password_value_gets_the_pair_hint() {
        let value = format!("{PUBLIC}:{PUBLIC}");
        let failure = check(&value, Role::Private, true).0.unwrap_err();
        assert!(failure.hint.unwrap().contains("public:private"));
        assert!(failure.message.contains("got 65 characters"));
    }

    #[test]
    fn other_repositories_accept_other_shapes() {
        assert!(check("deploy-token-1", Role::Public, false).0.is_ok());
        assert!(check("pass:with:colons", Role::Private, false).0.is_ok());
        assert!(check("bad\u{7}", Role::Private, false).0.is_err());
    }
}
