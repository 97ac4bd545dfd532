//! Reviews through a store: the review of a submission read with whether the submission was
//! edited since its verdict, and the verdict and comments written as changes by this store's
//! user. The review document itself (its shape, id and edits) is `document::review`.

use crate::document::review::{read_review, skeleton, write_comment, write_state};
use crate::document::{review_id, DocId, DocKind, Review, ReviewState};
use crate::error::{Error, Result};
use crate::storage::documents;
use crate::store::Store;
use automerge::{AutoCommit, ChangeHash};

impl Store {
    /// The review of `submission`, if anyone started one. Cost: decoding the review, and the
    /// submission's change graph to tell whether it was edited since.
    pub fn review(&self, submission: &DocId) -> Result<Option<Review>> {
        let id = review_id(submission);
        let mut inner = self.lock();
        if inner.kind_of(&id)?.is_none() {
            return Ok(None);
        }
        let mut review = inner.read(&id, |doc| Ok(read_review(doc, id, *submission)))?;
        let judged = review.judged_heads.clone();
        review.edited_since_judged = inner.read(submission, |doc| Ok(descends(doc, &judged)))?;
        Ok(Some(review))
    }

    /// Sets the verdict on `submission`, judging its current heads, by this store's user.
    /// Durable on return.
    pub fn set_review_state(&self, submission: &DocId, state: ReviewState) -> Result<()> {
        let judged = self.submission_heads(submission)?;
        let by = self.identity().user_name;
        self.edit_review(submission, |doc| write_state(doc, state, &judged, &by))
    }

    /// Adds a comment to `submission`'s review, on one question or (`None`) the whole of it.
    pub fn add_review_comment(
        &self,
        submission: &DocId,
        text: &str,
        question: Option<&str>,
    ) -> Result<()> {
        self.submission_heads(submission)?;
        let by = self.identity().user_name;
        self.edit_review(submission, |doc| write_comment(doc, text, question, &by))
    }

    /// The heads of a stored submission; `NotFound` for anything else.
    fn submission_heads(&self, submission: &DocId) -> Result<Vec<ChangeHash>> {
        let stored = documents::kind_and_heads(&self.lock().conn, submission)?;
        match stored {
            Some((DocKind::Submission, heads)) => Ok(heads),
            _ => Err(Error::NotFound {
                id: submission.to_string(),
            }),
        }
    }

    /// Runs `edit` on the review of `submission`, starting the review document if needed.
    fn edit_review(
        &self,
        submission: &DocId,
        edit: impl FnOnce(&mut AutoCommit) -> Result<()>,
    ) -> Result<()> {
        let id = review_id(submission);
        let mut inner = self.lock();
        if inner.kind_of(&id)?.is_none() {
            let mut doc = skeleton(&id, submission)?;
            doc.set_actor(inner.actor.clone());
            inner.insert_new(id, DocKind::Review, doc)?;
        }
        inner.edit(&id, DocKind::Review, edit)
    }
}

/// Whether the document moved on from `judged`: other heads, and every judged change is in
/// its history.
fn descends(doc: &mut AutoCommit, judged: &[ChangeHash]) -> bool {
    let mut heads = doc.get_heads();
    heads.sort();
    let mut judged_sorted = judged.to_vec();
    judged_sorted.sort();
    !judged.is_empty()
        && heads != judged_sorted
        && judged
            .iter()
            .all(|hash| doc.get_change_by_hash(hash).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::changes::ReceivedChanges;
    use crate::document::{reviewed_submission, AnswerPath, FormRef, ReviewDocument};
    use crate::test_support::plain_store;
    use crate::test_support::stored_heads;
    use minga_forms::Value;

    fn store(dir: &tempfile::TempDir, user: &str) -> Store {
        plain_store(dir, user, &format!("{user}-phone"), user)
    }

    fn copy(id: &DocId, kind: DocKind, from: &Store, to: &Store) {
        let received = ReceivedChanges {
            id: *id,
            kind,
            bytes: from.document_bytes(id).unwrap(),
            signatures: from.change_signatures(id).unwrap(),
        };
        to.apply_changes(&[received]).unwrap();
    }

    #[test]
    fn a_verdict_judges_the_current_heads_and_notices_later_edits() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir, "ana");
        let id = store.create_submission(&FormRef::new("f", "1")).unwrap();
        assert_eq!(store.review(&id).unwrap(), None);
        store.set_review_state(&id, ReviewState::Approved).unwrap();
        let review = store.review(&id).unwrap().unwrap();
        assert_eq!(review.id, review_id(&id));
        assert_eq!(review.state, ReviewState::Approved);
        assert_eq!(review.judged_heads, stored_heads(&store, &id));
        assert_eq!(review.decided_by.as_deref(), Some("ana"));
        assert!(!review.edited_since_judged);

        store
            .set_answer(&id, &AnswerPath::new("q"), &Value::Integer(1))
            .unwrap();
        assert!(store.review(&id).unwrap().unwrap().edited_since_judged);
        let unknown = DocId::new_v7();
        assert!(matches!(
            store.set_review_state(&unknown, ReviewState::Rejected),
            Err(Error::NotFound { .. })
        ));
        assert!(matches!(
            store.add_review_comment(&review.id, "a review of a review", None),
            Err(Error::NotFound { .. })
        ));
    }

    #[test]
    fn reviews_started_on_two_devices_merge_into_one_comment_list() {
        let dir = tempfile::tempdir().unwrap();
        let (ana, luis) = (store(&dir, "ana"), store(&dir, "luis"));
        let id = ana.create_submission(&FormRef::new("f", "1")).unwrap();
        copy(&id, DocKind::Submission, &ana, &luis);
        ana.add_review_comment(&id, "check the date", Some("visit_date"))
            .unwrap();
        luis.add_review_comment(&id, "looks fine", None).unwrap();
        let review = review_id(&id);
        copy(&review, DocKind::Review, &luis, &ana);
        copy(&review, DocKind::Review, &ana, &luis);

        let merged = ana.review(&id).unwrap().unwrap();
        assert_eq!(merged, luis.review(&id).unwrap().unwrap());
        let mut comments: Vec<_> = merged
            .comments
            .iter()
            .map(|c| (c.text.as_str(), c.question.as_deref(), c.by.as_str()))
            .collect();
        comments.sort();
        assert_eq!(
            comments,
            vec![
                ("check the date", Some("visit_date"), "ana"),
                ("looks fine", None, "luis")
            ]
        );
        assert_eq!(merged.state, ReviewState::Received);
    }

    #[test]
    fn review_ids_are_stable_distinct_and_never_submission_ids() {
        let a = DocId::new_v7();
        let b = DocId::new_v7();
        assert_eq!(review_id(&a), review_id(&a));
        assert_ne!(review_id(&a), review_id(&b));
        assert_eq!(review_id(&a).as_uuid().get_version_num(), 8);
        assert_ne!(review_id(&a), a);
    }

    #[test]
    fn a_review_written_outside_a_store_is_the_stores_review() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir, "ana");
        let id = store.create_submission(&FormRef::new("f", "1")).unwrap();
        let heads = stored_heads(&store, &id);
        let mut outside = ReviewDocument::start(&id).unwrap();
        outside
            .set_state(ReviewState::HasIssues, &heads, "sara")
            .unwrap();
        outside
            .add_comment("which parish?", Some("parish"), "sara")
            .unwrap();
        assert!(matches!(
            outside.add_comment("  ", None, "sara"),
            Err(Error::InvalidArgument(_))
        ));
        assert_eq!(outside.id(), review_id(&id));
        let received = ReceivedChanges {
            id: outside.id(),
            kind: DocKind::Review,
            bytes: outside.save(),
            signatures: Vec::new(),
        };
        store.apply_changes(&[received]).unwrap();
        store
            .add_review_comment(&id, "asked the convener", None)
            .unwrap();

        let review = store.review(&id).unwrap().unwrap();
        assert_eq!(review.state, ReviewState::HasIssues);
        assert_eq!(review.judged_heads, heads);
        assert_eq!(review.decided_by.as_deref(), Some("sara"));
        assert_eq!(review.comments.len(), 2);
        let reloaded = ReviewDocument::load(&store.document_bytes(&review.id).unwrap()).unwrap();
        assert_eq!(reloaded.submission(), id);
        assert_eq!(reloaded.review().comments, review.comments);
    }

    #[test]
    fn only_the_derived_id_names_a_reviews_submission() {
        let submission = DocId::new_v7();
        let mut review = ReviewDocument::start(&submission).unwrap();
        let doc = AutoCommit::load(&review.save()).unwrap();
        assert_eq!(
            reviewed_submission(&review_id(&submission), &doc),
            Some(submission)
        );
        let other = review_id(&DocId::new_v7());
        assert_eq!(reviewed_submission(&other, &doc), None);
        assert!(matches!(
            ReviewDocument::load(b"not automerge"),
            Err(Error::InvalidDocument(_))
        ));
        let empty = AutoCommit::new().save();
        assert!(matches!(
            ReviewDocument::load(&empty),
            Err(Error::InvalidDocument(_))
        ));
    }
}
