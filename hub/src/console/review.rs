//! What the console writes: a review's verdict and comments, as automerge changes made under an
//! actor of the signed-in supervisor (keyed by her signing key, `signer`) and signed with it,
//! recorded in the review's `authors` map under her name, and stored through the hub's one
//! write path. A phone receives them at its next sync like any other change, with its history
//! naming her, not the hub.

use super::signer::ConsoleSigner;
use crate::access::DocKind;
use crate::error::{HubError, Result};
use crate::storage::{ConsoleUser, DocumentWrite, HubStorage, WriteOutcome};
use minga_core::{DocId, ReviewDocument, ReviewState};

/// One edit of a review: a verdict, a comment, or both.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReviewEdit {
    pub state: Option<ReviewState>,
    /// A comment's text, on one question (by name) or the whole submission (`None`).
    pub comment: Option<(String, Option<String>)>,
}

/// Applies `edit` to the review of submission `id` in `project` for `user`, judging the
/// submission's current heads. `UnknownSubmission` if the project has no such submission.
/// Cost: loading and saving the review document (small), and one write.
pub fn write_review(
    storage: &dyn HubStorage,
    project: &str,
    id: &str,
    user: &ConsoleUser,
    edit: &ReviewEdit,
) -> Result<()> {
    let unknown = || HubError::UnknownSubmission {
        project: project.into(),
        id: id.into(),
    };
    let row = storage.submission_row(project, id)?.ok_or_else(unknown)?;
    let header = storage.document_header(project, id)?.ok_or_else(unknown)?;
    let submission: DocId = id.parse().map_err(|_| unknown())?;
    let review_id = minga_core::review_id(&submission).to_string();
    let corrupt = |e: minga_core::Error| HubError::Corrupt(format!("review of {id}: {e}"));
    let stored = storage.document(project, &review_id)?;
    let mut review = match &stored {
        Some(stored) => ReviewDocument::load(&stored.bytes).map_err(corrupt)?,
        None => ReviewDocument::start(&submission).map_err(corrupt)?,
    };
    let signer = ConsoleSigner::of(storage, user)?;
    let (actor, identity) = signer.writer()?;
    review.act_as(actor, &identity).map_err(corrupt)?;
    if let Some(state) = edit.state {
        review
            .set_state(state, &header.heads, &user.name)
            .map_err(corrupt)?;
    }
    if let Some((text, question)) = &edit.comment {
        review
            .add_comment(text, question.as_deref(), &user.name)
            .map_err(corrupt)?;
    }
    let before = stored.map(|stored| stored.bytes).unwrap_or_default();
    let changes = review.save();
    let write = DocumentWrite {
        id: review_id,
        kind: DocKind::Review,
        author: row.author,
        subject: Some(id.to_string()),
        signatures: signer.sign_new(&before, &changes)?,
        changes,
        decoded: None,
    };
    match storage.write_documents(project, &[write], None)?.pop() {
        Some(WriteOutcome::Stored(_)) => Ok(()),
        other => Err(HubError::Corrupt(format!(
            "the hub refused the console's review of {id}: {other:?}"
        ))),
    }
}
