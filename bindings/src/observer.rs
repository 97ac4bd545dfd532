//! Change observers: the app registers a [`ChangeObserver`] and gets an [`ObserverHandle`]
//! back; every call through the store that changes documents, here or by sync, then reports
//! the documents the core's change log shows as changed since the last report.

use crate::error::Result;
use minga_core as core;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

/// How many changed documents one read of the change log takes at most.
const CHANGES_PER_READ: usize = 10_000;

/// One document that changed, and the store-wide sequence number of its latest change.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ChangedDocument {
    pub id: String,
    pub seq: u64,
}

/// What changed since the previous event: edits made here, or changes that arrived by sync.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ChangeEvent {
    pub documents: Vec<ChangedDocument>,
    /// The store's sequence number after these changes.
    pub last_seq: u64,
}

/// Implemented by the app (Kotlin, Swift, Python) to hear about changes. Called on the thread
/// that made the change; keep it short (hand the event to a queue, a Flow, a main-thread post).
/// An exception thrown here is dropped: the change stands and other observers still hear it.
#[uniffi::export(with_foreign)]
pub trait ChangeObserver: Send + Sync {
    fn on_change(&self, event: ChangeEvent);
}

/// Keeps an observer registered. `cancel()` (or dropping the handle) unregisters it.
#[derive(uniffi::Object)]
pub struct ObserverHandle {
    registry: Weak<Registry>,
    id: u64,
}

#[uniffi::export]
impl ObserverHandle {
    /// Stops the observer from being called. Idempotent; safe after the store is closed.
    pub fn cancel(&self) {
        if let Some(registry) = self.registry.upgrade() {
            registry.remove(self.id);
        }
    }
}

impl Drop for ObserverHandle {
    fn drop(&mut self) {
        self.cancel();
    }
}

/// The observers of one store and how far into the change log they have been told.
#[derive(Default)]
pub(crate) struct Registry {
    next_id: AtomicU64,
    observers: Mutex<Vec<(u64, Arc<dyn ChangeObserver>)>>,
    /// Held while reading the log and advancing, so that two threads never report one change
    /// twice or out of order.
    reported_seq: Mutex<u64>,
}

impl Registry {
    pub(crate) fn add(
        self: &Arc<Self>,
        store: &core::Store,
        observer: Arc<dyn ChangeObserver>,
    ) -> Result<ObserverHandle> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut observers = self
            .observers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if observers.is_empty() {
            // Changes made while nobody listened are not news to a new observer.
            *self.reported() = store.last_seq()?;
        }
        observers.push((id, observer));
        Ok(ObserverHandle {
            registry: Arc::downgrade(self),
            id,
        })
    }

    fn remove(&self, id: u64) {
        self.listeners().retain(|(registered, _)| *registered != id);
    }

    pub(crate) fn clear(&self) {
        self.listeners().clear();
    }

    /// Tells every observer what changed since the last report. Costs one index scan when
    /// someone listens, nothing otherwise. Observers run without any lock held, so they may
    /// call back into the store.
    pub(crate) fn report(&self, store: &core::Store) -> Result<()> {
        let observers: Vec<Arc<dyn ChangeObserver>> =
            self.listeners().iter().map(|(_, o)| o.clone()).collect();
        if observers.is_empty() {
            return Ok(());
        }
        let events = self.unreported(store)?;
        for event in events {
            for observer in &observers {
                // An observer that throws (uniffi turns that into a panic here) must neither
                // undo nor fail the call that made the change, nor starve the other observers.
                let call = AssertUnwindSafe(|| observer.on_change(event.clone()));
                let _ = catch_unwind(call);
            }
        }
        Ok(())
    }

    /// Reads the change log past the last report, a page per event, and marks it reported.
    fn unreported(&self, store: &core::Store) -> Result<Vec<ChangeEvent>> {
        let mut reported = self.reported();
        let mut events = Vec::new();
        loop {
            let changed = store.changed_since(*reported, CHANGES_PER_READ)?;
            let Some(last) = changed.last().map(|doc| doc.seq) else {
                return Ok(events);
            };
            let full_page = changed.len() == CHANGES_PER_READ;
            *reported = last;
            let documents = changed
                .into_iter()
                .map(|doc| ChangedDocument {
                    id: doc.id.to_string(),
                    seq: doc.seq,
                })
                .collect();
            events.push(ChangeEvent {
                documents,
                last_seq: last,
            });
            if !full_page {
                return Ok(events);
            }
        }
    }

    fn listeners(&self) -> std::sync::MutexGuard<'_, Vec<(u64, Arc<dyn ChangeObserver>)>> {
        self.observers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn reported(&self) -> std::sync::MutexGuard<'_, u64> {
        self.reported_seq
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
