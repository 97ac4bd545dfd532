//! The checks that need the whole form: the engine compiles it (every expression parses, every
//! `${name}` resolves, functions exist with the right arguments, no logic goes round in a
//! circle), and its errors are put back at the cells they came from. `${name}` in labels and
//! hints, which the engine does not compile, is checked here.

use super::error::{ColumnRef, ImportError, Location, Problem};
use super::settings::Settings;
use super::survey::{ExpressionCell, Survey};
use super::workbook::Sheet;
use crate::eval::{self, Column, CompileError};
use crate::model::Form;

/// Adds to `errors` every mistake in the form's expressions and in the references of its texts.
pub fn check_expressions(
    form: &Form,
    survey: &Survey,
    settings: &Settings,
    settings_sheet: Option<&Sheet>,
    errors: &mut Vec<ImportError>,
) {
    for cell in survey.expressions.iter().filter(|c| c.column.is_none()) {
        for name in references_in_text(&cell.source) {
            let problem = match survey.names.get(&name).map(Vec::len) {
                None => Problem::UnknownReference(name),
                Some(1) => continue,
                Some(_) => ambiguous(survey, name),
            };
            let location = Some(cell.location.clone());
            errors.push(ImportError { location, problem });
        }
    }
    let Err(compile_errors) = eval::compile(form) else {
        return;
    };
    let instance_name = instance_name_location(settings, settings_sheet);
    for error in compile_errors {
        if matches!(error.column, Column::Name | Column::Label | Column::Hint) {
            // names were checked, with their rows, while reading the survey, and the
            // references in the survey's labels and hints above, at their cells
            continue;
        }
        let cell = error
            .item
            .as_deref()
            .and_then(|item| cell_of(&survey.expressions, item, error.column));
        if !is_a_mistake_in_the_form(&error, cell.map(|c| c.source.as_str())) {
            continue;
        }
        let (location, source) = match &error.item {
            None => (instance_name.clone(), settings.instance_name.clone()),
            Some(_) => match cell {
                Some(cell) => (Some(cell.location.clone()), Some(cell.source.clone())),
                None => (None, None),
            },
        };
        let source =
            source.unwrap_or_else(|| format!("{} of {:?}", error.column.header(), error.item));
        errors.push(ImportError {
            location,
            problem: problem_of(survey, &error, source),
        });
    }
}

/// Whether a compile error is a mistake in the form (which pyxform or ODK Validate would
/// refuse too) rather than something Minga's engine cannot run yet or cannot know at import:
/// a function of the ODK XForms spec that the engine lacks, a filter over options kept in an
/// attached file, `pulldata()`, a path it does not follow.
fn is_a_mistake_in_the_form(error: &CompileError, source: Option<&str>) -> bool {
    match &error.problem {
        eval::Problem::UnknownFunction(name) => !ODK_FUNCTIONS.contains(&name.as_str()),
        eval::Problem::UnknownReference(name) => {
            source.is_none_or(|s| s.contains(&format!("${{{name}}}")))
        }
        eval::Problem::Unsupported(_) => false,
        _ => true,
    }
}

/// The functions of XPath 1.0 and the ODK XForms specification.
const ODK_FUNCTIONS: &[&str] = &[
    "last",
    "position",
    "count",
    "local-name",
    "namespace-uri",
    "name",
    "string",
    "concat",
    "starts-with",
    "ends-with",
    "contains",
    "substring-before",
    "substring-after",
    "substring",
    "string-length",
    "normalize-space",
    "translate",
    "boolean",
    "not",
    "true",
    "false",
    "lang",
    "number",
    "sum",
    "floor",
    "ceiling",
    "round",
    "boolean-from-string",
    "if",
    "coalesce",
    "selected",
    "selected-at",
    "count-selected",
    "jr:choice-name",
    "jr:itext",
    "indexed-repeat",
    "count-non-empty",
    "checklist",
    "weighted-checklist",
    "regex",
    "int",
    "pow",
    "log",
    "log10",
    "abs",
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
    "atan2",
    "sqrt",
    "exp",
    "exp10",
    "pi",
    "min",
    "max",
    "today",
    "now",
    "decimal-date-time",
    "date",
    "decimal-time",
    "format-date",
    "format-date-time",
    "date-time",
    "random",
    "uuid",
    "digest",
    "base64-decode",
    "once",
    "area",
    "distance",
    "geofence",
    "join",
    "substr",
    "randomize",
    "instance",
    "current",
    "pulldata",
    "trim",
    "version",
    "property",
    "jr:choice-count",
];

/// The cell of `column` of the item the engine keys `item` (its name, or its path when the
/// name is used in several groups; a name never holds a `/`).
fn cell_of<'a>(
    cells: &'a [ExpressionCell],
    item: &str,
    column: Column,
) -> Option<&'a ExpressionCell> {
    cells
        .iter()
        .find(|c| (c.item == item || c.path == item) && c.column == Some(column))
}

/// `${name}` where the name is used in several groups, with every row that gives it.
fn ambiguous(survey: &Survey, name: String) -> Problem {
    let rows = survey.names.get(&name).cloned().unwrap_or_default();
    Problem::AmbiguousReference { name, rows }
}

fn instance_name_location(settings: &Settings, sheet: Option<&Sheet>) -> Option<Location> {
    let (row, column, header) = settings.instance_name_cell.as_ref()?;
    Some(Location {
        sheet: sheet?.name.clone(),
        row: *row,
        column: Some(ColumnRef::new(*column, header)),
    })
}

fn problem_of(survey: &Survey, error: &CompileError, expression: String) -> Problem {
    match &error.problem {
        eval::Problem::UnknownReference(name) => Problem::UnknownReference(name.clone()),
        eval::Problem::AmbiguousReference(name) => ambiguous(survey, name.clone()),
        other => Problem::InvalidExpression {
            expression,
            message: other.to_string(),
        },
    }
}

/// The names in `${name}` written inside a label or hint (where the rest is plain text).
pub(super) fn references_in_text(text: &str) -> Vec<String> {
    eval::text_parts(text)
        .into_iter()
        .filter_map(|part| part.err().map(str::to_string))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_found_in_plain_text() {
        assert_eq!(
            references_in_text("Hello ${name}, age ${ age }"),
            ["name", "age"]
        );
        assert!(references_in_text("no references, a lone $ and a {brace}").is_empty());
    }
}
