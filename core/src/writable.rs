//! Whether a database file can be written, asked before SQLite opens it: SQLite opens a file it
//! may not write read-only without a word, and fails later with "unable to open database file",
//! which names neither the file nor the cause. Shared by the phone's store and the hub.

use std::path::Path;

/// Why the file at `path` cannot be written (a read-only file system, a file or folder made
/// read-only or immutable), or `None` when it can. Opens the file for writing without changing a
/// byte, creating it empty when absent (as SQLite would). Root ignores file modes, but not a
/// read-only mount or `chattr +i`. Other I/O failures (a folder that does not exist) are errors.
pub fn unwritable_reason(path: &Path) -> std::io::Result<Option<String>> {
    let opened = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path);
    match opened {
        Ok(_) => Ok(None),
        Err(error)
            if matches!(
                error.kind(),
                std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
            ) =>
        {
            Ok(Some(error.to_string()))
        }
        Err(error) => Err(error),
    }
}

/// Whether SQLite failed to open or write a file it should have been able to: on a database
/// file that can be written, this means its folder refuses the journal files SQLite keeps beside
/// it (`-wal`, `-shm`).
pub fn is_journal_refusal(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::CannotOpen | rusqlite::ErrorCode::ReadOnly)
    )
}

/// The reason given when SQLite refuses the journal files beside a database that can be written.
pub fn journal_refusal_reason(path: &Path, error: &rusqlite::Error) -> String {
    let folder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    format!(
        "SQLite cannot create its journal files (-wal, -shm) in the folder {} ({error}); the folder is read-only",
        folder.display()
    )
}
