//! Form documents between two real encrypted stores: a form published on one store reaches
//! the other by sync and reads back there as the same form; publishing it again on the
//! receiving store (as a hub and a phone both may) changes nothing.

mod common;

use common::*;
use minga_core::minga_sync::{
    run_session, AllowAll, DocKind, DocumentStore, Initiator, MemoryTransport, PeerId, SyncOptions,
};
use minga_core::{form_document_id, Error, Store};
use minga_forms::templates;
use std::sync::Arc;

fn sync(phone: &Store, hub: &Store) {
    let options = SyncOptions::default();
    let (local, remote) = (PeerId::new("phone").unwrap(), PeerId::new("hub").unwrap());
    let transport = MemoryTransport::new(hub, remote.clone(), options, Arc::new(AllowAll));
    let mut initiator = Initiator::new(local, remote, options, Arc::new(AllowAll));
    run_session(phone, &transport, &mut initiator, &options, &mut |_| {}).expect("sync");
}

#[test]
fn a_form_published_on_one_store_is_listed_and_read_on_the_other_after_sync() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = open(&dir.path().join("tablet.db"), 1, luis());
    let phone = open(&dir.path().join("phone.db"), 2, ana());
    let dialogue = templates::stakeholder_dialogue();
    let assessment = templates::community_safety_assessment();
    let id = supervisor.publish_form(&dialogue).unwrap();
    supervisor.publish_form(&assessment).unwrap();
    assert!(phone.forms().unwrap().is_empty());

    sync(&phone, &supervisor);

    let listed = phone.forms().unwrap();
    assert_eq!(listed, supervisor.forms().unwrap());
    let entry = listed
        .iter()
        .find(|form| form.form_id == dialogue.id)
        .expect("the dialogue form arrived");
    assert_eq!(entry.document, id);
    assert_eq!(entry.version, dialogue.version);
    assert_eq!(entry.title, dialogue.title);
    assert_eq!(entry.languages, dialogue.languages);
    assert_eq!(
        phone.form(&dialogue.id, &dialogue.version).unwrap(),
        dialogue
    );
    assert_eq!(phone.latest_form(&assessment.id).unwrap(), assessment);
    let changed = phone.changed_since(0, 10).unwrap();
    assert!(changed.iter().any(|doc| doc.doc.id
        == form_document_id(&dialogue.id, &dialogue.version).into()
        && doc.doc.kind == DocKind::Form));

    // The phone publishing the version it received writes nothing; a rival definition is refused.
    let seq = phone.last_seq().unwrap();
    phone.publish_form(&dialogue).unwrap();
    assert_eq!(phone.last_seq().unwrap(), seq);
    let mut edited = dialogue.clone();
    edited.title = assessment.title.clone();
    assert!(matches!(
        phone.publish_form(&edited),
        Err(Error::FormVersionConflict { .. })
    ));
}

#[test]
fn a_form_document_survives_reopening_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("phone.db");
    let assessment = templates::community_safety_assessment();
    open(&path, 3, ana()).publish_form(&assessment).unwrap();
    let reopened = open(&path, 3, ana());
    assert_eq!(
        reopened.form(&assessment.id, &assessment.version).unwrap(),
        assessment
    );
}
