//! The hub's storage behind one trait, with two backends: the embedded SQLite one (the default)
//! and PostgreSQL, for several hub processes over one database. It keeps projects, published
//! forms, enrolment codes, devices, and the documents devices sync (stored as automerge bytes
//! with the few facts authorisation and sync need).

pub mod answers;
pub mod attachments;
mod cipher;
pub mod console;
#[cfg(test)]
mod contract;
mod invalid;
mod keyfile;
mod keys;
pub mod located;
mod merge;
pub mod postgres;
pub mod projection;
mod schema;
mod signatures;
mod sqlite;
mod txn;

pub use self::postgres::PostgresStorage;
pub use console::{
    AuditEntry, AuditRecord, ConsoleSession, ConsoleStorage, ConsoleUser, NewConsoleUser,
    SigninFailures, COMMAND_LINE,
};
pub use projection::{FormVersionRow, SubmissionQuery, SubmissionRow};
pub use sqlite::{SqliteStorage, DATABASE_FILE};

pub use answers::{Indicator, IndicatorCell, IndicatorQuery};
pub use attachments::{AttachmentRow, Referrer};
pub use located::{Bounds, LocatedPoint, LocatedQuery};

use crate::access::{DocKind, Role};
use crate::auth::{EnrolDecision, EnrolmentState};
use crate::error::Result;
use automerge::ChangeHash;
use chrono::{DateTime, Utc};
use minga_forms::Form;
use minga_sync::signatures::{DeviceKey, PublicKey, SignaturePool, SignedChange};
use minga_sync::{ChunkOutcome, ContentHash};
use serde::Serialize;
use std::sync::Arc;

/// A programme's unit of work.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Project {
    pub name: String,
    pub title: String,
    pub created_at: DateTime<Utc>,
}

/// A device enrolled into a project. Its token is never stored, only its hash.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Device {
    pub id: String,
    pub project: String,
    pub role: Role,
    pub name: String,
    pub enrolled_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// When it last reached the sync or document routes (recorded at most once a minute, see
    /// [`SYNC_RECORDING_INTERVAL`]); `None` if it never has.
    pub last_sync_at: Option<DateTime<Utc>>,
}

/// How stale a device's recorded last sync may grow before a request records it again: a
/// write per request would cost every sync round a commit.
pub const SYNC_RECORDING_INTERVAL: chrono::TimeDelta = chrono::TimeDelta::minutes(1);

/// An enrolment code as issued: who it will enrol, and the hash of its secret.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEnrolment {
    pub lookup: String,
    pub secret_hash: String,
    pub project: String,
    pub role: Role,
    pub device_name: String,
    pub expires_at: DateTime<Utc>,
}

/// What redeeming a code did.
#[derive(Debug, Clone, PartialEq)]
pub enum Redemption {
    /// No enrolment has this lookup part.
    UnknownCode,
    /// The decision, applied: on `Accept` the new device is in `device`.
    Decided {
        decision: EnrolDecision,
        device: Option<Device>,
    },
}

/// A document as the hub keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredDocument {
    pub header: DocumentHeader,
    /// The automerge document, saved whole.
    pub bytes: Vec<u8>,
}

/// The arms of an SQL `CASE kind ... END` turning a kind's name, as the hub's schemas kept it
/// before kinds were stored as numbers, into its number (`DocKind::code`): both backends'
/// upgrade step writes it.
pub(crate) fn kind_name_to_code_arms() -> String {
    DocKind::ALL
        .iter()
        .map(|kind| format!("WHEN '{}' THEN {}", kind.as_str(), kind.code()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// What the hub knows of a document without loading it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DocumentHeader {
    pub project: String,
    pub id: String,
    pub kind: DocKind,
    /// The device that created the submission (for a review: the reviewed submission's author).
    pub author: Option<String>,
    /// For a review: the submission it judges.
    pub subject: Option<String>,
    /// Bumped on every change; "what changed since N" is a range scan.
    pub seq: i64,
    /// The document's heads (automerge change hashes), sorted; hex in JSON.
    pub heads: Vec<ChangeHash>,
    pub updated_at: DateTime<Utc>,
}

/// Changes received for one document.
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentWrite {
    pub id: String,
    pub kind: DocKind,
    /// Author and subject recorded if the document is new; a stored document keeps its own.
    pub author: Option<String>,
    pub subject: Option<String>,
    /// Bytes for `Automerge::load_incremental`: a saved document or concatenated changes.
    pub changes: Vec<u8>,
    /// The document `changes` loads to, when they are a whole saved document the caller has
    /// already decoded (sync loads each new document once to ask the policy): a document the
    /// hub does not hold yet is then stored as `changes` without being decoded, merged and
    /// saved again. `None` when there is no such document, or to have the hub decode.
    pub decoded: Option<Decoded>,
    /// The signatures that came with `changes` (with a sync step's other documents: one pool
    /// per step). Every new change by a keyed actor must carry one that verifies
    /// ([`minga_sync::signatures`]), or the write is refused ([`WriteRefusal::Unverified`]).
    pub signatures: Arc<SignaturePool>,
}

/// A whole document as its saved bytes load, for [`DocumentWrite::decoded`].
#[derive(Debug, Clone)]
pub struct Decoded(pub automerge::Automerge);

/// Two decoded documents are the same document when their heads (hashes of their whole
/// histories) are.
impl PartialEq for Decoded {
    fn eq(&self, other: &Self) -> bool {
        self.0.get_heads() == other.0.get_heads()
    }
}

/// What storing one [`DocumentWrite`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteOutcome {
    /// Merged into the stored document (a no-op if nothing was new); the header after it.
    Stored(DocumentHeader),
    /// A document of another kind has this id; nothing changed.
    KindMismatch { stored: DocKind },
    /// The write is not one the hub stores (see [`WriteRefusal`]); nothing changed.
    Refused(WriteRefusal),
}

/// Why a write was refused. Checked on the document as it would be after the merge, inside the
/// write's transaction, whichever route or sync message the write came by.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteRefusal {
    /// The bytes are not automerge changes (or a saved document).
    #[error("document {id}: not automerge changes: {reason}")]
    NotAutomerge { id: String, reason: String },
    /// The bytes hold no change, and there is no document yet.
    #[error("document {id}: no changes (an empty document)")]
    Empty { id: String },
    /// The hub's own copy does not load: damage on the hub's side, not the sender's.
    #[error("document {id}: the stored copy does not load: {reason}")]
    StoredUnreadable { id: String, reason: String },
    /// Id, kind or shape are wrong ([`minga_core::check_structure`]).
    #[error(transparent)]
    Malformed(#[from] minga_core::Malformed),
    /// A change by a keyed actor whose signature is missing or does not verify under its
    /// actor's key: forged, moved from another change, or stripped.
    #[error("document {id}: change {change} is refused: {reason}")]
    Unverified {
        id: String,
        change: String,
        reason: String,
    },
    /// A form document written by a device: forms are published by an administrator.
    #[error("form document {id}: forms are published, never written by a device")]
    FormsArePublished { id: String },
}

/// How far sync has come with one peer (a device), written in the same transaction as the
/// documents it received.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PeerUpdate {
    pub peer: String,
    /// Heads both sides now hold, per document id (replacing the old value).
    pub shared_heads: Vec<(String, Vec<ChangeHash>)>,
    /// The peer's new cursor `(theirs, ours)`, when it moved.
    pub cursor: Option<(i64, i64)>,
    /// Set when the peer's store is another than the one its cursor and shared heads were
    /// learnt from: they are dropped first, and this (the peer's new sync epoch) is recorded.
    pub reset: Option<String>,
}

/// The `hub_meta` key of the hub's sync epoch (random; a restore makes a new one).
pub const HUB_EPOCH_KEY: &str = "hub_epoch";

/// The `hub_meta` key of the GeoJSON outline an office uploaded for `project`'s map (a
/// name/value row, so that no schema changed for it).
pub fn map_outline_key(project: &str) -> String {
    format!("map_outline:{project}")
}

/// The `hub_meta` key of the sync epoch recorded for `peer` in `project` (a name/value row, so
/// that no schema changed for it).
pub fn peer_epoch_key(project: &str, peer: &str) -> String {
    format!("peer_epoch:{project}:{peer}")
}

/// Storage for one hub. Every call is one short transaction; implementations are shared between
/// request handlers, so they synchronise internally.
pub trait HubStorage: ConsoleStorage + Send + Sync {
    fn create_project(&self, name: &str, title: &str) -> Result<Project>;
    fn project(&self, name: &str) -> Result<Option<Project>>;
    fn projects(&self) -> Result<Vec<Project>>;

    /// Publishes a form version: keeps its definition and stores its form document (kind
    /// Form, id `minga_core::form_document_id`), which devices receive by sync like the rest.
    /// Refuses an id and version already published in the project.
    fn publish_form(&self, project: &str, form: &Form) -> Result<()>;
    /// Every published version, oldest first.
    fn forms(&self, project: &str) -> Result<Vec<Form>>;

    fn create_enrolment(&self, enrolment: &NewEnrolment) -> Result<()>;
    /// Runs `decide` on the enrolment's state and applies its verdict in the same transaction:
    /// on `Accept` marks the code used and creates the device with `token_hash`; any other
    /// verdict (a wrong secret included) changes nothing stored.
    fn redeem_enrolment(
        &self,
        lookup: &str,
        decide: &dyn Fn(&EnrolmentState) -> EnrolDecision,
        device_id: &str,
        token_hash: &str,
    ) -> Result<Redemption>;

    fn device_by_token_hash(&self, token_hash: &str) -> Result<Option<Device>>;
    fn devices(&self, project: Option<&str>) -> Result<Vec<Device>>;
    /// Marks a device revoked; its token stops working at once. Revoking twice is harmless.
    fn revoke_device(&self, id: &str) -> Result<Device>;
    /// Records that the device reached the hub at `at` (its last sync).
    fn record_sync(&self, device: &str, at: DateTime<Utc>) -> Result<()>;

    /// A page of the submissions projection, newest change first. Cost: an index range scan
    /// of `query.limit` rows (plus those a filter skips); no document is loaded.
    fn submissions(&self, project: &str, query: &SubmissionQuery) -> Result<Vec<SubmissionRow>>;
    /// One submission's projection row.
    fn submission_row(&self, project: &str, id: &str) -> Result<Option<SubmissionRow>>;
    /// An indicator: per value of a form's group question, its submissions and their answers
    /// to another question ([`answers::count_indicator`]). Cost: two index range scans read
    /// together in creation order (the group question's rows and the counted question's in
    /// the date range); no key probe per submission, no document loaded.
    fn indicator(&self, project: &str, query: &IndicatorQuery) -> Result<Indicator>;
    /// The project's located submissions the map shows ([`located::located_sql`]). Cost: a
    /// walk of the project's rows, one key probe each for the colouring answer; no document
    /// is loaded.
    fn located(&self, project: &str, query: &LocatedQuery) -> Result<Vec<LocatedPoint>>;
    /// The GeoJSON an office uploaded for the project's map (its provinces, cantons), if any.
    /// Kept as a `hub_meta` row ([`map_outline_key`]). Cost: one key lookup.
    fn map_outline(&self, project: &str) -> Result<Option<String>>;
    /// Keeps `geojson` as the project's map outline, replacing any before.
    fn set_map_outline(&self, project: &str, geojson: &str) -> Result<()>;
    /// Every published version with its count of submissions, by form then publishing order.
    /// Cost: one index count per version.
    fn form_versions(&self, project: &str) -> Result<Vec<FormVersionRow>>;

    /// Merges each write into its document (creating it if new) in one transaction, giving each
    /// document that changed the next sequence number. A refused write does not stop the others.
    /// With `peer`, its sync state is updated in the same transaction.
    fn write_documents(
        &self,
        project: &str,
        writes: &[DocumentWrite],
        peer: Option<&PeerUpdate>,
    ) -> Result<Vec<WriteOutcome>>;
    fn document(&self, project: &str, id: &str) -> Result<Option<StoredDocument>>;
    /// Binds a device's signing key to it in `project` (at enrolment); a key bound already (the
    /// same store enrolled again) follows it to the new device id. Cost: one upsert.
    fn bind_device_key(&self, project: &str, device_id: &str, key: &PublicKey) -> Result<()>;
    /// The device `key` is bound to in `project`, if any. Cost: one primary-key lookup.
    fn device_of_key(&self, project: &str, key: &PublicKey) -> Result<Option<String>>;
    /// The hub's own signing key (it signs enrolment credentials), made on first use and kept
    /// in the storage. Cost: an insert-or-ignore and one lookup.
    fn hub_signing_key(&self) -> Result<DeviceKey>;
    /// The kept signatures of document `id`'s changes: those of `only`, or all of them. Cost:
    /// one primary-key lookup per change of `only`, or one index range scan.
    fn change_signatures(
        &self,
        project: &str,
        id: &str,
        only: Option<&[ChangeHash]>,
    ) -> Result<Vec<SignedChange>>;
    /// A document's header without its bytes.
    fn document_header(&self, project: &str, id: &str) -> Result<Option<DocumentHeader>>;
    /// The highest sequence number of the project's documents (0 if none).
    fn max_seq(&self, project: &str) -> Result<i64>;
    /// The stored sync cursor `(theirs, ours)` with `peer` (zeroes when they never met).
    fn peer_cursor(&self, project: &str, peer: &str) -> Result<(i64, i64)>;
    /// The heads a document was last known to share with `peer`.
    fn peer_heads(&self, project: &str, peer: &str, id: &str) -> Result<Option<Vec<ChangeHash>>>;
    /// This hub's id (random, made with its database): its peer id in sync.
    fn hub_id(&self) -> Result<String>;
    /// This hub's sync epoch: random, made on first use, and new after a restore (see
    /// [`HubStorage::renew_hub_epoch`]), so that devices drop what they knew of the hub
    /// before. Cost: one insert-or-ignore and one lookup.
    fn hub_epoch(&self) -> Result<String>;
    /// Gives the hub a new sync epoch, as restoring a backup must: its history went back in
    /// time. Returns the new one.
    fn renew_hub_epoch(&self) -> Result<String>;
    /// The sync epoch recorded for `peer`'s store (`None` when none was).
    fn peer_epoch(&self, project: &str, peer: &str) -> Result<Option<String>>;
    /// Headers of the project's documents changed after `since`, in sequence order.
    fn documents_since(
        &self,
        project: &str,
        since: i64,
        limit: usize,
    ) -> Result<Vec<DocumentHeader>>;

    /// One content of the project (`hash` in hex) as stored; `None` when nothing of it is.
    /// Cost: one key lookup.
    fn attachment(&self, project: &str, hash: &str) -> Result<Option<AttachmentRow>>;
    /// Chunk `index` of a content whole in the project. Cost: one key lookup.
    fn attachment_chunk(&self, project: &str, hash: &str, index: u64) -> Result<Option<Vec<u8>>>;
    /// Stores a chunk received from device `uploader`, in one transaction
    /// ([`attachments::receive_chunk`]).
    fn receive_attachment_chunk(
        &self,
        project: &str,
        chunk: &ReceivedChunk<'_>,
        uploader: &str,
    ) -> Result<ChunkOutcome>;
    /// Contents the project's documents reference that the hub lacks whole, with the bytes
    /// held of each, at most `limit`, by hash. Cost: a scan of the project's references.
    fn attachments_wanted(&self, project: &str, limit: usize) -> Result<Vec<(String, u64)>>;
    /// The project's documents that reference the content `hash`. Cost: an index range scan
    /// and a lookup per document.
    fn attachment_referrers(&self, project: &str, hash: &str) -> Result<Vec<Referrer>>;
}

/// One received attachment chunk, as sync hands it over.
#[derive(Debug, Clone, Copy)]
pub struct ReceivedChunk<'a> {
    pub hash: &'a ContentHash,
    pub size: u64,
    pub index: u64,
    pub bytes: &'a [u8],
}
