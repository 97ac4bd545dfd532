//! Published forms through a real hub on loopback: `form publish` stores the form document,
//! every device of the project receives it by sync into its core store and reads it there, and
//! no device (facilitator or supervisor) may write a form document.

mod common;

use automerge::transaction::Transactable;
use common::{fixture_form, Enrolled, Hub, Phone};
use minga_core::{form_document_id, read_form_document, DocKind, Error, Form};
use minga_hub::access::Role;
use minga_hub::admin;
use minga_hub::client::HubConnection;
use minga_hub::error::HubError;
use minga_hub::storage::HubStorage;
use minga_sync::{PeerId, SyncReport};

/// An enrolled device with a real core store.
struct Device {
    enrolled: Enrolled,
    phone: Phone,
}

impl Device {
    fn new(hub: &Hub, role: Role, name: &str) -> Device {
        Device {
            enrolled: hub.enrol("imbabura", role, name),
            phone: Phone::new(name),
        }
    }

    fn sync(&self, hub: &Hub) -> SyncReport {
        let hub_id = PeerId::new(hub.storage.hub_id().unwrap()).unwrap();
        let connection = HubConnection::new(&hub.running.url(), "imbabura", &self.enrolled.token);
        let local = PeerId::new(self.enrolled.id.clone()).unwrap();
        connection
            .sync(&self.phone.store, &local, &hub_id)
            .expect("sync")
    }
}

fn fixture() -> Form {
    admin::read_form_file(fixture_form()).unwrap()
}

/// The fixture under another version, written where `admin::publish_form` can read it.
fn version_file(dir: &tempfile::TempDir, version: &str) -> (Form, std::path::PathBuf) {
    let mut form = fixture();
    form.version = version.into();
    let path = dir.path().join(format!("safety_walk-{version}.json"));
    std::fs::write(&path, serde_json::to_vec(&form).unwrap()).unwrap();
    (form, path)
}

/// The hub's copy of a form document, read as a form.
fn hub_form(hub: &Hub, form_id: &str, version: &str) -> Option<Form> {
    let id = form_document_id(form_id, version);
    let stored = hub.storage.document("imbabura", &id.to_string()).unwrap()?;
    assert_eq!(stored.header.kind, minga_hub::access::DocKind::Form);
    Some(read_form_document(&id, &stored.bytes).unwrap())
}

#[test]
fn every_device_of_the_project_receives_and_reads_the_published_forms() {
    let hub = Hub::start();
    let published = fixture();
    assert_eq!(
        hub_form(&hub, &published.id, &published.version),
        Some(published.clone())
    );
    let ana = Device::new(&hub, Role::Facilitator, "ana");
    let sara = Device::new(&hub, Role::Supervisor, "sara");
    for device in [&ana, &sara] {
        let report = device.sync(&hub);
        assert_eq!(
            (report.received, report.refused.len()),
            (1, 0),
            "{report:?}"
        );
        let store = &device.phone.store;
        let listed = store.forms().unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(
            (listed[0].form_id.as_str(), listed[0].version.as_str()),
            (published.id.as_str(), published.version.as_str())
        );
        assert_eq!(
            store.form(&published.id, &published.version).unwrap(),
            published
        );
    }

    // A new version published later reaches the devices at their next sync.
    let files = tempfile::tempdir().unwrap();
    let (newer, path) = version_file(&files, "2026-12-01");
    admin::publish_form(hub.storage.as_ref(), "imbabura", &path).unwrap();
    assert_eq!(ana.sync(&hub).received, 1);
    assert_eq!(ana.phone.store.latest_form(&newer.id).unwrap(), newer);
    assert_eq!(ana.phone.store.forms().unwrap().len(), 2);
}

#[test]
fn a_hub_refuses_another_definition_of_a_published_version_and_keeps_the_first() {
    let hub = Hub::start();
    let mut rival = fixture();
    rival.survey.pop();
    let files = tempfile::tempdir().unwrap();
    let path = files.path().join("rival.json");
    std::fs::write(&path, serde_json::to_vec(&rival).unwrap()).unwrap();
    let refused = admin::publish_form(hub.storage.as_ref(), "imbabura", &path);
    assert!(
        matches!(refused, Err(HubError::DuplicateFormVersion { .. })),
        "{refused:?}"
    );
    assert_eq!(
        hub_form(&hub, &rival.id, &rival.version),
        Some(fixture()),
        "the first definition stays, in the table and in the form document"
    );
    assert_eq!(hub.storage.forms("imbabura").unwrap(), vec![fixture()]);
}

#[test]
fn no_device_may_write_a_form_document() {
    let hub = Hub::start();
    let ana = Device::new(&hub, Role::Facilitator, "ana");
    let sara = Device::new(&hub, Role::Supervisor, "sara");
    for (device, version) in [(&ana, "ana-1"), (&sara, "sara-1")] {
        device.sync(&hub);
        // A form version the hub never published, published on the device.
        let mut own = fixture();
        own.version = version.into();
        device.phone.store.publish_form(&own).unwrap();
        let report = device.sync(&hub);
        assert_eq!(report.refused.len(), 1, "{report:?}");
        assert_eq!(hub_form(&hub, &own.id, version), None);
    }

    // A change to the published form document itself, made on a device, stays there.
    let published = fixture();
    let id = form_document_id(&published.id, &published.version);
    let heads_before = hub
        .storage
        .document_header("imbabura", &id.to_string())
        .unwrap()
        .unwrap()
        .heads;
    sara.phone
        .store
        .update_document(&id, DocKind::Form, |doc| {
            doc.put(automerge::ROOT, "definition", "{}")?;
            doc.commit();
            Ok(())
        })
        .unwrap();
    let report = sara.sync(&hub);
    assert!(
        report
            .refused
            .iter()
            .any(|(doc, _)| doc.as_str() == id.to_string()),
        "{report:?}"
    );
    let header = hub
        .storage
        .document_header("imbabura", &id.to_string())
        .unwrap()
        .unwrap();
    assert_eq!(header.heads, heads_before);
    assert_eq!(
        hub_form(&hub, &published.id, &published.version),
        Some(published.clone())
    );
    // On the device that changed it, the form no longer reads: the change is not hidden.
    assert!(matches!(
        sara.phone.store.form(&published.id, &published.version),
        Err(Error::InvalidForm { .. })
    ));
    // Ana, who never had the change, still reads the published form.
    ana.sync(&hub);
    assert_eq!(
        ana.phone
            .store
            .form(&published.id, &published.version)
            .unwrap(),
        published
    );
}
