//! Review documents, as the hub writes and reads them until the core exposes reviews: one plain
//! automerge document per submission, id `review:<submission id>`, holding
//! `{ state, judged_heads: [hex], comments: [{ question?, text, by, at }] }`.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjType, ReadDoc, ScalarValue, ROOT};

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
}

/// One comment, on the whole submission or on one question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub question: Option<String>,
    pub text: String,
    pub by: String,
}

/// A review as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub state: String,
    pub judged_heads: Vec<String>,
    pub comments: Vec<Comment>,
}

/// A new review document's bytes.
pub fn write_review(
    state: ReviewState,
    judged_heads: &[String],
    comments: &[Comment],
) -> Result<Vec<u8>, automerge::AutomergeError> {
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "state", state.as_str())?;
    let heads = doc.put_object(ROOT, "judged_heads", ObjType::List)?;
    for (i, head) in judged_heads.iter().enumerate() {
        doc.insert(&heads, i, head.as_str())?;
    }
    let list = doc.put_object(ROOT, "comments", ObjType::List)?;
    for (i, comment) in comments.iter().enumerate() {
        let map = doc.insert_object(&list, i, ObjType::Map)?;
        if let Some(question) = &comment.question {
            doc.put(&map, "question", question.as_str())?;
        }
        doc.put(&map, "text", comment.text.as_str())?;
        doc.put(&map, "by", comment.by.as_str())?;
        doc.put(
            &map,
            "at",
            ScalarValue::Timestamp(chrono::Utc::now().timestamp_millis()),
        )?;
    }
    Ok(doc.save())
}

fn text_at<O: AsRef<automerge::ObjId>, P: Into<automerge::Prop>>(
    doc: &AutoCommit,
    obj: O,
    prop: P,
) -> Option<String> {
    match doc.get(obj.as_ref(), prop).ok()?? {
        (automerge::Value::Scalar(s), _) => match s.as_ref() {
            ScalarValue::Str(text) => Some(text.to_string()),
            _ => None,
        },
        _ => None,
    }
}

/// Reads a review document; `None` if the bytes are not one.
pub fn read_review(bytes: &[u8]) -> Option<Review> {
    let doc = AutoCommit::load(bytes).ok()?;
    let state = text_at(&doc, ROOT, "state")?;
    let list_of = |key: &str| doc.get(ROOT, key).ok().flatten().map(|(_, id)| id);
    let judged_heads = list_of("judged_heads")
        .map(|heads| {
            (0..doc.length(&heads))
                .filter_map(|i| text_at(&doc, &heads, i))
                .collect()
        })
        .unwrap_or_default();
    let comments = list_of("comments")
        .map(|list| {
            (0..doc.length(&list))
                .filter_map(|i| {
                    let (_, map) = doc.get(&list, i).ok()??;
                    Some(Comment {
                        question: text_at(&doc, &map, "question"),
                        text: text_at(&doc, &map, "text")?,
                        by: text_at(&doc, &map, "by").unwrap_or_default(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Some(Review {
        state,
        judged_heads,
        comments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_review_reads_back_as_written() {
        let comment = Comment {
            question: Some("parish".into()),
            text: "Two values; confirm".into(),
            by: "Sara".into(),
        };
        let bytes = write_review(
            ReviewState::HasIssues,
            &["ab".into()],
            std::slice::from_ref(&comment),
        )
        .unwrap();
        let review = read_review(&bytes).unwrap();
        assert_eq!(
            review,
            Review {
                state: "has_issues".into(),
                judged_heads: vec!["ab".into()],
                comments: vec![comment]
            }
        );
        assert_eq!(read_review(b"junk"), None);
    }
}
