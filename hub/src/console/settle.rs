//! Settling a conflict from the console: the value the supervisor chose (one of those concurrent
//! edits left, named by the actor that wrote it) written over all of them in the submission,
//! as a change of hers signed with her key (`signer`), stored through the hub's one write path, so that
//! every phone holding the submission receives the settled value at its next sync.

use super::signer::ConsoleSigner;
use crate::access::DocKind;
use crate::error::{HubError, Result};
use crate::storage::{ConsoleUser, DocumentWrite, HubStorage, WriteOutcome};
use minga_core::{DocId, SubmissionDocument};

/// What settling came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// The chosen value now stands alone.
    Done,
    /// The answer holds no such conflict or value any more (someone settled it first).
    Gone,
}

/// Settles the answer at `path` (as `AnswerPath` displays) of submission `id` with the value
/// `actor` (hex) wrote. `UnknownSubmission` if the project has no such submission. Cost:
/// loading, walking and saving the submission once, and one write.
pub fn settle(
    storage: &dyn HubStorage,
    project: &str,
    id: &str,
    user: &ConsoleUser,
    path: &str,
    actor: &str,
) -> Result<Settled> {
    let unknown = || HubError::UnknownSubmission {
        project: project.into(),
        id: id.into(),
    };
    let row = storage.submission_row(project, id)?.ok_or_else(unknown)?;
    let stored = storage.document(project, id)?.ok_or_else(unknown)?;
    let doc_id: DocId = id.parse().map_err(|_| unknown())?;
    let corrupt = |e: minga_core::Error| HubError::Corrupt(format!("submission {id}: {e}"));
    let mut doc = SubmissionDocument::load(&doc_id, &stored.bytes).map_err(corrupt)?;
    let chosen = doc
        .conflicts()
        .into_iter()
        .find(|conflict| conflict.path.to_string() == path)
        .and_then(|conflict| {
            let value = conflict
                .values
                .into_iter()
                .find(|v| v.actor == actor)?
                .value?;
            Some((conflict.path, value))
        });
    let Some((path, value)) = chosen else {
        return Ok(Settled::Gone);
    };
    let signer = ConsoleSigner::of(storage, user)?;
    let (actor, identity) = signer.writer()?;
    doc.act_as(actor, &identity).map_err(corrupt)?;
    doc.resolve_conflict(&path, &value).map_err(corrupt)?;
    let changes = doc.save();
    let write = DocumentWrite {
        id: id.into(),
        kind: DocKind::Submission,
        author: row.author,
        subject: None,
        signatures: signer.sign_new(&stored.bytes, &changes)?,
        changes,
        decoded: None,
    };
    match storage.write_documents(project, &[write], None)?.pop() {
        Some(WriteOutcome::Stored(_)) => Ok(Settled::Done),
        other => Err(HubError::Corrupt(format!(
            "the hub refused the console's settling of {id}: {other:?}"
        ))),
    }
}
