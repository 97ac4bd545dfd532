//! An in-memory [`DocumentStore`]: documents, their sequence index and per-peer state behind one
//! mutex. Used by tests and benchmarks, and by hosts that keep documents elsewhere.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use automerge::transaction::Transaction;
use automerge::{ActorId, Automerge, ChangeHash, ReadDoc};

use crate::attachments::{referenced, ContentHash};
use crate::error::StoreError;
use crate::ids::{DocId, DocKind, Epoch, PeerId, Seq};
use crate::memory_attachments::MemoryAttachments;
use crate::signatures::{verify_new_changes, Signature, SignaturePool, SignedChange};
use crate::store::{
    ApplyOutcome, ChangedDoc, ChunkOutcome, Commit, DocSeq, DocumentStore, IncomingDoc, PeerCursor,
};

/// Documents kept in memory, each with a kind and a sequence number.
pub struct MemoryStore {
    actor: ActorId,
    inner: Mutex<Inner>,
}

#[derive(Clone)]
struct Inner {
    epoch: Epoch,
    docs: HashMap<DocId, Entry>,
    by_seq: BTreeMap<Seq, DocId>,
    seq: Seq,
    peers: HashMap<PeerId, PeerState>,
    /// The signatures of the keyed changes received, verified on arrival.
    signatures: HashMap<ChangeHash, Signature>,
    attachments: MemoryAttachments,
}

#[derive(Clone)]
struct Entry {
    kind: DocKind,
    doc: Automerge,
    seq: Seq,
    /// The document's saved bytes, kept as a persistent store keeps them, so that exporting it
    /// costs what reading a stored blob costs.
    saved: Vec<u8>,
}

#[derive(Clone, Default)]
struct PeerState {
    epoch: Option<Epoch>,
    cursor: PeerCursor,
    shared: HashMap<DocId, Vec<ChangeHash>>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// An empty store whose local edits are made by a fresh random actor.
    pub fn new() -> Self {
        Self {
            actor: ActorId::random(),
            inner: Mutex::new(Inner {
                epoch: Epoch::random(),
                docs: HashMap::new(),
                by_seq: BTreeMap::new(),
                seq: 0,
                peers: HashMap::new(),
                signatures: HashMap::new(),
                attachments: MemoryAttachments::default(),
            }),
        }
    }

    /// An exact copy (documents, sequence numbers, peer state, epoch), as a backup keeps the
    /// store. Cost: clones every document.
    pub fn copy(&self) -> Self {
        Self {
            actor: self.actor.clone(),
            inner: Mutex::new(self.lock().clone()),
        }
    }

    /// Gives the store a new epoch, as restoring a backup does: its history was replaced, so
    /// what peers learnt from the old one no longer holds.
    pub fn renew_epoch(&self) {
        self.lock().epoch = Epoch::random();
    }

    /// Edits a document in one automerge transaction, creating it (of `kind`) if absent, and
    /// gives it a new sequence number (if the edit changed anything). Returns what `edit` returned.
    pub fn edit<T>(
        &self,
        id: &DocId,
        kind: DocKind,
        edit: impl FnOnce(&mut Transaction<'_>) -> T,
    ) -> T {
        let mut inner = self.lock();
        let mut doc = match inner.docs.get(id) {
            Some(entry) => entry.doc.clone(),
            None => Automerge::new(),
        };
        doc.set_actor(self.actor.clone());
        let before = doc.get_heads();
        let mut tx = doc.transaction();
        let result = edit(&mut tx);
        tx.commit();
        if doc.get_heads() != before {
            let saved = doc.save();
            inner.store(id, kind, doc, saved); // an edit that changed nothing creates nothing
        }
        result
    }

    /// Keeps `signed`, the signatures of changes this store made itself outside [`Self::edit`]
    /// (a test or a benchmark that builds documents as a phone's store does, which keeps the
    /// signature of every change it makes and sends them all). Cost: one insert each.
    pub fn keep_own_signatures(&self, signed: impl IntoIterator<Item = SignedChange>) {
        self.lock().signatures.extend(signed);
    }

    /// A copy of a document.
    pub fn get(&self, id: &DocId) -> Option<Automerge> {
        self.lock().docs.get(id).map(|entry| entry.doc.clone())
    }

    /// Every document id, sorted.
    pub fn ids(&self) -> Vec<DocId> {
        let mut ids: Vec<DocId> = self.lock().docs.keys().cloned().collect();
        ids.sort();
        ids
    }

    pub fn len(&self) -> usize {
        self.lock().docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keeps `content` as a whole attachment; returns its hash (what a document references).
    pub fn add_attachment(&self, content: &[u8]) -> ContentHash {
        self.lock().attachments.add(content)
    }

    /// The attachment `hash`, if it is whole here.
    pub fn attachment(&self, hash: &ContentHash) -> Option<Vec<u8>> {
        self.lock().attachments.whole(hash).map(<[u8]>::to_vec)
    }

    /// The bytes held of attachment `hash`, whole or partly received.
    pub fn attachment_bytes_held(&self, hash: &ContentHash) -> u64 {
        self.lock().attachments.held(hash)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves whole documents behind (each is replaced in one
        // assignment), so the data is still consistent.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Inner {
    fn next_seq(&mut self) -> Seq {
        self.seq += 1;
        self.seq
    }

    /// Replaces a document and moves it to a new sequence number.
    fn store(&mut self, id: &DocId, kind: DocKind, doc: Automerge, saved: Vec<u8>) {
        let seq = self.next_seq();
        let entry = Entry {
            kind,
            doc,
            seq,
            saved,
        };
        if let Some(old) = self.docs.insert(id.clone(), entry) {
            self.by_seq.remove(&old.seq);
        }
        self.by_seq.insert(seq, id.clone());
    }

    fn apply(&mut self, incoming: IncomingDoc, pool: &SignaturePool) -> ApplyOutcome {
        let IncomingDoc {
            id,
            kind,
            changes,
            loaded,
        } = incoming;
        let mut doc = match (self.docs.get(&id), loaded) {
            (Some(entry), _) if entry.kind != kind => {
                return ApplyOutcome::KindMismatch { stored: entry.kind }
            }
            (Some(entry), _) => entry.doc.clone(),
            (None, Some(loaded)) => {
                if let Err(refused) = self.keep_verified(&loaded, &[], pool) {
                    return refused;
                }
                let heads = loaded.get_heads();
                self.store(&id, kind, loaded, changes);
                return ApplyOutcome::Applied { heads };
            }
            (None, None) => Automerge::new(),
        };
        let before = doc.get_heads();
        if let Err(error) = doc.load_incremental(&changes) {
            return ApplyOutcome::Invalid {
                reason: error.to_string(),
            };
        }
        if !doc.get_missing_deps(&[]).is_empty() {
            return ApplyOutcome::Invalid {
                reason: "changes depend on changes this store does not have".into(),
            };
        }
        if let Err(refused) = self.keep_verified(&doc, &before, pool) {
            return refused;
        }
        let heads = doc.get_heads();
        if heads != before {
            let saved = doc.save();
            self.store(&id, kind, doc, saved);
        }
        ApplyOutcome::Applied { heads }
    }
}

impl Inner {
    /// Verifies the changes of `doc` after `before` against `pool` and keeps their signatures,
    /// or says why the document is refused.
    fn keep_verified(
        &mut self,
        doc: &Automerge,
        before: &[ChangeHash],
        pool: &SignaturePool,
    ) -> Result<(), ApplyOutcome> {
        let verified = verify_new_changes(doc, before, |hash| pool.get(hash)).map_err(|e| {
            ApplyOutcome::Invalid {
                reason: e.to_string(),
            }
        })?;
        self.signatures.extend(verified);
        Ok(())
    }
}

impl DocumentStore for MemoryStore {
    fn changed_since(&self, after: Seq, limit: usize) -> Result<Vec<ChangedDoc>, StoreError> {
        let inner = self.lock();
        let changed = inner
            .by_seq
            .range(after + 1..)
            .take(limit)
            .map(|(seq, id)| {
                let entry = &inner.docs[id];
                ChangedDoc {
                    doc: DocSeq {
                        id: id.clone(),
                        kind: entry.kind,
                        seq: *seq,
                    },
                    heads: entry.doc.get_heads(),
                }
            })
            .collect();
        Ok(changed)
    }

    fn max_seq(&self) -> Result<Seq, StoreError> {
        Ok(self.lock().seq)
    }

    fn doc_heads(&self, id: &DocId) -> Result<Option<(DocKind, Vec<ChangeHash>)>, StoreError> {
        Ok(self
            .lock()
            .docs
            .get(id)
            .map(|entry| (entry.kind, entry.doc.get_heads())))
    }

    fn load(&self, id: &DocId) -> Result<Option<Automerge>, StoreError> {
        Ok(self.get(id))
    }

    fn export(&self, id: &DocId) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.lock().docs.get(id).map(|entry| entry.saved.clone()))
    }

    fn signatures(
        &self,
        id: &DocId,
        only: Option<&[ChangeHash]>,
    ) -> Result<Vec<SignedChange>, StoreError> {
        let inner = self.lock();
        let Some(entry) = inner.docs.get(id) else {
            return Ok(Vec::new());
        };
        let all: Vec<ChangeHash>;
        let hashes = match only {
            Some(only) => only,
            None => {
                all = entry
                    .doc
                    .get_changes(&[])
                    .iter()
                    .map(|c| c.hash())
                    .collect();
                &all
            }
        };
        Ok(hashes
            .iter()
            .filter_map(|hash| inner.signatures.get(hash).map(|sig| (*hash, *sig)))
            .collect())
    }

    fn commit(&self, commit: Commit) -> Result<Vec<ApplyOutcome>, StoreError> {
        let mut inner = self.lock();
        let outcomes = commit
            .docs
            .into_iter()
            .map(|incoming| inner.apply(incoming, &commit.signatures))
            .collect();
        let peer = inner.peers.entry(commit.peer).or_default();
        if let Some(epoch) = commit.reset_peer {
            *peer = PeerState {
                epoch: Some(epoch),
                ..PeerState::default()
            };
        }
        peer.shared.extend(commit.shared_heads);
        if let Some(cursor) = commit.cursor {
            peer.cursor = cursor;
        }
        Ok(outcomes)
    }

    fn epoch(&self) -> Result<Epoch, StoreError> {
        Ok(self.lock().epoch)
    }

    fn peer_epoch(&self, peer: &PeerId) -> Result<Option<Epoch>, StoreError> {
        Ok(self.lock().peers.get(peer).and_then(|state| state.epoch))
    }

    fn peer_cursor(&self, peer: &PeerId) -> Result<PeerCursor, StoreError> {
        Ok(self
            .lock()
            .peers
            .get(peer)
            .map(|state| state.cursor)
            .unwrap_or_default())
    }

    fn shared_heads(
        &self,
        peer: &PeerId,
        id: &DocId,
    ) -> Result<Option<Vec<ChangeHash>>, StoreError> {
        Ok(self
            .lock()
            .peers
            .get(peer)
            .and_then(|state| state.shared.get(id).cloned()))
    }

    /// Cost: walks every document (a memory store is small).
    fn attachments_wanted(&self, limit: usize) -> Result<Vec<(ContentHash, u64)>, StoreError> {
        let inner = self.lock();
        let mut wanted: Vec<ContentHash> = inner
            .docs
            .values()
            .flat_map(|entry| referenced(&entry.doc))
            .filter(|hash| inner.attachments.whole(hash).is_none())
            .collect();
        wanted.sort();
        wanted.dedup();
        wanted.truncate(limit);
        Ok(wanted
            .into_iter()
            .map(|hash| (hash, inner.attachments.held(&hash)))
            .collect())
    }

    /// Cost: walks every document.
    fn attachment_referrers(
        &self,
        hash: &ContentHash,
    ) -> Result<Vec<(DocId, DocKind)>, StoreError> {
        Ok(self
            .lock()
            .docs
            .iter()
            .filter(|(_, entry)| referenced(&entry.doc).contains(hash))
            .map(|(id, entry)| (id.clone(), entry.kind))
            .collect())
    }

    fn attachment_size(&self, hash: &ContentHash) -> Result<Option<u64>, StoreError> {
        Ok(self.lock().attachments.size(hash))
    }

    fn attachment_chunk(
        &self,
        hash: &ContentHash,
        index: u64,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.lock().attachments.chunk(hash, index))
    }

    fn receive_attachment_chunk(
        &self,
        hash: &ContentHash,
        size: u64,
        index: u64,
        bytes: &[u8],
    ) -> Result<ChunkOutcome, StoreError> {
        Ok(self.lock().attachments.receive(hash, size, index, bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::ROOT;

    fn peer() -> PeerId {
        PeerId::new("hub").unwrap()
    }

    fn incoming(id: &DocId, kind: DocKind, changes: Vec<u8>) -> IncomingDoc {
        IncomingDoc {
            id: id.clone(),
            kind,
            changes,
            loaded: None,
        }
    }

    #[test]
    fn edits_move_documents_to_new_sequence_numbers() {
        let store = MemoryStore::new();
        let (a, b) = (DocId::random(), DocId::random());
        store.edit(&a, DocKind::Submission, |tx| tx.put(ROOT, "x", 1).unwrap());
        store.edit(&b, DocKind::Form, |tx| tx.put(ROOT, "x", 1).unwrap());
        store.edit(&a, DocKind::Submission, |tx| tx.put(ROOT, "x", 2).unwrap());
        let changed = store.changed_since(0, 10).unwrap();
        let order: Vec<_> = changed
            .iter()
            .map(|c| (c.doc.id.clone(), c.doc.seq))
            .collect();
        assert_eq!(order, vec![(b.clone(), 2), (a.clone(), 3)]);
        assert_eq!(store.changed_since(2, 10).unwrap().len(), 1);
        assert_eq!(store.changed_since(0, 1).unwrap()[0].doc.id, b);
    }

    #[test]
    fn commit_applies_twice_harmlessly_and_refuses_per_document() {
        let source = MemoryStore::new();
        let id = DocId::random();
        source.edit(&id, DocKind::Submission, |tx| {
            tx.put(ROOT, "q", "yes").unwrap()
        });
        let bytes = source.export(&id).unwrap().unwrap();
        let target = MemoryStore::new();
        let other = DocId::random();
        target.edit(&other, DocKind::Form, |tx| tx.put(ROOT, "t", 1).unwrap());
        let mut commit = Commit::new(peer());
        commit.docs = vec![
            incoming(&id, DocKind::Submission, bytes.clone()),
            incoming(&other, DocKind::Submission, bytes.clone()),
            incoming(&DocId::random(), DocKind::Review, vec![1, 2, 3]),
        ];
        commit.cursor = Some(PeerCursor { theirs: 4, ours: 2 });
        let outcomes = target.commit(commit.clone()).unwrap();
        assert!(matches!(outcomes[0], ApplyOutcome::Applied { .. }));
        assert_eq!(
            outcomes[1],
            ApplyOutcome::KindMismatch {
                stored: DocKind::Form
            }
        );
        assert!(matches!(outcomes[2], ApplyOutcome::Invalid { .. }));
        assert_eq!(target.len(), 2);
        let seq_after_first = target.max_seq().unwrap();
        target.commit(commit).unwrap();
        assert_eq!(
            target.max_seq().unwrap(),
            seq_after_first,
            "a repeat changes nothing"
        );
        assert_eq!(
            target.peer_cursor(&peer()).unwrap(),
            PeerCursor { theirs: 4, ours: 2 }
        );
        assert_eq!(
            target.get(&id).unwrap().get_heads(),
            source.get(&id).unwrap().get_heads()
        );
    }
}
