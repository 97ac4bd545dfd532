//! Trusted relays through a real hub over HTTP: a submission's author is the device whose key
//! signed its first change, whoever carries it to the hub. A facilitator's phone syncs with the
//! supervisor's tablet in the parish, the tablet reaches the office first: the facilitator
//! stays the author and her later edits are accepted. A colleague who relays her work cannot
//! take it over, and one who writes under the supervisor's actor is refused.
//!
//! Rights go by signer: the hub judges each change a tablet relays by the device whose key
//! signed it. Two devices syncing directly first prove their enrolment to each other
//! (`minga_sync::peer`) and each applies the hub's rules to the other (`PeerPolicy`): a
//! facilitator's phone gets from a supervisor's tablet only its own work, the forms and its
//! reviews, and the tablet refuses what the hub would.

use minga_core::automerge::{transaction::Transactable, AutoCommit, ReadDoc, ROOT};
use minga_core::{AnswerPath, DocId, PeerPolicy, ReviewState, Store, Value};
use minga_hub::access::Role;
use minga_hub::admin;
use minga_hub::storage::HubStorage;
use minga_scenarios::hub::{Enrolled, TestHub, PROJECT};
use minga_scenarios::phone::{fill_one, open_store, store_documents, sync_store};
use minga_sync::access::Role as PeerRole;
use minga_sync::credential::Credential;
use minga_sync::peer::{prove_to_peer, PeerGate, PeerIdentity, PeerRefused};
use minga_sync::signatures::{actor_key, credential_text, DeviceKey, SignedChange};
use minga_sync::wire::seal_signed_document;
use minga_sync::wire::Refusal;
use minga_sync::{
    run_session, AllowAll, DocumentStore, Initiator, MemoryTransport, PeerId, Policy, SyncError,
    SyncOptions, SyncReport, Transport, TransportError,
};
use std::sync::{Arc, Mutex};

/// A device's store in a folder of its own, enrolled at `hub` with its key bound.
struct Device {
    _dir: tempfile::TempDir,
    store: Arc<Store>,
    enrolled: Enrolled,
}

impl Device {
    fn enrol(hub: &TestHub, role: Role, name: &str) -> Device {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(open_store(&dir.path().join("store.db"), name));
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
            &*self.store,
            &hub.url(),
            &self.enrolled,
            options,
            0,
            &mut |_| {},
        )
        .unwrap()
    }

    /// One sync session with `other`'s store directly (in the parish, no hub), `other`
    /// responding, in an exchange both opened unenrolled (everything goes both ways): how a
    /// hostile or careless relay carries work.
    fn sync_with(&self, other: &Device) {
        let peer = |device: &Device| PeerId::new(device.enrolled.device_id.clone()).unwrap();
        let options = SyncOptions::default();
        let transport =
            MemoryTransport::new(&*other.store, peer(other), options, Arc::new(AllowAll));
        let mut initiator = Initiator::new(peer(self), peer(other), options, Arc::new(AllowAll));
        let report = run_session(
            &*self.store,
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

/// A device's store answering direct syncs behind the peer handshake, with the hub's rules
/// applied to whoever proves its enrolment (as the bindings' `responder()` does).
struct Gated<'a> {
    store: &'a Store,
    gate: Mutex<PeerGate>,
}

impl<'a> Gated<'a> {
    fn of(device: &'a Device) -> Self {
        let me = device.store.peer_identity().unwrap().expect("enrolled");
        let (mine, store) = (me.credential.clone(), Arc::downgrade(&device.store));
        let policy_for = Box::new(move |peer: &Credential| -> Arc<dyn Policy> {
            let store = store.upgrade().expect("the store outlives its sessions");
            Arc::new(PeerPolicy::new(&store, mine.clone(), peer.clone()))
        });
        let local = PeerId::new(device.enrolled.device_id.clone()).unwrap();
        Gated {
            store: &device.store,
            gate: Mutex::new(PeerGate::new(me, local, SyncOptions::default(), policy_for)),
        }
    }
}

impl Transport for Gated<'_> {
    fn exchange(&self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
        Ok(self.gate.lock().unwrap().respond(self.store, request))
    }
}

/// Why a direct sync did not happen: the handshake or the session failed.
#[derive(Debug)]
#[allow(dead_code)] // read through Debug in failure messages
enum DirectFailure {
    Handshake(PeerRefused),
    Session(SyncError),
}

impl Device {
    /// One direct session with `other` (in the parish, no hub), `other` responding: each
    /// proves its enrolment to the other (this device as `me`), then each applies the hub's
    /// rules to the other.
    fn sync_directly_as(
        &self,
        other: &Device,
        me: &PeerIdentity,
    ) -> Result<SyncReport, DirectFailure> {
        let transport = Gated::of(other);
        let theirs = prove_to_peer(&transport, me).map_err(DirectFailure::Handshake)?;
        let policy = PeerPolicy::new(&self.store, me.credential.clone(), theirs);
        let peer = |device: &Device| PeerId::new(device.enrolled.device_id.clone()).unwrap();
        let options = SyncOptions::default();
        let mut initiator = Initiator::new(peer(self), peer(other), options, Arc::new(policy));
        run_session(
            &*self.store,
            &transport,
            &mut initiator,
            &options,
            &mut |_| {},
        )
        .map_err(DirectFailure::Session)
    }

    fn sync_directly(&self, other: &Device) -> SyncReport {
        let me = self.store.peer_identity().unwrap().expect("enrolled");
        self.sync_directly_as(other, &me).expect("a direct sync")
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
    let (status, code, _) = put_submission_saying(hub, device, id, body);
    (status, code)
}

/// [`put_submission`], with the error's message too.
fn put_submission_saying(
    hub: &TestHub,
    device: &Device,
    id: &DocId,
    body: &[u8],
) -> (u16, String, String) {
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
    let field = |name: &str| body[name].as_str().unwrap_or_default().to_string();
    (status, field("error"), field("message"))
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

/// The documents this device refused from its peer in `report`, by id, with why.
fn refused_ids(report: &SyncReport) -> Vec<(String, Refusal)> {
    let mut refused: Vec<_> = report
        .refused
        .iter()
        .map(|(doc, why)| (doc.to_string(), *why))
        .collect();
    refused.sort_by(|a, b| a.0.cmp(&b.0));
    refused
}

#[test]
fn a_facilitators_phone_gets_from_the_supervisors_tablet_only_its_own_work_the_forms_and_its_reviews(
) {
    let hub = TestHub::start();
    let ana = Device::enrol(&hub, Role::Facilitator, "ana");
    let ben = Device::enrol(&hub, Role::Facilitator, "ben");
    let tablet = Device::enrol(&hub, Role::Supervisor, "sara");
    tablet.sync_with_hub(&hub); // the forms
    let (hers, his) = (fill_one(&ana.store, 0, 0), fill_one(&ben.store, 1, 0));
    assert!(
        ana.store.forms().unwrap().is_empty(),
        "she never reached the hub"
    );
    ana.sync_directly(&tablet);
    ben.sync_directly(&tablet);
    for id in [&hers, &his] {
        tablet
            .store
            .set_review_state(id, ReviewState::Approved)
            .unwrap();
    }

    let report = ana.sync_directly(&tablet);
    assert!(report.refused.is_empty(), "{report:?}");
    assert!(!ana.store.forms().unwrap().is_empty(), "the forms came");
    let review = ana
        .store
        .review(&hers)
        .unwrap()
        .expect("the review of her work came");
    assert_eq!(review.state, ReviewState::Approved);
    assert!(
        ana.store.submission(&his).is_err(),
        "not her colleague's submission"
    );
    assert!(ana.store.review(&his).unwrap().is_none(), "nor its review");
}

#[test]
fn a_facilitators_change_to_a_colleagues_answer_and_her_self_approval_are_refused_by_the_tablet_and_the_hub(
) {
    let hub = TestHub::start();
    let ana = Device::enrol(&hub, Role::Facilitator, "ana");
    let ben = Device::enrol(&hub, Role::Facilitator, "ben");
    let tablet = Device::enrol(&hub, Role::Supervisor, "sara");
    let his = fill_one(&ben.store, 0, 0);
    ben.sync_with_hub(&hub);
    ben.sync_with(&ana); // unenrolled: Ana now holds Ben's submission
    ana.store
        .set_answer(&his, &AnswerPath::new("age"), &Value::Integer(99))
        .unwrap();
    let hers = fill_one(&ana.store, 1, 0);
    ana.store
        .set_review_state(&hers, ReviewState::Approved)
        .unwrap();
    tablet.sync_with_hub(&hub);
    let tablets_before = store_documents(&*tablet.store);

    let report = ana.sync_directly(&tablet);
    let review = minga_core::review_id(&hers).to_string();
    let mut expected = vec![
        (his.to_string(), Refusal::NotReadable), // not hers: not even offered a reading
        (review.clone(), Refusal::NotWritable),
    ];
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(refused_ids(&report), expected, "{report:?}");
    assert_eq!(
        report.refused_by_peer.len(),
        2,
        "reported as her own work refused"
    );
    let tablets_after = store_documents(&*tablet.store);
    assert_eq!(
        tablets_after[&his.to_string()],
        tablets_before[&his.to_string()],
        "unchanged"
    );
    assert!(
        !tablets_after.contains_key(&review),
        "no self-approval on the tablet"
    );
    assert!(
        tablets_after.contains_key(&hers.to_string()),
        "her own submission is taken"
    );

    let hub_before = hub.documents();
    let report = ana.sync_with_hub(&hub);
    let refused: Vec<_> = refused_ids(&report).into_iter().map(|(id, _)| id).collect();
    assert!(
        refused.contains(&his.to_string()) && refused.contains(&review),
        "{report:?}"
    );
    assert_eq!(
        hub.documents()[&his.to_string()],
        hub_before[&his.to_string()]
    );
}

#[test]
fn the_hub_judges_a_relayed_change_by_its_signer_not_by_the_supervisors_tablet_that_carries_it() {
    let hub = TestHub::start();
    let ana = Device::enrol(&hub, Role::Facilitator, "ana");
    let ben = Device::enrol(&hub, Role::Facilitator, "ben");
    let tablet = Device::enrol(&hub, Role::Supervisor, "sara");
    let hers = fill_one(&ana.store, 0, 0);
    ana.sync_with_hub(&hub);
    ana.sync_with(&ben); // unenrolled: Ben holds her submission
    ben.store
        .set_answer(&hers, &AnswerPath::new("age"), &Value::Integer(99))
        .unwrap();
    let his = fill_one(&ben.store, 1, 0);
    ben.store
        .set_review_state(&his, ReviewState::Approved)
        .unwrap();
    ben.sync_with(&tablet); // the tablet opened an unenrolled exchange: it carries everything
    let before = hub.documents();

    let report = tablet.sync_with_hub(&hub);
    let review = minga_core::review_id(&his).to_string();
    let refused: Vec<_> = refused_ids(&report).into_iter().map(|(id, _)| id).collect();
    let mut expected = vec![hers.to_string(), review.clone()];
    expected.sort();
    assert_eq!(
        refused, expected,
        "Ben's change to her answer and his self-approval: {report:?}"
    );
    let after = hub.documents();
    assert_eq!(
        after[&hers.to_string()],
        before[&hers.to_string()],
        "her submission unchanged"
    );
    assert!(!after.contains_key(&review));
    assert!(
        after.contains_key(&his.to_string()),
        "his own submission, relayed, is taken"
    );

    let body = seal_signed_document(
        &tablet.store.document_bytes(&hers).unwrap(),
        &tablet.store.change_signatures(&hers).unwrap(),
    );
    let (status, code, message) = put_submission_saying(&hub, &tablet, &hers, &body);
    assert_eq!((status, code.as_str()), (403, "not_the_author"));
    assert!(
        message.contains(&hers.to_string()) && message.contains("change"),
        "{message}"
    );
}

#[test]
fn the_supervisors_tablet_relays_the_authors_own_edits_and_the_hub_takes_them() {
    let hub = TestHub::start();
    let ana = Device::enrol(&hub, Role::Facilitator, "ana");
    let tablet = Device::enrol(&hub, Role::Supervisor, "sara");
    let hers = fill_one(&ana.store, 0, 0);
    ana.sync_with_hub(&hub);
    tablet.sync_with_hub(&hub);
    ana.store
        .set_answer(&hers, &AnswerPath::new("age"), &Value::Integer(41))
        .unwrap();
    assert!(ana.sync_directly(&tablet).refused.is_empty());
    let report = tablet.sync_with_hub(&hub);
    assert!(report.refused.is_empty(), "{report:?}");
    assert_eq!(
        hub.documents()[&hers.to_string()],
        store_documents(&*ana.store)[&hers.to_string()],
        "the hub holds her edit"
    );
}

#[test]
fn an_unenrolled_peer_a_forged_credential_and_a_wrong_proof_get_nothing_from_the_tablet() {
    let hub = TestHub::start();
    let ana = Device::enrol(&hub, Role::Facilitator, "ana");
    let tablet = Device::enrol(&hub, Role::Supervisor, "sara");
    tablet.sync_with_hub(&hub);
    let work = fill_one(&tablet.store, 0, 0);
    let before = store_documents(&*tablet.store);
    let me = ana.store.peer_identity().unwrap().unwrap();
    let refused_handshake = |identity: &PeerIdentity| match ana.sync_directly_as(&tablet, identity)
    {
        Err(DirectFailure::Handshake(PeerRefused::PeerAborted(why))) => why,
        other => panic!("refused at the handshake, not {other:?}"),
    };

    let promoted = PeerIdentity {
        key: DeviceKey::from_secret(me.key.secret()),
        credential: Credential {
            role: PeerRole::Supervisor,
            ..me.credential.clone()
        },
        hub_key: me.hub_key,
    };
    assert!(refused_handshake(&promoted).contains("credential"));
    let another_hub = DeviceKey::generate().unwrap();
    let text = credential_text(
        &me.credential.device_id,
        PROJECT,
        "supervisor",
        &me.key.public_key(),
    );
    let from_another_hub = PeerIdentity {
        key: DeviceKey::from_secret(me.key.secret()),
        credential: Credential {
            role: PeerRole::Supervisor,
            signature: another_hub.sign_credential(&text),
            ..me.credential.clone()
        },
        hub_key: another_hub.public_key(),
    };
    assert!(refused_handshake(&from_another_hub).contains("credential"));
    let thief = PeerIdentity {
        key: DeviceKey::generate().unwrap(),
        credential: me.credential.clone(),
        hub_key: me.hub_key,
    };
    assert!(refused_handshake(&thief).contains("proof"));

    // An unenrolled store (or an older Minga) that starts a session without the handshake.
    let options = SyncOptions::default();
    let (from, to) = (
        PeerId::new("stranger").unwrap(),
        PeerId::new(tablet.enrolled.device_id.clone()).unwrap(),
    );
    let mut initiator = Initiator::new(from, to, options, Arc::new(AllowAll));
    let dir = tempfile::tempdir().unwrap();
    let stranger = open_store(&dir.path().join("s.db"), "stranger");
    let refused = run_session(
        &stranger,
        &Gated::of(&tablet),
        &mut initiator,
        &options,
        &mut |_| {},
    );
    assert!(
        matches!(refused, Err(SyncError::RemoteAbort { .. })),
        "{refused:?}"
    );
    assert!(stranger.submission(&work).is_err(), "nothing reached it");
    assert_eq!(
        store_documents(&*tablet.store),
        before,
        "the tablet's store is unchanged"
    );
}

#[test]
fn a_tablet_refuses_a_facilitators_change_to_a_colleagues_work_that_a_second_tablet_relays() {
    let hub = TestHub::start();
    let ana = Device::enrol(&hub, Role::Facilitator, "ana");
    let ben = Device::enrol(&hub, Role::Facilitator, "ben");
    let tablet = Device::enrol(&hub, Role::Supervisor, "sara");
    let relay = Device::enrol(&hub, Role::Supervisor, "tomas");
    let hers = fill_one(&ana.store, 0, 0);
    ana.sync_with_hub(&hub);
    tablet.sync_with_hub(&hub);
    ana.sync_with(&ben); // unenrolled: Ben holds her submission
    ben.store
        .set_answer(&hers, &AnswerPath::new("age"), &Value::Integer(99))
        .unwrap();
    ben.sync_with(&relay); // the second tablet opened an unenrolled exchange
    let before = store_documents(&*tablet.store);

    let report = relay.sync_directly(&tablet);
    assert_eq!(
        refused_ids(&report),
        [(hers.to_string(), Refusal::NotWritable)],
        "no credential on the tablet vouches for Ben's change: {report:?}"
    );
    assert_eq!(
        store_documents(&*tablet.store),
        before,
        "the tablet is unchanged"
    );
}
