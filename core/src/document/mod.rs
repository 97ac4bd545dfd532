//! The documents layer: what Minga's automerge documents hold and how to read and write them,
//! with no SQL and no store. A submission's shape (`shape`), its typed answers (`values`) and
//! repeat instances (`repeats`), which answers are stored calculations (`calculated`), which answers hold concurrent values (`conflicts`), the review
//! (`review`) and published form (`form`) documents, and the structural check every received
//! document passes (`structure`). The hub and any
//! program holding bare documents use this layer as the store does.
//!
//! This file only names the parts and re-exports what the layers above use.

pub(crate) mod calculated;
pub(crate) mod conflicts;
pub(crate) mod form;
mod identity;
mod ids;
pub(crate) mod repeats;
pub(crate) mod review;
mod shape;
mod structure;
pub(crate) mod values;

pub use conflicts::document_has_conflicts;
pub use form::{form_document, form_document_id, read_form_document};
pub use identity::DeviceIdentity;
pub use ids::{DocId, DocKind};
pub use review::{
    review_id, reviewed_submission, Review, ReviewComment, ReviewDocument, ReviewState,
};
pub(crate) use shape::{
    author_of, level_of, new_submission, read_deleted_at, read_id, read_meta, read_status,
    record_author, write_deleted, write_instance_name, write_status,
};
pub use shape::{
    read_answers, AnswerPath, FormRef, InstanceRef, Status, SubmissionMeta, DOCUMENT_SCHEMA,
};
pub use structure::{check_id, check_structure};
