//! Opening a store: the file, its key, its schema (created, or upgraded with its backfills),
//! its signing key (made on the first open), and the actor of the device identity that signs every change written through it (the
//! enrolled device id in place of the app's, once a hub has enrolled the store).

use super::{Inner, Store};
use crate::document::DeviceIdentity;
use crate::error::{Error, Result};
use crate::schema::{self, not_a_store};
use crate::sqlcipher::{self, FileState, Probe};
use crate::storage::chunks::DocCache;
use crate::storage::{actors, projection, signatures, store_meta};
use crate::writable;
use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// How many decoded documents a store keeps in memory between calls.
const OPEN_DOCUMENTS: usize = 64;

/// A SQLCipher key: 32 raw bytes, as a host app takes them from the Android Keystore or the
/// iOS Keychain. Raw keys skip SQLCipher's passphrase derivation, so opening stays fast.
#[derive(Clone)]
pub struct StoreKey([u8; 32]);

impl StoreKey {
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
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
        refuse_unwritable(path)?;
        // After the check above, which creates an absent file empty: both are `New`.
        let state = sqlcipher::file_state(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::open_writable(path, encryption, identity, state).map_err(|error| match error {
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
        state: FileState,
    ) -> Result<Store> {
        let creating = state == FileState::New;
        let mut conn = connect(path, &encryption, creating)?;
        // A database without a single table (a crash during creation) holds nothing to lose.
        if creating || count_schema_objects(&conn, path, &encryption, state)? == 0 {
            initialise(&mut conn)?;
        } else {
            let version = schema::check_is_store(&conn, path)?;
            set_durability(&conn)?;
            if version < schema::CURRENT_VERSION {
                let tx = conn.transaction()?;
                schema::upgrade(&tx, version, &projection::backfill)?;
                tx.commit()?;
                tracing::info!(
                    path = %path.display(),
                    from = version,
                    to = schema::CURRENT_VERSION,
                    "store schema upgraded"
                );
            }
        }
        let identity = enrolled_identity(&conn, identity)?;
        let key = signatures::device_key(&conn)?;
        let actor = actors::actor_for(&conn, &identity, &key)?;
        tracing::info!(
            path = %path.display(),
            created = creating,
            encrypted = matches!(encryption, Encryption::Key(_)),
            device = %identity.device_id,
            "store opened"
        );
        Ok(Store {
            inner: Mutex::new(Inner {
                conn,
                cache: DocCache::new(OPEN_DOCUMENTS),
                identity,
                actor,
                key,
                committed: Vec::new(),
            }),
            attachment_limit: crate::api::attachments::DEFAULT_ATTACHMENT_LIMIT.into(),
            observers: Arc::default(),
        })
    }
}

/// `identity` with the enrolled device id in place of the app's, once the store is enrolled
/// (`Store::adopt_device_id`): the hub and every report then name one submitter, whatever
/// device id the app passes. The user name stays. Cost: one primary-key lookup.
fn enrolled_identity(conn: &Connection, identity: DeviceIdentity) -> Result<DeviceIdentity> {
    Ok(match store_meta::enrolled_device_id(conn)? {
        Some(device_id) => DeviceIdentity::new(device_id, identity.user_name),
        None => identity,
    })
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

/// Opens the SQLite connection and hands it the key. Creates the file only when asked.
fn connect(path: &Path, encryption: &Encryption, create: bool) -> Result<Connection> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let key = match encryption {
        Encryption::Key(key) => Some(&key.0),
        Encryption::PlainFile => None,
    };
    Ok(sqlcipher::connect(path, flags, key)?)
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
fn count_schema_objects(
    conn: &Connection,
    path: &Path,
    encryption: &Encryption,
    state: FileState,
) -> Result<i64> {
    match (encryption, state == FileState::Plain) {
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
    match (sqlcipher::probe(conn)?, encryption) {
        (Probe::Readable { schema_objects }, _) => Ok(schema_objects),
        (Probe::Unreadable { .. }, Encryption::Key(_)) => Err(Error::WrongKey {
            path: path.to_owned(),
        }),
        (Probe::Unreadable { reason }, Encryption::PlainFile) => Err(Error::Corrupt {
            detail: format!("{}: {reason}", path.display()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::{DocId, FormRef};
    use crate::store::Store;
    use tempfile::TempDir;

    /// What version 9 added (the invalid flag), undone before every older version's downgrade.
    const WITHOUT_VERSION_9: &str = "DROP INDEX submissions_flagged_invalid;
        ALTER TABLE submissions DROP COLUMN invalid_reasons;";

    /// What version 8 added (attachments), undone before every version's downgrade below it.
    const WITHOUT_VERSION_8: &str =
        "DROP TABLE attachments; DROP TABLE attachment_chunks; DROP TABLE attachment_refs;";

    /// A store (by "ana") holding one submission, which `prepare` may work on, reopened after
    /// `downgrade` took the file back to a schema version older than 8.
    fn downgraded(
        prepare: impl FnOnce(&Store, &DocId),
        downgrade: &str,
    ) -> (TempDir, Store, DocId) {
        downgraded_by(prepare, &[WITHOUT_VERSION_9, WITHOUT_VERSION_8, downgrade])
    }

    /// As [`downgraded`], running each of `steps` on the file in turn.
    fn downgraded_by(
        prepare: impl FnOnce(&Store, &DocId),
        steps: &[&str],
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
        for step in steps {
            conn.execute_batch(step).unwrap();
        }
        drop(conn);
        let store = Store::open(&path, Encryption::PlainFile, identity).unwrap();
        (dir, store, id)
    }

    #[test]
    fn opening_a_version_1_store_fills_the_list_projection() {
        // Back to version 1: documents, no projection, no peer tables, no review states.
        let (_dir, store, id) = downgraded(
            |_, _| {},
            "DROP TABLE change_signatures; DROP TABLE submissions; DROP TABLE peers; DROP TABLE peer_heads;
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
            &format!(
                "DROP TABLE change_signatures; DROP TABLE review_states;
                 DROP INDEX submissions_with_conflicts;
                 ALTER TABLE submissions DROP COLUMN has_conflicts; {FORM_INDEX}
                 PRAGMA user_version = 3;"
            ),
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
            &format!(
                "DROP TABLE change_signatures; DROP INDEX submissions_with_conflicts;
                 ALTER TABLE submissions DROP COLUMN has_conflicts; {FORM_INDEX}
                 PRAGMA user_version = 4;"
            ),
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
    fn opening_a_version_8_store_flags_the_submissions_that_break_their_form() {
        let dir = tempfile::tempdir().unwrap();
        let mut invalid = None;
        let arrive = |store: &Store, _: &DocId| {
            store
                .publish_form(&crate::test_support::visit_form())
                .unwrap();
            invalid = Some(crate::test_support::arrived_invalid(&dir, store));
        };
        let (_dir, store, unchecked) =
            downgraded_by(arrive, &[WITHOUT_VERSION_9, "PRAGMA user_version = 8;"]);
        let invalid = invalid.unwrap();
        let rows = store
            .list_submissions(&Default::default(), None, 10)
            .unwrap()
            .items;
        let flag_of = |id| rows.iter().find(|row| row.id == id).unwrap().invalid;
        assert!(
            flag_of(invalid),
            "backfilled from the document and its form"
        );
        assert!(!flag_of(unchecked), "its form is not held");
        let reasons = store.invalid_reasons(&invalid).unwrap();
        assert!(
            reasons.iter().any(|r| r.question == "colour"),
            "{reasons:?}"
        );
        assert_eq!(
            schema::version(&store.lock().conn).unwrap(),
            schema::CURRENT_VERSION
        );
    }

    /// The form index that versions 2 to 5 had.
    const FORM_INDEX: &str =
        "CREATE INDEX submissions_by_form ON submissions (form_id, updated_at, doc_id);";

    #[test]
    fn opening_a_version_5_store_drops_the_form_index_and_still_lists_by_form() {
        let other_form = |store: &Store, _: &DocId| {
            store
                .create_submission(&FormRef::new("census", "1"))
                .unwrap();
        };
        let (_dir, store, id) = downgraded(
            other_form,
            &format!("DROP TABLE change_signatures; {FORM_INDEX} PRAGMA user_version = 5;"),
        );
        let indexes: i64 = store
            .lock()
            .conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'submissions_by_form'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(indexes, 0, "dropped");
        let dialogue = crate::SubmissionFilter {
            form_id: Some("dialogue".into()),
            ..Default::default()
        };
        let rows = store.list_submissions(&dialogue, None, 10).unwrap().items;
        assert_eq!(rows.iter().map(|row| row.id).collect::<Vec<_>>(), vec![id]);
        assert_eq!(
            schema::version(&store.lock().conn).unwrap(),
            schema::CURRENT_VERSION
        );
    }

    #[test]
    fn opening_a_version_5_store_gives_it_a_key_and_a_keyed_actor_that_signs_from_then_on() {
        // Back to version 5 as main wrote it: no signatures, no key, an unkeyed actor.
        let (dir, store, id) = downgraded(
            |_, _| {},
            &format!(
                "DROP TABLE change_signatures; DELETE FROM store_meta WHERE name = 'signing_key';
                 UPDATE actors SET actor = randomblob(16); {FORM_INDEX} PRAGMA user_version = 5;"
            ),
        );
        assert_eq!(
            schema::version(&store.lock().conn).unwrap(),
            schema::CURRENT_VERSION
        );
        let key = store.public_key();
        let actor = store.lock().actor.clone();
        assert_eq!(minga_sync::signatures::actor_key(&actor), Some(key));
        let status = crate::document::Status::Complete;
        store.set_status(&id, status).unwrap();
        let signed = store.change_signatures(&id).unwrap();
        assert_eq!(signed.len(), 1, "the edit after the upgrade, signed");
        assert!(key.verifies(&signed[0].0, &signed[0].1));
        drop(store);
        let again = Store::open(
            dir.path().join("s.db"),
            Encryption::PlainFile,
            DeviceIdentity::new("d", "ana"),
        )
        .unwrap();
        assert_eq!(again.public_key(), key, "the key is kept in the store");
        assert_eq!(again.lock().actor, actor);
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
