//! Interop with the official JavaScript automerge package: a submission exported by Minga
//! loads in `@automerge/automerge` and reads as the same answers, and a JS edit imports back.
//! The test installs the package itself (npm, into the gitignored `tests/js/node_modules`).

mod common;

use common::*;
use minga_core::{AnswerPath, GeoPoint, Status, Value};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;

fn js_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js")
}

/// Installs `@automerge/automerge` once. A machine without npm or network fails this test:
/// interop is a promise of the format, not an optional extra.
fn install_automerge_js() {
    let dir = js_dir();
    if dir
        .join("node_modules/@automerge/automerge/package.json")
        .exists()
    {
        return;
    }
    let status = Command::new("npm")
        .args([
            "install",
            "--no-audit",
            "--no-fund",
            "--no-package-lock",
            "--loglevel=error",
        ])
        .current_dir(&dir)
        .status()
        .expect("npm must be installed to run the JavaScript interop test");
    assert!(
        status.success(),
        "npm install @automerge/automerge failed in {}",
        dir.display()
    );
}

/// Runs the JS reader on `input`; returns the document as JSON. With `output`, the script
/// also saves an edited copy there.
fn read_in_js(input: &Path, output: Option<&Path>) -> serde_json::Value {
    let mut command = Command::new("node");
    command.arg(js_dir().join("submission.mjs")).arg(input);
    if let Some(output) = output {
        command.arg(output);
    }
    let result = command.output().expect("node must be installed");
    assert!(
        result.status.success(),
        "node failed: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    serde_json::from_slice(&result.stdout).expect("the script prints JSON")
}

#[test]
fn javascript_automerge_reads_and_edits_a_submission() {
    install_automerge_js();
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("store.db"), 5, ana());
    let id = store.create_submission(&dialogue()).unwrap();
    let set = |name: &str, value: Value| {
        store
            .set_answer(&id, &AnswerPath::new(name), &value)
            .unwrap()
    };
    set("village", Value::Text("Tumbaco".into()));
    set("household", Value::Integer(5));
    set("income", Value::Decimal(412.5));
    set("gender", Value::Choice("female".into()));
    set(
        "topics",
        Value::Choices(["extortion".to_string(), "robbery".to_string()].into()),
    );
    set("visit_date", Value::Date("2026-03-14".parse().unwrap()));
    set(
        "where",
        Value::GeoPoint(GeoPoint {
            latitude: -0.21,
            longitude: -78.4,
            altitude: None,
            accuracy: Some(4.5),
        }),
    );
    store
        .set_long_text(&id, &AnswerPath::new("notes"), "Forty people came.")
        .unwrap();
    let participants = AnswerPath::new("participants");
    let rosa = store.add_repeat_instance(&id, &participants, None).unwrap();
    store
        .set_answer(
            &id,
            &AnswerPath::new("age").inside("participants", &rosa),
            &Value::Integer(41),
        )
        .unwrap();

    let exported = dir.path().join("submission.automerge");
    // Plain automerge bytes: what any automerge library reads (an export adds signatures).
    std::fs::write(&exported, store.document_bytes(&id).unwrap()).unwrap();
    let edited = dir.path().join("edited.automerge");
    let js = read_in_js(&exported, Some(&edited));

    assert_eq!(js["schema"], json!(1));
    assert_eq!(js["status"], json!("draft"));
    assert_eq!(js["meta"]["id"], json!(id.to_string()));
    assert_eq!(js["meta"]["form_id"], json!("dialogue"));
    assert_eq!(js["meta"]["created_by"], json!("ana"));
    let answers = &js["answers"];
    assert_eq!(answers["village"], json!("Tumbaco"));
    assert_eq!(answers["household"], json!(5));
    assert_eq!(answers["income"], json!(412.5));
    assert_eq!(answers["gender"], json!("female"));
    assert_eq!(
        answers["topics"],
        json!({"extortion": true, "robbery": true})
    );
    assert_eq!(answers["visit_date"], json!("2026-03-14"));
    assert_eq!(
        answers["where"],
        json!({"latitude": -0.21, "longitude": -78.4, "accuracy": 4.5})
    );
    assert_eq!(answers["notes"], json!("Forty people came."));
    assert_eq!(answers["participants"], json!([{"_id": rosa, "age": 41}]));

    // The JS edit comes back: imported into the same store, merged with what is there.
    assert_eq!(
        store
            .import_submission(&std::fs::read(&edited).unwrap())
            .unwrap(),
        id
    );
    let submission = store.submission(&id).unwrap();
    assert_eq!(submission.status, Status::Complete);
    assert_eq!(
        submission.answers.value("household"),
        Some(&Value::Integer(6))
    );
    let instance = &submission.answers.instances("participants")[0];
    assert_eq!(
        instance.answers.value("name"),
        Some(&Value::Text("Rosa from JS".into()))
    );
    assert_eq!(
        submission.answers.value("visit_date"),
        Some(&Value::Date("2026-03-14".parse().unwrap()))
    );
    // And the JS change shows in the history, by an actor the document does not name.
    let history = store.history(&id).unwrap();
    let last = history.last().unwrap();
    assert!(last.author.is_none());
    assert!(
        last.answers.contains(&"household".to_string())
            && last.answers.contains(&"name".to_string())
    );
}
