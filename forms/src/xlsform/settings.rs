//! The settings sheet: one header row and one row of values (form id, version, title, default
//! language, instance name, and the switches pyxform reads).

use super::workbook::Sheet;
use std::collections::HashMap;

/// The settings a form needs, by the column names pyxform accepts.
#[derive(Debug, Default)]
pub struct Settings {
    pub form_id: Option<String>,
    pub title: Option<String>,
    pub version: Option<String>,
    pub default_language: Option<String>,
    pub instance_name: Option<String>,
    pub allow_choice_duplicates: bool,
    /// The 1-based row of the values and the column of each setting, for expression errors.
    pub instance_name_cell: Option<(u32, u32, String)>,
}

/// Reads the settings sheet; an absent or empty sheet gives every setting unset.
pub fn read_settings(sheet: Option<&Sheet>) -> Settings {
    let Some(sheet) = sheet else {
        return Settings::default();
    };
    let Some(headers) = sheet.rows.first() else {
        return Settings::default();
    };
    // The values are in the row right under the headers.
    let Some(values) = sheet.rows.get(1).filter(|v| v.number == headers.number + 1) else {
        return Settings::default();
    };
    let mut by_name: HashMap<String, (usize, String)> = HashMap::new();
    for (index, header) in headers.cells.iter() {
        if let Some(value) = values.cells.get(index).cloned() {
            let key = header
                .split_whitespace()
                .collect::<Vec<_>>()
                .join("_")
                .to_lowercase();
            by_name.entry(key).or_insert((index, value));
        }
    }
    let get = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| by_name.get(*n))
            .map(|(_, v)| v.clone())
    };
    Settings {
        form_id: get(&["form_id", "set_form_id", "id_string"]),
        title: get(&["form_title", "set_form_title", "title"]),
        version: get(&["version"]),
        default_language: get(&["default_language"]),
        instance_name: get(&["instance_name"]),
        allow_choice_duplicates: get(&["allow_choice_duplicates"])
            .is_some_and(|v| super::survey::yes_no(&v) == Some(true)),
        instance_name_cell: by_name.get("instance_name").map(|(index, _)| {
            (
                values.number,
                sheet.first_column + *index as u32,
                headers.cells.get(*index).cloned().unwrap_or_default(),
            )
        }),
    }
}
