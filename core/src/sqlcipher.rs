//! Opening an SQLCipher database, shared by the phone's store and the hub: what a file is before
//! it is opened (no file, a plain SQLite file, anything else), the connection handed its 32-byte
//! raw key, and the first read that tells a wrong key (or a foreign file) from a readable
//! database. Each caller turns the answers into its own errors, naming its own files.

use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::sync::Mutex;

/// The first 16 bytes of every unencrypted SQLite file.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// What is at a database's path before it is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileState {
    /// No file, or an empty one (a crash while it was first being created leaves one): nothing
    /// to lose.
    New,
    /// An unencrypted SQLite file.
    Plain,
    /// Anything else: an encrypted database, or a foreign file (which [`probe`] reports).
    Encrypted,
}

/// Looks at the first bytes of the file at `path`, without changing it. Cost: one small read.
pub fn file_state(path: &Path) -> std::io::Result<FileState> {
    use std::io::Read;
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(FileState::New),
        Err(error) => return Err(error),
    };
    let mut header = Vec::with_capacity(SQLITE_HEADER.len());
    file.take(SQLITE_HEADER.len() as u64)
        .read_to_end(&mut header)?;
    Ok(if header.is_empty() {
        FileState::New
    } else if header == SQLITE_HEADER {
        FileState::Plain
    } else {
        FileState::Encrypted
    })
}

/// A raw key as SQLCipher takes it (`x'<64 hex digits>'`): no passphrase derivation, so that
/// opening stays fast.
pub fn key_literal(key: &[u8; 32]) -> String {
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    format!("x'{hex}'")
}

/// Held while SQLCipher is handed a key. It sets up its crypto provider for a connection's
/// first key, and two threads doing so at once were seen to fail with "An error occurred with
/// PRAGMA key or rekey" on fresh files (twice in about seventy runs of the test suites, whose
/// tests open stores in parallel). Keys are handed over one at a time: opening is rare.
static KEYING: Mutex<()> = Mutex::new(());

/// Runs `key` (a `PRAGMA key`, an `ATTACH ... KEY`) while no other thread hands SQLCipher a key.
pub fn keying<R>(key: impl FnOnce() -> R) -> R {
    let _alone = KEYING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    key()
}

/// Opens the database at `path` with `flags` and hands it `key` (none for a plain file).
/// SQLCipher's own logging of decryption failures is turned off: callers report them as typed
/// errors. Nothing is read yet: [`probe`] tells whether the key opens the file.
pub fn connect(
    path: &Path,
    flags: OpenFlags,
    key: Option<&[u8; 32]>,
) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(path, flags)?;
    conn.execute_batch("PRAGMA cipher_log_level = NONE;")?;
    if let Some(key) = key {
        keying(|| conn.pragma_update(None, "key", key_literal(key)))?;
    }
    Ok(conn)
}

/// What the first read through a connection found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// The file reads: its schema holds this many objects (0 for a new database).
    Readable { schema_objects: i64 },
    /// The key does not open it, or it is not a database: with SQLCipher the two look the same,
    /// since an encrypted file is indistinguishable from random bytes. `reason` is SQLite's.
    Unreadable { reason: String },
}

/// Reads the first page (the schema's object count), so that a wrong key fails here rather than
/// at the first query. Other failures (I/O, a busy file) are errors. Cost: one page read.
pub fn probe(conn: &Connection) -> rusqlite::Result<Probe> {
    let count = conn.query_row("SELECT count(*) FROM sqlite_master", [], |row| {
        row.get::<_, i64>(0)
    });
    match count {
        Ok(schema_objects) => Ok(Probe::Readable { schema_objects }),
        Err(error) if error.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) => {
            Ok(Probe::Unreadable {
                reason: error.to_string(),
            })
        }
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags() -> OpenFlags {
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE
    }

    #[test]
    fn a_file_is_new_plain_or_encrypted_by_its_first_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        assert_eq!(file_state(&path).unwrap(), FileState::New);
        std::fs::write(&path, b"").unwrap();
        assert_eq!(file_state(&path).unwrap(), FileState::New);
        let plain = connect(&path, flags(), None).unwrap();
        plain.execute_batch("CREATE TABLE t (x)").unwrap();
        drop(plain);
        assert_eq!(file_state(&path).unwrap(), FileState::Plain);
        let sealed = dir.path().join("sealed");
        let keyed = connect(&sealed, flags(), Some(&[7; 32])).unwrap();
        keyed.execute_batch("CREATE TABLE t (x)").unwrap();
        drop(keyed);
        assert_eq!(file_state(&sealed).unwrap(), FileState::Encrypted);
    }

    #[test]
    fn only_the_right_key_reads_an_encrypted_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let keyed = connect(&path, flags(), Some(&[7; 32])).unwrap();
        keyed.execute_batch("CREATE TABLE t (x)").unwrap();
        drop(keyed);
        let right = connect(&path, flags(), Some(&[7; 32])).unwrap();
        assert_eq!(
            probe(&right).unwrap(),
            Probe::Readable { schema_objects: 1 }
        );
        let wrong = connect(&path, flags(), Some(&[8; 32])).unwrap();
        assert!(matches!(probe(&wrong).unwrap(), Probe::Unreadable { .. }));
        let plain = connect(&path, flags(), None).unwrap();
        assert!(matches!(probe(&plain).unwrap(), Probe::Unreadable { .. }));
    }
}
