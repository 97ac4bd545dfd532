//! The logic every backend runs inside its own transaction, written once over two small traits:
//! merging a document write, and redeeming an enrolment code. A backend supplies the reads and
//! writes; what they mean stays here.

use super::answers::{self, AnswerRow};
use super::invalid;
use super::merge::{merge, Merged};
use super::projection::{self, SubmissionFacts, WriteChanges, AWAITING_REVIEW};
use super::{
    Device, DocumentHeader, DocumentWrite, Redemption, StoredDocument, WriteOutcome, WriteRefusal,
};
use crate::access::{DocKind, Role};
use crate::auth::{EnrolDecision, EnrolmentState};
use crate::error::{HubError, Result};
use automerge::{Automerge, ChangeHash};
use chrono::{DateTime, SubsecRound, Utc};
use minga_forms::Form;
use minga_sync::signatures::{verify_new_changes, SignaturePool, SignedChange};
use minga_sync::wire::open_signed_document;

/// A backend's open transaction, as document writes need it.
pub trait DocumentTx {
    /// The stored document, if any.
    fn stored(&mut self, project: &str, id: &str) -> Result<Option<StoredDocument>>;
    /// Stores `merged` as the document `write` names under the project's next sequence number
    /// (kind and subject only when the document is new, the author also when the stored
    /// document has none) and returns its header.
    fn put(
        &mut self,
        project: &str,
        write: &DocumentWrite,
        merged: &Merged,
    ) -> Result<DocumentHeader>;
    /// Records a published form version; `false` if the project has it already.
    fn insert_form(&mut self, project: &str, form: &Form, definition: &str) -> Result<bool>;
    /// The stored definition (JSON) of a published form version; `None` if the project has
    /// not published it.
    fn form_definition(
        &mut self,
        project: &str,
        form_id: &str,
        version: &str,
    ) -> Result<Option<String>>;
    /// Whether the submission's projection row says it holds a conflict; `None` when it has
    /// no row yet.
    fn projected_conflicts(&mut self, project: &str, id: &str) -> Result<Option<bool>>;
    /// Writes the projection row of the submission `header` names: a new row takes
    /// `review_state`, a stored one keeps its own.
    fn project_submission(
        &mut self,
        project: &str,
        header: &DocumentHeader,
        facts: &SubmissionFacts,
        review_state: &str,
    ) -> Result<()>;
    /// Replaces submission `id`'s answer rows ([`answers`](super::answers)) with `rows`, each
    /// carrying the facts' form and creation time; `known` says whether it may have rows to
    /// remove (its projection row existed before this write).
    fn project_answers(
        &mut self,
        project: &str,
        id: &str,
        facts: &SubmissionFacts,
        rows: &[AnswerRow],
        known: bool,
    ) -> Result<()>;
    /// Records a review's state on the row of the submission it judges (if it has one yet).
    fn project_review(&mut self, project: &str, submission: &str, state: &str) -> Result<()>;
    /// Keeps the signatures of document `id`'s changes (one already kept stays).
    fn keep_signatures(&mut self, project: &str, id: &str, signed: &[SignedChange]) -> Result<()>;
    /// Records that document `id` references the contents `hashes` (hex); references already
    /// recorded stay, so that every version's attachments remain wanted and readable.
    fn record_attachment_refs(&mut self, project: &str, id: &str, hashes: &[String]) -> Result<()>;
}

/// What a write tells the projection, read from the merged document.
enum Projected {
    /// Nothing new was merged, or the document is no whole submission or review.
    Nothing,
    /// The facts, and the answer rows when the write touched them.
    Submission(SubmissionFacts, Option<Vec<AnswerRow>>),
    Review(String),
}

/// What the projection keeps of `doc`, the document of kind `kind` after a merge from
/// `before`; `row` is what its projection row said of conflicts (`None`: it has no row).
/// Nothing when the merge added nothing.
fn projected(
    kind: DocKind,
    doc: &Automerge,
    before: &[ChangeHash],
    row: Option<bool>,
) -> Projected {
    if doc.get_heads().iter().all(|head| before.contains(head)) {
        return Projected::Nothing;
    }
    match kind {
        DocKind::Submission => {
            let changes = WriteChanges::of(doc, before, row.is_some());
            let conflicts = projection::has_conflicts(doc, &changes, row == Some(true));
            let Some(facts) = projection::submission_facts(doc, conflicts) else {
                return Projected::Nothing;
            };
            let rows = changes
                .touch_answers()
                .then(|| answers::answer_rows(doc, facts.deleted));
            Projected::Submission(facts, rows)
        }
        DocKind::Review => Projected::Review(projection::review_state(doc)),
        DocKind::Form => Projected::Nothing,
    }
}

/// The facts of submission `doc` with why it breaks its form version
/// ([`invalid::reasons`]): what devices send is kept whatever its content, and flagged.
fn with_reasons(
    tx: &mut impl DocumentTx,
    project: &str,
    doc: &Automerge,
    facts: SubmissionFacts,
) -> Result<SubmissionFacts> {
    let definition = tx.form_definition(project, &facts.form_id, &facts.form_version)?;
    let complete = facts.status == minga_core::Status::Complete.as_str();
    let invalid_reasons = invalid::reasons(definition, doc, complete)?;
    Ok(SubmissionFacts {
        invalid_reasons,
        ..facts
    })
}

/// Publishes `form` in `project` (which the caller has checked exists) inside the caller's
/// transaction: its definition and its form document.
pub fn publish_form(tx: &mut impl DocumentTx, project: &str, form: &Form) -> Result<()> {
    if !tx.insert_form(project, form, &form_definition(form)?)? {
        return Err(HubError::DuplicateFormVersion {
            project: project.into(),
            id: form.id.clone(),
            version: form.version.clone(),
        });
    }
    store_form_document(tx, project, form)
}

/// Merges one device's write inside the caller's transaction, refusing what is structurally
/// wrong ([`check_write`]) and any form document: forms are published ([`publish_form`]).
pub fn write_one(
    tx: &mut impl DocumentTx,
    project: &str,
    write: &DocumentWrite,
) -> Result<WriteOutcome> {
    if write.kind == DocKind::Form {
        let refusal = match minga_core::check_id(&write.id, write.kind) {
            Ok(id) => WriteRefusal::FormsArePublished { id: id.to_string() },
            Err(malformed) => malformed.into(),
        };
        return Ok(WriteOutcome::Refused(refusal));
    }
    store_one(tx, project, write)
}

/// Merges one write (a device's or a publication's) inside the caller's transaction.
fn store_one(
    tx: &mut impl DocumentTx,
    project: &str,
    write: &DocumentWrite,
) -> Result<WriteOutcome> {
    if let Err(malformed) = minga_core::check_id(&write.id, write.kind) {
        return Ok(WriteOutcome::Refused(malformed.into()));
    }
    // Changes may come as a signed document (`Store::export_submission`, the document routes).
    let Ok((changes, carried)) = open_signed_document(&write.changes) else {
        return Ok(WriteOutcome::Refused(WriteRefusal::NotAutomerge {
            id: write.id.clone(),
            reason: "a signed document whose layout is damaged".into(),
        }));
    };
    let carried: SignaturePool = carried.into_iter().collect();
    let stored = tx.stored(project, &write.id)?;
    if let Some(stored) = &stored {
        if stored.header.kind != write.kind {
            return Ok(WriteOutcome::KindMismatch {
                stored: stored.header.kind,
            });
        }
    }
    // A stored submission's row (one key lookup): whether it had a conflict, and whether it
    // has a row at all.
    let row = match (&stored, write.kind) {
        (Some(_), DocKind::Submission) => tx.projected_conflicts(project, &write.id)?,
        _ => None,
    };
    let merged = merge(
        &write.id,
        stored.as_ref().map(|s| s.bytes.as_slice()),
        changes,
        write.decoded.as_ref().map(|decoded| &decoded.0),
        |doc, before| {
            let verified = verify_write(write, &carried, doc, before)?;
            check_write(write, doc)?;
            // Content is never refused: a submission that breaks its form is flagged.
            let projected = match projected(write.kind, doc, before, row) {
                Projected::Submission(facts, rows) => with_reasons(tx, project, doc, facts)
                    .map(|facts| Projected::Submission(facts, rows)),
                other => Ok(other),
            };
            Ok((projected, verified, super::attachments::references(doc)))
        },
    );
    let (merged, (projected, verified, references)) = match merged {
        Ok(merged) => merged,
        Err(refused) => return Ok(WriteOutcome::Refused(refused)),
    };
    let projected = projected?;
    match stored {
        Some(stored) if !merged.changed => Ok(WriteOutcome::Stored(stored.header)),
        _ => {
            let header = tx.put(project, write, &merged)?;
            tx.keep_signatures(project, &write.id, &verified)?;
            // Only a document that references contents touches their table (an upgrade step
            // before the table existed publishes form documents through here).
            if !references.is_empty() {
                tx.record_attachment_refs(project, &write.id, &references)?;
            }
            // A submission without a projection row yet (new, as a rule) adopts a review that
            // arrived first, and its row takes that review's state.
            let waiting_state = match (row, write.kind) {
                (None, DocKind::Submission) => adopt_waiting_review(tx, project, write)?,
                _ => None,
            };
            match projected {
                Projected::Submission(facts, rows) => {
                    let state = waiting_state.unwrap_or_else(|| AWAITING_REVIEW.into());
                    tx.project_submission(project, &header, &facts, &state)?;
                    if let Some(rows) = rows {
                        tx.project_answers(project, &header.id, &facts, &rows, row.is_some())?;
                    }
                }
                Projected::Review(state) => {
                    if let Some(submission) = &header.subject {
                        tx.project_review(project, submission, &state)?;
                    }
                }
                Projected::Nothing => {}
            }
            Ok(WriteOutcome::Stored(header))
        }
    }
}

/// The signatures to keep of the changes the write adds to `doc` (those after `before`),
/// verified under their actors' keys against the write's signatures and those `carried` in its
/// changes: each actor's newest new change's, which vouches for the actor's older ones
/// ([`verify_new_changes`]); refused when one is missing or does not verify. Cost: a walk of
/// the new changes' metadata and one Ed25519 verification per actor's newest change.
fn verify_write(
    write: &DocumentWrite,
    carried: &SignaturePool,
    doc: &Automerge,
    before: &[ChangeHash],
) -> Result<Vec<SignedChange>, WriteRefusal> {
    let signature_of = |hash: &ChangeHash| write.signatures.get(hash).or_else(|| carried.get(hash));
    verify_new_changes(doc, before, signature_of).map_err(|unverified| WriteRefusal::Unverified {
        id: write.id.clone(),
        change: unverified.change.to_string(),
        reason: unverified.fault.to_string(),
    })
}

/// Whether `doc`, the document as the write would leave it, has the structure of the write's
/// kind and id ([`minga_core::check_structure`]), and a review is of the submission the write
/// names. Checked after the merge, so that changes sent on their own cannot bend a stored
/// document out of shape either.
fn check_write(write: &DocumentWrite, doc: &Automerge) -> Result<(), WriteRefusal> {
    let kind = write.kind;
    let id = minga_core::check_structure(&write.id, kind, doc)?;
    if let (DocKind::Review, Some(subject)) = (write.kind, &write.subject) {
        let judged = minga_core::reviewed_submission(&id, doc).map(|s| s.to_string());
        if judged.as_ref() != Some(subject) {
            return Err(minga_core::Malformed::DerivesAnotherId {
                id: write.id.clone(),
                kind,
                names: format!("submission {}", judged.unwrap_or_default()),
            }
            .into());
        }
    }
    Ok(())
}

/// A review can reach the hub before its submission (a supervisor's tablet got the submission
/// straight from the phone); it is stored without an author, so the submission's author may
/// not read it and her sync cursor passes it. When the submission arrives, the review takes
/// its author and a new sequence number, so that her next sync brings it. Returns the state of
/// a review stored before the submission's projection row, for that row. Cost: one key
/// lookup; loading the review only when there is one.
fn adopt_waiting_review(
    tx: &mut impl DocumentTx,
    project: &str,
    submission: &DocumentWrite,
) -> Result<Option<String>> {
    let Ok(id) = submission.id.parse::<minga_core::DocId>() else {
        return Ok(None);
    };
    let review = minga_core::review_id(&id).to_string();
    let Some(stored) = tx.stored(project, &review)? else {
        return Ok(None);
    };
    if stored.header.kind != DocKind::Review {
        return Ok(None);
    }
    let state = Automerge::load(&stored.bytes)
        .ok()
        .map(|doc| projection::review_state(&doc));
    if stored.header.author.is_some() {
        return Ok(state);
    }
    let adopted = DocumentWrite {
        id: review,
        kind: DocKind::Review,
        author: submission.author.clone(),
        subject: stored.header.subject.clone(),
        changes: Vec::new(),
        decoded: None,
        signatures: Default::default(),
    };
    let unchanged = Merged {
        heads: stored.header.heads.clone(),
        bytes: stored.bytes,
        changed: true,
    };
    tx.put(project, &adopted, &unchanged)?;
    Ok(state)
}

/// Records the attachment references of documents stored before they were recorded (an
/// upgrade), inside the caller's transaction. Documents that do not load are left out. Cost:
/// loads each document once.
pub fn backfill_attachment_refs(
    tx: &mut impl DocumentTx,
    documents: &[(String, String)],
) -> Result<()> {
    for (project, id) in documents {
        let Some(stored) = tx.stored(project, id)? else {
            continue;
        };
        if let Ok(doc) = Automerge::load(&stored.bytes) {
            tx.record_attachment_refs(project, id, &super::attachments::references(&doc))?;
        }
    }
    Ok(())
}

/// Writes the projection of documents stored before it existed (an upgrade), inside the
/// caller's transaction: a row per whole submission, then each review's state on its row.
/// Documents that do not load are left out, as exports skip them. Cost: loads each document
/// once and walks each submission's answers once.
pub fn backfill_projection(tx: &mut impl DocumentTx, documents: &[(String, String)]) -> Result<()> {
    let mut reviews = Vec::new();
    for (project, id) in documents {
        let Some(stored) = tx.stored(project, id)? else {
            continue;
        };
        let Ok(doc) = Automerge::load(&stored.bytes) else {
            continue;
        };
        match stored.header.kind {
            DocKind::Submission => {
                let conflicts =
                    projection::has_conflicts(&doc, &WriteChanges::of(&doc, &[], false), true);
                if let Some(facts) = projection::submission_facts(&doc, conflicts) {
                    let facts = with_reasons(tx, project, &doc, facts)?;
                    tx.project_submission(project, &stored.header, &facts, AWAITING_REVIEW)?;
                }
            }
            DocKind::Review => {
                if let Some(submission) = &stored.header.subject {
                    reviews.push((project, submission.clone(), projection::review_state(&doc)));
                }
            }
            DocKind::Form => {}
        }
    }
    for (project, submission, state) in reviews {
        tx.project_review(project, &submission, &state)?;
    }
    Ok(())
}

/// Writes the answer rows of submissions stored before they were kept (an upgrade), inside
/// the caller's transaction; submissions without a projection row (not whole) or that do not
/// load are left out. Cost: loads each submission once.
pub fn backfill_answers(tx: &mut impl DocumentTx, documents: &[(String, String)]) -> Result<()> {
    for (project, id) in documents {
        let Some(stored) = tx.stored(project, id)? else {
            continue;
        };
        let Ok(doc) = Automerge::load(&stored.bytes) else {
            continue;
        };
        if let Some(facts) = projection::submission_facts(&doc, false) {
            let rows = answers::answer_rows(&doc, facts.deleted);
            tx.project_answers(project, id, &facts, &rows, false)?;
        }
    }
    Ok(())
}

/// The form's stored definition (JSON), after checking that its form document can be built (it
/// is built again when stored), so that a bad form is refused before anything is written.
fn form_definition(form: &Form) -> Result<String> {
    minga_core::form_document(form).map_err(|e| HubError::UnpublishableForm {
        id: form.id.clone(),
        version: form.version.clone(),
        reason: e.to_string(),
    })?;
    serde_json::to_string(form).map_err(|e| HubError::Corrupt(e.to_string()))
}

/// Stores `form`'s form document in `project` inside the caller's transaction (a no-op when
/// it is there already).
pub fn store_form_document(tx: &mut impl DocumentTx, project: &str, form: &Form) -> Result<()> {
    let (id, bytes) = minga_core::form_document(form)
        .map_err(|e| HubError::Corrupt(format!("form {}: {e}", form.id)))?;
    let document = DocumentWrite {
        id: id.to_string(),
        kind: DocKind::Form,
        author: None,
        subject: None,
        changes: bytes,
        decoded: None,
        signatures: Default::default(),
    };
    match store_one(tx, project, &document)? {
        WriteOutcome::Stored(_) => Ok(()),
        refused => Err(HubError::Corrupt(format!(
            "form document {id} could not be stored: {refused:?}"
        ))),
    }
}

/// An enrolment as stored: its state, and the device it will enrol.
pub struct StoredEnrolment {
    pub state: EnrolmentState,
    pub project: String,
    pub role: Role,
    pub device_name: String,
}

/// A backend's open transaction, as redeeming a code needs it.
pub trait EnrolmentTx {
    /// The enrolment with this lookup part, locked against concurrent redemption.
    fn enrolment(&mut self, lookup: &str) -> Result<Option<StoredEnrolment>>;
    /// Marks the code used at `now` and creates `device` with `token_hash`.
    fn enrol(
        &mut self,
        lookup: &str,
        now: DateTime<Utc>,
        device: &Device,
        token_hash: &str,
    ) -> Result<()>;
}

/// Decides on the stored enrolment and applies the verdict inside the caller's transaction.
pub fn redeem(
    tx: &mut impl EnrolmentTx,
    lookup: &str,
    decide: &dyn Fn(&EnrolmentState) -> EnrolDecision,
    device_id: &str,
    token_hash: &str,
) -> Result<Redemption> {
    let Some(found) = tx.enrolment(lookup)? else {
        return Ok(Redemption::UnknownCode);
    };
    let decision = decide(&found.state);
    let device = match decision {
        EnrolDecision::Accept => {
            // To the microsecond, as PostgreSQL keeps it: the device returned is the one read back.
            let now = Utc::now().trunc_subsecs(6);
            let device = Device {
                id: device_id.into(),
                project: found.project,
                role: found.role,
                name: found.device_name,
                enrolled_at: now,
                revoked_at: None,
                last_sync_at: None,
            };
            tx.enrol(lookup, now, &device, token_hash)?;
            Some(device)
        }
        // A wrong secret changes nothing stored: the server limits the address that guessed.
        EnrolDecision::WrongSecret | EnrolDecision::Used | EnrolDecision::Expired => None,
    };
    Ok(Redemption::Decided { decision, device })
}
