//! What signed changes cost, in one run: `set_answer` as it ships (every change signed and its
//! signature kept in the write's transaction) beside the Ed25519 work it does per change,
//! measured alone; and receiving submissions made as phones make them (40 `set_answer` calls,
//! so about 40 changes each) beside the verification it does, measured alone (one per
//! submission: its actor's newest change vouches for the rest). "Off" here is the measured
//! total less the measured signing or verifying work, from the same run on the same data;
//! `hub/benches/signing.rs` measures with signing switched off instead. And `history` of the
//! received submissions, which verifies each kept signature again, beside that verification
//! alone.
//!
//! Run: `cargo bench -p minga-core --bench signatures` (figures go to BENCHMARKS.md).

use minga_core::minga_sync::signatures::{verify_new_changes, DeviceKey, SignaturePool};
use minga_core::{
    AnswerPath, DeviceIdentity, DocId, DocKind, Encryption, FormRef, ReceivedChanges, Store,
    StoreKey, Value,
};
use std::time::{Duration, Instant};

const SUBMISSIONS: usize = 200;
const ANSWERS: usize = 40;
const KEY: [u8; 32] = [0x5a; 32];

fn main() {
    let dir = tempfile::tempdir_in(std::env::var("MINGA_BENCH_DIR").unwrap_or_else(|_| ".".into()))
        .unwrap();
    let open = |name: &str, device: &str| {
        let path = dir.path().join(name);
        let identity = DeviceIdentity::new(device, "ana");
        Store::open(path, Encryption::Key(StoreKey::new(KEY)), identity).unwrap()
    };
    let phone = open("phone.db", "phone");
    let (ids, mut set_answer) = fill(&phone);
    let changes = SUBMISSIONS * (ANSWERS + 1);
    let sign = mean_signing(changes);
    report("set_answer (signed, as it ships)", &mut set_answer);
    println!(
        "Ed25519 signature of one change hash, alone: {:.1} us (mean of {changes}); \
         {:.1}% of set_answer's p50",
        micros(sign),
        100.0 * sign.as_secs_f64() / percentile(&set_answer, 0.5).as_secs_f64()
    );

    let batches = received(&phone, &ids);
    let office = open("office.db", "office");
    let started = Instant::now();
    for batch in batches.chunks(50) {
        office.apply_changes(batch).unwrap();
    }
    let receive = started.elapsed();
    let verify = verification_alone(&batches);
    println!(
        "receiving {SUBMISSIONS} submissions ({changes} changes) with apply_changes in batches \
         of 50: {:.1} us per change, of which verification alone {:.1} us ({:.1}%)",
        micros(receive) / changes as f64,
        micros(verify) / changes as f64,
        100.0 * verify.as_secs_f64() / receive.as_secs_f64()
    );

    // The history verifies every keyed change's kept signature again: the same verifications.
    let started = Instant::now();
    for id in &ids {
        office.history(id).unwrap();
    }
    let history = started.elapsed();
    println!(
        "history of one submission ({} changes), mean of {SUBMISSIONS}: {:.2} ms, of which \
         verification alone {:.2} ms ({:.1}%)",
        ANSWERS + 1,
        micros(history) / 1000.0 / SUBMISSIONS as f64,
        micros(verify) / 1000.0 / SUBMISSIONS as f64,
        100.0 * verify.as_secs_f64() / history.as_secs_f64()
    );
}

/// `SUBMISSIONS` submissions filled through the API, `ANSWERS` answers each; their ids and the
/// latency of every `set_answer`.
fn fill(store: &Store) -> (Vec<DocId>, Vec<Duration>) {
    let mut ids = Vec::with_capacity(SUBMISSIONS);
    let mut times = Vec::with_capacity(SUBMISSIONS * ANSWERS);
    for n in 0..SUBMISSIONS {
        let id = store
            .create_submission(&FormRef::new("dialogue", "2026-03"))
            .unwrap();
        for answer in 0..ANSWERS {
            let (path, value) = (
                AnswerPath::new(format!("answer_{answer:02}")),
                Value::Text(format!("respuesta {answer} del hogar {n}")),
            );
            let started = Instant::now();
            store.set_answer(&id, &path, &value).unwrap();
            times.push(started.elapsed());
        }
        ids.push(id);
    }
    (ids, times)
}

/// The mean time of one Ed25519 signature of a change hash, over `count` of them.
fn mean_signing(count: usize) -> Duration {
    let key = DeviceKey::generate().unwrap();
    let started = Instant::now();
    for n in 0..count {
        let mut hash = [0u8; 32];
        hash[..8].copy_from_slice(&(n as u64).to_le_bytes());
        std::hint::black_box(key.sign_change(&automerge_hash(hash)));
    }
    started.elapsed() / count as u32
}

fn automerge_hash(bytes: [u8; 32]) -> minga_core::automerge::ChangeHash {
    minga_core::automerge::ChangeHash(bytes)
}

/// Each submission as another store receives it: its bytes and its signatures.
fn received(phone: &Store, ids: &[DocId]) -> Vec<ReceivedChanges> {
    ids.iter()
        .map(|id| ReceivedChanges {
            id: *id,
            kind: DocKind::Submission,
            bytes: phone.document_bytes(id).unwrap(),
            signatures: phone.change_signatures(id).unwrap(),
        })
        .collect()
}

/// The time the verification alone takes on what `batches` carry (each document loaded first,
/// outside the timing).
fn verification_alone(batches: &[ReceivedChanges]) -> Duration {
    let mut total = Duration::ZERO;
    for received in batches {
        let doc = minga_core::automerge::Automerge::load(&received.bytes).unwrap();
        let pool: SignaturePool = received.signatures.iter().copied().collect();
        let started = Instant::now();
        let verified = verify_new_changes(&doc, &[], |hash| pool.get(hash)).unwrap();
        total += started.elapsed();
        assert_eq!(
            verified.len(),
            1,
            "one actor: its newest change vouches for the rest"
        );
    }
    total
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)]
}

fn report(what: &str, times: &mut [Duration]) {
    times.sort();
    println!(
        "{what}: p50 {:.2} ms, p99 {:.2} ms (of {})",
        micros(percentile(times, 0.50)) / 1e3,
        micros(percentile(times, 0.99)) / 1e3,
        times.len()
    );
}
