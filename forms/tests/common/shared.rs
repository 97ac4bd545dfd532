//! The shared folder beside the repository (`../shared`, or the folder `MINGA_SHARED_DIR`
//! names), read at run time: its XLSForm corpus is real forms from outside the project. A clone
//! on its own has no such folder, so the tests that need it say SKIPPED with the reason and pass,
//! except under `CI=true`, where the folder is always laid beside the checkout and a skip would
//! hide a broken test. One file, included by the integration tests (`common`), the engine's unit
//! tests and the import bench, so the rule is written once.

#![allow(dead_code)] // each includer uses part of it (the bench only `shared_dir`)

use std::io::Write;
use std::path::PathBuf;

/// The variable that names the shared folder when it is not `../shared`.
pub const SHARED_DIR_VAR: &str = "MINGA_SHARED_DIR";

/// The shared folder: `$MINGA_SHARED_DIR`, else `shared/` beside the repository.
pub fn shared_dir() -> PathBuf {
    match std::env::var_os(SHARED_DIR_VAR) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"),
    }
}

/// The XLSForm corpus (`<shared>/corpus/xlsform`), or `None` once `test` has said SKIPPED on
/// stderr because it is absent. Panics under `CI=true` instead of skipping.
pub fn xlsform_corpus(test: &str) -> Option<PathBuf> {
    let corpus = shared_dir().join("corpus/xlsform");
    if corpus.is_dir() {
        return Some(corpus);
    }
    let reason = format!(
        "{test} reads the XLSForm corpus at {}, which is absent (a clone without ../shared \
         beside it; {SHARED_DIR_VAR} names another folder)",
        corpus.display()
    );
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{reason}");
    // Straight to stderr: the harness hides what a passing test prints, and a skip must be seen.
    let _ = writeln!(std::io::stderr(), "SKIPPED {reason}");
    None
}
