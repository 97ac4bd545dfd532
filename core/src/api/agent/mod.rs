//! The sync agent: keeps a store in sync with its peers by itself, on a thread of its own, so
//! that an app never writes retry logic. The app says when the network comes and goes
//! ([`SyncAgent::network_available`]) and may ask for a sync at any time
//! ([`SyncAgent::sync_now`]); local changes to the store schedule a sync too (a short while
//! later, so that a burst of answers travels together). Failures back off (doubling, see
//! [`ScheduleOptions`]), a peer is never synced twice at once, and every outcome is told to
//! the store's sync observers ([`Store::observe_sync`], [`SyncEvent`]).
//!
//! The agent starts offline. It syncs with one peer at a time, in turn. A revoked answer (the
//! hub's HTTP 410 with `"wipe": true`, or a host transport's [`TransportError::revoked`])
//! wipes the store's local copy ([`Store::wipe_local_copy`]) and stops all syncing: the app
//! enrols again and starts a new agent.
//!
//! [`Store::observe_sync`]: crate::Store::observe_sync
//! [`SyncEvent`]: crate::SyncEvent

mod clock;
mod plan;
mod status;
mod wipe;
mod worker;

pub use clock::{Clock, ManualClock, SystemClock, Waker};
pub use minga_sync::schedule::ScheduleOptions;
pub use status::{AgentStatus, PeerStatus};

use crate::error::{Error, Result};
use crate::storage::observer::{ChangedDocument, ObserverHandle};
use crate::store::Store;
use minga_sync::{PeerId, SyncOptions, Transport, TransportError};
use std::sync::Arc;
use std::thread::JoinHandle;
use worker::Shared;

/// Makes the transport for one sync session with a peer: how a host app plugs its own HTTP
/// stack, Bluetooth or Wi-Fi Direct in. Called on the agent's thread before each session; the
/// transport is dropped when the session ends.
pub trait TransportFactory: Send + Sync {
    fn connect(&self) -> std::result::Result<Box<dyn Transport>, TransportError>;
}

/// How to reach a peer.
#[derive(Clone)]
pub enum PeerConnection {
    /// A responder behind an HTTP(S) URL, such as the hub's `…/v1/sync/<project>`, with the
    /// device's bearer token. Proxies come from `HTTPS_PROXY`/`ALL_PROXY`.
    Http { url: String, token: Option<String> },
    /// A transport the host app brings.
    Custom(Arc<dyn TransportFactory>),
}

/// One peer to keep in sync with.
#[derive(Clone)]
pub struct PeerConfig {
    /// The peer's id, as its responder calls itself (the hub's `hub_id`).
    pub id: PeerId,
    pub connection: PeerConnection,
}

/// What the agent syncs, with whom, and how eagerly.
#[derive(Clone)]
pub struct AgentConfig {
    /// This store's id as its peers know it (the device id the hub enrolled).
    pub local: PeerId,
    pub peers: Vec<PeerConfig>,
    pub schedule: ScheduleOptions,
    pub sync: SyncOptions,
}

impl AgentConfig {
    /// The default schedule and session limits.
    pub fn new(local: PeerId, peers: Vec<PeerConfig>) -> Self {
        Self {
            local,
            peers,
            schedule: ScheduleOptions::default(),
            sync: SyncOptions::default(),
        }
    }
}

/// A store's sync with its peers, running by itself on a background thread. Dropping it (or
/// [`SyncAgent::stop`]) stops the thread and waits for it: a sync in flight stops at its next
/// page boundary (everything committed so far stays).
pub struct SyncAgent {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    _local_changes: ObserverHandle,
}

impl SyncAgent {
    /// Starts the agent on `store`, offline, planning by the system clock.
    pub fn start(store: Arc<Store>, config: AgentConfig) -> Result<SyncAgent> {
        Self::start_with_clock(store, config, Arc::new(SystemClock))
    }

    /// Starts the agent planning by `clock` (a [`ManualClock`] in tests). Fails if two peers
    /// share an id, or the thread cannot start.
    pub fn start_with_clock(
        store: Arc<Store>,
        config: AgentConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<SyncAgent> {
        reject_duplicate_peers(&config.peers)?;
        let shared = Shared::new(&config, clock);
        let local_changes = store.observe(local_change_listener(&shared));
        let thread = worker::spawn(shared.clone(), store, config).map_err(Error::AgentThread)?;
        Ok(SyncAgent {
            shared,
            thread: Some(thread),
            _local_changes: local_changes,
        })
    }

    /// The network came (`true`) or went. Coming back syncs with every peer at once, whatever
    /// their backoff; while it is gone nothing is attempted.
    pub fn network_available(&self, available: bool) {
        self.shared
            .plan(|plan, now| plan.set_online(available, now));
    }

    /// Syncs with every peer as soon as possible (when online; a sync already running with a
    /// peer is followed by another one).
    pub fn sync_now(&self) {
        self.shared.plan(|plan, now| plan.request_sync(now));
    }

    /// What the agent is doing, for an app to show: the network as last told, and per peer
    /// whether a sync runs, when the last one started and the last good one ended, the last
    /// error and failures in a row, when the next is due, and whether local changes wait for
    /// it. Cheap enough for a UI thread: it copies a small record under a lock that a running
    /// sync never holds.
    pub fn status(&self) -> AgentStatus {
        self.shared.status()
    }

    /// Asks the agent to stop without waiting for it: a sync in flight ends at its next page
    /// boundary and no other starts. Dropping the agent then waits for its thread.
    pub fn request_stop(&self) {
        self.shared.stop();
    }

    /// Stops the agent and waits for its thread; the same as dropping it.
    pub fn stop(self) {}
}

impl Drop for SyncAgent {
    fn drop(&mut self) {
        self.shared.stop();
        let Some(thread) = self.thread.take() else {
            return;
        };
        // Dropped from one of its own sync callbacks: the thread ends by itself once the
        // callback returns, and cannot wait for itself.
        if thread.thread().id() != std::thread::current().id() {
            let _ = thread.join();
        }
    }
}

/// Tells the agent about changes made through the store (not those its syncs bring in).
fn local_change_listener(shared: &Arc<Shared>) -> Box<crate::storage::observer::ChangeCallback> {
    let shared = Arc::downgrade(shared);
    Box::new(move |changed: &[ChangedDocument]| {
        if changed.iter().any(|doc| !doc.by_sync) {
            if let Some(shared) = shared.upgrade() {
                shared.plan(|plan, now| plan.local_change(now));
            }
        }
    })
}

fn reject_duplicate_peers(peers: &[PeerConfig]) -> Result<()> {
    let mut ids: Vec<&PeerId> = peers.iter().map(|peer| &peer.id).collect();
    ids.sort();
    match ids.windows(2).find(|pair| pair[0] == pair[1]) {
        Some(pair) => Err(Error::InvalidArgument(format!(
            "peer {} is configured twice",
            pair[0]
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_agent_can_be_shared_between_threads_as_bindings_need() {
        fn shared_between_threads<T: Send + Sync>() {}
        shared_between_threads::<SyncAgent>();
        shared_between_threads::<AgentConfig>();
    }

    #[test]
    fn duplicate_peer_ids_name_the_peer() {
        let factory: Arc<dyn TransportFactory> = Arc::new(Unreachable);
        let peer = |name: &str| PeerConfig {
            id: PeerId::new(name).unwrap(),
            connection: PeerConnection::Custom(factory.clone()),
        };
        assert!(reject_duplicate_peers(&[peer("hub"), peer("tablet")]).is_ok());
        let error = reject_duplicate_peers(&[peer("hub"), peer("tablet"), peer("hub")]);
        assert!(
            matches!(&error, Err(Error::InvalidArgument(message)) if message.contains("hub")),
            "{error:?}"
        );
    }

    struct Unreachable;

    impl TransportFactory for Unreachable {
        fn connect(&self) -> std::result::Result<Box<dyn Transport>, TransportError> {
            Err(TransportError::retryable("unreachable"))
        }
    }
}
