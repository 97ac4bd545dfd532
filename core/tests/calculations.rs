//! Calculated values stored in the submission: a stored form session writes each calculation
//! (per repeat instance) and the interview's own fields, the CSV export carries them, a change
//! writes only the calculations it changed, `once()` values never change, stored calculations
//! are never conflicts nor history, and answers changed outside a session (a merge, a
//! supervisor's edit) are recomputed by the next session that opens the submission and by the
//! export.

mod common;

use common::*;
use minga_core::automerge::Automerge;
use minga_core::export::{CsvOptions, Format};
use minga_core::{AnswerPath, DocId, FormRef, Status, Store, StoredFormSession, Value};
use minga_forms::eval::{compile, CompiledForm, Context, InstanceStep, ItemPath};
use minga_forms::{Answers, Form};
use std::path::Path;
use std::sync::Arc;

/// The interview's own fields; `x` (integer) and the calculations `doubled` (`${x} * 2`) and
/// `uid` (`once(uuid())`); `how_many` (default 2) counting the repeat `plot`, each plot with
/// an `area` (default 1), its `weight` (`${area} * 2`) and its own `plot_uid`
/// (`once(uuid())`); and `total`, the sum of the weights.
fn farm_form() -> Form {
    serde_json::from_str(include_str!("data/farm_form.json")).unwrap()
}

fn compiled() -> Arc<CompiledForm> {
    Arc::new(compile(&farm_form()).unwrap())
}

fn context(store: &Store) -> Context {
    let identity = store.identity();
    Context {
        language: None,
        now: chrono::DateTime::parse_from_rfc3339("2026-03-14T09:30:00-05:00").unwrap(),
        device_id: identity.device_id,
        user_name: identity.user_name,
    }
}

/// A store holding the form, and a submission started in a stored session.
fn started(path: &Path, seed: u8) -> (Store, DocId, StoredFormSession) {
    let store = open(path, seed, ana());
    store.publish_form(&farm_form()).unwrap();
    let id = store.create_submission(&FormRef::new("farm", "1")).unwrap();
    let session = StoredFormSession::start(&store, id, compiled(), context(&store)).unwrap();
    (store, id, session)
}

fn top(name: &str) -> ItemPath {
    ItemPath::top(name)
}

fn in_plot(id: &str, name: &str) -> ItemPath {
    ItemPath {
        instances: vec![InstanceStep {
            repeat: "plot".into(),
            id: id.into(),
        }],
        name: name.into(),
    }
}

fn text(s: &str) -> Option<Value> {
    Some(Value::Text(s.into()))
}

/// One CSV file of an export as header and rows of cells (no cell here holds a comma).
fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.trim_start_matches('\u{feff}').lines();
    let split = |line: &str| line.split(',').map(str::to_owned).collect::<Vec<_>>();
    let header = split(lines.next().unwrap());
    (header, lines.map(split).collect())
}

fn cell<'a>(header: &[String], row: &'a [String], name: &str) -> &'a str {
    let column = header.iter().position(|h| h == name);
    &row[column.unwrap_or_else(|| panic!("no column {name} in {header:?}"))]
}

fn export_csv(store: &Store, out: &Path) {
    store
        .export(
            &[farm_form()],
            Format::Csv,
            &CsvOptions::default(),
            out,
            &|_, _| {},
        )
        .unwrap();
}

/// How many operations the submission's last change holds.
fn last_change_ops(store: &Store, id: &DocId) -> usize {
    let doc = Automerge::load(&store.document_bytes(id).unwrap()).unwrap();
    let changes = doc.get_changes(&[]);
    changes.last().unwrap().len()
}

#[test]
fn the_csv_export_carries_the_interview_fields_and_every_calculation() {
    let dir = tempfile::tempdir().unwrap();
    let (store, id, session) = started(&dir.path().join("s.db"), 1);
    session
        .set(&store, &top("x"), Some(Value::Integer(21)))
        .unwrap();
    store.set_status(&id, Status::Complete).unwrap();
    let stored = store.answers(&id).unwrap();
    assert_eq!(stored.value("doubled"), text("42").as_ref());
    assert_eq!(
        stored.instances("plot")[1].answers.value("weight"),
        text("2").as_ref()
    );

    let out = dir.path().join("export");
    export_csv(&store, &out);
    let (header, rows) = read_csv(&out.join("farm.csv"));
    let row = &rows[0];
    for name in ["start", "end", "today", "deviceid", "username", "uid"] {
        assert!(!cell(&header, row, name).is_empty(), "{name} is empty");
    }
    assert_eq!(cell(&header, row, "username"), "ana");
    assert_eq!(cell(&header, row, "doubled"), "42");
    assert_eq!(cell(&header, row, "total"), "4");
    let (header, rows) = read_csv(&out.join("farm-plot.csv"));
    assert_eq!(rows.len(), 2);
    for row in &rows {
        assert_eq!(cell(&header, row, "weight"), "2");
        assert_eq!(cell(&header, row, "plot_uid").len(), 36, "a UUID");
    }
}

#[test]
fn one_answer_among_a_thousand_instances_rewrites_only_what_it_changed() {
    let dir = tempfile::tempdir().unwrap();
    let (store, id, session) = started(&dir.path().join("s.db"), 1);
    session
        .set(&store, &top("how_many"), Some(Value::Integer(1_000)))
        .unwrap();
    let plots = session
        .read(|s| {
            s.instance_ids(&top("plot"))
                .unwrap()
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
        })
        .unwrap();
    assert_eq!(plots.len(), 1_000);
    let delta = session
        .set(
            &store,
            &in_plot(&plots[500], "area"),
            Some(Value::Decimal(3.0)),
        )
        .unwrap();
    assert_eq!(
        delta.edits.len(),
        2,
        "the plot's weight and the total: {:?}",
        delta.edits
    );
    // The area, the weight and the total: one operation each.
    assert_eq!(last_change_ops(&store, &id), 3);
    let stored = store.answers(&id).unwrap();
    assert_eq!(
        stored.instances("plot")[500].answers.value("weight"),
        text("6").as_ref()
    );
    assert_eq!(stored.value("total"), text("2004").as_ref());
}

#[test]
fn a_once_value_stays_through_instances_added_and_removed_and_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let (store, id, session) = started(&dir.path().join("s.db"), 1);
    let uid = store.answers(&id).unwrap().value("uid").cloned();
    let first_plot = |store: &Store| {
        store.answers(&id).unwrap().instances("plot")[0]
            .answers
            .value("plot_uid")
            .cloned()
    };
    let plot_uid = first_plot(&store);
    assert!(uid.is_some() && plot_uid.is_some());
    session
        .set(&store, &top("how_many"), Some(Value::Integer(5)))
        .unwrap();
    session
        .set(&store, &top("how_many"), Some(Value::Integer(1)))
        .unwrap();
    drop(session);
    let seq = store.last_seq().unwrap();
    let reopened = StoredFormSession::open(&store, id, compiled(), context(&store)).unwrap();
    assert_eq!(store.last_seq().unwrap(), seq, "reopening writes nothing");
    reopened
        .set(&store, &top("x"), Some(Value::Integer(1)))
        .unwrap();
    assert_eq!(store.answers(&id).unwrap().value("uid").cloned(), uid);
    assert_eq!(first_plot(&store), plot_uid);

    let out = dir.path().join("export");
    export_csv(&store, &out);
    let (header, rows) = read_csv(&out.join("farm.csv"));
    assert_eq!(
        Some(Value::Text(cell(&header, &rows[0], "uid").into())),
        uid
    );
}

#[test]
fn calculations_written_apart_are_no_conflict_and_the_next_session_recomputes_them() {
    let dir = tempfile::tempdir().unwrap();
    let (ana_store, id, ana_session) = started(&dir.path().join("ana.db"), 1);
    let luis_store = open(&dir.path().join("luis.db"), 2, luis());
    luis_store.publish_form(&farm_form()).unwrap();
    exchange(&ana_store, &luis_store, &id);
    let luis_session =
        StoredFormSession::open(&luis_store, id, compiled(), context(&luis_store)).unwrap();

    // Both change the first plot's area, so both write its weight and the total.
    let plot = ana_session
        .read(|s| s.instance_ids(&top("plot")).unwrap()[0].to_string())
        .unwrap();
    ana_session
        .set(
            &ana_store,
            &in_plot(&plot, "area"),
            Some(Value::Decimal(2.0)),
        )
        .unwrap();
    luis_session
        .set(
            &luis_store,
            &in_plot(&plot, "area"),
            Some(Value::Decimal(5.0)),
        )
        .unwrap();
    exchange(&ana_store, &luis_store, &id);
    let conflicts = ana_store.conflicts(&id).unwrap();
    let names: Vec<&str> = conflicts.iter().map(|c| c.path.name.as_str()).collect();
    assert_eq!(
        names,
        ["area"],
        "the weight and the total are the form's, not a conflict"
    );
    for entry in ana_store.history(&id).unwrap() {
        for name in ["weight", "total", "doubled", "uid", "plot_uid"] {
            assert!(
                !entry.answers.iter().any(|a| a == name),
                "{name} in {entry:?}"
            );
        }
    }

    // A supervisor's edit outside any session changes an answer and recomputes nothing.
    luis_store
        .set_answer(&id, &AnswerPath::new("x"), &Value::Integer(50))
        .unwrap();
    assert_eq!(
        luis_store.answers(&id).unwrap().value("doubled"),
        text("NaN").as_ref(),
        "as stored before x had an answer"
    );
    let out = dir.path().join("export");
    export_csv(&luis_store, &out);
    let (header, rows) = read_csv(&out.join("farm.csv"));
    assert_eq!(
        cell(&header, &rows[0], "doubled"),
        "100",
        "the export recomputes"
    );

    // The next session to open the submission stores what the merged answers give.
    exchange(&ana_store, &luis_store, &id);
    drop(ana_session);
    StoredFormSession::open(&ana_store, id, compiled(), context(&ana_store)).unwrap();
    let stored: Answers = ana_store.answers(&id).unwrap();
    let area = match stored.instances("plot")[0].answers.value("area") {
        Some(Value::Decimal(area)) => *area,
        other => panic!("{other:?}"),
    };
    let weight = format!("{}", area * 2.0);
    assert_eq!(
        stored.instances("plot")[0].answers.value("weight"),
        text(&weight).as_ref()
    );
    assert_eq!(stored.value("doubled"), text("100").as_ref());
    assert_eq!(
        stored.value("total"),
        text(&format!("{}", area * 2.0 + 2.0)).as_ref()
    );
}
