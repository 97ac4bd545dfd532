//! The attachment fields of a body (protocol version 4): the contents a side wants and from
//! which chunk, the chunks it sends, and the contents it refuses to send or to keep. Each list
//! follows the document fields of `encode_body`, so a body without attachments costs three
//! zero bytes.

use std::collections::HashSet;

use crate::attachments::ContentHash;
use crate::error::WireError;

use super::codec::{Reader, Writer};
use super::MAX_LIST;

/// "Send me this content, from chunk `from_chunk` on" (the chunks before it are stored here).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachmentWant {
    pub hash: ContentHash,
    pub from_chunk: u64,
}

/// One chunk of a content: `size` is the whole content's, `index` counts chunks from 0.
#[derive(Clone, PartialEq, Eq)]
pub struct AttachmentChunk {
    pub hash: ContentHash,
    pub size: u64,
    pub index: u64,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for AttachmentChunk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "AttachmentChunk({:?}, chunk {} of a {}-byte content, {} bytes)",
            self.hash,
            self.index,
            self.size,
            self.bytes.len()
        )
    }
}

/// Why a content was not sent, or not kept: the peer stops asking for it, or sending it, for
/// the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttachmentRefusal {
    /// No document that references it may be read by the asking peer (the responder's policy
    /// decides; knowing a hash gets nothing).
    NotReadable = 1,
    /// The content is not whole on this side (not received yet, or never stored).
    Missing = 2,
    /// The chunks received are not the content the hash names; nothing of them was kept.
    Mismatch = 3,
    /// The content is larger than this side takes; nothing of it was kept.
    TooLarge = 4,
    /// This side's store keeps no attachments.
    Unsupported = 5,
    /// Bundles only: no document the importer took from the bundle references the content,
    /// so it was not kept (a bundle's writer cannot make a store keep what nothing names).
    Unreferenced = 6,
}

impl AttachmentRefusal {
    fn from_code(code: u8) -> Result<Self, WireError> {
        Ok(match code {
            1 => Self::NotReadable,
            2 => Self::Missing,
            3 => Self::Mismatch,
            4 => Self::TooLarge,
            5 => Self::Unsupported,
            6 => Self::Unreferenced,
            other => return Err(WireError::UnknownReason(other)),
        })
    }
}

/// The attachment fields of one body.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AttachmentFields {
    pub wants: Vec<AttachmentWant>,
    pub chunks: Vec<AttachmentChunk>,
    pub refusals: Vec<(ContentHash, AttachmentRefusal)>,
}

impl AttachmentFields {
    pub fn is_empty(&self) -> bool {
        self.wants.is_empty() && self.chunks.is_empty() && self.refusals.is_empty()
    }
}

pub(super) fn encode(writer: &mut Writer, fields: &AttachmentFields) {
    writer.varint(fields.wants.len() as u64);
    for want in &fields.wants {
        writer.fixed(want.hash.as_bytes());
        writer.varint(want.from_chunk);
    }
    writer.varint(fields.chunks.len() as u64);
    for chunk in &fields.chunks {
        writer.fixed(chunk.hash.as_bytes());
        writer.varint(chunk.size);
        writer.varint(chunk.index);
        writer.bytes(&chunk.bytes);
    }
    writer.varint(fields.refusals.len() as u64);
    for (hash, reason) in &fields.refusals {
        writer.fixed(hash.as_bytes());
        writer.u8(*reason as u8);
    }
}

pub(super) fn decode(reader: &mut Reader<'_>) -> Result<AttachmentFields, WireError> {
    let count = reader.count("attachment wants", 33, MAX_LIST)?;
    let mut wants = Vec::with_capacity(count);
    let mut seen = HashSet::with_capacity(count);
    for _ in 0..count {
        let hash = hash(reader)?;
        unique(&mut seen, hash, "attachment wants")?;
        let from_chunk = reader.varint("first chunk wanted")?;
        wants.push(AttachmentWant { hash, from_chunk });
    }
    let count = reader.count("attachment chunks", 35, MAX_LIST)?;
    let mut chunks = Vec::with_capacity(count);
    let mut seen = HashSet::with_capacity(count);
    for _ in 0..count {
        let hash = hash(reader)?;
        let size = reader.varint("attachment size")?;
        let index = reader.varint("chunk index")?;
        if !seen.insert((hash, index)) {
            return Err(WireError::DuplicateAttachment {
                hash: hash.to_hex(),
                what: "attachment chunks",
            });
        }
        let bytes = reader.bytes("chunk bytes")?.to_vec();
        chunks.push(AttachmentChunk {
            hash,
            size,
            index,
            bytes,
        });
    }
    let count = reader.count("attachment refusals", 33, MAX_LIST)?;
    let mut refusals = Vec::with_capacity(count);
    let mut seen = HashSet::with_capacity(count);
    for _ in 0..count {
        let hash = hash(reader)?;
        unique(&mut seen, hash, "attachment refusals")?;
        refusals.push((
            hash,
            AttachmentRefusal::from_code(reader.u8("attachment refusal")?)?,
        ));
    }
    Ok(AttachmentFields {
        wants,
        chunks,
        refusals,
    })
}

fn hash(reader: &mut Reader<'_>) -> Result<ContentHash, WireError> {
    let mut bytes = [0u8; 32];
    bytes.copy_from_slice(reader.fixed(32, "content hash")?);
    Ok(ContentHash::from_bytes(bytes))
}

fn unique(
    seen: &mut HashSet<ContentHash>,
    hash: ContentHash,
    what: &'static str,
) -> Result<(), WireError> {
    if seen.insert(hash) {
        Ok(())
    } else {
        Err(WireError::DuplicateAttachment {
            hash: hash.to_hex(),
            what,
        })
    }
}
