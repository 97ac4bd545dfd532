//! The checks that need the whole form: every expression parses, and every `${name}` (in an
//! expression, a label or a hint) names a question, group or repeat of the form.

use super::error::{ColumnRef, ImportError, Location, Problem};
use super::settings::Settings;
use super::survey::{ExpressionCell, Survey};
use super::workbook::Sheet;
use crate::expr;

/// Adds to `errors` one mistake per expression that does not parse and per unknown reference.
pub fn check_expressions(
    survey: &Survey,
    settings: &Settings,
    settings_sheet: Option<&Sheet>,
    errors: &mut Vec<ImportError>,
) {
    for cell in &survey.expressions {
        check_cell(cell, survey, errors);
    }
    if let (Some(source), Some((row, column, header)), Some(sheet)) = (
        &settings.instance_name,
        &settings.instance_name_cell,
        settings_sheet,
    ) {
        let location = Location {
            sheet: sheet.name.clone(),
            row: *row,
            column: Some(ColumnRef::new(*column, header)),
        };
        check_cell(
            &ExpressionCell {
                location,
                source: source.clone(),
                is_text: false,
            },
            survey,
            errors,
        );
    }
}

fn check_cell(cell: &ExpressionCell, survey: &Survey, errors: &mut Vec<ImportError>) {
    let error = |problem| ImportError {
        location: Some(cell.location.clone()),
        problem,
    };
    let names: Vec<String> = if cell.is_text {
        references_in_text(&cell.source)
    } else {
        match expr::parse(&cell.source) {
            Ok(parsed) => parsed.references().into_iter().map(String::from).collect(),
            Err(parse_error) => {
                let problem = Problem::InvalidExpression {
                    expression: cell.source.clone(),
                    message: parse_error.to_string(),
                };
                errors.push(error(problem));
                return;
            }
        }
    };
    for name in names {
        if !survey.names.contains_key(&name) {
            errors.push(error(Problem::UnknownReference(name)));
        }
    }
}

/// The names in `${name}` written inside a label or hint (where the rest is plain text).
fn references_in_text(text: &str) -> Vec<String> {
    text.split("${")
        .skip(1)
        .filter_map(|after| {
            after
                .split_once('}')
                .map(|(name, _)| name.trim().to_string())
        })
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
