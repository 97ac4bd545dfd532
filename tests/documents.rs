//! A real hub on loopback stores only what is shaped as the route or sync message says: a
//! submission under a submission's id (never a review's or a form version's), with its own id
//! in `meta.id`, and no id that is not a canonical UUID. Each attack of issue 12 is tried over
//! the document routes and over sync; each is refused with a status a client can act on, the
//! rest of a sync batch still lands, and legitimate submissions and reviews still go through.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ReadDoc, ROOT};
use minga_core::{review_id, DocId, ReviewState};
use minga_hub::access::Role;
use minga_hub::storage::HubStorage;
use minga_scenarios::hub::{fixture_form, TestHub, PROJECT};
use minga_scenarios::phone::{sync_store, Phone};
use minga_sync::wire::Refusal;
use minga_sync::wire::{open_signed_document, seal_signed_document};
use minga_sync::{DocKind, DocumentStore, IncomingDoc, MemoryStore, SyncOptions};
use std::collections::BTreeSet;

/// A version of the fixture form that is not published yet.
const NEXT_VERSION: &str = "2027-01-01";

/// Ana, a facilitator, with one submission on the hub, and a colleague's submission there too.
struct Office {
    hub: TestHub,
    ana: Phone,
    supervisor: Phone,
    /// Ana's submission, synced.
    own: DocId,
    /// Ben's submission, synced.
    colleagues: DocId,
}

fn office() -> Office {
    let hub = TestHub::start();
    let ana = Phone::new(hub.enrol(Role::Facilitator, "Ana"));
    let ben = Phone::new(hub.enrol(Role::Facilitator, "Ben"));
    let supervisor = Phone::new(hub.enrol(Role::Supervisor, "Sara"));
    let own = ana.fill(1, 0)[0];
    let colleagues = ben.fill(1, 0)[0];
    ana.sync(&hub.url(), SyncOptions::default()).unwrap();
    ben.sync(&hub.url(), SyncOptions::default()).unwrap();
    Office {
        hub,
        ana,
        supervisor,
        own,
        colleagues,
    }
}

/// `signed`, a submission as a store exports it, with its `meta.id` set to `meta_id` (by an
/// unkeyed actor: the signatures of its own changes go with it, so only its shape is wrong).
fn with_meta_id(signed: &[u8], meta_id: &str) -> Vec<u8> {
    let (bytes, signatures) = open_signed_document(signed).unwrap();
    let mut doc = AutoCommit::load(bytes).unwrap();
    let (_, meta) = doc
        .get(ROOT, "meta")
        .unwrap()
        .expect("a submission has meta");
    doc.put(&meta, "id", meta_id).unwrap();
    seal_signed_document(&doc.save(), &signatures)
}

/// The id form `safety_walk` version [`NEXT_VERSION`] will have once published.
fn next_form_id() -> String {
    minga_core::form_document_id("safety_walk", NEXT_VERSION).to_string()
}

fn publish_next_version(hub: &TestHub) -> minga_hub::Result<()> {
    let mut form: minga_core::Form =
        serde_json::from_slice(&std::fs::read(fixture_form()).unwrap()).unwrap();
    form.version = NEXT_VERSION.into();
    hub.storage.publish_form(PROJECT, &form)
}

/// The supervisor's review of `submission`, as her phone makes it after a sync, with the
/// signatures of its changes.
fn supervisors_review(office: &Office, submission: &DocId) -> Vec<u8> {
    let sara = &office.supervisor;
    sara.sync(&office.hub.url(), SyncOptions::default())
        .unwrap();
    sara.store
        .set_review_state(submission, ReviewState::HasIssues)
        .unwrap();
    let review = review_id(submission);
    let bytes = DocumentStore::export(&sara.store, &review.into())
        .unwrap()
        .expect("the review is stored");
    let signatures = sara.store.change_signatures(&review).unwrap();
    seal_signed_document(&bytes, &signatures)
}

/// A status and the error code of the body.
struct Reply {
    status: u16,
    code: String,
}

fn put(hub: &TestHub, token: &str, path: &str, body: &[u8]) -> Reply {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let reply = agent
        .put(&format!("{}/v1/projects/{PROJECT}/{path}", hub.url()))
        .header("Authorization", &format!("Bearer {token}"))
        .send(body)
        .unwrap();
    let status = reply.status().as_u16();
    let body = reply.into_body().read_to_string().unwrap();
    let code = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|json| json["error"].as_str().map(str::to_string))
        .unwrap_or(body);
    Reply { status, code }
}

fn stored_ids(hub: &TestHub) -> BTreeSet<String> {
    hub.documents().into_keys().collect()
}

#[test]
fn the_document_routes_refuse_what_is_not_shaped_as_the_route_says_and_store_nothing() {
    let office = office();
    let hub = &office.hub;
    let token = office.ana.enrolled.token.clone();
    let own = office.own.to_string();
    let own_bytes = office.ana.store.export_submission(&office.own).unwrap();
    let own_review = review_id(&office.own).to_string();
    let unsynced = office.ana.fill(1, 0)[0].to_string();
    let forged = with_meta_id(&own_bytes, &office.colleagues.to_string());
    let review = supervisors_review(&office, &office.own);
    let before = stored_ids(hub);

    let attacks: [(&str, String, &[u8], u16, &str); 9] = [
        (
            "her own submission's review id",
            own_review.clone(),
            &own_bytes,
            409,
            "id_of_another_kind",
        ),
        (
            "an unpublished form version's id",
            next_form_id(),
            &own_bytes,
            409,
            "id_of_another_kind",
        ),
        (
            "a meta.id naming a colleague's submission",
            unsynced.clone(),
            &forged,
            422,
            "meta_id_mismatch",
        ),
        (
            "a path",
            "..%2F..%2Fetc%2Fpasswd".into(),
            &own_bytes,
            400,
            "not_a_document_id",
        ),
        (
            "a NUL",
            "a%00b".into(),
            &own_bytes,
            400,
            "not_a_document_id",
        ),
        (
            "10 kB",
            "7".repeat(10_000),
            &own_bytes,
            400,
            "not_a_document_id",
        ),
        (
            "an id in capitals",
            unsynced.to_uppercase(),
            &own_bytes,
            400,
            "not_a_document_id",
        ),
        (
            "garbage bytes",
            unsynced.clone(),
            b"\x85\x6f\x4a\x83garbage",
            400,
            "invalid_document",
        ),
        (
            "a review sent as a submission",
            unsynced.clone(),
            &review,
            422,
            "wrong_shape",
        ),
    ];
    for (attack, id, body, status, code) in attacks {
        let reply = put(hub, &token, &format!("submissions/{id}"), body);
        assert_eq!(
            (reply.status, reply.code.as_str()),
            (status, code),
            "{attack}"
        );
    }
    let sara = office.supervisor.enrolled.token.clone();
    let submission_as_review = put(hub, &sara, &format!("reviews/{own}"), &own_bytes);
    assert_eq!(
        (
            submission_as_review.status,
            submission_as_review.code.as_str()
        ),
        (422, "wrong_shape"),
        "a submission sent as a review"
    );
    assert_eq!(stored_ids(hub), before, "nothing was stored");

    assert_eq!(
        put(hub, &sara, &format!("reviews/{own}"), &review).status,
        200,
        "the supervisor's review of her submission goes through"
    );
    publish_next_version(hub).expect("the form version publishes");
    let new_bytes = office
        .ana
        .store
        .export_submission(&unsynced.parse().unwrap())
        .unwrap();
    assert_eq!(
        put(hub, &token, &format!("submissions/{unsynced}"), &new_bytes).status,
        200,
        "a legitimate submission goes through"
    );
}

#[test]
fn sync_refuses_each_document_not_shaped_as_its_message_says_and_the_rest_lands() {
    let office = office();
    let hub = &office.hub;
    let own_bytes = office.ana.store.export_submission(&office.own).unwrap();
    let review = supervisors_review(&office, &office.own);
    let unsynced = office.ana.fill(2, 0);
    let legitimate = unsynced[0];
    let forged = with_meta_id(&own_bytes, &office.colleagues.to_string());
    let before = stored_ids(hub);

    let hostile: Vec<(String, Vec<u8>)> = vec![
        (review_id(&office.own).to_string(), own_bytes.clone()),
        (next_form_id(), own_bytes.clone()),
        (unsynced[1].to_string(), forged),
        ("../../etc/passwd".into(), own_bytes.clone()),
        ("a\0b".into(), own_bytes.clone()),
        (minga_sync::DocId::random().to_string(), review),
    ];
    let phone = MemoryStore::new();
    let mut commit = minga_sync::Commit::new(minga_sync::PeerId::new("ana").unwrap());
    let legitimate_bytes = office.ana.store.export_submission(&legitimate).unwrap();
    for (id, changes) in hostile
        .iter()
        .cloned()
        .chain([(legitimate.to_string(), legitimate_bytes)])
    {
        let (changes, signatures) = open_signed_document(&changes).unwrap();
        commit.docs.push(IncomingDoc {
            id: minga_sync::DocId::new(id).unwrap(),
            kind: DocKind::Submission,
            changes: changes.to_vec(),
            loaded: None,
        });
        commit.signatures.extend(signatures);
    }
    phone.commit(commit).unwrap();

    let report = sync_store(
        &phone,
        &hub.url(),
        &office.ana.enrolled,
        SyncOptions::default(),
        0,
        &mut |_| {},
    )
    .unwrap();
    let mut refused: Vec<(String, Refusal)> = report
        .refused
        .iter()
        .map(|(id, reason)| (id.as_str().to_string(), *reason))
        .collect();
    refused.sort_by(|a, b| a.0.cmp(&b.0));
    refused.dedup();
    let mut expected: Vec<(String, Refusal)> = hostile
        .iter()
        .map(|(id, _)| (id.clone(), Refusal::Invalid))
        .collect();
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        refused, expected,
        "each hostile document refused, as invalid"
    );
    let mut after = before.clone();
    after.insert(legitimate.to_string());
    assert_eq!(
        stored_ids(hub),
        after,
        "only the legitimate submission landed"
    );

    // The supervisor's review of Ana's submission, by sync.
    let sara = &office.supervisor;
    let report = sara.sync(&hub.url(), SyncOptions::default()).unwrap();
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    assert!(stored_ids(hub).contains(&review_id(&office.own).to_string()));
}
