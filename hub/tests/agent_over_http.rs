//! The core's sync agent against a real hub on loopback HTTP with a real SQLite phone store:
//! once the network is up the phone's submission reaches the hub by itself, and after the
//! device is revoked the next sync wipes the phone and says so.

mod common;

use common::Hub;
use minga_core::agent::{AgentConfig, PeerConfig, PeerConnection};
use minga_core::minga_sync::PeerId;
use minga_core::{
    AnswerPath, DeviceIdentity, Encryption, FormRef, Store, SyncAgent, SyncEvent, Value,
};
use minga_hub::access::Role;
use minga_hub::storage::HubStorage;
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The next event that is not progress; the wait guards against a hang, it times nothing.
fn next(events: &Receiver<SyncEvent>) -> SyncEvent {
    loop {
        let event = events
            .recv_timeout(Duration::from_secs(60))
            .expect("the agent reports within a minute");
        if !matches!(event, SyncEvent::Progress { .. }) {
            return event;
        }
    }
}

#[test]
fn the_agent_syncs_with_the_hub_by_itself_and_wipes_the_phone_once_revoked() {
    let hub = Hub::start();
    let enrolled = hub.enrol("imbabura", Role::Facilitator, "Ana");
    let dir = tempfile::tempdir().unwrap();
    let phone = Arc::new(
        Store::open(
            dir.path().join("phone.sqlite3"),
            Encryption::PlainFile,
            DeviceIdentity::new("ana", "ana"),
        )
        .unwrap(),
    );
    let id = phone
        .create_submission(&FormRef::new("safety_walk", "2026-11-01"))
        .unwrap();
    phone
        .set_answer(&id, &AnswerPath::new("age"), &Value::Integer(40))
        .unwrap();
    let (sender, events) = channel();
    let sender = Mutex::new(sender);
    let _observer = phone.observe_sync(Box::new(move |event: &SyncEvent| {
        let _ = sender.lock().unwrap().send(event.clone());
    }));

    let hub_id = PeerId::new(hub.storage.hub_id().unwrap()).unwrap();
    let connection = PeerConnection::Http {
        url: format!("{}/v1/sync/imbabura", hub.running.url()),
        token: Some(enrolled.token.clone()),
    };
    let config = AgentConfig::new(
        PeerId::new(enrolled.id.clone()).unwrap(),
        vec![PeerConfig {
            id: hub_id.clone(),
            connection,
        }],
    );
    let agent = SyncAgent::start(phone.clone(), config).unwrap();
    agent.network_available(true);
    assert_eq!(
        next(&events),
        SyncEvent::Started {
            peer: hub_id.clone()
        }
    );
    match next(&events) {
        SyncEvent::Finished { report, .. } => assert_eq!(report.sent, 1),
        other => panic!("unexpected {other:?}"),
    }
    assert!(hub
        .storage
        .document_header("imbabura", &id.to_string())
        .unwrap()
        .is_some());

    hub.storage.revoke_device(&enrolled.id).unwrap();
    agent.sync_now();
    assert_eq!(
        next(&events),
        SyncEvent::Started {
            peer: hub_id.clone()
        }
    );
    assert_eq!(
        next(&events),
        SyncEvent::Revoked {
            peer: hub_id,
            wipe_error: None
        }
    );
    let left = phone
        .list_submissions(&Default::default(), None, 10)
        .unwrap();
    assert!(left.items.is_empty(), "the phone's copy is wiped");
    drop(agent);
}
