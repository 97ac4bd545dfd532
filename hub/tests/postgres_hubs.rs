//! Two hubs over one PostgreSQL database, as two hub processes behind a load balancer would run:
//! each server has its own connection pool; a device syncs with one and a supervisor with the
//! other. Needs MINGA_TEST_POSTGRES_URL (scripts/test sets it); skipped, saying so, without.

mod common;

use common::{fixture_form, Phone};
use minga_core::Value;
use minga_hub::access::Role;
use minga_hub::admin;
use minga_hub::client::{self, HubConnection};
use minga_hub::server::RunningHub;
use minga_hub::storage::postgres::testing::TestDatabase;
use minga_hub::storage::HubStorage;
use minga_sync::{PeerId, SyncError, SyncReport, Transport, TransportError};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

const PROJECT: &str = "imbabura";

/// A device enrolled with a code issued through `issuer` and redeemed at `hub`.
struct Device {
    phone: Phone,
    token: String,
    id: String,
    hub_id: String,
}

impl Device {
    fn enrol(issuer: &dyn HubStorage, hub: &RunningHub, role: Role, name: &str) -> Device {
        let issued = admin::enrol_device(issuer, PROJECT, role, name).unwrap();
        let answer = client::enrol(&hub.url(), &issued.code.to_string()).unwrap();
        Device {
            phone: Phone::new(name),
            token: answer.token,
            id: answer.device_id,
            hub_id: answer.hub_id,
        }
    }

    fn sync(&self, hub: &RunningHub) -> SyncReport {
        self.sync_over(&HubConnection::new(&hub.url(), PROJECT, &self.token))
            .expect("sync")
    }

    fn sync_over(&self, transport: &dyn Transport) -> Result<SyncReport, SyncError> {
        let local = PeerId::new(self.id.clone()).unwrap();
        let remote = PeerId::new(self.hub_id.clone()).unwrap();
        client::sync_store(&self.phone.store, transport, &local, &remote)
    }
}

/// A load balancer that does it wrong: each round of a session to the next hub in turn.
struct RoundRobin {
    hubs: Vec<HubConnection>,
    next: AtomicUsize,
}

impl Transport for RoundRobin {
    fn exchange(&self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
        let turn = self.next.fetch_add(1, Ordering::Relaxed);
        self.hubs[turn % self.hubs.len()].exchange(request)
    }
}

#[test]
fn a_supervisor_pulling_from_one_hub_gets_everything_a_device_pushed_to_the_other() {
    let Some(database) = TestDatabase::for_test("two_hubs") else {
        return;
    };
    let first = Arc::new(database.open().unwrap());
    let second = Arc::new(database.open().unwrap());
    admin::create_project(first.as_ref(), PROJECT, None).unwrap();
    admin::publish_form(second.as_ref(), PROJECT, fixture_form()).unwrap();
    let hub_a = RunningHub::start(first.clone(), "127.0.0.1:0").unwrap();
    let hub_b = RunningHub::start(second.clone(), "127.0.0.1:0").unwrap();

    // Codes issued through one process are redeemed at the other.
    let ana = Device::enrol(second.as_ref(), &hub_a, Role::Facilitator, "ana");
    let sara = Device::enrol(first.as_ref(), &hub_b, Role::Supervisor, "sara");
    assert_eq!(ana.hub_id, sara.hub_id, "the two processes are one hub");

    let filled: Vec<String> = ["Rosa", "Luis", "Inés"]
        .into_iter()
        .map(|respondent| ana.phone.fill(respondent).0)
        .collect();
    assert_eq!(ana.sync(&hub_a).sent, filled.len());

    let pulled = sara.sync(&hub_b);
    assert_eq!(
        pulled.received,
        filled.len() + 1,
        "the form and every submission"
    );
    for id in &filled {
        let id = id.parse().unwrap();
        // The same changes; the signatures differ: the supervisor kept only the one she
        // verified, of ana's newest change, which vouches for the rest.
        assert_eq!(
            sara.phone.store.document_bytes(&id).unwrap(),
            ana.phone.store.document_bytes(&id).unwrap()
        );
    }

    // And back: the supervisor's edit through B reaches the facilitator through A.
    sara.phone.answer(&filled[0], "age", Value::Integer(52));
    sara.sync(&hub_b);
    ana.sync(&hub_a);
    let id = filled[0].parse().unwrap();
    let answers = ana.phone.store.answers(&id).unwrap();
    assert_eq!(answers.value("age"), Some(&Value::Integer(52)));

    // A session's state lives in the process that began it: rounds sent elsewhere fail the
    // sync (nothing is lost), and the next sync routed to one process completes it.
    let late = ana.phone.fill("Marta").0;
    let scattered = RoundRobin {
        hubs: [&hub_a, &hub_b]
            .map(|hub| HubConnection::new(&hub.url(), PROJECT, &ana.token))
            .into(),
        next: AtomicUsize::new(0),
    };
    assert!(
        ana.sync_over(&scattered).is_err(),
        "a session split across processes fails"
    );
    assert_eq!(ana.sync(&hub_b).sent, 1);
    sara.sync(&hub_a);
    assert!(sara.phone.store.answers(&late.parse().unwrap()).is_ok());
    hub_a.stop().unwrap();
    hub_b.stop().unwrap();
}

#[test]
fn the_command_line_keeps_its_data_in_the_database_it_is_given() {
    let Some(database) = TestDatabase::for_test("command_line") else {
        return;
    };
    let run = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_minga-hub"))
            .env("MINGA_HUB_DATABASE", database.url())
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{args:?}: {stderr}");
        String::from_utf8(output.stdout).unwrap()
    };
    let run_refused = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_minga-hub"))
            .env("MINGA_HUB_DATABASE", database.url())
            .args(args)
            .output()
            .unwrap();
        assert!(!output.status.success(), "{args:?}");
        String::from_utf8(output.stderr).unwrap()
    };
    run(&["project", "create", PROJECT, "--title", "Imbabura"]);
    let form = fixture_form().to_str().unwrap();
    run(&["form", "publish", form, "--project", PROJECT]);
    let listed = run(&["project", "list"]);
    assert!(
        listed
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("imbabura\tImbabura\t"),
        "{listed}"
    );
    let forms: serde_json::Value =
        serde_json::from_str(&run(&["form", "list", "--project", PROJECT, "--json"])).unwrap();
    assert_eq!(forms[0]["form_id"], "safety_walk");
    assert_eq!(forms[0]["submissions"], 0);
    let backup = run_refused(&["backup", "--out", "anywhere"]);
    assert!(backup.contains("pg_dump"), "{backup}");
    let storage = database.open().unwrap();
    // After a pg_dump is restored, the hub is given a new sync epoch by hand.
    let epoch = storage.hub_epoch().unwrap();
    let renewed = run(&["renew-sync-epoch"]);
    assert_ne!(storage.hub_epoch().unwrap(), epoch);
    assert!(renewed.contains(&storage.hub_epoch().unwrap()), "{renewed}");
    assert_eq!(
        storage.forms(PROJECT).unwrap().len(),
        1,
        "stored in PostgreSQL"
    );
}
