//! What a sync session did (the report) and how far along it is (progress).

use automerge::ChangeHash;

use crate::attachments::ContentHash;
use crate::ids::DocId;
use crate::wire::{AttachmentRefusal, Refusal};

/// The outcome of one sync session, as seen from one side. Each document counts once in each
/// count, however many round trips it took.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SyncReport {
    /// Documents whose changes the peer lacked and took from this side: sent whole, with an
    /// offer, or by automerge sync.
    pub sent: usize,
    /// Documents that changed here with what the peer sent.
    pub received: usize,
    /// Documents refused, by either side, with the reason.
    pub refused: Vec<(DocId, Refusal)>,
    /// This side's own work the peer refused: what it offered or sent and the peer would not
    /// take, never to be lost in the list above (an app must say so to its user).
    pub refused_by_peer: Vec<RefusedWork>,
    /// Received documents that now hold concurrent values for some key: conflicts for a
    /// supervisor to settle.
    pub conflicts: usize,
    /// Request/reply exchanges.
    pub round_trips: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// The automerge bytes (saved documents and changes) inside those frames, both ways.
    pub change_bytes: u64,
    /// Attachments whose last chunk the peer took from this side.
    pub attachments_sent: usize,
    /// Attachments that became whole here.
    pub attachments_received: usize,
    /// Attachments refused, by either side, with the reason.
    pub attachments_refused: Vec<(ContentHash, AttachmentRefusal)>,
    /// Attachment bytes (chunk contents) sent and received.
    pub attachment_bytes_sent: u64,
    pub attachment_bytes_received: u64,
}

/// A document of this side the peer refused: the document, the changes it refused (this side's
/// heads for it: the newest changes, with everything they build on that the peer lacks), and
/// why.
#[derive(Clone, Debug, PartialEq)]
pub struct RefusedWork {
    pub doc: DocId,
    pub heads: Vec<ChangeHash>,
    pub reason: Refusal,
}

/// How far a session is, reported after every round trip.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Documents settled with the peer (equal, applied, sent or refused).
    pub docs_done: u64,
    /// Documents offered by either side and not settled yet.
    pub docs_in_flight: u64,
    /// This side's sequence numbers not yet offered: an upper bound on documents still to offer.
    pub docs_left_estimate: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// Attachment bytes moved in this session, either way.
    pub attachment_bytes_done: u64,
    /// Attachment bytes still to arrive or to send, as far as this side knows.
    pub attachment_bytes_left: u64,
}
