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
