//! `once()` through a real hub: a facilitator's phone stores a submission's `once(uuid())`
//! values, syncs them to the hub over HTTP, a supervisor's phone receives and edits the
//! submission in its own session, and the facilitator's phone receives it back: every copy,
//! and the hub's CSV export, holds the values the first phone computed. The export also
//! recomputes the other calculations from the answers the hub holds.

mod common;

use common::{Hub, SyncingPhone};
use minga_core::{DocId, FormRef, Store, StoredFormSession, Value};
use minga_forms::eval::{compile, Context, ItemPath};
use minga_forms::{Answers, Form};
use minga_hub::access::Role;
use minga_hub::export::{export_project, CsvOptions, Format};
use minga_hub::storage::HubStorage;
use std::path::Path;
use std::sync::Arc;

const PROJECT: &str = "imbabura";

/// The core's test form: `x`, `doubled` (`${x} * 2`), `uid` (`once(uuid())`) and a counted
/// repeat `plot` whose instances each hold a `plot_uid` (`once(uuid())`).
fn farm_form() -> Form {
    serde_json::from_str(include_str!("../../core/tests/data/farm_form.json")).unwrap()
}

fn session(store: &Store, id: DocId, start: bool) -> StoredFormSession {
    let identity = store.identity();
    let context = Context {
        language: None,
        now: chrono::Local::now().fixed_offset(),
        device_id: identity.device_id,
        user_name: identity.user_name,
    };
    let form = Arc::new(compile(&farm_form()).unwrap());
    if start {
        StoredFormSession::start(store, id, form, context).unwrap()
    } else {
        StoredFormSession::open(store, id, form, context).unwrap()
    }
}

/// The `once()` values of a submission: its `uid`, then each plot's `plot_uid`.
fn once_values(answers: &Answers) -> Vec<Option<Value>> {
    let plots = answers.instances("plot").iter();
    std::iter::once(answers.value("uid").cloned())
        .chain(plots.map(|plot| plot.answers.value("plot_uid").cloned()))
        .collect()
}

/// Column `name` of every row of the export's file `file`.
fn column(dir: &Path, file: &str, name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join(file)).unwrap();
    let mut lines = text.trim_start_matches('\u{feff}').lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let at = header.iter().position(|h| *h == name).unwrap();
    lines
        .map(|line| line.split(',').nth(at).unwrap().to_owned())
        .collect()
}

#[test]
fn once_values_stay_as_computed_through_the_hub_another_device_and_the_export() {
    let hub = Hub::start();
    hub.storage.publish_form(PROJECT, &farm_form()).unwrap();
    let url = hub.running.url();
    let ana = SyncingPhone::enrol(hub.storage.as_ref(), &url, PROJECT, "Ana");
    let sara = SyncingPhone::enrol_as(
        hub.storage.as_ref(),
        &url,
        PROJECT,
        "Sara",
        Role::Supervisor,
    );

    let id = ana
        .store
        .create_submission(&FormRef::new("farm", "1"))
        .unwrap();
    drop(session(&ana.store, id, true));
    let computed = once_values(&ana.store.answers(&id).unwrap());
    assert_eq!(computed.len(), 3);
    assert!(computed.iter().all(Option::is_some), "{computed:?}");
    ana.sync();

    sara.sync();
    let at_sara = session(&sara.store, id, false);
    at_sara
        .set(&sara.store, &ItemPath::top("x"), Some(Value::Integer(7)))
        .unwrap();
    assert_eq!(once_values(&sara.store.answers(&id).unwrap()), computed);
    sara.sync();
    ana.sync();
    drop(session(&ana.store, id, false));
    let back = ana.store.answers(&id).unwrap();
    assert_eq!(once_values(&back), computed, "after the hub and back");
    assert_eq!(back.value("doubled"), Some(&Value::Text("14".into())));

    let out = tempfile::tempdir().unwrap();
    export_project(
        hub.storage.as_ref(),
        PROJECT,
        Format::Csv,
        &CsvOptions::default(),
        out.path(),
        &|_, _| {},
    )
    .unwrap();
    let text = |value: &Option<Value>| match value {
        Some(Value::Text(text)) => text.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(column(out.path(), "farm.csv", "uid"), [text(&computed[0])]);
    assert_eq!(
        column(out.path(), "farm-plot.csv", "plot_uid"),
        [text(&computed[1]), text(&computed[2])]
    );
    assert_eq!(column(out.path(), "farm.csv", "doubled"), ["14"]);
}
