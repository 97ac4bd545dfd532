//! Why a document may not be stored as the id and kind it came with: the refusal of the
//! structural check (`structure.rs`), apart from it so that the error types at the bottom of
//! the crate can name it without reaching up to the documents the check reads.

use minga_sync::DocKind;

/// Why a document may not be stored as the id and kind it came with; nothing was stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    /// The id is not a canonical (lower-case, hyphenated) UUID.
    #[error("{id} is not a document id (a lower-case, hyphenated UUID)")]
    NotAnId { id: String },
    /// The id has the format of another kind's ids (a review's or a form's, sent as a
    /// submission); such ids are only ever derived, never chosen.
    #[error("{id} is a {belongs_to} id, not a {kind} id", kind = kind_name(*kind), belongs_to = kind_name(*belongs_to))]
    IdOfAnotherKind {
        id: String,
        kind: DocKind,
        belongs_to: DocKind,
    },
    /// The document lacks what every document of its kind has.
    #[error("{kind} {id} is not shaped as a {kind}: it has no {missing}", kind = kind_name(*kind))]
    WrongShape {
        id: String,
        kind: DocKind,
        missing: &'static str,
    },
    /// A submission whose `meta.id` names another document.
    #[error("submission {id} names another id in its meta.id: {meta_id}")]
    MetaIdMismatch { id: String, meta_id: String },
    /// A review or form document whose content derives another id than its own (a review of
    /// another submission, another form version).
    #[error("{kind} {id} is the {kind} of {names}, whose id is another", kind = kind_name(*kind))]
    DerivesAnotherId {
        id: String,
        kind: DocKind,
        names: String,
    },
}

impl Malformed {
    /// A short machine-readable reason, for an API's error body.
    pub fn code(&self) -> &'static str {
        match self {
            Malformed::NotAnId { .. } => "not_a_document_id",
            Malformed::IdOfAnotherKind { .. } => "id_of_another_kind",
            Malformed::WrongShape { .. } => "wrong_shape",
            Malformed::MetaIdMismatch { .. } => "meta_id_mismatch",
            Malformed::DerivesAnotherId { .. } => "derives_another_id",
        }
    }
}

fn kind_name(kind: DocKind) -> &'static str {
    match kind {
        DocKind::Submission => "submission",
        DocKind::Form => "form",
        DocKind::Review => "review",
    }
}
