//! What a sync report says, checked against what really moved between phones and a real hub on
//! loopback: `sent` counts the documents whose changes the hub lacked and took, `received` the
//! documents that changed here, `conflicts` those among them that now hold a conflict; the
//! hub's `/metrics` counts the documents it stored from devices.

use minga_core::{AnswerPath, DocId, Value};
use minga_hub::access::Role;
use minga_scenarios::hub::TestHub;
use minga_scenarios::phone::{fill_one, Phone};
use minga_sync::{SyncOptions, SyncReport};

fn sync(phone: &Phone, hub: &TestHub) -> SyncReport {
    phone.sync(&hub.url(), SyncOptions::default()).unwrap()
}

fn counts(report: &SyncReport) -> (usize, usize, usize) {
    (report.sent, report.received, report.conflicts)
}

fn answer(phone: &Phone, id: &DocId, name: &str, text: &str) {
    phone
        .store
        .set_answer(id, &AnswerPath::new(name), &Value::Text(text.into()))
        .unwrap();
}

/// The hub's counter of documents received from devices, read from `GET /metrics`.
fn documents_received(hub: &TestHub) -> u64 {
    let text = ureq::get(format!("{}/metrics", hub.url()))
        .call()
        .unwrap()
        .into_body()
        .read_to_string()
        .unwrap();
    let line = text
        .lines()
        .find(|line| line.starts_with("minga_hub_documents_received_total "))
        .expect("the counter is listed");
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

#[test]
fn an_offline_edit_of_a_submission_the_hub_has_is_reported_sent_and_counted_by_the_hub() {
    let hub = TestHub::start();
    let ana = Phone::new(hub.enrol(Role::Facilitator, "ana"));
    let id = fill_one(&ana.store, 0, 0);
    let first = sync(&ana, &hub);
    assert_eq!(
        counts(&first),
        (1, 1, 0),
        "the new submission went up, the project's form came down"
    );
    assert_eq!(documents_received(&hub), 1);

    answer(&ana, &id, "respondent", "Rosa Chalá");
    let edit = sync(&ana, &hub);
    assert_eq!(counts(&edit), (1, 0, 0), "{edit:?}");
    let key = id.to_string();
    assert_eq!(
        hub.documents()[&key],
        ana.documents()[&key],
        "the hub took it"
    );
    assert_eq!(
        documents_received(&hub),
        2,
        "the edit is a document received"
    );
    assert_eq!(counts(&sync(&ana, &hub)), (0, 0, 0), "nothing more moves");
}

#[test]
fn two_devices_editing_one_answer_offline_each_report_what_moved_and_the_second_the_conflict() {
    let hub = TestHub::start();
    let ana = Phone::new(hub.enrol(Role::Facilitator, "ana"));
    let sara = Phone::new(hub.enrol(Role::Supervisor, "sara"));
    let id = fill_one(&ana.store, 0, 0);
    sync(&ana, &hub);
    assert_eq!(sync(&sara, &hub).received, 2, "the form and the submission");

    answer(&ana, &id, "respondent", "Rosa Chalá");
    answer(&sara, &id, "respondent", "Rosa Chala");
    sara.store
        .set_answer(
            &id,
            &AnswerPath::new("feels_safe"),
            &Value::Choice("yes".into()),
        )
        .unwrap();
    assert_eq!(counts(&sync(&ana, &hub)), (1, 0, 0));
    let second = sync(&sara, &hub);
    assert_eq!(
        counts(&second),
        (1, 1, 1),
        "Sara's edits went up, Ana's came down, and the respondent conflicts: {second:?}"
    );
    assert_eq!(sara.store.conflicts(&id).unwrap().len(), 1);
    let back = sync(&ana, &hub);
    assert_eq!(
        counts(&back),
        (0, 1, 1),
        "Ana receives Sara's edits and the conflict"
    );
    assert_eq!(
        ana.documents()[&id.to_string()],
        sara.documents()[&id.to_string()]
    );
}
