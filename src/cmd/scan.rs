//! `magento-auth scan`: prove that no file under the roots holds either key.

use std::path::PathBuf;

use anyhow::Result;

use crate::cli::{KeyArgs, OnLeak, OnMissing, ScanArgs, SweepArgs};
use crate::exit::{Failure, Outcome, Status};
use crate::keys::{self, Intake, Keys};
use crate::report::Reporter;
use crate::sanitize::{Form, labelled_forms};
use crate::scan::{self, Limits, Sweep};
use crate::secret::Secret;

/// `magento-auth scan [PATH...]`.
pub(crate) fn run(args: &ScanArgs, reporter: &mut dyn Reporter) -> Result<Outcome> {
    let roots = if args.paths.is_empty() {
        vec![args.working_dir.clone()]
    } else {
        args.paths.clone()
    };
    sweep_roots(&args.keys, &roots, &args.sweep, args.json, reporter)
}

/// Sweep `roots` for the keys `keys` names, and say what was found: one
/// `leak:` line a file, never the content. `leaked` (exit 7) when a file
/// holds a key.
pub(crate) fn sweep_roots(
    key_args: &KeyArgs,
    roots: &[PathBuf],
    sweep_args: &SweepArgs,
    json: bool,
    reporter: &mut dyn Reporter,
) -> Result<Outcome> {
    let limits = Limits {
        timeout: crate::cli::timeout(sweep_args.scan_timeout)?,
        whole_files: sweep_args.whole_files,
        workers: scan::default_workers(),
    };
    for root in roots {
        if std::fs::symlink_metadata(root).is_err() {
            return Err(Failure::bad_input(format!("{} does not exist", root.display()))
                .with_hint("name a directory or file to search, or leave the paths out to search the working directory")
                .into());
        }
    }
    let keys = match keys::read(key_args, false, reporter)? {
        Intake::Present(keys) => keys,
        Intake::Missing => {
            return match key_args.on_missing {
                OnMissing::Fail => Err(keys::missing(key_args).into()),
                OnMissing::Skip => {
                    let skipped = keys::skipped(key_args);
                    reporter.notice(&skipped);
                    Ok(Outcome::of(Status::Skipped, skipped))
                }
            };
        }
    };
    let sweep = scan::sweep(roots, patterns(&keys), limits);
    say(&sweep, json, reporter);
    let outcome = outcome(&sweep);
    if outcome.status != Status::Leaked {
        return Ok(outcome);
    }
    match sweep_args.on_leak {
        OnLeak::Fail => Err(outcome.into()),
        // Each file had its warning; the outcome is said once, not as an
        // error, and still reads `leaked`.
        OnLeak::Warn => {
            reporter.info(&format!(
                "{}; hint: {}",
                outcome.message,
                outcome.hint.as_deref().unwrap_or_default()
            ));
            Ok(outcome)
        }
    }
}

/// Every form of either key, and of `public:private` (the Basic header):
/// the forms the sanitiser blanks in output.
fn patterns(keys: &Keys) -> Vec<(Form, Secret)> {
    let pair = Secret::new(format!(
        "{}:{}",
        keys.public.expose(),
        keys.private.expose()
    ));
    let mut patterns = Vec::new();
    for secret in [&keys.public, &keys.private, &pair] {
        for (form, text) in labelled_forms(secret.expose()) {
            if !patterns.iter().any(|(_, t)| *t == text) {
                patterns.push((form, text));
            }
        }
    }
    patterns
}

fn outcome(sweep: &Sweep) -> Outcome {
    let files = sweep.leaks.len();
    match files {
        0 => Outcome::of(Status::Clean, "no file holds a key"),
        n => Outcome::of(Status::Leaked, format!("{n} file(s) hold a key"))
            .with_hint("remove the keys from them (and from any artifact or image made of them), then rotate the keys in Commerce Marketplace if a copy left the machine"),
    }
}

fn say(sweep: &Sweep, json: bool, reporter: &mut dyn Reporter) {
    let cut = (!sweep.complete).then(|| {
        format!(
            "the sweep was cut short after {} s: {} files were searched, the rest not",
            sweep.duration.as_secs(),
            sweep.scanned_files
        )
    });
    if json {
        let files: Vec<serde_json::Value> = sweep
            .leaks
            .iter()
            .map(|(path, form)| serde_json::json!({"path": path.to_string_lossy(), "form": form.word()}))
            .collect();
        reporter.json(&serde_json::json!({
            "status": if sweep.leaks.is_empty() { "clean" } else { "leaked" },
            "files": files,
            "scanned_files": sweep.scanned_files,
            "scanned_bytes": sweep.scanned_bytes,
            "duration_ms": u64::try_from(sweep.duration.as_millis()).unwrap_or(u64::MAX),
            "complete": sweep.complete,
        }));
    } else {
        for (path, form) in &sweep.leaks {
            reporter.leak(&path.display().to_string(), form.word());
        }
        reporter.info(&format!(
            "searched {} files ({} KiB) in {} ms",
            sweep.scanned_files,
            sweep.scanned_bytes / 1024,
            sweep.duration.as_millis()
        ));
    }
    if let Some(cut) = cut {
        reporter.warning(&cut);
    }
}
