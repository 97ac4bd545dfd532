//! The form model: Minga's own serde description of a form, following XLSForm column for column
//! so that an XLSForm imports one to one. Expressions are kept as their XLSForm source text here;
//! the engine compiles them once per form.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One published version of a form. Immutable once published: a change is a new version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Form {
    /// `form_id` from the settings sheet.
    pub id: String,
    /// `version` from the settings sheet.
    pub version: String,
    /// `form_title`.
    pub title: LocalizedText,
    /// The language used where a text lacks the chosen one (`default_language`).
    pub default_language: Option<String>,
    /// Every language any label, hint or message is given in, in the order first seen.
    pub languages: Vec<String>,
    /// `instance_name`: an expression that names a submission in lists.
    pub instance_name: Option<String>,
    /// The survey sheet as a tree: groups and repeats hold their children.
    pub survey: Vec<Item>,
    /// The choices sheet: option lists by `list_name`, in sheet order.
    pub choices: BTreeMap<String, Vec<Choice>>,
    /// The media files published with this version (choice lists, label images), by name.
    /// Empty for a form without media, and then left out of its JSON, so that a version
    /// published before media existed keeps its exact definition.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub media: Vec<MediaFile>,
}

/// One media file of a published form version: what the manifest in its document records.
/// The bytes are an attachment (content-addressed by `sha256`) in the store's content store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaFile {
    /// The file name as the form names it (`UCL_regions.csv`, `house.jpg`).
    pub name: String,
    /// The SHA-256 of the content, 64 lowercase hex digits.
    pub sha256: String,
    /// The content's size in bytes.
    pub size: u64,
    /// Its media type (`text/csv`, `image/jpeg`).
    pub media_type: String,
}

/// One row of the survey sheet, or one group or repeat with everything between its begin and end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Item {
    Question(Question),
    Group(Group),
    Repeat(Repeat),
}

/// A question (or a note, a calculation, a metadata field).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Question {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: QuestionType,
    #[serde(default)]
    pub label: LocalizedText,
    #[serde(default)]
    pub hint: LocalizedText,
    #[serde(default, flatten)]
    pub logic: Logic,
    /// `calculation`: for `calculate` questions, or a value computed into any question.
    pub calculation: Option<String>,
    /// `default`: a literal or an expression filled in when the question is first shown.
    pub default: Option<String>,
    /// `choice_filter`: narrows a select's options; `.` refers to nothing here, option columns
    /// are referenced by name.
    pub choice_filter: Option<String>,
    /// `or_other`: the select offers "other" and a text question for it. The XLSForm import
    /// applies it as pyxform does (the choice `other`, labelled "Other", is added to the list,
    /// and the text question `<name>_other`, "Specify other.", shown while `other` is chosen,
    /// follows the select), so the form holds both and this flag only records the column.
    #[serde(default)]
    pub or_other: bool,
    /// `appearance`, as written.
    pub appearance: Option<String>,
    /// `parameters` (such as `start=0 end=10 step=1` for a range), as written.
    pub parameters: Option<String>,
    /// `media::image`, `media::audio`, `media::video`, `media::big-image`: file names per language,
    /// keyed by the kind of media (`image`, `audio`, `video`, `big-image`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub media: BTreeMap<String, LocalizedText>,
    /// `guidance_hint`: longer guidance for the facilitator, per language.
    #[serde(default, skip_serializing_if = "LocalizedText::is_empty")]
    pub guidance_hint: LocalizedText,
    /// Survey columns Minga does not interpret (`trigger`, `body::accuracyThreshold`, notes for
    /// the reader...), by their header as written, so that nothing written in a form is lost.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, String>,
}

/// The columns that decide whether and how an item is shown, answered and checked.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Logic {
    /// `relevant`: the item is shown only while this holds.
    pub relevant: Option<String>,
    /// `required`: an expression (`yes` imports as `true()`).
    pub required: Option<String>,
    #[serde(default)]
    pub required_message: LocalizedText,
    /// `constraint`: must hold for an answer to be accepted; `.` is the answer.
    pub constraint: Option<String>,
    #[serde(default)]
    pub constraint_message: LocalizedText,
    /// `read_only`: an expression (`yes` imports as `true()`).
    pub read_only: Option<String>,
}

/// `begin_group` … `end_group`. Groups organise the screen; they do not nest the data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub name: String,
    #[serde(default)]
    pub label: LocalizedText,
    #[serde(default, flatten)]
    pub logic: Logic,
    pub appearance: Option<String>,
    pub children: Vec<Item>,
}

/// `begin_repeat` … `end_repeat`. Each instance holds its own answers to `children`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Repeat {
    pub name: String,
    #[serde(default)]
    pub label: LocalizedText,
    #[serde(default, flatten)]
    pub logic: Logic,
    /// `repeat_count`: when set, the number of instances is this expression's value.
    pub repeat_count: Option<String>,
    pub appearance: Option<String>,
    pub children: Vec<Item>,
}

/// The type column. Selects carry their choice list's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "base", content = "list", rename_all = "snake_case")]
pub enum QuestionType {
    Text,
    Integer,
    Decimal,
    SelectOne(String),
    SelectMultiple(String),
    Date,
    Time,
    DateTime,
    GeoPoint,
    Note,
    Calculate,
    Image,
    Audio,
    /// `range`: a number picked on a scale; `parameters` gives `start`, `end` and `step`.
    Range,
    Barcode,
    /// `acknowledge`: a single tick ("OK") stored as `OK`.
    Acknowledge,
    /// `trigger`: like `acknowledge`, without a stored type.
    Trigger,
    GeoTrace,
    GeoShape,
    Video,
    File,
    /// `hidden`: a value kept in the submission and never shown.
    Hidden,
    /// `rank list`: the options of `list` put in order.
    Rank(String),
    /// `select_one_from_file countries.csv`: options from an attached file.
    SelectOneFromFile(String),
    /// `select_multiple_from_file countries.csv`.
    SelectMultipleFromFile(String),
    /// `select_one_external list`: options from the `external_choices` sheet, filtered.
    SelectOneExternal(String),
    /// `osm tags`: an OpenStreetMap feature, with the optional list of tags to ask for.
    Osm(Option<String>),
    /// `xml-external name` / `csv-external name`: declares an attached data file.
    XmlExternal,
    CsvExternal,
    // Metadata, filled by the device rather than the person.
    Start,
    End,
    Today,
    DeviceId,
    Username,
    SubscriberId,
    SimSerial,
    PhoneNumber,
    Email,
    /// `audit`: the device's log of how the form was filled, as an attachment.
    Audit,
    /// `start-geopoint`: the location when the form was opened.
    StartGeopoint,
    BackgroundAudio,
    BackgroundGeopoint,
}

/// One option of a choice list, with any extra columns (used by `choice_filter`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub name: String,
    #[serde(default)]
    pub label: LocalizedText,
    /// Extra columns of the choices sheet, such as `province` for a cascading select.
    #[serde(default)]
    pub extra: BTreeMap<String, String>,
    /// `media::image` and the like, per kind of media, as for [`Question::media`].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub media: BTreeMap<String, LocalizedText>,
}

/// A text given per language. The key is the language as the form names it (`Español (es)`),
/// or [`LocalizedText::NO_LANGUAGE`] for a column without one (`label` rather than `label::…`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LocalizedText(pub BTreeMap<String, String>);

impl Question {
    /// A question with only a name and a type: every other column empty, as a blank
    /// spreadsheet cell leaves it.
    pub fn new(name: impl Into<String>, kind: QuestionType) -> Self {
        Self {
            name: name.into(),
            kind,
            label: LocalizedText::default(),
            hint: LocalizedText::default(),
            logic: Logic::default(),
            calculation: None,
            default: None,
            choice_filter: None,
            or_other: false,
            appearance: None,
            parameters: None,
            media: BTreeMap::new(),
            guidance_hint: LocalizedText::default(),
            extra: BTreeMap::new(),
        }
    }

    /// The value of the parameter `name` in the `parameters` column (`max-pixels=1024`):
    /// `name=value` pairs separated by spaces, commas or semicolons, as pyxform reads them.
    /// Cost: a scan of the column's text.
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters
            .as_deref()?
            .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
            .filter_map(|pair| pair.split_once('='))
            .find(|(key, _)| key.trim() == name)
            .map(|(_, value)| value.trim())
    }

    /// ODK's `max-pixels` for an image question: the longest side, in pixels, a photo is
    /// stored with (a larger one is scaled down first). `None` when not given or not a whole
    /// number above zero (the XLSForm import refuses such a value at its row).
    pub fn max_pixels(&self) -> Option<u32> {
        self.parameter(MAX_PIXELS)?
            .parse()
            .ok()
            .filter(|pixels| *pixels > 0)
    }
}

/// The `parameters` name of an image question's largest side ([`Question::max_pixels`]).
pub const MAX_PIXELS: &str = "max-pixels";

impl LocalizedText {
    /// The key of a text given in a column without a language.
    pub const NO_LANGUAGE: &'static str = "default";

    /// The text in `language`, else in `fallback`, else the one without a language, else any.
    pub fn get(&self, language: Option<&str>, fallback: Option<&str>) -> Option<&str> {
        pick_language(&self.0, language, fallback).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// What is given in `language`, else in `fallback`, else without a language, else in any: the
/// one rule for every text per language.
pub(crate) fn pick_language<'a, T>(
    texts: &'a BTreeMap<String, T>,
    language: Option<&str>,
    fallback: Option<&str>,
) -> Option<&'a T> {
    [language, fallback, Some(LocalizedText::NO_LANGUAGE)]
        .into_iter()
        .flatten()
        .find_map(|lang| texts.get(lang))
        .or_else(|| texts.values().next())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(pairs: &[(&str, &str)]) -> LocalizedText {
        LocalizedText(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn localized_text_falls_back_from_language_to_default_to_any() {
        let label = text(&[("English (en)", "Age"), ("Español (es)", "Edad")]);
        assert_eq!(label.get(Some("Español (es)"), None), Some("Edad"));
        assert_eq!(
            label.get(Some("Kichwa (qu)"), Some("English (en)")),
            Some("Age")
        );
        assert_eq!(label.get(Some("Kichwa (qu)"), None), Some("Age"));
        let plain = text(&[("default", "Name")]);
        assert_eq!(plain.get(Some("Español (es)"), None), Some("Name"));
        assert_eq!(LocalizedText::default().get(None, None), None);
    }

    #[test]
    fn a_form_round_trips_through_json() {
        let form = Form {
            id: "f".into(),
            version: "1".into(),
            title: text(&[("default", "F")]),
            default_language: None,
            languages: vec![],
            instance_name: None,
            survey: vec![Item::Question(Question {
                label: text(&[("default", "Q")]),
                logic: Logic {
                    relevant: Some("true()".into()),
                    ..Logic::default()
                },
                ..Question::new("q", QuestionType::SelectOne("yn".into()))
            })],
            choices: BTreeMap::new(),
            media: vec![],
        };
        let json = serde_json::to_string(&form).unwrap();
        assert_eq!(serde_json::from_str::<Form>(&json).unwrap(), form);
    }
}
