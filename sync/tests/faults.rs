//! A transport that drops, truncates, corrupts, delays and duplicates messages (seeded): stores
//! never lose or corrupt anything, and converge once the faults stop.

mod common;

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::sync::Arc;

use automerge::ChangeHash;
use common::*;
use minga_sync::{
    run_session, AllowAll, DocId, Initiator, MemoryStore, MemoryTransport, SyncOptions, Transport,
    TransportError,
};

/// SplitMix64: a small seeded generator, so a failing seed replays exactly.
struct Rng(Cell<u64>);

impl Rng {
    fn next(&self) -> u64 {
        let mut z = self.0.get().wrapping_add(0x9e37_79b9_7f4a_7c15);
        self.0.set(z);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Wraps a transport and, with probability `rate` percent per exchange, injects one fault.
struct Faulty<'a, T> {
    inner: &'a T,
    rng: Rng,
    rate: Cell<u64>,
    late_reply: RefCell<Option<Vec<u8>>>,
}

impl<T: Transport> Transport for Faulty<'_, T> {
    fn exchange(&self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
        if self.rng.below(100) >= self.rate.get() {
            return self.inner.exchange(request);
        }
        let lost = || Err(TransportError::retryable("connection lost"));
        match self.rng.below(7) {
            0 => lost(), // the request never arrives
            1 => {
                self.inner.exchange(request)?; // the reply never comes back
                lost()
            }
            2 => {
                let cut = self.rng.below(request.len() as u64) as usize;
                self.inner.exchange(&request[..cut]) // a truncated request
            }
            3 => {
                let reply = self.inner.exchange(request)?;
                let cut = self.rng.below(reply.len() as u64) as usize;
                Ok(reply[..cut].to_vec()) // a truncated reply
            }
            4 => {
                let mut reply = self.inner.exchange(request)?;
                let at = self.rng.below(reply.len() as u64) as usize;
                reply[at] ^= 1 << self.rng.below(8); // a flipped bit
                Ok(reply)
            }
            5 => {
                self.inner.exchange(request)?; // delivered twice
                self.inner.exchange(request)
            }
            _ => {
                // delayed: this reply is held back and an older one arrives instead
                let reply = self.inner.exchange(request)?;
                match self.late_reply.replace(Some(reply)) {
                    Some(late) => Ok(late),
                    None => lost(),
                }
            }
        }
    }
}

fn all_changes(store: &MemoryStore) -> HashSet<(DocId, ChangeHash)> {
    store
        .ids()
        .into_iter()
        .flat_map(|id| {
            let doc = store.get(&id).unwrap();
            doc.get_changes(&[])
                .into_iter()
                .map(move |change| (id.clone(), change.hash()))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn faulty_sessions_then_convergence(seed: u64) {
    let phone = MemoryStore::new();
    let hub = MemoryStore::new();
    let ids: Vec<DocId> = (0..40).map(|_| DocId::random()).collect();
    for (index, id) in ids.iter().enumerate() {
        match index % 3 {
            0 => fill_submission(&phone, id, 8),
            1 => fill_submission(&hub, id, 8),
            _ => {
                fill_submission(&phone, id, 3);
                answer(&hub, id, "shared", index as i64);
            }
        }
    }
    let options = SyncOptions {
        page_docs: 4,
        page_bytes: 2_000,
        max_in_flight: 8,
        retries: 1,
        ..SyncOptions::default()
    };
    let responder = MemoryTransport::new(&hub, peer("hub"), options, Arc::new(AllowAll));
    let faulty = Faulty {
        inner: &responder,
        rng: Rng(Cell::new(seed)),
        rate: Cell::new(35),
        late_reply: RefCell::new(None),
    };
    let session = || {
        let mut initiator = Initiator::new(peer("phone"), peer("hub"), options, Arc::new(AllowAll));
        run_session(&phone, &faulty, &mut initiator, &options, &mut |_| {})
    };
    let mut failures = 0;
    for round in 0..30 {
        let before = (all_changes(&phone), all_changes(&hub));
        if session().is_err() {
            failures += 1;
        }
        for doc in phone.ids().into_iter().chain(hub.ids()) {
            for store in [&phone, &hub] {
                if let Some(doc) = store.get(&doc) {
                    assert!(
                        automerge::Automerge::load(&doc.save()).is_ok(),
                        "seed {seed}"
                    );
                }
            }
        }
        assert!(
            all_changes(&phone).is_superset(&before.0),
            "seed {seed} round {round}"
        );
        assert!(
            all_changes(&hub).is_superset(&before.1),
            "seed {seed} round {round}"
        );
        answer(&phone, &ids[round % ids.len()], "later", round as i64);
    }
    assert!(
        failures > 0,
        "seed {seed}: the faults must have hit some session"
    );
    faulty.rate.set(0);
    let report = session().unwrap_or_else(|error| panic!("seed {seed}: {error}"));
    assert_eq!(snapshot(&phone), snapshot(&hub), "seed {seed}: {report:?}");
    assert_eq!(phone.len(), 40);
}

#[test]
fn faults_never_corrupt_and_sync_converges_once_they_stop() {
    for seed in 1..=8 {
        faulty_sessions_then_convergence(seed);
    }
}

/// Carries the first `budget` exchanges, then the connection is gone.
struct Cut<'a, T> {
    inner: &'a T,
    budget: Cell<usize>,
}

impl<T: Transport> Transport for Cut<'_, T> {
    fn exchange(&self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
        if self.budget.get() == 0 {
            return Err(TransportError::fatal("no network"));
        }
        self.budget.set(self.budget.get() - 1);
        self.inner.exchange(request)
    }
}

#[test]
fn a_cut_sync_keeps_what_landed_and_the_next_one_sends_only_the_rest() {
    let phone = MemoryStore::new();
    let hub = MemoryStore::new();
    for _ in 0..200 {
        fill_submission(&phone, &DocId::random(), 4);
    }
    let options = SyncOptions {
        page_docs: 20,
        max_in_flight: 40,
        ..SyncOptions::default()
    };
    let responder = MemoryTransport::new(&hub, peer("hub"), options, Arc::new(AllowAll));
    let cut = Cut {
        inner: &responder,
        budget: Cell::new(4),
    };
    let mut initiator = Initiator::new(peer("phone"), peer("hub"), options, Arc::new(AllowAll));
    assert!(run_session(&phone, &cut, &mut initiator, &options, &mut |_| {}).is_err());
    let landed = hub.len();
    assert!(landed > 0 && landed < 200, "{landed}");
    let mut initiator = Initiator::new(peer("phone"), peer("hub"), options, Arc::new(AllowAll));
    let report = run_session(&phone, &responder, &mut initiator, &options, &mut |_| {}).unwrap();
    assert_eq!(report.sent, 200 - landed, "what landed is not sent again");
    assert_eq!(snapshot(&phone), snapshot(&hub));
}
