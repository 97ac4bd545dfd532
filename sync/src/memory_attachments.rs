//! Attachment contents of a [`crate::MemoryStore`], in memory: what sync's own tests and
//! benchmarks move between two memory stores. Received chunks are judged by the same rule as
//! every store's ([`crate::attachments::fit_chunk`]), and a content is whole only once it
//! matched its hash.

use std::collections::HashMap;

use crate::attachments::{fit_chunk, ChunkFit, ContentHash, CHUNK_SIZE};
use crate::store::ChunkOutcome;
use crate::wire::AttachmentRefusal;

/// One content: its declared size, the bytes held (a prefix of whole chunks) and whether it
/// is whole and checked.
#[derive(Clone)]
struct Content {
    size: u64,
    bytes: Vec<u8>,
    whole: bool,
}

/// Contents by hash.
#[derive(Clone, Default)]
pub(crate) struct MemoryAttachments {
    contents: HashMap<ContentHash, Content>,
}

impl MemoryAttachments {
    /// Keeps `bytes` whole under their hash.
    pub(crate) fn add(&mut self, bytes: &[u8]) -> ContentHash {
        let hash = ContentHash::of(bytes);
        self.contents.insert(
            hash,
            Content {
                size: bytes.len() as u64,
                bytes: bytes.to_vec(),
                whole: true,
            },
        );
        hash
    }

    /// The content `hash`, if whole here.
    pub(crate) fn whole(&self, hash: &ContentHash) -> Option<&[u8]> {
        self.contents
            .get(hash)
            .filter(|content| content.whole)
            .map(|content| content.bytes.as_slice())
    }

    /// The bytes held of `hash` (whole or not).
    pub(crate) fn held(&self, hash: &ContentHash) -> u64 {
        self.contents
            .get(hash)
            .map_or(0, |content| content.bytes.len() as u64)
    }

    pub(crate) fn size(&self, hash: &ContentHash) -> Option<u64> {
        self.whole(hash).map(|bytes| bytes.len() as u64)
    }

    pub(crate) fn chunk(&self, hash: &ContentHash, index: u64) -> Option<Vec<u8>> {
        let bytes = self.whole(hash)?;
        let start = usize::try_from(index).ok()?.checked_mul(CHUNK_SIZE)?;
        let end = (start + CHUNK_SIZE).min(bytes.len());
        bytes.get(start..end).map(<[u8]>::to_vec)
    }

    /// Takes a received chunk as every store must: in order, at its length, the whole
    /// checked against the hash (a mismatch forgets every byte of it).
    pub(crate) fn receive(
        &mut self,
        hash: &ContentHash,
        size: u64,
        index: u64,
        bytes: &[u8],
    ) -> ChunkOutcome {
        let content = self.contents.entry(*hash).or_insert(Content {
            size,
            bytes: Vec::new(),
            whole: false,
        });
        if content.whole {
            return ChunkOutcome::Whole;
        }
        let held = content.bytes.len() as u64;
        match fit_chunk(content.size, size, held, index, bytes.len()) {
            Ok(ChunkFit::Stored) => return ChunkOutcome::Stored { stored: held },
            Ok(ChunkFit::Next) => content.bytes.extend_from_slice(bytes),
            Err(_) => {
                if held == 0 {
                    self.contents.remove(hash);
                }
                return ChunkOutcome::Refused(AttachmentRefusal::Mismatch);
            }
        }
        if (content.bytes.len() as u64) < size {
            return ChunkOutcome::Stored {
                stored: content.bytes.len() as u64,
            };
        }
        if ContentHash::of(&content.bytes) != *hash {
            self.contents.remove(hash);
            return ChunkOutcome::Refused(AttachmentRefusal::Mismatch);
        }
        content.whole = true;
        ChunkOutcome::Whole
    }
}
