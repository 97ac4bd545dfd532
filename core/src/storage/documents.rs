//! The `documents` table, one row per stored automerge document: its kind, the sequence number
//! of its latest change, its heads and the sizes of its chunks. Every statement on the table is
//! here; the rows are written only by the store's write path (`store::write`), inside its
//! transaction.

use crate::document::{DocId, DocKind};
use crate::error::{Error, Result};
use automerge::ChangeHash;
use minga_sync::{ChangedDoc, DocSeq};
use rusqlite::{params, Connection, OptionalExtension};

/// A document and the sequence number of its latest change in this store: sync's
/// [`DocSeq`] with the core's UUID ids.
pub type DocumentSeq = DocSeq<DocId>;

/// What a row says about a document's chunks: the snapshot's length and the increments' total.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ChunkSizes {
    pub(crate) snapshot: i64,
    pub(crate) increments: i64,
}

/// Writes the document's row: its kind, sequence number, heads and chunk sizes. One statement
/// for a new document or a changed one (a row's kind never changes).
pub(crate) fn write_row(
    conn: &Connection,
    id: &DocId,
    kind: DocKind,
    seq: i64,
    heads: &[ChangeHash],
    sizes: ChunkSizes,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO documents (doc_id, kind, seq, heads, snapshot_len, increments_len)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (doc_id) DO UPDATE SET seq = excluded.seq, heads = excluded.heads,
             snapshot_len = excluded.snapshot_len, increments_len = excluded.increments_len",
    )?
    .execute(params![
        id.as_bytes(),
        kind.code(),
        seq,
        encode_heads(heads),
        sizes.snapshot,
        sizes.increments
    ])?;
    Ok(())
}

/// The chunk sizes of a stored document; `None` if it is not stored. Cost: one primary-key
/// lookup.
pub(crate) fn chunk_sizes(conn: &Connection, id: &DocId) -> Result<Option<ChunkSizes>> {
    Ok(conn
        .prepare_cached("SELECT snapshot_len, increments_len FROM documents WHERE doc_id = ?1")?
        .query_row([id.as_bytes()], |row| {
            Ok(ChunkSizes {
                snapshot: row.get(0)?,
                increments: row.get(1)?,
            })
        })
        .optional()?)
}

/// A document's kind and heads from its row; `None` if it is not stored. Cost: one
/// primary-key lookup; the document is not decoded.
pub(crate) fn kind_and_heads(
    conn: &Connection,
    id: &DocId,
) -> Result<Option<(DocKind, Vec<ChangeHash>)>> {
    let row: Option<(i64, Vec<u8>)> = conn
        .prepare_cached("SELECT kind, heads FROM documents WHERE doc_id = ?1")?
        .query_row([id.as_bytes()], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    row.map(|(kind, heads)| Ok((DocKind::from_code(kind)?, decode_heads(&heads)?)))
        .transpose()
}

/// The rows of documents whose sequence number is above `after`, in sequence order, at most
/// `limit`, with their heads as stored, as sync reads them. Cost: one range scan of `documents_by_seq`.
pub(crate) fn changed_after(
    conn: &Connection,
    after: u64,
    limit: usize,
) -> Result<Vec<ChangedDoc>> {
    let mut statement = conn.prepare_cached(
        "SELECT doc_id, kind, seq, heads FROM documents WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    )?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    // A sequence number beyond what SQLite holds is beyond every row.
    let after = i64::try_from(after).unwrap_or(i64::MAX);
    let rows = statement.query_map(params![after, limit], |row| {
        Ok((
            row.get::<_, Vec<u8>>(0)?,
            row.get::<_, i64>(1)?,
            row.get::<_, i64>(2)?,
            row.get::<_, Vec<u8>>(3)?,
        ))
    })?;
    rows.map(|row| {
        let (id, kind, seq, heads) = row?;
        let doc = DocSeq {
            id: DocId::from_bytes(&id)?.into(),
            kind: DocKind::from_code(kind)?,
            seq: seq as u64,
        };
        let heads = decode_heads(&heads)?;
        Ok(ChangedDoc { doc, heads })
    })
    .collect()
}

/// The ids of every document of `kind`. Cost: a scan of the table (there is no index by kind:
/// it serves forms, which are few, and upgrades, which read every document anyway).
pub(crate) fn ids_of_kind(conn: &Connection, kind: DocKind) -> Result<Vec<DocId>> {
    let mut statement = conn.prepare_cached("SELECT doc_id FROM documents WHERE kind = ?1")?;
    let rows = statement.query_map([i64::from(kind.code())], |row| row.get::<_, Vec<u8>>(0))?;
    rows.map(|bytes| DocId::from_bytes(&bytes?)).collect()
}

/// How many documents the store holds. Cost: a scan of the table.
pub(crate) fn count(conn: &Connection) -> Result<u64> {
    let count: i64 = conn.query_row("SELECT count(*) FROM documents", [], |row| row.get(0))?;
    Ok(count as u64)
}

/// Heads as stored in `documents.heads` (and `peer_heads.heads`): the 32-byte hashes back to
/// back.
pub(crate) fn encode_heads(heads: &[ChangeHash]) -> Vec<u8> {
    minga_sync::heads_to_bytes(heads)
}

/// The reverse of [`encode_heads`].
pub(crate) fn decode_heads(bytes: &[u8]) -> Result<Vec<ChangeHash>> {
    minga_sync::heads_from_bytes(bytes).map_err(|not_heads| Error::Corrupt {
        detail: format!("a stored document's heads: {not_heads}"),
    })
}
