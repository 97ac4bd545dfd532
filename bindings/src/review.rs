//! Reviews: a supervisor's verdict and comments on a submission, kept in a review document of
//! their own that syncs like any other (`minga_core`'s review API).

use crate::error::Result;
use crate::records::doc_id;
use crate::store::Store;
use minga_core as core;
use minga_core::ReviewState;
use std::time::SystemTime;

/// A supervisor's verdict on a submission.
#[uniffi::remote(Enum)]
pub enum ReviewState {
    Received,
    HasIssues,
    Approved,
    Rejected,
}

/// One comment, on the whole submission or on one question.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ReviewComment {
    pub text: String,
    /// The question it is about, by name; none for the whole submission.
    pub question: Option<String>,
    pub by: String,
    pub at: SystemTime,
}

/// A submission's review as read back.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Review {
    /// The review document's id.
    pub id: String,
    pub submission: String,
    pub state: ReviewState,
    /// The submission's heads (automerge change hashes) when the state was last set.
    pub judged_heads: Vec<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<SystemTime>,
    pub comments: Vec<ReviewComment>,
    /// The submission changed after the verdict ("edited after approval").
    pub edited_since_judged: bool,
}

#[uniffi::export]
impl Store {
    /// The review of `submission`, or none if nobody started one. `NotFound` is never
    /// returned for a submission without a review.
    pub fn review(&self, submission: String) -> Result<Option<Review>> {
        self.call(|store| Ok(store.review(&doc_id(&submission)?)?.map(Into::into)))
    }

    /// Sets the verdict on `submission`, judging it as it is now, by this store's user.
    /// `NotFound` when there is no such submission. Durable on return.
    pub fn set_review_state(&self, submission: String, state: ReviewState) -> Result<()> {
        self.call(|store| Ok(store.set_review_state(&doc_id(&submission)?, state)?))
    }

    /// Comments on `submission`, on one question (by name) or, with none, on all of it. An
    /// empty comment is `InvalidArgument`. Durable on return.
    pub fn add_review_comment(
        &self,
        submission: String,
        text: String,
        question: Option<String>,
    ) -> Result<()> {
        self.call(|store| {
            let id = doc_id(&submission)?;
            Ok(store.add_review_comment(&id, &text, question.as_deref())?)
        })
    }
}

impl From<core::Review> for Review {
    fn from(review: core::Review) -> Self {
        Self {
            id: review.id.to_string(),
            submission: review.submission.to_string(),
            state: review.state,
            judged_heads: review
                .judged_heads
                .iter()
                .map(ToString::to_string)
                .collect(),
            decided_by: review.decided_by,
            decided_at: review.decided_at.map(SystemTime::from),
            comments: review
                .comments
                .into_iter()
                .map(|comment| ReviewComment {
                    text: comment.text,
                    question: comment.question,
                    by: comment.by,
                    at: comment.at.into(),
                })
                .collect(),
            edited_since_judged: review.edited_since_judged,
        }
    }
}
