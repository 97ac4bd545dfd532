//! The contract's attachment bodies: contents referenced by documents are wanted until stored
//! whole, once per project; chunks that are not the content their hash names, or a content
//! past the limit, are refused with nothing kept.

use super::{named, write};
use crate::access::DocKind;
use crate::storage::attachments::ATTACHMENT_LIMIT;
use crate::storage::{HubStorage, ReceivedChunk};
use automerge::transaction::Transactable;
use minga_sync::wire::AttachmentRefusal;
use minga_sync::{ChunkOutcome, ContentHash, CHUNK_SIZE};

/// A submission `id` whose `photo` answer references `hash`.
fn photographed(id: &str, hash: &ContentHash) -> Vec<u8> {
    let mut doc = automerge::AutoCommit::new();
    let meta = doc
        .put_object(automerge::ROOT, "meta", automerge::ObjType::Map)
        .unwrap();
    doc.put(&meta, "id", id).unwrap();
    doc.put(&meta, "form_id", "f").unwrap();
    doc.put(&meta, "form_version", "1").unwrap();
    let answers = doc
        .put_object(automerge::ROOT, "answers", automerge::ObjType::Map)
        .unwrap();
    let photo = doc
        .put_object(&answers, "photo", automerge::ObjType::Map)
        .unwrap();
    doc.put(&photo, "sha256", hash.to_hex()).unwrap();
    doc.save()
}

/// Stores a submission referencing `hash` in project `p`: what an upgrade test stores before
/// taking the schema back.
pub fn store_photographed(storage: &dyn HubStorage, hash: &ContentHash) {
    let id = named("upgraded");
    storage
        .write_documents(
            "p",
            &[write(&id, DocKind::Submission, photographed(&id, hash))],
            None,
        )
        .unwrap();
}

/// Sends `content` as chunks from `index` on, named `hash`; the last outcome.
fn send(
    storage: &dyn HubStorage,
    hash: &ContentHash,
    content: &[u8],
    chunks: std::ops::Range<usize>,
) -> ChunkOutcome {
    let mut outcome = ChunkOutcome::Stored { stored: 0 };
    for index in chunks {
        let end = ((index + 1) * CHUNK_SIZE).min(content.len());
        let chunk = ReceivedChunk {
            hash,
            size: content.len() as u64,
            index: index as u64,
            bytes: &content[index * CHUNK_SIZE..end],
        };
        outcome = storage
            .receive_attachment_chunk("p", &chunk, "phone")
            .unwrap();
    }
    outcome
}

pub fn a_referenced_content_is_wanted_until_stored_whole_once_per_project(
    storage: &dyn HubStorage,
) {
    let photo: Vec<u8> = (0..CHUNK_SIZE + 10).map(|n| (n % 251) as u8).collect();
    let hash = ContentHash::of(&photo);
    let id = named("photo");
    storage
        .write_documents(
            "p",
            &[write(&id, DocKind::Submission, photographed(&id, &hash))],
            None,
        )
        .unwrap();
    assert_eq!(
        storage.attachments_wanted("p", 10).unwrap(),
        vec![(hash.to_hex(), 0)]
    );
    let referrers = storage.attachment_referrers("p", &hash.to_hex()).unwrap();
    assert_eq!(referrers.len(), 1);
    assert_eq!(referrers[0].id, id);
    assert_eq!(referrers[0].author.as_deref(), Some("dev"));
    assert_eq!(
        send(storage, &hash, &photo, 0..1),
        ChunkOutcome::Stored {
            stored: CHUNK_SIZE as u64
        }
    );
    assert_eq!(
        storage.attachments_wanted("p", 10).unwrap(),
        vec![(hash.to_hex(), CHUNK_SIZE as u64)],
        "a partial content is still wanted, from where it stops"
    );
    assert_eq!(
        storage.attachment_chunk("p", &hash.to_hex(), 0).unwrap(),
        None,
        "nothing of a partial content is handed out"
    );
    assert_eq!(send(storage, &hash, &photo, 1..2), ChunkOutcome::Whole);
    assert!(storage.attachments_wanted("p", 10).unwrap().is_empty());
    let row = storage.attachment("p", &hash.to_hex()).unwrap().unwrap();
    assert!(row.complete);
    assert_eq!(row.uploader.as_deref(), Some("phone"));
    assert_eq!(
        storage.attachment_chunk("p", &hash.to_hex(), 1).unwrap(),
        Some(photo[CHUNK_SIZE..].to_vec())
    );
    // Sent again (a second phone, a retry): already whole, nothing stored twice.
    assert_eq!(send(storage, &hash, &photo, 0..1), ChunkOutcome::Whole);
}

pub fn a_content_that_is_not_its_hash_or_too_large_is_refused_and_nothing_kept(
    storage: &dyn HubStorage,
) {
    let photo: Vec<u8> = (0..2 * CHUNK_SIZE).map(|n| (n % 253) as u8).collect();
    let hash = ContentHash::of(&photo);
    let mut tampered = photo.clone();
    tampered[CHUNK_SIZE + 1] ^= 1;
    send(storage, &hash, &tampered, 0..1);
    assert_eq!(
        send(storage, &hash, &tampered, 1..2),
        ChunkOutcome::Refused(AttachmentRefusal::Mismatch)
    );
    assert_eq!(storage.attachment("p", &hash.to_hex()).unwrap(), None);
    let huge = ReceivedChunk {
        hash: &hash,
        size: ATTACHMENT_LIMIT + 1,
        index: 0,
        bytes: &photo[..CHUNK_SIZE],
    };
    assert_eq!(
        storage
            .receive_attachment_chunk("p", &huge, "phone")
            .unwrap(),
        ChunkOutcome::Refused(AttachmentRefusal::TooLarge)
    );
    assert_eq!(storage.attachment("p", &hash.to_hex()).unwrap(), None);
}
