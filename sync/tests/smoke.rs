//! Two stores in memory: the basic directions of a sync, and a sync with nothing to do.

mod common;

use common::*;
use minga_sync::{DocId, SyncOptions};

#[test]
fn push_pull_and_nothing_to_do() {
    let phone = minga_sync::MemoryStore::new();
    let hub = minga_sync::MemoryStore::new();
    let ids: Vec<DocId> = (0..30).map(|_| DocId::random()).collect();
    for id in &ids[..20] {
        fill_submission(&phone, id, 5);
    }
    for id in &ids[20..] {
        fill_submission(&hub, id, 5);
    }
    let options = SyncOptions {
        page_docs: 7,
        ..SyncOptions::default()
    };
    let report = sync_pair(&phone, "phone", &hub, "hub", options).unwrap();
    assert_eq!(snapshot(&phone), snapshot(&hub));
    assert_eq!(phone.len(), 30);
    assert_eq!((report.sent, report.received), (20, 10), "{report:?}");

    answer(&phone, &ids[3], "q1", 7);
    answer(&hub, &ids[3], "q2", 8);
    answer(&hub, &ids[25], "q2", 9);
    let report = sync_pair(&phone, "phone", &hub, "hub", options).unwrap();
    assert_eq!(snapshot(&phone), snapshot(&hub), "{report:?}");

    let idle = sync_pair(&phone, "phone", &hub, "hub", options).unwrap();
    assert_eq!(idle.round_trips, 1, "{idle:?}");
    assert!(idle.bytes_sent + idle.bytes_received < 200, "{idle:?}");
}

#[test]
fn progress_is_reported_after_every_round_trip() {
    let phone = minga_sync::MemoryStore::new();
    let hub = minga_sync::MemoryStore::new();
    for _ in 0..12 {
        fill_submission(&phone, &DocId::random(), 3);
    }
    let options = SyncOptions {
        page_docs: 4,
        max_in_flight: 4,
        ..SyncOptions::default()
    };
    let transport = minga_sync::MemoryTransport::new(
        &hub,
        peer("hub"),
        options,
        std::sync::Arc::new(minga_sync::AllowAll),
    );
    let mut initiator = minga_sync::Initiator::new(
        peer("phone"),
        peer("hub"),
        options,
        std::sync::Arc::new(minga_sync::AllowAll),
    );
    let mut seen = Vec::new();
    let report = minga_sync::run_session(
        &phone,
        &transport,
        &mut initiator,
        &options,
        &mut |progress| seen.push(progress),
    )
    .unwrap();
    assert_eq!(seen.len() as u64, report.round_trips);
    assert!(seen
        .windows(2)
        .all(|pair| pair[0].docs_done <= pair[1].docs_done));
    assert!(seen
        .windows(2)
        .all(|pair| pair[0].bytes_received < pair[1].bytes_received));
    assert!(seen[0].docs_left_estimate > 0, "{:?}", seen[0]);
    let last = seen.last().unwrap();
    assert_eq!(
        (last.docs_done, last.docs_in_flight, last.docs_left_estimate),
        (12, 0, 0)
    );
    assert_eq!(last.bytes_sent, report.bytes_sent);
}

/// The resync budget: one changed answer in each of 100 documents out of 1,000 goes over in
/// one round trip and fewer bytes than 1.2 times the automerge changes it carries.
#[test]
fn a_resync_of_one_answer_edits_costs_little_more_than_the_changes() {
    let phone = minga_sync::MemoryStore::new();
    let hub = minga_sync::MemoryStore::new();
    let ids: Vec<DocId> = (0..1_000).map(|_| DocId::random()).collect();
    for id in &ids {
        fill_submission(&phone, id, 8);
    }
    sync_pair(&phone, "phone", &hub, "hub", SyncOptions::default()).unwrap();
    let changed = &ids[..100];
    for (value, id) in changed.iter().enumerate() {
        answer(&phone, id, "q1", value as i64);
    }
    let change_bytes: usize = changed
        .iter()
        .map(|id| {
            let doc = phone.get(id).unwrap();
            doc.get_changes(&[]).last().unwrap().raw_bytes().len()
        })
        .sum();

    let report = sync_pair(&phone, "phone", &hub, "hub", SyncOptions::default()).unwrap();
    assert_eq!(snapshot(&phone), snapshot(&hub));
    assert_eq!((report.sent, report.round_trips), (100, 1), "{report:?}");
    let wire = report.bytes_sent + report.bytes_received;
    assert!(
        wire as f64 <= 1.2 * change_bytes as f64,
        "{wire} B on the wire for {change_bytes} B of changes"
    );
}
