//! The XLSForm corpus (real forms from ODK's web forms and pyxform's own tests, in
//! `../shared/corpus/xlsform`, read at run time; SKIPPED where a clone has none): each file pyxform
//! converts imports, agrees with the XForm pyxform wrote beside it, and the broken files are
//! rejected where pyxform rejects them.

mod common;

use common::{differences, shared::xlsform_corpus, summarise_form, xform::summarise_xform};
use minga_forms::xlsform::{self, ImportErrors, Problem, Warning};
use std::path::{Path, PathBuf};

fn corpus_files(corpus: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for folder in ["pyxform", "webforms"] {
        for entry in std::fs::read_dir(corpus.join(folder)).expect("the corpus is there") {
            let path = entry.expect("a readable entry").path();
            if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("xlsx" | "xls")
            ) {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(
        files.len() == 18,
        "the whole corpus, not {} files",
        files.len()
    );
    files
}

fn import(path: &Path) -> Result<minga_forms::Form, ImportErrors> {
    let bytes = std::fs::read(path).expect("readable");
    xlsform::import(&bytes, path.file_name().unwrap().to_str().unwrap())
}

/// pyxform refuses these two, and so do we.
const REJECTED: [&str; 2] = ["duplicate_columns.xlsx", "unknown_question_type.xls"];

#[test]
fn every_file_pyxform_converts_imports() {
    let Some(corpus) = xlsform_corpus("every_file_pyxform_converts_imports") else {
        return;
    };
    let mut failures = Vec::new();
    for path in corpus_files(&corpus) {
        let name = path.file_name().unwrap().to_str().unwrap();
        if REJECTED.contains(&name) {
            continue;
        }
        if let Err(errors) = import(&path) {
            failures.push(format!("{name}: {errors}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn imports_agree_with_the_xforms_pyxform_wrote() {
    let Some(corpus) = xlsform_corpus("imports_agree_with_the_xforms_pyxform_wrote") else {
        return;
    };
    let (mut compared, mut fields) = (0, 0);
    let mut report = Vec::new();
    for path in corpus_files(&corpus) {
        let xml_path = path.with_extension("xml");
        let Ok(xml) = std::fs::read_to_string(&xml_path) else {
            continue;
        };
        let form = import(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let theirs = summarise_xform(&xml);
        fields += theirs.len();
        let found = differences(&summarise_form(&form), &theirs);
        if !found.is_empty() {
            report.push(format!("== {}\n{}", path.display(), found.join("\n")));
        }
        compared += 1;
    }
    assert_eq!(compared, 6, "every .xml of the corpus was compared");
    assert!(fields > 200, "only {fields} fields compared");
    assert!(report.is_empty(), "{}", report.join("\n"));
}

/// The one error of `file` that `matches`, with its sheet, row, column letter and header.
fn error_at(
    corpus: &Path,
    file: &str,
    matches: impl Fn(&Problem) -> bool,
) -> (String, u32, String, String) {
    let path = corpus.join("pyxform").join(file);
    let errors = import(&path).expect_err("pyxform rejects this file, and so must we");
    let found: Vec<_> = errors.iter().filter(|e| matches(&e.problem)).collect();
    assert_eq!(found.len(), 1, "{errors}");
    let location = found[0].location.clone().expect("a location");
    let column = location.column.expect("a column");
    (location.sheet, location.row, column.letter, column.header)
}

#[test]
fn two_label_columns_are_rejected_at_the_second() {
    let Some(corpus) = xlsform_corpus("two_label_columns_are_rejected_at_the_second") else {
        return;
    };
    let at = error_at(
        &corpus,
        "duplicate_columns.xlsx",
        |p| matches!(p, Problem::DuplicateColumn { first, .. } if first == "D"),
    );
    assert_eq!(at, ("survey".into(), 1, "E".into(), "label".into()));
}

#[test]
fn two_names_for_relevant_are_rejected_at_the_second() {
    let Some(corpus) = xlsform_corpus("two_names_for_relevant_are_rejected_at_the_second") else {
        return;
    };
    let at = error_at(
        &corpus,
        "unknown_question_type.xls",
        |p| matches!(p, Problem::SameColumnTwice { other, first, .. } if other == "bind:relevant" && first == "D"),
    );
    assert_eq!(at, ("survey".into(), 1, "J".into(), "relevance".into()));
}

#[test]
fn every_mistake_of_a_file_is_reported_not_only_the_first() {
    let Some(corpus) = xlsform_corpus("every_mistake_of_a_file_is_reported_not_only_the_first")
    else {
        return;
    };
    let path = corpus.join("pyxform/unknown_question_type.xls");
    let errors = import(&path).unwrap_err();
    let unknown: Vec<u32> = errors
        .iter()
        .filter(|e| matches!(&e.problem, Problem::UnknownType(t) if t == "unknown"))
        .map(|e| e.location.as_ref().unwrap().row)
        .collect();
    assert_eq!(unknown, [52], "{errors}");
    assert!(errors.0.len() >= 2);
}

/// pyxform converts `bad_calc.xlsx` (it never parses a calculation), so we import it, with a
/// warning at the cell; the text is kept and the question computes nothing.
#[test]
fn a_calculation_that_does_not_parse_imports_with_a_warning_at_its_cell() {
    let Some(corpus) =
        xlsform_corpus("a_calculation_that_does_not_parse_imports_with_a_warning_at_its_cell")
    else {
        return;
    };
    let path = corpus.join("pyxform/bad_calc.xlsx");
    let report = xlsform::import_report(&std::fs::read(&path).unwrap(), "bad_calc.xlsx")
        .unwrap_or_else(|errors| panic!("pyxform converts it, so must we: {errors}"));
    let [warning] = report.warnings.as_slice() else {
        panic!("one warning, not {:?}", report.warnings)
    };
    let column = warning.location.column.clone().expect("a column");
    assert_eq!(
        (warning.location.sheet.as_str(), warning.location.row),
        ("survey", 2)
    );
    assert_eq!(
        (column.letter.as_str(), column.header.as_str()),
        ("D", "calculation")
    );
    let Warning::UnparsedCalculation { expression, .. } = &warning.warning;
    assert_eq!(expression, "because pyxform doesn't know what to do");
    assert!(
        warning
            .to_string()
            .starts_with("sheet `survey`, row 2, column D (`calculation`): "),
        "{warning}"
    );
    let minga_forms::Item::Question(question) = &report.form.survey[0] else {
        panic!("a question first")
    };
    assert_eq!(question.calculation, None);
    assert_eq!(question.extra[xlsform::UNPARSED_CALCULATION], *expression);
    let compiled = minga_forms::eval::compile(&report.form).expect("the form compiles");
    assert_eq!(compiled.form().id, report.form.id);
}

#[test]
fn files_imported_as_written_have_no_warnings() {
    let Some(corpus) = xlsform_corpus("files_imported_as_written_have_no_warnings") else {
        return;
    };
    let path = corpus.join("pyxform/or_other.xlsx");
    let report = xlsform::import_report(&std::fs::read(&path).unwrap(), "or_other.xlsx").unwrap();
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
}

#[test]
fn the_comparison_sees_a_changed_condition() {
    let Some(corpus) = xlsform_corpus("the_comparison_sees_a_changed_condition") else {
        return;
    };
    let path = corpus.join("pyxform/or_other.xlsx");
    let xml = std::fs::read_to_string(path.with_extension("xml")).unwrap();
    let mut form = import(&path).unwrap();
    let minga_forms::Item::Question(first) = &mut form.survey[0] else {
        panic!("a question first")
    };
    first.logic.relevant = Some("${fav_pastel} = 'red'".into());
    let found = differences(&summarise_form(&form), &summarise_xform(&xml));
    assert_eq!(found.len(), 1, "{found:?}");
}

#[test]
fn columns_minga_does_not_interpret_are_kept() {
    let Some(corpus) = xlsform_corpus("columns_minga_does_not_interpret_are_kept") else {
        return;
    };
    let form = import(&corpus.join("pyxform/tutorial.xls")).unwrap();
    let minga_forms::Item::Repeat(members) = &form.survey[0] else {
        panic!("tutorial.xls is one repeat")
    };
    let age = members
        .children
        .iter()
        .find_map(|item| match item {
            minga_forms::Item::Question(q) if q.name == "age_in_months" => Some(q),
            _ => None,
        })
        .expect("age_in_months");
    let note = age
        .extra
        .get("tutorial notes")
        .expect("the reader's note is kept");
    assert!(
        note.starts_with("When the variable older_than_five equals no"),
        "{note}"
    );
    assert_eq!(age.logic.constraint.as_deref(), Some(". <= 72"));
}
