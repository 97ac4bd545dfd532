//! What the sync agent is doing, as an app shows it ("last synced 5 min ago", "retrying in
//! 40 s", "offline"): a snapshot taken under a short lock, never waiting for a sync.

use crate::storage::observer::SyncFailure;
use minga_sync::PeerId;
use std::time::{Duration, Instant};

/// The agent's state at one instant ([`crate::SyncAgent::status`]). Times are the agent's
/// clock: compare them with `at` (see [`AgentStatus::since`] and [`AgentStatus::until`]).
#[derive(Clone, Debug, PartialEq)]
pub struct AgentStatus {
    /// The agent's clock when this snapshot was taken.
    pub at: Instant,
    /// What the app last said of the network (the agent starts offline).
    pub network_available: bool,
    /// A peer revoked this device: the local copy was wiped and nothing is synced any more.
    pub revoked: bool,
    /// One per configured peer, in the order of their ids.
    pub peers: Vec<PeerStatus>,
}

/// The agent's sync with one peer.
#[derive(Clone, Debug, PartialEq)]
pub struct PeerStatus {
    pub peer: PeerId,
    /// A sync with this peer is running now.
    pub syncing: bool,
    /// When the last sync with this peer started (whatever its outcome).
    pub last_attempt: Option<Instant>,
    /// When the last sync with this peer that succeeded ended.
    pub last_success: Option<Instant>,
    /// Why the last sync failed; `None` if it succeeded (or none ended yet).
    pub last_error: Option<SyncFailure>,
    /// Failures in a row, which set the backoff (0 after a success, and once the network
    /// comes back).
    pub failures: u32,
    /// When the next sync is due: after a failure, when the retry comes. `None` while
    /// offline, while a sync with the peer runs, and once revoked.
    pub next_attempt: Option<Instant>,
    /// Local changes made since the last sync with this peer started: the next one carries
    /// them (`after_change` after the first, or as soon as the network is back).
    pub changes_waiting: bool,
}

impl AgentStatus {
    /// How long before this snapshot `then` was ("last synced 5 min ago"); zero for a time
    /// after it.
    pub fn since(&self, then: Instant) -> Duration {
        self.at.saturating_duration_since(then)
    }

    /// How long after this snapshot `due` comes ("retrying in 40 s"); zero if it is due.
    pub fn until(&self, due: Instant) -> Duration {
        due.saturating_duration_since(self.at)
    }

    /// The status of `peer`, if the agent syncs with it.
    pub fn peer(&self, peer: &PeerId) -> Option<&PeerStatus> {
        self.peers.iter().find(|status| &status.peer == peer)
    }
}
