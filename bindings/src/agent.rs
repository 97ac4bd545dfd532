//! The sync agent from the app: keeps a store in sync with its hub (or a peer over the app's
//! own link) by itself, on a thread of its own (`minga_core::SyncAgent`). The app tells it
//! when the network comes and goes and may ask for a sync now; every outcome reaches the
//! store's sync observers as a [`SyncEvent`]; `status()` says what it is doing.

use crate::error::{MingaError, Result};
use crate::hub::{sync_url, HubCredentials};
use crate::observer::ObserverHandle;
use crate::running::{Agents, Stop};
use crate::store::Store;
use crate::sync::{peer_id, HostTransport, RefusedWork, SyncProgress, SyncReport, SyncTransport};
use minga_core as core;
use minga_core::SyncFailure;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Why a sync failed, as an app acts on it; `message` says what happened in words.
#[uniffi::remote(Enum)]
pub enum SyncFailure {
    /// The peer could not be reached or refused (`retryable`: a timeout, a dropped connection
    /// or a busy server, rather than a refusal such as an unknown token).
    Network { message: String, retryable: bool },
    /// The peer's bytes broke the protocol.
    Protocol { message: String },
    /// The peer ended the session with an error of its own.
    PeerAborted { message: String },
    /// This store could not read or write.
    Store { message: String },
    /// The agent was stopped during the sync.
    Stopped,
}

/// One step of a sync the agent ran with a peer (the hub's id). Every `Started` is followed by
/// one `Finished`, `Refused`, `Failed` or `Revoked` for the same peer.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum SyncEvent {
    Started {
        peer: String,
    },
    /// After every round trip.
    Progress {
        peer: String,
        progress: SyncProgress,
    },
    Finished {
        peer: String,
        report: SyncReport,
    },
    /// The sync ran to its end, but the peer refused some of this device's own work: `refused`
    /// names each document, its newest changes and why. Tell the user: that work did not
    /// reach the peer.
    Refused {
        peer: String,
        report: SyncReport,
        refused: Vec<RefusedWork>,
    },
    /// What arrived before the failure is kept; the agent tries again by itself after
    /// `retry_in` (sooner when the network comes back or the app asks), none once stopped.
    Failed {
        peer: String,
        error: SyncFailure,
        /// Failures in a row with this peer, this one included.
        failures: u32,
        retry_in: Option<Duration>,
    },
    /// The hub revoked this device: the store's local copy was wiped and the agent syncs no
    /// more. `wipe_error` says why the wipe failed, if it did.
    Revoked {
        peer: String,
        wipe_error: Option<String>,
    },
}

/// Implemented by the app to hear the agent's syncs; called on the agent's thread.
#[uniffi::export(with_foreign)]
pub trait SyncEventObserver: Send + Sync {
    fn on_sync_event(&self, event: SyncEvent);
}

/// How eagerly the agent syncs. The defaults suit a phone.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AgentSchedule {
    /// How long after a local change to sync (changes in the meantime join the same sync).
    #[uniffi(default = 2000)]
    pub after_change_ms: u64,
    /// The wait after a first failure, doubled after each further one up to `max_backoff_ms`.
    #[uniffi(default = 5000)]
    pub min_backoff_ms: u64,
    #[uniffi(default = 600000)]
    pub max_backoff_ms: u64,
    /// A sync at least this often while online.
    #[uniffi(default = 900000)]
    pub periodic_ms: u64,
}

/// What a sync agent is doing, for an app to show ("last synced 5 min ago", "retrying in
/// 40 s", "offline"). Times are durations from the moment the status was taken.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SyncAgentStatus {
    /// What the app last said of the network (an agent starts offline).
    pub network_available: bool,
    /// The hub revoked this device: the local copy was wiped and nothing is synced any more.
    pub revoked: bool,
    pub peers: Vec<PeerSyncStatus>,
}

/// The agent's sync with one peer (the hub).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PeerSyncStatus {
    /// The peer's id (the hub's `hub_id`).
    pub peer: String,
    /// A sync with this peer is running now.
    pub syncing: bool,
    /// How long ago the last sync started, whatever its outcome.
    pub last_attempt_ago: Option<Duration>,
    /// How long ago the last sync that succeeded ended.
    pub last_success_ago: Option<Duration>,
    /// Why the last sync failed; none if it succeeded (or none ended yet).
    pub last_error: Option<SyncFailure>,
    /// Failures in a row (0 after a success, and once the network comes back).
    pub failures: u32,
    /// How long until the next sync (after a failure: the retry). None while offline, while a
    /// sync with the peer runs, and once revoked.
    pub next_attempt_in: Option<Duration>,
    /// Local changes wait for the next sync (made since the last one started).
    pub changes_waiting: bool,
}

/// A store's sync with its hub, running by itself. Starts offline: call
/// `network_available(true)` when a connection appears. `stop()`, closing the store or
/// dropping the agent ends it and waits for its thread; a sync in flight stops at its next
/// page boundary.
#[derive(uniffi::Object)]
pub struct SyncAgent {
    running: Mutex<Option<core::SyncAgent>>,
}

impl SyncAgent {
    fn with<T>(&self, call: impl FnOnce(&core::SyncAgent) -> T) -> Option<T> {
        self.lock().as_ref().map(call)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<core::SyncAgent>> {
        self.running
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Closing the store or exiting the process stops an agent as `stop()` does.
impl Stop for SyncAgent {
    fn stop(&self) {
        SyncAgent::stop(self);
    }
}

/// Every agent of the process still running, for [`stop_sync_agents`].
static RUNNING: Agents = Agents::new();

/// Stops every sync agent of this process and waits for their threads, so that none calls
/// into the app while it exits (a Python interpreter finalising kills a thread that calls it,
/// which aborts the process). Python's `minga` package calls it at exit by itself; an app
/// that exits without closing its stores calls it from its own exit hook. Idempotent.
#[uniffi::export]
pub fn stop_sync_agents() {
    RUNNING.stop_all();
}

#[uniffi::export]
impl SyncAgent {
    /// The network came (`true`) or went. Coming back syncs at once, whatever the backoff.
    pub fn network_available(&self, available: bool) {
        self.with(|agent| agent.network_available(available));
    }

    /// Syncs as soon as possible (when online).
    pub fn sync_now(&self) {
        self.with(core::SyncAgent::sync_now);
    }

    /// Stops the agent and waits for its thread (a sync in flight ends at its next page
    /// boundary): call it off the main thread. Idempotent; closing the store does it too.
    pub fn stop(&self) {
        let running = self.lock().take();
        drop(running);
    }

    /// What the agent is doing: cheap, fit for the UI thread (it never waits for a running
    /// sync). None once `stop()` was called.
    pub fn status(&self) -> Option<SyncAgentStatus> {
        self.with(|agent| agent.status().into())
    }

    /// Whether the agent stopped: `stop()` was called, or its store was closed.
    pub fn is_stopped(&self) -> bool {
        self.lock().is_none()
    }
}

#[uniffi::export]
impl Store {
    /// Starts an agent that keeps this store in sync with the hub of `hub` by itself (after
    /// local changes, periodically, and at once when the network comes back, backing off after
    /// failures). A revoked device's store is wiped. Hear it with `observe_sync`.
    #[uniffi::method(default(schedule = None))]
    pub fn start_sync_agent(
        &self,
        hub: HubCredentials,
        schedule: Option<AgentSchedule>,
    ) -> Result<Arc<SyncAgent>> {
        let peer = core::PeerConfig {
            id: peer_id(&hub.hub_id)?,
            connection: core::PeerConnection::Http {
                url: sync_url(&hub)?,
                token: Some(hub.token.clone()),
            },
        };
        self.start_agent(peer_id(&hub.device_id)?, peer, schedule)
    }

    /// Starts an agent that keeps this store in sync with peer `peer` (its device id) over the
    /// app's own link, as `sync_with` does: `transport` carries each request to the peer's
    /// `responder()` and brings the reply back (throw `MingaError.Network` for what may pass
    /// later, `Revoked` to wipe this store). Runs as `start_sync_agent` does otherwise.
    #[uniffi::method(default(schedule = None))]
    pub fn start_peer_sync_agent(
        &self,
        peer: String,
        transport: Arc<dyn SyncTransport>,
        schedule: Option<AgentSchedule>,
    ) -> Result<Arc<SyncAgent>> {
        let link = core::PeerConfig {
            id: peer_id(&peer)?,
            connection: core::PeerConnection::Custom(Arc::new(HostLink(transport))),
        };
        let local = self.call(|store| peer_id(&store.identity().device_id))?;
        self.start_agent(local, link, schedule)
    }

    /// Calls `observer` with each event of the syncs an agent runs on this store. Keep the
    /// returned handle: dropping it (or `cancel()`) unregisters.
    pub fn observe_sync(
        &self,
        observer: Arc<dyn SyncEventObserver>,
    ) -> Result<Arc<ObserverHandle>> {
        self.call(|store| {
            let registered = store.observe_sync(Box::new(move |event| {
                // The core contains a panic here (a host exception): the agent goes on.
                observer.on_sync_event(event.into());
            }));
            Ok(Arc::new(ObserverHandle::new(registered)))
        })
    }
}

impl Store {
    fn start_agent(
        &self,
        local: minga_sync::PeerId,
        peer: core::PeerConfig,
        schedule: Option<AgentSchedule>,
    ) -> Result<Arc<SyncAgent>> {
        let mut config = core::AgentConfig::new(local, vec![peer]);
        if let Some(schedule) = schedule {
            config.schedule = schedule.into();
        }
        let agent = self
            .call_shared(|store| core::SyncAgent::start(store, config).map_err(MingaError::from))?;
        let agent = Arc::new(SyncAgent {
            running: Mutex::new(Some(agent)),
        });
        let stoppable: Arc<dyn Stop> = agent.clone();
        self.keep_agent(&stoppable);
        RUNNING.keep(&stoppable);
        Ok(agent)
    }
}

/// The app's transport as the agent connects to a peer: one session at a time over it.
struct HostLink(Arc<dyn SyncTransport>);

impl core::TransportFactory for HostLink {
    fn connect(
        &self,
    ) -> std::result::Result<Box<dyn minga_sync::Transport>, minga_sync::TransportError> {
        Ok(Box::new(HostTransport::new(self.0.clone())))
    }
}

impl From<&core::SyncEvent> for SyncEvent {
    fn from(event: &core::SyncEvent) -> Self {
        use core::SyncEvent as E;
        let peer = event.peer().to_string();
        match event {
            E::Started { .. } => Self::Started { peer },
            E::Progress { progress, .. } => Self::Progress {
                peer,
                progress: (*progress).into(),
            },
            E::Finished { report, .. } => Self::Finished {
                peer,
                report: report.clone().into(),
            },
            E::Refused { report, .. } => Self::Refused {
                peer,
                refused: report
                    .refused_by_peer
                    .iter()
                    .map(RefusedWork::from)
                    .collect(),
                report: report.clone().into(),
            },
            E::Failed {
                error,
                failures,
                retry_in,
                ..
            } => Self::Failed {
                peer,
                error: error.clone(),
                failures: *failures,
                retry_in: *retry_in,
            },
            E::Revoked { wipe_error, .. } => Self::Revoked {
                peer,
                wipe_error: wipe_error.clone(),
            },
        }
    }
}

impl From<AgentSchedule> for minga_sync::schedule::ScheduleOptions {
    fn from(schedule: AgentSchedule) -> Self {
        Self {
            after_change: Duration::from_millis(schedule.after_change_ms),
            min_backoff: Duration::from_millis(schedule.min_backoff_ms),
            max_backoff: Duration::from_millis(schedule.max_backoff_ms),
            periodic: Duration::from_millis(schedule.periodic_ms),
        }
    }
}

impl From<core::agent::AgentStatus> for SyncAgentStatus {
    fn from(status: core::agent::AgentStatus) -> Self {
        let peers = status.peers.iter().map(|peer| PeerSyncStatus {
            peer: peer.peer.to_string(),
            syncing: peer.syncing,
            last_attempt_ago: peer.last_attempt.map(|then| status.since(then)),
            last_success_ago: peer.last_success.map(|then| status.since(then)),
            last_error: peer.last_error.clone(),
            failures: peer.failures,
            next_attempt_in: peer.next_attempt.map(|due| status.until(due)),
            changes_waiting: peer.changes_waiting,
        });
        Self {
            network_available: status.network_available,
            revoked: status.revoked,
            peers: peers.collect(),
        }
    }
}
