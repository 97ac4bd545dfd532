//! Opening a store: the file, its key, its schema, and the device identity that signs every
//! change written through it.

use crate::chunks::DocCache;
use crate::error::{Error, Result};
use crate::observer::{
    ChangeCallback, ChangedDocument, ObserverHandle, Observers, SyncEvent, SyncEventCallback,
};
use crate::schema;
use automerge::ActorId;
use rusqlite::{Connection, OpenFlags};
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// How many decoded documents a store keeps in memory between calls.
const OPEN_DOCUMENTS: usize = 64;

/// The first 16 bytes of every unencrypted SQLite file.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// A SQLCipher key: 32 raw bytes, as a host app takes them from the Android Keystore or the
/// iOS Keychain. Raw keys skip SQLCipher's passphrase derivation, so opening stays fast.
#[derive(Clone)]
pub struct StoreKey([u8; 32]);

impl StoreKey {
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    fn pragma_literal(&self) -> String {
        let hex: String = self.0.iter().map(|b| format!("{b:02x}")).collect();
        format!("\"x'{hex}'\"")
    }
}

impl std::fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreKey(..)")
    }
}

/// Whether the file is encrypted. Plain files exist only when a caller asks for one by name.
#[derive(Debug, Clone)]
pub enum Encryption {
    /// SQLCipher with this key: the default for every real store.
    Key(StoreKey),
    /// An unencrypted SQLite file (tests, or data that is not sensitive).
    PlainFile,
}

/// Who is writing: every change made through the store is attributed to this device and user.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeviceIdentity {
    pub device_id: String,
    pub user_name: String,
}

impl DeviceIdentity {
    pub fn new(device_id: impl Into<String>, user_name: impl Into<String>) -> Self {
        Self {
            device_id: device_id.into(),
            user_name: user_name.into(),
        }
    }
}

/// One store file, open. Calls take `&self` and are serialised by an internal lock, so a
/// store can be shared between threads (SQLite has one writer at a time anyway). Open a file
/// once per process and share the `Store`: two `Store`s on one file would each cache
/// documents the other changes.
pub struct Store {
    inner: Mutex<Inner>,
    observers: Arc<Observers>,
}

/// What the lock guards: the connection and the documents decoded from it.
pub(crate) struct Inner {
    pub(crate) conn: Connection,
    pub(crate) cache: DocCache,
    pub(crate) identity: DeviceIdentity,
    pub(crate) actor: ActorId,
    /// Documents changed by writes committed under the current lock, told to observers once
    /// the lock is released (see [`StoreGuard`]).
    pub(crate) committed: Vec<ChangedDocument>,
}

impl Store {
    /// Opens the store at `path`, creating it if no file is there.
    ///
    /// An existing file is only ever read until it has proved to be a Minga store this code
    /// can handle; a wrong key, a foreign file, a newer schema or damage is reported as its own
    /// [`Error`] and the file is left byte for byte as it was. Cost: one small read, plus a
    /// schema upgrade the first time a newer Minga opens an older store.
    pub fn open(
        path: impl AsRef<Path>,
        encryption: Encryption,
        identity: DeviceIdentity,
    ) -> Result<Store> {
        let path = path.as_ref();
        let creating = is_absent_or_empty(path)?;
        refuse_unwritable(path)?;
        Self::open_writable(path, encryption, identity, creating).map_err(|error| match error {
            Error::Sqlite(e) if crate::writable::is_journal_refusal(&e) => Error::ReadOnly {
                path: path.to_owned(),
                reason: crate::writable::journal_refusal_reason(path, &e),
            },
            other => other,
        })
    }

    /// [`Store::open`] on a file that can be written.
    fn open_writable(
        path: &Path,
        encryption: Encryption,
        identity: DeviceIdentity,
        creating: bool,
    ) -> Result<Store> {
        let mut conn = connect(path, &encryption, creating)?;
        // A database without a single table (a crash during creation) holds nothing to lose.
        if creating || count_schema_objects(&conn, path, &encryption)? == 0 {
            initialise(&mut conn)?;
        } else {
            let version = check_is_store(&conn, path)?;
            set_durability(&conn)?;
            if version < schema::CURRENT_VERSION {
                let tx = conn.transaction()?;
                schema::upgrade(&tx, version)?;
                if version < schema::FIRST_WITH_PROJECTION {
                    crate::projection::rebuild_all(&tx)?;
                } else if version < schema::FIRST_WITH_CONFLICT_FLAG {
                    crate::projection::rebuild_conflict_flags(&tx)?;
                }
                if version < schema::FIRST_WITH_REVIEW_STATES {
                    crate::projection::rebuild_review_states(&tx)?;
                }
                tx.commit()?;
            }
        }
        let identity = crate::enrolment::enrolled_identity(&conn, identity)?;
        let actor = actor_for(&conn, &identity)?;
        Ok(Store {
            inner: Mutex::new(Inner {
                conn,
                cache: DocCache::new(OPEN_DOCUMENTS),
                identity,
                actor,
                committed: Vec::new(),
            }),
            observers: Arc::default(),
        })
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

    /// Calls `callback` after every committed write that changed documents: local edits and
    /// received changes alike, with the documents' ids, kinds and new sequence numbers. It runs
    /// on the writing thread after the store's lock is released, so it may read the store; a
    /// callback that panics is contained. Cancel it with the handle (or by dropping it).
    pub fn observe(&self, callback: Box<ChangeCallback>) -> ObserverHandle {
        self.observers.add(callback)
    }

    /// Calls `callback` with each event of the syncs that a [`crate::agent::SyncAgent`] runs on
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

/// A file that cannot be written, reported as [`Error::ReadOnly`] before SQLite opens it.
fn refuse_unwritable(path: &Path) -> Result<()> {
    match crate::writable::unwritable_reason(path) {
        Ok(None) => Ok(()),
        Ok(Some(reason)) => Err(Error::ReadOnly {
            path: path.to_owned(),
            reason,
        }),
        Err(source) => Err(Error::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

/// True when there is no file at `path`, or an empty one: a crash while a store was first
/// being created can leave an empty file, and an empty file holds nothing to lose.
fn is_absent_or_empty(path: &Path) -> Result<bool> {
    match std::fs::metadata(path) {
        Ok(metadata) => Ok(metadata.len() == 0),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(source) => Err(Error::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Opens the SQLite connection and hands it the key. Creates the file only when asked.
fn connect(path: &Path, encryption: &Encryption, create: bool) -> Result<Connection> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let conn = Connection::open_with_flags(path, flags)?;
    // SQLCipher logs decryption failures to stderr; callers get them as typed errors instead.
    conn.execute_batch("PRAGMA cipher_log_level = NONE;")?;
    if let Encryption::Key(key) = encryption {
        conn.execute_batch(&format!("PRAGMA key = {};", key.pragma_literal()))?;
    }
    Ok(conn)
}

/// Durability for "an acknowledged answer survives": WAL with `synchronous = FULL`, so each
/// commit is fsynced before the call returns. NORMAL would survive a killed process too, but
/// not a phone whose battery dies; see ARCHITECTURE.md.
fn set_durability(conn: &Connection) -> Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(())
}

fn initialise(conn: &mut Connection) -> Result<()> {
    set_durability(conn)?;
    let tx = conn.transaction()?;
    schema::create_fresh(&tx)?;
    tx.commit()?;
    Ok(())
}

/// Reads the first page and counts what the schema holds: fails with the right error if the
/// key or the file is wrong.
fn count_schema_objects(conn: &Connection, path: &Path, encryption: &Encryption) -> Result<i64> {
    let plain_header = has_plain_sqlite_header(path)?;
    match (encryption, plain_header) {
        (Encryption::Key(_), true) => {
            return Err(not_a_store(
                path,
                "it is an unencrypted SQLite file; open it as a plain file",
            ))
        }
        (Encryption::PlainFile, false) => {
            return Err(not_a_store(
                path,
                "not an SQLite file (if it is an encrypted store, open it with its key)",
            ))
        }
        _ => {}
    }
    let probe = conn.query_row("SELECT count(*) FROM sqlite_master", [], |row| {
        row.get::<_, i64>(0)
    });
    match probe {
        Ok(count) => Ok(count),
        Err(error) => match (error.sqlite_error_code(), encryption) {
            (Some(rusqlite::ErrorCode::NotADatabase), Encryption::Key(_)) => Err(Error::WrongKey {
                path: path.to_owned(),
            }),
            (Some(rusqlite::ErrorCode::NotADatabase), Encryption::PlainFile) => {
                Err(Error::Corrupt {
                    detail: format!("{}: {error}", path.display()),
                })
            }
            _ => Err(error.into()),
        },
    }
}

/// Confirms the Minga marker and a schema this code understands; returns the version.
fn check_is_store(conn: &Connection, path: &Path) -> Result<i64> {
    let marker = conn.query_row(
        "SELECT value FROM store_meta WHERE name = 'format'",
        [],
        |row| row.get::<_, String>(0),
    );
    match marker {
        Ok(marker) if marker == schema::FORMAT_MARKER => {}
        Ok(other) => {
            return Err(not_a_store(
                path,
                &format!("its format marker is {other:?}"),
            ))
        }
        Err(rusqlite::Error::QueryReturnedNoRows) => {
            return Err(not_a_store(path, "it has no format marker"))
        }
        Err(error) if is_missing_table(&error) => {
            return Err(not_a_store(path, "it has no store_meta table"))
        }
        Err(error) => return Err(error.into()),
    }
    let found = schema::version(conn)?;
    if found > schema::CURRENT_VERSION {
        return Err(Error::NewerSchema {
            path: path.to_owned(),
            found,
            supported: schema::CURRENT_VERSION,
        });
    }
    Ok(found)
}

fn is_missing_table(error: &rusqlite::Error) -> bool {
    error.to_string().contains("no such table")
}

fn has_plain_sqlite_header(path: &Path) -> Result<bool> {
    use std::io::Read;
    let mut header = [0u8; 16];
    let read = std::fs::File::open(path).and_then(|mut file| file.read(&mut header));
    match read {
        Ok(n) => Ok(n == header.len() && &header == SQLITE_HEADER),
        Err(source) => Err(Error::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

fn not_a_store(path: &Path, reason: &str) -> Error {
    Error::NotAStore {
        path: PathBuf::from(path),
        reason: reason.to_owned(),
    }
}

/// The automerge actor this store writes as for `identity`: made once per device and user, so
/// that a shared phone attributes each person's changes to them.
pub(crate) fn actor_for(conn: &Connection, identity: &DeviceIdentity) -> Result<ActorId> {
    let existing = conn.query_row(
        "SELECT actor FROM actors WHERE device_id = ?1 AND user_name = ?2",
        [&identity.device_id, &identity.user_name],
        |row| row.get::<_, Vec<u8>>(0),
    );
    match existing {
        Ok(bytes) => Ok(ActorId::from(bytes.as_slice())),
        Err(rusqlite::Error::QueryReturnedNoRows) => {
            let actor = uuid::Uuid::new_v4();
            conn.execute(
                "INSERT INTO actors (device_id, user_name, actor) VALUES (?1, ?2, ?3)",
                rusqlite::params![
                    identity.device_id,
                    identity.user_name,
                    actor.as_bytes().as_slice()
                ],
            )?;
            Ok(ActorId::from(actor.as_bytes().as_slice()))
        }
        Err(error) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::{DocId, FormRef};
    use tempfile::TempDir;

    /// A store (by "ana") holding one submission, which `prepare` may work on, reopened after
    /// `downgrade` took the file back to an older schema version.
    fn downgraded(
        prepare: impl FnOnce(&Store, &DocId),
        downgrade: &str,
    ) -> (TempDir, Store, DocId) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let identity = DeviceIdentity::new("d", "ana");
        let id = {
            let store = Store::open(&path, Encryption::PlainFile, identity.clone()).unwrap();
            let id = store
                .create_submission(&FormRef::new("dialogue", "1"))
                .unwrap();
            prepare(&store, &id);
            id
        };
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(downgrade).unwrap();
        drop(conn);
        let store = Store::open(&path, Encryption::PlainFile, identity).unwrap();
        (dir, store, id)
    }

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

    #[test]
    fn opening_a_version_1_store_fills_the_list_projection() {
        // Back to version 1: documents, no projection, no peer tables, no review states.
        let (_dir, store, id) = downgraded(
            |_, _| {},
            "DROP TABLE submissions; DROP TABLE peers; DROP TABLE peer_heads;
             DROP TABLE review_states; PRAGMA user_version = 1;",
        );
        let page = store
            .list_submissions(&Default::default(), None, 10)
            .unwrap();
        assert_eq!(
            page.items.iter().map(|row| row.id).collect::<Vec<_>>(),
            vec![id]
        );
        assert_eq!(page.items[0].author, "ana");
        assert_eq!(
            schema::version(&store.lock().conn).unwrap(),
            schema::CURRENT_VERSION
        );
    }

    #[test]
    fn opening_a_version_3_store_fills_the_review_states() {
        let approve = |store: &Store, id: &DocId| {
            store
                .set_review_state(id, crate::ReviewState::Approved)
                .unwrap();
        };
        let (_dir, store, id) = downgraded(
            approve,
            "DROP TABLE review_states; DROP INDEX submissions_with_conflicts;
             ALTER TABLE submissions DROP COLUMN has_conflicts; PRAGMA user_version = 3;",
        );
        let rows = store
            .list_submissions(&Default::default(), None, 10)
            .unwrap()
            .items;
        assert_eq!(rows[0].id, id);
        assert_eq!(rows[0].review_state, Some(crate::ReviewState::Approved));
    }

    #[test]
    fn opening_a_version_4_store_flags_the_submissions_with_conflicts() {
        let dir = tempfile::tempdir().unwrap();
        let mut conflicted = None;
        let (_dir, store, calm) = downgraded(
            |store, _| conflicted = Some(crate::test_support::conflicted_submission(&dir, store)),
            "DROP INDEX submissions_with_conflicts;
             ALTER TABLE submissions DROP COLUMN has_conflicts; PRAGMA user_version = 4;",
        );
        let conflicted = conflicted.unwrap();
        let rows = store
            .list_submissions(&Default::default(), None, 10)
            .unwrap()
            .items;
        let flag_of = |id| rows.iter().find(|row| row.id == id).unwrap().has_conflicts;
        assert!(flag_of(conflicted), "backfilled from the document");
        assert!(!flag_of(calm));
        assert_eq!(
            schema::version(&store.lock().conn).unwrap(),
            schema::CURRENT_VERSION
        );
    }

    #[test]
    fn each_user_of_a_device_writes_as_their_own_actor() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let actor_of = |user: &str| {
            let store =
                Store::open(&path, Encryption::PlainFile, DeviceIdentity::new("d", user)).unwrap();
            let actor = store.lock().actor.clone();
            actor
        };
        assert_eq!(actor_of("ana"), actor_of("ana"));
        assert_ne!(actor_of("ana"), actor_of("luis"));
    }
}
