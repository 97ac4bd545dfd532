//! The SQLite backend's statements on attachments (`attachments`, `attachment_chunks`,
//! `attachment_refs`, schema version 6): the reads the sync glue makes, and
//! [`AttachmentTx`] for its transactions, whose logic is `storage::attachments`.

use crate::access::DocKind;
use crate::error::Result;
use crate::storage::attachments::{AttachmentRow, AttachmentTx, Referrer};
use rusqlite::{params, Connection, OptionalExtension};

/// The row of `hash` in `project`. Cost: one key lookup.
pub(super) fn row(conn: &Connection, project: &str, hash: &str) -> Result<Option<AttachmentRow>> {
    Ok(conn
        .prepare_cached(
            "SELECT size, stored, complete, uploader FROM attachments
             WHERE project = ?1 AND sha256 = ?2",
        )?
        .query_row(params![project, hash], |row| {
            Ok(AttachmentRow {
                size: row.get::<_, i64>(0)? as u64,
                stored: row.get::<_, i64>(1)? as u64,
                complete: row.get(2)?,
                uploader: row.get(3)?,
            })
        })
        .optional()?)
}

/// Chunk `index` of `hash`, only when the content is whole. Cost: two key lookups.
pub(super) fn whole_chunk(
    conn: &Connection,
    project: &str,
    hash: &str,
    index: u64,
) -> Result<Option<Vec<u8>>> {
    match row(conn, project, hash)? {
        Some(row) if row.complete => chunk(conn, project, hash, index),
        _ => Ok(None),
    }
}

fn chunk(conn: &Connection, project: &str, hash: &str, index: u64) -> Result<Option<Vec<u8>>> {
    Ok(conn
        .prepare_cached(
            "SELECT bytes FROM attachment_chunks WHERE project = ?1 AND sha256 = ?2 AND chunk = ?3",
        )?
        .query_row(params![project, hash, index as i64], |row| row.get(0))
        .optional()?)
}

/// Contents referenced in `project` and not whole here. Cost: a scan of the project's
/// references with a lookup per content.
pub(super) fn wanted(conn: &Connection, project: &str, limit: usize) -> Result<Vec<(String, u64)>> {
    let mut statement = conn.prepare_cached(
        "SELECT r.sha256, coalesce(max(a.stored), 0) FROM attachment_refs r
         LEFT JOIN attachments a ON a.project = r.project AND a.sha256 = r.sha256
         WHERE r.project = ?1
         GROUP BY r.sha256 HAVING coalesce(max(a.complete), 0) = 0
         ORDER BY r.sha256 LIMIT ?2",
    )?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = statement.query_map(params![project, limit], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)? as u64))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The documents of `project` that reference `hash`. Cost: an index range scan and a lookup
/// per document.
pub(super) fn referrers(conn: &Connection, project: &str, hash: &str) -> Result<Vec<Referrer>> {
    let mut statement = conn.prepare_cached(
        "SELECT d.id, d.kind, d.author FROM attachment_refs r
         JOIN documents d ON d.project = r.project AND d.id = r.doc
         WHERE r.project = ?1 AND r.sha256 = ?2",
    )?;
    let rows = statement.query_map(params![project, hash], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, i64>(1)?,
            row.get::<_, Option<String>>(2)?,
        ))
    })?;
    let mut referrers = Vec::new();
    for row in rows {
        let (id, kind, author) = row?;
        // A kind this build does not know names no document a device may read.
        if let Ok(kind) = DocKind::from_code(kind) {
            referrers.push(Referrer { id, kind, author });
        }
    }
    Ok(referrers)
}

/// Records the references of document `id`, keeping those already recorded.
pub(super) fn record_refs(
    conn: &Connection,
    project: &str,
    id: &str,
    hashes: &[String],
) -> Result<()> {
    let mut insert = conn.prepare_cached(
        "INSERT OR IGNORE INTO attachment_refs (project, sha256, doc) VALUES (?1, ?2, ?3)",
    )?;
    for hash in hashes {
        insert.execute(params![project, hash, id])?;
    }
    Ok(())
}

impl AttachmentTx for rusqlite::Transaction<'_> {
    fn attachment_row(&mut self, project: &str, hash: &str) -> Result<Option<AttachmentRow>> {
        row(self, project, hash)
    }

    fn begin_attachment(
        &mut self,
        project: &str,
        hash: &str,
        size: u64,
        uploader: &str,
    ) -> Result<()> {
        self.prepare_cached(
            "INSERT INTO attachments (project, sha256, size, stored, complete, uploader)
             VALUES (?1, ?2, ?3, 0, 0, ?4)",
        )?
        .execute(params![project, hash, size as i64, uploader])?;
        Ok(())
    }

    fn append_chunk(&mut self, project: &str, hash: &str, index: u64, bytes: &[u8]) -> Result<()> {
        self.prepare_cached(
            "INSERT INTO attachment_chunks (project, sha256, chunk, bytes) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![project, hash, index as i64, bytes])?;
        self.prepare_cached(
            "UPDATE attachments SET stored = stored + ?3 WHERE project = ?1 AND sha256 = ?2",
        )?
        .execute(params![project, hash, bytes.len() as i64])?;
        Ok(())
    }

    fn chunk(&mut self, project: &str, hash: &str, index: u64) -> Result<Option<Vec<u8>>> {
        chunk(self, project, hash, index)
    }

    fn mark_complete(&mut self, project: &str, hash: &str) -> Result<()> {
        self.prepare_cached(
            "UPDATE attachments SET complete = 1 WHERE project = ?1 AND sha256 = ?2",
        )?
        .execute(params![project, hash])?;
        Ok(())
    }

    fn delete_attachment(&mut self, project: &str, hash: &str) -> Result<()> {
        self.prepare_cached("DELETE FROM attachment_chunks WHERE project = ?1 AND sha256 = ?2")?
            .execute(params![project, hash])?;
        self.prepare_cached("DELETE FROM attachments WHERE project = ?1 AND sha256 = ?2")?
            .execute(params![project, hash])?;
        Ok(())
    }
}
