//! The logic every backend runs inside its own transaction, written once over two small traits:
//! merging a document write, and redeeming an enrolment code. A backend supplies the reads and
//! writes; what they mean stays here.

use super::merge::{merge, Merged};
use super::{
    Device, DocumentHeader, DocumentWrite, Redemption, StoredDocument, WriteOutcome, WriteRefusal,
};
use crate::access::{DocKind, Role};
use crate::auth::{EnrolDecision, EnrolmentState};
use crate::error::{HubError, Result};
use automerge::Automerge;
use chrono::{DateTime, SubsecRound, Utc};
use minga_forms::Form;

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
        let refusal = match minga_core::check_id(&write.id, write.kind.to_core()) {
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
    if let Err(malformed) = minga_core::check_id(&write.id, write.kind.to_core()) {
        return Ok(WriteOutcome::Refused(malformed.into()));
    }
    let stored = tx.stored(project, &write.id)?;
    if let Some(stored) = &stored {
        if stored.header.kind != write.kind {
            return Ok(WriteOutcome::KindMismatch {
                stored: stored.header.kind,
            });
        }
    }
    let merged = merge(
        &write.id,
        stored.as_ref().map(|s| s.bytes.as_slice()),
        &write.changes,
        |doc| check_write(write, doc),
    );
    let merged = match merged {
        Ok(merged) => merged,
        Err(refused) => return Ok(WriteOutcome::Refused(refused)),
    };
    let is_new = stored.is_none();
    match stored {
        Some(stored) if !merged.changed => Ok(WriteOutcome::Stored(stored.header)),
        _ => {
            let header = tx.put(project, write, &merged)?;
            if is_new && write.kind == DocKind::Submission {
                adopt_waiting_review(tx, project, write)?;
            }
            Ok(WriteOutcome::Stored(header))
        }
    }
}

/// Whether `doc`, the document as the write would leave it, has the structure of the write's
/// kind and id ([`minga_core::check_structure`]), and a review is of the submission the write
/// names. Checked after the merge, so that changes sent on their own cannot bend a stored
/// document out of shape either.
fn check_write(write: &DocumentWrite, doc: &Automerge) -> Result<(), WriteRefusal> {
    let kind = write.kind.to_core();
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
/// its author and a new sequence number, so that her next sync brings it.
fn adopt_waiting_review(
    tx: &mut impl DocumentTx,
    project: &str,
    submission: &DocumentWrite,
) -> Result<()> {
    let Ok(id) = submission.id.parse::<minga_core::DocId>() else {
        return Ok(());
    };
    let review = minga_core::review_id(&id).to_string();
    let Some(stored) = tx.stored(project, &review)? else {
        return Ok(());
    };
    if stored.header.kind != DocKind::Review || stored.header.author.is_some() {
        return Ok(());
    }
    let adopted = DocumentWrite {
        id: review,
        kind: DocKind::Review,
        author: submission.author.clone(),
        subject: stored.header.subject.clone(),
        changes: Vec::new(),
    };
    let unchanged = Merged {
        heads: stored.header.heads.clone(),
        bytes: stored.bytes,
        changed: true,
    };
    tx.put(project, &adopted, &unchanged)?;
    Ok(())
}

/// The form's stored definition (JSON), after checking that its form document can be built (it
/// is built again when stored), so that a bad form is refused before anything is written.
fn form_definition(form: &Form) -> Result<String> {
    minga_core::form_document(form).map_err(|e| HubError::BadFormFile {
        path: format!("form `{}` version `{}`", form.id, form.version),
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
            };
            tx.enrol(lookup, now, &device, token_hash)?;
            Some(device)
        }
        // A wrong secret changes nothing stored: the server limits the address that guessed.
        EnrolDecision::WrongSecret | EnrolDecision::Used | EnrolDecision::Expired => None,
    };
    Ok(Redemption::Decided { decision, device })
}
