//! The `attachments`, `attachment_chunks` and `attachment_refs` tables: attachment contents kept inside the
//! store's SQLCipher file (so encrypted at rest under the store's key, and durable as answers
//! are), in chunks of `minga_sync::CHUNK_SIZE`, one row per content. A row is named by its
//! SHA-256 only once its whole content is stored and checked (`complete`); until then it is
//! being received (`sha256` set, a prefix of its chunks stored) or being added by this device
//! inside one transaction (`sha256` NULL, never committed so). `attachment_refs` records which
//! document referenced which content, written by the projection with every document write and
//! never removed (a version that referenced a content keeps it wanted and readable). Every
//! statement on the three tables is here; `api/attachments.rs` decides when they run.

use crate::document::{DocId, DocKind};
use crate::error::Result;
use minga_sync::ContentHash;
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::BTreeSet;

/// One attachment row: how much of its content is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Row {
    /// The row's key, which its chunks name.
    pub(crate) id: i64,
    /// The whole content's size in bytes (declared by the sender while receiving).
    pub(crate) size: u64,
    /// The bytes stored so far: always whole chunks from the first.
    pub(crate) stored: u64,
    /// Whether every byte is stored and the whole content matched its hash.
    pub(crate) complete: bool,
}

/// The row named `hash`, if any. Cost: one lookup in the unique index on `sha256`.
pub(crate) fn find(conn: &Connection, hash: &ContentHash) -> Result<Option<Row>> {
    Ok(conn
        .prepare_cached(
            "SELECT attachment_id, size, stored, complete FROM attachments WHERE sha256 = ?1",
        )?
        .query_row([hash.as_bytes().as_slice()], |row| {
            Ok(Row {
                id: row.get(0)?,
                size: row.get::<_, i64>(1)? as u64,
                stored: row.get::<_, i64>(2)? as u64,
                complete: row.get(3)?,
            })
        })
        .optional()?)
}

/// Starts a row with nothing stored: named `hash` when receiving a known content, unnamed
/// (`None`) while this device adds one whose hash is not known yet. Returns its id. Cost: one
/// insert.
pub(crate) fn begin(conn: &Connection, hash: Option<&ContentHash>, size: u64) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO attachments (sha256, size, stored, complete) VALUES (?1, ?2, 0, 0)",
    )?
    .execute(params![hash.map(|h| h.as_bytes().to_vec()), size as i64])?;
    Ok(conn.last_insert_rowid())
}

/// Stores chunk `index` of row `id` and counts its bytes as stored. Cost: one insert of the
/// chunk (its bytes written once) and one primary-key update.
pub(crate) fn append_chunk(conn: &Connection, id: i64, index: u64, bytes: &[u8]) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO attachment_chunks (attachment_id, chunk_index, bytes) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![id, index as i64, bytes])?;
    conn.prepare_cached("UPDATE attachments SET stored = stored + ?2 WHERE attachment_id = ?1")?
        .execute(params![id, bytes.len() as i64])?;
    Ok(())
}

/// The bytes of chunk `index` of row `id`, if stored. Cost: one primary-key lookup and the
/// chunk's bytes.
pub(crate) fn chunk(conn: &Connection, id: i64, index: u64) -> Result<Option<Vec<u8>>> {
    Ok(conn
        .prepare_cached(
            "SELECT bytes FROM attachment_chunks WHERE attachment_id = ?1 AND chunk_index = ?2",
        )?
        .query_row(params![id, index as i64], |row| row.get(0))
        .optional()?)
}

/// Marks row `id` whole and checked, named `hash`, of `size` bytes. Cost: one update.
pub(crate) fn complete(conn: &Connection, id: i64, hash: &ContentHash, size: u64) -> Result<()> {
    conn.prepare_cached(
        "UPDATE attachments SET sha256 = ?2, size = ?3, complete = 1 WHERE attachment_id = ?1",
    )?
    .execute(params![id, hash.as_bytes().as_slice(), size as i64])?;
    Ok(())
}

/// Deletes row `id` and its chunks. Cost: one range delete of its chunks.
pub(crate) fn delete(conn: &Connection, id: i64) -> Result<()> {
    conn.prepare_cached("DELETE FROM attachment_chunks WHERE attachment_id = ?1")?
        .execute([id])?;
    conn.prepare_cached("DELETE FROM attachments WHERE attachment_id = ?1")?
        .execute([id])?;
    Ok(())
}

/// Records that document `id` references each content of `hashes` (those it already did
/// stay). Cost: one primary-key insert per reference.
pub(crate) fn record_refs(
    conn: &Connection,
    id: &DocId,
    hashes: &BTreeSet<ContentHash>,
) -> Result<()> {
    let mut insert = conn
        .prepare_cached("INSERT OR IGNORE INTO attachment_refs (sha256, doc_id) VALUES (?1, ?2)")?;
    for hash in hashes {
        insert.execute(params![hash.as_bytes().as_slice(), id.as_bytes()])?;
    }
    Ok(())
}

/// Contents referenced by a document and not whole here, in hash order, with the bytes held
/// of each, at most `limit`. Cost: a scan of `attachment_refs` with one lookup per content.
pub(crate) fn wanted(conn: &Connection, limit: usize) -> Result<Vec<(ContentHash, u64)>> {
    let mut statement = conn.prepare_cached(
        "SELECT r.sha256, coalesce(max(a.stored), 0) FROM attachment_refs r
         LEFT JOIN attachments a ON a.sha256 = r.sha256
         GROUP BY r.sha256 HAVING coalesce(max(a.complete), 0) = 0
         ORDER BY r.sha256 LIMIT ?1",
    )?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = statement.query_map([limit], |row| {
        Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, i64>(1)?))
    })?;
    let mut wanted = Vec::new();
    for row in rows {
        let (hash, stored) = row?;
        // A row whose key is no hash was not written here: it names nothing to ask for.
        if let Ok(bytes) = <[u8; 32]>::try_from(hash.as_slice()) {
            wanted.push((ContentHash::from_bytes(bytes), stored as u64));
        }
    }
    Ok(wanted)
}

/// The stored documents that reference `hash`, with their kinds. Cost: a range scan of
/// `attachment_refs` and one lookup per document.
pub(crate) fn referrers(conn: &Connection, hash: &ContentHash) -> Result<Vec<(DocId, DocKind)>> {
    let mut statement = conn.prepare_cached(
        "SELECT r.doc_id, d.kind FROM attachment_refs r
         JOIN documents d ON d.doc_id = r.doc_id WHERE r.sha256 = ?1",
    )?;
    let rows = statement.query_map([hash.as_bytes().as_slice()], |row| {
        Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, i64>(1)?))
    })?;
    rows.map(|row| {
        let (id, kind) = row?;
        Ok((DocId::from_bytes(&id)?, DocKind::from_code(kind)?))
    })
    .collect()
}
