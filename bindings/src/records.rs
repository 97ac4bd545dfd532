//! The plain records a store hands out and takes in: submissions and their answers, list rows
//! and filters, conflicts and history. Each maps field for field onto a `minga-core` type.

use crate::error::{MingaError, Result};
use crate::value::Value;
use minga_core as core;
use minga_core::{AnswerPath, DeviceIdentity, DocKind, FormRef, InstanceRef, Status};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

/// The form a submission is filled against.
#[uniffi::remote(Record)]
pub struct FormRef {
    pub form_id: String,
    pub form_version: String,
    #[uniffi(default = None)]
    pub project_id: Option<String>,
}

/// Who writes through a store: every change is attributed to this device and person.
#[uniffi::remote(Record)]
pub struct DeviceIdentity {
    pub device_id: String,
    pub user_name: String,
}

/// Where a submission is in its life.
#[uniffi::remote(Enum)]
pub enum Status {
    Draft,
    Complete,
}

/// What a stored document is.
#[uniffi::remote(Enum)]
pub enum DocKind {
    Submission,
    Form,
    Review,
}

/// One step into a repeat: the repeat's name and the stable id of one of its instances.
#[uniffi::remote(Record)]
pub struct InstanceRef {
    pub repeat: String,
    pub instance_id: String,
}

/// Where an answer sits: `name` at the top level, or inside repeat instances (outermost
/// first). Also names a repeat itself, for the calls that add, remove and move instances.
#[uniffi::remote(Record)]
pub struct AnswerPath {
    #[uniffi(default = [])]
    pub instances: Vec<InstanceRef>,
    pub name: String,
}

/// Answers by question name, at the top level of a submission or inside a repeat instance.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Answers {
    pub fields: HashMap<String, Answer>,
}

/// What one name holds: a value, or the instances of a repeat.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum Answer {
    Value { value: Value },
    Repeat { instances: Vec<RepeatInstance> },
}

/// One instance of a repeat, with the stable id that keeps concurrent edits on the right one.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RepeatInstance {
    pub id: String,
    pub answers: Answers,
}

/// A submission as read: its creation facts, status and answers.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Submission {
    pub id: String,
    pub form: core::FormRef,
    pub created_at: SystemTime,
    pub created_by: String,
    pub device_id: String,
    pub instance_name: Option<String>,
    pub status: core::Status,
    pub answers: Answers,
    pub deleted: bool,
}

/// A point on the map (a submission's first geopoint, for lists).
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
}

/// One row of a submission list; no document is decoded to make it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SubmissionSummary {
    pub id: String,
    pub form: core::FormRef,
    pub status: core::Status,
    pub author: String,
    pub created_at: SystemTime,
    pub updated_at: SystemTime,
    pub instance_name: Option<String>,
    pub location: Option<Location>,
    pub deleted: bool,
    /// The verdict of its review; none when nobody has reviewed it yet.
    pub review_state: Option<core::ReviewState>,
    /// Whether some answer holds concurrent values to settle (see `conflicts`).
    pub has_conflicts: bool,
    /// Whether its answers break its form version as they arrived: kept, and flagged for a
    /// supervisor (see `invalid_reasons`).
    pub invalid: bool,
}

/// Why an answer breaks its form version: the question (inside its repeat instance, as
/// `people[id]/age`) and the reason.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct InvalidAnswer {
    pub question: String,
    pub reason: String,
}

impl From<minga_forms::check::InvalidAnswer> for InvalidAnswer {
    fn from(found: minga_forms::check::InvalidAnswer) -> Self {
        Self {
            question: found.question,
            reason: found.reason,
        }
    }
}

/// Which submissions a list shows. Every field is optional: the default lists every
/// submission that is not deleted.
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct SubmissionFilter {
    #[uniffi(default = None)]
    pub form_id: Option<String>,
    #[uniffi(default = None)]
    pub form_version: Option<String>,
    #[uniffi(default = None)]
    pub status: Option<core::Status>,
    #[uniffi(default = None)]
    pub author: Option<String>,
    #[uniffi(default = false)]
    pub include_deleted: bool,
    /// Only submissions whose review is in this state (`Received` also matches those not
    /// reviewed yet: both await a verdict).
    #[uniffi(default = None)]
    pub review_state: Option<core::ReviewState>,
    /// Only submissions with (`true`) or without (`false`) answers in conflict. Listing those
    /// with conflicts reads only them, not every submission.
    #[uniffi(default = None)]
    pub has_conflicts: Option<bool>,
    /// Only submissions flagged (`true`) or not (`false`) as breaking their form version.
    /// Listing the flagged ones reads only them.
    #[uniffi(default = None)]
    pub invalid: Option<bool>,
}

/// Where the next page of a list starts. Opaque: pass it back to `list_submissions`.
#[derive(Debug, uniffi::Object)]
pub struct PageCursor(pub(crate) core::PageCursor);

/// One page of a list, most recently changed first, and where the next page starts (none
/// when this is the last).
#[derive(Debug, Clone, uniffi::Record)]
pub struct SubmissionPage {
    pub items: Vec<SubmissionSummary>,
    pub next: Option<Arc<PageCursor>>,
}

/// One of the values stored for an answer, with who wrote it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ConflictingValue {
    /// The value, or none if it is not one Minga can read (a repeat list, a null).
    pub value: Option<Value>,
    pub author: Option<core::DeviceIdentity>,
    /// The automerge actor that wrote it, in hex.
    pub actor: String,
    /// Whether plain reads show this value (automerge's winner).
    pub shown: bool,
}

/// An answer that concurrent edits left with more than one value.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Conflict {
    pub path: core::AnswerPath,
    pub values: Vec<ConflictingValue>,
}

/// One change in a submission's history (its audit trail).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct HistoryEntry {
    /// The automerge change hash, in hex.
    pub hash: String,
    pub actor: String,
    pub author: Option<core::DeviceIdentity>,
    /// When it was made, by the clock of the device that made it.
    pub time: SystemTime,
    /// The answers (question and repeat names) it set, cleared or edited.
    pub answers: Vec<String>,
    /// Other parts it changed: `status`, `meta`, `deleted_at`.
    pub fields: Vec<String>,
    /// Whether its signature verifies, and the fingerprint of the key that signed it.
    pub signature: ChangeSignature,
}

/// What a change's signature proves. The key is shown by its fingerprint (as
/// `Store.key_fingerprint` gives a store's own); which device and user it belongs to is what
/// the document's `authors` map records (`HistoryEntry.author`).
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum ChangeSignature {
    /// Signed by the key its actor names: its own signature verifies, or (a received change)
    /// that of a later change by the same key which descends from it and so vouches for it
    /// (the core's `ChangeSignature::Signed::through` names which).
    Signed { key_fingerprint: String },
    /// Written before signing existed (or by an older client): no signature to check.
    Unsigned,
    /// The kept signature is missing or does not verify: the store's file was altered after
    /// the change was taken in (a store never accepts such a change).
    Invalid {
        key_fingerprint: String,
        reason: String,
    },
}

/// Reads a submission id given by the app.
pub(crate) fn doc_id(id: &str) -> Result<core::DocId> {
    Ok(id.parse::<core::DocId>()?)
}

/// Converts an index or count given by the app, which the core takes as `usize`.
pub(crate) fn index(position: u32) -> Result<usize> {
    usize::try_from(position)
        .map_err(|_| MingaError::invalid_argument(format!("index {position} too large")))
}

impl From<minga_core::Answers> for Answers {
    fn from(answers: minga_core::Answers) -> Self {
        let fields = answers
            .fields
            .into_iter()
            .map(|(name, answer)| (name, answer.into()))
            .collect();
        Self { fields }
    }
}

impl From<Answers> for minga_core::Answers {
    fn from(answers: Answers) -> Self {
        let fields = answers
            .fields
            .into_iter()
            .map(|(name, answer)| (name, answer.into()))
            .collect();
        Self { fields }
    }
}

impl From<Answer> for minga_core::Answer {
    fn from(answer: Answer) -> Self {
        match answer {
            Answer::Value { value } => Self::Value(value.into()),
            Answer::Repeat { instances } => Self::Repeat(
                instances
                    .into_iter()
                    .map(|i| minga_core::RepeatInstance {
                        id: i.id,
                        answers: i.answers.into(),
                    })
                    .collect(),
            ),
        }
    }
}

impl From<minga_core::Answer> for Answer {
    fn from(answer: minga_core::Answer) -> Self {
        match answer {
            minga_core::Answer::Value(value) => Self::Value {
                value: value.into(),
            },
            minga_core::Answer::Repeat(instances) => Self::Repeat {
                instances: instances
                    .into_iter()
                    .map(|instance| RepeatInstance {
                        id: instance.id,
                        answers: instance.answers.into(),
                    })
                    .collect(),
            },
        }
    }
}

impl From<core::Submission> for Submission {
    fn from(submission: core::Submission) -> Self {
        let meta = submission.meta;
        Self {
            id: submission.id.to_string(),
            form: meta.form,
            created_at: meta.created_at.into(),
            created_by: meta.created_by,
            device_id: meta.device_id,
            instance_name: meta.instance_name,
            status: submission.status,
            answers: submission.answers.into(),
            deleted: submission.deleted,
        }
    }
}

impl From<core::SubmissionSummary> for SubmissionSummary {
    fn from(row: core::SubmissionSummary) -> Self {
        Self {
            id: row.id.to_string(),
            form: row.form,
            status: row.status,
            author: row.author,
            created_at: row.created_at.into(),
            updated_at: row.updated_at.into(),
            instance_name: row.instance_name,
            location: row.location.map(|(latitude, longitude)| Location {
                latitude,
                longitude,
            }),
            deleted: row.deleted,
            review_state: row.review_state,
            has_conflicts: row.has_conflicts,
            invalid: row.invalid,
        }
    }
}

impl From<SubmissionFilter> for core::SubmissionFilter {
    fn from(filter: SubmissionFilter) -> Self {
        Self {
            form_id: filter.form_id,
            form_version: filter.form_version,
            status: filter.status,
            author: filter.author,
            review_state: filter.review_state,
            include_deleted: filter.include_deleted,
            has_conflicts: filter.has_conflicts,
            invalid: filter.invalid,
        }
    }
}

impl From<core::SubmissionPage> for SubmissionPage {
    fn from(page: core::SubmissionPage) -> Self {
        Self {
            items: page.items.into_iter().map(Into::into).collect(),
            next: page.next.map(|cursor| Arc::new(PageCursor(cursor))),
        }
    }
}

impl From<core::ConflictingValue> for ConflictingValue {
    fn from(value: core::ConflictingValue) -> Self {
        Self {
            value: value.value.map(Into::into),
            author: value.author,
            actor: value.actor,
            shown: value.shown,
        }
    }
}

impl From<core::Conflict> for Conflict {
    fn from(conflict: core::Conflict) -> Self {
        Self {
            path: conflict.path,
            values: conflict.values.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<core::HistoryEntry> for HistoryEntry {
    fn from(entry: core::HistoryEntry) -> Self {
        Self {
            hash: entry.hash,
            actor: entry.actor,
            author: entry.author,
            time: entry.time.into(),
            answers: entry.answers,
            fields: entry.fields,
            signature: entry.signature.into(),
        }
    }
}

impl From<core::ChangeSignature> for ChangeSignature {
    fn from(signature: core::ChangeSignature) -> Self {
        match signature {
            core::ChangeSignature::Signed { fingerprint, .. } => ChangeSignature::Signed {
                key_fingerprint: fingerprint,
            },
            core::ChangeSignature::Unsigned => ChangeSignature::Unsigned,
            core::ChangeSignature::Invalid { fingerprint, fault } => ChangeSignature::Invalid {
                key_fingerprint: fingerprint,
                reason: fault.to_string(),
            },
        }
    }
}

/// A stored document a schema upgrade could not read (bytes that do not decode, a document not
/// shaped as its kind): kept as it was and left out of the lists, while the store opened with
/// all the others.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct UnreadableDocument {
    pub id: String,
    pub kind: DocKind,
    /// Why it could not be read.
    pub reason: String,
}

impl From<core::UnreadableDocument> for UnreadableDocument {
    fn from(document: core::UnreadableDocument) -> Self {
        Self {
            id: document.id.to_string(),
            kind: document.kind,
            reason: document.reason,
        }
    }
}
