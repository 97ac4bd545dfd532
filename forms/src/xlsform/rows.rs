//! One data row of a sheet, read through its sheet's columns: a cell by meaning, the texts of a
//! field in every language, and the spreadsheet location of any cell for error messages.

use super::error::{ColumnRef, ImportError, Location, Problem};
use super::headers::{Columns, Field};
use super::workbook::{Cells, Sheet};
use crate::model::LocalizedText;
use std::collections::BTreeMap;

/// A data row (any row after the header) of a sheet.
pub struct Row<'a> {
    pub sheet: &'a Sheet,
    pub columns: &'a Columns,
    pub cells: &'a Cells,
    /// 1-based spreadsheet row number.
    pub number: u32,
}

impl<'a> Row<'a> {
    /// Every data row of `sheet` that has at least one non-empty cell under a known header.
    pub fn all(sheet: &'a Sheet, columns: &'a Columns) -> impl Iterator<Item = Row<'a>> {
        sheet.rows.iter().skip(1).filter_map(move |row| {
            let row = Row {
                sheet,
                columns,
                cells: &row.cells,
                number: row.number,
            };
            row.has_content().then_some(row)
        })
    }

    fn has_content(&self) -> bool {
        self.cells
            .iter()
            .any(|(i, _)| self.columns.fields.get(i).is_some_and(Option::is_some))
    }

    /// The non-empty cell under `field`.
    pub fn get(&self, field: &Field) -> Option<&'a str> {
        let index = self.columns.index_of(field)?;
        self.cells.get(index).map(String::as_str)
    }

    /// The cell under `field`, owned, if not empty.
    pub fn owned(&self, field: &Field) -> Option<String> {
        self.get(field).map(str::to_string)
    }

    /// The texts of a translatable field in every language it has a column for; `pick` says
    /// whether a column is that field, and in which language.
    pub fn localized(&self, pick: impl Fn(&Field) -> Option<&Option<String>>) -> LocalizedText {
        let mut texts = BTreeMap::new();
        for (index, field) in self.columns.fields.iter().enumerate() {
            let Some(language) = field.as_ref().and_then(|(f, _)| pick(f)) else {
                continue;
            };
            if let Some(cell) = self.cells.get(index) {
                let key = language
                    .clone()
                    .unwrap_or_else(|| LocalizedText::NO_LANGUAGE.to_string());
                texts.insert(key, cell.clone());
            }
        }
        LocalizedText(texts)
    }

    /// The media columns of the row, by kind of media and language.
    pub fn media(&self) -> BTreeMap<String, LocalizedText> {
        let mut media: BTreeMap<String, LocalizedText> = BTreeMap::new();
        for (index, field) in self.columns.fields.iter().enumerate() {
            let Some((Field::Media(kind, language), _)) = field else {
                continue;
            };
            if let Some(cell) = self.cells.get(index) {
                let key = language
                    .clone()
                    .unwrap_or_else(|| LocalizedText::NO_LANGUAGE.to_string());
                media
                    .entry(kind.clone())
                    .or_default()
                    .0
                    .insert(key, cell.clone());
            }
        }
        media
    }

    /// The non-empty cells under columns this importer does not interpret, by header.
    pub fn others(&self) -> BTreeMap<String, String> {
        self.cells
            .iter()
            .filter_map(|(index, cell)| match self.columns.fields.get(index) {
                Some(Some((Field::Other(header), _))) => Some((header.clone(), cell.clone())),
                _ => None,
            })
            .collect()
    }

    /// Where the cell under `field` is (the row alone when the sheet has no such column).
    pub fn location(&self, field: &Field) -> Location {
        let column = self.columns.index_of(field).map(|index| {
            let header = self.columns.fields[index]
                .as_ref()
                .map(|(_, h)| h.as_str())
                .unwrap_or("");
            ColumnRef::new(self.sheet.first_column + index as u32, header)
        });
        Location {
            sheet: self.sheet.name.clone(),
            row: self.number,
            column,
        }
    }

    /// An error at the cell under `field`.
    pub fn error(&self, field: &Field, problem: Problem) -> ImportError {
        ImportError {
            location: Some(self.location(field)),
            problem,
        }
    }
}

/// The languages of a sheet's translatable columns, in column order.
pub fn languages(columns: &Columns) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for (field, _) in columns.fields.iter().flatten() {
        let language = match field {
            Field::Label(l)
            | Field::Hint(l)
            | Field::GuidanceHint(l)
            | Field::ConstraintMessage(l)
            | Field::RequiredMessage(l)
            | Field::Media(_, l) => l,
            _ => continue,
        };
        if let Some(language) = language {
            if !found.contains(language) {
                found.push(language.clone());
            }
        }
    }
    found
}
