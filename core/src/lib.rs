//! Minga's core: survey submissions as automerge documents in one encrypted SQLite file per
//! device, synced with other stores through `minga-sync`. No FFI and no HTTP server here.
//!
//! [`Store`] is the whole API: open one with [`Store::open`], then create, answer, list, merge
//! and inspect submissions. The sync-facing calls (`changed_since`, `apply_changes`,
//! `update_document`...) live in [`changes`]; [`Store`] implements
//! [`minga_sync::DocumentStore`], so `minga_sync::run_session`, the responder and bundles work
//! on it directly (document ids map with `From`/`TryFrom`, kinds are sync's [`DocKind`]).

pub mod agent;
pub mod changes;
mod chunks;
mod conflicts;
mod document;
mod enrolment;
mod error;
pub mod export;
mod forms;
mod history;
mod malformed;
mod observer;
mod peers;
mod projection;
mod repeats;
mod review;
mod schema;
mod session_edits;
mod store;
mod structure;
mod submission;
mod sync;
#[cfg(test)]
mod test_support;
mod values;
pub mod writable;

pub use agent::{AgentConfig, PeerConfig, PeerConnection, SyncAgent, TransportFactory};
pub use changes::{DocumentSeq, ReceivedChanges};
pub use conflicts::{document_has_conflicts, Conflict, ConflictingValue};
pub use document::{
    AnswerPath, DocId, DocKind, FormRef, InstanceRef, Status, SubmissionMeta, DOCUMENT_SCHEMA,
};
pub use error::{Error, Result};
pub use forms::{form_document, form_document_id, read_form_document, PublishedForm};
pub use history::HistoryEntry;
pub use malformed::Malformed;
pub use observer::{
    ChangeCallback, ChangedDocument, ObserverHandle, SyncEvent, SyncEventCallback, SyncFailure,
};
pub use projection::{PageCursor, SubmissionFilter, SubmissionPage, SubmissionSummary};
pub use review::{
    review_id, reviewed_submission, Review, ReviewComment, ReviewDocument, ReviewState,
};
pub use schema::CURRENT_VERSION as STORE_SCHEMA_VERSION;
pub use store::{DeviceIdentity, Encryption, Store, StoreKey};
pub use structure::{check_id, check_structure};
pub use submission::Submission;

pub use automerge;
pub use minga_forms::{
    Answer, Answers, Attachment, Form, GeoPoint, LocalizedText, RepeatInstance, Value,
};
pub use minga_sync;
