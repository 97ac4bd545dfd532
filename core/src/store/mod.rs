//! The store: one open file behind one lock, and the single write path every change takes.
//! `open` opens (or creates) the file and brings its schema up to date; `write` holds the
//! write path: a local edit, a new document and received changes all end in
//! [`write::record`], so that chunks, projections and sequence number move together in one
//! transaction and observers hear of each committed write once the lock is released. The
//! calls apps and sync make are the API files above (`api/`), all `impl Store`.

mod open;
pub(crate) mod receive;
pub(crate) mod sign;
pub(crate) mod write;

pub use open::{Encryption, StoreKey};

use crate::document::{DeviceIdentity, DocId, DocKind};
use crate::error::Result;
use crate::storage::chunks::DocCache;
use crate::storage::documents;
use crate::storage::observer::{
    ChangeCallback, ChangedDocument, ObserverHandle, Observers, SyncEvent, SyncEventCallback,
};
use crate::storage::store_meta::{self, UnreadableDocument};
use automerge::ActorId;
use minga_sync::signatures::DeviceKey;
use rusqlite::Connection;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};

/// One store file, open. Calls take `&self` and are serialised by an internal lock, so a
/// store can be shared between threads (SQLite has one writer at a time anyway). Open a file
/// once per process and share the `Store`: two `Store`s on one file would each cache
/// documents the other changes.
pub struct Store {
    inner: Mutex<Inner>,
    observers: Arc<Observers>,
    /// The largest attachment this store takes (`Store::set_attachment_limit`).
    pub(crate) attachment_limit: AtomicU64,
}

/// What the lock guards: the connection and the documents decoded from it.
pub(crate) struct Inner {
    pub(crate) conn: Connection,
    pub(crate) cache: DocCache,
    pub(crate) identity: DeviceIdentity,
    pub(crate) actor: ActorId,
    /// The key every change this store makes is signed with (`sign.rs`).
    pub(crate) key: DeviceKey,
    /// Documents changed by writes committed under the current lock, told to observers once
    /// the lock is released (see [`StoreGuard`]).
    pub(crate) committed: Vec<ChangedDocument>,
}

impl Store {
    /// The public half of the key this store signs its changes with: what a hub binds to the
    /// device at enrolment, and what its keyed actors begin with.
    pub fn public_key(&self) -> minga_sync::signatures::PublicKey {
        self.lock().key.public_key()
    }

    /// The device and user this store attributes changes to.
    pub fn identity(&self) -> DeviceIdentity {
        self.lock().identity.clone()
    }

    /// Runs `PRAGMA integrity_check` and returns SQLite's findings (`["ok"]` when sound).
    /// Cost: reads the whole file.
    pub fn integrity_check(&self) -> Result<Vec<String>> {
        let inner = self.lock();
        let mut statement = inner.conn.prepare("PRAGMA integrity_check")?;
        let findings = statement
            .query_map([], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(findings)
    }

    /// The documents a schema upgrade of this store could not read (bytes that do not decode,
    /// a document not shaped as its kind): kept as they were and left out of the lists the
    /// upgrade filled, while the store opened with all the others. Empty for a sound store.
    /// Cost: a scan of the store's few metadata rows.
    pub fn unreadable_documents(&self) -> Result<Vec<UnreadableDocument>> {
        store_meta::unreadable_documents(&self.lock().conn)
    }

    /// Calls `callback` after every committed write that changed documents: local edits and
    /// received changes alike, with the documents' ids, kinds and new sequence numbers. It runs
    /// on the writing thread after the store's lock is released, so it may read the store; a
    /// callback that panics is contained. Cancel it with the handle (or by dropping it).
    pub fn observe(&self, callback: Box<ChangeCallback>) -> ObserverHandle {
        self.observers.add(callback)
    }

    /// Calls `callback` with each event of the syncs that a [`crate::SyncAgent`] runs on
    /// this store (started, progress, finished, failed, revoked), on the agent's thread. Cancel
    /// it with the handle (or by dropping it).
    pub fn observe_sync(&self, callback: Box<SyncEventCallback>) -> ObserverHandle {
        self.observers.add_sync(callback)
    }

    /// Unregisters every change and sync observer at once: what an app's `close` does, so that
    /// none of its callbacks runs once the store is closed (one already running finishes).
    /// Their handles stay valid; cancelling them then does nothing.
    pub fn forget_observers(&self) {
        self.observers.clear();
    }

    pub(crate) fn notify_sync(&self, event: &SyncEvent) {
        self.observers.notify_sync(event);
    }

    /// The guarded state. A panic in another thread cannot leave the connection half-written
    /// (SQLite rolls back), and the cache is only a copy of what is on disk, so a poisoned
    /// lock is safe to take over after dropping the cache.
    pub(crate) fn lock(&self) -> StoreGuard<'_> {
        let guard = self.inner.lock().unwrap_or_else(|poisoned| {
            let mut inner = poisoned.into_inner();
            inner.cache.clear();
            inner
        });
        StoreGuard {
            guard: Some(guard),
            observers: &self.observers,
        }
    }
}

/// The store's lock, held: releasing it tells the observers about the writes committed while
/// it was held, after the lock is free.
pub(crate) struct StoreGuard<'a> {
    guard: Option<MutexGuard<'a, Inner>>,
    observers: &'a Observers,
}

impl Deref for StoreGuard<'_> {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        self.guard.as_ref().expect("held until dropped")
    }
}

impl DerefMut for StoreGuard<'_> {
    fn deref_mut(&mut self) -> &mut Inner {
        self.guard.as_mut().expect("held until dropped")
    }
}

impl Drop for StoreGuard<'_> {
    fn drop(&mut self) {
        let Some(mut guard) = self.guard.take() else {
            return;
        };
        let committed = std::mem::take(&mut guard.committed);
        drop(guard);
        // While unwinding from a panic the writes stay committed, but no callback is started.
        if !std::thread::panicking() {
            self.observers.notify(&committed);
        }
    }
}

impl Inner {
    /// A stored document's kind; `None` if it is not stored. Cost: one primary-key lookup.
    pub(crate) fn kind_of(&self, id: &DocId) -> Result<Option<DocKind>> {
        Ok(documents::kind_and_heads(&self.conn, id)?.map(|(kind, _)| kind))
    }
}

#[cfg(test)]
mod tests {
    use crate::document::FormRef;

    #[test]
    fn forgetting_the_observers_silences_every_callback_and_their_handles_stay_harmless() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        let dir = tempfile::tempdir().unwrap();
        let store = crate::test_support::plain_store(&dir, "s.db", "d", "ana");
        let heard = Arc::new(AtomicUsize::new(0));
        let counter = heard.clone();
        let changes = store.observe(Box::new(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        }));
        let counter = heard.clone();
        let syncs = store.observe_sync(Box::new(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        }));
        store.create_submission(&FormRef::new("f", "1")).unwrap();
        assert_eq!(heard.load(Ordering::SeqCst), 1);
        store.forget_observers();
        store.create_submission(&FormRef::new("f", "1")).unwrap();
        store.notify_sync(&crate::SyncEvent::Started {
            peer: minga_sync::PeerId::new("hub").unwrap(),
        });
        assert_eq!(heard.load(Ordering::SeqCst), 1, "no callback runs any more");
        changes.cancel();
        syncs.cancel();
    }

    /// Callbacks run on the writing thread once the lock is free (ARCHITECTURE.md says why):
    /// one that writes to the store it observes neither deadlocks nor is lost, and hears of its
    /// own write after the write that called it.
    #[test]
    fn a_callback_that_writes_to_the_store_it_observes_does_not_wait_for_itself() {
        use std::sync::{Arc, Mutex, Weak};
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(crate::test_support::plain_store(&dir, "s.db", "d", "ana"));
        let heard: Arc<Mutex<Vec<u64>>> = Arc::default();
        let (log, weak): (_, Weak<super::Store>) = (heard.clone(), Arc::downgrade(&store));
        let _handle = store.observe(Box::new(move |changed| {
            let first = {
                let mut log = log.lock().unwrap();
                log.extend(changed.iter().map(|told| told.doc.seq));
                log.len() == 1
            };
            if let (true, Some(store)) = (first, weak.upgrade()) {
                store.create_submission(&FormRef::new("f", "1")).unwrap();
            }
        }));
        store.create_submission(&FormRef::new("f", "1")).unwrap();
        assert_eq!(*heard.lock().unwrap(), vec![1, 2], "both writes, in order");
        assert_eq!(store.last_seq().unwrap(), 2);
    }
}
