//! The choices sheet: option lists by list name, in sheet order, with their labels per language,
//! media, and extra columns (what a `choice_filter` tests).

use super::error::{ImportError, Problem};
use super::headers::Field;
use super::rows::Row;
use crate::model::Choice;
use std::collections::{BTreeMap, HashMap};

/// Reads every row of a choices sheet. `allow_duplicates` is the settings sheet's
/// `allow_choice_duplicates`: without it, a name used twice in one list is a mistake.
pub fn read_choices<'a>(
    rows: impl Iterator<Item = Row<'a>>,
    allow_duplicates: bool,
    errors: &mut Vec<ImportError>,
) -> BTreeMap<String, Vec<Choice>> {
    let mut lists: BTreeMap<String, Vec<Choice>> = BTreeMap::new();
    let mut first_rows: HashMap<(String, String), u32> = HashMap::new();
    for row in rows {
        let (list, name) = (row.get(&Field::ListName), row.get(&Field::Name));
        let (list, name) = match (list, name) {
            (None, None) => continue,
            (Some(list), Some(name)) => (list, name),
            (None, Some(_)) => {
                errors.push(row.error(&Field::ListName, Problem::MissingListName));
                continue;
            }
            (Some(_), None) => {
                errors.push(row.error(&Field::Name, Problem::MissingName));
                continue;
            }
        };
        let key = (list.to_string(), name.to_string());
        if let Some(&first_row) = first_rows.get(&key) {
            if !allow_duplicates {
                let problem = Problem::DuplicateChoice {
                    list: key.0,
                    name: key.1,
                    first_row,
                };
                errors.push(row.error(&Field::Name, problem));
                continue;
            }
        } else {
            first_rows.insert(key, row.number);
        }
        lists
            .entry(list.to_string())
            .or_default()
            .push(choice_of(&row, name));
    }
    lists
}

fn choice_of(row: &Row, name: &str) -> Choice {
    let label = row.localized(|f| match f {
        Field::Label(language) => Some(language),
        _ => None,
    });
    let extra = row.others();
    Choice {
        name: name.to_string(),
        label,
        extra,
        media: row.media(),
    }
}
