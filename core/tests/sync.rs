//! Two real encrypted SQLite stores syncing through minga-sync: both ways, concurrent edits,
//! the one-round-trip resync, a cut session resuming, bundles, and per-document refusals.

mod common;

use common::*;
use minga_core::minga_sync::bundle::{import_bundle, write_bundle, BundleIdentity, BundleScope};
use minga_core::minga_sync::{
    run_session, AllowAll, ApplyOutcome, Commit, DocId as SyncId, DocKind, DocumentStore,
    IncomingDoc, Initiator, MemoryTransport, PeerId, SyncError, SyncOptions, SyncReport, Transport,
    TransportError,
};
use minga_core::{AnswerPath, DocId, Store, Value};
use std::cell::Cell;
use std::sync::Arc;

fn peer(name: &str) -> PeerId {
    PeerId::new(name).unwrap()
}

/// One session with `phone` initiating towards `hub`; the connection drops for good after
/// `cut_after` exchanges, if given.
fn session(
    phone: &Store,
    hub: &Store,
    options: SyncOptions,
    cut_after: Option<u32>,
) -> Result<SyncReport, SyncError> {
    let transport = MemoryTransport::new(hub, peer("hub"), options, Arc::new(AllowAll));
    let cut = CutAfter {
        inner: &transport,
        allowed: Cell::new(cut_after.unwrap_or(u32::MAX)),
    };
    let mut initiator = Initiator::new(peer("phone"), peer("hub"), options, Arc::new(AllowAll));
    run_session(phone, &cut, &mut initiator, &options, &mut |_| {})
}

fn sync(phone: &Store, hub: &Store) -> SyncReport {
    session(phone, hub, SyncOptions::default(), None).expect("sync")
}

/// Every stored submission with its sorted heads and answers, to compare two stores.
fn contents(store: &Store) -> Vec<(DocId, Vec<automerge::ChangeHash>, String)> {
    let page = store
        .list_submissions(&Default::default(), None, 1_000)
        .unwrap();
    let mut rows: Vec<_> = page
        .items
        .iter()
        .map(|row| {
            let (_, mut heads) = store.doc_heads(&row.id.into()).unwrap().unwrap();
            heads.sort();
            let answers = format!("{:?}", store.answers(&row.id).unwrap());
            (row.id, heads, answers)
        })
        .collect();
    rows.sort_by_key(|row| row.0);
    rows
}

struct Pair {
    _dir: tempfile::TempDir,
    phone: Store,
    hub: Store,
}

fn pair() -> Pair {
    let dir = tempfile::tempdir().unwrap();
    let phone = open(&dir.path().join("phone.db"), 1, ana());
    let hub = open(&dir.path().join("hub.db"), 2, luis());
    Pair {
        _dir: dir,
        phone,
        hub,
    }
}

fn answered(store: &Store, question: &str, value: i64) -> DocId {
    let id = store.create_submission(&dialogue()).unwrap();
    store
        .set_answer(&id, &AnswerPath::new(question), &Value::Integer(value))
        .unwrap();
    id
}

#[test]
fn two_encrypted_stores_sync_both_ways() {
    let pair = pair();
    let from_phone: Vec<DocId> = (0..3).map(|n| answered(&pair.phone, "q", n)).collect();
    let from_hub = answered(&pair.hub, "q", 99);

    let report = sync(&pair.phone, &pair.hub);
    assert_eq!((report.sent, report.received), (3, 1));
    assert_eq!(contents(&pair.phone), contents(&pair.hub));
    assert_eq!(contents(&pair.hub).len(), 4);
    assert_eq!(
        pair.hub.answers(&from_phone[2]).unwrap().value("q"),
        Some(&Value::Integer(2))
    );
    assert_eq!(
        pair.phone.submission(&from_hub).unwrap().meta.created_by,
        "luis",
        "the projection and meta of a received submission are readable"
    );
}

/// Concurrent first repeat instances (two lists under one key) and concurrent moves (two
/// `_order` values) merge by design: the sync report counts no conflict, as `conflicts` shows
/// none.
#[test]
fn repeats_merged_by_design_are_not_counted_as_conflicts() {
    let pair = pair();
    let id = pair.phone.create_submission(&dialogue()).unwrap();
    sync(&pair.phone, &pair.hub);
    let participants = AnswerPath::new("participants");
    let first = |store: &Store| store.add_repeat_instance(&id, &participants, None).unwrap();
    let (rosa, jorge) = (first(&pair.phone), first(&pair.hub));
    let report = sync(&pair.phone, &pair.hub);
    assert_eq!(report.conflicts, 0, "two first instances: {report:?}");

    let second = pair
        .phone
        .add_repeat_instance(&id, &participants, None)
        .unwrap();
    sync(&pair.phone, &pair.hub);
    pair.phone
        .move_repeat_instance(&id, &participants, &rosa, 2)
        .unwrap();
    pair.hub
        .move_repeat_instance(&id, &participants, &rosa, 1)
        .unwrap();
    let report = sync(&pair.phone, &pair.hub);
    assert_eq!(report.conflicts, 0, "concurrent moves: {report:?}");
    assert_eq!(contents(&pair.phone), contents(&pair.hub));
    assert!(pair.hub.conflicts(&id).unwrap().is_empty());
    let order = |store: &Store| {
        let answers = store.answers(&id).unwrap();
        let mut ids: Vec<_> = answers
            .instances("participants")
            .iter()
            .map(|i| i.id.clone())
            .collect();
        ids.sort();
        ids
    };
    let mut expected = vec![rosa, jorge, second];
    expected.sort();
    assert_eq!(order(&pair.hub), expected);
}

#[test]
fn concurrent_edits_of_one_submission_converge_and_show_the_conflict() {
    let pair = pair();
    let id = answered(&pair.phone, "q", 1);
    sync(&pair.phone, &pair.hub);
    let path = AnswerPath::new("village");
    pair.phone
        .set_answer(&id, &path, &Value::Text("Otavalo".into()))
        .unwrap();
    pair.hub
        .set_answer(&id, &path, &Value::Text("Cotacachi".into()))
        .unwrap();

    let report = sync(&pair.phone, &pair.hub);
    assert_eq!(report.conflicts, 1, "the one conflicting answer arrived");
    assert_eq!(contents(&pair.phone), contents(&pair.hub));
    let conflicts = pair.hub.conflicts(&id).unwrap();
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert_eq!(conflicts[0].path, path);
    let mut values: Vec<_> = conflicts[0]
        .values
        .iter()
        .map(|v| v.value.clone().unwrap())
        .collect();
    values.sort_by_key(|v| format!("{v:?}"));
    assert_eq!(
        values,
        vec![
            Value::Text("Cotacachi".into()),
            Value::Text("Otavalo".into())
        ]
    );
    assert_eq!(pair.phone.conflicts(&id).unwrap(), conflicts);

    // A later edit of another answer leaves one head but the conflict in place: still counted.
    pair.hub
        .set_answer(&id, &AnswerPath::new("q"), &Value::Integer(5))
        .unwrap();
    let report = sync(&pair.phone, &pair.hub);
    assert_eq!((report.received, report.conflicts), (1, 1), "{report:?}");
}

#[test]
fn a_second_sync_with_nothing_changed_is_one_round_trip() {
    let pair = pair();
    for n in 0..5 {
        answered(&pair.phone, "q", n);
        answered(&pair.hub, "q", n);
    }
    assert!(sync(&pair.phone, &pair.hub).round_trips >= 1);
    let (phone_seq, hub_seq) = (pair.phone.last_seq().unwrap(), pair.hub.last_seq().unwrap());
    let again = sync(&pair.phone, &pair.hub);
    assert_eq!(again.round_trips, 1, "{again:?}");
    assert_eq!((again.sent, again.received), (0, 0));
    assert_eq!(
        pair.phone.last_seq().unwrap(),
        phone_seq,
        "nothing rewritten"
    );
    assert_eq!(pair.hub.last_seq().unwrap(), hub_seq);
}

/// Carries `allowed` exchanges, then fails for good: a connection that drops mid-session.
struct CutAfter<'a> {
    inner: &'a dyn Transport,
    allowed: Cell<u32>,
}

impl Transport for CutAfter<'_> {
    fn exchange(&self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
        if self.allowed.get() == 0 {
            return Err(TransportError::fatal("connection cut"));
        }
        self.allowed.set(self.allowed.get() - 1);
        self.inner.exchange(request)
    }
}

#[test]
fn a_sync_cut_midway_resumes_without_duplicates() {
    let pair = pair();
    let ids: Vec<DocId> = (0..12).map(|n| answered(&pair.phone, "q", n)).collect();
    // Small pages so that the session needs several round trips and the cut lands inside it.
    let options = SyncOptions {
        page_docs: 3,
        max_in_flight: 3,
        ..SyncOptions::default()
    };
    let cut = session(&pair.phone, &pair.hub, options, Some(2));
    assert!(matches!(cut, Err(SyncError::Transport(_))), "{cut:?}");
    let arrived = contents(&pair.hub).len();
    assert!(
        (1..ids.len()).contains(&arrived),
        "the cut landed midway: {arrived} arrived"
    );
    let hub_seq = pair.hub.last_seq().unwrap();

    let resumed = session(&pair.phone, &pair.hub, options, None).unwrap();
    assert_eq!(resumed.sent, ids.len() - arrived, "only what was missing");
    assert_eq!(contents(&pair.hub), contents(&pair.phone));
    assert_eq!(
        pair.hub.last_seq().unwrap(),
        hub_seq + (ids.len() - arrived) as u64,
        "one new sequence number per missing document, none for those already stored"
    );
}

#[test]
fn peer_state_survives_reopening_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let (phone_path, hub_path) = (dir.path().join("p.db"), dir.path().join("h.db"));
    let hub = open(&hub_path, 2, luis());
    let cursor = {
        let phone = open(&phone_path, 1, ana());
        answered(&phone, "q", 1);
        answered(&hub, "q", 2);
        sync(&phone, &hub);
        phone.peer_cursor(&peer("hub")).unwrap()
    };
    assert!(cursor.ours > 0 && cursor.theirs > 0, "{cursor:?}");
    let phone = open(&phone_path, 1, ana());
    assert_eq!(phone.peer_cursor(&peer("hub")).unwrap(), cursor);
    let again = sync(&phone, &hub);
    assert_eq!((again.round_trips, again.sent, again.received), (1, 0, 0));
}

#[test]
fn a_bundle_from_one_store_imports_into_another_twice_harmlessly() {
    let pair = pair();
    let ids: Vec<DocId> = (0..4).map(|n| answered(&pair.phone, "q", n)).collect();
    let hub_key = BundleIdentity::generate();
    let bundle = write_bundle(
        &pair.phone,
        &peer("phone"),
        &peer("hub"),
        &hub_key.to_public(),
        BundleScope::Missing,
        &AllowAll,
    )
    .unwrap();
    let import = || {
        import_bundle(
            &pair.hub,
            &peer("hub"),
            &hub_key,
            &bundle,
            Arc::new(AllowAll),
        )
        .unwrap()
    };
    assert_eq!(import().received, ids.len());
    assert_eq!(contents(&pair.hub), contents(&pair.phone));
    let seq = pair.hub.last_seq().unwrap();
    import();
    assert_eq!(
        pair.hub.last_seq().unwrap(),
        seq,
        "the second import changed nothing"
    );
    assert_eq!(contents(&pair.hub), contents(&pair.phone));
}

#[test]
fn refused_documents_do_not_stop_the_others_in_a_commit() {
    let pair = pair();
    let good = answered(&pair.phone, "q", 1);
    let existing = answered(&pair.hub, "q", 2);
    let bytes = |id: &DocId| pair.phone.document_bytes(id).unwrap();
    let incoming = |id: SyncId, kind: DocKind, changes: Vec<u8>| IncomingDoc {
        id,
        kind,
        changes,
        loaded: None,
    };
    let mut commit = Commit::new(peer("phone"));
    commit.docs = vec![
        incoming(
            SyncId::new("form:x@1").unwrap(),
            DocKind::Form,
            bytes(&good),
        ),
        incoming(existing.into(), DocKind::Review, bytes(&good)),
        incoming(
            SyncId::random(),
            DocKind::Submission,
            vec![0x85, 0x6f, 1, 2],
        ),
        incoming(good.into(), DocKind::Submission, bytes(&good)),
    ];
    let upper = SyncId::new(good.to_string().to_uppercase()).unwrap();
    commit
        .docs
        .push(incoming(upper, DocKind::Submission, bytes(&good)));
    commit
        .signatures
        .extend(pair.phone.change_signatures(&good).unwrap());
    let outcomes = pair.hub.commit(commit).unwrap();
    assert!(
        matches!(outcomes[0], ApplyOutcome::Invalid { .. }),
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes[1],
        ApplyOutcome::KindMismatch {
            stored: DocKind::Submission
        }
    );
    assert!(matches!(outcomes[2], ApplyOutcome::Invalid { .. }));
    assert_eq!(
        outcomes[3],
        ApplyOutcome::Applied {
            heads: pair.phone.doc_heads(&good.into()).unwrap().unwrap().1
        }
    );
    assert!(
        matches!(outcomes[4], ApplyOutcome::Invalid { .. }),
        "a non-canonical spelling is refused"
    );
    assert_eq!(contents(&pair.hub).len(), 2);
    assert_eq!(
        pair.hub.last_seq().unwrap(),
        3,
        "one new seq: the applied document"
    );
}

#[test]
fn received_documents_not_shaped_as_their_kind_and_id_say_are_refused_and_nothing_is_stored() {
    let pair = pair();
    let good = answered(&pair.phone, "q", 1);
    let colleague = answered(&pair.phone, "q", 2);
    let bytes = |id: &DocId| pair.phone.document_bytes(id).unwrap();
    pair.phone
        .set_review_state(&colleague, minga_core::ReviewState::Approved)
        .unwrap();
    let colleagues_review: SyncId = minga_core::review_id(&colleague).into();
    let review_bytes = DocumentStore::export(&pair.phone, &colleagues_review)
        .unwrap()
        .expect("the review is stored");
    let submission = |id: SyncId, changes: Vec<u8>| IncomingDoc {
        id,
        kind: DocKind::Submission,
        changes,
        loaded: None,
    };
    let mut commit = Commit::new(peer("phone"));
    commit.docs = vec![
        // a new id, and a meta.id naming a colleague's submission
        submission(SyncId::random(), bytes(&colleague)),
        // the review id of her own submission, taken by a submission
        submission(minga_core::review_id(&good).into(), bytes(&good)),
        // the id a form version will have once published
        submission(
            minga_core::form_document_id("dialogue", "9").into(),
            bytes(&good),
        ),
        // a review filed under another submission's review id
        IncomingDoc {
            id: minga_core::review_id(&good).into(),
            kind: DocKind::Review,
            changes: review_bytes,
            loaded: None,
        },
        submission(good.into(), bytes(&good)),
    ];
    // Every change comes signed: what is refused is refused for its shape.
    for id in [good, colleague, minga_core::review_id(&colleague)] {
        let signed = pair.phone.change_signatures(&id).unwrap();
        commit.signatures.extend(signed);
    }
    let outcomes = pair.hub.commit(commit).unwrap();
    for (n, outcome) in outcomes[..4].iter().enumerate() {
        assert!(
            matches!(outcome, ApplyOutcome::Invalid { .. }),
            "document {n}: {outcome:?}"
        );
    }
    assert_eq!(
        outcomes[4],
        ApplyOutcome::Applied {
            heads: pair.phone.doc_heads(&good.into()).unwrap().unwrap().1
        }
    );
    let ApplyOutcome::Invalid { reason } = &outcomes[0] else {
        unreachable!()
    };
    assert!(reason.contains("meta.id"), "{reason}");
    assert_eq!(
        pair.hub.last_seq().unwrap(),
        1,
        "one new seq: the applied document"
    );
}

#[test]
fn observers_hear_local_and_synced_changes_and_may_read_the_store() {
    use minga_core::ChangedDocument;
    use std::sync::Mutex;
    let pair = Arc::new(pair());
    let heard: Arc<Mutex<Vec<(ChangedDocument, usize)>>> = Arc::default();
    let handle = {
        let (heard, reader) = (heard.clone(), pair.clone());
        pair.hub.observe(Box::new(move |changed| {
            // Reading the store from inside the callback: the lock is already released.
            let listed = reader
                .hub
                .list_submissions(&Default::default(), None, 100)
                .unwrap()
                .items
                .len();
            let mut heard = heard.lock().unwrap();
            heard.extend(changed.iter().map(|doc| (doc.clone(), listed)));
        }))
    };
    let local = answered(&pair.hub, "q", 1);
    let remote = answered(&pair.phone, "q", 2);
    {
        let heard = heard.lock().unwrap();
        assert_eq!(heard.len(), 2, "creation and answer: {heard:?}");
        assert!(heard.iter().all(|(told, listed)| told.doc.id == local
            && told.doc.kind == DocKind::Submission
            && !told.by_sync
            && *listed == 1));
        assert!(heard[0].0.doc.seq < heard[1].0.doc.seq);
    }
    sync(&pair.phone, &pair.hub);
    {
        let heard = heard.lock().unwrap();
        let synced: Vec<_> = heard.iter().filter(|(doc, _)| doc.by_sync).collect();
        assert_eq!(synced.len(), 1, "{heard:?}");
        assert_eq!(synced[0].0.doc.id, remote);
        assert_eq!(synced[0].1, 2, "the observer saw the committed document");
    }
    handle.cancel();
    answered(&pair.hub, "q", 3);
    assert_eq!(
        heard.lock().unwrap().len(),
        3,
        "a cancelled observer hears nothing"
    );
}

#[test]
fn a_panicking_observer_neither_fails_the_write_nor_poisons_the_store() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let pair = pair();
    let calm = Arc::new(AtomicUsize::new(0));
    let _panicking = pair.phone.observe(Box::new(|_| panic!("observer bug")));
    let _calm = {
        let calm = calm.clone();
        pair.phone.observe(Box::new(move |changed| {
            calm.fetch_add(changed.len(), Ordering::SeqCst);
        }))
    };
    let id = answered(&pair.phone, "q", 1);
    assert_eq!(
        calm.load(Ordering::SeqCst),
        2,
        "the other observer still ran"
    );
    assert_eq!(
        pair.phone.answers(&id).unwrap().value("q"),
        Some(&Value::Integer(1))
    );
    answered(&pair.phone, "q", 2);
    assert_eq!(calm.load(Ordering::SeqCst), 4);
    drop(_calm);
    answered(&pair.phone, "q", 3);
    assert_eq!(
        calm.load(Ordering::SeqCst),
        4,
        "dropping the handle cancels"
    );
}
