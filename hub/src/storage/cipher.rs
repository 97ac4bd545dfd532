//! Encryption at rest for the SQLite backend: opening the database with its SQLCipher key and
//! telling a wrong key from a foreign file (both through the core's `sqlcipher` module, which
//! the phone's store opens with too), and encrypting in place a database an older hub left
//! plain.

use super::keyfile::HubKey;
use crate::error::{HubError, Result};
use minga_core::sqlcipher::{self, Probe};
use rusqlite::{Connection, OpenFlags};
use std::path::Path;

/// What is at the database's path before it is opened: no file (or an empty one), a plain
/// SQLite file as hubs wrote before they encrypted, or anything else.
pub use minga_core::sqlcipher::FileState;

/// Looks at the first bytes of `database` (the core's sniffing, shared with the phone's store).
pub fn file_state(database: &Path) -> Result<FileState> {
    sqlcipher::file_state(database).map_err(|e| HubError::io(database, e))
}

/// Opens `database` with `key` and reads its first page, so that a wrong key fails here with
/// [`HubError::WrongKey`] naming both files rather than at the first query.
pub fn open_keyed(database: &Path, key: &HubKey, key_file: &Path) -> Result<Connection> {
    let conn = sqlcipher::connect(database, OpenFlags::default(), Some(key.raw()))?;
    // Another hub process (serve and an admin command) may hold the database for a moment.
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    match sqlcipher::probe(&conn)? {
        Probe::Readable { .. } => Ok(conn),
        Probe::Unreadable { .. } => Err(HubError::WrongKey {
            database: database.display().to_string(),
            key_file: key_file.display().to_string(),
        }),
    }
}

/// Replaces the plain database at `database` by an encrypted copy (SQLCipher's
/// `sqlcipher_export`), keeping its schema version. The copy is written beside it, checked by
/// opening it with `key`, and only then renamed over the plain file, so a failure at any point
/// leaves the plain database as it was. The caller holds [`lock_for_opening`].
pub fn encrypt_in_place(database: &Path, key: &HubKey, key_file: &Path) -> Result<()> {
    let copy = beside(database, ".encrypting");
    remove_if_present(&copy)?;
    export_encrypted(database, &copy, key)?;
    drop(open_keyed(&copy, key, key_file)?);
    std::fs::rename(&copy, database).map_err(|e| HubError::io(database, e))?;
    // The plain database was switched out of WAL before the export; no -wal or -shm of it stays.
    tracing::warn!(
        database = %database.display(),
        key_file = %key_file.display(),
        "encrypted the hub database, which an earlier hub had left unencrypted"
    );
    Ok(())
}

/// An exclusive lock (a lock file beside the database) held while a hub process opens the
/// database: hubs that start together (`serve` and an admin command after an upgrade) take
/// turns, so one encrypts a plain database, switches it to WAL and upgrades its schema while
/// the other waits, and never renames a copy over what the first wrote. Released on drop.
pub fn lock_for_opening(database: &Path) -> Result<std::fs::File> {
    let path = beside(database, ".open-lock");
    let lock = std::fs::File::create(&path).map_err(|e| HubError::io(&path, e))?;
    lock.lock().map_err(|e| HubError::io(&path, e))?;
    Ok(lock)
}

/// `database` with `suffix` appended to its file name.
fn beside(database: &Path, suffix: &str) -> std::path::PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(suffix);
    std::path::PathBuf::from(name)
}

fn export_encrypted(plain: &Path, copy: &Path, key: &HubKey) -> Result<()> {
    let conn = Connection::open(plain)?;
    // Folds any write-ahead log into the file, so the export sees everything and nothing of
    // the plain database is left beside the encrypted one.
    conn.pragma_update(None, "journal_mode", "DELETE")?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    let copy_text = copy
        .to_str()
        .ok_or_else(|| HubError::Corrupt(format!("{} is not UTF-8", copy.display())))?;
    sqlcipher::keying(|| {
        conn.execute(
            "ATTACH DATABASE ?1 AS encrypted KEY ?2",
            [copy_text, &key.sqlcipher_literal()],
        )
    })?;
    conn.query_row("SELECT sqlcipher_export('encrypted')", [], |_| Ok(()))?;
    // sqlcipher_export copies the schema and rows, not the header's user_version.
    conn.pragma_update(Some("encrypted"), "user_version", version)?;
    conn.execute_batch("DETACH DATABASE encrypted")?;
    Ok(())
}

fn remove_if_present(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(HubError::io(path, e)),
        _ => Ok(()),
    }
}
