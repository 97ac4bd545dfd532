//! Export from the hub: its stored submission documents, with what the hub knows of them (the
//! device that sent each, its name, the review's state and comments), through the core's export writers
//! ([`minga_core::export`]: CSV as ODK Central lays it out, GeoJSON, JSON), so that the hub and
//! an app export the same files from the same documents. A stored document that is no
//! readable submission, or one of a form not published, is left out and named in the report;
//! the rest is exported.

use crate::access::DocKind;
use crate::admin::{device_names, documents_of_kind};
use crate::error::{HubError, Result};
use crate::storage::{DocumentHeader, HubStorage};
use minga_core::export::{ExportProgress, ExportSubmission, Readout, Skipped, SubmissionFacts};
use minga_core::{review_id, DocId, Review, ReviewDocument};
use std::collections::BTreeMap;
use std::path::Path;

pub use minga_core::export::{CsvOptions, ExportReport, Format};

/// Exports every form of the project that has submissions into `out_dir`, with the newest
/// published version's questions as columns, telling `progress` after each submission read.
/// Returns the files written and what was left out; only a storage failure stops it.
pub fn export_project(
    storage: &dyn HubStorage,
    project: &str,
    format: Format,
    options: &CsvOptions,
    out_dir: &Path,
    progress: ExportProgress<'_>,
) -> Result<ExportReport> {
    let headers = documents_of_kind(storage, project, DocKind::Submission)?;
    let names = device_names(storage, project)?;
    let forms = storage.forms(project)?;
    let submissions = headers
        .iter()
        .map(|header| read_submission(storage, project, header, &names));
    minga_core::export::export(&forms, submissions, format, options, out_dir, progress)
}

/// One stored submission with the hub's facts about it, or why it is left out.
fn read_submission(
    storage: &dyn HubStorage,
    project: &str,
    header: &DocumentHeader,
    names: &BTreeMap<String, String>,
) -> Result<Readout> {
    let stored = storage
        .document(project, &header.id)?
        .ok_or_else(|| HubError::Corrupt(format!("submission {} has no bytes", header.id)))?;
    let facts = SubmissionFacts {
        author_name: header.author.as_ref().and_then(|a| names.get(a).cloned()),
        author: header.author.clone(),
        updated_at: Some(header.updated_at),
        ..SubmissionFacts::default()
    }
    .reviewed(review(storage, project, &header.id)?.as_ref());
    Ok(
        ExportSubmission::from_document_bytes(&stored.bytes, facts).map_err(|reason| Skipped {
            document: header.id.clone(),
            reason,
        }),
    )
}

/// A submission's review, if it has one the hub can read.
fn review(storage: &dyn HubStorage, project: &str, submission: &str) -> Result<Option<Review>> {
    let Ok(submission) = submission.parse::<DocId>() else {
        return Ok(None);
    };
    let review = storage.document(project, &review_id(&submission).to_string())?;
    Ok(review
        .and_then(|stored| ReviewDocument::load(&stored.bytes).ok())
        .map(|review| review.review()))
}
