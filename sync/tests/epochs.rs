//! The epoch rule: what a store knows of a peer (its cursor, the heads it shares) holds only for
//! the peer's epoch it was learnt from. A hub restored from a backup, a reinstalled phone under
//! its old peer id and a bundle from either all name a new epoch, and the other side then drops
//! that knowledge and compares heads from the start; an unchanged epoch keeps it.

mod common;

use std::sync::Arc;

use automerge::ChangeHash;
use common::*;
use minga_sync::bundle::{import_bundle, write_bundle, BundleIdentity, BundleScope};
use minga_sync::{
    AllowAll, Commit, DocId, DocumentStore, MemoryStore, PeerCursor, SyncOptions, SyncReport,
};

fn sync(phone: &MemoryStore, hub: &MemoryStore) -> SyncReport {
    sync_pair(phone, "phone", hub, "hub", SyncOptions::default()).unwrap()
}

fn heads(store: &MemoryStore, id: &DocId) -> Option<Vec<ChangeHash>> {
    store.doc_heads(id).unwrap().map(|(_, heads)| heads)
}

/// `store` records `peer_store`'s current epoch for the peer it knows as `name`.
fn assert_knows_epoch_of(store: &MemoryStore, name: &str, peer_store: &MemoryStore) {
    assert_eq!(
        store.peer_epoch(&peer(name)).unwrap(),
        Some(peer_store.epoch().unwrap())
    );
}

/// A phone and a hub that synced the phone's one document.
fn a_synced_document() -> (MemoryStore, MemoryStore, DocId) {
    let (phone, hub) = (MemoryStore::new(), MemoryStore::new());
    let id = DocId::random();
    fill_submission(&phone, &id, 2);
    sync(&phone, &hub);
    (phone, hub, id)
}

/// A hub that went back in time: backed up after a first sync, then the phone synced a new
/// document and an edit to an old one with the original, then the backup came back.
struct Restore {
    phone: MemoryStore,
    restored: MemoryStore,
    edited: DocId,
    after_backup: DocId,
}

fn restore(renew_epoch: bool) -> Restore {
    let (phone, hub) = (MemoryStore::new(), MemoryStore::new());
    let edited = DocId::random();
    fill_submission(&phone, &edited, 3);
    fill_submission(&phone, &DocId::random(), 3);
    sync(&phone, &hub);
    let restored = hub.copy();
    answer(&phone, &edited, "q9", 9);
    let after_backup = DocId::random();
    fill_submission(&phone, &after_backup, 2);
    sync(&phone, &hub);
    if renew_epoch {
        restored.renew_epoch();
    }
    Restore {
        phone,
        restored,
        edited,
        after_backup,
    }
}

#[test]
fn a_restored_hub_with_a_new_epoch_gets_back_what_the_phone_synced_after_its_backup() {
    let Restore {
        phone,
        restored,
        edited,
        after_backup,
    } = restore(true);
    // Another device's new document on the restored hub takes a number the phone's old cursor
    // already counts past.
    let newer = DocId::random();
    fill_submission(&restored, &newer, 1);
    assert!(restored.max_seq().unwrap() <= phone.peer_cursor(&peer("hub")).unwrap().theirs);

    sync(&phone, &restored);
    assert_eq!(
        heads(&restored, &after_backup),
        heads(&phone, &after_backup)
    );
    assert_eq!(heads(&restored, &edited), heads(&phone, &edited));
    assert_eq!(heads(&phone, &newer), heads(&restored, &newer));
    assert_eq!(snapshot(&phone), snapshot(&restored));
    assert_knows_epoch_of(&phone, "hub", &restored);
    let again = sync(&phone, &restored);
    assert_eq!((again.sent, again.received, again.round_trips), (0, 0, 1));
}

#[test]
fn a_copy_under_the_same_epoch_is_trusted_as_the_same_store() {
    // Why a restore must renew the epoch: with the old one, the phone's cursor and shared
    // heads are believed, and its later work is never offered again.
    let Restore {
        phone,
        restored,
        edited,
        after_backup,
    } = restore(false);
    sync(&phone, &restored);
    assert_eq!(heads(&restored, &after_backup), None);
    assert_ne!(heads(&restored, &edited), heads(&phone, &edited));
}

#[test]
fn an_unchanged_epoch_keeps_the_cursor_and_shared_heads() {
    let (phone, hub, id) = a_synced_document();
    sync(&phone, &hub); // the hub's own number for the document moves the cursor once more
    let cursor = phone.peer_cursor(&peer("hub")).unwrap();
    let shared = phone.shared_heads(&peer("hub"), &id).unwrap();
    assert!(cursor != PeerCursor::default() && shared.is_some());
    let again = sync(&phone, &hub);
    assert_eq!((again.sent, again.received, again.round_trips), (0, 0, 1));
    assert_eq!(phone.peer_cursor(&peer("hub")).unwrap(), cursor);
    assert_eq!(phone.shared_heads(&peer("hub"), &id).unwrap(), shared);
    assert_knows_epoch_of(&hub, "phone", &phone);
}

#[test]
fn a_changed_epoch_drops_the_stored_cursor_and_shared_heads() {
    let (phone, hub) = (MemoryStore::new(), MemoryStore::new());
    sync(&phone, &hub);
    // The phone believes the hub holds a document it does not, and has all of the hub's.
    let unsent = DocId::random();
    fill_submission(&phone, &unsent, 2);
    let held = DocId::random();
    fill_submission(&hub, &held, 2);
    let mut believed = Commit::new(peer("hub"));
    believed.shared_heads = vec![(unsent.clone(), heads(&phone, &unsent).unwrap())];
    believed.cursor = Some(PeerCursor {
        theirs: hub.max_seq().unwrap(),
        ours: phone.max_seq().unwrap(),
    });
    phone.commit(believed).unwrap();
    let believed_epoch = phone.peer_epoch(&peer("hub")).unwrap();

    hub.renew_epoch();
    assert_ne!(Some(hub.epoch().unwrap()), believed_epoch);
    let report = sync(&phone, &hub);
    assert_eq!((report.sent, report.received), (1, 1));
    assert_eq!(heads(&hub, &unsent), heads(&phone, &unsent));
    assert_eq!(heads(&phone, &held), heads(&hub, &held));
    assert_knows_epoch_of(&phone, "hub", &hub);
}

#[test]
fn a_reinstalled_phone_under_its_old_peer_id_gets_everything_back() {
    let (phone, hub) = (MemoryStore::new(), MemoryStore::new());
    for _ in 0..3 {
        fill_submission(&phone, &DocId::random(), 2);
    }
    fill_submission(&hub, &DocId::random(), 1);
    sync(&phone, &hub);
    // The app is reinstalled: a new, empty store that syncs as "phone" again.
    let reinstalled = MemoryStore::new();
    let report = sync(&reinstalled, &hub);
    assert_eq!(report.received, 4);
    assert_eq!(snapshot(&reinstalled), snapshot(&hub));
    assert_knows_epoch_of(&hub, "phone", &reinstalled);
}

#[test]
fn a_bundle_from_a_store_with_a_new_epoch_drops_what_was_known_of_its_sender() {
    let (_phone, hub, old) = a_synced_document();
    assert!(hub.shared_heads(&peer("phone"), &old).unwrap().is_some());

    let reinstalled = MemoryStore::new();
    let fresh = DocId::random();
    fill_submission(&reinstalled, &fresh, 2);
    let key = BundleIdentity::generate();
    let bundle = write_bundle(
        &reinstalled,
        &peer("phone"),
        &peer("hub"),
        &key.to_public(),
        BundleScope::Missing,
        &AllowAll,
    )
    .unwrap();
    let report = import_bundle(&hub, &peer("hub"), &key, &bundle, Arc::new(AllowAll)).unwrap();
    assert_eq!(report.received, 1);
    assert_eq!(hub.shared_heads(&peer("phone"), &old).unwrap(), None);
    assert_eq!(
        hub.shared_heads(&peer("phone"), &fresh).unwrap(),
        heads(&reinstalled, &fresh)
    );
    assert_knows_epoch_of(&hub, "phone", &reinstalled);
    // The same bundle again changes nothing more: the epoch is already the sender's.
    import_bundle(&hub, &peer("hub"), &key, &bundle, Arc::new(AllowAll)).unwrap();
    assert_eq!(
        hub.shared_heads(&peer("phone"), &fresh).unwrap(),
        heads(&reinstalled, &fresh)
    );
}
