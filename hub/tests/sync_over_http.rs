//! Sync through a real hub on loopback: devices as minga-sync stores, the hub as responder with
//! the access rules as its policy.

mod common;

use common::{Enrolled, Hub, Phone};
use minga_core::{review_id, ReviewState, Value};
use minga_hub::access::Role;
use minga_hub::client::HubConnection;
use minga_hub::storage::HubStorage;
use minga_sync::wire::{open_signed_document, seal_signed_document};
use minga_sync::{Commit, DocId, DocKind, IncomingDoc, MemoryStore, PeerId, SyncReport};

/// A device: its enrolment and its sync store.
struct Device {
    enrolled: Enrolled,
    store: MemoryStore,
}

impl Device {
    fn new(hub: &Hub, role: Role, name: &str) -> Device {
        Device {
            enrolled: hub.enrol("imbabura", role, name),
            store: MemoryStore::new(),
        }
    }

    /// Puts a document (a signed one, as `Store::export_submission` gives, or plain automerge
    /// bytes) into the device's store, as its app would.
    fn keep(&self, id: &str, kind: DocKind, bytes: Vec<u8>) {
        let (bytes, signed) = open_signed_document(&bytes).unwrap();
        let mut commit = Commit::new(PeerId::new("app").unwrap());
        commit.docs.push(IncomingDoc {
            id: DocId::new(id).unwrap(),
            kind,
            changes: bytes.to_vec(),
            loaded: None,
        });
        commit.signatures.extend(signed);
        minga_sync::DocumentStore::commit(&self.store, commit).unwrap();
    }

    fn sync(&self, hub: &Hub) -> Result<SyncReport, minga_sync::SyncError> {
        let hub_id = hub.storage.hub_id().unwrap();
        let connection = HubConnection::new(&hub.running.url(), "imbabura", &self.enrolled.token);
        let local = PeerId::new(self.enrolled.id.clone()).unwrap();
        connection.sync(&self.store, &local, &PeerId::new(hub_id).unwrap())
    }

    /// The document with its signatures, as `Store::import_submission` takes it.
    fn bytes(&self, id: &str) -> Option<Vec<u8>> {
        let id = DocId::new(id).unwrap();
        let signed = minga_sync::DocumentStore::signatures(&self.store, &id, None).unwrap();
        let doc = self.store.get(&id)?;
        Some(seal_signed_document(&doc.save(), &signed))
    }
}

#[test]
fn facilitator_and_supervisor_edits_merge_and_each_sees_only_what_it_may() {
    let hub = Hub::start();
    let ana = Device::new(&hub, Role::Facilitator, "Ana");
    let ben = Device::new(&hub, Role::Facilitator, "Ben");
    let sara = Device::new(&hub, Role::Supervisor, "Sara");

    let ana_phone = Phone::new("ana");
    let (id, bytes) = ana_phone.fill("Rosa");
    ana.keep(&id, DocKind::Submission, bytes);
    assert_eq!(ana.sync(&hub).unwrap().sent, 1);
    let header = hub
        .storage
        .document_header("imbabura", &id)
        .unwrap()
        .expect("the hub has it");
    assert_eq!(header.author.as_deref(), Some(ana.enrolled.id.as_str()));

    assert_eq!(
        ben.sync(&hub).unwrap().received,
        1,
        "a facilitator receives the project's published form"
    );
    assert!(
        ben.store.get(&DocId::new(&id).unwrap()).is_none(),
        "a facilitator receives no one else's submissions"
    );
    assert_eq!(
        sara.sync(&hub).unwrap().received,
        2,
        "a supervisor receives everything: the form and the submission"
    );

    // Offline, Ana corrects the age while Sara records an answer on the same submission.
    ana.keep(
        &id,
        DocKind::Submission,
        ana_phone.answer(&id, "age", Value::Integer(41)),
    );
    let sara_phone = Phone::new("sara");
    sara_phone
        .store
        .import_submission(&sara.bytes(&id).unwrap())
        .unwrap();
    sara.keep(
        &id,
        DocKind::Submission,
        sara_phone.answer(&id, "feels_safe", Value::Choice("no".into())),
    );
    ana.sync(&hub).unwrap();
    sara.sync(&hub).unwrap();
    ana.sync(&hub).unwrap();

    for device in [&ana, &sara] {
        let phone = Phone::new("reader");
        let read = phone
            .store
            .import_submission(&device.bytes(&id).unwrap())
            .unwrap();
        let answers = phone.store.answers(&read).unwrap();
        assert_eq!(answers.value("age"), Some(&Value::Integer(41)));
        assert_eq!(
            answers.value("feels_safe"),
            Some(&Value::Choice("no".into()))
        );
    }
}

#[test]
fn a_facilitators_review_is_refused_and_a_supervisors_reaches_the_author() {
    let hub = Hub::start();
    let ana = Device::new(&hub, Role::Facilitator, "Ana");
    let sara = Device::new(&hub, Role::Supervisor, "Sara");
    let (id, bytes) = Phone::new("ana").fill("Rosa");
    ana.keep(&id, DocKind::Submission, bytes);
    ana.sync(&hub).unwrap();

    let review = review_id(&id.parse().unwrap()).to_string();
    ana.keep(
        &review,
        DocKind::Review,
        common::review_bytes(&id, ReviewState::Approved),
    );
    let report = ana.sync(&hub).unwrap();
    assert_eq!(report.refused.len(), 1, "{report:?}");
    assert!(hub
        .storage
        .document_header("imbabura", &review)
        .unwrap()
        .is_none());

    sara.sync(&hub).unwrap();
    sara.keep(
        &review,
        DocKind::Review,
        common::review_bytes(&id, ReviewState::HasIssues),
    );
    assert_eq!(sara.sync(&hub).unwrap().refused.len(), 0);
    assert!(hub
        .storage
        .document_header("imbabura", &review)
        .unwrap()
        .is_some());
    ana.sync(&hub).unwrap();
    let doc = ana.store.get(&DocId::new(&review).unwrap()).unwrap();
    let state = automerge::ReadDoc::get_all(&doc, automerge::ROOT, "state").unwrap();
    assert_eq!(
        state.len(),
        2,
        "Ana's refused verdict and Sara's meet as a conflict on her phone only"
    );
}

/// A supervisor's tablet got a submission straight from the phone and reviewed it before the
/// phone reached the hub: the review waits at the hub, and reaches its author after her
/// submission arrives.
#[test]
fn a_review_that_reaches_the_hub_before_its_submission_still_reaches_the_author() {
    let hub = Hub::start();
    let ana = Device::new(&hub, Role::Facilitator, "Ana");
    let sara = Device::new(&hub, Role::Supervisor, "Sara");
    ana.sync(&hub).unwrap();
    let (id, bytes) = Phone::new("ana").fill("Rosa");
    let review = review_id(&id.parse().unwrap()).to_string();
    sara.keep(
        &review,
        DocKind::Review,
        common::review_bytes(&id, ReviewState::HasIssues),
    );
    assert_eq!(sara.sync(&hub).unwrap().refused.len(), 0);

    ana.keep(&id, DocKind::Submission, bytes);
    ana.sync(&hub).unwrap();
    ana.sync(&hub).unwrap();
    assert_eq!(
        ana.bytes(&review),
        sara.bytes(&review),
        "the review reached Ana"
    );
    let header = hub.storage.document_header("imbabura", &review).unwrap();
    assert_eq!(header.unwrap().author, Some(ana.enrolled.id.clone()));
}

#[test]
fn a_review_filed_under_another_submissions_id_is_refused_even_from_a_supervisor() {
    let hub = Hub::start();
    let ana = Device::new(&hub, Role::Facilitator, "Ana");
    let sara = Device::new(&hub, Role::Supervisor, "Sara");
    let phone = Phone::new("ana");
    let (first, bytes) = phone.fill("Rosa");
    ana.keep(&first, DocKind::Submission, bytes);
    let (second, bytes) = phone.fill("Pedro");
    ana.keep(&second, DocKind::Submission, bytes);
    ana.sync(&hub).unwrap();

    let misfiled = review_id(&first.parse().unwrap()).to_string();
    sara.keep(
        &misfiled,
        DocKind::Review,
        common::review_bytes(&second, ReviewState::Rejected),
    );
    let report = sara.sync(&hub).unwrap();
    assert_eq!(report.refused.len(), 1, "{report:?}");
    assert!(hub
        .storage
        .document_header("imbabura", &misfiled)
        .unwrap()
        .is_none());
}

#[test]
fn a_sync_with_nothing_new_is_one_round_trip_and_a_revoked_device_is_stopped() {
    let hub = Hub::start();
    let ana = Device::new(&hub, Role::Facilitator, "Ana");
    let (id, bytes) = Phone::new("ana").fill("Rosa");
    ana.keep(&id, DocKind::Submission, bytes);
    ana.sync(&hub).unwrap();
    let again = ana.sync(&hub).unwrap();
    assert_eq!((again.round_trips, again.sent, again.received), (1, 0, 0));

    hub.storage.revoke_device(&ana.enrolled.id).unwrap();
    let refused = ana.sync(&hub).unwrap_err().to_string();
    assert!(
        refused.contains("410") && refused.contains("\"wipe\":true"),
        "{refused}"
    );
}

#[test]
fn a_page_larger_than_axums_default_body_limit_is_accepted() {
    let hub = Hub::start();
    let ana = Device::new(&hub, Role::Facilitator, "Ana");
    let phone = Phone::new("ana");
    let (id, _) = phone.fill("Rosa");
    // Four MiB of text drawn from 64 symbols: past axum's default 2 MiB even once automerge
    // has compressed it, which a phone's first page after a week offline can be too.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let notes: String = (0..4 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            char::from(b'0' + (state % 64) as u8)
        })
        .collect();
    ana.keep(
        &id,
        DocKind::Submission,
        phone.answer(&id, "respondent", Value::Text(notes)),
    );
    assert_eq!(ana.sync(&hub).unwrap().sent, 1);
    assert!(hub
        .storage
        .document_header("imbabura", &id)
        .unwrap()
        .is_some());
}
