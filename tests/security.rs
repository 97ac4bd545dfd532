//! Security, each claim tested by trying: a phone's store and a bundle are unreadable without
//! their keys, the hub keeps tokens and codes only as hashes, a device reaches nothing outside
//! its projects and its own submissions (even claiming another device's peer id), a revoked
//! phone's sync agent wipes its copy on the next sync, and the hub's logs at trace level hold no answer, token
//! or code. The enrolment code rules (expiry, single use, one answer to every wrong code, a
//! limit per guessing address) are tested in `hub/tests/auth_matrix.rs`.

use minga_core::agent::{AgentConfig, PeerConfig, PeerConnection, SyncAgent};
use minga_core::{AnswerPath, DeviceIdentity, Error, Store, SyncEvent, Value};
use minga_hub::access::Role;
use minga_hub::auth::hash_secret;
use minga_hub::storage::HubStorage;
use minga_scenarios::hub::{
    enrol_at, prepare_data, Enrolled, HubProcess, TestHub, OTHER_PROJECT, PROJECT,
};
use minga_scenarios::phone::{open_store, phone_key, store_documents, sync_store, Phone};
use minga_sync::bundle::{import_bundle, write_bundle, BundleError, BundleIdentity, BundleScope};
use minga_sync::{AllowAll, PeerId, SyncOptions};
use std::path::Path;
use std::sync::Arc;

/// The real `minga-hub` binary.
const HUB: &str = env!("CARGO_BIN_EXE_minga-hub-under-test");

/// An answer no file, bundle or log may show in the clear.
const SECRET_ANSWER: &str = "the extortion is run from the third house past the chapel";

/// Every file of a folder (a store with its WAL, a hub's data), concatenated.
fn all_bytes(dir: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            bytes.extend(std::fs::read(path).unwrap());
        }
    }
    bytes
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

fn answered_phone(hub: &TestHub) -> (Phone, minga_core::DocId) {
    let phone = Phone::new(hub.enrol(Role::Facilitator, "Ana"));
    let id = phone.fill(1, 0)[0];
    phone
        .store
        .set_answer(
            &id,
            &AnswerPath::new("respondent"),
            &Value::Text(SECRET_ANSWER.into()),
        )
        .unwrap();
    (phone, id)
}

#[test]
fn a_phone_store_is_unreadable_without_its_key() {
    let hub = TestHub::start();
    let (phone, id) = answered_phone(&hub);
    phone.sync(&hub.url(), SyncOptions::default()).unwrap(); // received documents too
    let path = phone.path();
    drop(phone.store);
    assert!(!contains(&all_bytes(phone.dir.path()), SECRET_ANSWER));
    assert!(!contains(&all_bytes(phone.dir.path()), "safety_walk"));
    let wrong = Store::open(
        &path,
        minga_core::Encryption::Key(minga_core::StoreKey::new([8; 32])),
        DeviceIdentity::new("thief", "thief"),
    );
    assert!(
        matches!(wrong, Err(Error::WrongKey { .. })),
        "{:?}",
        wrong.err()
    );
    let plain = rusqlite::Connection::open(&path).unwrap();
    assert!(plain
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r
            .get::<_, i64>(0))
        .is_err());
    let reopened = open_store(&path, "Ana");
    assert_eq!(
        reopened.answers(&id).unwrap().value("respondent"),
        Some(&Value::Text(SECRET_ANSWER.into())),
        "the right key still reads it"
    );
}

#[test]
fn a_bundle_is_unreadable_without_its_recipients_key() {
    let hub = TestHub::start();
    let (phone, id) = answered_phone(&hub);
    let (recipient, stranger) = (BundleIdentity::generate(), BundleIdentity::generate());
    let (from, to) = (PeerId::new("ana").unwrap(), PeerId::new("tablet").unwrap());
    let bundle = write_bundle(
        &phone.store,
        &from,
        &to,
        &recipient.to_public(),
        BundleScope::Everything,
        &AllowAll,
    )
    .unwrap();
    assert!(!contains(&bundle, SECRET_ANSWER));
    let tablet = Store::open(
        phone.dir.path().join("tablet.db"),
        phone_key(9),
        DeviceIdentity::new("tablet", "tablet"),
    )
    .unwrap();
    let refused = import_bundle(&tablet, &to, &stranger, &bundle, Arc::new(AllowAll));
    assert!(
        matches!(refused, Err(BundleError::NotForThisRecipient)),
        "{refused:?}"
    );
    assert!(store_documents(&tablet).is_empty(), "nothing imported");
    import_bundle(&tablet, &to, &recipient, &bundle, Arc::new(AllowAll)).unwrap();
    assert_eq!(
        tablet.answers(&id).unwrap().value("respondent"),
        Some(&Value::Text(SECRET_ANSWER.into())),
        "the recipient reads it"
    );
}

#[test]
fn tokens_and_enrolment_codes_are_stored_only_hashed() {
    let hub = TestHub::start();
    let devices: Vec<Enrolled> = (0..3)
        .map(|n| hub.enrol(Role::Facilitator, &format!("d{n}")))
        .collect();
    let pending =
        minga_hub::admin::enrol_device(hub.storage.as_ref(), PROJECT, Role::Supervisor, "later")
            .unwrap();
    let dir = hub.dir.path().to_path_buf();
    hub.running.stop().unwrap();
    let stored = all_bytes(&dir);
    for device in &devices {
        assert!(!contains(&stored, &device.token), "a token in the clear");
        // The database is encrypted, so its hash is found through the hub's storage.
        let kept = hub
            .storage
            .device_by_token_hash(&hash_secret(&device.token));
        assert!(kept.unwrap().is_some(), "its hash is what is kept");
    }
    let code = pending.code.to_string();
    assert!(!contains(&stored, &code) && !contains(&stored, &pending.code.secret));
}

/// Pulls with `device`'s token while claiming the peer id `claimed`; returns the document ids
/// received.
fn pull_claiming(hub: &TestHub, device: &Enrolled, claimed: &str) -> Vec<String> {
    let forged = Enrolled {
        device_id: claimed.into(),
        ..device.clone()
    };
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir.path().join("thief.db"), "thief");
    let _ = sync_store(
        &store,
        &hub.url(),
        &forged,
        SyncOptions::default(),
        0,
        &mut |_| {},
    );
    store_documents(&store).into_keys().collect()
}

#[test]
fn a_device_reaches_nothing_outside_its_projects_and_its_own_submissions() {
    let hub = TestHub::start();
    let (ana, id) = answered_phone(&hub);
    ana.sync(&hub.url(), SyncOptions::default()).unwrap();
    let sara = hub.enrol(Role::Supervisor, "Sara");
    let ben = hub.enrol(Role::Facilitator, "Ben");
    let outsider = enrol_at(
        hub.storage.as_ref(),
        &hub.url(),
        OTHER_PROJECT,
        Role::Supervisor,
        "Olga",
    );
    let before = hub.documents();

    // Over sync: a supervisor of another project, and a facilitator, even claiming to be Ana
    // or Sara, receive no submission of Ana's.
    for (device, claimed) in [
        (&outsider, &outsider.device_id),
        (&outsider, &sara.device_id),
        (&ben, &ben.device_id),
        (&ben, &ana.enrolled.device_id),
        (&ben, &sara.device_id),
    ] {
        let received = pull_claiming(&hub, device, claimed);
        assert!(
            !received.contains(&id.to_string()),
            "{} claiming {claimed} got Ana's submission",
            device.device_id
        );
    }
    let mut wrong_project = outsider.clone();
    wrong_project.project = PROJECT.into();
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir.path().join("olga.db"), "olga");
    assert!(sync_store(
        &store,
        &hub.url(),
        &wrong_project,
        SyncOptions::default(),
        0,
        &mut |_| {}
    )
    .is_err());
    assert!(store_documents(&store).is_empty());

    // Over the document routes: reading or overwriting Ana's submission.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let path = format!("{}/v1/projects/{PROJECT}/submissions/{id}", hub.url());
    let theirs = ana.store.export_submission(&id).unwrap();
    for device in [&outsider, &ben] {
        let auth = format!("Bearer {}", device.token);
        let read = agent
            .get(&path)
            .header("Authorization", &auth)
            .call()
            .unwrap();
        assert!(
            matches!(read.status().as_u16(), 403 | 404),
            "{}",
            read.status()
        );
        let write = agent
            .put(&path)
            .header("Authorization", &auth)
            .send(&theirs[..])
            .unwrap();
        assert!(
            matches!(write.status().as_u16(), 403 | 404),
            "{}",
            write.status()
        );
        let changes = agent
            .get(&format!(
                "{}/v1/projects/{PROJECT}/changes?since=0",
                hub.url()
            ))
            .header("Authorization", &auth)
            .call()
            .unwrap();
        let body = changes.into_body().read_to_string().unwrap();
        assert!(!body.contains(&id.to_string()), "{body}");
    }
    // Ben edits a copy of Ana's submission and pushes it as his own change: refused.
    let ben_phone = Phone::new(ben.clone());
    ben_phone.store.import_submission(&theirs).unwrap();
    ben_phone
        .store
        .set_answer(
            &id,
            &AnswerPath::new("respondent"),
            &Value::Text("overwritten".into()),
        )
        .unwrap();
    let report = ben_phone.sync(&hub.url(), SyncOptions::default()).unwrap();
    assert_eq!(report.refused.len(), 1, "{report:?}");
    assert_eq!(hub.documents(), before, "nothing on the hub changed");
}

/// The next event the agent reports that ends a sync (finished, failed or revoked).
fn sync_outcome(events: &std::sync::mpsc::Receiver<SyncEvent>) -> SyncEvent {
    loop {
        let event = events
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("the agent reports");
        if !matches!(
            event,
            SyncEvent::Started { .. } | SyncEvent::Progress { .. }
        ) {
            return event;
        }
    }
}

#[test]
fn a_revoked_phone_is_wiped_on_its_next_sync() {
    let hub = TestHub::start();
    let (phone, id) = answered_phone(&hub);
    let (enrolled, dir) = (phone.enrolled.clone(), phone.dir);
    let store = Arc::new(phone.store);
    let (send, events) = std::sync::mpsc::channel();
    let _observing = store.observe_sync(Box::new(move |event| {
        let _ = send.send(event.clone());
    }));
    let connection = PeerConnection::Http {
        url: format!("{}/v1/sync/{PROJECT}", hub.url()),
        token: Some(enrolled.token.clone()),
    };
    let peers = vec![PeerConfig {
        id: PeerId::new(enrolled.hub_id.clone()).unwrap(),
        connection,
    }];
    let local = PeerId::new(enrolled.device_id.clone()).unwrap();
    let agent = SyncAgent::start(store.clone(), AgentConfig::new(local, peers)).unwrap();
    agent.network_available(true);
    let first = sync_outcome(&events);
    assert!(matches!(first, SyncEvent::Finished { .. }), "{first:?}");
    assert!(hub.documents().contains_key(&id.to_string()));

    hub.storage.revoke_device(&enrolled.device_id).unwrap();
    agent.sync_now();
    let next = sync_outcome(&events);
    assert!(
        matches!(
            next,
            SyncEvent::Revoked {
                wipe_error: None,
                ..
            }
        ),
        "{next:?}"
    );
    assert!(store.submission(&id).is_err(), "the submission is gone");
    assert!(
        store_documents(store.as_ref()).is_empty(),
        "every document is gone"
    );
    assert!(
        !contains(&all_bytes(dir.path()), SECRET_ANSWER),
        "and not left in the file"
    );
    // The hub still has it: a wipe loses nothing that was synced.
    assert!(hub.documents().contains_key(&id.to_string()));
}

#[test]
fn the_hub_logs_no_answer_token_or_code_even_at_trace_level() {
    let data = tempfile::tempdir().unwrap();
    let (ana_code, sara_code) = {
        let storage = prepare_data(data.path());
        let issue = |role, name| {
            minga_hub::admin::enrol_device(storage.as_ref(), PROJECT, role, name)
                .unwrap()
                .code
                .to_string()
        };
        (
            issue(Role::Facilitator, "Ana"),
            issue(Role::Supervisor, "Sara"),
        )
    };
    let hub = HubProcess::start(HUB, data.path(), "trace");
    let enrol = |code: &str| {
        let answer = minga_hub::client::enrol(&hub.url, code).unwrap();
        Enrolled {
            device_id: answer.device_id,
            token: answer.token,
            hub_id: answer.hub_id,
            project: PROJECT.into(),
        }
    };
    let ana = Phone::new(enrol(&ana_code));
    let sara = Phone::new(enrol(&sara_code));
    let id = ana.fill(1, 0)[0];
    ana.store
        .set_answer(
            &id,
            &AnswerPath::new("respondent"),
            &Value::Text(SECRET_ANSWER.into()),
        )
        .unwrap();
    ana.sync(&hub.url, SyncOptions::default()).unwrap();
    sara.sync(&hub.url, SyncOptions::default()).unwrap();
    assert_eq!(
        sara.store.answers(&id).unwrap().value("respondent"),
        Some(&Value::Text(SECRET_ANSWER.into()))
    );
    // A wrong code, a garbage sync body and a document upload leave their own log lines.
    let _ = minga_hub::client::enrol(&hub.url, &ana_code);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let auth = format!("Bearer {}", ana.enrolled.token);
    agent
        .post(&format!("{}/v1/sync/{PROJECT}", hub.url))
        .header("Authorization", &auth)
        .send(SECRET_ANSWER.as_bytes())
        .unwrap();
    let bytes = ana.store.export_submission(&id).unwrap();
    agent
        .put(&format!(
            "{}/v1/projects/{PROJECT}/submissions/{id}",
            hub.url
        ))
        .header("Authorization", &auth)
        .send(&bytes[..])
        .unwrap();
    let log = hub.stop();

    assert!(
        log.contains("request") && log.contains("TRACE"),
        "the log was captured at trace level: {log}"
    );
    let secrets = [
        SECRET_ANSWER.to_string(),
        ana.enrolled.token.clone(),
        sara.enrolled.token.clone(),
        ana_code.clone(),
        ana_code.replace('-', ""),
        sara_code.clone(),
    ];
    for secret in &secrets {
        assert!(
            !log.contains(secret.as_str()),
            "the log holds a secret ({} bytes of log)",
            log.len()
        );
    }
    println!(
        "{} lines of trace log, no answer, token or code in them",
        log.lines().count()
    );
}
