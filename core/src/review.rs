//! Reviews: a supervisor's verdict on a submission, kept as one review document (kind Review)
//! per submission, as plain automerge:
//!
//! ```text
//! { schema: 1, submission: "<submission id>", authors: { ... },
//!   state: "received" | "has_issues" | "approved" | "rejected",
//!   judged_heads: [<hex change hash>, ...], decided_by?, decided_at?,
//!   comments: [ { text, question?, by, at }, ... ] }
//! ```
//!
//! The id is derived from the submission's ([`review_id`]), so every device finds the same
//! document. Its first change is deterministic (a fixed actor, time 0): two devices that each
//! start the review write the identical change, and their documents merge with one `comments`
//! list instead of two conflicting ones.

use crate::document::{self, string_at, DocId, DocKind};
use crate::error::{Error, Result};
use crate::store::Store;
use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, ChangeHash, ObjType, ReadDoc, ScalarValue, ROOT};
use chrono::{DateTime, Utc};

/// The mask that turns a submission id into its review's id (see [`review_id`]).
const REVIEW_MASK: u128 = 0x6d69_6e67_612d_7265_7669_6577_2d69_6421;

/// A supervisor's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewState {
    Received,
    HasIssues,
    Approved,
    Rejected,
}

impl ReviewState {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewState::Received => "received",
            ReviewState::HasIssues => "has_issues",
            ReviewState::Approved => "approved",
            ReviewState::Rejected => "rejected",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "received" => Some(ReviewState::Received),
            "has_issues" => Some(ReviewState::HasIssues),
            "approved" => Some(ReviewState::Approved),
            "rejected" => Some(ReviewState::Rejected),
            _ => None,
        }
    }
}

/// One comment, on the whole submission or on one question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewComment {
    pub text: String,
    /// The question it is about, by name; `None` for the whole submission.
    pub question: Option<String>,
    pub by: String,
    pub at: DateTime<Utc>,
}

/// A review as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct Review {
    pub id: DocId,
    pub submission: DocId,
    pub state: ReviewState,
    /// The submission's heads when the state was last set.
    pub judged_heads: Vec<ChangeHash>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub comments: Vec<ReviewComment>,
    /// The submission changed after the verdict: its heads are not the judged ones and
    /// descend from them ("edited after approval").
    pub edited_since_judged: bool,
}

/// The id of `submission`'s review document: the submission's 128 bits XOR
/// `0x6d696e67612d7265766965772d696421` ("minga-review-id!"), then marked as a version 8
/// (custom) UUID with the RFC 4122 variant. Every device derives the same id, no two v7
/// submission ids share one, and a review id is never a submission id (version 8, not 7).
pub fn review_id(submission: &DocId) -> DocId {
    let masked = submission.as_uuid().as_u128() ^ REVIEW_MASK;
    DocId::from_uuid(uuid::Builder::from_custom_bytes(masked.to_be_bytes()).into_uuid())
}

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
        self.edit_review(submission, move |doc| {
            doc.put(ROOT, "state", state.as_str())?;
            let heads = doc.put_object(ROOT, "judged_heads", ObjType::List)?;
            for (index, head) in judged.iter().enumerate() {
                doc.insert(&heads, index, head.to_string())?;
            }
            doc.put(ROOT, "decided_by", by.as_str())?;
            doc.put(
                ROOT,
                "decided_at",
                ScalarValue::Timestamp(Utc::now().timestamp_millis()),
            )?;
            Ok(())
        })
    }

    /// Adds a comment to `submission`'s review, on one question or (`None`) the whole of it.
    pub fn add_review_comment(
        &self,
        submission: &DocId,
        text: &str,
        question: Option<&str>,
    ) -> Result<()> {
        if text.trim().is_empty() {
            return Err(Error::InvalidArgument("a review comment is empty".into()));
        }
        self.submission_heads(submission)?;
        let by = self.identity().user_name;
        self.edit_review(submission, |doc| {
            let comments = match document::object_at(doc, &ROOT, "comments") {
                Some(list) => list,
                None => doc.put_object(ROOT, "comments", ObjType::List)?,
            };
            let index = doc.length(&comments);
            let comment = doc.insert_object(&comments, index, ObjType::Map)?;
            doc.put(&comment, "text", text)?;
            if let Some(question) = question {
                doc.put(&comment, "question", question)?;
            }
            doc.put(&comment, "by", by.as_str())?;
            doc.put(
                &comment,
                "at",
                ScalarValue::Timestamp(Utc::now().timestamp_millis()),
            )?;
            Ok(())
        })
    }

    /// The heads of a stored submission; `NotFound` for anything else.
    fn submission_heads(&self, submission: &DocId) -> Result<Vec<ChangeHash>> {
        let kind = self.lock().kind_of(submission)?;
        match kind {
            Some(DocKind::Submission) => self.document_heads(submission),
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

/// The review's first change, identical on every device: a fixed actor (the review id) and
/// time 0, so concurrent starts merge into one document.
fn skeleton(id: &DocId, submission: &DocId) -> Result<AutoCommit> {
    let mut doc = AutoCommit::new().with_actor(ActorId::from(id.as_bytes()));
    doc.put(ROOT, "schema", 1)?;
    doc.put(ROOT, "submission", submission.to_string())?;
    doc.put(ROOT, "state", ReviewState::Received.as_str())?;
    doc.put_object(ROOT, "judged_heads", ObjType::List)?;
    doc.put_object(ROOT, "comments", ObjType::List)?;
    doc.put_object(ROOT, "authors", ObjType::Map)?;
    doc.commit_with(CommitOptions::default().with_time(0));
    Ok(doc)
}

fn read_review(doc: &AutoCommit, id: DocId, submission: DocId) -> Review {
    let state = string_at(doc, &ROOT, "state")
        .and_then(|state| ReviewState::parse(&state))
        .unwrap_or(ReviewState::Received);
    let judged_heads = document::object_at(doc, &ROOT, "judged_heads")
        .map(|list| {
            (0..doc.length(&list))
                .filter_map(|index| string_at(doc, &list, index)?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    Review {
        id,
        submission,
        state,
        judged_heads,
        decided_by: string_at(doc, &ROOT, "decided_by"),
        decided_at: document::timestamp_at(doc, &ROOT, "decided_at"),
        comments: read_comments(doc),
        edited_since_judged: false,
    }
}

fn read_comments(doc: &AutoCommit) -> Vec<ReviewComment> {
    let Some(list) = document::object_at(doc, &ROOT, "comments") else {
        return Vec::new();
    };
    (0..doc.length(&list))
        .filter_map(|index| {
            let comment = document::object_at(doc, &list, index)?;
            Some(ReviewComment {
                text: string_at(doc, &comment, "text")?,
                question: string_at(doc, &comment, "question"),
                by: string_at(doc, &comment, "by").unwrap_or_default(),
                at: document::timestamp_at(doc, &comment, "at").unwrap_or_default(),
            })
        })
        .collect()
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
    use crate::changes::ReceivedChanges;
    use crate::document::{AnswerPath, FormRef};
    use crate::store::{DeviceIdentity, Encryption};
    use minga_forms::Value;

    fn store(dir: &tempfile::TempDir, user: &str) -> Store {
        Store::open(
            dir.path().join(user),
            Encryption::PlainFile,
            DeviceIdentity::new(format!("{user}-phone"), user),
        )
        .unwrap()
    }

    fn copy(id: &DocId, kind: DocKind, from: &Store, to: &Store) {
        let received = ReceivedChanges {
            id: *id,
            kind,
            bytes: from.document_bytes(id).unwrap(),
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
        assert_eq!(review.judged_heads, store.document_heads(&id).unwrap());
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
}
