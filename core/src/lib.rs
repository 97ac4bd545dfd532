//! Minga's core: survey submissions as automerge documents in one encrypted SQLite file per
//! device, synced with other stores through `minga-sync`. No FFI and no HTTP server here.
//!
//! [`Store`] is the whole API: open one with [`Store::open`], then create, answer, list, merge
//! and inspect submissions. The sync-facing calls (`apply_changes`,
//! `update_document`...) live in [`changes`]; [`Store`] implements
//! [`minga_sync::DocumentStore`] (what changed since N, a document's heads), so `minga_sync::run_session`, the responder and bundles work
//! on it directly (document ids map with `From`/`TryFrom`, kinds are sync's [`DocKind`]).

// The layers, bottom up: each imports only the layers listed before it (see
// ARCHITECTURE.md for the picture).
mod clock;
mod error;
mod fields;
mod malformed;
mod schema;
pub mod sqlcipher;
pub mod writable;

mod document;

mod storage;

mod store;

mod api;

#[cfg(test)]
mod test_support;

pub use api::agent::{self, AgentConfig, PeerConfig, PeerConnection, SyncAgent, TransportFactory};
pub use api::attachments::{AttachmentReader, AttachmentState, DEFAULT_ATTACHMENT_LIMIT};
pub use api::changes::{self, ReceivedChanges};
pub use api::conflicts::{Conflict, ConflictingValue, SubmissionDocument};
pub use api::export;
pub use api::form_media::{with_media, MediaUpload};
pub use api::form_session::{new_instance_id, StoredFormSession};
pub use api::forms::PublishedForm;
pub use api::history::{ChangeSignature, HistoryEntry};
pub use api::peers::PeerPolicy;
pub use api::photos::PhotoOptions;
pub use api::submission::Submission;
pub use document::{
    check_id, check_structure, document_has_conflicts, form_document, form_document_id,
    read_answers, read_form_document, review_id, reviewed_submission, AnswerPath, DeviceIdentity,
    DocId, DocKind, FormRef, InstanceRef, Review, ReviewComment, ReviewDocument, ReviewState,
    Status, SubmissionMeta, DOCUMENT_SCHEMA,
};
pub use error::{Error, Result};
pub use malformed::Malformed;
pub use schema::CURRENT_VERSION as STORE_SCHEMA_VERSION;
pub use storage::documents::DocumentSeq;
pub use storage::observer::{
    ChangeCallback, ChangedDocument, ObserverHandle, SyncEvent, SyncEventCallback, SyncFailure,
};
pub use storage::store_meta::UnreadableDocument;
pub use storage::submissions::{PageCursor, SubmissionFilter, SubmissionPage, SubmissionSummary};
pub use store::{Encryption, Store, StoreKey};

pub use automerge;
pub use minga_forms::{
    Answer, Answers, Attachment, Form, GeoPoint, LocalizedText, RepeatInstance, Value,
};
pub use minga_sync;
pub use minga_sync::ContentHash;
