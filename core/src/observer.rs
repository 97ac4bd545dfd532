//! Change observers: callbacks told, after the fact, about every committed change to the store
//! (local edits and documents received by sync), so that an app's lists refresh without
//! polling. Callbacks run after the store's lock is released, so they may read the store.

use crate::document::{DocId, DocKind};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

/// One document that a committed change touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedDocument {
    pub id: DocId,
    pub kind: DocKind,
    /// The document's new sequence number (see [`crate::changes`]).
    pub seq: u64,
    /// Whether the change arrived from another store (sync, a bundle, `apply_changes`) rather
    /// than being made through this one.
    pub by_sync: bool,
}

impl ChangedDocument {
    pub(crate) fn local(id: DocId, kind: DocKind, seq: u64) -> Self {
        Self {
            id,
            kind,
            seq,
            by_sync: false,
        }
    }
}

/// What [`crate::Store::observe`] takes: called with the documents of one committed write.
pub type ChangeCallback = dyn Fn(&[ChangedDocument]) + Send + Sync;

/// The store's registered callbacks.
#[derive(Default)]
pub(crate) struct Observers {
    next_id: AtomicU64,
    callbacks: Mutex<Vec<(u64, Arc<ChangeCallback>)>>,
}

impl Observers {
    pub(crate) fn add(self: &Arc<Self>, callback: Box<ChangeCallback>) -> ObserverHandle {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.lock().push((id, Arc::from(callback)));
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
        // A copy of the list, so that a callback may add or cancel observers.
        let callbacks: Vec<Arc<ChangeCallback>> = self
            .lock()
            .iter()
            .map(|(_, callback)| callback.clone())
            .collect();
        for callback in callbacks {
            let _ = catch_unwind(AssertUnwindSafe(|| callback(changed)));
        }
    }

    fn remove(&self, id: u64) {
        self.lock().retain(|(registered, _)| *registered != id);
    }

    /// The list is never left half-changed (one push or retain), so a poisoned lock is safe.
    fn lock(&self) -> MutexGuard<'_, Vec<(u64, Arc<ChangeCallback>)>> {
        self.callbacks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
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
