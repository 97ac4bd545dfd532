//! Helpers shared by the sync scenarios: survey-like documents, syncing two stores in memory,
//! and comparing stores.

#![allow(dead_code)] // each test file uses its own subset

use std::sync::Arc;

use automerge::transaction::Transactable;
use automerge::{ObjType, ReadDoc, ROOT};
use minga_sync::{
    run_session, AllowAll, ContentHash, DocId, DocKind, Initiator, MemoryStore, MemoryTransport,
    PeerId, SyncError, SyncOptions, SyncReport,
};

pub fn peer(name: &str) -> PeerId {
    PeerId::new(name).unwrap()
}

/// A submission-shaped document: meta, `answers` answers and a status.
pub fn fill_submission(store: &MemoryStore, id: &DocId, answers: usize) {
    store.edit(id, DocKind::Submission, |tx| {
        tx.put(ROOT, "schema", 1).unwrap();
        let meta = tx.put_object(ROOT, "meta", ObjType::Map).unwrap();
        tx.put(&meta, "form_id", "safety").unwrap();
        tx.put(&meta, "form_version", 3).unwrap();
        let values = tx.put_object(ROOT, "answers", ObjType::Map).unwrap();
        for index in 0..answers {
            tx.put(&values, format!("q{index}"), format!("answer {index}"))
                .unwrap();
        }
        tx.put(ROOT, "status", "draft").unwrap();
    });
}

/// Sets one answer (creating the document's answers map if needed).
pub fn answer(store: &MemoryStore, id: &DocId, question: &str, value: i64) {
    store.edit(id, DocKind::Submission, |tx| {
        let answers = match tx.get(ROOT, "answers").unwrap() {
            Some((_, answers)) => answers,
            None => tx.put_object(ROOT, "answers", ObjType::Map).unwrap(),
        };
        tx.put(&answers, question, value).unwrap();
    });
}

/// One whole session of `a` (initiator) with `b` (responder) in memory, allowing everything.
pub fn sync_pair(
    a: &MemoryStore,
    a_name: &str,
    b: &MemoryStore,
    b_name: &str,
    options: SyncOptions,
) -> Result<SyncReport, SyncError> {
    let transport = MemoryTransport::new(b, peer(b_name), options, Arc::new(AllowAll));
    let mut initiator = Initiator::new(peer(a_name), peer(b_name), options, Arc::new(AllowAll));
    run_session(a, &transport, &mut initiator, &options, &mut |_| {})
}

/// A phone's initiator towards the hub, with default options, allowing everything.
pub fn phone_initiator() -> Initiator {
    Initiator::new(
        peer("phone"),
        peer("hub"),
        SyncOptions::default(),
        Arc::new(AllowAll),
    )
}

/// Every document's id and saved state, to compare stores.
pub fn snapshot(store: &MemoryStore) -> Vec<(DocId, Vec<automerge::ChangeHash>, String)> {
    store
        .ids()
        .into_iter()
        .map(|id| {
            let doc = store.get(&id).unwrap();
            let mut heads = doc.get_heads();
            heads.sort();
            let answers = serde_json::to_string(&automerge::AutoSerde::from(&doc)).unwrap();
            (id, heads, answers)
        })
        .collect()
}

/// `len` bytes that differ for every `seed` and do not compress, as photos and recordings.
pub fn noise_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// A submission of `store` whose `photo` answer references `bytes`, kept in `store` too.
pub fn attach(store: &MemoryStore, bytes: &[u8]) -> (DocId, ContentHash) {
    let hash = store.add_attachment(bytes);
    let id = DocId::random();
    reference(store, &id, &hash);
    (id, hash)
}

/// Makes document `id` of `store` reference `hash` as its photo answer.
pub fn reference(store: &MemoryStore, id: &DocId, hash: &ContentHash) {
    store.edit(id, DocKind::Submission, |tx| {
        let answers = tx.put_object(ROOT, "answers", ObjType::Map).unwrap();
        let photo = tx.put_object(&answers, "photo", ObjType::Map).unwrap();
        tx.put(&photo, "sha256", hash.to_hex()).unwrap();
        tx.put(&photo, "file_name", "street.jpg").unwrap();
    });
}
