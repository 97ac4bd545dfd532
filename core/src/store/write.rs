//! The store's single write path. Every write of a document (a local edit, a new document,
//! received changes) ends in [`record`], inside one SQLite transaction: the document's new
//! chunks, its row with the next sequence number, and its projections move together, and the
//! write is queued for the observers, who hear of it once the store's lock is released. A write
//! that fails drops the document from memory, so that memory never runs ahead of disk.

use super::sign::sign_own_changes;
use super::sign::Receiver;
use super::Inner;
use crate::clock::{now_ms, now_seconds};
use crate::document::{self, DocId, DocKind};
use crate::error::{Error, Result};
use crate::storage::chunks::{self, DocCache, LoadedDoc};
use crate::storage::observer::ChangedDocument;
use crate::storage::projection::Refresh;
use crate::storage::{documents, projection, store_meta};
use automerge::transaction::CommitOptions;
use automerge::AutoCommit;
use rusqlite::Connection;

/// Writes a document's unsaved changes, gives its row the next sequence number and refreshes
/// its projection (`what` says which parts may have changed), inside the caller's
/// transaction. Returns the new sequence number, or `None` if the document had nothing new (so
/// nothing was written and no number was spent).
pub(crate) fn record(
    conn: &Connection,
    id: &DocId,
    kind: DocKind,
    loaded: &mut LoadedDoc,
    what: Refresh,
) -> Result<Option<u64>> {
    if !loaded.has_unsaved() {
        return Ok(None);
    }
    let seq = store_meta::next_seq(conn)?;
    chunks::persist(conn, id, loaded)?;
    documents::write_row(conn, id, kind, seq, loaded.saved_heads(), loaded.sizes())?;
    projection::refresh(conn, id, kind, &loaded.doc, now_ms(), what)?;
    Ok(Some(seq as u64))
}

impl Inner {
    /// Runs `read` on the decoded document `id` (loading it if needed). Nothing is written.
    pub(crate) fn read<R>(
        &mut self,
        id: &DocId,
        read: impl FnOnce(&mut AutoCommit) -> Result<R>,
    ) -> Result<R> {
        let loaded = self
            .cache
            .get_or_load(&self.conn, id, &self.actor)?
            .ok_or_else(|| Error::NotFound { id: id.to_string() })?;
        read(&mut loaded.doc)
    }

    /// Runs `edit` on the document `id` as one automerge change by this store's identity, and
    /// writes it durably before returning. If `edit` fails nothing is changed; if the write
    /// fails, the document is dropped from memory so that memory never runs ahead of disk.
    pub(crate) fn edit<R>(
        &mut self,
        id: &DocId,
        kind: DocKind,
        edit: impl FnOnce(&mut AutoCommit) -> Result<R>,
    ) -> Result<R> {
        self.edit_refreshing(id, kind, |doc| Ok((edit(doc)?, Refresh::Local)))
    }

    /// As [`Inner::edit`], for an edit that says what of the projections it may have changed
    /// (an answer's edit: see [`Refresh::Answers`]), so that only that is read again.
    pub(crate) fn edit_refreshing<R>(
        &mut self,
        id: &DocId,
        kind: DocKind,
        edit: impl FnOnce(&mut AutoCommit) -> Result<(R, Refresh)>,
    ) -> Result<R> {
        let Inner {
            conn,
            cache,
            identity,
            actor,
            key,
            committed,
        } = self;
        let loaded = cache
            .get_or_load(conn, id, actor)?
            .ok_or_else(|| Error::NotFound { id: id.to_string() })?;
        let edited = document::record_author(&mut loaded.doc, actor, identity)
            .and_then(|()| edit(&mut loaded.doc));
        let (result, what) = match edited {
            Ok(edited) => edited,
            Err(error) => {
                loaded.doc.rollback();
                return Err(error);
            }
        };
        loaded
            .doc
            .commit_with(CommitOptions::default().with_time(now_seconds()));
        let written = write_in_transaction(conn, |tx| {
            sign_own_changes(tx, key, id, loaded)?;
            record(tx, id, kind, loaded, what)
        });
        match written {
            Ok(seq) => {
                committed.extend(seq.map(|seq| ChangedDocument::local(*id, kind, seq)));
                Ok(result)
            }
            Err(error) => {
                cache.evict(id);
                Err(error)
            }
        }
    }

    /// Stores a new document, built (uncommitted) by this store's actor, as its first change.
    pub(crate) fn insert_new(
        &mut self,
        id: DocId,
        kind: DocKind,
        mut doc: AutoCommit,
    ) -> Result<()> {
        doc.commit_with(CommitOptions::default().with_time(now_seconds()));
        let mut loaded = LoadedDoc::new_unsaved(doc);
        let key = &self.key;
        let seq = write_in_transaction(&mut self.conn, |tx| {
            sign_own_changes(tx, key, &id, &mut loaded)?;
            record(tx, &id, kind, &mut loaded, Refresh::Local)
        })?;
        self.cache.insert(id, loaded);
        self.committed
            .extend(seq.map(|seq| ChangedDocument::local(id, kind, seq)));
        Ok(())
    }
}

pub(crate) fn write_in_transaction<R>(
    conn: &mut Connection,
    write: impl FnOnce(&Connection) -> Result<R>,
) -> Result<R> {
    let tx = conn.transaction()?;
    let result = write(&tx)?;
    tx.commit()?;
    Ok(result)
}

impl Inner {
    /// Runs `write` in one transaction with the document cache and this store's actor and key (a batch
    /// of received changes, a sync step): on success the documents it reports changed are
    /// queued for the observers; on failure nothing is written and the documents in `touched`
    /// are dropped from memory, so that memory never runs ahead of disk.
    pub(crate) fn write_documents<R>(
        &mut self,
        touched: &[DocId],
        write: impl FnOnce(
            &Connection,
            &mut DocCache,
            Receiver<'_>,
        ) -> Result<(R, Vec<ChangedDocument>)>,
    ) -> Result<R> {
        let Inner {
            conn,
            cache,
            actor,
            key,
            committed,
            ..
        } = self;
        let me = Receiver { actor, key };
        match write_in_transaction(conn, |tx| write(tx, cache, me)) {
            Ok((result, changed)) => {
                committed.extend(changed);
                Ok(result)
            }
            Err(error) => {
                for id in touched {
                    cache.evict(id);
                }
                Err(error)
            }
        }
    }
}
