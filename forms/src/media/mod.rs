//! A form's media files: which files a form names (choice lists, data for `pulldata()`, label
//! images and sounds), and the choice lists among them read into [`Choice`]s for the engine
//! ([`lists`]). Pure: the caller (the hub publishing, the core opening a session) reads the
//! bytes and hands them over.

mod csv;
pub mod lists;

pub use lists::{list_name, read_list, ExternalLists, ListError};

use crate::expr::{self, Expr};
use crate::model::{Form, Item, LocalizedText, Question, QuestionType};
use std::collections::BTreeMap;

/// One media file a form names, and the item (question, or choice list) that names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaUse {
    /// The file name, as the form writes it (`UCL_regions.csv`).
    pub file: String,
    /// The question's name, or `choices: <list>` for a choice's image.
    pub item: String,
    /// The column that names it (`type`, `calculation`, `media::image`...).
    pub column: String,
}

/// Every media file `form` names, in survey order (a file named twice is listed at each
/// place): the files of `select_one_from_file` / `select_multiple_from_file`, `csv-external`
/// and `xml-external` (`<name>.csv`, `<name>.xml`), `pulldata('<name>', …)` (`<name>.csv`),
/// and the images, sounds and videos of labels and choices. Cost: one walk of the form, one
/// parse of each expression that calls `pulldata`.
pub fn media_named(form: &Form) -> Vec<MediaUse> {
    let mut uses = Vec::new();
    each_question(&form.survey, &mut |question| {
        question_media(question, &mut uses)
    });
    for (list, choices) in &form.choices {
        for choice in choices {
            label_media(&choice.media, &format!("choices: {list}"), &mut uses);
        }
    }
    uses
}

/// The media type a file's name gives (by its extension), as a form's media are served.
pub fn media_type_of(file: &str) -> &'static str {
    let extension = file.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match extension.as_deref() {
        Some("csv") => "text/csv",
        Some("xml") => "application/xml",
        Some("geojson") => "application/geo+json",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("gif") => "image/gif",
        Some("svg") => "image/svg+xml",
        Some("mp3") => "audio/mpeg",
        Some("m4a") => "audio/mp4",
        Some("ogg") => "audio/ogg",
        Some("wav") => "audio/wav",
        Some("amr") => "audio/amr",
        Some("mp4") => "video/mp4",
        Some("3gp") => "video/3gpp",
        _ => "application/octet-stream",
    }
}

fn each_question<'a>(items: &'a [Item], f: &mut impl FnMut(&'a Question)) {
    for item in items {
        match item {
            Item::Question(question) => f(question),
            Item::Group(group) => each_question(&group.children, f),
            Item::Repeat(repeat) => each_question(&repeat.children, f),
        }
    }
}

fn question_media(question: &Question, uses: &mut Vec<MediaUse>) {
    let mut named = |file: String, column: &str| {
        uses.push(MediaUse {
            file,
            item: question.name.clone(),
            column: column.to_string(),
        })
    };
    match &question.kind {
        QuestionType::SelectOneFromFile(file) | QuestionType::SelectMultipleFromFile(file) => {
            named(file.clone(), "type")
        }
        QuestionType::CsvExternal => named(format!("{}.csv", question.name), "type"),
        QuestionType::XmlExternal => named(format!("{}.xml", question.name), "type"),
        _ => {}
    }
    for (column, source) in expression_columns(question) {
        for list in pulldata_lists(source) {
            named(format!("{list}.csv"), column);
        }
    }
    label_media(&question.media, &question.name, uses);
}

/// The columns of a question that hold expressions, by header.
fn expression_columns(question: &Question) -> Vec<(&'static str, &str)> {
    let logic = &question.logic;
    [
        ("calculation", question.calculation.as_deref()),
        ("default", question.default.as_deref()),
        ("choice_filter", question.choice_filter.as_deref()),
        ("relevant", logic.relevant.as_deref()),
        ("required", logic.required.as_deref()),
        ("constraint", logic.constraint.as_deref()),
        ("read_only", logic.read_only.as_deref()),
    ]
    .into_iter()
    .filter_map(|(column, source)| Some((column, source?)))
    .collect()
}

/// The lists `pulldata('<list>', …)` reads in `source` (none when it does not parse: the
/// import and the compiler report that).
fn pulldata_lists(source: &str) -> Vec<String> {
    if !source.contains("pulldata") {
        return Vec::new();
    }
    let Ok(parsed) = expr::parse(source) else {
        return Vec::new();
    };
    let mut lists = Vec::new();
    parsed.visit(&mut |expr| {
        if let Expr::Call(name, args) = expr {
            if let (true, Some(Expr::Literal(list))) = (name == "pulldata", args.first()) {
                lists.push(list.clone());
            }
        }
    });
    lists
}

fn label_media(media: &BTreeMap<String, LocalizedText>, item: &str, uses: &mut Vec<MediaUse>) {
    for (kind, files) in media {
        for file in files.0.values().filter(|file| !file.trim().is_empty()) {
            uses.push(MediaUse {
                file: file.trim().to_string(),
                item: item.to_string(),
                column: format!("media::{kind}"),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::testing::form;
    use serde_json::json;

    #[test]
    fn a_form_names_its_list_files_pulldata_files_and_label_images() {
        let survey = vec![
            json!({"kind": "question", "name": "region", "type": {"base": "select_one_from_file", "list": "regions.csv"},
                   "media": {"image": {"default": "map.png"}}}),
            json!({"kind": "question", "name": "code", "type": {"base": "calculate"},
                   "calculation": "pulldata('codes', 'code', 'name', ${region})"}),
            json!({"kind": "question", "name": "towns", "type": {"base": "xml_external"}}),
        ];
        let named: Vec<(String, String)> = media_named(&form(survey, json!({})))
            .into_iter()
            .map(|u| (u.file, u.item))
            .collect();
        let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
            list.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        assert_eq!(
            named,
            pairs(&[
                ("regions.csv", "region"),
                ("map.png", "region"),
                ("codes.csv", "code"),
                ("towns.xml", "towns"),
            ])
        );
    }

    #[test]
    fn a_media_type_follows_the_extension_whatever_its_case() {
        assert_eq!(media_type_of("UCL_regions.CSV"), "text/csv");
        assert_eq!(media_type_of("a.geojson"), "application/geo+json");
        assert_eq!(media_type_of("no-extension"), "application/octet-stream");
    }
}
