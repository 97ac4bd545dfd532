//! Reading a workbook's sheets as rows of text cells, whatever the file format, keeping each
//! cell's place in the spreadsheet so that mistakes can be reported where a person sees them.

use super::error::{column_letter, ImportError, Limit, Part, Problem};
use super::limits::{MAX_CELLS, MAX_CELL_CHARS, MAX_COLUMNS, MAX_ROWS, MAX_TEXT_BYTES};
use calamine::{Data, DataRef, Reader};
use std::io::Cursor;

/// The file formats XLSForm comes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Office Open XML (`.xlsx`), what current spreadsheets save.
    Xlsx,
    /// The older binary format (`.xls`).
    Xls,
}

impl Format {
    /// The format a file name's extension says, if it names one.
    pub fn from_file_name(file_name: &str) -> Option<Format> {
        let lower = file_name.to_ascii_lowercase();
        if lower.ends_with(".xlsx") {
            Some(Format::Xlsx)
        } else if lower.ends_with(".xls") {
            Some(Format::Xls)
        } else {
            None
        }
    }

    /// The format the bytes themselves show: a zip archive is `.xlsx`, an OLE compound file `.xls`.
    pub fn sniff(bytes: &[u8]) -> Option<Format> {
        if bytes.starts_with(b"PK\x03\x04") {
            Some(Format::Xlsx)
        } else if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
            Some(Format::Xls)
        } else {
            None
        }
    }
}

/// One sheet: its name as written and its rows that hold a cell, each cell as trimmed text.
#[derive(Debug, Clone)]
pub struct Sheet {
    pub name: String,
    /// 0-based spreadsheet column of index 0 in every row's [`Cells`].
    pub first_column: u32,
    /// The rows with a non-empty cell, in order; the first is the header.
    pub rows: Vec<SheetRow>,
}

impl Sheet {
    /// The spreadsheet's row number (1-based) of the header, 1 for an empty sheet.
    pub fn first_row(&self) -> u32 {
        self.rows.first().map_or(1, |row| row.number)
    }
}

#[cfg(test)]
impl Sheet {
    /// A sheet whose rows start at A1, row after row; empty texts are empty cells.
    pub fn from_texts(name: &str, rows: &[&[&str]]) -> Sheet {
        let mut budget = Budget::workbook();
        let mut sheet = SheetBuilder::new(name.to_string(), &mut budget);
        for (row, texts) in rows.iter().enumerate() {
            for (column, text) in texts.iter().enumerate() {
                sheet
                    .add((row as u32, column as u32), text.to_string())
                    .expect("a small sheet");
            }
        }
        sheet.finish()
    }
}

/// A row of a sheet that holds a cell.
#[derive(Debug, Clone)]
pub struct SheetRow {
    /// 1-based spreadsheet row number.
    pub number: u32,
    pub cells: Cells,
}

/// The non-empty cells of a row by index (0 is the sheet's `first_column`). Only what is
/// written is kept: memory follows the content, never the width a file declares.
#[derive(Debug, Clone, Default)]
pub struct Cells(Vec<(usize, String)>);

impl Cells {
    /// The cell at `index`, if it is not empty. Cost: a binary search.
    pub fn get(&self, index: usize) -> Option<&String> {
        let at = self.0.binary_search_by_key(&index, |(i, _)| *i).ok()?;
        Some(&self.0[at].1)
    }

    /// The non-empty cells and their indices, left to right.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &String)> {
        self.0.iter().map(|(index, text)| (*index, text))
    }

    /// One past the index of the last non-empty cell.
    pub fn width(&self) -> usize {
        self.0.last().map_or(0, |(index, _)| index + 1)
    }
}

/// The sheets an XLSForm is made of; the others are not read.
const XLSFORM_SHEETS: [&str; 3] = ["survey", "choices", "settings"];

fn is_xlsform_sheet(name: &str) -> bool {
    XLSFORM_SHEETS
        .iter()
        .any(|s| name.trim().eq_ignore_ascii_case(s))
}

/// Reads the survey, choices and settings sheets of the workbook, within the bounds of
/// [`super::limits`]. Costs two decompressions of an `.xlsx` (the first one checks the package,
/// see `package`) and one parse of those sheets; memory follows the cells written. The error is
/// an [`Problem::UnreadableWorkbook`] or [`Problem::TooLarge`] mistake.
///
/// An `.xls` is read whole by calamine on opening: its compound file and the sheets' declared
/// dimensions are checked first (see `compound`).
pub fn read_sheets(bytes: &[u8], format: Format) -> Result<Vec<Sheet>, Box<ImportError>> {
    // calamine can panic on a damaged file (an overflowing cell reference, found by
    // tests/robustness.rs); a damaged file is a mistake to report, never a crash.
    std::panic::catch_unwind(|| read_with_calamine(bytes, format)).unwrap_or_else(|_| {
        Err(unreadable(
            "the file is damaged: its cells could not be read",
        ))
    })
}

fn read_with_calamine(bytes: &[u8], format: Format) -> Result<Vec<Sheet>, Box<ImportError>> {
    let mut budget = Budget::workbook();
    match format {
        Format::Xlsx => {
            super::package::check(bytes)?;
            let mut book: calamine::Xlsx<_> =
                calamine::open_workbook_from_rs(Cursor::new(bytes)).map_err(unreadable)?;
            xlsform_sheet_names(&book)
                .into_iter()
                .map(|name| read_xlsx_sheet(&mut book, name, &mut budget))
                .collect()
        }
        Format::Xls => {
            super::compound::check(bytes)?;
            let mut book: calamine::Xls<_> =
                calamine::open_workbook_from_rs(Cursor::new(bytes)).map_err(unreadable)?;
            xlsform_sheet_names(&book)
                .into_iter()
                .map(|name| {
                    let range = book.worksheet_range(&name).map_err(unreadable)?;
                    let (row0, column0) = range.start().unwrap_or_default();
                    let mut sheet = SheetBuilder::new(name, &mut budget);
                    for (row, column, cell) in range.used_cells() {
                        let position = (row0 + row as u32, column0 + column as u32);
                        sheet.add(position, cell_text(cell))?;
                    }
                    Ok(sheet.finish())
                })
                .collect()
        }
    }
}

fn unreadable(error: impl std::fmt::Display) -> Box<ImportError> {
    Box::new(ImportError {
        location: None,
        problem: Problem::UnreadableWorkbook(error.to_string()),
    })
}

/// The workbook's survey, choices and settings sheets, in its order; notes, media lists and
/// external choices are not read, not paid for.
fn xlsform_sheet_names<RS, R>(book: &R) -> Vec<String>
where
    RS: std::io::Read + std::io::Seek,
    R: Reader<RS>,
{
    let mut names = book.sheet_names();
    names.retain(|name| is_xlsform_sheet(name));
    names
}

/// One sheet of an `.xlsx`, cell by cell as the file holds them (calamine's own range would
/// allocate every cell from the first to the last one, written or not).
fn read_xlsx_sheet(
    book: &mut calamine::Xlsx<Cursor<&[u8]>>,
    name: String,
    budget: &mut Budget,
) -> Result<Sheet, Box<ImportError>> {
    let mut cells = match book.worksheet_cells_reader(&name) {
        Ok(cells) => cells,
        Err(calamine::XlsxError::NotAWorksheet(_)) => {
            return Ok(SheetBuilder::new(name, budget).finish()); // a chart sheet: no cells
        }
        Err(e) => return Err(unreadable(e)),
    };
    let mut sheet = SheetBuilder::new(name, budget);
    while let Some(cell) = cells.next_cell().map_err(unreadable)? {
        sheet.add(cell.get_position(), xlsx_cell_text(cell.get_value()))?;
    }
    Ok(sheet.finish())
}

/// What the sheets of one workbook may still keep.
struct Budget {
    cells: usize,
    /// Bytes of cell text: a shared string is copied into every cell that uses it.
    text_bytes: usize,
}

impl Budget {
    fn workbook() -> Self {
        Budget {
            cells: MAX_CELLS,
            text_bytes: MAX_TEXT_BYTES,
        }
    }
}

/// A sheet made from its cells in any order, each checked against the bounds as it comes.
struct SheetBuilder<'a> {
    name: String,
    /// (row, column) 0-based, and the text.
    cells: Vec<(u32, u32, String)>,
    /// Shared by the sheets of one workbook.
    budget: &'a mut Budget,
}

impl<'a> SheetBuilder<'a> {
    fn new(name: String, budget: &'a mut Budget) -> Self {
        SheetBuilder {
            name,
            cells: Vec::new(),
            budget,
        }
    }

    /// Keeps the cell at 0-based `(row, column)` unless it is empty; `Err` past a bound.
    fn add(&mut self, (row, column): (u32, u32), text: String) -> Result<(), Box<ImportError>> {
        if text.is_empty() {
            return Ok(());
        }
        let cell = || format!("{}{}", column_letter(column), u64::from(row) + 1);
        let limit = if row >= MAX_ROWS {
            Limit::Rows {
                max: MAX_ROWS,
                cell: cell(),
            }
        } else if column >= MAX_COLUMNS {
            Limit::Columns {
                max: MAX_COLUMNS,
                cell: cell(),
            }
        } else if text.chars().count() > MAX_CELL_CHARS {
            Limit::CellText {
                max: MAX_CELL_CHARS,
                cell: cell(),
            }
        } else if self.budget.cells == 0 {
            Limit::Cells { max: MAX_CELLS }
        } else if text.len() > self.budget.text_bytes {
            Limit::Text {
                max: MAX_TEXT_BYTES,
            }
        } else {
            self.budget.cells -= 1;
            self.budget.text_bytes -= text.len();
            self.cells.push((row, column, text));
            return Ok(());
        };
        Err(Box::new(ImportError {
            location: None,
            problem: Problem::TooLarge {
                part: Part::Sheet(self.name.clone()),
                limit,
            },
        }))
    }

    /// The sheet, its rows in order; of two cells at one place the later in the file is kept,
    /// as calamine's own range does. Cost: one sort of the cells.
    fn finish(mut self) -> Sheet {
        // Stable: cells at one place keep their file order, and the last one wins below.
        self.cells.sort_by_key(|&(row, column, _)| (row, column));
        let first_column = self.cells.iter().map(|c| c.1).min().unwrap_or(0);
        let mut rows: Vec<SheetRow> = Vec::new();
        for (row, column, text) in self.cells {
            let index = (column - first_column) as usize;
            let number = row + 1;
            match rows.last_mut() {
                Some(last) if last.number == number => match last.cells.0.last_mut() {
                    Some((at, kept)) if *at == index => *kept = text,
                    _ => last.cells.0.push((index, text)),
                },
                _ => rows.push(SheetRow {
                    number,
                    cells: Cells(vec![(index, text)]),
                }),
            }
        }
        Sheet {
            name: self.name,
            first_column,
            rows,
        }
    }
}

/// [`cell_text`] of a cell streamed from an `.xlsx`, its shared strings read in place.
fn xlsx_cell_text(cell: &DataRef) -> String {
    match cell {
        DataRef::SharedString(text) => text_cell(text),
        other => cell_text(&Data::from(other.clone())),
    }
}

/// A cell as XLSForm reads it: text trimmed, whole numbers without a decimal point, dates in ISO
/// form, and typographic quotes made straight (so that `‘yes’` in an expression still works).
fn cell_text(cell: &Data) -> String {
    let text = match cell {
        Data::Empty | Data::Error(_) => String::new(),
        Data::String(s) => return text_cell(s),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        Data::DateTime(dt) => excel_date_text(dt),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
    };
    straighten_quotes(text)
}

/// A text cell as XLSForm reads it: trimmed, with straight quotes.
fn text_cell(text: &str) -> String {
    straighten_quotes(text.trim().to_string())
}

/// An Excel serial date (days since 1899-12-30, fractions for the time of day) in ISO form.
fn excel_date_text(dt: &calamine::ExcelDateTime) -> String {
    let serial = dt.as_f64();
    let epoch = chrono::NaiveDate::from_ymd_opt(1899, 12, 30).expect("a valid date");
    let seconds = (serial * 86_400.0).round() as i64;
    match epoch
        .and_time(chrono::NaiveTime::MIN)
        .checked_add_signed(chrono::Duration::seconds(seconds))
    {
        Some(moment) if moment.time() == chrono::NaiveTime::MIN => moment.date().to_string(),
        Some(moment) => moment.format("%Y-%m-%dT%H:%M:%S").to_string(),
        None => serial.to_string(),
    }
}

fn straighten_quotes(text: String) -> String {
    if !text.contains(['\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}']) {
        return text;
    }
    text.replace(['\u{2018}', '\u{2019}'], "'")
        .replace(['\u{201C}', '\u{201D}'], "\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_told_by_name_and_by_content() {
        assert_eq!(Format::from_file_name("Dialogo.XLSX"), Some(Format::Xlsx));
        assert_eq!(Format::from_file_name("old.xls"), Some(Format::Xls));
        assert_eq!(Format::from_file_name("form.csv"), None);
        assert_eq!(Format::sniff(b"PK\x03\x04rest"), Some(Format::Xlsx));
        assert_eq!(
            Format::sniff(&[0xD0, 0xCF, 0x11, 0xE0, 0]),
            Some(Format::Xls)
        );
        assert_eq!(Format::sniff(b"type,name"), None);
    }

    #[test]
    fn cells_read_as_xlsform_expects() {
        assert_eq!(cell_text(&Data::Float(3.0)), "3");
        assert_eq!(cell_text(&Data::Float(0.5)), "0.5");
        assert_eq!(cell_text(&Data::String("  q1 ".into())), "q1");
        assert_eq!(
            cell_text(&Data::String("${a} = \u{2018}yes\u{2019}".into())),
            "${a} = 'yes'"
        );
        assert_eq!(cell_text(&Data::Empty), "");
    }

    fn too_large(sheet: &str, limit: Limit) -> Problem {
        Problem::TooLarge {
            part: Part::Sheet(sheet.into()),
            limit,
        }
    }

    #[test]
    fn a_cell_below_the_last_row_is_refused_naming_the_sheet_and_the_cell() {
        let mut budget = Budget::workbook();
        let mut sheet = SheetBuilder::new("choices".into(), &mut budget);
        sheet.add((0, 0), "list_name".into()).unwrap();
        let error = sheet.add((MAX_ROWS, 2), "x".into()).unwrap_err();
        let limit = Limit::Rows {
            max: MAX_ROWS,
            cell: "C100001".into(),
        };
        assert_eq!(error.problem, too_large("choices", limit));
        assert_eq!(
            error.to_string(),
            "the sheet `choices` is larger than a form can be: it has a cell at C100001, \
             below row 100000, the last a form may use"
        );
    }

    #[test]
    fn a_cell_right_of_the_last_column_or_too_long_is_refused() {
        let mut budget = Budget::workbook();
        let mut sheet = SheetBuilder::new("survey".into(), &mut budget);
        let error = sheet.add((4, MAX_COLUMNS), "x".into()).unwrap_err();
        let limit = Limit::Columns {
            max: MAX_COLUMNS,
            cell: "AMK5".into(),
        };
        assert_eq!(error.problem, too_large("survey", limit));
        let error = sheet
            .add((1, 2), "é".repeat(MAX_CELL_CHARS + 1))
            .unwrap_err();
        let limit = Limit::CellText {
            max: MAX_CELL_CHARS,
            cell: "C2".into(),
        };
        assert_eq!(error.problem, too_large("survey", limit));
        assert!(sheet.add((1, 2), "é".repeat(MAX_CELL_CHARS)).is_ok());
    }

    #[test]
    fn blank_cells_anywhere_are_not_kept_nor_counted() {
        let mut budget = Budget::workbook();
        let mut sheet = SheetBuilder::new("survey".into(), &mut budget);
        sheet.add((1_048_575, 16_383), String::new()).unwrap();
        assert!(sheet.finish().rows.is_empty());
        assert_eq!(budget.cells, MAX_CELLS);
    }

    #[test]
    fn the_sheets_of_a_workbook_share_one_budget_of_cells_and_text() {
        let mut budget = Budget {
            cells: 2,
            text_bytes: 13,
        };
        let mut survey = SheetBuilder::new("survey".into(), &mut budget);
        survey.add((0, 0), "type".into()).unwrap();
        let error = survey.add((0, 1), "name".repeat(3)).unwrap_err();
        let limit = Limit::Text {
            max: MAX_TEXT_BYTES,
        };
        assert_eq!(error.problem, too_large("survey", limit));
        survey.add((0, 1), "name".into()).unwrap();
        let error = SheetBuilder::new("choices".into(), &mut budget)
            .add((0, 0), "list_name".into())
            .unwrap_err();
        let limit = Limit::Cells { max: MAX_CELLS };
        assert_eq!(error.problem, too_large("choices", limit));
    }

    #[test]
    fn cells_in_any_order_make_rows_in_order_and_the_later_of_two_at_one_place_wins() {
        let mut budget = Budget::workbook();
        let mut sheet = SheetBuilder::new("survey".into(), &mut budget);
        for (position, text) in [((4, 3), "d"), ((2, 1), "b"), ((4, 1), "x"), ((4, 1), "y")] {
            sheet.add(position, text.into()).unwrap();
        }
        let sheet = sheet.finish();
        assert_eq!((sheet.first_row(), sheet.first_column), (3, 1));
        let rows: Vec<(u32, Vec<(usize, &String)>)> = sheet
            .rows
            .iter()
            .map(|row| (row.number, row.cells.iter().collect()))
            .collect();
        let (b, y, d) = (&"b".to_string(), &"y".to_string(), &"d".to_string());
        assert_eq!(rows, [(3, vec![(0, b)]), (5, vec![(0, y), (2, d)])]);
        assert_eq!(sheet.rows[1].cells.get(1), None);
        assert_eq!(sheet.rows[1].cells.width(), 3);
    }

    #[test]
    fn garbage_is_an_unreadable_workbook_not_a_panic() {
        let error = read_sheets(b"PK\x03\x04 not really a zip", Format::Xlsx).unwrap_err();
        assert!(matches!(error.problem, Problem::UnreadableWorkbook(_)));
        let error = read_sheets(b"nothing", Format::Xls).unwrap_err();
        assert!(matches!(error.problem, Problem::UnreadableWorkbook(_)));
    }
}
