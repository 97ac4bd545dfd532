//! What sync needs from a store of automerge documents. The core's SQLite store and the hub's
//! storage implement [`DocumentStore`]; [`crate::MemoryStore`] is the in-memory one.

use automerge::{Automerge, ChangeHash};

use crate::attachments::ContentHash;
use crate::error::StoreError;
use crate::ids::{DocId, DocKind, Epoch, PeerId, Seq};
use crate::signatures::{SignaturePool, SignedChange};
use crate::wire::AttachmentRefusal;

/// A document and the sequence number of its latest change in one store: the one shape of "a
/// document and its seq" in every crate. Sync's rows ([`ChangedDoc`]) and the core's (what
/// `apply_changes` returns, what observers are told) embed it. `Id` is sync's [`DocId`] here,
/// and the core's UUID id in the core (`minga_core::DocumentSeq`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DocSeq<Id = DocId> {
    pub id: Id,
    pub kind: DocKind,
    /// The store's sequence number of the document's latest change.
    pub seq: Seq,
}

/// One row of "what changed since N": the document and its seq, with its heads.
#[derive(Clone, Debug, PartialEq)]
pub struct ChangedDoc {
    pub doc: DocSeq,
    pub heads: Vec<ChangeHash>,
}

/// How far two stores have come with each other, kept by the initiator per peer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PeerCursor {
    /// The peer's sequence number up to which we have everything it offered.
    pub theirs: Seq,
    /// Our sequence number up to which the peer has everything we offered.
    pub ours: Seq,
}

/// Received changes for one document.
#[derive(Clone, Debug)]
pub struct IncomingDoc {
    pub id: DocId,
    pub kind: DocKind,
    /// Bytes for `Automerge::load_incremental`: a saved document or concatenated changes, whose
    /// dependencies are all in the stored document or in these bytes.
    pub changes: Vec<u8>,
    /// Set when the document was absent from the store when the session read it: `changes` is
    /// then a whole saved document, already loaded here. A store that still lacks the document
    /// may keep this (and `changes` as its saved form) instead of loading the bytes again.
    pub loaded: Option<Automerge>,
}

/// What the store did with one [`IncomingDoc`].
#[derive(Clone, Debug, PartialEq)]
pub enum ApplyOutcome {
    /// Stored (or already there: applying the same changes twice is a no-op). A document whose
    /// heads moved gets a new sequence number.
    Applied { heads: Vec<ChangeHash> },
    /// The document exists with another kind; nothing was changed.
    KindMismatch { stored: DocKind },
    /// The bytes did not load; nothing was changed.
    Invalid { reason: String },
}

/// Everything one step of a sync session writes, to be committed atomically (one SQLite
/// transaction): received changes, per-document shared heads with the peer, and the cursor.
#[derive(Clone, Debug)]
pub struct Commit {
    pub peer: PeerId,
    /// Set when `peer` named another epoch than the one stored for it: before anything else,
    /// forget its cursor and every shared head with it, and record this as its epoch.
    pub reset_peer: Option<Epoch>,
    pub docs: Vec<IncomingDoc>,
    /// Heads that both this store and `peer` now hold, per document (replaces the old value).
    pub shared_heads: Vec<(DocId, Vec<ChangeHash>)>,
    /// A new cursor for `peer`, when it moved.
    pub cursor: Option<PeerCursor>,
    /// The signatures that came with `docs` (one pool for the whole step): the store verifies
    /// each new change against it ([`crate::signatures::verify_new_changes`]) and keeps them.
    pub signatures: SignaturePool,
}

impl Commit {
    pub fn new(peer: PeerId) -> Self {
        Self {
            peer,
            reset_peer: None,
            docs: Vec::new(),
            shared_heads: Vec::new(),
            cursor: None,
            signatures: SignaturePool::default(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
            && self.shared_heads.is_empty()
            && self.cursor.is_none()
            && self.reset_peer.is_none()
    }
}

/// What the store did with one received attachment chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChunkOutcome {
    /// Stored (durably); `stored` bytes of the content are here now.
    Stored { stored: u64 },
    /// That was the last chunk: the whole content matched its hash and is present.
    Whole,
    /// Refused; nothing of the content is kept (a mismatch deletes what was stored of it).
    Refused(AttachmentRefusal),
}

/// A store of automerge documents as sync sees it. Implementations are shared between threads
/// and use interior mutability: sync calls them from one thread at a time per session.
pub trait DocumentStore {
    /// Documents whose sequence number is above `after`, in ascending sequence order, at most
    /// `limit` of them. An index scan.
    fn changed_since(&self, after: Seq, limit: usize) -> Result<Vec<ChangedDoc>, StoreError>;

    /// The highest sequence number given so far (0 for an empty store).
    fn max_seq(&self) -> Result<Seq, StoreError>;

    /// A document's kind and current heads, without loading it; `None` if absent.
    fn doc_heads(&self, id: &DocId) -> Result<Option<(DocKind, Vec<ChangeHash>)>, StoreError>;

    /// The whole document; `None` if absent.
    fn load(&self, id: &DocId) -> Result<Option<Automerge>, StoreError>;

    /// The whole document as bytes that `Automerge::load` accepts (a saved snapshot, possibly
    /// followed by change chunks); `None` if absent. Defaults to loading and saving.
    fn export(&self, id: &DocId) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.load(id)?.map(|doc| doc.save()))
    }

    /// The signatures this store holds of document `id`'s changes: of those in `only`, or of
    /// all of them. A store that keeps none (one that only relays unkeyed changes, such as
    /// [`crate::MemoryStore`]) returns none. Cost: one lookup per change asked for.
    fn signatures(
        &self,
        _id: &DocId,
        _only: Option<&[ChangeHash]>,
    ) -> Result<Vec<SignedChange>, StoreError> {
        Ok(Vec::new())
    }

    /// Applies everything in `commit` in one atomic step, returning one outcome per document in
    /// order. A document refused (wrong kind, bad bytes) does not stop the others; an `Err`
    /// means nothing at all was written.
    fn commit(&self, commit: Commit) -> Result<Vec<ApplyOutcome>, StoreError>;

    /// This store's own epoch ([`Epoch`]): made once with the store (a store that has none yet
    /// makes and keeps one on the first call) and made anew only when the store's history is
    /// replaced, such as a restore from a backup.
    fn epoch(&self) -> Result<Epoch, StoreError>;

    /// The epoch `peer` had when this store learnt its cursor and shared heads with it (as the
    /// last [`Commit::reset_peer`] recorded it); `None` when none was recorded.
    fn peer_epoch(&self, peer: &PeerId) -> Result<Option<Epoch>, StoreError>;

    /// The stored cursor for `peer` (zeroes when they never met).
    fn peer_cursor(&self, peer: &PeerId) -> Result<PeerCursor, StoreError>;

    /// The heads this store and `peer` were last known to share for a document.
    fn shared_heads(
        &self,
        peer: &PeerId,
        id: &DocId,
    ) -> Result<Option<Vec<ChangeHash>>, StoreError>;

    /// Contents that stored documents reference and that are not whole here, each with the
    /// bytes already held (whole chunks from the first: the transfer resumes after them), at
    /// most `limit`. The default (a store without attachments) wants none.
    fn attachments_wanted(&self, _limit: usize) -> Result<Vec<(ContentHash, u64)>, StoreError> {
        Ok(Vec::new())
    }

    /// The stored documents that reference `hash`: a peer may receive the content only if
    /// the policy lets it read one of them.
    fn attachment_referrers(
        &self,
        _hash: &ContentHash,
    ) -> Result<Vec<(DocId, DocKind)>, StoreError> {
        Ok(Vec::new())
    }

    /// The size of the content `hash` when it is whole here; `None` otherwise.
    fn attachment_size(&self, _hash: &ContentHash) -> Result<Option<u64>, StoreError> {
        Ok(None)
    }

    /// Chunk `index` of the content `hash` (of [`crate::CHUNK_SIZE`] bytes, the last one
    /// shorter), when the content is whole here.
    fn attachment_chunk(
        &self,
        _hash: &ContentHash,
        _index: u64,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(None)
    }

    /// Stores chunk `index` of the content `hash` of `size` bytes, durably, in order (a chunk
    /// already stored changes nothing); the last one is checked with the whole content against
    /// `hash`. The default refuses: the store keeps no attachments.
    fn receive_attachment_chunk(
        &self,
        _hash: &ContentHash,
        _size: u64,
        _index: u64,
        _bytes: &[u8],
    ) -> Result<ChunkOutcome, StoreError> {
        Ok(ChunkOutcome::Refused(AttachmentRefusal::Unsupported))
    }

    /// Whether `doc`, as it stands with changes received from a peer, holds concurrent values a
    /// person must settle; sync counts these in [`crate::SyncReport::conflicts`]. The default
    /// counts any key or list slot holding more than one value ([`crate::has_conflicts`]); a
    /// store that knows its documents' layout leaves out what merges by design. Costs one walk
    /// over the document.
    fn has_conflicts(&self, _kind: DocKind, doc: &Automerge) -> bool {
        crate::conflicts::has_conflicts(doc)
    }
}
