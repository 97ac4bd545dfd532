//! The projections: the rows that lists read instead of documents, derived from a document
//! whenever the write path records it (in the same transaction as its chunks), and filled from
//! every stored document when an upgrade adds a projection (`schema` says when). A submission
//! gives its `submissions` row, a review its verdict in `review_states`; forms give none.
//! Every document also records the attachments it references (`attachment_refs`).

use super::attachments;
use super::chunks;
use super::documents;
use super::review_states;
use super::submissions::{self, SubmissionRow};
use crate::clock::now_ms;
use crate::document::conflicts::answers_conflict;
use crate::document::values;
use crate::document::{self, review, DocId, DocKind};
use crate::error::Result;
use crate::fields::object_at;
use crate::schema::Backfill;
use automerge::{AutoCommit, ReadDoc, ROOT};
use minga_forms::Value;
use rusqlite::Connection;

/// Refreshes what the projections hold of document `id` of `kind`, inside the caller's
/// transaction. `updated_ms` is when this store saw the change.
pub(crate) fn refresh(
    conn: &Connection,
    id: &DocId,
    kind: DocKind,
    doc: &AutoCommit,
    updated_ms: i64,
) -> Result<()> {
    match kind {
        DocKind::Submission => refresh_submission(conn, id, doc, updated_ms)?,
        DocKind::Review => refresh_review_state(conn, id, doc)?,
        DocKind::Form => {}
    }
    record_attachment_refs(conn, id, doc)
}

/// Records the attachments document `id` references. Cost: one walk over the document's
/// current values, and an insert per reference.
fn record_attachment_refs(conn: &Connection, id: &DocId, doc: &AutoCommit) -> Result<()> {
    attachments::record_refs(conn, id, &minga_sync::attachments::referenced(doc))
}

/// Rewrites the list row of submission `id` from its document. A document that is not (yet) a
/// whole submission, such as the first half of a sync, has no row until it is.
/// Cost: reads the metadata, the geopoints and every answer (for conflicts), no history.
fn refresh_submission(
    conn: &Connection,
    id: &DocId,
    doc: &AutoCommit,
    updated_ms: i64,
) -> Result<()> {
    let Some(meta) = document::read_meta(doc) else {
        return Ok(());
    };
    let row = SubmissionRow {
        form_id: meta.form.form_id,
        form_version: meta.form.form_version,
        status: document::read_status(doc),
        author: meta.created_by,
        created_ms: meta.created_at.timestamp_millis(),
        updated_ms,
        instance_name: meta.instance_name,
        location: location(doc),
        deleted_ms: document::read_deleted_at(doc),
        has_conflicts: answers_conflict(doc),
    };
    submissions::write(conn, id, &row)
}

/// Records the state of review document `id` against the submission it judges, inside the
/// caller's transaction. A document whose id does not derive from a submission's records
/// nothing. Cost: two map lookups.
fn refresh_review_state(conn: &Connection, id: &DocId, doc: &AutoCommit) -> Result<()> {
    let Some(submission) = review::reviewed_submission(id, doc) else {
        return Ok(());
    };
    review_states::write(conn, &submission, review::state_of(doc))
}

/// Fills a projection an upgrade just added from every stored document of its kind, inside
/// the upgrade's transaction. Cost: decodes every such document once.
pub(crate) fn backfill(conn: &Connection, backfill: Backfill) -> Result<()> {
    match backfill {
        Backfill::SubmissionRows => each_document(conn, DocKind::Submission, &|conn, id, doc| {
            refresh_submission(conn, id, doc, now_ms())
        }),
        Backfill::ReviewStates => each_document(conn, DocKind::Review, &refresh_review_state),
        // Only the flag: the row's other columns, `updated_at` included, stay as they were.
        Backfill::ConflictFlags => each_document(conn, DocKind::Submission, &|conn, id, doc| {
            submissions::write_conflict_flag(conn, id, answers_conflict(doc))
        }),
        Backfill::AttachmentRefs => {
            for kind in [DocKind::Submission, DocKind::Review, DocKind::Form] {
                each_document(conn, kind, &record_attachment_refs)?;
            }
            Ok(())
        }
    }
}

/// Calls `fill` with every stored document of `kind`, decoded. Cost: decodes each once.
fn each_document(
    conn: &Connection,
    kind: DocKind,
    fill: &dyn Fn(&Connection, &DocId, &AutoCommit) -> Result<()>,
) -> Result<()> {
    let reader = automerge::ActorId::random();
    for id in documents::ids_of_kind(conn, kind)? {
        if let Some(loaded) = chunks::load(conn, &id, &reader)? {
            fill(conn, &id, &loaded.doc)?;
        }
    }
    Ok(())
}

/// The first top-level geopoint answer, by name.
fn location(doc: &AutoCommit) -> Option<(f64, f64)> {
    let answers = object_at(doc, &ROOT, "answers")?;
    let tags = values::type_tags(doc);
    let mut geopoints: Vec<&String> = tags
        .iter()
        .filter(|(_, tag)| *tag == "geopoint")
        .map(|(name, _)| name)
        .collect();
    geopoints.sort();
    geopoints.into_iter().find_map(|name| {
        let found = doc.get(&answers, name.as_str()).ok()??;
        match values::read_value(doc, found, Some("geopoint"))? {
            Value::GeoPoint(point) => Some((point.latitude, point.longitude)),
            _ => None,
        }
    })
}
