//! The contract of signed changes, on every backend: the write path keeps the signatures it
//! verified (each actor's newest change's, which vouches for the actor's older ones) and gives
//! them back to send on, and refuses a change whose signature is
//! missing or does not verify under its actor's key, storing nothing of its document and
//! everything else of the batch; a device's key names the device it was bound to.

use super::projection::Phone;
use super::write;
use crate::access::DocKind;
use crate::storage::{DocumentWrite, HubStorage, WriteOutcome, WriteRefusal};
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ChangeHash};
use minga_core::{AnswerPath, DocId, Value};
use minga_sync::signatures::{DeviceKey, Signature};
use minga_sync::wire::seal_signed_document;
use minga_sync::DocumentStore;

/// A signed write of the phone's submission `id`, as `Store::export_submission` gives it.
fn signed_write(phone: &Phone, id: &DocId) -> DocumentWrite {
    let bytes = phone.store.export_submission(id).unwrap();
    write(&id.to_string(), DocKind::Submission, bytes)
}

pub fn signed_writes_keep_their_signatures(storage: &dyn HubStorage) {
    let phone = Phone::new("dev", "ana");
    let id = phone.fill("safety", "Rosa");
    let outcome = storage
        .write_documents("p", &[signed_write(&phone, &id)], None)
        .unwrap();
    assert!(matches!(outcome[0], WriteOutcome::Stored(_)), "{outcome:?}");
    let kept = storage
        .change_signatures("p", &id.to_string(), None)
        .unwrap();
    let made = phone.store.change_signatures(&id).unwrap();
    let (_kind, heads) = phone.store.doc_heads(&id.into()).unwrap().unwrap();
    let newest: Vec<_> = made
        .iter()
        .filter(|(hash, _)| heads.contains(hash))
        .copied()
        .collect();
    assert!(made.len() > 1, "the phone signed each of its changes");
    assert_eq!(
        kept, newest,
        "the newest change's signature, which vouches for the rest, kept to send on"
    );
    let ask = |hash: ChangeHash| {
        storage
            .change_signatures("p", &id.to_string(), Some(&[hash]))
            .unwrap()
    };
    assert_eq!(ask(newest[0].0), newest);
    let older = made.iter().find(|(hash, _)| !heads.contains(hash)).unwrap();
    assert_eq!(ask(older.0), vec![], "nothing kept that was not verified");
}

/// A change to the stored submission `id` under the phone's own actor (as someone who has seen
/// its changes can write), signed with `signature` (made for its hash): its write and hash.
fn forged(
    phone: &Phone,
    id: &DocId,
    signature: impl Fn(&ChangeHash) -> Option<Signature>,
) -> (DocumentWrite, ChangeHash) {
    let bytes = phone.store.document_bytes(id).unwrap();
    let actor = minga_sync::DocumentStore::load(&phone.store, &(*id).into())
        .unwrap()
        .unwrap()
        .get_changes(&[])
        .last()
        .unwrap()
        .actor_id()
        .clone();
    let mut doc = AutoCommit::load(&bytes).unwrap().with_actor(actor);
    let before = doc.get_heads();
    doc.put(automerge::ROOT, "status", "draft").unwrap();
    doc.commit();
    let hash = doc.get_heads()[0];
    let signed: Vec<_> = signature(&hash)
        .map(|sig| (hash, sig))
        .into_iter()
        .collect();
    let changes = seal_signed_document(&doc.save_after(&before), &signed);
    (write(&id.to_string(), DocKind::Submission, changes), hash)
}

pub fn forged_changes_are_refused_and_the_rest_of_the_batch_is_stored(storage: &dyn HubStorage) {
    let phone = Phone::new("dev", "ana");
    let id = phone.fill("safety", "Rosa");
    storage
        .write_documents("p", &[signed_write(&phone, &id)], None)
        .unwrap();
    let stored = storage.document_header("p", &id.to_string()).unwrap();
    let forger = DeviceKey::generate().unwrap();
    let genuine = phone.store.change_signatures(&id).unwrap()[0].1;
    let forgeries = [
        forged(&phone, &id, |hash| Some(forger.sign_change(hash))),
        forged(&phone, &id, |_| Some(genuine)),
        forged(&phone, &id, |_| None),
    ];
    for (forgery, hash) in forgeries {
        let other = phone.fill("safety", "Pedro");
        phone
            .store
            .set_answer(&other, &AnswerPath::new("age"), &Value::Integer(9))
            .unwrap();
        let outcomes = storage
            .write_documents("p", &[forgery, signed_write(&phone, &other)], None)
            .unwrap();
        match &outcomes[0] {
            WriteOutcome::Refused(WriteRefusal::Unverified {
                id: named, change, ..
            }) => {
                assert_eq!((named, change), (&id.to_string(), &hash.to_string()));
            }
            other => panic!("a forgery was not refused as unverified: {other:?}"),
        }
        assert!(
            matches!(outcomes[1], WriteOutcome::Stored(_)),
            "{outcomes:?}"
        );
        assert_eq!(
            storage.document_header("p", &id.to_string()).unwrap(),
            stored,
            "the forged document is unchanged"
        );
    }
}

pub fn a_device_key_names_its_device_and_follows_its_store_to_a_new_enrolment(
    storage: &dyn HubStorage,
) {
    let (key, other) = (
        DeviceKey::generate().unwrap().public_key(),
        DeviceKey::generate().unwrap().public_key(),
    );
    let device_of = |key| storage.device_of_key("p", key).unwrap();
    storage.bind_device_key("p", "dev-1", &key).unwrap();
    assert_eq!(device_of(&key).as_deref(), Some("dev-1"));
    assert_eq!(device_of(&other), None);
    storage.bind_device_key("p", "dev-2", &key).unwrap();
    assert_eq!(
        device_of(&key).as_deref(),
        Some("dev-2"),
        "the same store enrolled again"
    );
}

pub fn the_hub_signing_key_is_made_once_and_kept(storage: &dyn HubStorage) {
    let first = storage.hub_signing_key().unwrap();
    let again = storage.hub_signing_key().unwrap();
    assert_eq!(first.public_key(), again.public_key());
    assert_eq!(first.secret(), again.secret());
}
