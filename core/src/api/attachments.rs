//! Attachments through a store: a photo, a recording or a signed consent sheet added from
//! bytes or streamed from a file, read back as a stream, and received chunk by chunk (what
//! sync calls). Contents are named by their SHA-256 (the reference an answer holds,
//! `Attachment::sha256`), so the same content added twice is stored once; they live inside
//! the store's encrypted file, in chunks of [`CHUNK_SIZE`] (`storage/attachments.rs`), so no
//! call ever holds a whole content in memory. Each call that returns has committed what it
//! stored; a content is present only once it is whole and matched its hash.

use crate::error::{Error, Result};
use crate::storage::attachments::{self, Row};
use crate::store::Store;
use minga_forms::Attachment;
use minga_sync::attachments::{chunk_count, fit_chunk, ChunkFit};
use minga_sync::wire::AttachmentRefusal;
use minga_sync::{ChunkOutcome, ContentHash, ContentHasher, StoreError, CHUNK_SIZE};
use rusqlite::Connection;
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::atomic::Ordering;

/// The largest attachment a store takes unless told otherwise: 100 MB.
pub const DEFAULT_ATTACHMENT_LIMIT: u64 = 100 * 1000 * 1000;

/// How much of an attachment a store holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttachmentState {
    /// Whole, and checked against its hash: it can be opened.
    Present { size: u64 },
    /// Being received: `stored` of `size` bytes are here (whole chunks from the first); the
    /// next sync resumes after them.
    Partial { stored: u64, size: u64 },
    /// Nothing of it is here.
    Missing,
}

impl From<Option<Row>> for AttachmentState {
    fn from(row: Option<Row>) -> Self {
        match row {
            Some(row) if row.complete => AttachmentState::Present { size: row.size },
            Some(row) => AttachmentState::Partial {
                stored: row.stored,
                size: row.size,
            },
            None => AttachmentState::Missing,
        }
    }
}

impl Store {
    /// Stores `content` as an attachment and returns the reference an answer holds (its
    /// SHA-256, with `media_type` and `file_name`). Durable on return. A content already
    /// stored is not stored again. Cost: one pass over `content`, written in chunks.
    pub fn add_attachment(
        &self,
        content: &[u8],
        media_type: &str,
        file_name: &str,
    ) -> Result<Attachment> {
        self.add_attachment_from(content, media_type, file_name)
    }

    /// Stores the file at `path` as an attachment, read in chunks (a 50 MB video is never
    /// held whole), named in the answer by the file's own name. A file larger than the limit
    /// ([`Store::set_attachment_limit`]) is refused before it is read. Durable on return.
    /// Cost: one pass over the file, under the store's lock.
    pub fn add_attachment_file(&self, path: &Path, media_type: &str) -> Result<Attachment> {
        let io_error = |source| Error::Io {
            path: path.to_owned(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io_error)?;
        let size = file.metadata().map_err(io_error)?.len();
        let limit = self.attachment_limit();
        if size > limit {
            return Err(Error::AttachmentTooLarge { size, limit });
        }
        let file_name = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.add_attachment_from(file, media_type, &file_name)
            .map_err(|error| match error {
                Error::AttachmentRead(source) => io_error(source),
                other => other,
            })
    }

    /// Stores what `content` yields as an attachment, in one transaction: its chunks are
    /// written as they are read and hashed, and the row is named by the hash at the end; a
    /// content already present is rolled back instead of stored twice. Nothing of a content
    /// past the limit, or whose reading fails (`AttachmentRead`), is stored. Cost: one pass
    /// over `content`, under the store's lock.
    pub fn add_attachment_from(
        &self,
        mut content: impl Read,
        media_type: &str,
        file_name: &str,
    ) -> Result<Attachment> {
        let limit = self.attachment_limit();
        let mut inner = self.lock();
        let tx = inner.conn.transaction()?;
        let (id, hash, size) = write_chunks(&tx, &mut content, limit)?;
        match attachments::find(&tx, &hash)? {
            // Already stored whole: dropping the transaction rolls this copy back.
            Some(row) if row.complete => {}
            existing => {
                // A partly received copy gives way to the whole one.
                if let Some(partial) = existing {
                    attachments::delete(&tx, partial.id)?;
                }
                attachments::complete(&tx, id, &hash, size)?;
                tx.commit()?;
            }
        }
        Ok(Attachment {
            sha256: hash.to_hex(),
            media_type: media_type.to_owned(),
            file_name: file_name.to_owned(),
        })
    }

    /// How much of the attachment `hash` this store holds. Cost: one index lookup.
    pub fn attachment_state(&self, hash: &ContentHash) -> Result<AttachmentState> {
        Ok(attachments::find(&self.lock().conn, hash)?.into())
    }

    /// A reader of the attachment `hash`, one chunk in memory at a time (each refill takes
    /// the store's lock briefly). `AttachmentNotPresent` unless it is whole here.
    pub fn open_attachment(&self, hash: &ContentHash) -> Result<AttachmentReader<'_>> {
        let row = attachments::find(&self.lock().conn, hash)?;
        match row {
            Some(row) if row.complete => Ok(AttachmentReader {
                store: self,
                row,
                next_chunk: 0,
                chunk: Vec::new(),
                read: 0,
            }),
            other => Err(Error::AttachmentNotPresent {
                sha256: hash.to_hex(),
                stored: other.map_or(0, |row| row.stored),
            }),
        }
    }

    /// The whole content of the attachment `hash`, in memory: for small ones (a signature);
    /// use [`Store::open_attachment`] or [`Store::save_attachment`] for the rest. Cost: the
    /// content's size in memory.
    pub fn read_attachment(&self, hash: &ContentHash) -> Result<Vec<u8>> {
        let mut reader = self.open_attachment(hash)?;
        let mut content = Vec::with_capacity(reader.row.size as usize);
        reader
            .read_to_end(&mut content)
            .map_err(Error::AttachmentRead)?;
        Ok(content)
    }

    /// Writes the attachment `hash` to a new file at `path` (replacing one there), chunk by
    /// chunk, and flushes it to disk; returns its size. Cost: one pass over the content.
    pub fn save_attachment(&self, hash: &ContentHash, path: &Path) -> Result<u64> {
        let mut reader = self.open_attachment(hash)?;
        let io_error = |source| Error::Io {
            path: path.to_owned(),
            source,
        };
        let mut file = std::fs::File::create(path).map_err(io_error)?;
        let size = io::copy(&mut reader, &mut file).map_err(io_error)?;
        file.flush().map_err(io_error)?;
        file.sync_all().map_err(io_error)?;
        Ok(size)
    }

    /// Stores chunk `index` of the attachment `hash`, whose whole content is `size` bytes,
    /// as received from a peer, and returns the attachment's state after it. Chunks arrive in
    /// order: `index` must be the first chunk not stored yet (a chunk already stored, or a
    /// content already whole, changes nothing). When the last chunk arrives the whole content
    /// is checked against `hash`; a mismatch deletes every chunk of it (`AttachmentMismatch`),
    /// so a content is never present unless it is the one its hash names. Durable on return.
    /// Cost: one chunk written; the last one also reads the content back once.
    pub fn receive_attachment_chunk(
        &self,
        hash: &ContentHash,
        size: u64,
        index: u64,
        bytes: &[u8],
    ) -> Result<AttachmentState> {
        let limit = self.attachment_limit();
        if size > limit {
            return Err(Error::AttachmentTooLarge { size, limit });
        }
        let mut inner = self.lock();
        let tx = inner.conn.transaction()?;
        let row = match attachments::find(&tx, hash)? {
            Some(row) => row,
            None => {
                let id = attachments::begin(&tx, Some(hash), size)?;
                Row {
                    id,
                    size,
                    stored: 0,
                    complete: false,
                }
            }
        };
        if row.complete {
            return Ok(Some(row).into());
        }
        match fit_chunk(row.size, size, row.stored, index, bytes.len()) {
            Ok(ChunkFit::Stored) => return Ok(Some(row).into()),
            Ok(ChunkFit::Next) => {}
            // Dropping the transaction rolls back a row begun for this chunk.
            Err(reason) => return Err(mismatch(hash, &reason)),
        }
        attachments::append_chunk(&tx, row.id, index, bytes)?;
        let stored = row.stored + bytes.len() as u64;
        let whole = stored == size;
        if whole && hash_of_stored(&tx, row.id, size)? != *hash {
            attachments::delete(&tx, row.id)?;
            tx.commit()?;
            return Err(mismatch(hash, "the whole content has another SHA-256"));
        }
        if whole {
            attachments::complete(&tx, row.id, hash, size)?;
        }
        tx.commit()?;
        Ok(if whole {
            AttachmentState::Present { size }
        } else {
            AttachmentState::Partial { stored, size }
        })
    }

    /// Chunk `index` of the attachment `hash` as stored, to send to a peer; `None` unless the
    /// attachment is whole here. Cost: one index lookup and the chunk's bytes.
    pub fn attachment_chunk(&self, hash: &ContentHash, index: u64) -> Result<Option<Vec<u8>>> {
        let inner = self.lock();
        match attachments::find(&inner.conn, hash)? {
            Some(row) if row.complete => attachments::chunk(&inner.conn, row.id, index),
            _ => Ok(None),
        }
    }

    /// The largest attachment this store takes, in bytes.
    pub fn attachment_limit(&self) -> u64 {
        self.attachment_limit.load(Ordering::Relaxed)
    }

    /// Sets the largest attachment this store takes (default [`DEFAULT_ATTACHMENT_LIMIT`])
    /// until it is closed. Contents already stored stay.
    pub fn set_attachment_limit(&self, bytes: u64) {
        self.attachment_limit.store(bytes, Ordering::Relaxed);
    }
}

/// Writes what `content` yields as the chunks of a new unnamed row, hashing as it goes;
/// returns the row, the hash and the size. Refuses a content past `limit` as soon as it
/// passes it. Cost: one pass over `content`, one chunk in memory.
fn write_chunks(
    conn: &Connection,
    content: &mut impl Read,
    limit: u64,
) -> Result<(i64, ContentHash, u64)> {
    let id = attachments::begin(conn, None, 0)?;
    let mut hasher = ContentHasher::default();
    let mut size = 0u64;
    let mut chunk = Vec::with_capacity(CHUNK_SIZE);
    for index in 0.. {
        chunk.clear();
        content
            .by_ref()
            .take(CHUNK_SIZE as u64)
            .read_to_end(&mut chunk)
            .map_err(Error::AttachmentRead)?;
        if chunk.is_empty() {
            break;
        }
        size += chunk.len() as u64;
        if size > limit {
            return Err(Error::AttachmentTooLarge { size, limit });
        }
        hasher.update(&chunk);
        attachments::append_chunk(conn, id, index, &chunk)?;
    }
    Ok((id, hasher.finish(), size))
}

/// The SHA-256 of the chunks stored for row `id`, read back one at a time. Cost: one pass
/// over the content.
fn hash_of_stored(conn: &Connection, id: i64, size: u64) -> Result<ContentHash> {
    let mut hasher = ContentHasher::default();
    for index in 0..chunk_count(size) {
        let chunk = attachments::chunk(conn, id, index)?.ok_or_else(|| Error::Corrupt {
            detail: format!("attachment row {id} lacks chunk {index}"),
        })?;
        hasher.update(&chunk);
    }
    Ok(hasher.finish())
}

/// What sync hears of a received chunk: the store's refusals of the content become refusals
/// the peer is told of; any other failure fails the sync step.
pub(crate) fn chunk_outcome(received: Result<AttachmentState>) -> Result<ChunkOutcome, StoreError> {
    match received {
        Ok(AttachmentState::Present { .. }) => Ok(ChunkOutcome::Whole),
        Ok(AttachmentState::Partial { stored, .. }) => Ok(ChunkOutcome::Stored { stored }),
        Ok(AttachmentState::Missing) => Ok(ChunkOutcome::Stored { stored: 0 }),
        Err(Error::AttachmentMismatch { .. }) => {
            Ok(ChunkOutcome::Refused(AttachmentRefusal::Mismatch))
        }
        Err(Error::AttachmentTooLarge { .. }) => {
            Ok(ChunkOutcome::Refused(AttachmentRefusal::TooLarge))
        }
        Err(error) => Err(StoreError::new(error)),
    }
}

fn mismatch(hash: &ContentHash, reason: &str) -> Error {
    Error::AttachmentMismatch {
        sha256: hash.to_hex(),
        reason: reason.to_owned(),
    }
}

/// A stored attachment's content, read chunk by chunk ([`Store::open_attachment`]).
pub struct AttachmentReader<'a> {
    store: &'a Store,
    row: Row,
    next_chunk: u64,
    chunk: Vec<u8>,
    read: usize,
}

impl AttachmentReader<'_> {
    /// The content's size in bytes.
    pub fn size(&self) -> u64 {
        self.row.size
    }

    /// Loads the next chunk; false at the end of the content.
    fn refill(&mut self) -> io::Result<bool> {
        if self.next_chunk == chunk_count(self.row.size) {
            return Ok(false);
        }
        let chunk = attachments::chunk(&self.store.lock().conn, self.row.id, self.next_chunk)
            .map_err(io::Error::other)?
            .ok_or_else(|| io::Error::other("the attachment was deleted while being read"))?;
        self.chunk = chunk;
        self.read = 0;
        self.next_chunk += 1;
        Ok(true)
    }
}

impl Read for AttachmentReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.read == self.chunk.len() {
            if !self.refill()? {
                return Ok(0);
            }
        }
        let n = out.len().min(self.chunk.len() - self.read);
        out[..n].copy_from_slice(&self.chunk[self.read..self.read + n]);
        self.read += n;
        Ok(n)
    }
}
