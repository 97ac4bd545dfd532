//! Hub throughput on loopback: submissions per second ingested by sync from 1, 10 and 100
//! devices at once, a fresh supervisor device pulling 10,000 submissions, and in the same run
//! the peer baseline: the same 10,000 documents pulled from automerge-repo's own sync server
//! (`js/baseline.mjs`, its npm packages installed here by `npm ci` in `js/`).
//! Run: `cargo bench -p minga-hub --bench hub` (add `-- --quick` for a smaller run,
//! `-- --no-baseline` to skip automerge-repo, which takes minutes, and `-- --ingest-only` for the
//! ingest figures alone).

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjType, ROOT};
use minga_hub::access::Role;
use minga_hub::admin;
use minga_hub::client::{self, HubConnection};
use minga_hub::server::RunningHub;
use minga_hub::storage::{HubStorage, SqliteStorage};
use minga_sync::{Commit, DocId, DocKind, DocumentStore, IncomingDoc, MemoryStore, PeerId};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

const PROJECT: &str = "bench";

/// A submission-shaped document with 40 short answers, as a phone would send it (its `meta`
/// whole, so that the hub's projection keeps a row of it).
fn submission(n: usize) -> (DocId, Vec<u8>) {
    let id = DocId::random();
    let mut doc = AutoCommit::new();
    let meta = doc.put_object(ROOT, "meta", ObjType::Map).unwrap();
    doc.put(&meta, "id", id.as_str()).unwrap();
    doc.put(&meta, "form_id", "community_safety_assessment")
        .unwrap();
    doc.put(&meta, "form_version", "1").unwrap();
    doc.put(
        &meta,
        "created_at",
        automerge::ScalarValue::Timestamp(1_773_480_000_000 + n as i64),
    )
    .unwrap();
    doc.put(&meta, "created_by", "ana").unwrap();
    doc.put(&meta, "device_id", "phone").unwrap();
    let answers = doc.put_object(ROOT, "answers", ObjType::Map).unwrap();
    for q in 0..40 {
        doc.put(
            &answers,
            format!("q{q}"),
            format!("answer {q} of submission {n}"),
        )
        .unwrap();
    }
    doc.put(ROOT, "status", "complete").unwrap();
    (id, doc.save())
}

/// The form the bench's submissions answer: forty text questions `q0` to `q39`.
fn form() -> minga_forms::Form {
    let survey: Vec<serde_json::Value> = (0..40)
        .map(|q| serde_json::json!({"kind": "question", "name": format!("q{q}"), "type": {"base": "text"}}))
        .collect();
    serde_json::from_value(serde_json::json!({
        "id": "community_safety_assessment", "version": "1",
        "title": {"default": "Community safety"}, "default_language": null, "languages": [],
        "instance_name": null, "survey": survey, "choices": {},
    }))
    .unwrap()
}

struct Device {
    store: MemoryStore,
    connection: HubConnection,
    peer: PeerId,
    hub: PeerId,
}

fn enrol(hub: &RunningHub, storage: &SqliteStorage, role: Role, name: &str) -> Device {
    let issued = admin::enrol_device(storage, PROJECT, role, name).unwrap();
    let enrolled = client::enrol(&hub.url(), &issued.code.to_string()).unwrap();
    Device {
        store: MemoryStore::new(),
        connection: HubConnection::new(&hub.url(), PROJECT, &enrolled.token),
        peer: PeerId::new(enrolled.device_id).unwrap(),
        hub: PeerId::new(enrolled.hub_id).unwrap(),
    }
}

impl Device {
    fn fill(&self, count: usize, first: usize) {
        let mut commit = Commit::new(PeerId::new("app").unwrap());
        for n in first..first + count {
            let (id, changes) = submission(n);
            commit.docs.push(IncomingDoc {
                id,
                kind: DocKind::Submission,
                changes,
                loaded: None,
            });
        }
        self.store.commit(commit).unwrap();
    }

    fn sync(&self) -> minga_sync::SyncReport {
        self.connection
            .sync(&self.store, &self.peer, &self.hub)
            .unwrap()
    }
}

fn start() -> (tempfile::TempDir, Arc<SqliteStorage>, RunningHub) {
    let dir = tempfile::tempdir().unwrap();
    let storage = Arc::new(SqliteStorage::open(dir.path()).unwrap());
    admin::create_project(storage.as_ref(), PROJECT, None).unwrap();
    // The submissions' form is published, so that ingest checks each against it (issue 16).
    storage.publish_form(PROJECT, &form()).unwrap();
    let hub = RunningHub::start(storage.clone(), "127.0.0.1:0").unwrap();
    (dir, storage, hub)
}

/// `devices` facilitators each send `per_device` new submissions at once; submissions/s.
fn ingest(devices: usize, per_device: usize) -> (f64, Duration) {
    let (_dir, storage, hub) = start();
    let phones: Vec<Device> = (0..devices)
        .map(|i| enrol(&hub, &storage, Role::Facilitator, &format!("f{i}")))
        .collect();
    for (i, phone) in phones.iter().enumerate() {
        phone.fill(per_device, i * per_device);
    }
    let started = Instant::now();
    std::thread::scope(|scope| {
        for phone in &phones {
            scope.spawn(move || assert_eq!(phone.sync().sent, per_device));
        }
    });
    let elapsed = started.elapsed();
    (
        (devices * per_device) as f64 / elapsed.as_secs_f64(),
        elapsed,
    )
}

/// A fresh supervisor device pulls `total` submissions; the time and the report.
fn fresh_pull(total: usize) -> (Duration, minga_sync::SyncReport) {
    let (_dir, storage, hub) = start();
    let source = enrol(&hub, &storage, Role::Facilitator, "source");
    source.fill(total, 0);
    source.sync();
    let supervisor = enrol(&hub, &storage, Role::Supervisor, "supervisor");
    let started = Instant::now();
    let report = supervisor.sync();
    let elapsed = started.elapsed();
    assert_eq!(supervisor.store.len(), total);
    (elapsed, report)
}

/// Installs the baseline's npm packages from the lockfile, unless they are there.
fn install_baseline(js: &Path) -> Result<(), String> {
    if js.join("node_modules/@automerge/automerge-repo").is_dir() {
        return Ok(());
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(js)
        .status()
        .map_err(|e| format!("npm: {e}"))?;
    status
        .success()
        .then_some(())
        .ok_or_else(|| format!("npm ci failed in {}", js.display()))
}

/// automerge-repo's server and a fresh client in another process pulling `total` documents,
/// 64 requests in flight; its JSON report line.
fn automerge_repo_pull(total: usize) -> Result<String, String> {
    let js = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/js");
    install_baseline(&js)?;
    let output = Command::new("node")
        .args(["baseline.mjs", &total.to_string(), "64"])
        .current_dir(&js)
        .output()
        .map_err(|e| format!("node: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .rev()
        .find(|line| line.starts_with('{'))
        .map(str::to_string)
        .ok_or_else(|| {
            format!(
                "baseline.mjs printed no report: {}",
                String::from_utf8_lossy(&output.stderr)
            )
        })
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let total = if quick { 200 } else { 1_000 };
    println!("hub ingest over loopback sync, {total} submissions of 40 answers each");
    for devices in [1, 10, 100] {
        let (rate, elapsed) = ingest(devices, total / devices);
        println!(
            "  {devices:>3} device(s) at once: {rate:>8.0} submissions/s ({:.2} s)",
            elapsed.as_secs_f64()
        );
    }
    if std::env::args().any(|a| a == "--ingest-only") {
        return;
    }
    let pull = if quick { 1_000 } else { 10_000 };
    let (elapsed, report) = fresh_pull(pull);
    println!(
        "fresh supervisor pulls {pull} submissions: {:.2} s, {} round trips, {} bytes received, {} automerge bytes",
        elapsed.as_secs_f64(),
        report.round_trips,
        report.bytes_received,
        report.change_bytes
    );
    if std::env::args().any(|a| a == "--no-baseline") {
        return;
    }
    match automerge_repo_pull(pull) {
        Ok(report) => {
            println!("automerge-repo 2.5.6 fresh client pulls {pull} documents: {report}")
        }
        Err(error) => println!("automerge-repo baseline not run: {error}"),
    }
}
