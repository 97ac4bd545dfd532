//! Hostile workbooks against the XLSForm importer, each imported in a child process whose
//! address space is limited to 512 MB: before the bounds, each of them aborted the importing
//! process on a failed allocation (no panic guard catches that) or took gigabytes; now each is
//! refused with `Problem::TooLarge` naming the sheet (or the part of the file) and the bound,
//! or imports, within the limit. The workbooks are made in `support/workbooks.rs`.

use minga_forms::xlsform::limits::{
    MAX_CELL_CHARS, MAX_COLUMNS, MAX_ELEMENTS, MAX_PART_BYTES, MAX_ROWS, MAX_SHARED_STRINGS,
    MAX_TEXT_BYTES,
};
use minga_forms::xlsform::{Limit, Part};
use minga_scenarios::workbooks::{
    import_if_child, import_in_child, looping_xls, refused, Workbook,
};

/// The address space of the importing child: the test binary itself takes about 100 MB.
const MEMORY_LIMIT: u64 = 512 << 20;

/// Not a scenario: the child's work, run by [`import_in_child`] (nothing in a normal run).
#[test]
fn child_imports_workbook() {
    import_if_child();
}

/// What the importer made of `workbook` in a child under [`MEMORY_LIMIT`], failing the test
/// (not the test binary) when the child dies.
fn outcome(workbook: &Workbook) -> String {
    outcome_of(&workbook.to_bytes())
}

/// What the importer made of the bytes of a workbook, as [`outcome`].
fn outcome_of(bytes: &[u8]) -> String {
    let child = import_in_child("child_imports_workbook", bytes, MEMORY_LIMIT)
        .unwrap_or_else(|e| panic!("{e}"));
    println!(
        "{} bytes of workbook, the child's peak memory {} kB: {}",
        bytes.len(),
        child.peak_kb,
        child.outcome
    );
    child.outcome
}

fn survey() -> Part {
    Part::Sheet("survey".into())
}

#[test]
fn the_form_the_hostile_workbooks_are_made_of_imports() {
    assert_eq!(outcome(&Workbook::default()), "Ok");
}

#[test]
fn a_declared_dimension_whose_corners_are_reversed_is_ignored_as_every_declared_one_is() {
    let workbook = Workbook {
        dimension: "A556566:A1".into(),
        ..Workbook::default()
    };
    assert_eq!(outcome(&workbook), "Ok");
}

#[test]
fn a_cell_at_xfd1048576_is_refused_naming_the_sheet_and_the_cell() {
    let limit = Limit::Rows {
        max: MAX_ROWS,
        cell: "XFD1048576".into(),
    };
    assert_eq!(outcome(&Workbook::far_cell()), refused(survey(), limit));
}

#[test]
fn a_cell_right_of_the_last_column_is_refused() {
    let workbook = Workbook {
        extra_rows: vec![minga_scenarios::workbooks::Piece::Text(
            r#"<row r="3"><c r="AMK3" t="s"><v>5</v></c></row>"#.into(),
        )],
        ..Workbook::default()
    };
    let limit = Limit::Columns {
        max: MAX_COLUMNS,
        cell: "AMK3".into(),
    };
    assert_eq!(outcome(&workbook), refused(survey(), limit));
}

#[test]
fn two_megabytes_of_blank_cells_far_out_import_as_the_form_they_pad() {
    assert_eq!(outcome(&Workbook::blank_cells(2 << 20)), "Ok");
}

#[test]
fn a_cell_of_200_megabytes_is_refused_before_it_is_read() {
    let limit = Limit::InflatedBytes {
        max: MAX_PART_BYTES,
    };
    assert_eq!(
        outcome(&Workbook::huge_cell(200 << 20)),
        refused(survey(), limit)
    );
}

#[test]
fn a_cell_longer_than_excel_allows_is_refused() {
    let workbook = Workbook::huge_cell(MAX_CELL_CHARS as u64 + 1);
    let limit = Limit::CellText {
        max: MAX_CELL_CHARS,
        cell: "C3".into(),
    };
    assert_eq!(outcome(&workbook), refused(survey(), limit));
}

#[test]
fn an_xls_whose_directory_chain_loops_is_refused_before_calamine_follows_it() {
    let limit = Limit::Stream {
        max: MAX_PART_BYTES,
    };
    let part = Part::File("directory".into());
    assert_eq!(outcome_of(&looping_xls()), refused(part, limit));
}

#[test]
fn two_billion_shared_strings_declared_are_refused_before_calamine_reserves_them() {
    let limit = Limit::SharedStrings {
        max: MAX_SHARED_STRINGS,
    };
    let part = Part::File("xl/sharedStrings.xml".into());
    assert_eq!(
        outcome(&Workbook::shared_string_count(1 << 31)),
        refused(part, limit)
    );
}

#[test]
fn a_million_rows_are_refused_at_the_first_row_past_the_bound() {
    let limit = Limit::Rows {
        max: MAX_ROWS,
        cell: format!("A{}", MAX_ROWS + 1),
    };
    assert_eq!(
        outcome(&Workbook::rows(1_000_000)),
        refused(survey(), limit)
    );
}

#[test]
fn a_zip_bomb_in_the_styles_is_refused_naming_the_part() {
    let limit = Limit::InflatedBytes {
        max: MAX_PART_BYTES,
    };
    let part = Part::File("xl/styles.xml".into());
    assert_eq!(
        outcome(&Workbook::styles_bomb(600 << 20)),
        refused(part, limit)
    );
}

#[test]
fn six_million_cell_formats_in_150_kb_are_refused_before_calamine_keeps_them() {
    let limit = Limit::Elements { max: MAX_ELEMENTS };
    let part = Part::File("xl/styles.xml".into());
    assert_eq!(
        outcome(&Workbook::cell_styles(6_000_000)),
        refused(part, limit)
    );
}

#[test]
fn one_long_shared_string_in_100_000_cells_is_refused_before_it_is_copied_into_each() {
    let limit = Limit::Text {
        max: MAX_TEXT_BYTES,
    };
    assert_eq!(
        outcome(&Workbook::repeated_long_string(30_000, 99_000)),
        refused(survey(), limit)
    );
}

/// Not a scenario: writes each hostile workbook into the folder `MINGA_WORKBOOK_DIR`, to measure
/// `minga-hub form publish` on them (the figures in RELIABILITY.md).
#[test]
#[ignore = "writes files for measuring; run with --ignored and MINGA_WORKBOOK_DIR"]
fn write_the_hostile_workbooks() {
    let dir = std::env::var("MINGA_WORKBOOK_DIR").expect("MINGA_WORKBOOK_DIR names a folder");
    let workbooks = [
        ("far_cell", Workbook::far_cell()),
        ("blank_cells_2mb", Workbook::blank_cells(2 << 20)),
        ("cell_200mb", Workbook::huge_cell(200 << 20)),
        (
            "shared_strings_2e31",
            Workbook::shared_string_count(1 << 31),
        ),
        ("million_rows", Workbook::rows(1_000_000)),
        ("styles_bomb_600mb", Workbook::styles_bomb(600 << 20)),
        ("cell_styles_6m", Workbook::cell_styles(6_000_000)),
        (
            "long_string_99k_cells",
            Workbook::repeated_long_string(30_000, 99_000),
        ),
    ];
    for (name, workbook) in workbooks {
        let path = std::path::Path::new(&dir).join(format!("{name}.xlsx"));
        std::fs::write(&path, workbook.to_bytes()).expect("the workbook is written");
    }
}
