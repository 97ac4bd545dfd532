//! Export for analysis: CSV laid out as analysts know it from ODK Central, GeoJSON of located
//! submissions, and JSON. Works from the form model and plain answers, so it needs no store.

pub mod csv;
pub mod geojson;
pub mod json;

use crate::error::{HubError, Result};
use chrono::{DateTime, SecondsFormat, Utc};
use minga_forms::{Answer, Answers, Value};
use serde_json::{json, Map, Value as Json};
use std::path::{Path, PathBuf};

/// One submission as an export sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportSubmission {
    /// The submission's id (a UUID); exported as ODK's `uuid:<id>` key.
    pub id: String,
    pub form_version: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The device that created it, and that device's name.
    pub author: String,
    pub author_name: String,
    /// The review's state, if the submission was reviewed.
    pub review_state: Option<String>,
    pub answers: Answers,
}

impl ExportSubmission {
    /// ODK's instance key, `uuid:…`.
    pub fn key(&self) -> String {
        if self.id.starts_with("uuid:") {
            self.id.clone()
        } else {
            format!("uuid:{}", self.id)
        }
    }
}

/// The formats `minga-hub export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    GeoJson,
    Json,
}

/// How select answers appear in CSV: their names (ODK's default) or their labels in a language.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CsvOptions {
    pub labels_in: Option<String>,
}

/// Writes one form's submissions in `format` into `out_dir`, returning the files written.
pub fn write(
    format: Format,
    form: &minga_forms::Form,
    submissions: &[ExportSubmission],
    options: &CsvOptions,
    out_dir: &Path,
) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out_dir).map_err(|e| HubError::io(out_dir, e))?;
    let files: Vec<(String, String)> = match format {
        Format::Csv => csv::tables(form, submissions, options)
            .into_iter()
            .map(|table| (format!("{}.csv", table.name), table.to_csv()))
            .collect(),
        Format::GeoJson => vec![(
            format!("{}.geojson", form.id),
            pretty(&geojson::feature_collection(form, submissions)),
        )],
        Format::Json => vec![(
            format!("{}.json", form.id),
            pretty(&json::submissions(form, submissions)),
        )],
    };
    files
        .into_iter()
        .map(|(name, contents)| {
            let path = out_dir.join(name);
            std::fs::write(&path, contents).map_err(|e| HubError::io(&path, e))?;
            Ok(path)
        })
        .collect()
}

fn pretty(value: &Json) -> String {
    // Serialising a serde_json::Value to a string cannot fail.
    serde_json::to_string_pretty(value).expect("a JSON value serialises")
}

/// ISO 8601 as analysts' tools read it: UTC with a `Z` and milliseconds.
pub fn iso_time(time: &DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// An answer as plain JSON, the way an analyst expects it rather than Minga's tagged form:
/// numbers as numbers, a select_multiple as an array, dates as ISO 8601 strings.
pub fn plain_value(value: &Value) -> Json {
    match value {
        Value::Text(text) | Value::Choice(text) => json!(text),
        Value::Integer(n) => json!(n),
        Value::Decimal(x) => json!(x),
        Value::Choices(names) => json!(names),
        Value::Date(date) => json!(date.format("%Y-%m-%d").to_string()),
        Value::Time(time) => json!(time.format("%H:%M:%S%.3f").to_string()),
        Value::DateTime(time) => json!(time.to_rfc3339_opts(SecondsFormat::Millis, true)),
        Value::GeoPoint(point) => json!({
            "latitude": point.latitude, "longitude": point.longitude,
            "altitude": point.altitude, "accuracy": point.accuracy,
        }),
        Value::Attachment(file) => {
            json!({ "file_name": file.file_name, "media_type": file.media_type, "sha256": file.sha256 })
        }
    }
}

/// A submission's answers as a plain JSON object; repeats become arrays of objects with `_id`.
pub fn plain_answers(answers: &Answers) -> Json {
    let object: Map<String, Json> = answers
        .fields
        .iter()
        .map(|(name, answer)| {
            let value = match answer {
                Answer::Value(value) => plain_value(value),
                Answer::Repeat(instances) => Json::Array(
                    instances
                        .iter()
                        .map(|instance| {
                            let mut fields = match plain_answers(&instance.answers) {
                                Json::Object(fields) => fields,
                                _ => Map::new(),
                            };
                            fields.insert("_id".into(), json!(instance.id));
                            Json::Object(fields)
                        })
                        .collect(),
                ),
            };
            (name.clone(), value)
        })
        .collect();
    Json::Object(object)
}

/// The facts every export carries about a submission besides its answers.
fn submission_meta(form: &minga_forms::Form, submission: &ExportSubmission) -> Map<String, Json> {
    let meta = json!({
        "key": submission.key(),
        "form_id": form.id,
        "form_version": submission.form_version,
        "created_at": iso_time(&submission.created_at),
        "updated_at": iso_time(&submission.updated_at),
        "author": submission.author,
        "author_name": submission.author_name,
        "review_state": submission.review_state,
    });
    match meta {
        Json::Object(map) => map,
        _ => unreachable!("json! of an object literal is an object"),
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! A form and hand-made submissions shared by the export tests.
    use super::ExportSubmission;
    use chrono::{NaiveDate, TimeZone, Utc};
    use minga_forms::{Answer, Answers, Form, GeoPoint, RepeatInstance, Value};

    pub fn form() -> Form {
        serde_json::from_str(include_str!("../../tests/data/safety_walk.json"))
            .expect("the fixture form parses")
    }

    fn answers(pairs: Vec<(&str, Answer)>) -> Answers {
        Answers {
            fields: pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        }
    }

    fn value(v: Value) -> Answer {
        Answer::Value(v)
    }

    pub fn submissions() -> Vec<ExportSubmission> {
        let member = |id: &str, name: &str, role: &str| RepeatInstance {
            id: id.into(),
            answers: answers(vec![
                ("member_name", value(Value::Text(name.into()))),
                ("member_role", value(Value::Choice(role.into()))),
            ]),
        };
        let located = answers(vec![
            ("respondent", value(Value::Text("Rosa, \"la tía\"".into()))),
            ("age", value(Value::Integer(47))),
            (
                "visit_date",
                value(Value::Date(NaiveDate::from_ymd_opt(2026, 11, 3).unwrap())),
            ),
            (
                "location",
                value(Value::GeoPoint(GeoPoint {
                    latitude: -0.2299,
                    longitude: -78.5249,
                    altitude: Some(2850.0),
                    accuracy: Some(4.5),
                })),
            ),
            (
                "concerns",
                value(Value::Choices(
                    ["gangs".to_string(), "theft".to_string()].into(),
                )),
            ),
            ("feels_safe", value(Value::Choice("no".into()))),
            (
                "household",
                Answer::Repeat(vec![
                    member("m1", "Rosa", "head"),
                    member("m2", "Luis", "child"),
                ]),
            ),
        ]);
        let unlocated = answers(vec![("respondent", value(Value::Text("Pedro".into())))]);
        let at = Utc.with_ymd_and_hms(2026, 11, 3, 15, 4, 5).unwrap();
        vec![
            ExportSubmission {
                id: "0b6f3a52-0000-4000-8000-000000000001".into(),
                form_version: "2026-11-01".into(),
                created_at: at,
                updated_at: at,
                author: "dev-ana".into(),
                author_name: "Ana".into(),
                review_state: Some("approved".into()),
                answers: located,
            },
            ExportSubmission {
                id: "0b6f3a52-0000-4000-8000-000000000002".into(),
                form_version: "2026-11-01".into(),
                created_at: at,
                updated_at: at,
                author: "dev-ben".into(),
                author_name: "Ben".into(),
                review_state: None,
                answers: unlocated,
            },
        ]
    }
}
