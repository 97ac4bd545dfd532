//! Attachments between two real encrypted stores through minga-sync: a photo answered on the
//! phone reaches the hub whole after its submission; a cut in the middle of a large one
//! resumes where the hub's stored chunks end; a store upgraded from schema 5 asks for the
//! contents its old documents reference; and a bundle file carries a photo whole to another
//! store, within the receiver's size limit.

mod common;

use common::*;
use minga_core::minga_sync::bundle::{
    import_bundle_from, write_bundle_to, BundleIdentity, BundleScope,
};
use minga_core::minga_sync::wire::AttachmentRefusal;
use minga_core::minga_sync::{
    run_session, AllowAll, DocumentStore, Initiator, MemoryTransport, PeerId, SyncError,
    SyncOptions, SyncReport, Transport, TransportError, CHUNK_SIZE,
};
use minga_core::{AnswerPath, AttachmentState, ContentHash, DocId, Store, Value};
use std::cell::Cell;
use std::path::Path;
use std::sync::Arc;

fn peer(name: &str) -> PeerId {
    PeerId::new(name).unwrap()
}

/// A new submission of `store` whose `photo` answers `bytes`, attached in `store`.
fn photographed(store: &Store, bytes: &[u8]) -> (DocId, ContentHash) {
    let attachment = store
        .add_attachment(bytes, "image/jpeg", "street.jpg")
        .unwrap();
    let id = store.create_submission(&dialogue()).unwrap();
    let hash = ContentHash::from_hex(&attachment.sha256).unwrap();
    store
        .set_answer(
            &id,
            &AnswerPath::new("photo"),
            &Value::Attachment(attachment),
        )
        .unwrap();
    (id, hash)
}

/// A transport that drops for good after `allowed` exchanges.
struct Cut<'a> {
    inner: &'a dyn Transport,
    allowed: Cell<u32>,
}

impl Transport for Cut<'_> {
    fn exchange(&self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
        let left = self.allowed.get();
        if left == 0 {
            return Err(TransportError::fatal("connection cut"));
        }
        self.allowed.set(left - 1);
        self.inner.exchange(request)
    }
}

/// One session of `phone` with `hub`, one chunk a round, cut after `allowed` exchanges.
fn session(phone: &Store, hub: &Store, allowed: u32) -> Result<SyncReport, SyncError> {
    let options = SyncOptions {
        page_bytes: CHUNK_SIZE,
        ..SyncOptions::default()
    };
    let transport = MemoryTransport::new(hub, peer("hub"), options, Arc::new(AllowAll));
    let cut = Cut {
        inner: &transport,
        allowed: Cell::new(allowed),
    };
    let mut initiator = Initiator::new(peer("phone"), peer("hub"), options, Arc::new(AllowAll));
    run_session(phone, &cut, &mut initiator, &options, &mut |_| {})
}

fn stores(dir: &tempfile::TempDir) -> (Store, Store) {
    (
        open(&dir.path().join("phone.db"), 1, ana()),
        open(&dir.path().join("hub.db"), 2, luis()),
    )
}

#[test]
fn a_photo_answered_on_the_phone_reaches_the_hub_whole_and_back_to_a_second_phone() {
    let dir = tempfile::tempdir().unwrap();
    let (phone, hub) = stores(&dir);
    let photo = noise_bytes(1, 2 * CHUNK_SIZE + 333);
    let (id, hash) = photographed(&phone, &photo);
    let report = session(&phone, &hub, u32::MAX).unwrap();
    assert_eq!(report.attachments_sent, 1);
    assert!(hub.submission(&id).is_ok());
    assert_eq!(hub.read_attachment(&hash).unwrap(), photo);
    let second = open(&dir.path().join("second.db"), 3, ana());
    let pulled = session(&second, &hub, u32::MAX).unwrap();
    assert_eq!(pulled.attachments_received, 1);
    assert_eq!(second.read_attachment(&hash).unwrap(), photo);
}

#[test]
fn a_sync_cut_in_a_large_attachment_resumes_after_the_chunks_the_hub_stored() {
    let dir = tempfile::tempdir().unwrap();
    let (phone, hub) = stores(&dir);
    let video = noise_bytes(2, 12 * CHUNK_SIZE + 5);
    let (_, hash) = photographed(&phone, &video);
    assert!(session(&phone, &hub, 6).is_err(), "the cut ends the sync");
    let AttachmentState::Partial { stored, size } = hub.attachment_state(&hash).unwrap() else {
        panic!("the hub holds part of it")
    };
    assert_eq!(size, video.len() as u64);
    assert!(stored > 0 && stored % CHUNK_SIZE as u64 == 0);
    let resumed = session(&phone, &hub, u32::MAX).unwrap();
    assert_eq!(
        resumed.attachment_bytes_sent,
        size - stored,
        "only what it lacked"
    );
    assert_eq!(hub.read_attachment(&hash).unwrap(), video);
}

/// Turns the store file at `path` (plain) back into what schema 5 wrote: the invalid flag of
/// version 9 and the tables of versions 7 (signatures) and 8 (attachments) gone, the form index
/// version 6 dropped back, the version number 5.
fn downgrade_to_schema_5(path: &Path) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(
        "DROP INDEX submissions_flagged_invalid;
         ALTER TABLE submissions DROP COLUMN invalid_reasons;
         DROP TABLE attachments; DROP TABLE attachment_chunks; DROP TABLE attachment_refs;
         DROP TABLE change_signatures;
         CREATE INDEX submissions_by_form ON submissions (form_id, updated_at, doc_id);
         PRAGMA user_version = 5;",
    )
    .unwrap();
}

#[test]
fn a_store_upgraded_from_schema_5_wants_the_contents_its_submissions_reference() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let plain = || Store::open(&path, minga_core::Encryption::PlainFile, ana()).unwrap();
    let photo = noise_bytes(3, 1000);
    let hash = {
        let store = plain();
        let (_, hash) = photographed(&store, &photo);
        hash
    };
    downgrade_to_schema_5(&path);
    let store = plain();
    assert_eq!(
        store.attachment_state(&hash).unwrap(),
        AttachmentState::Missing
    );
    assert_eq!(store.attachments_wanted(10).unwrap(), vec![(hash, 0)]);
    assert_eq!(store.integrity_check().unwrap(), vec!["ok".to_string()]);
    store.add_attachment(&photo, "image/jpeg", "a.jpg").unwrap();
    assert!(store.attachments_wanted(10).unwrap().is_empty());
}

/// Writes a bundle of `phone`'s documents and contents for `to` into the file `path`.
fn bundle_file(phone: &Store, to: &str, key: &BundleIdentity, path: &Path) -> SyncReport {
    let file = std::fs::File::create(path).unwrap();
    write_bundle_to(
        phone,
        &peer("phone"),
        &peer(to),
        &key.to_public(),
        BundleScope::Everything,
        &AllowAll,
        std::io::BufWriter::new(file),
    )
    .unwrap()
}

fn import_file(store: &Store, local: &str, key: &BundleIdentity, path: &Path) -> SyncReport {
    let file = std::fs::File::open(path).unwrap();
    import_bundle_from(store, &peer(local), key, file, Arc::new(AllowAll)).unwrap()
}

#[test]
fn a_photo_travels_whole_in_a_bundle_file_from_the_phone_to_another_store() {
    let dir = tempfile::tempdir().unwrap();
    let (phone, tablet) = stores(&dir);
    let photo = noise_bytes(3, 5 * CHUNK_SIZE + 17);
    let (id, hash) = photographed(&phone, &photo);
    let key = BundleIdentity::generate();
    let path = dir.path().join("for-tablet.minga");
    let written = bundle_file(&phone, "tablet", &key, &path);
    assert_eq!((written.sent, written.attachments_sent), (1, 1));
    let sealed = std::fs::read(&path).unwrap();
    assert_eq!(written.bytes_sent, sealed.len() as u64);
    assert!(
        !sealed.windows(64).any(|window| window == &photo[..64]),
        "the photo is encrypted in the file"
    );

    let report = import_file(&tablet, "tablet", &key, &path);
    assert_eq!((report.received, report.attachments_received), (1, 1));
    assert_eq!(report.attachment_bytes_received, photo.len() as u64);
    assert!(tablet.submission(&id).is_ok());
    assert_eq!(
        tablet.attachment_state(&hash).unwrap(),
        AttachmentState::Present {
            size: photo.len() as u64
        }
    );
    assert_eq!(tablet.read_attachment(&hash).unwrap(), photo);
}

#[test]
fn a_content_past_the_receivers_limit_is_refused_and_its_document_still_lands() {
    let dir = tempfile::tempdir().unwrap();
    let (phone, tablet) = stores(&dir);
    let video = noise_bytes(4, 2 * CHUNK_SIZE);
    let (id, hash) = photographed(&phone, &video);
    tablet.set_attachment_limit(video.len() as u64 - 1);
    let key = BundleIdentity::generate();
    let path = dir.path().join("for-tablet.minga");
    bundle_file(&phone, "tablet", &key, &path);
    let report = import_file(&tablet, "tablet", &key, &path);
    assert_eq!(
        report.attachments_refused,
        vec![(hash, AttachmentRefusal::TooLarge)]
    );
    assert_eq!(
        tablet.attachment_state(&hash).unwrap(),
        AttachmentState::Missing
    );
    assert!(tablet.submission(&id).is_ok());
}
