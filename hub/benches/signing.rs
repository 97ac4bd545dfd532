//! What signing and verifying cost, beside the same work with them switched off in the same
//! run (`minga_sync::signatures::bench_switch`, compiled only with the feature
//! `bench-unsigned`), on submissions made as phones make them: a first change, then one change
//! per answer, 41 changes each by a device's keyed actor, every one signed.
//!
//! - `set_answer` on a SQLCipher store: p50 and p99 of 40 answers to each of 10 submissions a
//!   round, rounds alternating on and off;
//! - hub ingest from 100 devices at once, each sending 100 new submissions over loopback HTTP
//!   to a real hub on a SQLite file (each phone sends every change's signature, as a phone's
//!   store keeps them all; the hub verifies and keeps what it verified);
//! - syncing 10,000 new submissions: a fresh supervisor device (a core `Store` on a SQLCipher
//!   file) pulls the 10,000 from that hub, verifying them.
//!
//! The same documents serve both sides; "off" sends, verifies and keeps no signature.
//! Run: `cargo bench -p minga-hub --bench signing --features bench-unsigned` (`-- --quick`: 10
//! devices of 100). `MINGA_BENCH_DIR` puts the store files elsewhere (`/dev/shm`: CPU alone).

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ObjType, ROOT};
use minga_core::{AnswerPath, DeviceIdentity, Encryption, FormRef, Store, StoreKey, Value};
use minga_hub::access::Role;
use minga_hub::admin;
use minga_hub::client::{self, HubConnection};
use minga_hub::server::RunningHub;
use minga_hub::storage::SqliteStorage;
use minga_sync::signatures::{bench_switch, DeviceKey, SignedChange};
use minga_sync::{Commit, DocId, DocKind, DocumentStore, IncomingDoc, MemoryStore, PeerId};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

const PROJECT: &str = "bench";
const ANSWERS: usize = 40;
const PER_DEVICE: usize = 100;

/// A submission as a phone makes it, with the signature of each of its changes.
struct Made {
    id: DocId,
    bytes: Vec<u8>,
    signed: Vec<SignedChange>,
}

/// Submission `n` of the phone holding `key`, made by its `actor`: `meta` and an empty
/// `answers` in a first change, then one change per answer. Cost: 41 automerge commits and
/// 41 Ed25519 signatures.
fn phone_submission(key: &DeviceKey, actor: &ActorId, n: usize) -> Made {
    let id = DocId::random();
    let mut doc = AutoCommit::new().with_actor(actor.clone());
    let meta = doc.put_object(ROOT, "meta", ObjType::Map).unwrap();
    doc.put(&meta, "id", id.as_str()).unwrap();
    doc.put(&meta, "form_id", "community_safety_assessment")
        .unwrap();
    doc.put(&meta, "form_version", "1").unwrap();
    let created = automerge::ScalarValue::Timestamp(1_773_480_000_000 + n as i64);
    doc.put(&meta, "created_at", created).unwrap();
    doc.put(&meta, "created_by", "ana").unwrap();
    doc.put(&meta, "device_id", "phone").unwrap();
    let answers = doc.put_object(ROOT, "answers", ObjType::Map).unwrap();
    doc.put(ROOT, "status", "draft").unwrap();
    doc.commit();
    for q in 0..ANSWERS {
        let answer = format!("answer {q} of submission {n}");
        doc.put(&answers, format!("q{q}"), answer).unwrap();
        doc.commit();
    }
    let signed = doc
        .document()
        .get_changes_meta(&[])
        .iter()
        .map(|change| (change.hash, key.sign_change(&change.hash)))
        .collect();
    Made {
        id,
        bytes: doc.save(),
        signed,
    }
}

/// A phone: its key and actor, and the submissions it made.
struct Phone {
    made: Vec<Made>,
}

fn phones(count: usize) -> Vec<Phone> {
    (0..count)
        .map(|p| {
            let key = DeviceKey::generate().unwrap();
            let actor = key.new_actor().unwrap();
            let made = (0..PER_DEVICE)
                .map(|n| phone_submission(&key, &actor, p * PER_DEVICE + n))
                .collect();
            Phone { made }
        })
        .collect()
}

/// An enrolled device syncing with the hub from `store`.
struct Device<S> {
    store: S,
    connection: HubConnection,
    peer: PeerId,
    hub: PeerId,
}

impl<S: DocumentStore> Device<S> {
    fn enrol(hub: &RunningHub, storage: &SqliteStorage, role: Role, name: &str, store: S) -> Self {
        let issued = admin::enrol_device(storage, PROJECT, role, name).unwrap();
        let enrolled = client::enrol(&hub.url(), &issued.code.to_string()).unwrap();
        Device {
            store,
            connection: HubConnection::new(&hub.url(), PROJECT, &enrolled.token),
            peer: PeerId::new(enrolled.device_id).unwrap(),
            hub: PeerId::new(enrolled.hub_id).unwrap(),
        }
    }

    fn sync(&self) -> minga_sync::SyncReport {
        self.connection
            .sync(&self.store, &self.peer, &self.hub)
            .unwrap()
    }
}

/// A phone's store holding its submissions and, signing on, every change's signature.
fn phone_store(phone: &Phone, signing: bool) -> MemoryStore {
    let store = MemoryStore::new();
    let mut commit = Commit::new(PeerId::new("app").unwrap());
    for made in &phone.made {
        commit.docs.push(IncomingDoc {
            id: made.id.clone(),
            kind: DocKind::Submission,
            changes: made.bytes.clone(),
            loaded: None,
        });
        if signing {
            commit.signatures.extend(made.signed.iter().copied());
        }
    }
    store.commit(commit).unwrap();
    if signing {
        store.keep_own_signatures(phone.made.iter().flat_map(|m| m.signed.iter().copied()));
    }
    store
}

fn bench_dir() -> PathBuf {
    std::env::var("MINGA_BENCH_DIR").map_or_else(|_| std::env::temp_dir(), PathBuf::from)
}

fn open_store(dir: &tempfile::TempDir, name: &str) -> Store {
    let identity = DeviceIdentity::new(name, "sara");
    let key = Encryption::Key(StoreKey::new([0x5a; 32]));
    Store::open(dir.path().join(format!("{name}.db")), key, identity).unwrap()
}

/// What one side of the comparison measured.
#[derive(Default)]
struct Side {
    set_answer: Vec<Duration>,
    ingest: Vec<Duration>,
    pull: Vec<Duration>,
}

/// 40 answers to each of `submissions` new submissions of `store`; each call's time.
fn answer_round(store: &Store, submissions: usize, into: &mut Vec<Duration>) {
    for _ in 0..submissions {
        let id = store
            .create_submission(&FormRef::new("community_safety_assessment", "1"))
            .unwrap();
        for q in 0..ANSWERS {
            let (path, value) = (
                AnswerPath::new(format!("q{q}")),
                Value::Text(format!("respuesta {q}")),
            );
            let started = Instant::now();
            store.set_answer(&id, &path, &value).unwrap();
            into.push(started.elapsed());
        }
    }
}

/// The phones send their submissions to a new hub at once, then a fresh supervisor device
/// pulls them all; the two times.
fn ingest_and_pull(phones: &[Phone], signing: bool) -> (Duration, Duration) {
    let dir = tempfile::tempdir_in(bench_dir()).unwrap();
    let storage = Arc::new(SqliteStorage::open(dir.path()).unwrap());
    admin::create_project(storage.as_ref(), PROJECT, None).unwrap();
    let hub = RunningHub::start(storage.clone(), "127.0.0.1:0").unwrap();
    let devices: Vec<Device<MemoryStore>> = phones
        .iter()
        .enumerate()
        .map(|(n, phone)| {
            let store = phone_store(phone, signing);
            Device::enrol(&hub, &storage, Role::Facilitator, &format!("f{n}"), store)
        })
        .collect();
    let started = Instant::now();
    std::thread::scope(|scope| {
        for device in &devices {
            scope.spawn(move || assert_eq!(device.sync().sent, PER_DEVICE));
        }
    });
    let ingest = started.elapsed();
    let store = open_store(&dir, "supervisor");
    let supervisor = Device::enrol(&hub, &storage, Role::Supervisor, "supervisor", store);
    let started = Instant::now();
    let report = supervisor.sync();
    let pull = started.elapsed();
    assert_eq!(report.received, phones.len() * PER_DEVICE);
    (ingest, pull)
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let devices = if quick { 10 } else { 100 };
    let started = Instant::now();
    let phones = phones(devices);
    let changes = devices * PER_DEVICE * (ANSWERS + 1);
    println!(
        "{devices} phones, {} submissions, {changes} changes made and signed in {:.1} s",
        devices * PER_DEVICE,
        started.elapsed().as_secs_f64()
    );
    let dir = tempfile::tempdir_in(bench_dir()).unwrap();
    let mut sides = [Side::default(), Side::default()];
    let store = open_store(&dir, "phone");
    for round in 0..10 {
        // Each round both sides, in turns, first one then the other: drift falls on both.
        for signing in [round % 2 == 0, round % 2 == 1] {
            bench_switch::set(signing);
            answer_round(&store, 10, &mut sides[usize::from(!signing)].set_answer);
        }
    }
    for signing in [true, false, false, true] {
        bench_switch::set(signing);
        let (ingest, pull) = ingest_and_pull(&phones, signing);
        let side = &mut sides[usize::from(!signing)];
        side.ingest.push(ingest);
        side.pull.push(pull);
    }
    bench_switch::set(true);
    report(&mut sides, devices, changes);
}

fn report(sides: &mut [Side; 2], devices: usize, changes: usize) {
    let total = devices * PER_DEVICE;
    let [on, off] = sides;
    on.set_answer.sort();
    off.set_answer.sort();
    for (what, q) in [("p50", 0.50), ("p99", 0.99)] {
        let (a, b) = (
            percentile(&on.set_answer, q),
            percentile(&off.set_answer, q),
        );
        println!(
            "set_answer {what}: signed {:.3} ms, unsigned {:.3} ms: {:+.1}% ({} calls a side)",
            ms(a),
            ms(b),
            share(a, b),
            on.set_answer.len()
        );
    }
    let lines = [
        (
            format!("hub ingest, {devices} devices at once"),
            &on.ingest,
            &off.ingest,
        ),
        (
            format!("fresh device syncs {total} new submissions"),
            &on.pull,
            &off.pull,
        ),
    ];
    for (what, on, off) in lines {
        let (a, b) = (mean(on), mean(off));
        println!(
            "{what}: signed {:.2} s, unsigned {:.2} s (runs {:?} / {:?}): {:+.1}%, {:.1} us a change",
            a.as_secs_f64(),
            b.as_secs_f64(),
            on.iter().map(|d| ms(*d).round()).collect::<Vec<_>>(),
            off.iter().map(|d| ms(*d).round()).collect::<Vec<_>>(),
            share(a, b),
            (a.as_secs_f64() - b.as_secs_f64()) * 1e6 / changes as f64
        );
    }
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)]
}

fn mean(times: &[Duration]) -> Duration {
    times.iter().sum::<Duration>() / times.len() as u32
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// How much more `signed` took than `unsigned`, in percent.
fn share(signed: Duration, unsigned: Duration) -> f64 {
    100.0 * (signed.as_secs_f64() / unsigned.as_secs_f64() - 1.0)
}
