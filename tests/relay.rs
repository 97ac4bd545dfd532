//! Trusted relays through a real hub over HTTP: a submission's author is the device whose key
//! signed its first change, whoever carries it to the hub. A facilitator's phone syncs with the
//! supervisor's tablet in the parish, the tablet reaches the office first: the facilitator
//! stays the author and her later edits are accepted. A colleague who relays her work cannot
//! take it over.

use minga_core::{AnswerPath, Store, Value};
use minga_hub::access::Role;
use minga_hub::storage::HubStorage;
use minga_scenarios::hub::{Enrolled, TestHub, PROJECT};
use minga_scenarios::phone::{fill_one, open_store, sync_store};
use minga_sync::wire::Refusal;
use minga_sync::{run_session, AllowAll, Initiator, MemoryTransport, PeerId, SyncOptions};
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
        .document_heads(&id)
        .unwrap()
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
