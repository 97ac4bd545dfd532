//! Opening a store: the file, its key, its schema (created, or upgraded with its backfills),
//! and the actor of the device identity that signs every change written through it.

use super::{Inner, Store};
use crate::document::DeviceIdentity;
use crate::error::{Error, Result};
use crate::schema::{self, not_a_store};
use crate::storage::chunks::DocCache;
use crate::storage::{actors, projection};
use crate::writable;
use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::sync::{Arc, Mutex};

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
            Error::Sqlite(e) if writable::is_journal_refusal(&e) => Error::ReadOnly {
                path: path.to_owned(),
                reason: writable::journal_refusal_reason(path, &e),
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
            let version = schema::check_is_store(&conn, path)?;
            set_durability(&conn)?;
            if version < schema::CURRENT_VERSION {
                let tx = conn.transaction()?;
                schema::upgrade(&tx, version, &projection::backfill)?;
                tx.commit()?;
            }
        }
        let actor = actors::actor_for(&conn, &identity)?;
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
}

/// A file that cannot be written, reported as [`Error::ReadOnly`] before SQLite opens it.
fn refuse_unwritable(path: &Path) -> Result<()> {
    match writable::unwritable_reason(path) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::{DocId, FormRef};
    use crate::store::Store;
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
            "DROP TABLE review_states; PRAGMA user_version = 3;",
        );
        let rows = store
            .list_submissions(&Default::default(), None, 10)
            .unwrap()
            .items;
        assert_eq!(rows[0].id, id);
        assert_eq!(rows[0].review_state, Some(crate::ReviewState::Approved));
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
