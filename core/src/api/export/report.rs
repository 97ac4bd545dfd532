//! What an export tells its caller besides the files: the documents it left out and why, and
//! the geopoints it could not write as locations. A bad document is skipped, never the export;
//! a bad point keeps its submission's row and loses only its location; a missing attachment
//! keeps its cell and lacks only its file.

use super::ExportSubmission;
use minga_forms::{Answer, Answers, ImpossibleValue, Value};
use std::fmt;
use std::path::PathBuf;

/// What one export did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExportReport {
    /// The files written, in the order written.
    pub files: Vec<PathBuf>,
    /// How many submissions the files hold.
    pub written: u64,
    /// Documents left out, each with why.
    pub skipped: Vec<Skipped>,
    /// Geopoints of written submissions that are no place on Earth: written as no location
    /// (GeoJSON `"geometry": null`, empty CSV cells); JSON keeps the values as stored.
    pub bad_points: Vec<BadPoint>,
    /// Attachments answered in written submissions whose contents the exporter lacks: the CSV
    /// names their files, which `media/` does not hold.
    pub missing_media: Vec<super::MissingMedia>,
}

/// A document left out of an export.
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    /// The document's id: the one it is stored under, or for a submission that could be read,
    /// its own (`meta.id`, which a hub stores it under).
    pub document: String,
    pub reason: SkipReason,
}

/// Why a document was left out.
#[derive(Debug, Clone, PartialEq)]
pub enum SkipReason {
    /// The bytes are not an automerge document.
    Unreadable(String),
    /// An automerge document, but not shaped as a submission (no `meta.id`, another meta).
    NotASubmission(String),
    /// A submission of a form none of whose versions the export was given (on a hub: none is
    /// published), so there is no layout to write it in.
    FormNotPublished {
        form_id: String,
        form_version: String,
    },
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Unreadable(why) => write!(f, "unreadable bytes: {why}"),
            SkipReason::NotASubmission(why) => write!(f, "not a submission: {why}"),
            SkipReason::FormNotPublished {
                form_id,
                form_version,
            } => write!(
                f,
                "a submission of form `{form_id}` version `{form_version}`, and no version of \
                 that form is published"
            ),
        }
    }
}

/// A geopoint answer that is no place on Earth.
#[derive(Debug, Clone, PartialEq)]
pub struct BadPoint {
    /// The submission's id.
    pub submission: String,
    /// Where the answer is: its question's name, below its repeat instances
    /// (`household[2]/home`, counted from 1 as ODK does).
    pub field: String,
    /// What is wrong with it: `GeoPoint::check`'s answer, the rule every local write applies.
    pub fault: ImpossibleValue,
}

impl fmt::Display for BadPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.submission, self.field, self.fault)
    }
}

/// Every bad geopoint among a submission's answers, repeats included.
pub(super) fn bad_points(submission: &ExportSubmission) -> Vec<BadPoint> {
    let mut found = Vec::new();
    collect_bad_points(&submission.id, &submission.answers, "", &mut found);
    found
}

fn collect_bad_points(submission: &str, answers: &Answers, prefix: &str, out: &mut Vec<BadPoint>) {
    for (name, answer) in &answers.fields {
        match answer {
            Answer::Value(Value::GeoPoint(point)) => {
                if let Err(fault) = point.check() {
                    out.push(BadPoint {
                        submission: submission.to_string(),
                        field: format!("{prefix}{name}"),
                        fault,
                    });
                }
            }
            Answer::Value(_) => {}
            Answer::Repeat(instances) => {
                for (n, instance) in instances.iter().enumerate() {
                    let prefix = format!("{prefix}{name}[{}]/", n + 1);
                    collect_bad_points(submission, &instance.answers, &prefix, out);
                }
            }
        }
    }
}
