//! Change observers: the app registers a [`ChangeObserver`] and gets an [`ObserverHandle`]
//! back; the core store then tells it about every committed write (`minga_core::Store::observe`):
//! edits made here, and documents that arrive by sync, a bundle or an import.

use minga_core as core;
use minga_core::DocKind;
use std::sync::{Arc, Mutex};

/// One document that a committed write touched: `minga_core::ChangedDocument` flattened for
/// the foreign languages.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ChangedDocument {
    pub id: String,
    pub kind: DocKind,
    /// The document's new store-wide sequence number.
    pub seq: u64,
    /// Whether the change arrived from another store (sync, a bundle, an import) rather than
    /// being made through this one.
    pub by_sync: bool,
}

/// The documents of one committed write.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ChangeEvent {
    pub documents: Vec<ChangedDocument>,
    /// The highest sequence number among them.
    pub last_seq: u64,
}

/// Implemented by the app (Kotlin, Swift, Python) to hear about changes. Called on the thread
/// that made the change (a sync's thread for synced changes), after the store's lock is
/// released: it may read the store, but keep it short (hand the event to a queue, a Flow, a
/// main-thread post). An exception thrown here is dropped: the change stands and other
/// observers still hear it.
#[uniffi::export(with_foreign)]
pub trait ChangeObserver: Send + Sync {
    fn on_change(&self, event: ChangeEvent);
}

/// Keeps an observer registered. `cancel()` (or dropping the handle) unregisters it.
#[derive(uniffi::Object)]
pub struct ObserverHandle {
    registered: Mutex<Option<core::ObserverHandle>>,
}

impl ObserverHandle {
    pub(crate) fn new(registered: core::ObserverHandle) -> Self {
        Self {
            registered: Mutex::new(Some(registered)),
        }
    }
}

#[uniffi::export]
impl ObserverHandle {
    /// Stops the observer from being called (a call already running finishes). Idempotent;
    /// safe after the store is closed.
    pub fn cancel(&self) {
        // Taking the core handle out drops it, which unregisters the callback.
        self.registered
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
    }
}

/// Registers `observer` with the core store, translating each write's documents.
pub(crate) fn observe(store: &core::Store, observer: Arc<dyn ChangeObserver>) -> ObserverHandle {
    ObserverHandle::new(store.observe(Box::new(move |changed| {
        // The core contains a panic here (how uniffi reports a host exception): the write
        // stands and the other observers still run.
        observer.on_change(change_event(changed));
    })))
}

fn change_event(changed: &[core::ChangedDocument]) -> ChangeEvent {
    let documents: Vec<ChangedDocument> = changed
        .iter()
        .map(|changed| ChangedDocument {
            id: changed.doc.id.to_string(),
            kind: changed.doc.kind,
            seq: changed.doc.seq,
            by_sync: changed.by_sync,
        })
        .collect();
    ChangeEvent {
        last_seq: documents.iter().map(|doc| doc.seq).max().unwrap_or(0),
        documents,
    }
}
