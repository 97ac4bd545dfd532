//! Attachments in the hub's sync: the project's contents as minga-sync asks for them
//! (`ProjectDocuments`' attachment calls), and who may receive one. A device may receive a
//! content it delivered itself (a reinstalled phone gets its photos back), or one that a
//! document it may read references when that document is not its own: a supervisor reads
//! every submission, anyone reads forms. A facilitator reads only its own submissions, so a
//! submission it wrote naming a colleague's hash gets it nothing.

use crate::access::{self, DocAccess, DocKind, Principal, Role};
use crate::error::HubError;
use crate::storage::{HubStorage, ReceivedChunk, Referrer};
use minga_sync::{ChunkOutcome, ContentHash, DocId, StoreError};

fn store_error(error: HubError) -> StoreError {
    StoreError::new(error)
}

/// Contents the project's documents reference and the hub lacks whole.
pub(super) fn wanted(
    storage: &dyn HubStorage,
    project: &str,
    limit: usize,
) -> Result<Vec<(ContentHash, u64)>, StoreError> {
    let rows = storage
        .attachments_wanted(project, limit)
        .map_err(store_error)?;
    // A reference that is no hash was not recorded by this hub: it names nothing to ask for.
    Ok(rows
        .into_iter()
        .filter_map(|(hex, stored)| Some((ContentHash::from_hex(&hex).ok()?, stored)))
        .collect())
}

pub(super) fn referrers(
    storage: &dyn HubStorage,
    project: &str,
    hash: &ContentHash,
) -> Result<Vec<(DocId, minga_sync::DocKind)>, StoreError> {
    let rows = storage
        .attachment_referrers(project, &hash.to_hex())
        .map_err(store_error)?;
    rows.into_iter()
        .map(|row| Ok((DocId::new(row.id).map_err(StoreError::new)?, row.kind)))
        .collect()
}

pub(super) fn size(
    storage: &dyn HubStorage,
    project: &str,
    hash: &ContentHash,
) -> Result<Option<u64>, StoreError> {
    let row = storage
        .attachment(project, &hash.to_hex())
        .map_err(store_error)?;
    Ok(row.filter(|row| row.complete).map(|row| row.size))
}

pub(super) fn chunk(
    storage: &dyn HubStorage,
    project: &str,
    hash: &ContentHash,
    index: u64,
) -> Result<Option<Vec<u8>>, StoreError> {
    storage
        .attachment_chunk(project, &hash.to_hex(), index)
        .map_err(store_error)
}

pub(super) fn receive(
    storage: &dyn HubStorage,
    who: &Principal,
    chunk: &ReceivedChunk<'_>,
) -> Result<ChunkOutcome, StoreError> {
    storage
        .receive_attachment_chunk(&who.project, chunk, &who.device_id)
        .map_err(store_error)
}

/// Whether `who` may receive the content `hash` (see the module's rule). Refuses when the
/// rules cannot be checked.
pub(super) fn may_read(storage: &dyn HubStorage, who: &Principal, hash: &ContentHash) -> bool {
    let hex = hash.to_hex();
    let decided = storage.attachment(&who.project, &hex).and_then(|row| {
        let delivered = row.and_then(|row| row.uploader).as_deref() == Some(&who.device_id);
        if delivered {
            return Ok(true);
        }
        let referrers = storage.attachment_referrers(&who.project, &hex)?;
        Ok(referrers.iter().any(|doc| vouches(who, doc)))
    });
    decided.unwrap_or_else(|error| {
        tracing::error!(%error, "could not check who may read an attachment; refusing");
        false
    })
}

/// Whether document `doc`'s reference lets `who` receive the content: `who` may read it, and
/// it is not a document `who` wrote itself (which could name any hash).
fn vouches(who: &Principal, doc: &Referrer) -> bool {
    let access = DocAccess {
        project: &who.project,
        kind: doc.kind,
        submission_author: doc.author.as_deref(),
    };
    let written_by_who = doc.kind != DocKind::Form && doc.author.as_deref() == Some(&who.device_id);
    access::may_read(who, &access).is_ok() && (who.role == Role::Supervisor || !written_by_who)
}
