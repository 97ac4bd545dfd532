//! The type column: every spelling pyxform accepts (`select_one x`, `select one from x`,
//! `select all that apply from x or specify other`, `begin group`, `begin_repeat`,
//! `get start time`, `add photo prompt`...) read into what a row is.

use crate::model::QuestionType;

/// What one row of the survey sheet is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowKind {
    Question {
        kind: QuestionType,
        or_other: bool,
        /// A check the type implies (`phone number`, `percentage`), used when the row has none.
        implied_constraint: Option<&'static str>,
    },
    BeginGroup,
    BeginRepeat,
    /// `begin loop over list`: the group is asked once for each option of `list`.
    BeginLoop(String),
    End(Block),
}

/// The blocks that a `begin` opens and an `end` closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Block {
    Group,
    Repeat,
    Loop,
}

impl Block {
    pub fn noun(self) -> &'static str {
        match self {
            Block::Group => "group",
            Block::Repeat => "repeat",
            Block::Loop => "loop",
        }
    }
}

/// Reads a type cell; `None` when the type is unknown.
pub fn parse_type(cell: &str) -> Option<RowKind> {
    let words: Vec<&str> = cell.split_whitespace().collect();
    let text = words.join(" ");
    block_row(&text)
        .or_else(|| select_row(&words))
        .or_else(|| plain_row(&text))
        .or_else(|| plain_row(&text.to_lowercase()))
}

fn block_row(text: &str) -> Option<RowKind> {
    let lower = text.to_lowercase().replace('_', " ");
    if let Some(list) = lower.strip_prefix("begin loop over ") {
        let start = text.len() - list.len();
        return Some(RowKind::BeginLoop(text[start..].trim().to_string()));
    }
    Some(match lower.as_str() {
        "begin group" | "begin lgroup" => RowKind::BeginGroup,
        "begin repeat" | "begin looped group" => RowKind::BeginRepeat,
        "end group" | "end lgroup" => RowKind::End(Block::Group),
        "end repeat" | "end looped group" => RowKind::End(Block::Repeat),
        "end loop" => RowKind::End(Block::Loop),
        _ => return None,
    })
}

/// Makes a select's type from its list's name.
type MakeSelect = fn(String) -> QuestionType;

/// The words that introduce a select, and what each makes of its list.
const SELECT_COMMANDS: &[(&str, MakeSelect)] = &[
    ("select_one", QuestionType::SelectOne),
    ("select one", QuestionType::SelectOne),
    ("select one from", QuestionType::SelectOne),
    ("select one using", QuestionType::SelectOne),
    ("select1", QuestionType::SelectOne),
    ("add select one prompt using", QuestionType::SelectOne),
    ("select_multiple", QuestionType::SelectMultiple),
    ("select multiple", QuestionType::SelectMultiple),
    ("select multiple from", QuestionType::SelectMultiple),
    ("select multiple using", QuestionType::SelectMultiple),
    ("select all that apply", QuestionType::SelectMultiple),
    ("select all that apply from", QuestionType::SelectMultiple),
    (
        "add select multiple prompt using",
        QuestionType::SelectMultiple,
    ),
    ("select_one_external", QuestionType::SelectOneExternal),
    ("select one external", QuestionType::SelectOneExternal),
    ("select_one_from_file", QuestionType::SelectOneFromFile),
    ("select one from file", QuestionType::SelectOneFromFile),
    (
        "select_multiple_from_file",
        QuestionType::SelectMultipleFromFile,
    ),
    (
        "select multiple from file",
        QuestionType::SelectMultipleFromFile,
    ),
    ("rank", QuestionType::Rank),
];

const OR_OTHER: &[&str] = &["or_other", "or other", "or specify other"];

fn select_row(words: &[&str]) -> Option<RowKind> {
    let lower: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
    let mut body = lower.join(" ");
    let mut or_other = false;
    if let Some(suffix) = OR_OTHER.iter().find(|s| body.ends_with(&format!(" {s}"))) {
        body.truncate(body.len() - suffix.len() - 1);
        or_other = true;
    }
    let word_count = body.split(' ').count();
    // The list name is the last word; the command is everything before it.
    let (command, _) = body.rsplit_once(' ')?;
    let (_, make) = SELECT_COMMANDS.iter().find(|(name, _)| *name == command)?;
    let list = words[word_count - 1].to_string();
    let kind = make(list);
    Some(RowKind::Question {
        kind,
        or_other,
        implied_constraint: None,
    })
}

fn plain_row(text: &str) -> Option<RowKind> {
    use QuestionType as T;
    let question = |kind| RowKind::Question {
        kind,
        or_other: false,
        implied_constraint: None,
    };
    let checked = |kind, constraint| RowKind::Question {
        kind,
        or_other: false,
        implied_constraint: Some(constraint),
    };
    if let Some(tags) = text.strip_prefix("osm") {
        if tags.is_empty() || tags.starts_with(' ') {
            let tags = tags.trim();
            return Some(question(T::Osm(
                (!tags.is_empty()).then(|| tags.to_string()),
            )));
        }
    }
    Some(match text {
        "text" | "string" | "q string" | "add text prompt" => question(T::Text),
        "integer" | "int" | "q int" | "add integer prompt" => question(T::Integer),
        "decimal" | "q decimal" | "add decimal prompt" => question(T::Decimal),
        "date" | "q date" | "add date prompt" => question(T::Date),
        "time" => question(T::Time),
        "dateTime"
        | "datetime"
        | "date time"
        | "q date time"
        | "q dateTime"
        | "add date time prompt"
        | "add dateTime prompt" => question(T::DateTime),
        "geopoint" | "q geopoint" | "location" | "q location" | "gps" | "add location prompt" => {
            question(T::GeoPoint)
        }
        "geotrace" | "q geotrace" => question(T::GeoTrace),
        "geoshape" | "q geoshape" => question(T::GeoShape),
        "note" | "q note" | "add note prompt" => question(T::Note),
        "calculate" | "q calculate" | "add calculate prompt" => question(T::Calculate),
        "image" | "photo" | "q picture" | "q image" | "add image prompt" | "add photo prompt" => {
            question(T::Image)
        }
        "audio" | "q audio" | "add audio prompt" => question(T::Audio),
        "video" | "q video" | "add video prompt" => question(T::Video),
        "file" | "add file prompt" => question(T::File),
        "barcode" | "q barcode" | "add barcode prompt" => question(T::Barcode),
        "acknowledge" | "q acknowledge" | "add acknowledge prompt" => question(T::Acknowledge),
        "trigger" => question(T::Trigger),
        "range" => question(T::Range),
        "hidden" => question(T::Hidden),
        "start" | "start time" | "get start time" => question(T::Start),
        "end" | "end time" | "get end time" => question(T::End),
        "today" | "get today" => question(T::Today),
        "deviceid" | "device id" | "get device id" | "imei" | "uri:deviceid" => {
            question(T::DeviceId)
        }
        "subscriberid" | "subscriber id" | "get subscriber id" | "uri:subscriberid" => {
            question(T::SubscriberId)
        }
        "simserial" | "sim id" | "get sim id" | "uri:simserial" => question(T::SimSerial),
        "phonenumber" | "get phone number" | "uri:phonenumber" => question(T::PhoneNumber),
        "username" | "uri:username" => question(T::Username),
        "email" | "uri:email" => question(T::Email),
        "audit" => question(T::Audit),
        "start-geopoint" => question(T::StartGeopoint),
        "background-audio" => question(T::BackgroundAudio),
        "background-geopoint" => question(T::BackgroundGeopoint),
        "xml-external" => question(T::XmlExternal),
        "csv-external" => question(T::CsvExternal),
        "phone number" => checked(T::Text, r"regex(., '^\d*$')"),
        "percentage" => checked(T::Integer, "0 <= . and . <= 100"),
        "number of days in last month" => checked(T::Integer, "0 <= . and . <= 31"),
        "number of days in last six months" => checked(T::Integer, "0 <= . and . <= 183"),
        "number of days in last year" => checked(T::Integer, "0 <= . and . <= 365"),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use QuestionType as T;

    fn question(cell: &str) -> (QuestionType, bool) {
        match parse_type(cell) {
            Some(RowKind::Question { kind, or_other, .. }) => (kind, or_other),
            other => panic!("{cell}: {other:?}"),
        }
    }

    #[test]
    fn selects_are_read_in_every_spelling() {
        assert_eq!(
            question("select_one yes_no"),
            (T::SelectOne("yes_no".into()), false)
        );
        assert_eq!(
            question("select one yes_no"),
            (T::SelectOne("yes_no".into()), false)
        );
        assert_eq!(
            question("select one from Sexes"),
            (T::SelectOne("Sexes".into()), false)
        );
        assert_eq!(
            question("select_multiple  risks"),
            (T::SelectMultiple("risks".into()), false)
        );
        assert_eq!(
            question("select_one colors or_other"),
            (T::SelectOne("colors".into()), true)
        );
        assert_eq!(
            question("select all that apply from toilet_type or specify other"),
            (T::SelectMultiple("toilet_type".into()), true)
        );
        assert_eq!(
            question("rank priorities"),
            (T::Rank("priorities".into()), false)
        );
        assert_eq!(
            question("select_one_from_file c.csv"),
            (T::SelectOneFromFile("c.csv".into()), false)
        );
        assert_eq!(
            question("select_one_external c1"),
            (T::SelectOneExternal("c1".into()), false)
        );
    }

    #[test]
    fn blocks_and_plain_types_are_read() {
        assert_eq!(parse_type("begin group"), Some(RowKind::BeginGroup));
        assert_eq!(parse_type("begin_repeat"), Some(RowKind::BeginRepeat));
        assert_eq!(parse_type("END_GROUP"), Some(RowKind::End(Block::Group)));
        assert_eq!(
            parse_type("begin loop over toilet_type"),
            Some(RowKind::BeginLoop("toilet_type".into()))
        );
        assert_eq!(question("get start time").0, T::Start);
        assert_eq!(question("dateTime").0, T::DateTime);
        assert_eq!(question("Integer").0, T::Integer);
        assert_eq!(question("osm").0, T::Osm(None));
        assert_eq!(question("osm c1").0, T::Osm(Some("c1".into())));
        assert!(matches!(
            parse_type("phone number"),
            Some(RowKind::Question {
                kind: T::Text,
                implied_constraint: Some(_),
                ..
            })
        ));
    }

    #[test]
    fn unknown_types_are_none() {
        assert_eq!(parse_type("unknown"), None);
        assert_eq!(parse_type("select_one"), None);
        assert_eq!(parse_type("select_won x"), None);
        assert_eq!(parse_type("osmosis"), None);
    }
}
