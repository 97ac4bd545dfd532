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
//!
//! The document logic works on a bare automerge document, so that the same code serves an app
//! (through [`Store`]) and a hub that keeps documents in its own storage ([`ReviewDocument`],
//! [`reviewed_submission`]).

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

/// The submission that the review document `review` judges, read from its `submission` field;
/// `None` unless that field names a submission whose [`review_id`] is `review`, so that a
/// document cannot pass itself off as the review of another submission. Cost: one map lookup.
pub fn reviewed_submission<D: ReadDoc>(review: &DocId, doc: &D) -> Option<DocId> {
    let submission: DocId = string_at(doc, &ROOT, "submission")?.parse().ok()?;
    (review_id(&submission) == *review).then_some(submission)
}

/// A review document held outside a [`Store`]: what a hub keeps in its own storage, or a
/// program given the bytes. Edits follow the same rules as the store's review calls.
#[derive(Debug, Clone)]
pub struct ReviewDocument {
    id: DocId,
    submission: DocId,
    doc: AutoCommit,
}

impl ReviewDocument {
    /// A new review of `submission` (state received, no comments), edited from now on by a
    /// fresh random actor. Its first change is the one every device writes.
    pub fn start(submission: &DocId) -> Result<Self> {
        let id = review_id(submission);
        let mut doc = skeleton(&id, submission)?;
        doc.set_actor(ActorId::random());
        Ok(Self {
            id,
            submission: *submission,
            doc,
        })
    }

    /// Loads review bytes (a saved document or its changes); `InvalidDocument` if they do not
    /// load or are not a review (see [`reviewed_submission`]). Edits use a fresh random actor.
    pub fn load(bytes: &[u8]) -> Result<Self> {
        let doc = AutoCommit::load(bytes).map_err(|e| Error::InvalidDocument(e.to_string()))?;
        let submission: DocId = string_at(&doc, &ROOT, "submission")
            .and_then(|text| text.parse().ok())
            .ok_or_else(|| {
                Error::InvalidDocument("no `submission` field: not a Minga review".into())
            })?;
        Ok(Self {
            id: review_id(&submission),
            submission,
            doc,
        })
    }

    pub fn id(&self) -> DocId {
        self.id
    }

    pub fn submission(&self) -> DocId {
        self.submission
    }

    /// Sets the verdict, judging the submission at `judged` heads, decided by `by` now.
    pub fn set_state(&mut self, state: ReviewState, judged: &[ChangeHash], by: &str) -> Result<()> {
        write_state(&mut self.doc, state, judged, by)?;
        self.doc.commit();
        Ok(())
    }

    /// Adds a comment by `by`, on one question or (`None`) the whole submission.
    pub fn add_comment(&mut self, text: &str, question: Option<&str>, by: &str) -> Result<()> {
        write_comment(&mut self.doc, text, question, by)?;
        self.doc.commit();
        Ok(())
    }

    /// The review as it stands. `edited_since_judged` is false: telling needs the submission,
    /// which only a store holds alongside.
    pub fn review(&self) -> Review {
        read_review(&self.doc, self.id, self.submission)
    }

    /// The whole document as bytes any automerge library loads.
    pub fn save(&mut self) -> Vec<u8> {
        self.doc.save()
    }
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

/// Writes a verdict on the submission at `judged`, decided by `by` now.
fn write_state(
    doc: &mut AutoCommit,
    state: ReviewState,
    judged: &[ChangeHash],
    by: &str,
) -> Result<()> {
    doc.put(ROOT, "state", state.as_str())?;
    let heads = doc.put_object(ROOT, "judged_heads", ObjType::List)?;
    for (index, head) in judged.iter().enumerate() {
        doc.insert(&heads, index, head.to_string())?;
    }
    doc.put(ROOT, "decided_by", by)?;
    doc.put(
        ROOT,
        "decided_at",
        ScalarValue::Timestamp(Utc::now().timestamp_millis()),
    )?;
    Ok(())
}

fn check_comment(text: &str) -> Result<()> {
    if text.trim().is_empty() {
        return Err(Error::InvalidArgument("a review comment is empty".into()));
    }
    Ok(())
}

/// Appends a comment by `by`, on `question` or the whole submission.
fn write_comment(doc: &mut AutoCommit, text: &str, question: Option<&str>, by: &str) -> Result<()> {
    check_comment(text)?;
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
    doc.put(&comment, "by", by)?;
    doc.put(
        &comment,
        "at",
        ScalarValue::Timestamp(Utc::now().timestamp_millis()),
    )?;
    Ok(())
}

/// The state a review document holds (`received` when unset or unknown). Cost: one lookup.
pub(crate) fn state_of<D: ReadDoc>(doc: &D) -> ReviewState {
    string_at(doc, &ROOT, "state")
        .and_then(|state| ReviewState::parse(&state))
        .unwrap_or(ReviewState::Received)
}

fn read_review(doc: &AutoCommit, id: DocId, submission: DocId) -> Review {
    let state = state_of(doc);
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
    use crate::test_support::plain_store;
    use minga_forms::Value;

    fn store(dir: &tempfile::TempDir, user: &str) -> Store {
        plain_store(dir, user, &format!("{user}-phone"), user)
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

    #[test]
    fn a_review_written_outside_a_store_is_the_stores_review() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir, "ana");
        let id = store.create_submission(&FormRef::new("f", "1")).unwrap();
        let heads = store.document_heads(&id).unwrap();
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
