//! Calculations that do not parse. pyxform converts such a form (it never parses a
//! `calculation`; only ODK Validate would refuse it), so Minga imports it too, with a warning at
//! the cell, rather than refusing a file every other tool opens.
//!
//! What the model holds: the question keeps no `calculation` (so it computes nothing: a
//! `calculate` stays empty, any other question is answered by hand), and the text moves, as
//! written, to the question's `extra` columns under [`UNPARSED_CALCULATION`]. So the form
//! compiles and evaluates, nothing written in the file is lost, and an exported form can give
//! the text back to whoever fixes it. Guessing at a meaning (a literal, say) would make a phone
//! show a value the author never wrote.
//!
//! A `${name}` naming no question is still a mistake, found in the text as pyxform finds it.

use super::checks::references_in_text;
use super::error::{ImportError, ImportWarning, Problem, Warning};
use super::survey::Survey;
use crate::eval::Column;
use crate::expr;
use crate::model::Item;

/// The `extra` key that keeps a calculation that does not parse.
pub const UNPARSED_CALCULATION: &str = "calculation";

/// A warning for every calculation cell that does not parse, and an error for every `${name}`
/// in one that names no question.
pub fn check_unparsed(survey: &Survey, errors: &mut Vec<ImportError>) -> Vec<ImportWarning> {
    let mut warnings = Vec::new();
    for cell in &survey.expressions {
        if cell.column != Some(Column::Calculation) {
            continue;
        }
        let Err(parse_error) = expr::parse(&cell.source) else {
            continue;
        };
        for name in references_in_text(&cell.source) {
            if !survey.names.contains_key(&name) {
                errors.push(ImportError {
                    location: Some(cell.location.clone()),
                    problem: Problem::UnknownReference(name),
                });
            }
        }
        warnings.push(ImportWarning {
            location: cell.location.clone(),
            warning: Warning::UnparsedCalculation {
                expression: cell.source.clone(),
                message: parse_error.to_string(),
            },
        });
    }
    warnings
}

/// Moves every calculation that does not parse into its question's `extra` columns.
pub fn set_aside(items: &mut [Item]) {
    for item in items {
        match item {
            Item::Question(question) => {
                let unparsed = question
                    .calculation
                    .as_deref()
                    .is_some_and(|source| expr::parse(source).is_err());
                if let Some(source) = question.calculation.take_if(|_| unparsed) {
                    question
                        .extra
                        .insert(UNPARSED_CALCULATION.to_string(), source);
                }
            }
            Item::Group(group) => set_aside(&mut group.children),
            Item::Repeat(repeat) => set_aside(&mut repeat.children),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Group, Question};
    use crate::xlsform::import;

    #[test]
    fn a_reference_to_nothing_in_an_unparsed_calculation_is_still_a_mistake() {
        let bytes = include_bytes!("../../tests/fixtures/unparsed_calculation.xlsx");
        let errors = import(bytes, "unparsed_calculation.xlsx").unwrap_err();
        let found: Vec<(u32, &str, &Problem)> = errors
            .iter()
            .map(|e| {
                let at = e.location.as_ref().unwrap();
                (
                    at.row,
                    at.column.as_ref().unwrap().letter.as_str(),
                    &e.problem,
                )
            })
            .collect();
        assert_eq!(
            found,
            [(4, "D", &Problem::UnknownReference("nobody".into()))],
            "row 3's calculation does not parse either, but it is only a warning"
        );
    }

    #[test]
    fn only_calculations_that_do_not_parse_are_set_aside_even_inside_groups() {
        let question = |name: &str, calculation: &str| -> Question {
            serde_json::from_value(serde_json::json!({
                "name": name, "type": {"base": "calculate"}, "calculation": calculation,
                "default": null, "choice_filter": null, "appearance": null, "parameters": null,
            }))
            .unwrap()
        };
        let mut items = vec![
            Item::Question(question("fine", "1 + 1")),
            Item::Group(Group {
                name: "g".into(),
                label: Default::default(),
                logic: Default::default(),
                appearance: None,
                children: vec![Item::Question(question("broken", "because it's"))],
            }),
        ];
        set_aside(&mut items);
        let Item::Question(fine) = &items[0] else {
            unreachable!()
        };
        assert_eq!(fine.calculation.as_deref(), Some("1 + 1"));
        assert!(fine.extra.is_empty());
        let Item::Group(group) = &items[1] else {
            unreachable!()
        };
        let Item::Question(broken) = &group.children[0] else {
            unreachable!()
        };
        assert_eq!(broken.calculation, None);
        assert_eq!(broken.extra[UNPARSED_CALCULATION], "because it's");
    }
}
