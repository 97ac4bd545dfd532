//! One side's attachment transfers in a session. Receiver-driven: a side asks for the
//! contents its stored documents reference and lacks (so they travel after those documents),
//! from the first chunk it lacks (so a cut costs at most a chunk: what was stored stays); the
//! other side sends a content only if its policy lets the peer read a document that
//! references it, in chunks of [`CHUNK_SIZE`] within the body's byte budget. The store checks
//! every chunk's place and length and the whole content against its hash; a refusal either way
//! stops the transfer for the session.

use std::collections::{HashMap, HashSet, VecDeque};

use crate::attachments::{chunk_count, ContentHash, CHUNK_SIZE};
use crate::error::SyncError;
use crate::ids::PeerId;
use crate::policy::Policy;
use crate::report::SyncReport;
use crate::store::{ChunkOutcome, DocumentStore};
use crate::wire::{AttachmentChunk, AttachmentFields, AttachmentRefusal, AttachmentWant};

/// Most contents asked for in one body.
const WANTS_PER_BODY: usize = 256;

/// A content being sent: its size and the next chunk to send.
struct Outgoing {
    hash: ContentHash,
    size: u64,
    next: u64,
}

/// A content asked for: its size once its first chunk told it, and the bytes held.
#[derive(Default)]
struct Incoming {
    size: Option<u64>,
    stored: u64,
}

/// The attachment half of a [`super::Side`].
#[derive(Default)]
pub(crate) struct Transfers {
    /// Whether this side asks for the contents it lacks (a supervisor's device may fetch them
    /// on demand instead).
    pub(crate) fetch: bool,
    /// When set, the only contents this side asks for (a fetch on demand).
    only: Option<HashSet<ContentHash>>,
    /// Every content asked for in this session: each is asked once.
    asked: HashSet<ContentHash>,
    incoming: HashMap<ContentHash, Incoming>,
    outgoing: VecDeque<Outgoing>,
    wants: Vec<AttachmentWant>,
    refusals: Vec<(ContentHash, AttachmentRefusal)>,
    /// Contents whose last chunk went in our last body: sent, unless the peer refuses them.
    finished: Vec<ContentHash>,
}

impl Transfers {
    pub(crate) fn new(fetch: bool) -> Self {
        Self {
            fetch,
            ..Self::default()
        }
    }

    /// Asks for these contents only, whatever `fetch` says: a fetch on demand.
    pub(crate) fn fetch_only(&mut self, hashes: impl IntoIterator<Item = ContentHash>) {
        self.fetch = true;
        self.only = Some(hashes.into_iter().collect());
    }

    /// Whether this side still waits for chunks it asked for.
    pub(crate) fn awaiting(&self) -> bool {
        !self.incoming.is_empty()
    }

    /// Bytes of attachments still to arrive or to send, as far as this side knows.
    pub(crate) fn bytes_left(&self) -> u64 {
        let incoming: u64 = self
            .incoming
            .values()
            .map(|content| content.size.unwrap_or(0).saturating_sub(content.stored))
            .sum();
        let outgoing: u64 = self
            .outgoing
            .iter()
            .map(|content| {
                content
                    .size
                    .saturating_sub(content.next * CHUNK_SIZE as u64)
            })
            .sum();
        incoming + outgoing
    }

    /// Refuses, before anything is applied, chunks of contents this side did not ask for and
    /// refusals of contents it neither asked for nor sent.
    pub(crate) fn check(&self, fields: &AttachmentFields) -> Result<(), SyncError> {
        for chunk in &fields.chunks {
            if !self.incoming.contains_key(&chunk.hash) {
                return Err(SyncError::UnexpectedAttachment {
                    hash: chunk.hash.to_hex(),
                });
            }
        }
        for (hash, _) in &fields.refusals {
            let ours = self.incoming.contains_key(hash)
                || self.finished.contains(hash)
                || self.outgoing.iter().any(|content| content.hash == *hash);
            if !ours {
                return Err(SyncError::UnexpectedAttachment {
                    hash: hash.to_hex(),
                });
            }
        }
        Ok(())
    }

    /// Takes the attachment fields of the peer's body (already checked): its refusals, its
    /// wants (each granted only as the policy lets the peer read a referencing document) and
    /// its chunks, each stored durably as it comes.
    pub(crate) fn receive<S: DocumentStore + ?Sized>(
        &mut self,
        store: &S,
        peer: &PeerId,
        policy: &dyn Policy,
        fields: AttachmentFields,
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        for (hash, reason) in &fields.refusals {
            self.incoming.remove(hash);
            self.outgoing.retain(|content| content.hash != *hash);
            self.finished.retain(|finished| finished != hash);
            report.attachments_refused.push((*hash, *reason));
        }
        report.attachments_sent += std::mem::take(&mut self.finished).len();
        for want in fields.wants {
            self.grant(store, peer, policy, want)?;
        }
        for chunk in fields.chunks {
            self.store_chunk(store, chunk, report)?;
        }
        Ok(())
    }

    /// Queues the content `want` names for sending, or refuses it.
    fn grant<S: DocumentStore + ?Sized>(
        &mut self,
        store: &S,
        peer: &PeerId,
        policy: &dyn Policy,
        want: AttachmentWant,
    ) -> Result<(), SyncError> {
        let referrers = store.attachment_referrers(&want.hash)?;
        if !policy.may_read_attachment(peer, &want.hash, &referrers) {
            self.refusals
                .push((want.hash, AttachmentRefusal::NotReadable));
            return Ok(());
        }
        match store.attachment_size(&want.hash)? {
            Some(size) => {
                self.outgoing.retain(|content| content.hash != want.hash);
                self.outgoing.push_back(Outgoing {
                    hash: want.hash,
                    size,
                    next: want.from_chunk,
                });
            }
            None => self.refusals.push((want.hash, AttachmentRefusal::Missing)),
        }
        Ok(())
    }

    fn store_chunk<S: DocumentStore + ?Sized>(
        &mut self,
        store: &S,
        chunk: AttachmentChunk,
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        // A content refused earlier in this body is not asked for any more.
        let Some(content) = self.incoming.get_mut(&chunk.hash) else {
            return Ok(());
        };
        report.attachment_bytes_received += chunk.bytes.len() as u64;
        content.size = Some(chunk.size);
        let outcome =
            store.receive_attachment_chunk(&chunk.hash, chunk.size, chunk.index, &chunk.bytes)?;
        match outcome {
            ChunkOutcome::Stored { stored } => content.stored = stored,
            ChunkOutcome::Whole => {
                self.incoming.remove(&chunk.hash);
                report.attachments_received += 1;
            }
            ChunkOutcome::Refused(reason) => {
                self.incoming.remove(&chunk.hash);
                self.refusals.push((chunk.hash, reason));
                report.attachments_refused.push((chunk.hash, reason));
            }
        }
        Ok(())
    }

    /// Fills the attachment fields of our next body: refusals, new wants, and chunks within
    /// `budget` bytes (at least one chunk when any is due, so transfers always move on).
    pub(crate) fn next_fields<S: DocumentStore + ?Sized>(
        &mut self,
        store: &S,
        budget: usize,
        report: &mut SyncReport,
    ) -> Result<AttachmentFields, SyncError> {
        let mut fields = AttachmentFields {
            refusals: std::mem::take(&mut self.refusals),
            ..AttachmentFields::default()
        };
        if self.fetch {
            self.ask(store)?;
        }
        fields.wants = std::mem::take(&mut self.wants);
        let mut budget = budget;
        while let Some(content) = self.outgoing.front_mut() {
            if budget == 0 && !fields.chunks.is_empty() {
                break;
            }
            let bytes = if content.size == 0 {
                Vec::new()
            } else {
                match store.attachment_chunk(&content.hash, content.next)? {
                    Some(bytes) => bytes,
                    None => {
                        // Gone since it was granted: tell the peer rather than send a hole.
                        fields
                            .refusals
                            .push((content.hash, AttachmentRefusal::Missing));
                        self.outgoing.pop_front();
                        continue;
                    }
                }
            };
            budget = budget.saturating_sub(bytes.len().max(1));
            report.attachment_bytes_sent += bytes.len() as u64;
            fields.chunks.push(AttachmentChunk {
                hash: content.hash,
                size: content.size,
                index: content.next,
                bytes,
            });
            content.next += 1;
            if content.next >= chunk_count(content.size).max(1) {
                self.finished.push(content.hash);
                self.outgoing.pop_front();
            }
        }
        Ok(fields)
    }

    /// Asks for the contents the store wants that were not asked for yet in this session.
    fn ask<S: DocumentStore + ?Sized>(&mut self, store: &S) -> Result<(), SyncError> {
        let wanted = store.attachments_wanted(self.asked.len() + WANTS_PER_BODY)?;
        for (hash, stored) in wanted {
            let chosen = self.only.as_ref().is_none_or(|only| only.contains(&hash));
            if !chosen || self.wants.len() == WANTS_PER_BODY || !self.asked.insert(hash) {
                continue;
            }
            self.incoming.insert(hash, Incoming { size: None, stored });
            self.wants.push(AttachmentWant {
                hash,
                from_chunk: stored / CHUNK_SIZE as u64,
            });
        }
        Ok(())
    }
}
