//! The one path for received changes: sync's commits (`DocumentStore::commit`), batches
//! (`Store::apply_changes`, and the imports built on it) and a sync protocol's edits
//! (`Store::update_document`) all take [`receive`], inside the caller's transaction, so that
//! every received document passes the same checks before the write path records it:
//!
//! 1. a document stored with another kind is refused (`KindMismatch`);
//! 2. bytes must be automerge chunks through and through (a partial load is refused), and a
//!    document this store lacks must arrive whole: every hash checks (skipped when the sync
//!    layer already loaded it strictly) and no dependency is missing;
//! 3. changes to a stored document may not depend on changes this store lacks;
//! 4. every new change by a keyed actor must be vouched for by a signature that verifies under
//!    its actor's key: its own, or that of the actor's newest new change descending from it
//!    (`sign.rs`; refused as [`Error::UnverifiedChange`], naming the change);
//! 5. the document as it would be stored must be shaped as its kind and id say
//!    ([`check_structure`]);
//! 6. the caller's [`Admission`] policy must admit it.
//!
//! A refused document changes nothing: it is edited in the cache in place and dropped from
//! memory on refusal, so that memory never runs ahead of disk. Content (an impossible value)
//! is never judged here: it is someone's data.

use super::sign::{verify_received, Receiver};
use super::write::record;
use crate::document::{check_structure, DocId, DocKind};
use crate::error::{Error, Result};
use crate::storage::chunks::{DocCache, LoadedDoc};
use crate::storage::projection::Refresh;
use crate::storage::{documents, signatures};
use automerge::{ActorId, AutoCommit, ChangeHash};
use minga_sync::signatures::SignaturePool;

/// Who may write what arrives, judged on the document as the received changes would leave it.
/// Every caller today admits everything ([`AdmitAll`]): sync has applied its peer's
/// `minga_sync::Policy` before it commits, and imports are the user's own act. A relay's rules
/// ("Trusted relays") go here.
pub(crate) trait Admission {
    /// `Err` names why `proposed` may not be stored as document `id`.
    fn admit(&self, id: &DocId, kind: DocKind, proposed: &AutoCommit) -> Result<(), String>;
}

/// Admits every document that passes the store's own checks.
pub(crate) struct AdmitAll;

impl Admission for AdmitAll {
    fn admit(&self, _: &DocId, _: DocKind, _: &AutoCommit) -> Result<(), String> {
        Ok(())
    }
}

/// What arrived for one document.
pub(crate) enum Changes<'a> {
    /// Automerge bytes: a saved document or change chunks.
    Bytes(&'a [u8]),
    /// Bytes the sync layer already loaded strictly (hashes checked) as a whole document.
    Verified(&'a [u8]),
    /// An edit a sync protocol makes on the document (an empty one if it is not stored).
    Edit(&'a mut dyn FnMut(&mut AutoCommit) -> Result<()>),
}

/// What became of one received document.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Stored (or already there): `seq` is its new sequence number, `None` if nothing was new.
    Applied {
        seq: Option<u64>,
        heads: Vec<ChangeHash>,
    },
    /// Refused; nothing was changed.
    Refused(Refusal),
}

/// Why a received document was refused.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// The document is stored with another kind.
    KindMismatch { stored: DocKind },
    /// A check failed: the bytes, a missing dependency, the structure or the admission.
    Invalid(Error),
}

impl Refusal {
    /// The refusal as the error a call that refuses whole fails with (a batch, an update).
    pub(crate) fn into_error(self, id: &DocId, kind: DocKind) -> Error {
        match self {
            Refusal::KindMismatch { stored } => Error::InvalidDocument(format!(
                "for {id}: received as a {kind:?}, stored as a {stored:?}"
            )),
            Refusal::Invalid(error) => error,
        }
    }
}

/// Applies `changes` to document `id` of `kind` inside the caller's transaction `tx`, through
/// every check (see the module's text), and records it with the write path. `Err` is a storage
/// failure; a refusal is an [`Outcome`]. Cost: the checks (one strict parse of the bytes, a
/// structure check of a few lookups) plus applying and recording the changes.
pub(crate) fn receive(
    tx: &rusqlite::Connection,
    cache: &mut DocCache,
    me: Receiver<'_>,
    (id, kind): (&DocId, DocKind),
    (changes, signed): (Changes<'_>, &SignaturePool),
    admission: &dyn Admission,
) -> Result<Outcome> {
    let actor = me.actor;
    let own_edit = matches!(changes, Changes::Edit(_));
    let stored = documents::kind_and_heads(tx, id)?.map(|(stored, _)| stored);
    if let Some(stored) = stored.filter(|stored| *stored != kind) {
        return Ok(refused(id, kind, Refusal::KindMismatch { stored }));
    }
    let loaded = match stored {
        Some(_) => cache
            .get_or_load(tx, id, actor)?
            .ok_or_else(|| Error::Corrupt {
                detail: format!("document {id} has a row but no chunks"),
            })?,
        None => match arrived_whole(&changes, actor) {
            Ok(doc) => {
                cache.insert(*id, LoadedDoc::new_unsaved(doc));
                cache
                    .get_or_load(tx, id, actor)?
                    .expect("inserted just above")
            }
            Err(error) => return Ok(refused(id, kind, Refusal::Invalid(named(id, error)))),
        },
    };
    let judged = apply(&mut loaded.doc, stored.is_some(), changes).and_then(|()| {
        if !loaded.has_unsaved() {
            return Ok(Vec::new());
        }
        let verified = verify_received(loaded, id, me, own_edit, signed)?;
        check_structure(&id.to_string(), kind, &loaded.doc)?;
        admission
            .admit(id, kind, &loaded.doc)
            .map_err(Error::InvalidDocument)?;
        Ok(verified)
    });
    let verified = match judged {
        Ok(verified) => verified,
        Err(error) => {
            cache.evict(id);
            return Ok(refused(id, kind, Refusal::Invalid(named(id, error))));
        }
    };
    signatures::keep(tx, id, &verified)?;
    let seq = record(tx, id, kind, loaded, Refresh::Whole)?;
    let heads = loaded.doc.get_heads();
    if seq.is_none() && stored.is_none() {
        // Nothing arrived for a document this store lacks: no empty copy stays in memory.
        cache.evict(id);
    }
    Ok(Outcome::Applied { seq, heads })
}

/// The outcome of a refusal, logged for an operator: the document and which check refused it.
/// The reason's words stay out of the log (the caller gets them): they may quote what arrived.
fn refused(id: &DocId, kind: DocKind, refusal: Refusal) -> Outcome {
    let check = match &refusal {
        Refusal::KindMismatch { .. } => "kind",
        Refusal::Invalid(_) => "bytes, dependencies, structure or admission",
    };
    tracing::warn!(document = %id, ?kind, check, "received document refused");
    Outcome::Refused(refusal)
}

/// A document this store lacks, from what arrived: bytes that must hold all of it (every chunk
/// parses, every hash checks unless the sync layer checked them, no dependency missing), or an
/// empty document for an edit to start from.
fn arrived_whole(changes: &Changes<'_>, actor: &ActorId) -> Result<AutoCommit> {
    let (bytes, verification) = match changes {
        Changes::Bytes(bytes) => (*bytes, automerge::VerificationMode::Check),
        Changes::Verified(bytes) => (*bytes, automerge::VerificationMode::DontCheck),
        Changes::Edit(_) => return Ok(AutoCommit::new().with_actor(actor.clone())),
    };
    let strict = automerge::LoadOptions::new()
        .on_partial_load(automerge::OnPartialLoad::Error)
        .verification_mode(verification);
    let mut doc = AutoCommit::load_with_options(bytes, strict)
        .map_err(|error| Error::InvalidDocument(error.to_string()))?;
    if !doc.get_missing_deps(&[]).is_empty() {
        return Err(missing_dependencies());
    }
    Ok(doc.with_actor(actor.clone()))
}

/// Applies what arrived to `doc` (a stored document, or a new one [`arrived_whole`] made).
fn apply(doc: &mut AutoCommit, stored: bool, changes: Changes<'_>) -> Result<()> {
    match changes {
        Changes::Edit(edit) => edit(doc),
        // A new document was loaded from these bytes already.
        Changes::Bytes(_) | Changes::Verified(_) if !stored => Ok(()),
        Changes::Bytes(bytes) | Changes::Verified(bytes) => {
            check_whole(bytes)?;
            doc.load_incremental(bytes)
                .map_err(|error| Error::InvalidDocument(error.to_string()))?;
            if !doc.get_missing_deps(&[]).is_empty() {
                return Err(missing_dependencies());
            }
            Ok(())
        }
    }
}

/// Refuses bytes that are not entirely automerge chunks. (`load_incremental` alone would
/// apply the chunks that parse and silently skip the rest.) Changes whose dependencies are not
/// in the bytes pass: they are judged against the stored document once applied. Cost: one
/// extra parse.
fn check_whole(bytes: &[u8]) -> Result<()> {
    let strict = automerge::LoadOptions::new()
        .on_partial_load(automerge::OnPartialLoad::Error)
        .verification_mode(automerge::VerificationMode::DontCheck);
    match automerge::Automerge::load_with_options(bytes, strict) {
        Ok(_) | Err(automerge::AutomergeError::MissingDeps) => Ok(()),
        Err(error) => Err(Error::InvalidDocument(error.to_string())),
    }
}

/// `error`, naming the document when it is about its bytes.
fn named(id: &DocId, error: Error) -> Error {
    match error {
        Error::InvalidDocument(reason) => Error::InvalidDocument(format!("for {id}: {reason}")),
        other => other,
    }
}

fn missing_dependencies() -> Error {
    Error::InvalidDocument("changes depend on changes this store does not have".into())
}

#[cfg(test)]
mod tests {
    use crate::api::changes::ReceivedChanges;
    use crate::document::{review_id, DocKind, FormRef};
    use crate::error::Error;
    use crate::test_support::{plain_store, stored_heads};

    #[test]
    fn a_batch_naming_a_stored_document_with_another_kind_is_refused_whole() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (
            plain_store(&dir, "a.db", "a", "ana"),
            plain_store(&dir, "b.db", "b", "ana"),
        );
        let id = a.create_submission(&FormRef::new("f", "1")).unwrap();
        let bytes = a.document_bytes(&id).unwrap();
        let as_submission = ReceivedChanges {
            id,
            kind: DocKind::Submission,
            bytes,
            signatures: a.change_signatures(&id).unwrap(),
        };
        b.apply_changes(std::slice::from_ref(&as_submission))
            .unwrap();
        let seq = b.last_seq().unwrap();
        let as_form = ReceivedChanges {
            kind: DocKind::Form,
            ..as_submission
        };
        assert!(matches!(
            b.apply_changes(&[as_form]),
            Err(Error::InvalidDocument(reason)) if reason.contains("stored as a Submission")
        ));
        assert_eq!(b.last_seq().unwrap(), seq, "nothing written");
    }

    #[test]
    fn changes_followed_by_bytes_that_do_not_parse_are_refused_and_leave_the_document_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (
            plain_store(&dir, "a.db", "a", "ana"),
            plain_store(&dir, "b.db", "b", "ana"),
        );
        let id = a.create_submission(&FormRef::new("f", "1")).unwrap();
        let received = |bytes| ReceivedChanges {
            id,
            kind: DocKind::Submission,
            bytes,
            signatures: a.change_signatures(&id).unwrap(),
        };
        b.apply_changes(&[received(a.document_bytes(&id).unwrap())])
            .unwrap();
        let before = stored_heads(&b, &id);
        a.set_status(&id, crate::document::Status::Complete)
            .unwrap();
        let mut trailing = a.document_bytes(&id).unwrap();
        trailing.extend_from_slice(b"not automerge");
        assert!(matches!(
            b.apply_changes(&[received(trailing)]),
            Err(Error::InvalidDocument(_))
        ));
        assert_eq!(stored_heads(&b, &id), before);
        assert_eq!(
            b.submission(&id).unwrap().status,
            crate::document::Status::Draft,
            "memory holds what disk holds"
        );
    }

    #[test]
    fn an_update_that_leaves_a_document_out_of_shape_is_refused_and_writes_nothing() {
        use automerge::transaction::Transactable;
        let dir = tempfile::tempdir().unwrap();
        let store = plain_store(&dir, "s.db", "d", "ana");
        let id = store.create_submission(&FormRef::new("f", "1")).unwrap();
        let seq = store.last_seq().unwrap();
        let refused = store.update_document(&id, DocKind::Submission, |doc| {
            doc.delete(automerge::ROOT, "meta")?;
            doc.commit();
            Ok(())
        });
        assert!(matches!(refused, Err(Error::Malformed(_))), "{refused:?}");
        assert_eq!(store.last_seq().unwrap(), seq);
        assert!(
            store.submission(&id).is_ok(),
            "the stored document is whole"
        );
        let under_a_review_id =
            store.update_document(&review_id(&id), DocKind::Submission, |_| Ok(()));
        assert!(
            under_a_review_id.is_ok(),
            "a read of nothing writes nothing"
        );
        assert!(
            matches!(
                store.submission(&review_id(&id)),
                Err(Error::NotFound { .. })
            ),
            "and keeps no empty document in memory"
        );
    }
}
