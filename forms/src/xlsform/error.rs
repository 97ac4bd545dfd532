//! Import errors: every mistake in a workbook, each with the sheet, row and column where a person
//! opening the file in a spreadsheet would find it.

use std::fmt;

/// Where a mistake is: the sheet, the row as a spreadsheet numbers it (the header row is 1 when
/// the sheet starts at the top), and the column when one cell is to blame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub sheet: String,
    pub row: u32,
    pub column: Option<ColumnRef>,
}

/// A column by its letter (`A`, `AB`) and the header written at its top.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnRef {
    pub letter: String,
    pub header: String,
}

impl ColumnRef {
    /// The column at 0-based `index`, with its header.
    pub fn new(index: u32, header: &str) -> Self {
        ColumnRef {
            letter: column_letter(index),
            header: header.to_string(),
        }
    }
}

/// The spreadsheet letter of the 0-based column `index`: 0 is `A`, 25 `Z`, 26 `AA`.
/// `2, 5 and 9`.
fn join_rows(rows: &[u32]) -> String {
    let text: Vec<String> = rows.iter().map(u32::to_string).collect();
    match text.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => text.join(""),
    }
}

pub fn column_letter(index: u32) -> String {
    let mut letters = Vec::new();
    let mut n = index + 1;
    while n > 0 {
        let rem = (n - 1) % 26;
        letters.push(b'A' + rem as u8);
        n = (n - 1) / 26;
    }
    letters.reverse();
    String::from_utf8(letters).expect("ASCII letters")
}

/// One mistake: where it is (absent when the workbook as a whole is unreadable) and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportError {
    pub location: Option<Location>,
    pub problem: Problem,
}

/// What is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("the file is not a readable .xlsx or .xls workbook: {0}")]
    UnreadableWorkbook(String),
    #[error("the workbook has no `survey` sheet")]
    MissingSurveySheet,
    #[error("the sheet has no `{0}` column")]
    MissingColumn(&'static str),
    #[error("the column `{header}` appears twice (first in column {first})")]
    DuplicateColumn { header: String, first: String },
    #[error("`{header}` and `{other}` (column {first}) are two names for the same column")]
    SameColumnTwice {
        header: String,
        other: String,
        first: String,
    },
    #[error("unknown question type `{0}`")]
    UnknownType(String),
    #[error("this row has a {0} but no type")]
    MissingType(&'static str),
    #[error("this row has no name")]
    MissingName,
    #[error("this choice has no list name")]
    MissingListName,
    #[error("`{0}` is not a valid name: use letters, digits, `_`, `-` and `.`, starting with a letter or `_`")]
    InvalidName(String),
    #[error("the name `{name}` is already used in the same group, on row {first_row}")]
    DuplicateName { name: String, first_row: u32 },
    #[error("the repeat name `{name}` is already used on row {first_row}: repeat names must be unique in the whole form")]
    DuplicateRepeatName { name: String, first_row: u32 },
    #[error("the choice `{name}` appears twice in the list `{list}` (first on row {first_row})")]
    DuplicateChoice {
        list: String,
        name: String,
        first_row: u32,
    },
    #[error("`or_other` cannot be used with a choice_filter (pyxform refuses it too)")]
    OrOtherWithChoiceFilter,
    #[error("the choice list `{0}` is not on the choices sheet")]
    UnknownChoiceList(String),
    #[error("`{0}` closes nothing: there is no open group, repeat or loop here")]
    UnmatchedEnd(String),
    #[error("`{found}` closes the {open} `{name}` opened on row {opened_row}")]
    MismatchedEnd {
        found: String,
        open: &'static str,
        name: String,
        opened_row: u32,
    },
    #[error("the {kind} `{name}` is never closed")]
    UnclosedBlock { kind: &'static str, name: String },
    #[error("`{value}` is not yes or no")]
    NotYesNo { value: String },
    #[error("the expression `{expression}` does not parse: {message}")]
    InvalidExpression { expression: String, message: String },
    #[error("the parameter `{name}={value}` must be {expected}")]
    InvalidParameter {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("`${{{0}}}` refers to no question of this form")]
    UnknownReference(String),
    #[error("`${{{name}}}` is ambiguous: rows {} all carry this name (pyxform refuses it too); rename one of them", join_rows(.rows))]
    AmbiguousReference { name: String, rows: Vec<u32> },
    /// Past one of the bounds on what import reads (see `limits`): the workbook is refused
    /// before it can take the memory of the process.
    #[error("{part} is larger than a form can be: {limit}")]
    TooLarge { part: Part, limit: Limit },
}

/// The part of a workbook that is too large: a sheet by its name when the part is one, or the
/// file inside the `.xlsx` package otherwise (the shared strings, the styles).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Sheet(String),
    File(String),
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Part::Sheet(name) => write!(f, "the sheet `{name}`"),
            Part::File(path) => write!(f, "the part `{path}` of the workbook"),
        }
    }
}

/// Which bound a part goes past (the bounds and why: [`super::limits`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Limit {
    #[error("it has a cell at {cell}, below row {max}, the last a form may use")]
    Rows { max: u32, cell: String },
    #[error("it has a cell at {cell}, right of column {}, the last a form may use", column_letter(max - 1))]
    Columns { max: u32, cell: String },
    #[error("the survey, choices and settings sheets hold more than {max} cells")]
    Cells { max: usize },
    #[error("the survey, choices and settings sheets hold more than {} MB of text", max >> 20)]
    Text { max: usize },
    #[error("the cell {cell} holds more than {max} characters")]
    CellText { max: usize, cell: String },
    #[error("it holds more than {} MB once decompressed", max >> 20)]
    InflatedBytes { max: u64 },
    #[error("with it the workbook holds more than {} MB once decompressed", max >> 20)]
    WorkbookBytes { max: u64 },
    #[error("it declares or holds more than {max} shared strings")]
    SharedStrings { max: u64 },
    #[error("it holds more than {max} XML elements")]
    Elements { max: u64 },
    /// A sheet of an `.xls` whose DIMENSIONS record declares more cells than a form may have:
    /// calamine reserves room for all of them when it opens the file.
    #[error("it declares room for more than {max} cells")]
    DeclaredCells { max: usize },
    /// A stream of an `.xls` compound file whose chain of sectors is longer than the bound, or
    /// loops back (a damaged sector table), which calamine would follow forever.
    #[error("its chain of sectors loops or holds more than {} MB", max >> 20)]
    Stream { max: u64 },
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_at(f, self.location.as_ref(), &self.problem)
    }
}

/// `what`, after the sheet, row and column of `location` when there is one.
fn write_at(
    f: &mut fmt::Formatter<'_>,
    location: Option<&Location>,
    what: &dyn fmt::Display,
) -> fmt::Result {
    match location {
        None => write!(f, "{what}"),
        Some(Location {
            sheet,
            row,
            column: None,
        }) => write!(f, "sheet `{sheet}`, row {row}: {what}"),
        Some(Location {
            sheet,
            row,
            column: Some(column),
        }) => write!(
            f,
            "sheet `{sheet}`, row {row}, column {} (`{}`): {what}",
            column.letter, column.header
        ),
    }
}

/// Something in a workbook that imports, but not as written: the form works without it, and
/// the person who wrote it should look at the cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportWarning {
    pub location: Location,
    pub warning: Warning,
}

/// What an [`ImportWarning`] is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Warning {
    /// pyxform converts such a form (it never parses calculations; ODK Validate would refuse
    /// it), so Minga imports it too, keeping the text in the question's `extra` columns.
    #[error("the calculation `{expression}` does not parse ({message}): it is kept as written and computes nothing")]
    UnparsedCalculation { expression: String, message: String },
}

impl fmt::Display for ImportWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_at(f, Some(&self.location), &self.warning)
    }
}

/// Every mistake found in a workbook, in sheet and row order. Never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportErrors(pub Vec<ImportError>);

impl fmt::Display for ImportErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.0.len();
        writeln!(
            f,
            "the form has {count} mistake{}:",
            if count == 1 { "" } else { "s" }
        )?;
        for error in &self.0 {
            writeln!(f, "- {error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ImportError {}
impl std::error::Error for ImportErrors {}

impl ImportErrors {
    pub fn iter(&self) -> impl Iterator<Item = &ImportError> {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters_count_like_a_spreadsheet() {
        let letters: Vec<String> = [0, 1, 25, 26, 27, 51, 52, 701, 702]
            .map(column_letter)
            .into();
        assert_eq!(
            letters,
            ["A", "B", "Z", "AA", "AB", "AZ", "BA", "ZZ", "AAA"]
        );
    }

    #[test]
    fn an_error_names_sheet_row_and_column() {
        let error = ImportError {
            location: Some(Location {
                sheet: "survey".into(),
                row: 7,
                column: Some(ColumnRef::new(3, "type")),
            }),
            problem: Problem::UnknownType("txet".into()),
        };
        assert_eq!(
            error.to_string(),
            "sheet `survey`, row 7, column D (`type`): unknown question type `txet`"
        );
    }
}
