//! The sync agent on real encrypted stores, with in-memory links to peer stores and a clock the
//! test moves: nothing offline, every peer once online, local changes followed by a sync,
//! backoff then success, never two syncs with one peer at once, a revoke wiping the phone, and
//! a stop in the middle of a sync that the next agent finishes, a sync whose own work the peer
//! refused ending as refused; the agent's status before, during and after syncs.

mod common;

use common::*;
use minga_core::agent::{
    AgentConfig, Clock, ManualClock, PeerConfig, PeerConnection, TransportFactory,
};
use minga_core::automerge::Automerge;
use minga_core::minga_sync::wire::Refusal;
use minga_core::minga_sync::{
    AllowAll, DocId as SyncDocId, DocKind, DocumentStore, PeerId, Policy, Responder, SyncOptions,
    SyncReport, Transport, TransportError,
};
use minga_core::{DocId, Store, SyncAgent, SyncEvent, SyncFailure};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn peer(name: &str) -> PeerId {
    PeerId::new(name).unwrap()
}

/// What a link saw: sessions opened, sessions alive at once, and the faults it was told to show.
#[derive(Default)]
struct LinkStats {
    connects: AtomicUsize,
    alive: AtomicUsize,
    most_alive: AtomicUsize,
    fail_sessions: AtomicUsize,
    revoke: AtomicBool,
    /// When set, the peer takes none of the phone's changes (as a hub refuses a facilitator's
    /// edit of a colleague's submission).
    refuse_writes: AtomicBool,
    /// When set, the session's second exchange says so and waits for the receiver's go-ahead.
    gate: Mutex<Option<(Sender<()>, Receiver<()>)>>,
}

/// An in-memory connection to a peer store, one responder per session, as a hub would hold.
struct Link {
    remote: Arc<Store>,
    remote_id: PeerId,
    stats: Arc<LinkStats>,
}

impl TransportFactory for Link {
    fn connect(&self) -> Result<Box<dyn Transport>, TransportError> {
        let stats = &self.stats;
        stats.connects.fetch_add(1, Ordering::SeqCst);
        let failing = stats
            .fail_sessions
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if failing {
            return Err(TransportError::retryable("no route to the peer"));
        }
        let alive = stats.alive.fetch_add(1, Ordering::SeqCst) + 1;
        stats.most_alive.fetch_max(alive, Ordering::SeqCst);
        let policy: Arc<dyn Policy> = if stats.refuse_writes.load(Ordering::SeqCst) {
            Arc::new(ReadOnly)
        } else {
            Arc::new(AllowAll)
        };
        Ok(Box::new(Session {
            remote: self.remote.clone(),
            responder: Mutex::new(Responder::new(
                self.remote_id.clone(),
                SyncOptions::default(),
                policy,
            )),
            stats: self.stats.clone(),
            exchanges: AtomicUsize::new(0),
        }))
    }
}

/// A peer's policy that lets the phone read everything and write nothing.
struct ReadOnly;

impl Policy for ReadOnly {
    fn may_read(&self, _: &PeerId, _: &SyncDocId, _: DocKind) -> bool {
        true
    }

    fn may_write(&self, _: &PeerId, _: &SyncDocId, _: DocKind, _: &Automerge) -> bool {
        false
    }
}

struct Session {
    remote: Arc<Store>,
    responder: Mutex<Responder>,
    stats: Arc<LinkStats>,
    exchanges: AtomicUsize,
}

impl Transport for Session {
    fn exchange(&self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
        if self.stats.revoke.load(Ordering::SeqCst) {
            return Err(TransportError::revoked("HTTP 410: wipe"));
        }
        if self.exchanges.fetch_add(1, Ordering::SeqCst) == 1 {
            if let Some((entered, go)) = &*self.stats.gate.lock().unwrap() {
                entered.send(()).unwrap();
                go.recv().unwrap();
            }
        }
        let mut responder = self.responder.lock().unwrap();
        Ok(responder.respond_or_abort(self.remote.as_ref(), request))
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.stats.alive.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A phone, its peers' stores, and the events of its agent with the clock's time of each.
struct World {
    _dir: tempfile::TempDir,
    clock: Arc<ManualClock>,
    phone: Arc<Store>,
    peers: Vec<(PeerId, Arc<Store>, Arc<LinkStats>)>,
    events: Receiver<(Instant, SyncEvent)>,
    _observer: minga_core::ObserverHandle,
}

fn world(peer_names: &[&str]) -> World {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new();
    let phone = Arc::new(open(&dir.path().join("phone.db"), 1, ana()));
    let peers = peer_names
        .iter()
        .enumerate()
        .map(|(n, name)| {
            let path = dir.path().join(format!("{name}.db"));
            let store = Arc::new(open(&path, 2 + n as u8, luis()));
            (peer(name), store, Arc::new(LinkStats::default()))
        })
        .collect();
    let (sender, events) = channel();
    let sender = Mutex::new(sender);
    let time = clock.clone();
    let observer = phone.observe_sync(Box::new(move |event: &SyncEvent| {
        let _ = sender.lock().unwrap().send((time.now(), event.clone()));
    }));
    World {
        _dir: dir,
        clock,
        phone,
        peers,
        events,
        _observer: observer,
    }
}

impl World {
    fn config(&self, sync: SyncOptions) -> AgentConfig {
        let peers = self
            .peers
            .iter()
            .map(|(id, store, stats)| PeerConfig {
                id: id.clone(),
                connection: PeerConnection::Custom(Arc::new(Link {
                    remote: store.clone(),
                    remote_id: id.clone(),
                    stats: stats.clone(),
                })),
            })
            .collect();
        let mut config = AgentConfig::new(peer("phone-ana"), peers);
        config.sync = sync;
        config
    }

    fn agent(&self) -> SyncAgent {
        self.agent_with(SyncOptions::default())
    }

    fn agent_with(&self, sync: SyncOptions) -> SyncAgent {
        SyncAgent::start_with_clock(self.phone.clone(), self.config(sync), self.clock.clone())
            .unwrap()
    }

    /// The next event that is not progress, with the clock's time when it was told. The wait
    /// is a safety net against a hang, not a timing assertion.
    fn next(&self) -> (Instant, SyncEvent) {
        loop {
            let event = self
                .events
                .recv_timeout(Duration::from_secs(60))
                .expect("the agent reports within a minute");
            if !matches!(event.1, SyncEvent::Progress { .. }) {
                return event;
            }
        }
    }

    /// Expects a sync to start and finish; returns the clock's time at its start and its report.
    fn expect_sync(&self) -> (Instant, SyncReport) {
        let (at, started) = self.next();
        assert!(matches!(started, SyncEvent::Started { .. }), "{started:?}");
        match self.next().1 {
            SyncEvent::Finished { report, .. } => (at, report),
            other => panic!("unexpected {other:?}"),
        }
    }

    fn connects(&self, index: usize) -> usize {
        self.peers[index].2.connects.load(Ordering::SeqCst)
    }
}

/// Small pages, so that a session takes several round trips.
fn small_pages() -> SyncOptions {
    SyncOptions {
        page_docs: 3,
        max_in_flight: 3,
        ..SyncOptions::default()
    }
}

/// A phone with 12 submissions and an agent whose first sync with its hub (in small pages)
/// is held at its second exchange: a send on the returned sender lets it go on.
fn held_mid_sync() -> (World, SyncAgent, Sender<()>) {
    let world = world(&["hub"]);
    add_submissions(&world.phone, 12);
    let (entered_sender, entered) = channel();
    let (go, go_receiver) = channel();
    *world.peers[0].2.gate.lock().unwrap() = Some((entered_sender, go_receiver));
    let agent = world.agent_with(small_pages());
    agent.network_available(true);
    entered.recv_timeout(Duration::from_secs(60)).unwrap();
    (world, agent, go)
}

fn submissions(store: &Store) -> Vec<DocId> {
    let page = store
        .list_submissions(&Default::default(), None, 1_000)
        .unwrap();
    let mut ids: Vec<DocId> = page.items.iter().map(|row| row.id).collect();
    ids.sort();
    ids
}

fn add_submissions(store: &Store, count: usize) {
    for _ in 0..count {
        store.create_submission(&dialogue()).unwrap();
    }
}

#[test]
fn nothing_is_attempted_offline_and_every_peer_syncs_once_the_network_is_up() {
    let world = world(&["hub", "tablet"]);
    add_submissions(&world.phone, 3);
    let agent = world.agent();
    agent.sync_now();
    add_submissions(&world.phone, 1);
    agent.network_available(false);
    assert!(world.events.try_recv().is_err(), "no sync offline");

    agent.network_available(true);
    let mut finished = Vec::new();
    while finished.len() < 2 {
        match world.next().1 {
            SyncEvent::Started { .. } => {}
            SyncEvent::Finished { peer, report } => finished.push((peer, report.sent)),
            other => panic!("unexpected {other:?}"),
        }
    }
    finished.sort();
    assert_eq!(finished, vec![(peer("hub"), 4), (peer("tablet"), 4)]);
    for (_, store, _) in &world.peers {
        assert_eq!(submissions(store), submissions(&world.phone));
    }
    drop(agent);
    assert_eq!(
        (world.connects(0), world.connects(1)),
        (1, 1),
        "one sync each: the requests made offline added none"
    );
}

#[test]
fn a_sync_whose_own_work_the_peer_refused_ends_as_refused_naming_the_document_and_its_changes() {
    let world = world(&["hub"]);
    world.peers[0].2.refuse_writes.store(true, Ordering::SeqCst);
    add_submissions(&world.phone, 1);
    let id = submissions(&world.phone)[0];
    let agent = world.agent();
    agent.network_available(true);
    assert!(matches!(world.next().1, SyncEvent::Started { .. }));
    match world.next().1 {
        SyncEvent::Refused { report, .. } => {
            let refused = &report.refused_by_peer;
            assert_eq!(refused.len(), 1, "{refused:?}");
            assert_eq!(refused[0].doc.as_str(), id.to_string());
            assert_eq!(
                refused[0].heads,
                world.phone.doc_heads(&id.into()).unwrap().unwrap().1
            );
            assert_eq!(refused[0].reason, Refusal::NotWritable);
        }
        other => panic!("not ended as refused: {other:?}"),
    }
    assert!(
        submissions(&world.peers[0].1).is_empty(),
        "nothing reached it"
    );
}

#[test]
fn a_local_change_is_followed_by_a_sync_after_the_debounce() {
    let world = world(&["hub"]);
    let agent = world.agent();
    agent.network_available(true);
    world.expect_sync();

    let changed_at = world.clock.now();
    add_submissions(&world.phone, 2);
    let after_change = AgentConfig::new(peer("x"), vec![]).schedule.after_change;
    world.clock.advance(after_change);
    let (started_at, report) = world.expect_sync();
    assert_eq!(
        started_at,
        changed_at + after_change,
        "not before the debounce"
    );
    assert_eq!(report.sent, 2);
    assert_eq!(submissions(&world.peers[0].1), submissions(&world.phone));
}

#[test]
fn failures_back_off_doubling_then_the_sync_succeeds() {
    let world = world(&["hub"]);
    add_submissions(&world.phone, 2);
    world.peers[0].2.fail_sessions.store(2, Ordering::SeqCst);
    let agent = world.agent();
    let start = world.clock.now();
    agent.network_available(true);

    let mut starts = Vec::new();
    for expected_wait in [5, 10] {
        let (at, started) = world.next();
        assert!(matches!(started, SyncEvent::Started { .. }));
        starts.push(at - start);
        match world.next().1 {
            SyncEvent::Failed {
                error: SyncFailure::Network { retryable, .. },
                retry_in,
                ..
            } => {
                assert!(retryable);
                assert_eq!(retry_in, Some(Duration::from_secs(expected_wait)));
            }
            other => panic!("unexpected {other:?}"),
        }
        world.clock.advance(Duration::from_secs(expected_wait));
    }
    starts.push(world.expect_sync().0 - start);
    let secs = |s: u64| Duration::from_secs(s);
    assert_eq!(
        starts,
        vec![secs(0), secs(5), secs(15)],
        "no retry came early"
    );
    assert_eq!(submissions(&world.peers[0].1), submissions(&world.phone));
}

#[test]
fn the_network_coming_back_retries_at_once_whatever_the_backoff() {
    let world = world(&["hub"]);
    world.peers[0].2.fail_sessions.store(1, Ordering::SeqCst);
    let agent = world.agent();
    agent.network_available(true);
    let (failed_at, _) = world.next();
    assert!(matches!(world.next().1, SyncEvent::Failed { .. }));
    agent.network_available(false);
    agent.network_available(true);
    let (at, _) = world.expect_sync();
    assert_eq!(at, failed_at, "the clock did not move");
}

#[test]
fn requests_and_changes_during_syncs_never_make_two_syncs_with_one_peer_at_once() {
    let world = world(&["hub"]);
    let agent = world.agent();
    agent.network_available(true);
    for _ in 0..20 {
        add_submissions(&world.phone, 1);
        agent.sync_now();
    }
    // Every request asked for a sync after it; wait until one brought everything.
    while submissions(&world.peers[0].1).len() < 20 {
        match world.next().1 {
            SyncEvent::Started { .. } | SyncEvent::Finished { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    drop(agent);
    let stats = &world.peers[0].2;
    assert!(stats.connects.load(Ordering::SeqCst) >= 2);
    assert_eq!(stats.most_alive.load(Ordering::SeqCst), 1);
    assert_eq!(submissions(&world.peers[0].1), submissions(&world.phone));
}

#[test]
fn a_revoked_answer_wipes_the_phone_reports_it_and_ends_syncing() {
    let world = world(&["hub"]);
    add_submissions(&world.phone, 3);
    world.peers[0].2.revoke.store(true, Ordering::SeqCst);
    let agent = world.agent();
    agent.network_available(true);
    assert!(matches!(world.next().1, SyncEvent::Started { .. }));
    assert_eq!(
        world.next().1,
        SyncEvent::Revoked {
            peer: peer("hub"),
            wipe_error: None
        }
    );
    assert!(
        submissions(&world.phone).is_empty(),
        "the local copy is gone"
    );
    let status = agent.status();
    assert!(status.revoked);
    assert_eq!(
        status.peers[0].next_attempt, None,
        "nothing is planned any more"
    );
    assert!(submissions(&world.peers[0].1).is_empty());
    agent.sync_now();
    add_submissions(&world.phone, 1);
    drop(agent);
    assert_eq!(world.connects(0), 1, "no sync after the revoke");
    assert!(world.events.try_recv().is_err());
}

#[test]
fn a_stop_ends_a_sync_at_a_page_boundary_and_the_next_agent_finishes_it() {
    let (world, agent, go) = held_mid_sync();
    agent.request_stop();
    go.send(()).unwrap();
    assert!(matches!(world.next().1, SyncEvent::Started { .. }));
    assert_eq!(
        world.next().1,
        SyncEvent::Failed {
            peer: peer("hub"),
            error: SyncFailure::Stopped,
            failures: 1,
            retry_in: None
        }
    );
    drop(agent);
    let landed = submissions(&world.peers[0].1).len();
    assert!((1..12).contains(&landed), "{landed} landed before the stop");

    world.peers[0].2.gate.lock().unwrap().take();
    let agent = world.agent_with(small_pages());
    agent.network_available(true);
    assert_eq!(world.expect_sync().1.sent, 12 - landed);
    assert_eq!(submissions(&world.peers[0].1), submissions(&world.phone));
}

#[test]
fn progress_is_reported_between_start_and_finish() {
    let world = world(&["hub"]);
    add_submissions(&world.phone, 5);
    let agent = world.agent();
    agent.network_available(true);
    let mut kinds = Vec::new();
    loop {
        let (_, event) = world.events.recv_timeout(Duration::from_secs(60)).unwrap();
        let done = matches!(event, SyncEvent::Finished { .. });
        kinds.push(event);
        if done {
            break;
        }
    }
    assert!(matches!(kinds[0], SyncEvent::Started { .. }));
    let SyncEvent::Progress { progress, .. } = &kinds[kinds.len() - 2] else {
        panic!("{kinds:?}");
    };
    assert_eq!(progress.docs_done, 5);
    assert_eq!(progress.docs_in_flight, 0);
    drop(agent);
}

#[test]
fn the_status_before_any_sync_and_offline_shows_nothing_planned_but_changes_waiting() {
    let world = world(&["tablet", "hub"]);
    let agent = world.agent();
    let status = agent.status();
    assert_eq!(status.at, world.clock.now());
    assert!(!status.network_available && !status.revoked);
    let names: Vec<&str> = status.peers.iter().map(|p| p.peer.as_str()).collect();
    assert_eq!(names, ["hub", "tablet"]);
    for peer in &status.peers {
        assert!(!peer.syncing && !peer.changes_waiting);
        assert_eq!((peer.last_attempt, peer.last_success), (None, None));
        assert_eq!((&peer.last_error, peer.failures), (&None, 0));
        assert_eq!(peer.next_attempt, None, "offline: nothing is due");
    }

    add_submissions(&world.phone, 1);
    agent.sync_now();
    let offline = agent.status();
    assert!(offline.peers.iter().all(|peer| peer.changes_waiting));
    assert!(offline.peers.iter().all(|peer| peer.next_attempt.is_none()));
    agent.network_available(true);
    let online = agent.status();
    assert!(online.network_available);
    drop(agent);
}

#[test]
fn the_status_after_a_failure_shows_the_error_and_the_backoff_then_the_success() {
    let world = world(&["hub"]);
    world.peers[0].2.fail_sessions.store(1, Ordering::SeqCst);
    let agent = world.agent();
    let hub = peer("hub");
    let start = world.clock.now();
    agent.network_available(true);
    assert!(matches!(world.next().1, SyncEvent::Started { .. }));
    assert!(matches!(world.next().1, SyncEvent::Failed { .. }));

    world.clock.advance(Duration::from_secs(2));
    let failed = agent.status();
    let status = failed.peer(&hub).unwrap();
    assert!(!status.syncing);
    assert_eq!(status.last_attempt, Some(start));
    assert_eq!(status.last_success, None);
    assert!(
        matches!(&status.last_error, Some(SyncFailure::Network { message, retryable: true })
            if message.contains("no route")),
        "{:?}",
        status.last_error
    );
    assert_eq!(status.failures, 1);
    let retry = status.next_attempt.unwrap();
    assert_eq!(
        failed.until(retry),
        Duration::from_secs(3),
        "retrying in 3 s"
    );
    assert_eq!(
        failed.since(status.last_attempt.unwrap()),
        Duration::from_secs(2)
    );

    world.clock.advance(Duration::from_secs(3));
    world.expect_sync();
    world.clock.advance(Duration::from_secs(300));
    let synced = agent.status();
    let status = synced.peer(&hub).unwrap();
    assert_eq!(status.last_success, Some(start + Duration::from_secs(5)));
    assert_eq!(status.last_attempt, status.last_success);
    assert_eq!(
        synced.since(status.last_success.unwrap()),
        Duration::from_secs(300)
    );
    assert_eq!((&status.last_error, status.failures), (&None, 0));
    let periodic = AgentConfig::new(peer("x"), vec![]).schedule.periodic;
    assert_eq!(
        synced.until(status.next_attempt.unwrap()),
        periodic - Duration::from_secs(300)
    );
    drop(agent);
}

#[test]
fn the_status_during_a_sync_shows_it_running_and_a_change_made_meanwhile_waiting() {
    let (world, agent, go) = held_mid_sync();

    let running = agent.status();
    let status = &running.peers[0];
    assert!(status.syncing && !status.changes_waiting);
    assert_eq!(
        status.next_attempt, None,
        "nothing else is planned while it runs"
    );
    assert_eq!(status.last_attempt, Some(world.clock.now()));
    add_submissions(&world.phone, 1);
    assert!(
        agent.status().peers[0].changes_waiting,
        "the running sync may miss it"
    );

    go.send(()).unwrap();
    world.expect_sync();
    let after = agent.status();
    let status = &after.peers[0];
    assert!(!status.syncing && status.changes_waiting);
    let after_change = AgentConfig::new(peer("x"), vec![]).schedule.after_change;
    assert_eq!(after.until(status.next_attempt.unwrap()), after_change);
    drop(agent);
}
