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
//! (through `Store`) and a hub that keeps documents in its own storage ([`ReviewDocument`],
//! [`reviewed_submission`]).

use super::identity::DeviceIdentity;
use super::ids::DocId;
use super::shape::record_author;
use crate::error::{Error, Result};
use crate::fields::{object_at, string_at, timestamp_at};
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

/// A review document held outside a `Store`: what a hub keeps in its own storage, or a
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

    /// Makes the edits that follow under `actor`, recorded in the document's `authors` map as
    /// `identity`, so that its history names that person (a hub writing for its console's
    /// signed-in supervisor) rather than an anonymous actor. `actor` must be unique to this
    /// writer: two writers sharing one would make changes automerge cannot tell apart.
    pub fn act_as(&mut self, actor: ActorId, identity: &DeviceIdentity) -> Result<()> {
        self.doc.set_actor(actor.clone());
        record_author(&mut self.doc, &actor, identity)
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

/// The review's first change, identical on every device: a fixed actor (the review id) and
/// time 0, so concurrent starts merge into one document.
pub(crate) fn skeleton(id: &DocId, submission: &DocId) -> Result<AutoCommit> {
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
pub(crate) fn write_state(
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
pub(crate) fn write_comment(
    doc: &mut AutoCommit,
    text: &str,
    question: Option<&str>,
    by: &str,
) -> Result<()> {
    check_comment(text)?;
    let comments = match object_at(doc, &ROOT, "comments") {
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

pub(crate) fn read_review(doc: &AutoCommit, id: DocId, submission: DocId) -> Review {
    let state = state_of(doc);
    let judged_heads = object_at(doc, &ROOT, "judged_heads")
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
        decided_at: timestamp_at(doc, &ROOT, "decided_at"),
        comments: read_comments(doc),
        edited_since_judged: false,
    }
}

fn read_comments(doc: &AutoCommit) -> Vec<ReviewComment> {
    let Some(list) = object_at(doc, &ROOT, "comments") else {
        return Vec::new();
    };
    (0..doc.length(&list))
        .filter_map(|index| {
            let comment = object_at(doc, &list, index)?;
            Some(ReviewComment {
                text: string_at(doc, &comment, "text")?,
                question: string_at(doc, &comment, "question"),
                by: string_at(doc, &comment, "by").unwrap_or_default(),
                at: timestamp_at(doc, &comment, "at").unwrap_or_default(),
            })
        })
        .collect()
}
