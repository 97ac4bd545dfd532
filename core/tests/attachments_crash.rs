//! An acknowledged attachment survives SIGKILL at any instant, and a half-written one never
//! reads as present. The test re-runs its own binary as a child that adds attachments (half
//! of them as this device's own, half received chunk by chunk as from a peer), printing
//! `begin` before each and `ack` once it is stored; the parent kills the child at a random
//! instant, reopens the store, checks SQLite's integrity, that every acknowledged attachment
//! is present and whole, and that the one being written is missing, partial or whole, never
//! present with other bytes.

mod common;

use common::*;
use minga_core::{AttachmentState, ContentHash, Error, Store};
use minga_sync::CHUNK_SIZE;
use std::path::Path;
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "MINGA_ATTACHMENT_CRASH_STORE";
const KILLS: u64 = 30;
const STORE_KEY: u8 = 9;

/// The content numbered `n`: between half a chunk and six chunks, different for every `n`.
fn content(n: u64) -> Vec<u8> {
    let len = CHUNK_SIZE / 2 + (n as usize * 7919) % (6 * CHUNK_SIZE);
    noise_bytes(n, len)
}

/// Stores content `n` as a peer would send it, chunk by chunk.
fn receive_whole(store: &Store, content: &[u8]) {
    let hash = ContentHash::of(content);
    for (index, chunk) in content.chunks(CHUNK_SIZE).enumerate() {
        store
            .receive_attachment_chunk(&hash, content.len() as u64, index as u64, chunk)
            .unwrap();
    }
}

/// The child's work: runs only when the parent sets `CHILD_ENV`. Stores contents numbered
/// from `MINGA_ATTACHMENT_CRASH_FIRST` on, forever.
#[test]
fn child_attacher() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let first: u64 = std::env::var("MINGA_ATTACHMENT_CRASH_FIRST")
        .unwrap()
        .parse()
        .unwrap();
    println!(); // ends the test harness's own line
    let store = open(Path::new(&path), STORE_KEY, ana());
    println!("opened");
    for n in first.. {
        let content = content(n);
        println!("begin {n}");
        if n % 2 == 0 {
            store
                .add_attachment(&content, "image/jpeg", "photo.jpg")
                .unwrap();
        } else {
            receive_whole(&store, &content);
        }
        println!("ack {n}");
    }
}

/// What a killed child printed: the contents it began and those it acknowledged.
#[derive(Default)]
struct Printed {
    begun: Vec<u64>,
    acknowledged: Vec<u64>,
}

/// Runs a child from content `first`, kills it `delay` after it opened its store, and
/// returns what it printed.
fn run_and_kill(store_path: &Path, first: u64, delay: Duration) -> Printed {
    let child = ChildRun::spawn(
        "child_attacher",
        &[
            (CHILD_ENV, store_path.display().to_string()),
            ("MINGA_ATTACHMENT_CRASH_FIRST", first.to_string()),
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    while !seen.iter().any(|line: &String| line == "opened") {
        let wait = deadline.saturating_duration_since(Instant::now());
        seen.push(
            child
                .lines
                .recv_timeout(wait)
                .expect("the child opened its store"),
        );
    }
    std::thread::sleep(delay);
    seen.extend(child.kill("an attacher writes forever"));
    let mut printed = Printed::default();
    for line in seen {
        match line.split_once(' ') {
            Some(("begin", n)) => printed.begun.extend(n.parse::<u64>().ok()),
            Some(("ack", n)) => printed.acknowledged.extend(n.parse::<u64>().ok()),
            _ => {} // the harness's own lines, or a line cut by the kill
        }
    }
    printed
}

/// Asserts that content `n` is present and whole in `store`.
fn assert_whole(store: &Store, n: u64, context: &str) {
    let content = content(n);
    let hash = ContentHash::of(&content);
    assert_eq!(
        store.attachment_state(&hash).unwrap(),
        AttachmentState::Present {
            size: content.len() as u64
        },
        "{context}: acknowledged content {n}"
    );
    assert!(
        store.read_attachment(&hash).unwrap() == content,
        "{context}: content {n} reads back whole"
    );
}

/// Asserts that the content `n`, begun but not acknowledged, is missing, partial (and then
/// refused when opened) or whole: never present with other bytes.
fn assert_never_half_present(store: &Store, n: u64, context: &str) {
    let hash = ContentHash::of(&content(n));
    match store.attachment_state(&hash).unwrap() {
        AttachmentState::Present { .. } => assert_whole(store, n, context),
        AttachmentState::Partial { .. } | AttachmentState::Missing => assert!(
            matches!(
                store.open_attachment(&hash),
                Err(Error::AttachmentNotPresent { .. })
            ),
            "{context}: a content being written does not open"
        ),
    }
}

#[test]
fn acknowledged_attachments_survive_sigkill_and_a_half_written_one_never_reads_as_present() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let store_path = dir.path().join("crash.db");
    let seed = crash_seed();
    let mut instants = Instants(seed);
    let mut acknowledged = Vec::new();
    let mut cut_short = 0;
    let mut next = 0;
    for round in 0..KILLS {
        let delay = Duration::from_micros(instants.next_micros(400_000));
        let printed = run_and_kill(&store_path, next, delay);
        let context = format!("round {round}, seed {seed}");
        let store = open(&store_path, STORE_KEY, ana());
        assert_eq!(
            store.integrity_check().unwrap(),
            vec!["ok".to_string()],
            "{context}"
        );
        // Those of earlier rounds are still present (read back whole at the end); this
        // round's are read back now.
        for (n, hash) in &acknowledged {
            let state = store.attachment_state(hash).unwrap();
            assert!(
                matches!(state, AttachmentState::Present { .. }),
                "{context}: {n}"
            );
        }
        for &n in &printed.acknowledged {
            assert_whole(&store, n, &context);
            acknowledged.push((n, ContentHash::of(&content(n))));
        }
        if let Some(&last) = printed.begun.last() {
            if !printed.acknowledged.contains(&last) {
                cut_short += 1;
                assert_never_half_present(&store, last, &context);
            }
            next = last + 1;
        }
    }
    let store = open(&store_path, STORE_KEY, ana());
    for &(n, _) in &acknowledged {
        assert_whole(&store, n, &format!("at the end, seed {seed}"));
    }
    println!(
        "{KILLS} kills, {} acknowledged attachments all whole, {cut_short} cut while written",
        acknowledged.len()
    );
    assert!(
        acknowledged.len() as u64 > KILLS,
        "the children stored attachments"
    );
    assert!(
        cut_short > 0,
        "some kills landed while an attachment was written"
    );
}
