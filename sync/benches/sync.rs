//! Sync figures, side by side in one run: 10,000 survey-like submissions to an empty store,
//! 100 changed out of 10,000, a sync with nothing to do, and the per-document baseline (one
//! automerge sync exchange per document, a round trip per message, as automerge-repo does).
//!
//! `cargo bench -p minga-sync --bench sync` (MINGA_SYNC_BENCH_DOCS changes the 10,000).

use std::sync::Arc;
use std::time::{Duration, Instant};

use automerge::sync::{State, SyncDoc};
use automerge::transaction::Transactable;
use automerge::{Automerge, ObjType, ROOT};
use minga_sync::{
    run_session, AllowAll, DocId, DocKind, DocumentStore, Initiator, MemoryStore, MemoryTransport,
    PeerId, SyncOptions, SyncReport,
};

const ANSWERS: usize = 40;

fn main() {
    let count: usize = std::env::var("MINGA_SYNC_BENCH_DOCS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(10_000);
    let started = Instant::now();
    let phone = MemoryStore::new();
    let ids: Vec<DocId> = (0..count).map(|_| DocId::random()).collect();
    for (index, id) in ids.iter().enumerate() {
        fill(&phone, id, index);
    }
    let saved: usize = ids
        .iter()
        .map(|id| phone.export(id).unwrap().unwrap().len())
        .sum();
    let raw_changes: usize = ids.iter().map(|id| change_bytes(&phone, id)).sum();
    println!(
        "{count} submissions of {ANSWERS} answers (one change each): {:.0} B saved, {:.0} B of raw changes per document (built in {:.1?})",
        saved as f64 / count as f64,
        raw_changes as f64 / count as f64,
        started.elapsed()
    );
    println!();
    println!("| scenario | time | round trips | bytes on the wire | wire / raw change bytes | wire / saved document bytes |");
    println!("| --- | --- | --- | --- | --- | --- |");

    let hub = MemoryStore::new();
    let (report, time) = sync(&phone, &hub);
    assert_eq!(hub.len(), count, "every submission arrived");
    row(
        &format!("{count} new submissions to an empty store"),
        &report,
        time,
        raw_changes,
        saved,
    );

    let changed = &ids[..100.min(count)];
    for id in changed {
        edit_one_answer(&phone, id);
    }
    let changed_raw: usize = changed.iter().map(|id| last_change_bytes(&phone, id)).sum();
    let (report, time) = sync(&phone, &hub);
    assert_eq!(report.sent, changed.len());
    row(
        &format!("{} changed of {count}", changed.len()),
        &report,
        time,
        changed_raw,
        0,
    );

    let (report, time) = sync(&phone, &hub);
    assert_eq!(report.sent + report.received, 0);
    row("nothing changed", &report, time, 0, 0);

    let (messages, round_trips, bytes, time) = per_document_baseline(&phone, &ids);
    println!(
        "| baseline: one automerge sync per document, {count} documents | {time:.1?} | {round_trips} | {bytes} B ({messages} messages, no framing) | {:.2} | {:.2} |",
        bytes as f64 / raw_changes as f64,
        bytes as f64 / saved as f64
    );
}

/// A submission made in one change, as a form filled and saved in one go: meta, 40 answers
/// (text, numbers, a select_multiple map) and a status.
fn fill(store: &MemoryStore, id: &DocId, index: usize) {
    store.edit(id, DocKind::Submission, |tx| {
        tx.put(ROOT, "schema", 1).unwrap();
        let meta = tx.put_object(ROOT, "meta", ObjType::Map).unwrap();
        tx.put(&meta, "form_id", "community_safety").unwrap();
        tx.put(&meta, "form_version", 3).unwrap();
        tx.put(&meta, "project_id", "imbabura-2026").unwrap();
        tx.put(&meta, "device_id", "phone-17").unwrap();
        let answers = tx.put_object(ROOT, "answers", ObjType::Map).unwrap();
        for question in 0..ANSWERS {
            let name = format!("q{question:02}");
            match question % 4 {
                0 => tx
                    .put(&answers, name, (index * 7 + question) as i64 % 90)
                    .unwrap(),
                1 => tx
                    .put(&answers, name, ["si", "no", "no_sabe"][question % 3])
                    .unwrap(),
                2 => {
                    let ticked = tx.put_object(&answers, name, ObjType::Map).unwrap();
                    tx.put(&ticked, "robo", true).unwrap();
                    tx.put(&ticked, "extorsion", true).unwrap();
                }
                _ => tx
                    .put(&answers, name, format!("barrio {}", index % 40))
                    .unwrap(),
            }
        }
        tx.put(&answers, "notes", free_text(index as u64, 14))
            .unwrap();
        tx.put(ROOT, "status", "complete").unwrap();
    });
}

/// A facilitator's note: `words` words drawn from a Spanish word list by a seeded generator,
/// so that documents differ as real notes do (numbers and choices alone compress unrealistically
/// well).
fn free_text(seed: u64, words: usize) -> String {
    const WORDS: [&str; 48] = [
        "la",
        "comunidad",
        "reporta",
        "robos",
        "en",
        "el",
        "barrio",
        "desde",
        "hace",
        "meses",
        "los",
        "vecinos",
        "piden",
        "patrullaje",
        "nocturno",
        "cerca",
        "de",
        "escuela",
        "hay",
        "extorsion",
        "a",
        "comerciantes",
        "tienda",
        "mercado",
        "jovenes",
        "pandilla",
        "parque",
        "sin",
        "luz",
        "calle",
        "principal",
        "miedo",
        "denunciar",
        "policia",
        "llega",
        "tarde",
        "reunion",
        "con",
        "lideres",
        "acordaron",
        "alarma",
        "comunitaria",
        "mujeres",
        "buses",
        "transporte",
        "noche",
        "cobro",
        "vacunas",
    ];
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..words)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            WORDS[(state % WORDS.len() as u64) as usize]
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn edit_one_answer(store: &MemoryStore, id: &DocId) {
    store.edit(id, DocKind::Submission, |tx| {
        let answers = automerge::ReadDoc::get(tx, ROOT, "answers")
            .unwrap()
            .unwrap()
            .1;
        tx.put(&answers, "q01", "si").unwrap();
        tx.put(&answers, "notes", free_text(id_seed(id), 6))
            .unwrap();
    });
}

fn id_seed(id: &DocId) -> u64 {
    id.as_str()
        .bytes()
        .fold(0, |seed, byte| seed.wrapping_mul(31) ^ u64::from(byte))
}

fn change_bytes(store: &MemoryStore, id: &DocId) -> usize {
    let doc = store.get(id).unwrap();
    doc.get_changes(&[])
        .iter()
        .map(|change| change.raw_bytes().len())
        .sum()
}

fn last_change_bytes(store: &MemoryStore, id: &DocId) -> usize {
    let doc = store.get(id).unwrap();
    let changes = doc.get_changes(&[]);
    changes.last().map_or(0, |change| change.raw_bytes().len())
}

fn sync(phone: &MemoryStore, hub: &MemoryStore) -> (SyncReport, Duration) {
    let options = SyncOptions::default();
    let hub_id = PeerId::new("hub").unwrap();
    let transport = MemoryTransport::new(hub, hub_id.clone(), options, Arc::new(AllowAll));
    let mut initiator = Initiator::new(
        PeerId::new("phone").unwrap(),
        hub_id,
        options,
        Arc::new(AllowAll),
    );
    let started = Instant::now();
    let report = run_session(phone, &transport, &mut initiator, &options, &mut |_| {}).unwrap();
    (report, started.elapsed())
}

fn row(name: &str, report: &SyncReport, time: Duration, raw: usize, saved: usize) {
    let wire = report.bytes_sent + report.bytes_received;
    let ratio = |base: usize| {
        if base == 0 {
            "-".to_owned()
        } else {
            format!("{:.2}", wire as f64 / base as f64)
        }
    };
    println!(
        "| {name} | {time:.1?} | {} | {wire} B | {} | {} |",
        report.round_trips,
        ratio(raw),
        ratio(saved)
    );
}

/// automerge-repo's way: each document synced on its own, every message a round trip.
fn per_document_baseline(phone: &MemoryStore, ids: &[DocId]) -> (u64, u64, u64, Duration) {
    let docs: Vec<Automerge> = ids.iter().map(|id| phone.get(id).unwrap()).collect();
    let started = Instant::now();
    let (mut messages, mut round_trips, mut bytes) = (0u64, 0u64, 0u64);
    for mut source in docs {
        let mut target = Automerge::new();
        let (mut source_state, mut target_state) = (State::new(), State::new());
        loop {
            let mut moved = false;
            if let Some(message) = source.generate_sync_message(&mut source_state) {
                let encoded = message.encode();
                bytes += encoded.len() as u64;
                messages += 1;
                let decoded = automerge::sync::Message::decode(&encoded).unwrap();
                target
                    .receive_sync_message(&mut target_state, decoded)
                    .unwrap();
                moved = true;
            }
            if let Some(message) = target.generate_sync_message(&mut target_state) {
                let encoded = message.encode();
                bytes += encoded.len() as u64;
                messages += 1;
                let decoded = automerge::sync::Message::decode(&encoded).unwrap();
                source
                    .receive_sync_message(&mut source_state, decoded)
                    .unwrap();
                moved = true;
            }
            if !moved {
                break;
            }
            round_trips += 1;
        }
    }
    (messages, round_trips, bytes, started.elapsed())
}
