//! The attachment contents a bundle carries (bundle format 2): which ones the writer puts in
//! (those its documents reference, whole here, that the policy lets the recipient read), their
//! raw bytes written after the documents' frame one chunk at a time, and the importer's side:
//! each content read back chunk by chunk into the store, which checks the whole against its
//! hash. Neither side ever holds more than one chunk of a content in memory.

use std::collections::BTreeSet;
use std::io::{self, Read, Write};

use crate::attachments::{chunk_count, ContentHash, CHUNK_SIZE};
use crate::error::WireError;
use crate::ids::PeerId;
use crate::policy::Policy;
use crate::report::SyncReport;
use crate::store::{ChunkOutcome, DocumentStore};
use crate::wire::codec::{Reader, Writer};
use crate::wire::{AttachmentRefusal, MAX_LIST};

use super::BundleError;

/// One content listed in a bundle: its bytes follow the documents' frame, in list order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Listed {
    pub hash: ContentHash,
    pub size: u64,
}

/// The contents among `referenced` that are whole in `store` and that `policy` lets `to`
/// read, in hash order. Cost: one size lookup, and one referrers lookup per whole content.
pub(super) fn carried<S: DocumentStore + ?Sized>(
    store: &S,
    to: &PeerId,
    policy: &dyn Policy,
    referenced: &BTreeSet<ContentHash>,
) -> Result<Vec<Listed>, BundleError> {
    let mut listed = Vec::new();
    for hash in referenced {
        let Some(size) = store.attachment_size(hash)? else {
            continue; // not whole here: the recipient's next sync asks for it
        };
        let referrers = store.attachment_referrers(hash)?;
        if policy.may_read_attachment(to, hash, &referrers) {
            listed.push(Listed { hash: *hash, size });
        }
    }
    Ok(listed)
}

pub(super) fn encode_list(writer: &mut Writer, listed: &[Listed]) {
    writer.varint(listed.len() as u64);
    for content in listed {
        writer.fixed(content.hash.as_bytes());
        writer.varint(content.size);
    }
}

pub(super) fn decode_list(reader: &mut Reader<'_>) -> Result<Vec<Listed>, WireError> {
    let count = reader.count("bundle contents", 33, MAX_LIST)?;
    let mut listed: Vec<Listed> = Vec::with_capacity(count);
    let mut seen = BTreeSet::new();
    for _ in 0..count {
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(reader.fixed(32, "content hash")?);
        let hash = ContentHash::from_bytes(bytes);
        if !seen.insert(hash) {
            return Err(WireError::DuplicateAttachment {
                hash: hash.to_hex(),
                what: "bundle contents",
            });
        }
        let size = reader.varint("attachment size")?;
        listed.push(Listed { hash, size });
    }
    Ok(listed)
}

/// Writes the bytes of every listed content to `out`, chunk by chunk as the store gives them,
/// counting them in `report`. Cost: one pass over each content, one chunk in memory.
pub(super) fn write<S: DocumentStore + ?Sized>(
    store: &S,
    listed: &[Listed],
    out: &mut impl Write,
    report: &mut SyncReport,
) -> Result<(), BundleError> {
    for content in listed {
        for index in 0..chunk_count(content.size) {
            let chunk = store.attachment_chunk(&content.hash, index)?.ok_or(
                BundleError::AttachmentVanished {
                    sha256: content.hash.to_hex(),
                },
            )?;
            out.write_all(&chunk).map_err(BundleError::Io)?;
            report.attachment_bytes_sent += chunk.len() as u64;
        }
        report.attachments_sent += 1;
    }
    Ok(())
}

/// Reads the bytes of every listed content from `input` into `store`: a content no accepted
/// document of the bundle references is skipped (`Unreferenced`), one already whole here is
/// skipped, and one the store refuses (a mismatch with its hash, past its size limit) is
/// skipped from there on with the refusal in `report`, nothing of it kept. Cost: one pass over
/// each content, one chunk in memory; each chunk is stored durably as it comes.
pub(super) fn import<S: DocumentStore + ?Sized>(
    store: &S,
    listed: &[Listed],
    referenced: &BTreeSet<ContentHash>,
    input: &mut impl Read,
    report: &mut SyncReport,
) -> Result<(), BundleError> {
    let mut chunk = vec![0u8; CHUNK_SIZE];
    for content in listed {
        let hash = &content.hash;
        if !referenced.contains(hash) {
            report
                .attachments_refused
                .push((*hash, AttachmentRefusal::Unreferenced));
            skip(input, content.size)?;
        } else if store.attachment_size(hash)?.is_some() {
            skip(input, content.size)?;
        } else {
            receive(store, content, input, &mut chunk, report)?;
        }
    }
    Ok(())
}

/// Stores one content's chunks as they are read; on a refusal, skips the rest of its bytes.
fn receive<S: DocumentStore + ?Sized>(
    store: &S,
    content: &Listed,
    input: &mut impl Read,
    chunk: &mut [u8],
    report: &mut SyncReport,
) -> Result<(), BundleError> {
    // An empty content travels as one empty chunk, as in a session.
    for index in 0..chunk_count(content.size).max(1) {
        let start = index * CHUNK_SIZE as u64;
        let len = (content.size - start).min(CHUNK_SIZE as u64) as usize;
        fill(input, &mut chunk[..len], "bundle contents")?;
        report.attachment_bytes_received += len as u64;
        match store.receive_attachment_chunk(&content.hash, content.size, index, &chunk[..len])? {
            ChunkOutcome::Stored { .. } => {}
            ChunkOutcome::Whole => report.attachments_received += 1,
            ChunkOutcome::Refused(reason) => {
                report.attachments_refused.push((content.hash, reason));
                return skip(input, content.size - start - len as u64);
            }
        }
    }
    Ok(())
}

/// Fills `buf` from the decrypted bundle; the bundle ending first is malformed (`what` was
/// cut short).
pub(super) fn fill(
    input: &mut impl Read,
    mut buf: &mut [u8],
    what: &'static str,
) -> Result<(), BundleError> {
    while !buf.is_empty() {
        match input.read(buf) {
            Ok(0) => return Err(WireError::Truncated { what }.into()),
            Ok(n) => buf = &mut buf[n..],
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(read_error(error)),
        }
    }
    Ok(())
}

/// Reads past `len` bytes of the decrypted bundle without keeping them.
fn skip(input: &mut impl Read, len: u64) -> Result<(), BundleError> {
    let skipped = io::copy(&mut input.take(len), &mut io::sink()).map_err(read_error)?;
    if skipped < len {
        return Err(WireError::Truncated {
            what: "bundle contents",
        }
        .into());
    }
    Ok(())
}

/// What a read of the decrypted bundle failing means: age reports a truncated or altered file
/// as invalid data or an early end; anything else is the file's own reading failing.
pub(super) fn read_error(error: io::Error) -> BundleError {
    match error.kind() {
        io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof => BundleError::Damaged,
        _ => BundleError::Io(error),
    }
}
