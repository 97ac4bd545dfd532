//! The projections: the rows that lists read instead of documents, derived from a document
//! whenever the write path records it (in the same transaction as its chunks), and filled from
//! every stored document when an upgrade adds a projection (`schema` says when). A submission
//! gives its `submissions` row (with whether its answers break its form version: `invalid`),
//! a review its verdict in `review_states`; a form gives none, but flags again the submissions
//! of its version that arrived before it.
//! Every document also records the attachments it references (`attachment_refs`).

use super::attachments;
use super::chunks;
use super::documents;
use super::invalid;
use super::review_states;
use super::store_meta;
use super::submissions::{self, SubmissionRow};
use crate::clock::now_ms;
use crate::document::conflicts::answers_conflict;
use crate::document::values;
use crate::document::{self, review, DocId, DocKind};
use crate::error::{Error, Result};
use crate::fields::object_at;
use crate::schema::Backfill;
use automerge::{AutoCommit, ReadDoc, ROOT};
use minga_forms::Value;
use rusqlite::Connection;

/// What a write may have changed of what the projections hold, so that a refresh reads from
/// the document only that.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refresh {
    /// Anything, as received (by sync, a bundle, an import): the projections are derived again
    /// from the whole document, and its answers checked against its form version.
    Whole,
    /// Anything but what was checked as typed, by a local write (a new document, status, meta,
    /// deletion, a review): derived again from the whole document, but the answers are checked
    /// against the form again only if the row is flagged (the write may have fixed it), since
    /// what this device writes was checked when written.
    Local,
    /// Only answers, by a local change: of a submission's row, the time moves; the location is
    /// read again if `location` (a top-level geopoint answer was written or replaced); the
    /// conflict flag is read again only if it is set, since a local change can settle a
    /// conflict but never make one. The attachments the document references are recorded
    /// again only if `attachment` (the answer written holds one): references are only ever
    /// added, so an edit that writes none adds none.
    Answers { location: bool, attachment: bool },
}

/// Refreshes what the projections hold of document `id` of `kind`, inside the caller's
/// transaction, writing only what changed. `updated_ms` is when this store saw the change.
pub(crate) fn refresh(
    conn: &Connection,
    id: &DocId,
    kind: DocKind,
    doc: &AutoCommit,
    updated_ms: i64,
    what: Refresh,
) -> Result<()> {
    match kind {
        DocKind::Submission => refresh_submission(conn, id, doc, updated_ms, what)?,
        DocKind::Review => refresh_review_state(conn, id, doc)?,
        DocKind::Form => {}
    }
    match what {
        Refresh::Whole
        | Refresh::Local
        | Refresh::Answers {
            attachment: true, ..
        } => record_attachment_refs(conn, id, doc)?,
        Refresh::Answers { .. } => {}
    }
    // Forms are written once (published here, or received): rare enough to scan the rows.
    if kind == DocKind::Form {
        invalid::reflag_form(conn, id, doc)?;
    }
    Ok(())
}

/// Records the attachments document `id` references. Cost: one walk over the document's
/// current values, and an insert per reference.
fn record_attachment_refs(conn: &Connection, id: &DocId, doc: &AutoCommit) -> Result<()> {
    attachments::record_refs(conn, id, &minga_sync::attachments::referenced(doc))
}

/// Brings the list row of submission `id` up to date, rewriting only the columns that
/// changed. A document that is not (yet) a whole submission, such as the first half of a
/// sync, has no row until it is.
/// Cost: one primary-key lookup of the row, plus what `what` reads of the document (for
/// [`Refresh::Whole`]: the metadata, the geopoints and every answer, no history, and the
/// check of the answers against the form: see [`invalid::reasons`]).
fn refresh_submission(
    conn: &Connection,
    id: &DocId,
    doc: &AutoCommit,
    updated_ms: i64,
    what: Refresh,
) -> Result<()> {
    let stored = submissions::read(conn, id)?;
    let flagged = stored
        .as_ref()
        .is_some_and(|row| row.invalid_reasons.is_some());
    // Checked again when it arrived, or when a local write may have fixed a flagged one.
    let invalid_reasons = if what == Refresh::Whole || flagged {
        invalid::reasons(conn, doc)?
    } else {
        None
    };
    let new = match (&stored, what) {
        (
            Some(stored),
            Refresh::Answers {
                location: moved, ..
            },
        ) => SubmissionRow {
            updated_ms,
            location: if moved {
                location(doc)
            } else {
                stored.location
            },
            has_conflicts: stored.has_conflicts && answers_conflict(doc),
            invalid_reasons,
            ..stored.clone()
        },
        _ => match whole_row(doc, updated_ms) {
            Some(row) => SubmissionRow {
                invalid_reasons,
                ..row
            },
            None => return Ok(()),
        },
    };
    match stored {
        Some(stored) => submissions::update(conn, id, &stored, &new),
        None => submissions::write(conn, id, &new),
    }
}

/// A submission's list row, derived from its whole document, but for the check of its
/// answers (left `None`: [`invalid::reasons`] does it); `None` if the document is not (yet) a
/// whole submission. Cost: reads the metadata, the geopoints and every answer.
fn whole_row(doc: &AutoCommit, updated_ms: i64) -> Option<SubmissionRow> {
    let meta = document::read_meta(doc)?;
    Some(SubmissionRow {
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
        invalid_reasons: None,
    })
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
            refresh_submission(conn, id, doc, now_ms(), Refresh::Whole)
        }),
        Backfill::ReviewStates => each_document(conn, DocKind::Review, &refresh_review_state),
        // Only the flag: the row's other columns, `updated_at` included, stay as they were.
        Backfill::ConflictFlags => each_document(conn, DocKind::Submission, &|conn, id, doc| {
            submissions::write_conflict_flag(conn, id, answers_conflict(doc))
        }),
        Backfill::InvalidFlags => each_document(conn, DocKind::Submission, &|conn, id, doc| {
            submissions::write_invalid_reasons(conn, id, invalid::reasons(conn, doc)?)
        }),
        Backfill::AttachmentRefs => {
            for kind in [DocKind::Submission, DocKind::Review, DocKind::Form] {
                each_document(conn, kind, &record_attachment_refs)?;
            }
            Ok(())
        }
    }
}

/// Calls `fill` with every stored document of `kind`, decoded. A document that does not
/// decode, or that `fill` finds misshapen, is kept as it is, recorded as unreadable
/// (`store_meta::record_unreadable`) with whatever `fill` wrote for it undone, and the others
/// are filled: one damaged document must not keep a store from opening after an upgrade. A
/// storage fault stops the fill. Cost: decodes each once; a savepoint per document.
fn each_document(
    conn: &Connection,
    kind: DocKind,
    fill: &dyn Fn(&Connection, &DocId, &AutoCommit) -> Result<()>,
) -> Result<()> {
    for id in documents::ids_of_kind(conn, kind)? {
        let bytes = chunks::stored_bytes(conn, &id)?;
        conn.execute_batch("SAVEPOINT fill_document")?;
        let filled = chunks::decode(&id, &bytes)
            .map_err(Fault::Document)
            .and_then(|doc| fill(conn, &id, &doc).map_err(Fault::of));
        match filled {
            Ok(()) => conn.execute_batch("RELEASE fill_document")?,
            Err(Fault::Storage(error)) => return Err(error),
            Err(Fault::Document(error)) => {
                conn.execute_batch("ROLLBACK TO fill_document; RELEASE fill_document")?;
                tracing::warn!(document = %id, %kind, %error, "a document the upgrade could not read is kept and reported");
                store_meta::record_unreadable(conn, &id, kind, &error.to_string())?;
            }
        }
    }
    Ok(())
}

/// Whose fault a document's failed fill was.
enum Fault {
    Storage(Error),
    Document(Error),
}

impl Fault {
    fn of(error: Error) -> Self {
        match error.is_storage_fault() {
            true => Fault::Storage(error),
            false => Fault::Document(error),
        }
    }
}

/// The first top-level geopoint answer, by name.
fn location(doc: &AutoCommit) -> Option<(f64, f64)> {
    let answers = object_at(doc, &ROOT, "answers")?;
    let tags = values::type_tags(doc);
    let mut geopoints: Vec<&String> = tags
        .iter()
        .filter(|(_, tag)| *tag == values::GEOPOINT)
        .map(|(name, _)| name)
        .collect();
    geopoints.sort();
    geopoints.into_iter().find_map(|name| {
        let found = doc.get(&answers, name.as_str()).ok()??;
        match values::read_value(doc, found, Some(values::GEOPOINT))? {
            Value::GeoPoint(point) => Some((point.latitude, point.longitude)),
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::{AnswerPath, FormRef};
    use crate::test_support::{conflicted_submission, plain_store};
    use crate::Store;
    use minga_forms::{GeoPoint, Value};

    /// The row as stored, and the row derived again from the whole document (at the stored
    /// time): what an answer's partial refresh must keep equal.
    fn stored_and_whole(store: &Store, id: &DocId) -> (SubmissionRow, SubmissionRow) {
        let mut inner = store.lock();
        let stored = submissions::read(&inner.conn, id).unwrap().unwrap();
        let updated_ms = stored.updated_ms;
        let whole = inner
            .read(id, |doc| Ok(whole_row(doc, updated_ms)))
            .unwrap()
            .unwrap();
        (stored, whole)
    }

    fn point(latitude: f64) -> Value {
        Value::GeoPoint(GeoPoint {
            latitude,
            longitude: -78.0,
            altitude: None,
            accuracy: None,
        })
    }

    #[test]
    fn an_answers_refresh_keeps_the_row_equal_to_one_derived_from_the_whole_document() {
        let dir = tempfile::tempdir().unwrap();
        let store = plain_store(&dir, "s.db", "d", "rosa");
        let id = store.create_submission(&FormRef::new("f", "1")).unwrap();
        let (here, there) = (AnswerPath::new("where"), AnswerPath::new("also_where"));
        let name = AnswerPath::new("name");
        let steps: Vec<(&AnswerPath, Option<Value>)> = vec![
            (&there, Some(point(-2.0))),
            (&here, Some(point(-1.0))),
            (&name, Some(Value::Text("Ana".into()))),
            (&here, None),
            (&there, Some(Value::Text("no longer a place".into()))),
            (&here, Some(point(-3.0))),
        ];
        let mut locations = Vec::new();
        for (path, value) in steps {
            match value {
                Some(value) => store.set_answer(&id, path, &value).unwrap(),
                None => store.clear_answer(&id, path).unwrap(),
            }
            let (stored, whole) = stored_and_whole(&store, &id);
            assert_eq!(stored, whole);
            locations.push(stored.location.map(|(latitude, _)| latitude));
        }
        // Geopoints are read by name: `also_where` comes first while it is one; once it is
        // text, `where` (cleared, so no place) until it is answered again.
        assert_eq!(
            locations,
            vec![
                Some(-2.0),
                Some(-2.0),
                Some(-2.0),
                Some(-2.0),
                None,
                Some(-3.0)
            ]
        );
    }

    #[test]
    fn an_answer_written_over_a_conflict_clears_the_rows_flag() {
        let dir = tempfile::tempdir().unwrap();
        let store = plain_store(&dir, "s.db", "d", "rosa");
        let id = conflicted_submission(&dir, &store);
        assert!(stored_and_whole(&store, &id).0.has_conflicts);
        store
            .set_answer(&id, &AnswerPath::new("other"), &Value::Integer(1))
            .unwrap();
        assert!(stored_and_whole(&store, &id).0.has_conflicts, "still there");
        store
            .set_answer(&id, &AnswerPath::new("q"), &Value::Integer(3))
            .unwrap();
        let (stored, whole) = stored_and_whole(&store, &id);
        assert!(!stored.has_conflicts, "settled by the answer");
        assert_eq!(stored, whole);
    }
}
