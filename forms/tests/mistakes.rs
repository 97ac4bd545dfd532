//! One workbook with one of each mistake (`fixtures/mistakes.xlsx`, written by
//! `fixtures/generate.py`): the import reports every one of them at once, each at the sheet,
//! row and column where a person would look.

use minga_forms::xlsform::{self, Problem};

#[test]
fn every_mistake_is_reported_at_its_cell() {
    let bytes = include_bytes!("fixtures/mistakes.xlsx");
    let errors =
        xlsform::import(bytes, "mistakes.xlsx").expect_err("the workbook is full of mistakes");
    let mut found: Vec<(String, u32, String, String)> = errors
        .iter()
        .map(|e| {
            let at = e.location.as_ref().expect("every mistake here has a place");
            let column = at
                .column
                .as_ref()
                .map(|c| c.letter.clone())
                .unwrap_or_default();
            let kind = format!("{:?}", e.problem)
                .split([' ', '(', '{'])
                .next()
                .unwrap()
                .to_string();
            (at.sheet.clone(), at.row, column, kind)
        })
        .collect();
    found.sort();
    let expected = [
        ("choices", 4, "B", "DuplicateChoice"),
        ("settings", 2, "B", "UnknownReference"),
        ("survey", 3, "A", "UnknownType"),
        ("survey", 4, "B", "MissingName"),
        ("survey", 5, "B", "DuplicateName"),
        ("survey", 6, "A", "UnknownChoiceList"),
        ("survey", 7, "D", "UnknownReference"),
        ("survey", 8, "E", "InvalidExpression"),
        ("survey", 9, "A", "UnmatchedEnd"),
        ("survey", 11, "C", "UnknownReference"),
        ("survey", 12, "A", "MismatchedEnd"),
        ("survey", 13, "B", "InvalidName"),
        ("survey", 14, "A", "MissingType"),
        ("survey", 15, "A", "UnclosedBlock"),
    ];
    let expected: Vec<(String, u32, String, String)> = expected
        .iter()
        .map(|(s, r, c, k)| (s.to_string(), *r, c.to_string(), k.to_string()))
        .collect();
    assert_eq!(found, expected, "{errors}");
}

#[test]
fn messages_name_the_place_and_the_fix() {
    let errors =
        xlsform::import(include_bytes!("fixtures/mistakes.xlsx"), "mistakes.xlsx").unwrap_err();
    let text = errors.to_string();
    assert!(text.starts_with("the form has 14 mistakes:"), "{text}");
    let rows: Vec<(&str, u32)> = errors
        .iter()
        .map(|e| {
            e.location
                .as_ref()
                .map(|l| (l.sheet.as_str(), l.row))
                .unwrap()
        })
        .collect();
    let sheet_order = |s: &str| {
        ["survey", "choices", "settings"]
            .iter()
            .position(|x| *x == s)
    };
    assert!(
        rows.windows(2)
            .all(|w| (sheet_order(w[0].0), w[0].1) <= (sheet_order(w[1].0), w[1].1)),
        "in sheet and row order: {rows:?}"
    );
    assert!(
        text.contains("sheet `survey`, row 3, column A (`type`): unknown question type `txet`"),
        "{text}"
    );
    assert!(text.contains("sheet `survey`, row 7, column D (`relevant`): `${nope}` refers to no question of this form"), "{text}");
}

#[test]
fn logic_going_round_in_a_circle_is_reported_at_a_calculation_in_the_circle() {
    let errors = xlsform::import(include_bytes!("fixtures/cycle.xlsx"), "cycle.xlsx").unwrap_err();
    assert_eq!(errors.0.len(), 1, "{errors}");
    let at = errors.0[0].location.as_ref().unwrap();
    assert!(
        matches!(&errors.0[0].problem, Problem::InvalidExpression { message, .. } if message.contains("circle")),
        "{errors}"
    );
    assert!(
        [3, 4].contains(&at.row) && at.column.as_ref().unwrap().header == "calculation",
        "{errors}"
    );
}

#[test]
fn a_file_that_is_not_a_workbook_is_one_clear_error() {
    let errors = xlsform::import(b"type,name,label\ntext,q1,Q1\n", "form.csv").unwrap_err();
    assert_eq!(errors.0.len(), 1);
    assert!(matches!(
        errors.0[0].problem,
        Problem::UnreadableWorkbook(_)
    ));
    let errors = xlsform::import(b"PK\x03\x04 truncated", "form.xlsx").unwrap_err();
    assert!(matches!(
        errors.0[0].problem,
        Problem::UnreadableWorkbook(_)
    ));
}
