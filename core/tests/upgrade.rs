//! Upgrading a store's schema when one of its documents is damaged: the store opens with
//! every other document, and the damaged one is kept as it was and reported.

mod common;

use common::*;
use minga_core::minga_sync::DocumentStore;
use minga_core::{AnswerPath, ContentHash, DocKind, Encryption, Store, Value};
use std::path::Path;

/// The stored chunk bytes of document `id`, read past the store.
fn chunks_of(path: &Path, id: &minga_core::DocId) -> Vec<Vec<u8>> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let id = uuid::Uuid::parse_str(&id.to_string()).unwrap();
    let mut statement = conn
        .prepare("SELECT bytes FROM chunks WHERE doc_id = ?1 ORDER BY chunk_id")
        .unwrap();
    let rows = statement
        .query_map([id.as_bytes().as_slice()], |row| row.get(0))
        .unwrap();
    rows.map(Result::unwrap).collect()
}

#[test]
fn a_store_with_one_damaged_submission_opens_after_an_upgrade_and_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let plain = || Store::open(&path, Encryption::PlainFile, ana()).unwrap();
    let (sound, damaged, photo) = {
        let store = plain();
        assert!(store.unreadable_documents().unwrap().is_empty());
        let attachment = store
            .add_attachment(&noise_bytes(3, 1000), "image/jpeg", "street.jpg")
            .unwrap();
        let sound = store.create_submission(&dialogue()).unwrap();
        let photo = AnswerPath::new("photo");
        store
            .set_answer(&sound, &photo, &Value::Attachment(attachment.clone()))
            .unwrap();
        let damaged = store.create_submission(&dialogue()).unwrap();
        store
            .set_answer(&damaged, &photo, &Value::Attachment(attachment.clone()))
            .unwrap();
        (
            sound,
            damaged,
            ContentHash::from_hex(&attachment.sha256).unwrap(),
        )
    };
    downgrade_to_schema_5(&path);
    let garbage = b"not automerge".to_vec();
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute(
            "UPDATE chunks SET bytes = ?1 WHERE doc_id = ?2",
            rusqlite::params![
                garbage,
                uuid::Uuid::parse_str(&damaged.to_string())
                    .unwrap()
                    .as_bytes()
                    .as_slice()
            ],
        )
        .unwrap();

    let store = plain();
    let unreadable = store.unreadable_documents().unwrap();
    assert_eq!(unreadable.len(), 1, "{unreadable:?}");
    assert_eq!(
        (unreadable[0].id, unreadable[0].kind),
        (damaged, DocKind::Submission)
    );
    assert!(
        unreadable[0].reason.contains("does not decode"),
        "{}",
        unreadable[0].reason
    );
    assert_eq!(
        store.attachments_wanted(10).unwrap(),
        vec![(photo, 0)],
        "the sound submission's photo is wanted: the upgrade filled the rest"
    );
    assert!(store.submission(&sound).is_ok());
    drop(store);
    assert!(
        chunks_of(&path, &damaged)
            .iter()
            .all(|chunk| *chunk == garbage),
        "the damaged document is kept as it was"
    );
    assert_eq!(
        plain().unreadable_documents().unwrap(),
        unreadable,
        "still reported when opened again"
    );
}
