//! Load: 200 enrolled devices, each with a few submissions, sync at once with one hub on
//! loopback. No sync fails, the hub holds exactly every submission, and every device holds
//! what the hub holds of its own. Latency percentiles are printed, not asserted (figures in
//! RELIABILITY.md). `MINGA_LONG=1` runs 1,000 devices with 5 submissions each.

use minga_core::{AnswerPath, DeviceIdentity, Encryption, Store, Value};
use minga_hub::access::Role;
use minga_scenarios::hub::{Enrolled, TestHub};
use minga_scenarios::phone::{safety_walk, store_documents, sync_store};
use minga_scenarios::scale;
use minga_sync::wire::open_signed_document;
use minga_sync::{Commit, DocId, DocKind, IncomingDoc, MemoryStore, PeerId, SyncOptions};
use std::collections::BTreeSet;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// A submission's bytes as a facilitator's phone writes them: one written by the core, then
/// forked per device with its own id (in `meta.id` too, or the hub refuses it as a copy naming
/// another submission) and answers (in memory: 200 phones' files would cost more than the sync
/// being measured).
fn submissions(count: usize, device: usize, template: &[u8]) -> Vec<(DocId, Vec<u8>)> {
    use automerge::transaction::Transactable;
    (0..count)
        .map(|n| {
            let mut doc = automerge::AutoCommit::load(template).unwrap();
            doc.set_actor(automerge::ActorId::random());
            let id = DocId::random();
            let meta = automerge::ReadDoc::get(&doc, automerge::ROOT, "meta")
                .unwrap()
                .map(|(_, meta)| meta)
                .unwrap();
            doc.put(&meta, "id", id.as_str()).unwrap();
            let answers = automerge::ReadDoc::get(&doc, automerge::ROOT, "answers")
                .unwrap()
                .map(|(_, id)| id)
                .unwrap();
            doc.put(
                &answers,
                "respondent",
                format!("device {device} respondent {n}"),
            )
            .unwrap();
            doc.put(&answers, "age", (20 + n) as i64).unwrap();
            (id, doc.save())
        })
        .collect()
}

fn template() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(
        dir.path().join("template.db"),
        Encryption::PlainFile,
        DeviceIdentity::new("template", "template"),
    )
    .unwrap();
    let id = store.create_submission(&safety_walk()).unwrap();
    store
        .set_answer(
            &id,
            &AnswerPath::new("feels_safe"),
            &Value::Choice("no".into()),
        )
        .unwrap();
    store.export_submission(&id).unwrap()
}

struct Device {
    enrolled: Enrolled,
    store: MemoryStore,
    own: Vec<DocId>,
}

fn device(hub: &TestHub, n: usize, per_device: usize, template: &[u8]) -> Device {
    let enrolled = hub.enrol(Role::Facilitator, &format!("device {n}"));
    let store = MemoryStore::new();
    let mut commit = Commit::new(PeerId::new("app").unwrap());
    // The template's own changes travel with their signatures; each copy's are unkeyed.
    let (template, signatures) = open_signed_document(template).unwrap();
    commit.signatures.extend(signatures);
    let docs = submissions(per_device, n, template);
    let own = docs.iter().map(|(id, _)| id.clone()).collect();
    for (id, bytes) in docs {
        commit.docs.push(IncomingDoc {
            id,
            kind: DocKind::Submission,
            changes: bytes,
            loaded: None,
        });
    }
    minga_sync::DocumentStore::commit(&store, commit).unwrap();
    Device {
        enrolled,
        store,
        own,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at]
}

#[test]
fn two_hundred_devices_sync_at_once_and_the_hub_holds_exactly_every_submission() {
    let (devices, per_device) = (scale(200, 1000), scale(3, 5));
    let hub = TestHub::start();
    let template = template();
    let fleet: Vec<Arc<Device>> = (0..devices)
        .map(|n| Arc::new(device(&hub, n, per_device, &template)))
        .collect();
    let start = Arc::new(Barrier::new(devices + 1));
    let url = hub.url();
    let threads: Vec<_> = fleet
        .iter()
        .map(|device| {
            let (device, start, url) = (device.clone(), start.clone(), url.clone());
            std::thread::spawn(move || {
                start.wait();
                let began = Instant::now();
                let result = sync_store(
                    &device.store,
                    &url,
                    &device.enrolled,
                    SyncOptions::default(),
                    3,
                    &mut |_| {},
                );
                (began.elapsed(), result.map_err(|e| e.to_string()))
            })
        })
        .collect();
    start.wait();
    let began = Instant::now();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let wall = began.elapsed();

    let errors: Vec<&String> = results
        .iter()
        .filter_map(|(_, r)| r.as_ref().err())
        .collect();
    assert!(
        errors.is_empty(),
        "{} syncs failed: {:?}",
        errors.len(),
        errors.first()
    );
    let on_hub = hub.documents();
    let created: BTreeSet<String> = fleet
        .iter()
        .flat_map(|d| d.own.iter().map(|id| id.as_str().to_string()))
        .collect();
    let submissions: BTreeSet<String> = on_hub
        .keys()
        .filter(|id| created.contains(*id))
        .cloned()
        .collect();
    assert_eq!(
        submissions.len(),
        devices * per_device,
        "no submission lost"
    );
    assert_eq!(
        on_hub.len(),
        devices * per_device + 1,
        "nothing else but the published form, nothing twice"
    );
    for device in &fleet {
        let held = store_documents(&device.store);
        for id in &device.own {
            assert_eq!(held.get(id.as_str()), on_hub.get(id.as_str()));
        }
    }
    let mut latencies: Vec<Duration> = results.iter().map(|(took, _)| *took).collect();
    latencies.sort();
    println!(
        "{devices} devices x {per_device} submissions at once: all synced in {wall:?} \
         ({:.0} submissions/s); sync latency p50 {:?}, p99 {:?}, max {:?}",
        (devices * per_device) as f64 / wall.as_secs_f64(),
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies.last().unwrap(),
    );
}
