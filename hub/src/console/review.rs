//! What the console writes: a review's verdict and comments, as automerge changes made under an
//! actor of the signed-in supervisor (her account's fixed 16 bytes, then 8 random ones per
//! write, so that two tabs never share an actor), recorded in the review's `authors` map under
//! her name, and stored through the hub's one write path. A phone receives them at its next
//! sync like any other change, with its history naming her, not the hub.

use crate::access::DocKind;
use crate::error::{HubError, Result};
use crate::storage::{ConsoleUser, DocumentWrite, HubStorage, WriteOutcome};
use automerge::{ActorId, ChangeHash};
use minga_core::{DeviceIdentity, DocId, ReviewDocument, ReviewState};

/// One edit of a review: a verdict, a comment, or both.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReviewEdit {
    pub state: Option<ReviewState>,
    /// A comment's text, on one question (by name) or the whole submission (`None`).
    pub comment: Option<(String, Option<String>)>,
}

/// The device id a console user's changes are recorded under in a document's `authors` map.
pub fn console_device(user: &ConsoleUser) -> String {
    format!("console:{}", user.name)
}

/// Who a write of `user`'s is made as: a fresh actor (her account's 16 bytes, then 8 random
/// ones) and the identity the document's `authors` map records for it.
pub fn writer(user: &ConsoleUser) -> Result<(ActorId, DeviceIdentity)> {
    let mut bytes = hex::decode(&user.actor)
        .map_err(|e| HubError::Corrupt(format!("console user {}'s actor: {e}", user.name)))?;
    bytes.extend(hex::decode(super::auth::random_hex(8)?).unwrap_or_default());
    let identity = DeviceIdentity::new(console_device(user), user.name.clone());
    Ok((ActorId::from(bytes), identity))
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
    let mut review = match storage.document(project, &review_id)? {
        Some(stored) => ReviewDocument::load(&stored.bytes).map_err(corrupt)?,
        None => ReviewDocument::start(&submission).map_err(corrupt)?,
    };
    let (actor, identity) = writer(user)?;
    review.act_as(actor, &identity).map_err(corrupt)?;
    if let Some(state) = edit.state {
        let judged: Vec<ChangeHash> = header.heads.iter().filter_map(|h| h.parse().ok()).collect();
        review
            .set_state(state, &judged, &user.name)
            .map_err(corrupt)?;
    }
    if let Some((text, question)) = &edit.comment {
        review
            .add_comment(text, question.as_deref(), &user.name)
            .map_err(corrupt)?;
    }
    let write = DocumentWrite {
        id: review_id,
        kind: DocKind::Review,
        author: row.author,
        subject: Some(id.to_string()),
        changes: review.save(),
        decoded: None,
        // The console's actor is not keyed yet: its changes travel unsigned (issue 14).
        signatures: Default::default(),
    };
    match storage.write_documents(project, &[write], None)?.pop() {
        Some(WriteOutcome::Stored(_)) => Ok(()),
        other => Err(HubError::Corrupt(format!(
            "the hub refused the console's review of {id}: {other:?}"
        ))),
    }
}
