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
