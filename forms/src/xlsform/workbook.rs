//! Reading a workbook's sheets as rows of text cells, whatever the file format, keeping each
//! cell's place in the spreadsheet so that mistakes can be reported where a person sees them.

use super::error::{ImportError, Problem};
use calamine::{Data, Reader};
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

/// One sheet: its name as written and its non-empty rows, each cell as trimmed text.
#[derive(Debug, Clone)]
pub struct Sheet {
    pub name: String,
    /// 1-based spreadsheet row of `rows[0]`.
    pub first_row: u32,
    /// 0-based spreadsheet column of each row's first cell.
    pub first_column: u32,
    pub rows: Vec<Vec<String>>,
}

impl Sheet {
    /// The spreadsheet's row number (1-based) of `rows[index]`.
    pub fn row_number(&self, index: usize) -> u32 {
        self.first_row + index as u32
    }
}

/// The sheets an XLSForm is made of; the others are not read.
const XLSFORM_SHEETS: [&str; 3] = ["survey", "choices", "settings"];

/// Reads the survey, choices and settings sheets of the workbook. Costs one decompression and
/// parse of those sheets. The error is an [`Problem::UnreadableWorkbook`] mistake.
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
    let cursor = Cursor::new(bytes);
    match format {
        Format::Xlsx => calamine::open_workbook_from_rs::<calamine::Xlsx<_>, _>(cursor)
            .map_err(unreadable)
            .and_then(all_sheets),
        Format::Xls => calamine::open_workbook_from_rs::<calamine::Xls<_>, _>(cursor)
            .map_err(unreadable)
            .and_then(all_sheets),
    }
}

fn unreadable(error: impl std::fmt::Display) -> Box<ImportError> {
    Box::new(ImportError {
        location: None,
        problem: Problem::UnreadableWorkbook(error.to_string()),
    })
}

fn all_sheets<RS, R>(mut book: R) -> Result<Vec<Sheet>, Box<ImportError>>
where
    RS: std::io::Read + std::io::Seek,
    R: Reader<RS>,
    R::Error: std::fmt::Display,
{
    let mut sheets = Vec::new();
    for name in book.sheet_names() {
        if !XLSFORM_SHEETS
            .iter()
            .any(|s| name.trim().eq_ignore_ascii_case(s))
        {
            continue; // notes, media lists, external choices: not read, not paid for
        }
        let range = book.worksheet_range(&name).map_err(unreadable)?;
        sheets.push(sheet_from_range(name, &range));
    }
    Ok(sheets)
}

fn sheet_from_range(name: String, range: &calamine::Range<Data>) -> Sheet {
    let (row0, col0) = range.start().unwrap_or((0, 0));
    let mut rows: Vec<Vec<String>> = range
        .rows()
        .map(|cells| {
            let mut row: Vec<String> = cells.iter().map(cell_text).collect();
            while row.last().is_some_and(String::is_empty) {
                row.pop();
            }
            row
        })
        .collect();
    while rows.last().is_some_and(Vec::is_empty) {
        rows.pop();
    }
    Sheet {
        name,
        first_row: row0 + 1,
        first_column: col0,
        rows,
    }
}

/// A cell as XLSForm reads it: text trimmed, whole numbers without a decimal point, dates in ISO
/// form, and typographic quotes made straight (so that `‘yes’` in an expression still works).
fn cell_text(cell: &Data) -> String {
    let text = match cell {
        Data::Empty | Data::Error(_) => String::new(),
        Data::String(s) => s.trim().to_string(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        Data::DateTime(dt) => excel_date_text(dt),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
    };
    straighten_quotes(text)
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

    #[test]
    fn garbage_is_an_unreadable_workbook_not_a_panic() {
        let error = read_sheets(b"PK\x03\x04 not really a zip", Format::Xlsx).unwrap_err();
        assert!(matches!(error.problem, Problem::UnreadableWorkbook(_)));
        let error = read_sheets(b"nothing", Format::Xls).unwrap_err();
        assert!(matches!(error.problem, Problem::UnreadableWorkbook(_)));
    }
}
