//! Attachment contents in the hub's storage, written once over a small trait each backend's
//! transaction implements: contents per project, deduplicated by hash (two phones sending one
//! photo store it once), received chunk by chunk with each placed and sized by sync's rule
//! (`minga_sync::attachments::fit_chunk`) and the whole checked against its hash, refused past
//! the hub's limit. Which documents reference which content is recorded by the document
//! write path (`txn::store_one`).

use super::ReceivedChunk;
use crate::error::Result;
use minga_sync::attachments::{chunk_count, fit_chunk, ChunkFit};
use minga_sync::wire::AttachmentRefusal;
use minga_sync::{ChunkOutcome, ContentHash, ContentHasher};

/// The largest attachment the hub takes: 100 MB, a phone's default.
pub const ATTACHMENT_LIMIT: u64 = 100 * 1000 * 1000;

/// One stored content of a project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentRow {
    /// The whole content's size (declared by the sender while receiving).
    pub size: u64,
    /// Bytes stored: whole chunks from the first.
    pub stored: u64,
    /// Whether every byte is stored and the whole matched the hash.
    pub complete: bool,
    /// The device the content came from: it may fetch it back.
    pub uploader: Option<String>,
}

/// A document that references a content: what the policy is asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referrer {
    pub id: String,
    pub kind: crate::access::DocKind,
    pub author: Option<String>,
}

/// A backend's open transaction, as attachment writes need it. Hashes are lowercase hex.
pub trait AttachmentTx {
    fn attachment_row(&mut self, project: &str, hash: &str) -> Result<Option<AttachmentRow>>;
    /// Starts a row with nothing stored.
    fn begin_attachment(
        &mut self,
        project: &str,
        hash: &str,
        size: u64,
        uploader: &str,
    ) -> Result<()>;
    /// Stores chunk `index` and counts its bytes as stored.
    fn append_chunk(&mut self, project: &str, hash: &str, index: u64, bytes: &[u8]) -> Result<()>;
    fn chunk(&mut self, project: &str, hash: &str, index: u64) -> Result<Option<Vec<u8>>>;
    fn mark_complete(&mut self, project: &str, hash: &str) -> Result<()>;
    /// Deletes the row and its chunks.
    fn delete_attachment(&mut self, project: &str, hash: &str) -> Result<()>;
}

/// Stores `chunk` (chunk `index` of the content `hash` of `size` bytes) from `uploader` inside
/// the caller's transaction (which the caller commits whatever the outcome: a mismatch deletes
/// what was stored of the content). Cost: one chunk written; the last also reads the content
/// back once.
pub fn receive_chunk(
    tx: &mut impl AttachmentTx,
    project: &str,
    chunk: &ReceivedChunk<'_>,
    uploader: &str,
) -> Result<ChunkOutcome> {
    let ReceivedChunk {
        hash,
        size,
        index,
        bytes,
    } = *chunk;
    if size > ATTACHMENT_LIMIT {
        return Ok(ChunkOutcome::Refused(AttachmentRefusal::TooLarge));
    }
    let hex = hash.to_hex();
    let row = match tx.attachment_row(project, &hex)? {
        Some(row) => row,
        None => {
            tx.begin_attachment(project, &hex, size, uploader)?;
            AttachmentRow {
                size,
                stored: 0,
                complete: false,
                uploader: Some(uploader.to_owned()),
            }
        }
    };
    if row.complete {
        return Ok(ChunkOutcome::Whole);
    }
    match fit_chunk(row.size, size, row.stored, index, bytes.len()) {
        Ok(ChunkFit::Stored) => return Ok(ChunkOutcome::Stored { stored: row.stored }),
        Ok(ChunkFit::Next) => {}
        Err(_) => {
            if row.stored == 0 {
                tx.delete_attachment(project, &hex)?;
            }
            return Ok(ChunkOutcome::Refused(AttachmentRefusal::Mismatch));
        }
    }
    tx.append_chunk(project, &hex, index, bytes)?;
    let stored = row.stored + bytes.len() as u64;
    if stored < size {
        return Ok(ChunkOutcome::Stored { stored });
    }
    if stored_hash(tx, project, &hex, size)? != *hash {
        tx.delete_attachment(project, &hex)?;
        return Ok(ChunkOutcome::Refused(AttachmentRefusal::Mismatch));
    }
    tx.mark_complete(project, &hex)?;
    Ok(ChunkOutcome::Whole)
}

/// The SHA-256 of the chunks stored for `hash`, read back one at a time.
fn stored_hash(
    tx: &mut impl AttachmentTx,
    project: &str,
    hash: &str,
    size: u64,
) -> Result<ContentHash> {
    let mut hasher = ContentHasher::default();
    for index in 0..chunk_count(size) {
        if let Some(chunk) = tx.chunk(project, hash, index)? {
            hasher.update(&chunk);
        }
    }
    Ok(hasher.finish())
}

/// The hashes `doc` references, as the hub keeps them (hex).
pub fn references(doc: &automerge::Automerge) -> Vec<String> {
    minga_sync::attachments::referenced(doc)
        .iter()
        .map(ContentHash::to_hex)
        .collect()
}
