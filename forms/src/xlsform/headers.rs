//! Header normalisation: what each column of a sheet means, whatever name, case, alias or
//! language suffix it was written with (`label::Español (es)`, `LABEL:english`, `bind:relevant`,
//! `relevance`, `jr:constraintMsg`, `list name`...), and the two header mistakes pyxform refuses:
//! a column written twice, and two names for one column.

use super::error::{ColumnRef, ImportError, Location, Problem};
use super::workbook::{Cells, Sheet};
use std::collections::HashMap;

/// What a column means. Texts that come per language carry the language (`None`: no language).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Field {
    Type,
    Name,
    ListName,
    Label(Option<String>),
    Hint(Option<String>),
    GuidanceHint(Option<String>),
    ConstraintMessage(Option<String>),
    RequiredMessage(Option<String>),
    /// `media::image`, `audio`, `video::English`...: the kind of media and the language.
    Media(String, Option<String>),
    Required,
    Relevant,
    Constraint,
    Calculation,
    Default,
    ReadOnly,
    Appearance,
    ChoiceFilter,
    RepeatCount,
    Parameters,
    /// A column this importer does not interpret, by its header as written (a choices sheet's
    /// filter columns, settings, notes for the reader...).
    Other(String),
}

/// A sheet's columns: the meaning of each column index, with its header as written.
#[derive(Debug, Clone)]
pub struct Columns {
    pub fields: Vec<Option<(Field, String)>>,
}

impl Columns {
    /// The index of the column holding `field`, if the sheet has it.
    pub fn index_of(&self, field: &Field) -> Option<usize> {
        self.fields
            .iter()
            .position(|f| f.as_ref().is_some_and(|(f, _)| f == field))
    }
}

/// Reads the header row (the sheet's first row) of `sheet`, reporting duplicate columns into
/// `errors`. A column whose header is a duplicate is left out, so that the rest still imports.
pub fn read_header(sheet: &Sheet, errors: &mut Vec<ImportError>) -> Columns {
    let empty = Cells::default();
    let headers = sheet.rows.first().map_or(&empty, |row| &row.cells);
    let double_colon = headers.iter().any(|(_, h)| h.contains("::"));
    let mut seen: HashMap<Field, (usize, &str)> = HashMap::new();
    let mut fields = vec![None; headers.width()];
    for (index, header) in headers.iter() {
        let field = field_of(header, double_colon);
        if let Some(&(first, first_header)) = seen.get(&field) {
            let first = super::error::column_letter(sheet.first_column + first as u32);
            let problem = if first_header == header {
                Problem::DuplicateColumn {
                    header: header.clone(),
                    first,
                }
            } else {
                Problem::SameColumnTwice {
                    header: header.clone(),
                    other: first_header.into(),
                    first,
                }
            };
            errors.push(ImportError {
                location: Some(Location {
                    sheet: sheet.name.clone(),
                    row: sheet.first_row(),
                    column: Some(ColumnRef::new(sheet.first_column + index as u32, header)),
                }),
                problem,
            });
            continue;
        }
        seen.insert(field.clone(), (index, header));
        fields[index] = Some((field, header.clone()));
    }
    Columns { fields }
}

/// The meaning of one header. `double_colon`: the sheet uses `::` between a column and its
/// language, so a single `:` is part of a name (`jr:count`); otherwise `:` separates (the old way).
pub fn field_of(header: &str, double_colon: bool) -> Field {
    let tokens = split_header(header, double_colon);
    let first = snake_case(&tokens[0]);
    let rest = &tokens[1..];
    let language = || (!rest.is_empty()).then(|| rest.join("::"));
    match first.as_str() {
        "type" | "command" if rest.is_empty() => Field::Type,
        "name" | "value" | "tag" if rest.is_empty() => Field::Name,
        "list_name" if rest.is_empty() => Field::ListName,
        "label" | "caption" => Field::Label(language()),
        "hint" => Field::Hint(language()),
        "guidance_hint" => Field::GuidanceHint(language()),
        "constraint_message" | "constraining_message" | "jr:constraintmsg" => {
            Field::ConstraintMessage(language())
        }
        "required_message" | "requiredmsg" | "jr:requiredmsg" => Field::RequiredMessage(language()),
        "image" | "big-image" | "audio" | "video" => Field::Media(first, language()),
        "media" if !rest.is_empty() => {
            let kind = snake_case(&rest[0]);
            let language = (rest.len() > 1).then(|| rest[1..].join("::"));
            Field::Media(kind, language)
        }
        "bind" | "control" if rest.len() == 1 => {
            namespaced_field(&rest[0]).unwrap_or_else(|| Field::Other(header.into()))
        }
        _ if rest.is_empty() => plain_field(&first).unwrap_or_else(|| Field::Other(header.into())),
        _ => Field::Other(header.into()),
    }
}

/// A column known by one plain name (`relevant`, `repeat_count`...).
fn plain_field(name: &str) -> Option<Field> {
    Some(match name {
        "required" => Field::Required,
        "relevant" | "relevance" => Field::Relevant,
        "constraint" => Field::Constraint,
        "calculation" | "calculate" => Field::Calculation,
        "default" => Field::Default,
        "read_only" | "readonly" => Field::ReadOnly,
        "appearance" => Field::Appearance,
        "choice_filter" => Field::ChoiceFilter,
        "repeat_count" | "count" | "jr:count" => Field::RepeatCount,
        "parameters" => Field::Parameters,
        _ => return None,
    })
}

/// The XForm attribute names pyxform accepts after `bind:` or `control:`.
fn namespaced_field(attribute: &str) -> Option<Field> {
    match attribute {
        "jr:constraintMsg" => Some(Field::ConstraintMessage(None)),
        "jr:requiredMsg" => Some(Field::RequiredMessage(None)),
        "calculate" => Some(Field::Calculation),
        other => plain_field(&other.to_lowercase()),
    }
}

/// Splits a header into the column name and what follows it (the language, or for `media` the
/// kind and the language). `jr:` stays joined to the name after it when splitting on `:`.
fn split_header(header: &str, double_colon: bool) -> Vec<String> {
    if double_colon || header.contains("::") {
        return header.split("::").map(|t| t.trim().to_string()).collect();
    }
    let mut tokens: Vec<String> = Vec::new();
    let mut parts = header.split(':').map(str::trim);
    while let Some(part) = parts.next() {
        if part.eq_ignore_ascii_case("jr") {
            let next = parts.next().unwrap_or_default();
            tokens.push(format!("jr:{next}"));
        } else {
            tokens.push(part.to_string());
        }
    }
    tokens
}

/// `List Name` → `list_name`: lowercase, runs of whitespace made one underscore.
fn snake_case(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join("_")
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lang(text: &str) -> Option<String> {
        Some(text.to_string())
    }

    #[test]
    fn headers_are_read_whatever_their_case_and_alias() {
        assert_eq!(field_of("TYPE", true), Field::Type);
        assert_eq!(field_of("list name", false), Field::ListName);
        assert_eq!(field_of("LIST_NAME", false), Field::ListName);
        assert_eq!(
            field_of("label::Español (es)", true),
            Field::Label(lang("Español (es)"))
        );
        assert_eq!(
            field_of("label:english", false),
            Field::Label(lang("english"))
        );
        assert_eq!(field_of("LABEL::EN", true), Field::Label(lang("EN")));
        assert_eq!(
            field_of("caption:italian", false),
            Field::Label(lang("italian"))
        );
        assert_eq!(field_of("relevance", false), Field::Relevant);
        assert_eq!(field_of("bind:relevant", false), Field::Relevant);
        assert_eq!(
            field_of("bind:jr:constraintMsg", false),
            Field::ConstraintMessage(None)
        );
        assert_eq!(
            field_of("constraint message", false),
            Field::ConstraintMessage(None)
        );
        assert_eq!(field_of("read only", false), Field::ReadOnly);
        assert_eq!(field_of("jr:count", false), Field::RepeatCount);
        assert_eq!(field_of("calculation", true), Field::Calculation);
        assert_eq!(
            field_of("media::image", true),
            Field::Media("image".into(), None)
        );
        assert_eq!(
            field_of("media:image:english", false),
            Field::Media("image".into(), lang("english"))
        );
        assert_eq!(
            field_of("image::english", true),
            Field::Media("image".into(), lang("english"))
        );
        assert_eq!(field_of("requiredMsg", true), Field::RequiredMessage(None));
        assert_eq!(field_of("pastel", false), Field::Other("pastel".into()));
        assert_eq!(
            field_of("tutorial notes", false),
            Field::Other("tutorial notes".into())
        );
    }

    fn sheet(headers: &[&str]) -> Sheet {
        Sheet::from_texts("survey", &[headers])
    }

    #[test]
    fn a_column_written_twice_is_reported_at_the_second() {
        let mut errors = Vec::new();
        let columns = read_header(&sheet(&["type", "name", "label", "label"]), &mut errors);
        assert_eq!(errors.len(), 1);
        let location = errors[0].location.as_ref().unwrap();
        assert_eq!(
            (
                location.row,
                location.column.as_ref().unwrap().letter.as_str()
            ),
            (1, "D")
        );
        assert!(
            matches!(&errors[0].problem, Problem::DuplicateColumn { first, .. } if first == "C")
        );
        assert_eq!(columns.index_of(&Field::Label(None)), Some(2));
    }

    #[test]
    fn two_names_for_one_column_are_reported() {
        let mut errors = Vec::new();
        read_header(
            &sheet(&["type", "bind:relevant", "name", "relevance"]),
            &mut errors,
        );
        assert!(matches!(
            &errors[0].problem,
            Problem::SameColumnTwice { header, other, first } if header == "relevance" && other == "bind:relevant" && first == "B"
        ));
    }
}
