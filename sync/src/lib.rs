//! Minga's sync: moves automerge changes between two document stores, over any transport,
//! resumably and idempotently. `docs/sync-protocol.md` specifies the protocol and wire format.
//!
//! - [`DocumentStore`] is what sync needs from a store; [`MemoryStore`] implements it in memory.
//! - [`Initiator`] and [`Responder`] are sans-IO state machines: bytes in, bytes out.
//! - [`Transport`] moves bytes (a host may bring its own); [`MemoryTransport`] is in process;
//!   [`run_session`] drives an initiator over a transport.
//! - [`http::HttpTransport`] (feature `http`, on by default) posts frames to a responder's URL.
//! - [`schedule::Schedule`] decides when to sync with each peer (network up, local changes,
//!   backoff after failures, never two syncs with one peer at once).
//! - [`bundle`] writes and imports encrypted sync files for a USB stick or a messaging app.
//! - [`project::check_project_name`] is the rule for hub project names, which sync URLs carry.
//! - [`signatures`] signs changes and verifies them: every receiver refuses a change whose
//!   signature is missing or does not verify under its actor's key.
//! - [`credential`] is what a hub signs at enrolment: a device's id, project, role and key.
//! - [`peer`] is the handshake of two devices that sync directly: each proves its credential.
//! - [`enrolment_link`] writes and reads the `minga://enrol?...` link a hub prints as a QR code.
//! - [`access`] holds the hub's access rules (who may read and write what, judged by signer),
//!   for the hub and for devices that sync directly.
//! - [`attachments`] names attachments by content ([`ContentHash`]) and sizes their chunks.

pub mod access;
pub mod attachments;
pub mod bundle;
mod conflicts;
pub mod credential;
pub mod enrolment_link;
pub mod error;
pub mod heads;
#[cfg(feature = "http")]
pub mod http;
pub mod ids;
mod initiator;
mod memory_attachments;
mod memory_store;
pub mod peer;
pub mod policy;
pub mod project;
pub mod report;
mod responder;
pub mod schedule;
mod side;
pub mod signatures;
pub mod store;
pub mod transport;
pub mod wire;

pub use attachments::{ContentHash, ContentHasher, NotAContentHash, CHUNK_SIZE};
pub use conflicts::has_conflicts;
pub use error::{IdError, StoreError, SyncError, TransportError, WireError};
pub use heads::{heads_from_bytes, heads_to_bytes, NotHeads};
pub use ids::{DocId, DocKind, Epoch, PeerId, Seq, UnknownKind};
pub use initiator::{Initiator, Step};
pub use memory_store::MemoryStore;
pub use policy::{AllowAll, Policy};
pub use report::{Progress, RefusedWork, SyncReport};
pub use responder::{abort_frame, abort_reply, Responder};
pub use store::{
    ApplyOutcome, ChangedDoc, ChunkOutcome, Commit, DocSeq, DocumentStore, IncomingDoc, PeerCursor,
};
pub use transport::{run_session, MemoryTransport, Transport};

/// Limits of a sync session; both sides may use different ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncOptions {
    /// Most documents offered in one message (one page).
    pub page_docs: usize,
    /// Roughly the most automerge bytes in one message; one document is always allowed.
    pub page_bytes: usize,
    /// No new page is offered while this many documents are unsettled.
    pub max_in_flight: usize,
    /// The largest frame accepted, in bytes; larger ones are refused before being read.
    pub max_frame: u32,
    /// A session with more round trips than this is abandoned (it resumes in the next one).
    pub max_rounds: u64,
    /// How often [`run_session`] resends a request after a retryable transport error.
    pub retries: u32,
    /// Whether this side asks its peer for the attachments its documents reference and it
    /// lacks (true); a supervisor's device may leave them to be fetched on demand.
    pub fetch_attachments: bool,
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self {
            page_docs: 2_500,
            page_bytes: 4 << 20,
            max_in_flight: 5_000,
            max_frame: wire::DEFAULT_MAX_FRAME,
            max_rounds: 10_000,
            retries: 3,
            fetch_attachments: true,
        }
    }
}
