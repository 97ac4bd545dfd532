//! Trusted relays through a real hub over HTTP: a submission's author is the device whose key
//! signed its first change, whoever carries it to the hub. A facilitator's phone syncs with the
//! supervisor's tablet in the parish, the tablet reaches the office first: the facilitator
//! stays the author and her later edits are accepted. A colleague who relays her work cannot
//! take it over, and one who writes under the supervisor's actor is refused.

use minga_core::automerge::{transaction::Transactable, AutoCommit, ReadDoc, ROOT};
use minga_core::{AnswerPath, DocId, Store, Value};
use minga_hub::access::Role;
use minga_hub::admin;
use minga_hub::storage::HubStorage;
use minga_scenarios::hub::{Enrolled, TestHub, PROJECT};
use minga_scenarios::phone::{fill_one, open_store, sync_store};
use minga_sync::signatures::{actor_key, credential_text, DeviceKey, SignedChange};
use minga_sync::wire::seal_signed_document;
use minga_sync::wire::Refusal;
use minga_sync::{
    run_session, AllowAll, DocumentStore, Initiator, MemoryTransport, PeerId, SyncOptions,
};
use std::sync::Arc;

/// A device's store in a folder of its own, enrolled at `hub` with its key bound.
struct Device {
    _dir: tempfile::TempDir,
    store: Store,
    enrolled: Enrolled,
}

impl Device {
    fn enrol(hub: &TestHub, role: Role, name: &str) -> Device {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(&dir.path().join("store.db"), name);
        let enrolled = hub.enrol_store(role, name, &store);
        Device {
            _dir: dir,
            store,
            enrolled,
        }
    }

    fn sync_with_hub(&self, hub: &TestHub) -> minga_sync::SyncReport {
        let options = SyncOptions::default();
        sync_store(
            &self.store,
            &hub.url(),
            &self.enrolled,
            options,
            0,
            &mut |_| {},
        )
        .unwrap()
    }

    /// One sync session with `other`'s store directly (in the parish, no hub), `other`
    /// responding.
    fn sync_with(&self, other: &Device) {
        let peer = |device: &Device| PeerId::new(device.enrolled.device_id.clone()).unwrap();
        let options = SyncOptions::default();
        let transport =
            MemoryTransport::new(&other.store, peer(other), options, Arc::new(AllowAll));
        let mut initiator = Initiator::new(peer(self), peer(other), options, Arc::new(AllowAll));
        let report = run_session(
            &self.store,
            &transport,
            &mut initiator,
            &options,
            &mut |_| {},
        );
        assert!(
            report.unwrap().refused.is_empty(),
            "nothing refused between them"
        );
    }
}

fn author_on_hub(hub: &TestHub, id: &minga_core::DocId) -> Option<String> {
    let header = hub
        .storage
        .document_header(PROJECT, &id.to_string())
        .unwrap();
    header.expect("the hub holds the submission").author
}

#[test]
fn a_submission_the_supervisors_tablet_relays_keeps_its_creator_as_author_and_her_edits_land() {
    let hub = TestHub::start();
    let ana = Device::enrol(&hub, Role::Facilitator, "ana");
    let tablet = Device::enrol(&hub, Role::Supervisor, "sara");
    let id = fill_one(&ana.store, 0, 0);

    ana.sync_with(&tablet);
    assert_eq!(
        tablet.sync_with_hub(&hub).sent,
        1,
        "the tablet carries it first"
    );
    assert_eq!(
        author_on_hub(&hub, &id).as_deref(),
        Some(ana.enrolled.device_id.as_str()),
        "the signer of its first change, not the tablet that relayed it"
    );

    ana.store
        .set_answer(&id, &AnswerPath::new("age"), &Value::Integer(41))
        .unwrap();
    let report = ana.sync_with_hub(&hub);
    assert!(
        report.refused.is_empty(),
        "her edit is accepted: {report:?}"
    );
    let on_hub = hub.documents()[&id.to_string()].clone();
    let mut hers: Vec<String> = ana
        .store
        .doc_heads(&id.into())
        .unwrap()
        .unwrap()
        .1
        .iter()
        .map(|head| head.to_string())
        .collect();
    hers.sort();
    assert_eq!(on_hub, hers, "the hub holds her edit");
}

#[test]
fn a_colleague_who_relays_a_facilitators_submission_cannot_take_it_over() {
    let hub = TestHub::start();
    let ana = Device::enrol(&hub, Role::Facilitator, "ana");
    let ben = Device::enrol(&hub, Role::Facilitator, "ben");
    let id = fill_one(&ana.store, 0, 0);

    ana.sync_with(&ben);
    let report = ben.sync_with_hub(&hub);
    let refused: Vec<_> = report
        .refused
        .iter()
        .map(|(doc, why)| (doc.as_str(), *why))
        .collect();
    assert_eq!(
        refused,
        [(id.to_string().as_str(), Refusal::NotWritable)],
        "the hub judges it by its creator, whom Ben is not"
    );
    let work = &report.refused_by_peer;
    assert_eq!(
        work.len(),
        1,
        "reported as his own work refused, never silently"
    );
    assert_eq!(
        work[0].heads,
        ben.store.doc_heads(&id.into()).unwrap().unwrap().1
    );
    assert!(hub
        .storage
        .document_header(PROJECT, &id.to_string())
        .unwrap()
        .is_none());

    ana.sync_with_hub(&hub);
    assert_eq!(
        author_on_hub(&hub, &id).as_deref(),
        Some(ana.enrolled.device_id.as_str())
    );
}

/// A change to `id` written under `victim`'s actor on `forger`'s copy (so with the next
/// sequence number of that actor, as the victim's own next edit will have), signed as
/// `signature` says: the signed document a hostile device would send.
fn forged(
    forger: &Device,
    victim: &Device,
    id: &DocId,
    signature: impl Fn(&minga_core::automerge::ChangeHash) -> Vec<SignedChange>,
) -> Vec<u8> {
    let bytes = forger.store.document_bytes(id).unwrap();
    let actor = AutoCommit::load(&bytes)
        .unwrap()
        .get_changes(&[])
        .iter()
        .map(|change| change.actor_id().clone())
        .find(|actor| actor_key(actor) == Some(victim.store.public_key()))
        .expect("the forger has seen one of the victim's changes");
    let mut doc = AutoCommit::load(&bytes).unwrap().with_actor(actor);
    let heads = doc.get_heads();
    let answers = doc.get(ROOT, "answers").unwrap().unwrap().1;
    doc.put(&answers, "age", 99).unwrap();
    doc.commit();
    let hash = doc.get_heads()[0];
    seal_signed_document(&doc.save_after(&heads), &signature(&hash))
}

/// PUTs `body` as submission `id` with `device`'s token: the status and the error code.
fn put_submission(hub: &TestHub, device: &Device, id: &DocId, body: &[u8]) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let reply = agent
        .put(&format!(
            "{}/v1/projects/{PROJECT}/submissions/{id}",
            hub.url()
        ))
        .header(
            "Authorization",
            &format!("Bearer {}", device.enrolled.token),
        )
        .send(body)
        .unwrap();
    let status = reply.status().as_u16();
    let body: serde_json::Value =
        serde_json::from_str(&reply.into_body().read_to_string().unwrap()).unwrap_or_default();
    (
        status,
        body["error"].as_str().unwrap_or_default().to_string(),
    )
}

#[test]
fn changes_forged_under_the_supervisors_actor_are_refused_and_her_own_edit_still_lands() {
    let hub = TestHub::start();
    let ana = Device::enrol(&hub, Role::Facilitator, "ana");
    let sara = Device::enrol(&hub, Role::Supervisor, "sara");
    let id = fill_one(&ana.store, 0, 0);
    ana.sync_with_hub(&hub);
    sara.sync_with_hub(&hub);
    let status = AnswerPath::new("feels_safe");
    sara.store
        .set_answer(&id, &status, &Value::Choice("no".into()))
        .unwrap();
    sara.sync_with_hub(&hub);
    ana.sync_with_hub(&hub); // Ana has now seen one of Sara's changes.
    let age = AnswerPath::new("age");
    sara.store
        .set_answer(&id, &age, &Value::Integer(52))
        .unwrap(); // offline, pending
    let before = hub.documents();

    let forgers_key = DeviceKey::generate().unwrap();
    let another_key = |hash: &_| vec![(*hash, forgers_key.sign_change(hash))];
    let moved = |hash: &_| vec![(*hash, sara.store.change_signatures(&id).unwrap()[0].1)];
    let stripped = |_: &_| Vec::new();
    for attempt in [
        forged(&ana, &sara, &id, another_key),
        forged(&ana, &sara, &id, moved),
        forged(&ana, &sara, &id, stripped),
    ] {
        assert_eq!(
            put_submission(&hub, &ana, &id, &attempt),
            (403, "unverified_change".to_string())
        );
        assert_eq!(hub.documents(), before, "the hub is unchanged");
    }

    let report = sara.sync_with_hub(&hub);
    assert!(
        report.refused.is_empty(),
        "her pending edit lands: {report:?}"
    );
    ana.sync_with_hub(&hub);
    assert_eq!(
        ana.store.answers(&id).unwrap().value("age"),
        Some(&Value::Integer(52))
    );
}

#[test]
fn enrolment_binds_the_stores_key_in_a_credential_the_hub_signs_with_its_own_key() {
    let hub = TestHub::start();
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir.path().join("store.db"), "ana");
    let key = store.public_key();
    let code = admin::enrol_device(hub.storage.as_ref(), PROJECT, Role::Facilitator, "Ana")
        .unwrap()
        .code
        .to_string();
    let answer = minga_hub::client::enrol_with_key(&hub.url(), &code, Some(&key), None).unwrap();

    let hub_key = hub.storage.hub_signing_key().unwrap().public_key();
    assert_eq!(
        answer.hub_key,
        Some(hub_key.to_string()),
        "the hub's key, kept in its storage"
    );
    let credential = answer.credential.expect("a credential");
    let signature: [u8; 64] = (0..credential.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&credential[at..at + 2], 16).unwrap())
        .collect::<Vec<u8>>()
        .try_into()
        .unwrap();
    let binding = |role: &str| credential_text(&answer.device_id, PROJECT, role, &key);
    assert!(hub_key.verifies_credential(&binding("facilitator"), &signature));
    assert!(!hub_key.verifies_credential(&binding("supervisor"), &signature));
    assert_eq!(
        hub.storage.device_of_key(PROJECT, &key).unwrap(),
        Some(answer.device_id)
    );
}

#[test]
fn a_hub_whose_key_is_not_the_one_the_enrolment_link_names_is_refused() {
    let hub = TestHub::start();
    let storage = hub.storage.as_ref();
    let hub_key = storage.hub_signing_key().unwrap().public_key();
    let printed = |key: &minga_sync::signatures::PublicKey| {
        let issued = admin::enrol_device(storage, PROJECT, Role::Facilitator, "Ana").unwrap();
        let link = admin::enrolment_uri(&issued.code, Some(&hub.url()), Some(key));
        minga_sync::enrolment_link::EnrolmentLink::parse(&link).unwrap()
    };
    let another_hubs_key = DeviceKey::generate().unwrap().public_key();
    let scanned = printed(&another_hubs_key);
    let fingerprint = scanned.hub_key_fingerprint.as_deref();
    let refused = minga_hub::client::enrol_with_key(&hub.url(), &scanned.code, None, fingerprint);
    assert!(
        matches!(
            refused,
            Err(minga_hub::client::ClientError::WrongHubKey { .. })
        ),
        "{refused:?}"
    );

    let scanned = printed(&hub_key);
    let fingerprint = scanned.hub_key_fingerprint.as_deref();
    let enrolled = minga_hub::client::enrol_with_key(&hub.url(), &scanned.code, None, fingerprint);
    assert!(
        enrolled.is_ok(),
        "the hub that printed the link: {enrolled:?}"
    );
}
