//! Export for analysis: CSV laid out as analysts know it from ODK Central, GeoJSON of located
//! submissions, and JSON. One path for every holder of submissions: an app exports its
//! [`Store`] ([`Store::export`]), a hub builds [`ExportSubmission`]s from the document bytes it
//! keeps ([`ExportSubmission::from_document_bytes`]) and calls [`export`]; both read answers
//! with the store's own reader.
//!
//! Stored calculations are recomputed from the answers before they are written
//! (`calculations.rs`), so that none is stale after a merge or an edit made outside a session.
//!
//! One bad document never stops an export: what cannot be read as a submission, or belongs to
//! a form with no layout, is left out and named in the [`ExportReport`]; a geopoint that is no
//! place on Earth keeps its submission in every file and is written as no location there
//! (GeoJSON `"geometry": null`, empty CSV cells), named in the report too. CSV text cells that
//! a spreadsheet would run as a formula are neutralised (see [`csv`]).

mod calculations;
pub mod csv;
pub mod geojson;
pub mod json;
pub mod media;
mod report;
pub mod xlsx;

pub use media::{media_file_name, MediaSource, MissingMedia, MEDIA_FOLDER};
pub use report::{BadPoint, ExportReport, SkipReason, Skipped};

use crate::api::submission::Submission;
use crate::document::DocId;
use crate::document::{Review, ReviewState, Status};
use crate::error::{Error, Result};
use crate::storage::submissions::SubmissionFilter;
use crate::store::Store;
use automerge::AutoCommit;
use chrono::{DateTime, SecondsFormat, Utc};
use minga_forms::check::InvalidAnswer;
use minga_forms::{Answer, Answers, Form, Value};
use serde_json::{json, Map, Value as Json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One submission as an export sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportSubmission {
    /// The submission's id (a UUID); exported as ODK's `uuid:<id>` key.
    pub id: String,
    pub form_id: String,
    pub form_version: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The device that created it, and that device's (or its user's) name.
    pub author: String,
    pub author_name: String,
    /// Where the submission is in its life (draft or complete).
    pub status: Status,
    /// The review's state, if the submission was reviewed.
    pub review_state: Option<ReviewState>,
    /// The review's comments on the whole submission (not on one question), oldest first.
    pub review_comments: Vec<String>,
    /// Why it was flagged as invalid on arrival (its answers break its form version); empty
    /// when it was not. The JSON export carries it.
    pub invalid_reasons: Vec<InvalidAnswer>,
    pub answers: Answers,
}

/// What the holder of a submission knows about it besides its document. Whatever is `None` is
/// taken from the document: the creating device, its user, the creation time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SubmissionFacts {
    pub author: Option<String>,
    pub author_name: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
    pub review_state: Option<ReviewState>,
    /// The review's comments on the whole submission, oldest first.
    pub review_comments: Vec<String>,
    /// Why it was flagged as invalid on arrival, as its holder's projection keeps it.
    pub invalid_reasons: Vec<InvalidAnswer>,
}

impl SubmissionFacts {
    /// These facts with `review`'s verdict and its comments on the whole submission.
    pub fn reviewed(self, review: Option<&Review>) -> Self {
        let Some(review) = review else { return self };
        SubmissionFacts {
            review_state: Some(review.state),
            review_comments: review
                .comments
                .iter()
                .filter(|comment| comment.question.is_none())
                .map(|comment| comment.text.clone())
                .collect(),
            ..self
        }
    }
}

impl ExportSubmission {
    /// A submission read from a store or from bytes, with what its holder knows of it.
    pub fn from_submission(submission: Submission, facts: SubmissionFacts) -> Self {
        let meta = submission.meta;
        ExportSubmission {
            id: submission.id.to_string(),
            form_id: meta.form.form_id,
            form_version: meta.form.form_version,
            created_at: meta.created_at,
            updated_at: facts.updated_at.unwrap_or(meta.created_at),
            author: facts.author.unwrap_or(meta.device_id),
            author_name: facts.author_name.unwrap_or(meta.created_by),
            status: submission.status,
            review_state: facts.review_state,
            review_comments: facts.review_comments,
            invalid_reasons: facts.invalid_reasons,
            answers: submission.answers,
        }
    }

    /// A submission from its automerge bytes, read as the store reads its own; bytes that are
    /// no automerge document, or a document that is no submission, give the reason to skip
    /// it. Cost: loading the document.
    pub fn from_document_bytes(
        bytes: &[u8],
        facts: SubmissionFacts,
    ) -> std::result::Result<Self, SkipReason> {
        let doc =
            AutoCommit::load(bytes).map_err(|error| SkipReason::Unreadable(error.to_string()))?;
        let submission = Submission::from_document(&doc).map_err(|error| {
            SkipReason::NotASubmission(match error {
                // Its message says the bytes are no automerge document; these loaded: keep the why.
                Error::InvalidDocument(why) => why,
                other => other.to_string(),
            })
        })?;
        Ok(Self::from_submission(submission, facts))
    }

    /// ODK's instance key, `uuid:…`.
    pub fn key(&self) -> String {
        if self.id.starts_with("uuid:") {
            self.id.clone()
        } else {
            format!("uuid:{}", self.id)
        }
    }
}

/// The formats an export writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    GeoJson,
    Json,
    /// The CSV's tables as sheets of one Excel workbook ([`xlsx`]).
    Xlsx,
}

/// What an export holds and how: which submissions (every one, or only those whose review is
/// in one state), and how select answers appear in CSV: their names (ODK's default) or their
/// labels in a language every exported form has.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CsvOptions {
    pub labels_in: Option<String>,
    /// Only submissions whose review is in this state (`Approved` for "approved only"); a
    /// submission never reviewed has no state and is left out then. Applies to every format.
    pub review_state: Option<ReviewState>,
}

impl CsvOptions {
    /// Whether `submission` belongs in the export.
    fn admits(&self, submission: &ExportSubmission) -> bool {
        self.review_state
            .is_none_or(|wanted| submission.review_state == Some(wanted))
    }

    /// Refuses labels in a language `form` does not have, naming the ones it has, rather than
    /// writing names where the analyst asked for labels.
    fn check_language(&self, form: &Form) -> Result<()> {
        match &self.labels_in {
            Some(language) if !form.languages.contains(language) => Err(Error::UnknownLanguage {
                form_id: form.id.clone(),
                language: language.clone(),
                languages: form.languages.clone(),
            }),
            _ => Ok(()),
        }
    }
}

/// Told `(done, total)` after each submission is read, for a progress bar.
pub type ExportProgress<'a> = &'a dyn Fn(u64, u64);

/// One document as the caller of [`export`] read it: a submission, or why it is left out.
pub type Readout = std::result::Result<ExportSubmission, Skipped>;

/// Exports `submissions` (read lazily, one at a time) into `out_dir` in `format`, one set of
/// files per form, laid out by the newest version of that form in `forms` (the last one given
/// of each id). Only submissions `options` admits are written; labels in a language one of
/// the exported forms lacks is [`Error::UnknownLanguage`], and nothing is written then. A document the caller could not read as a submission ([`Readout`]'s `Err`),
/// and a submission of a form not in `forms`, are left out and named in the report; the rest
/// is written. The caller's reading errors (`E`, such as a storage failure) stop the export
/// and pass through as they are.
pub fn export<I, E>(
    forms: &[Form],
    submissions: I,
    format: Format,
    options: &CsvOptions,
    out_dir: &Path,
    progress: ExportProgress<'_>,
) -> Result<ExportReport, E>
where
    I: IntoIterator<Item = Result<Readout, E>>,
    I::IntoIter: ExactSizeIterator,
    E: From<Error>,
{
    export_with_media(forms, submissions, format, options, out_dir, progress, None)
}

/// [`export`], and with a CSV export the attachments its submissions answer, read from
/// `media`, in a `media/` folder beside the CSV files ([`media::write_media`]); those `media`
/// lacks are named in the report's `missing_media`.
pub fn export_with_media<I, E>(
    forms: &[Form],
    submissions: I,
    format: Format,
    options: &CsvOptions,
    out_dir: &Path,
    progress: ExportProgress<'_>,
    media: Option<&dyn MediaSource>,
) -> Result<ExportReport, E>
where
    I: IntoIterator<Item = Result<Readout, E>>,
    I::IntoIter: ExactSizeIterator,
    E: From<Error>,
{
    let newest: BTreeMap<&str, &Form> = forms.iter().map(|f| (f.id.as_str(), f)).collect();
    let submissions = submissions.into_iter();
    let total = submissions.len() as u64;
    let mut report = ExportReport::default();
    let mut by_form: BTreeMap<String, Vec<ExportSubmission>> = BTreeMap::new();
    let mut recalculation = calculations::Recalculation::new(forms);
    for (done, readout) in submissions.enumerate() {
        match readout? {
            Ok(submission) if !options.admits(&submission) => {}
            Ok(submission) if newest.contains_key(submission.form_id.as_str()) => {
                let submission = recalculation.apply(submission);
                report.bad_points.extend(report::bad_points(&submission));
                by_form
                    .entry(submission.form_id.clone())
                    .or_default()
                    .push(submission);
            }
            Ok(submission) => report.skipped.push(Skipped {
                reason: SkipReason::FormNotPublished {
                    form_id: submission.form_id,
                    form_version: submission.form_version,
                },
                document: submission.id,
            }),
            Err(skipped) => report.skipped.push(skipped),
        }
        progress(done as u64 + 1, total);
    }
    for form_id in by_form.keys() {
        options.check_language(newest[form_id.as_str()])?;
    }
    for (form_id, submissions) in &by_form {
        let form = newest[form_id.as_str()];
        report
            .files
            .extend(write(format, form, submissions, options, out_dir)?);
        report.written += submissions.len() as u64;
        if let (Format::Csv | Format::Xlsx, Some(media)) = (format, media) {
            let (files, missing) = media::write_media(submissions, media, out_dir)?;
            report.files.extend(files);
            report.missing_media.extend(missing);
        }
    }
    Ok(report)
}

impl Store {
    /// Exports this store's submissions (deleted ones left out) into `out_dir`, a CSV export
    /// with its attachments in `media/`: see [`export_with_media`].
    /// `forms` gives the layout of each form and must cover every submission: the caller
    /// chose them, so a submission of a form not among them is an `InvalidArgument` naming the
    /// form, and nothing is written. Cost: one list scan, then decoding each submission once.
    pub fn export(
        &self,
        forms: &[Form],
        format: Format,
        options: &CsvOptions,
        out_dir: &Path,
        progress: ExportProgress<'_>,
    ) -> Result<ExportReport> {
        let listed = self.every_submission()?;
        if let Some((_, _, form_id)) = listed
            .iter()
            .find(|(_, _, form_id)| !forms.iter().any(|form| &form.id == form_id))
        {
            return Err(Error::InvalidArgument(format!(
                "submissions of form `{form_id}`, which is not among the forms given"
            )));
        }
        let submissions = listed.into_iter().map(|(id, updated_at, _)| {
            let facts = SubmissionFacts {
                updated_at: Some(updated_at),
                invalid_reasons: self.invalid_reasons(&id)?,
                ..SubmissionFacts::default()
            }
            .reviewed(self.review(&id)?.as_ref());
            Ok(Ok(ExportSubmission::from_submission(
                self.submission(&id)?,
                facts,
            )))
        });
        export_with_media(
            forms,
            submissions,
            format,
            options,
            out_dir,
            progress,
            Some(self),
        )
    }

    /// Every live submission's id, last change and form id, oldest change first.
    fn every_submission(&self) -> Result<Vec<(DocId, DateTime<Utc>, String)>> {
        const PAGE: u32 = 1_000;
        let filter = SubmissionFilter::default();
        let mut listed = Vec::new();
        let mut after = None;
        loop {
            let page = self.list_submissions(&filter, after, PAGE)?;
            listed.extend(
                page.items
                    .into_iter()
                    .map(|s| (s.id, s.updated_at, s.form.form_id)),
            );
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        listed.reverse();
        Ok(listed)
    }
}

/// Writes one form's submissions in `format` into `out_dir`, returning the files written.
pub fn write(
    format: Format,
    form: &Form,
    submissions: &[ExportSubmission],
    options: &CsvOptions,
    out_dir: &Path,
) -> Result<Vec<PathBuf>> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    std::fs::create_dir_all(out_dir).map_err(io(out_dir))?;
    let files: Vec<(String, String)> = match format {
        Format::Xlsx => {
            let path = out_dir.join(format!("{}.xlsx", form.id));
            xlsx::write_workbook(&csv::tables(form, submissions, options), &path)?;
            return Ok(vec![path]);
        }
        Format::Csv => csv::tables(form, submissions, options)
            .into_iter()
            .map(|table| {
                let text = format!("{}{}", csv::BYTE_ORDER_MARK, table.to_csv());
                (format!("{}.csv", table.name), text)
            })
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
            std::fs::write(&path, contents).map_err(io(&path))?;
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
fn submission_meta(form: &Form, submission: &ExportSubmission) -> Map<String, Json> {
    let meta = json!({
        "key": submission.key(),
        "form_id": form.id,
        "form_version": submission.form_version,
        "created_at": iso_time(&submission.created_at),
        "updated_at": iso_time(&submission.updated_at),
        "author": submission.author,
        "author_name": submission.author_name,
        "review_state": submission.review_state.map(ReviewState::as_str),
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
    use crate::document::{ReviewState, Status};
    use chrono::{NaiveDate, TimeZone, Utc};
    use minga_forms::check::InvalidAnswer;
    use minga_forms::{Answer, Answers, Form, GeoPoint, RepeatInstance, Value};

    /// Impossible places: latitude, longitude and accuracy off the globe, NaN or infinite.
    pub const IMPOSSIBLE_POINTS: [(f64, f64, Option<f64>); 5] = [
        (1000.0, -78.5, Some(3.0)),
        (-0.2, -500.0, None),
        (f64::NAN, -78.5, None),
        (-0.2, f64::NEG_INFINITY, None),
        (-0.2, -78.5, Some(-4.0)),
    ];

    /// The first of [`submissions`] once for each of [`IMPOSSIBLE_POINTS`], as its location.
    pub fn impossibly_located() -> Vec<ExportSubmission> {
        IMPOSSIBLE_POINTS
            .iter()
            .map(|&(latitude, longitude, accuracy)| {
                let mut submission = submissions().remove(0);
                let point = GeoPoint {
                    latitude,
                    longitude,
                    altitude: Some(2850.0),
                    accuracy,
                };
                submission
                    .answers
                    .fields
                    .insert("location".into(), Answer::Value(Value::GeoPoint(point)));
                submission
            })
            .collect()
    }

    pub fn form() -> Form {
        serde_json::from_str(include_str!("../../../tests/data/safety_walk.json"))
            .expect("the fixture form parses")
    }

    /// The fixture form with the JSON text `from` replaced by `to` (a name, a label).
    pub fn form_replacing(from: &str, to: &str) -> Form {
        let text = include_str!("../../../tests/data/safety_walk.json").replace(from, to);
        serde_json::from_str(&text).expect("the changed fixture form parses")
    }

    /// A form whose groups `groups` each hold a question `name` of type `base` (`text`,
    /// `geo_point`): one name used in several groups.
    pub fn one_name_in_groups(groups: &[&str], name: &str, base: &str) -> Form {
        let survey: Vec<serde_json::Value> = groups
            .iter()
            .map(|group| {
                let question =
                    serde_json::json!({"kind": "question", "name": name, "type": {"base": base}});
                serde_json::json!({"kind": "group", "name": group, "children": [question]})
            })
            .collect();
        serde_json::from_value(serde_json::json!({
            "id": "site", "version": "1", "title": {"default": "Site"},
            "default_language": null, "languages": [], "instance_name": null, "choices": {},
            "survey": survey,
        }))
        .expect("a well-formed form")
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
                form_id: "safety_walk".into(),
                form_version: "2026-11-01".into(),
                created_at: at,
                updated_at: at,
                author: "dev-ana".into(),
                author_name: "Ana".into(),
                status: Status::Complete,
                review_state: Some(ReviewState::Approved),
                review_comments: vec!["Revisar la edad".into()],
                invalid_reasons: vec![InvalidAnswer {
                    question: "age".into(),
                    reason: "a integer question cannot hold the text \"ten\"".into(),
                }],
                answers: located,
            },
            ExportSubmission {
                id: "0b6f3a52-0000-4000-8000-000000000002".into(),
                form_id: "safety_walk".into(),
                form_version: "2026-11-01".into(),
                created_at: at,
                updated_at: at,
                author: "dev-ben".into(),
                author_name: "Ben".into(),
                status: Status::Draft,
                review_state: None,
                review_comments: Vec::new(),
                invalid_reasons: Vec::new(),
                answers: unlocated,
            },
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::{AnswerPath, FormRef};
    use crate::test_support::plain_store;
    use std::cell::Cell;

    fn store(dir: &tempfile::TempDir) -> Store {
        plain_store(dir, "store", "ana-phone", "Ana")
    }

    #[test]
    fn a_csv_export_carries_its_photos_in_media_named_in_the_csv_and_reports_a_missing_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir);
        let form = fixtures::form_replacing(
            r#"{"kind": "question", "name": "note_intro""#,
            r#"{"kind": "question", "name": "photo", "type": {"base": "image"}},
    {"kind": "question", "name": "note_intro""#,
        );
        let present = store
            .add_attachment(b"a photo of the street", "image/jpeg", "../street.jpg")
            .unwrap();
        let absent = minga_forms::Attachment {
            sha256: minga_sync::ContentHash::of(b"never attached here").to_hex(),
            media_type: "image/jpeg".into(),
            file_name: "other.jpg".into(),
        };
        for photo in [&present, &absent] {
            let id = store
                .create_submission(&FormRef::new(&form.id, &form.version))
                .unwrap();
            store
                .set_answer(
                    &id,
                    &AnswerPath::new("photo"),
                    &Value::Attachment(photo.clone()),
                )
                .unwrap();
        }
        let out = dir.path().join("export");
        let report = store
            .export(
                std::slice::from_ref(&form),
                Format::Csv,
                &CsvOptions::default(),
                &out,
                &|_, _| {},
            )
            .unwrap();
        let name = media_file_name(&present);
        assert_eq!(name, format!("{}-street.jpg", &present.sha256[..12]));
        let written = out.join(MEDIA_FOLDER).join(&name);
        assert!(report.files.contains(&written));
        assert_eq!(std::fs::read(written).unwrap(), b"a photo of the street");
        let csv = std::fs::read_to_string(out.join("safety_walk.csv")).unwrap();
        assert!(csv.contains(&name), "the CSV names the file");
        assert!(csv.contains(&media_file_name(&absent)));
        assert_eq!(report.missing_media.len(), 1);
        assert_eq!(report.missing_media[0].sha256, absent.sha256);
        assert_eq!(report.missing_media[0].field, "photo");
        assert_eq!(
            std::fs::read_dir(out.join(MEDIA_FOLDER)).unwrap().count(),
            1,
            "nothing written for the missing one"
        );
    }

    #[test]
    fn a_store_exports_its_submissions_with_reviews_and_progress() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir);
        let form = fixtures::form();
        let mut ids = Vec::new();
        for (respondent, age) in [("Rosa", 47), ("Pedro", 51)] {
            let id = store
                .create_submission(&FormRef::new(&form.id, &form.version))
                .unwrap();
            let set = |name: &str, value: Value| {
                store
                    .set_answer(&id, &AnswerPath::new(name), &value)
                    .unwrap()
            };
            set("respondent", Value::Text(respondent.into()));
            set("age", Value::Integer(age));
            ids.push(id);
        }
        store
            .set_review_state(&ids[1], ReviewState::Rejected)
            .unwrap();
        let calls = Cell::new(Vec::new());
        let out = dir.path().join("export");
        let files = store
            .export(
                std::slice::from_ref(&form),
                Format::Json,
                &CsvOptions::default(),
                &out,
                &|done, total| {
                    let mut seen = calls.take();
                    seen.push((done, total));
                    calls.set(seen);
                },
            )
            .unwrap()
            .files;
        assert_eq!(files, vec![out.join("safety_walk.json")]);
        assert_eq!(calls.take(), vec![(1, 2), (2, 2)]);
        let written: Json = serde_json::from_slice(&std::fs::read(&files[0]).unwrap()).unwrap();
        let rows = written["submissions"].as_array().unwrap();
        assert_eq!(rows[0]["key"], format!("uuid:{}", ids[0]));
        assert_eq!(rows[0]["answers"]["respondent"], "Rosa");
        assert_eq!(rows[0]["author"], "ana-phone");
        assert_eq!(rows[0]["author_name"], "Ana");
        assert_eq!(rows[0]["review_state"], Json::Null);
        assert_eq!(rows[1]["answers"]["age"], 51);
        assert_eq!(rows[1]["review_state"], "rejected");
    }

    /// The CSV files `options` writes of the fixture submissions, each read back whole.
    fn csv_export(options: &CsvOptions) -> Result<Vec<String>> {
        let out = tempfile::tempdir().unwrap();
        let submissions = fixtures::submissions()
            .into_iter()
            .map(|s| Ok::<_, Error>(Ok(s)));
        let report = export(
            &[fixtures::form()],
            submissions,
            Format::Csv,
            options,
            out.path(),
            &|_, _| {},
        )?;
        let written = std::fs::read_dir(out.path()).unwrap().count();
        assert_eq!(written, report.files.len(), "the report names every file");
        Ok(report
            .files
            .iter()
            .map(|file| std::fs::read_to_string(file).unwrap())
            .collect())
    }

    #[test]
    fn csv_files_begin_with_a_byte_order_mark_for_spreadsheets() {
        for text in csv_export(&CsvOptions::default()).unwrap() {
            let after = text.strip_prefix('\u{feff}').expect("a byte-order mark");
            assert!(!after.starts_with('\u{feff}'), "one mark only");
        }
    }

    #[test]
    fn approved_only_leaves_out_every_other_submission_and_its_repeats() {
        let approved = CsvOptions {
            review_state: Some(ReviewState::Approved),
            ..CsvOptions::default()
        };
        let [main, household] = &csv_export(&approved).unwrap()[..] else {
            panic!("a form table and a repeat table")
        };
        assert_eq!(
            main.lines().count(),
            2,
            "the header and the approved row: {main}"
        );
        assert!(main.contains("uuid:0b6f3a52-0000-4000-8000-000000000001"));
        assert_eq!(household.lines().count(), 3, "its two members: {household}");
        let rejected = CsvOptions {
            review_state: Some(ReviewState::Rejected),
            ..CsvOptions::default()
        };
        assert!(
            csv_export(&rejected).unwrap().is_empty(),
            "no file without a row"
        );
    }

    #[test]
    fn labels_in_a_language_the_form_lacks_are_refused_naming_its_languages() {
        let kichwa = CsvOptions {
            labels_in: Some("Kichwa (qu)".into()),
            ..CsvOptions::default()
        };
        match csv_export(&kichwa) {
            Err(Error::UnknownLanguage {
                form_id,
                language,
                languages,
            }) => {
                assert_eq!(
                    (form_id.as_str(), language.as_str()),
                    ("safety_walk", "Kichwa (qu)")
                );
                assert_eq!(languages, ["English (en)", "Español (es)"]);
            }
            other => panic!("expected the language refused, got {other:?}"),
        }
    }

    #[test]
    fn a_store_exports_status_and_the_comments_on_the_whole_submission() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir);
        let form = fixtures::form();
        let id = store
            .create_submission(&FormRef::new(&form.id, &form.version))
            .unwrap();
        store
            .set_status(&id, crate::document::Status::Complete)
            .unwrap();
        store
            .add_review_comment(&id, "Falta la foto", None)
            .unwrap();
        store
            .add_review_comment(&id, "¿47 años?", Some("age"))
            .unwrap();
        store
            .add_review_comment(&id, "Foto recibida", None)
            .unwrap();
        let out = dir.path().join("csv");
        let options = CsvOptions::default();
        let report = store
            .export(&[form], Format::Csv, &options, &out, &|_, _| {})
            .unwrap();
        let main = std::fs::read_to_string(&report.files[0]).unwrap();
        assert!(main.contains(",complete,"), "the status: {main}");
        assert!(
            main.contains(",\"Falta la foto\nFoto recibida\","),
            "the comments on the whole, one per line, not the question's: {main}"
        );
    }

    #[test]
    fn bytes_export_like_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir);
        let id = store
            .create_submission(&FormRef::new("safety_walk", "2026-11-01"))
            .unwrap();
        store
            .set_answer(&id, &AnswerPath::new("age"), &Value::Integer(9))
            .unwrap();
        let bytes = store.document_bytes(&id).unwrap();
        let facts = SubmissionFacts {
            author_name: Some("Ana on the hub".into()),
            ..SubmissionFacts::default()
        };
        let read = ExportSubmission::from_document_bytes(&bytes, facts).unwrap();
        assert_eq!(read.answers, store.answers(&id).unwrap());
        assert_eq!(read.author, "ana-phone");
        assert_eq!(read.author_name, "Ana on the hub");
    }

    #[test]
    fn a_store_refuses_to_export_without_the_form_of_one_of_its_submissions() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir);
        store
            .create_submission(&FormRef::new("safety_walk", "2026-11-01"))
            .unwrap();
        let out = dir.path().join("nothing");
        let refused = store.export(&[], Format::Csv, &CsvOptions::default(), &out, &|_, _| {});
        match refused {
            Err(Error::InvalidArgument(message)) => assert!(message.contains("safety_walk")),
            other => panic!("expected the missing form named, got {other:?}"),
        }
        assert!(!out.exists(), "nothing is written");
    }

    /// A document as a hub holds it, read as the hub's export reads it.
    fn readout(document: &str, bytes: &[u8]) -> Result<Readout> {
        Ok(
            ExportSubmission::from_document_bytes(bytes, SubmissionFacts::default()).map_err(
                |reason| Skipped {
                    document: document.into(),
                    reason,
                },
            ),
        )
    }

    #[test]
    fn documents_that_are_no_submission_of_a_published_form_are_skipped_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir);
        let form = fixtures::form();
        let good = store
            .create_submission(&FormRef::new(&form.id, &form.version))
            .unwrap();
        let unpublished = store
            .create_submission(&FormRef::new("draft_census", "1"))
            .unwrap();
        let review = crate::document::ReviewDocument::start(&good)
            .unwrap()
            .save();
        let mut other = AutoCommit::new();
        automerge::transaction::Transactable::put(&mut other, automerge::ROOT, "hello", "world")
            .unwrap();
        let documents = [
            ("good", store.document_bytes(&good).unwrap()),
            ("unpublished", store.document_bytes(&unpublished).unwrap()),
            ("review", review),
            ("other", other.save()),
            ("junk", b"junk".to_vec()),
        ];
        for format in [Format::Csv, Format::GeoJson, Format::Json] {
            let out = dir.path().join(format!("{format:?}"));
            let report = export(
                std::slice::from_ref(&form),
                documents.iter().map(|(id, bytes)| readout(id, bytes)),
                format,
                &CsvOptions::default(),
                &out,
                &|_, _| {},
            )
            .unwrap();
            assert_eq!(report.written, 1, "{format:?}");
            assert!(!report.files.is_empty() && report.files.iter().all(|f| f.exists()));
            let skipped: Vec<(&str, &SkipReason)> = report
                .skipped
                .iter()
                .map(|s| (s.document.as_str(), &s.reason))
                .collect();
            assert!(
                matches!(
                    skipped[..],
                    [
                        (u, SkipReason::FormNotPublished { form_id, .. }),
                        ("review", SkipReason::NotASubmission(_)),
                        ("other", SkipReason::NotASubmission(_)),
                        ("junk", SkipReason::Unreadable(_)),
                    ] if u == unpublished.to_string() && form_id == "draft_census"
                ),
                "{skipped:?}"
            );
        }
    }

    #[test]
    fn bad_points_are_reported_by_submission_and_field_repeats_included() {
        let mut submission = fixtures::submissions().remove(1);
        let bad = |latitude| {
            Answer::Value(Value::GeoPoint(minga_forms::GeoPoint {
                latitude,
                longitude: -78.5,
                altitude: None,
                accuracy: None,
            }))
        };
        let instance = |id: &str, spot: Answer| minga_forms::RepeatInstance {
            id: id.into(),
            answers: Answers {
                fields: [("spot".to_string(), spot)].into(),
            },
        };
        let fields = &mut submission.answers.fields;
        fields.insert("location".into(), bad(1000.0));
        fields.insert(
            "household".into(),
            Answer::Repeat(vec![instance("a", bad(0.0)), instance("b", bad(f64::NAN))]),
        );
        let out = tempfile::tempdir().unwrap();
        let report = export(
            &[fixtures::form()],
            [Ok::<_, Error>(Ok(submission.clone()))],
            Format::Csv,
            &CsvOptions::default(),
            out.path(),
            &|_, _| {},
        )
        .unwrap();
        let lines: Vec<String> = report.bad_points.iter().map(|p| p.to_string()).collect();
        assert_eq!(
            lines,
            [
                format!(
                    "{} household[2]/spot: latitude NaN is not a finite number",
                    submission.id
                ),
                format!(
                    "{} location: latitude 1000 is outside -90..=90",
                    submission.id
                ),
            ]
        );
        assert_eq!(report.written, 1, "a bad point keeps its submission");
    }
}
