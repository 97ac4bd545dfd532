//! pyxform as the oracle: `scripts/pyxform-oracle` converts the built-in forms and the corpus
//! with pyxform itself into `$MINGA_PYXFORM_OUT`, then runs this test, which imports the same
//! files with Minga and compares: same fields, types, conditions, checks, calculations and
//! options; and what pyxform refuses, Minga refuses.

mod common;

use common::{differences, shared::shared_dir, summarise_form, xform::summarise_xform};
use std::path::{Path, PathBuf};

/// The fixtures of `form_fidelity.rs`, which `scripts/pyxform-oracle` converts too.
const FIXTURES: [&str; 5] = [
    "or_other_translated",
    "rendered_labels",
    "duplicate_names",
    "ambiguous_reference",
    "names_refused",
];

fn sources() -> Vec<PathBuf> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut dirs = vec![manifest.join("templates")];
    let corpus = shared_dir().join("corpus/xlsform");
    dirs.extend(["pyxform", "webforms"].map(|d| corpus.join(d)));
    let fixtures = FIXTURES.map(|f| manifest.join(format!("tests/fixtures/{f}.xlsx")));
    dirs.iter()
        .filter_map(|dir| std::fs::read_dir(dir).ok())
        .flatten()
        .map(|entry| entry.expect("a readable entry").path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("xlsx" | "xls")))
        .chain(fixtures)
        .collect()
}

#[test]
#[ignore = "needs pyxform's output: run scripts/pyxform-oracle"]
fn minga_imports_what_pyxform_converts_and_agrees_with_it() {
    let out = PathBuf::from(
        std::env::var("MINGA_PYXFORM_OUT")
            .expect("MINGA_PYXFORM_OUT, set by scripts/pyxform-oracle"),
    );
    let (mut agreed, mut refused, mut report) = (0, 0, Vec::new());
    for source in sources() {
        let stem = source.file_stem().unwrap().to_str().unwrap().to_string();
        let name = source.file_name().unwrap().to_str().unwrap();
        let ours = minga_forms::xlsform::import(&std::fs::read(&source).unwrap(), name);
        let xml = std::fs::read_to_string(out.join(format!("{stem}.xml")));
        match (ours, xml) {
            (Ok(form), Ok(xml)) => {
                let found = differences(&summarise_form(&form), &summarise_xform(&xml));
                if found.is_empty() {
                    agreed += 1;
                } else {
                    report.push(format!(
                        "== {name} differs from pyxform:\n{}",
                        found.join("\n")
                    ));
                }
            }
            (Err(_), Err(_)) if out.join(format!("{stem}.error")).exists() => refused += 1,
            (_, Err(_)) if !out.join(format!("{stem}.error")).exists() => report.push(format!(
                "== {name}: pyxform did not convert it (is {} complete?)",
                out.display()
            )),
            (Err(errors), Ok(_)) => report.push(format!(
                "== {name}: pyxform converts it, we refuse it:\n{errors}"
            )),
            (Ok(_), Err(_)) => report.push(format!("== {name}: pyxform refuses it, we import it")),
            (Err(_), Err(_)) => unreachable!("both arms above cover a refusal by pyxform"),
        }
    }
    assert!(report.is_empty(), "{}", report.join("\n"));
    println!("{agreed} files agree with pyxform, {refused} refused by both");
    assert!(
        agreed >= 21 && refused == 4,
        "agreed {agreed}, refused {refused}"
    );
}
