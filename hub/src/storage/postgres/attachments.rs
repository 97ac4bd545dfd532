//! The PostgreSQL backend's statements on attachments (`attachments`, `attachment_chunks`,
//! `attachment_refs`, schema version 5): the reads the sync glue makes, and [`AttachmentTx`]
//! for its transactions, whose logic is `storage::attachments`. The same statements as the
//! SQLite backend's, in PostgreSQL's types.

use crate::access::DocKind;
use crate::error::Result;
use crate::storage::attachments::{AttachmentRow, AttachmentTx, Referrer};
use postgres::GenericClient;

/// The row of `hash` in `project`. Cost: one key lookup.
pub(super) fn row(
    client: &mut impl GenericClient,
    project: &str,
    hash: &str,
) -> Result<Option<AttachmentRow>> {
    let found = client.query_opt(
        "SELECT size, stored, complete, uploader FROM attachments
         WHERE project = $1 AND sha256 = $2",
        &[&project, &hash],
    )?;
    Ok(match found {
        Some(row) => Some(AttachmentRow {
            size: row.try_get::<_, i64>(0)? as u64,
            stored: row.try_get::<_, i64>(1)? as u64,
            complete: row.try_get(2)?,
            uploader: row.try_get(3)?,
        }),
        None => None,
    })
}

/// Chunk `index` of `hash`, only when the content is whole. Cost: two key lookups.
pub(super) fn whole_chunk(
    client: &mut impl GenericClient,
    project: &str,
    hash: &str,
    index: u64,
) -> Result<Option<Vec<u8>>> {
    match row(client, project, hash)? {
        Some(row) if row.complete => chunk(client, project, hash, index),
        _ => Ok(None),
    }
}

fn chunk(
    client: &mut impl GenericClient,
    project: &str,
    hash: &str,
    index: u64,
) -> Result<Option<Vec<u8>>> {
    let found = client.query_opt(
        "SELECT bytes FROM attachment_chunks WHERE project = $1 AND sha256 = $2 AND chunk = $3",
        &[&project, &hash, &(index as i64)],
    )?;
    Ok(match found {
        Some(row) => Some(row.try_get(0)?),
        None => None,
    })
}

/// Contents referenced in `project` and not whole here. Cost: a scan of the project's
/// references with a lookup per content.
pub(super) fn wanted(
    client: &mut impl GenericClient,
    project: &str,
    limit: usize,
) -> Result<Vec<(String, u64)>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = client.query(
        "SELECT r.sha256, coalesce(max(a.stored), 0) FROM attachment_refs r
         LEFT JOIN attachments a ON a.project = r.project AND a.sha256 = r.sha256
         WHERE r.project = $1
         GROUP BY r.sha256 HAVING NOT coalesce(bool_or(a.complete), false)
         ORDER BY r.sha256 LIMIT $2",
        &[&project, &limit],
    )?;
    rows.iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get::<_, i64>(1)? as u64)))
        .collect()
}

/// The documents of `project` that reference `hash`. Cost: an index range scan and a lookup
/// per document.
pub(super) fn referrers(
    client: &mut impl GenericClient,
    project: &str,
    hash: &str,
) -> Result<Vec<Referrer>> {
    let rows = client.query(
        "SELECT d.id, d.kind, d.author FROM attachment_refs r
         JOIN documents d ON d.project = r.project AND d.id = r.doc
         WHERE r.project = $1 AND r.sha256 = $2",
        &[&project, &hash],
    )?;
    let mut referrers = Vec::new();
    for row in rows {
        let kind: i16 = row.try_get(1)?;
        // A kind this build does not know names no document a device may read.
        if let Ok(kind) = DocKind::from_code(kind) {
            referrers.push(Referrer {
                id: row.try_get(0)?,
                kind,
                author: row.try_get(2)?,
            });
        }
    }
    Ok(referrers)
}

/// Records the references of document `id`, keeping those already recorded.
pub(super) fn record_refs(
    client: &mut impl GenericClient,
    project: &str,
    id: &str,
    hashes: &[String],
) -> Result<()> {
    for hash in hashes {
        client.execute(
            "INSERT INTO attachment_refs (project, sha256, doc) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
            &[&project, hash, &id],
        )?;
    }
    Ok(())
}

impl AttachmentTx for postgres::Transaction<'_> {
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
        self.execute(
            "INSERT INTO attachments (project, sha256, size, stored, complete, uploader)
             VALUES ($1, $2, $3, 0, false, $4)",
            &[&project, &hash, &(size as i64), &uploader],
        )?;
        Ok(())
    }

    fn append_chunk(&mut self, project: &str, hash: &str, index: u64, bytes: &[u8]) -> Result<()> {
        self.execute(
            "INSERT INTO attachment_chunks (project, sha256, chunk, bytes) VALUES ($1, $2, $3, $4)",
            &[&project, &hash, &(index as i64), &bytes],
        )?;
        self.execute(
            "UPDATE attachments SET stored = stored + $3 WHERE project = $1 AND sha256 = $2",
            &[&project, &hash, &(bytes.len() as i64)],
        )?;
        Ok(())
    }

    fn chunk(&mut self, project: &str, hash: &str, index: u64) -> Result<Option<Vec<u8>>> {
        chunk(self, project, hash, index)
    }

    fn mark_complete(&mut self, project: &str, hash: &str) -> Result<()> {
        self.execute(
            "UPDATE attachments SET complete = true WHERE project = $1 AND sha256 = $2",
            &[&project, &hash],
        )?;
        Ok(())
    }

    fn delete_attachment(&mut self, project: &str, hash: &str) -> Result<()> {
        self.execute(
            "DELETE FROM attachment_chunks WHERE project = $1 AND sha256 = $2",
            &[&project, &hash],
        )?;
        self.execute(
            "DELETE FROM attachments WHERE project = $1 AND sha256 = $2",
            &[&project, &hash],
        )?;
        Ok(())
    }
}
