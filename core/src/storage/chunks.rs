//! How a document lives on disk: one snapshot chunk plus incremental change chunks, appended
//! as changes happen and folded into a new snapshot when they outgrow it (the `chunks` table,
//! whose every statement is here; the chunk sizes live in the document's row, `documents`);
//! and the bounded cache of decoded documents that saves reloading them on every call.

use super::documents::{self, ChunkSizes};
use crate::document::DocId;
use crate::error::{Error, Result};
use automerge::{ActorId, AutoCommit, ChangeHash};
use lru::LruCache;
use rusqlite::{params, Connection};
use std::num::NonZeroUsize;

/// A document decoded in memory, with what is needed to append only its new changes.
pub(crate) struct LoadedDoc {
    pub(crate) doc: AutoCommit,
    /// The heads as last written to disk: `save_after` these gives exactly the unsaved part.
    /// (After `load`, `save_incremental` would return the whole history again.)
    saved_heads: Vec<ChangeHash>,
    sizes: ChunkSizes,
}

impl LoadedDoc {
    /// A document that is not on disk yet: its first [`persist`] writes a snapshot.
    pub(crate) fn new_unsaved(doc: AutoCommit) -> Self {
        Self {
            doc,
            saved_heads: Vec::new(),
            sizes: ChunkSizes::default(),
        }
    }

    /// Whether the document holds changes that are not on disk. Cost: reading its heads.
    pub(crate) fn has_unsaved(&mut self) -> bool {
        self.doc.get_heads() != self.saved_heads
    }

    /// The heads as last written to disk by [`persist`].
    pub(crate) fn saved_heads(&self) -> &[ChangeHash] {
        &self.saved_heads
    }

    /// The chunk sizes as [`persist`] left them.
    pub(crate) fn sizes(&self) -> ChunkSizes {
        self.sizes
    }
}

/// Reads a document's chunks and decodes them. Cost: one index range scan plus automerge's
/// load, which is proportional to the document's history.
pub(crate) fn load(conn: &Connection, id: &DocId, actor: &ActorId) -> Result<Option<LoadedDoc>> {
    let Some(sizes) = documents::chunk_sizes(conn, id)? else {
        return Ok(None);
    };
    let mut doc = decode(id, &stored_bytes(conn, id)?)?;
    doc.set_actor(actor.clone());
    let saved_heads = doc.get_heads();
    Ok(Some(LoadedDoc {
        doc,
        saved_heads,
        sizes,
    }))
}

/// Decodes a document's stored chunks ([`stored_bytes`]); bytes that do not decode are
/// [`Error::Corrupt`] naming the document. Cost: automerge's load, proportional to the
/// document's history.
pub(crate) fn decode(id: &DocId, bytes: &[u8]) -> Result<AutoCommit> {
    // Hashes are not recomputed: these bytes were checked when they arrived, and SQLCipher's
    // per-page HMAC guards them on disk. Verifying costs half again as much (210 µs against
    // 140 µs for a 40-answer submission on the benchmark machine).
    let options =
        automerge::LoadOptions::new().verification_mode(automerge::VerificationMode::DontCheck);
    AutoCommit::load_with_options(bytes, options).map_err(|error| Error::Corrupt {
        detail: format!("document {id} does not decode: {error}"),
    })
}

/// A document's chunks back to back: a snapshot followed by increments, which
/// `Automerge::load` reads as one document (empty when the document is not stored). Cost: one
/// index range scan, no decoding.
pub(crate) fn stored_bytes(conn: &Connection, id: &DocId) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let mut statement =
        conn.prepare_cached("SELECT bytes FROM chunks WHERE doc_id = ?1 ORDER BY chunk_id")?;
    let mut rows = statement.query([id.as_bytes()])?;
    while let Some(row) = rows.next()? {
        bytes.extend_from_slice(row.get_ref(0)?.as_blob().map_err(rusqlite::Error::from)?);
    }
    Ok(bytes)
}

/// Writes whatever `loaded` has that is not on disk yet as a chunk, inside the caller's
/// transaction; the caller then writes the row (`documents::write_row`). Cost:
/// encoding the new changes and one insert; when increments outgrow the snapshot, a full save
/// and a rewrite, which keeps a document's chunks within twice its compact size.
pub(crate) fn persist(conn: &Connection, id: &DocId, loaded: &mut LoadedDoc) -> Result<()> {
    let increment = loaded.doc.save_after(&loaded.saved_heads);
    if increment.is_empty() {
        return Ok(());
    }
    let grown = loaded.sizes.increments + increment.len() as i64;
    if loaded.sizes.snapshot == 0 || grown > loaded.sizes.snapshot {
        let snapshot = loaded.doc.save();
        conn.prepare_cached("DELETE FROM chunks WHERE doc_id = ?1")?
            .execute([id.as_bytes()])?;
        insert_chunk(conn, id, &snapshot)?;
        loaded.sizes = ChunkSizes {
            snapshot: snapshot.len() as i64,
            increments: 0,
        };
    } else {
        insert_chunk(conn, id, &increment)?;
        loaded.sizes.increments = grown;
    }
    loaded.saved_heads = loaded.doc.get_heads();
    Ok(())
}

fn insert_chunk(conn: &Connection, id: &DocId, bytes: &[u8]) -> Result<()> {
    conn.prepare_cached("INSERT INTO chunks (doc_id, bytes) VALUES (?1, ?2)")?
        .execute(params![id.as_bytes(), bytes])?;
    Ok(())
}

/// The most recently used decoded documents, at most `capacity` of them.
pub(crate) struct DocCache {
    documents: LruCache<DocId, LoadedDoc>,
}

impl DocCache {
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        Self {
            documents: LruCache::new(capacity),
        }
    }

    /// The document `id`, decoded from disk if it is not in memory. `None` if not stored.
    pub(crate) fn get_or_load(
        &mut self,
        conn: &Connection,
        id: &DocId,
        actor: &ActorId,
    ) -> Result<Option<&mut LoadedDoc>> {
        if !self.documents.contains(id) {
            match load(conn, id, actor)? {
                Some(loaded) => {
                    self.documents.put(*id, loaded);
                }
                None => return Ok(None),
            }
        }
        Ok(self.documents.get_mut(id))
    }

    pub(crate) fn insert(&mut self, id: DocId, loaded: LoadedDoc) {
        self.documents.put(id, loaded);
    }

    /// Forgets `id`, so that the next call reloads it from disk: used when a write failed and
    /// memory may hold changes the disk does not.
    pub(crate) fn evict(&mut self, id: &DocId) {
        self.documents.pop(id);
    }

    pub(crate) fn clear(&mut self) {
        self.documents.clear();
    }
}

#[cfg(test)]
mod tests {
    use crate::document::{AnswerPath, DeviceIdentity, FormRef};
    use crate::store::{Encryption, Store};
    use minga_forms::Value;

    #[test]
    fn increments_are_folded_into_a_snapshot_and_reload_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let identity = DeviceIdentity::new("d", "u");
        let store = Store::open(&path, Encryption::PlainFile, identity.clone()).unwrap();
        let id = store.create_submission(&FormRef::new("f", "1")).unwrap();
        for n in 0..200 {
            store
                .set_answer(
                    &id,
                    &AnswerPath::new(format!("q{}", n % 20)),
                    &Value::Integer(n),
                )
                .unwrap();
        }
        let expected = store.answers(&id).unwrap();
        drop(store);

        let conn = rusqlite::Connection::open(&path).unwrap();
        let (chunks, stored): (i64, i64) = conn
            .query_row(
                "SELECT count(*), sum(length(bytes)) FROM chunks",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap();
        let (snapshot, increments): (i64, i64) = conn
            .query_row(
                "SELECT snapshot_len, increments_len FROM documents",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap();
        assert!(
            chunks < 200,
            "{chunks} chunks: increments were never compacted"
        );
        assert!(
            increments <= snapshot,
            "increments {increments} outgrew the snapshot {snapshot}"
        );
        assert_eq!(stored, snapshot + increments);
        drop(conn);

        let store = Store::open(&path, Encryption::PlainFile, identity).unwrap();
        assert_eq!(store.answers(&id).unwrap(), expected);
    }
}
