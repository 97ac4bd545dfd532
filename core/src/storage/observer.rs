//! Change observers: callbacks told, after the fact, about every committed change to the store
//! (local edits and documents received by sync), so that an app's lists refresh without
//! polling, and about each sync the [`crate::SyncAgent`] runs (started, progress,
//! finished, failed, revoked). Callbacks run after the store's lock is released, so they may
//! read the store.

use crate::document::{DocId, DocKind};
use crate::storage::documents::DocumentSeq;
use minga_sync::{PeerId, Progress, SyncError, SyncReport};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

/// One document that a committed change touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedDocument {
    /// The document and its new sequence number (see `DocumentStore::changed_since`).
    pub doc: DocumentSeq,
    /// Whether the change arrived from another store (sync, a bundle, `apply_changes`) rather
    /// than being made through this one.
    pub by_sync: bool,
}

impl ChangedDocument {
    pub(crate) fn local(id: DocId, kind: DocKind, seq: u64) -> Self {
        Self {
            doc: DocumentSeq { id, kind, seq },
            by_sync: false,
        }
    }
}

/// What [`crate::Store::observe`] takes: called with the documents of one committed write.
pub type ChangeCallback = dyn Fn(&[ChangedDocument]) + Send + Sync;

/// One step of a sync that the [`crate::SyncAgent`] ran with a peer. Every `Started` is
/// followed by exactly one `Finished`, `Refused`, `Failed` or `Revoked` for the same peer.
#[derive(Debug, Clone, PartialEq)]
pub enum SyncEvent {
    Started {
        peer: PeerId,
    },
    /// After every round trip.
    Progress {
        peer: PeerId,
        progress: Progress,
    },
    Finished {
        peer: PeerId,
        report: SyncReport,
    },
    /// The sync ran to its end, but the peer refused some of this device's own work
    /// (`report.refused_by_peer`: each document, its changes and why): an app must tell its
    /// user, since that work did not reach the peer and will not until something changes.
    Refused {
        peer: PeerId,
        report: SyncReport,
    },
    /// Everything committed before the failure stays; the next sync resumes from there.
    Failed {
        peer: PeerId,
        error: SyncFailure,
        /// Failures in a row with this peer, this one included.
        failures: u32,
        /// When the agent tries again by itself (sooner if the network comes back or the app
        /// asks); `None` when it will not (it was stopped).
        retry_in: Option<Duration>,
    },
    /// The peer refused this device for good and told it to wipe its local copy: the store's
    /// documents and peer state are deleted (see [`crate::Store::wipe_local_copy`]) and the
    /// agent syncs with no one any more.
    Revoked {
        peer: PeerId,
        /// Why the wipe failed, if it did (the documents may still be on the device).
        wipe_error: Option<String>,
    },
}

impl SyncEvent {
    /// The peer the event is about.
    pub fn peer(&self) -> &PeerId {
        match self {
            SyncEvent::Started { peer }
            | SyncEvent::Progress { peer, .. }
            | SyncEvent::Finished { peer, .. }
            | SyncEvent::Refused { peer, .. }
            | SyncEvent::Failed { peer, .. }
            | SyncEvent::Revoked { peer, .. } => peer,
        }
    }
}

/// Why a sync failed, as an app acts on it; `message` says what happened in words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyncFailure {
    /// The peer could not be reached or refused the request (`retryable`: a timeout, a dropped
    /// connection or a busy server, rather than a refusal such as HTTP 401).
    #[error("network: {message}")]
    Network { message: String, retryable: bool },
    /// The peer's bytes broke the protocol (a bug or an incompatible version on one side).
    #[error("protocol: {message}")]
    Protocol { message: String },
    /// The peer ended the session with an error of its own.
    #[error("the peer aborted the session: {message}")]
    PeerAborted { message: String },
    /// This store could not read or write.
    #[error("store: {message}")]
    Store { message: String },
    /// The agent was stopped during the sync (it stopped at a page boundary).
    #[error("the sync agent was stopped")]
    Stopped,
}

impl From<&SyncError> for SyncFailure {
    fn from(error: &SyncError) -> Self {
        let message = error.to_string();
        match error {
            SyncError::Transport(transport) => SyncFailure::Network {
                message,
                retryable: transport.retryable,
            },
            SyncError::Store(_) => SyncFailure::Store { message },
            SyncError::RemoteAbort { message } => SyncFailure::PeerAborted {
                message: message.clone(),
            },
            _ => SyncFailure::Protocol { message },
        }
    }
}

/// What [`crate::Store::observe_sync`] takes: called with each sync event.
pub type SyncEventCallback = dyn Fn(&SyncEvent) + Send + Sync;

/// The store's registered callbacks: of changes and of sync events, with ids from one counter
/// so that a handle names exactly one of them.
#[derive(Default)]
pub(crate) struct Observers {
    next_id: AtomicU64,
    callbacks: Mutex<Vec<(u64, Arc<ChangeCallback>)>>,
    sync_callbacks: Mutex<Vec<(u64, Arc<SyncEventCallback>)>>,
}

impl Observers {
    pub(crate) fn add(self: &Arc<Self>, callback: Box<ChangeCallback>) -> ObserverHandle {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        locked(&self.callbacks).push((id, Arc::from(callback)));
        self.handle(id)
    }

    pub(crate) fn add_sync(self: &Arc<Self>, callback: Box<SyncEventCallback>) -> ObserverHandle {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        locked(&self.sync_callbacks).push((id, Arc::from(callback)));
        self.handle(id)
    }

    fn handle(self: &Arc<Self>, id: u64) -> ObserverHandle {
        ObserverHandle {
            observers: Arc::downgrade(self),
            id,
        }
    }

    /// Calls every callback with `changed`. A callback that panics is contained: the change it
    /// was told about is committed, and the other callbacks still run.
    pub(crate) fn notify(&self, changed: &[ChangedDocument]) {
        if changed.is_empty() {
            return;
        }
        for callback in snapshot(&self.callbacks) {
            let _ = catch_unwind(AssertUnwindSafe(|| callback(changed)));
        }
    }

    /// Calls every sync callback with `event`; a callback that panics is contained.
    pub(crate) fn notify_sync(&self, event: &SyncEvent) {
        for callback in snapshot(&self.sync_callbacks) {
            let _ = catch_unwind(AssertUnwindSafe(|| callback(event)));
        }
    }

    pub(crate) fn clear(&self) {
        locked(&self.callbacks).clear();
        locked(&self.sync_callbacks).clear();
    }

    fn remove(&self, id: u64) {
        locked(&self.callbacks).retain(|(registered, _)| *registered != id);
        locked(&self.sync_callbacks).retain(|(registered, _)| *registered != id);
    }
}

/// A copy of a callback list, so that a callback may add or cancel observers.
fn snapshot<C: ?Sized>(list: &Mutex<Vec<(u64, Arc<C>)>>) -> Vec<Arc<C>> {
    locked(list)
        .iter()
        .map(|(_, callback)| callback.clone())
        .collect()
}

/// A list is never left half-changed (one push or retain), so a poisoned lock is safe.
fn locked<C: ?Sized>(list: &Mutex<Vec<(u64, Arc<C>)>>) -> MutexGuard<'_, Vec<(u64, Arc<C>)>> {
    list.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Keeps an observer registered; cancelling or dropping it unregisters the callback (a call
/// already running finishes).
#[must_use = "dropping the handle cancels the observer"]
pub struct ObserverHandle {
    observers: Weak<Observers>,
    id: u64,
}

impl ObserverHandle {
    /// Unregisters the callback (the same as dropping the handle).
    pub fn cancel(self) {}
}

impl Drop for ObserverHandle {
    fn drop(&mut self) {
        if let Some(observers) = self.observers.upgrade() {
            observers.remove(self.id);
        }
    }
}
