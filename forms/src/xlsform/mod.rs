//! XLSForm import: a `.xlsx` or `.xls` workbook (survey, choices and settings sheets) into a
//! [`Form`], with every mistake reported at once, each at its sheet, row and column.
//!
//! Headers are read as pyxform reads them: case does not matter, the old names and spellings
//! are accepted (`list name`, `relevance`, `bind:relevant`, `label:English`, `jr:count`...),
//! and so are the old type spellings (`select one from x`, `begin_group`, `get start time`).
//! Expressions are parsed, and a `${name}` naming no question of the form is a mistake here
//! rather than a surprise on a facilitator's phone.
//!
//! Where Minga differs from pyxform, on purpose:
//! - an expression that does not parse, a `${name}` naming nothing, or logic going round in a
//!   circle is refused here (pyxform leaves the first and last to ODK Validate), except a
//!   `calculation` that does not parse: pyxform converts that form, so Minga imports it with a
//!   warning, the text kept as written and computing nothing (see [`import_report`]);
//! - what the engine cannot run yet (a function of the ODK spec it lacks), or cannot know at
//!   import (the columns of a choice list kept in an attached file) is not a mistake in the form;
//! - a `begin loop over list` becomes a group per option, its questions named
//!   `<question>_<option>` (each copy a name of its own, as a Minga form's columns were named
//!   before names could repeat in different groups).
//!
//! Whatever the file declares, import reads no more than a form can be: the bounds are in
//! [`limits`], and past them a workbook is refused with [`Problem::TooLarge`], naming the sheet.
//!
//! Cost: two inflations of an `.xlsx` (a bounded check of the package, then the read; inflating
//! is most of the time), then one pass over the rows and one parse of each expression. Memory
//! follows the cells written, not the extent the file declares.

mod checks;
mod choices;
mod compound;
mod error;
mod headers;
pub mod limits;
mod loops;
mod package;
mod rows;
mod settings;
mod survey;
mod types;
mod unparsed;
mod workbook;

pub use error::{
    column_letter, ColumnRef, ImportError, ImportErrors, ImportWarning, Limit, Location, Part,
    Problem, Warning,
};
pub use unparsed::UNPARSED_CALCULATION;
pub use workbook::Format;

use crate::model::{Form, LocalizedText};
use headers::read_header;
use rows::Row;
use workbook::Sheet;

/// What an import gives: the form, and what in the workbook it imported other than as written.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportReport {
    pub form: Form,
    /// In sheet and row order; empty for a workbook imported exactly as written.
    pub warnings: Vec<ImportWarning>,
}

/// Imports the workbook in `bytes`. `file_name` gives the format (`.xlsx`, `.xls`; the bytes
/// decide when the name does not) and, as pyxform does, the form id when the settings sheet
/// gives none. [`import_report`] gives the warnings too.
pub fn import(bytes: &[u8], file_name: &str) -> Result<Form, ImportErrors> {
    import_report(bytes, file_name).map(|report| report.form)
}

/// Imports the workbook in `bytes` as [`import`] does, and says what it imported other than as
/// written: a `calculation` that does not parse is kept, as written, in the question's `extra`
/// columns under [`UNPARSED_CALCULATION`] and computes nothing (the form still compiles and
/// evaluates), with a warning at its sheet, row and column.
pub fn import_report(bytes: &[u8], file_name: &str) -> Result<ImportReport, ImportErrors> {
    let format = Format::sniff(bytes).or_else(|| Format::from_file_name(file_name));
    let Some(format) = format else {
        let problem =
            Problem::UnreadableWorkbook(format!("`{file_name}` is neither .xlsx nor .xls"));
        return Err(ImportErrors(vec![ImportError {
            location: None,
            problem,
        }]));
    };
    let stem = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    let stem = stem.rsplit_once('.').map_or(stem, |(stem, _)| stem);
    import_format_report(bytes, format, stem)
}

/// Imports a workbook of a known format; `default_id` is the form id when settings give none.
pub fn import_format(bytes: &[u8], format: Format, default_id: &str) -> Result<Form, ImportErrors> {
    import_format_report(bytes, format, default_id).map(|report| report.form)
}

/// [`import_format`] with the warnings.
pub fn import_format_report(
    bytes: &[u8],
    format: Format,
    default_id: &str,
) -> Result<ImportReport, ImportErrors> {
    let sheets = workbook::read_sheets(bytes, format).map_err(|e| ImportErrors(vec![*e]))?;
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let form = build_form(&sheets, default_id, &mut errors, &mut warnings);
    sort_by_place(&sheets, &mut errors);
    match form {
        Some(form) if errors.is_empty() => Ok(ImportReport { form, warnings }),
        _ => Err(ImportErrors(errors)),
    }
}

/// Sheet by sheet as the workbook orders them, then row by row, then column by column.
fn sort_by_place(sheets: &[Sheet], errors: &mut [ImportError]) {
    errors.sort_by_key(|error| {
        error.location.as_ref().map(|at| {
            let sheet = sheets.iter().position(|s| s.name == at.sheet);
            let column = at
                .column
                .as_ref()
                .map(|c| (c.letter.len(), c.letter.clone()));
            (sheet, at.row, column)
        })
    });
}

fn sheet<'a>(sheets: &'a [Sheet], name: &str) -> Option<&'a Sheet> {
    sheets
        .iter()
        .find(|s| s.name.trim().eq_ignore_ascii_case(name))
}

fn build_form(
    sheets: &[Sheet],
    default_id: &str,
    errors: &mut Vec<ImportError>,
    warnings: &mut Vec<ImportWarning>,
) -> Option<Form> {
    let Some(survey_sheet) = sheet(sheets, "survey") else {
        errors.push(ImportError {
            location: None,
            problem: Problem::MissingSurveySheet,
        });
        return None;
    };
    let settings = settings::read_settings(sheet(sheets, "settings"));

    let choices = match sheet(sheets, "choices") {
        Some(choices_sheet) => {
            let columns = read_header(choices_sheet, errors);
            let choices = choices::read_choices(
                Row::all(choices_sheet, &columns),
                settings.allow_choice_duplicates,
                errors,
            );
            (choices, rows::languages(&columns))
        }
        None => Default::default(),
    };
    let (mut choices, choice_languages) = choices;

    let columns = read_header(survey_sheet, errors);
    for required in [headers::Field::Type, headers::Field::Name] {
        if columns.index_of(&required).is_none() {
            let problem = Problem::MissingColumn(if required == headers::Field::Type {
                "type"
            } else {
                "name"
            });
            let location = Location {
                sheet: survey_sheet.name.clone(),
                row: survey_sheet.first_row(),
                column: None,
            };
            errors.push(ImportError {
                location: Some(location),
                problem,
            });
        }
    }
    let mut survey = survey::read_survey(Row::all(survey_sheet, &columns), &choices, errors);
    for list in &survey.lists_with_other {
        if let Some(options) = choices.get_mut(list) {
            loops::add_other_option(options);
        }
    }
    warnings.extend(unparsed::check_unparsed(&survey, errors));
    unparsed::set_aside(&mut survey.items);

    let mut languages = rows::languages(&columns);
    for language in choice_languages {
        if !languages.contains(&language) {
            languages.push(language);
        }
    }
    let id = settings
        .form_id
        .clone()
        .unwrap_or_else(|| default_id.to_string());
    let title = settings.title.clone().unwrap_or_else(|| id.clone());
    let form = Form {
        title: LocalizedText([(LocalizedText::NO_LANGUAGE.to_string(), title)].into()),
        id,
        version: settings.version.clone().unwrap_or_default(),
        default_language: settings.default_language.clone(),
        languages,
        instance_name: settings.instance_name.clone(),
        survey: survey.items.clone(),
        choices,
        media: Vec::new(),
    };
    checks::check_expressions(&form, &survey, &settings, sheet(sheets, "settings"), errors);
    Some(form)
}
