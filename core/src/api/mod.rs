//! The API layer: what apps, sync, the hub and the bindings call, each file one topic of
//! `impl Store` (attachments, submissions, session edits, lists, reviews, forms, history, conflicts,
//! enrolment, the sync-facing calls and `DocumentStore`, the hub's rules for peers syncing
//! directly), plus the sync agent and export.
//! Every write here goes through the store's write path (`store::write`); nothing below
//! imports this layer.

pub mod agent;
pub(crate) mod answer_checks;
pub(crate) mod attachments;
pub mod changes;
pub(crate) mod conflicts;
pub(crate) mod enrolment;
pub mod export;
pub mod form_media;
pub(crate) mod form_session;
pub(crate) mod forms;
pub(crate) mod history;
pub(crate) mod lists;
pub mod peers;
pub(crate) mod photos;
pub(crate) mod review;
pub(crate) mod session_edits;
pub(crate) mod submission;
pub(crate) mod sync;
