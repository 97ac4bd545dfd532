//! The agent's thread: waits until the schedule says a peer is due, syncs with it, records the
//! outcome in the schedule and tells the store's sync observers.

use super::clock::Clock;
use super::plan::Plan;
use super::status::AgentStatus;
use super::{AgentConfig, PeerConnection};
use crate::storage::observer::{SyncEvent, SyncFailure};
use crate::store::Store;
use minga_sync::http::{HttpOptions, HttpTransport};
use minga_sync::{
    run_session, AllowAll, Initiator, PeerId, SyncError, SyncOptions, SyncReport, Transport,
    TransportError,
};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Instant;

/// What the app's calls and the agent's thread share: the plan, under a lock, and the
/// condition the thread waits on.
pub(super) struct Shared {
    plan: Mutex<Plan>,
    wake: Condvar,
    stopping: AtomicBool,
    clock: Arc<dyn Clock>,
}

impl Shared {
    pub(super) fn new(config: &AgentConfig, clock: Arc<dyn Clock>) -> Arc<Shared> {
        let peers = config.peers.iter().map(|peer| &peer.id);
        let plan = Plan::new(config.schedule, peers, clock.now());
        let shared = Arc::new(Shared {
            plan: Mutex::new(plan),
            wake: Condvar::new(),
            stopping: AtomicBool::new(false),
            clock: clock.clone(),
        });
        let weak = Arc::downgrade(&shared);
        clock.on_advance(Box::new(move || {
            if let Some(shared) = weak.upgrade() {
                shared.plan(|_, _| ());
            }
        }));
        shared
    }

    /// Changes the plan (given the time) and wakes the thread to look at it again.
    pub(super) fn plan<T>(&self, change: impl FnOnce(&mut Plan, Instant) -> T) -> T {
        let mut plan = self.lock();
        let result = change(&mut plan, self.clock.now());
        self.wake.notify_all();
        result
    }

    /// A snapshot of the plan; holds the lock only to copy it (a sync never holds it).
    pub(super) fn status(&self) -> AgentStatus {
        let plan = self.lock();
        plan.status(self.clock.now())
    }

    pub(super) fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        // Taken so that the thread is either before its check of `stopping` or waiting.
        let _plan = self.lock();
        self.wake.notify_all();
    }

    fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Waits until a peer is due and marks it running; `None` once the agent is stopping.
    fn next_peer(&self) -> Option<PeerId> {
        let mut plan = self.lock();
        loop {
            if self.is_stopping() {
                return None;
            }
            let now = self.clock.now();
            if let Some(peer) = plan.start_next(now) {
                return Some(peer);
            }
            // Woken early by a change of plan or a clock that jumped; a poisoned lock is safe
            // (see `lock`).
            plan = match plan.next_wakeup() {
                Some(due) => {
                    let wait = due.saturating_duration_since(now);
                    match self.wake.wait_timeout(plan, wait) {
                        Ok((guard, _)) => guard,
                        Err(poisoned) => poisoned.into_inner().0,
                    }
                }
                None => self
                    .wake
                    .wait(plan)
                    .unwrap_or_else(|poisoned| poisoned.into_inner()),
            };
        }
    }

    /// The plan is changed only by its own short calls, so a poisoned lock is safe.
    fn lock(&self) -> MutexGuard<'_, Plan> {
        self.plan
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

pub(super) fn spawn(
    shared: Arc<Shared>,
    store: Arc<Store>,
    config: AgentConfig,
) -> std::io::Result<JoinHandle<()>> {
    let worker = Worker {
        shared,
        store,
        local: config.local,
        peers: config
            .peers
            .into_iter()
            .map(|peer| (peer.id, peer.connection))
            .collect(),
        options: config.sync,
    };
    std::thread::Builder::new()
        .name("minga-sync-agent".into())
        .spawn(move || worker.run())
}

struct Worker {
    shared: Arc<Shared>,
    store: Arc<Store>,
    local: PeerId,
    peers: BTreeMap<PeerId, PeerConnection>,
    options: SyncOptions,
}

impl Worker {
    fn run(self) {
        while let Some(peer) = self.shared.next_peer() {
            self.store
                .notify_sync(&SyncEvent::Started { peer: peer.clone() });
            let result = self.sync_with(&peer);
            let event = self.settle(peer, result);
            self.store.notify_sync(&event);
        }
    }

    /// One whole session with `peer`, telling the observers its progress.
    fn sync_with(&self, peer: &PeerId) -> Result<SyncReport, SyncError> {
        let transport = self.connect(peer)?;
        let transport = StopAware {
            inner: transport.as_ref(),
            stopping: &self.shared.stopping,
        };
        let mut initiator = Initiator::new(
            self.local.clone(),
            peer.clone(),
            self.options,
            Arc::new(AllowAll),
        );
        run_session(
            self.store.as_ref(),
            &transport,
            &mut initiator,
            &self.options,
            &mut |progress| {
                let peer = peer.clone();
                self.store
                    .notify_sync(&SyncEvent::Progress { peer, progress });
            },
        )
    }

    fn connect(&self, peer: &PeerId) -> Result<Box<dyn Transport>, TransportError> {
        match self.peers.get(peer) {
            Some(PeerConnection::Http { url, token }) => {
                // No sleeping retries inside the transport: the schedule backs off instead,
                // and a stop is never kept waiting behind them.
                let options = HttpOptions {
                    token: token.clone(),
                    retries: 0,
                    ..HttpOptions::default()
                };
                Ok(Box::new(HttpTransport::new(url.clone(), options)?))
            }
            Some(PeerConnection::Custom(factory)) => factory.connect(),
            None => Err(TransportError::fatal(format!("no connection for {peer}"))),
        }
    }

    /// Records the outcome of a sync with `peer` in the schedule and says what to report.
    fn settle(&self, peer: PeerId, result: Result<SyncReport, SyncError>) -> SyncEvent {
        match result {
            Ok(report) => {
                self.shared.plan(|plan, now| plan.succeeded(&peer, now));
                if report.refused_by_peer.is_empty() {
                    SyncEvent::Finished { peer, report }
                } else {
                    SyncEvent::Refused { peer, report }
                }
            }
            Err(SyncError::Transport(error)) if error.revoked => {
                self.shared.plan(|plan, _| plan.revoke());
                let wipe_error = self.store.wipe_local_copy().err();
                SyncEvent::Revoked {
                    peer,
                    wipe_error: wipe_error.map(|error| error.to_string()),
                }
            }
            Err(error) => self.failed(peer, &error),
        }
    }

    fn failed(&self, peer: PeerId, error: &SyncError) -> SyncEvent {
        let stopped = self.shared.is_stopping();
        let error = if stopped {
            SyncFailure::Stopped
        } else {
            error.into()
        };
        let (failures, retry_in) = self
            .shared
            .plan(|plan, now| plan.failed(&peer, &error, now));
        SyncEvent::Failed {
            peer,
            error,
            failures,
            retry_in: retry_in.filter(|_| !stopped),
        }
    }
}

/// Passes exchanges through until the agent is stopping: the session then ends before its next
/// round trip, after the last page it received was committed.
struct StopAware<'a> {
    inner: &'a dyn Transport,
    stopping: &'a AtomicBool,
}

impl Transport for StopAware<'_> {
    fn exchange(&self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
        if self.stopping.load(Ordering::SeqCst) {
            return Err(TransportError::fatal("the sync agent is stopping"));
        }
        self.inner.exchange(request)
    }
}
