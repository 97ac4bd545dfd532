//! Export from the hub: its stored submission documents, with what the hub knows of them (the
//! device that sent each, its name, the review's state and comments, why it was flagged as
//! invalid on arrival), through the core's export writers
//! ([`minga_core::export`]: CSV as ODK Central lays it out, GeoJSON, JSON), so that the hub and
//! an app export the same files from the same documents. A stored document that is no
//! readable submission, or one of a form not published, is left out and named in the report;
//! the rest is exported. A CSV export carries the attachments its submissions answer in a
//! `media/` folder, read from the project's stored contents; one the hub lacks is reported.

use crate::access::DocKind;
use crate::admin::{device_names, documents_of_kind};
use crate::error::{HubError, Result};
use crate::storage::{DocumentHeader, HubStorage};
use minga_core::export::{
    ExportProgress, ExportSubmission, MediaSource, Readout, Skipped, SubmissionFacts,
};
use minga_core::ContentHash;
use minga_core::{review_id, DocId, Review, ReviewDocument};
use std::collections::BTreeMap;
use std::io::Write;
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
    let media = ProjectMedia { storage, project };
    minga_core::export::export_with_media(
        &forms,
        submissions,
        format,
        options,
        out_dir,
        progress,
        Some(&media),
    )
}

/// A project's attachment contents, as an export reads them.
struct ProjectMedia<'a> {
    storage: &'a dyn HubStorage,
    project: &'a str,
}

impl MediaSource for ProjectMedia<'_> {
    /// Cost: one pass over the content, a chunk in memory.
    fn write_to(&self, hash: &ContentHash, path: &Path) -> minga_core::Result<bool> {
        let hex = hash.to_hex();
        let storage_error = |error: HubError| minga_core::Error::MediaUnreadable {
            sha256: hex.clone(),
            reason: error.to_string(),
        };
        let row = self
            .storage
            .attachment(self.project, &hex)
            .map_err(storage_error)?;
        let Some(row) = row.filter(|row| row.complete) else {
            return Ok(false);
        };
        let io = |source| minga_core::Error::Io {
            path: path.to_owned(),
            source,
        };
        let mut file = std::fs::File::create(path).map_err(io)?;
        for index in 0..minga_sync::attachments::chunk_count(row.size) {
            let chunk = self
                .storage
                .attachment_chunk(self.project, &hex, index)
                .map_err(storage_error)?
                .unwrap_or_default();
            file.write_all(&chunk).map_err(io)?;
        }
        file.sync_all().map_err(io)?;
        Ok(true)
    }
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
    let invalid_reasons = storage
        .submission_row(project, &header.id)?
        .map(|row| row.invalid_reasons)
        .unwrap_or_default();
    let facts = SubmissionFacts {
        author_name: header.author.as_ref().and_then(|a| names.get(a).cloned()),
        author: header.author.clone(),
        updated_at: Some(header.updated_at),
        invalid_reasons,
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
