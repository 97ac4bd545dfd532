//! `minga-hub backup` and `restore` for a SQLite hub: a folder holding a consistent copy of the
//! database (still encrypted, with the same key), the key file, and a manifest (when, which hub
//! version and schema, the database's SHA-256). The copy is SQLite's `VACUUM INTO`, which reads
//! one snapshot of the database: a `serve` writing meanwhile is not stopped, and what it
//! commits after the snapshot is simply not in the copy. A PostgreSQL hub is backed up with
//! PostgreSQL's own pg_dump. Restoring refuses a folder that already holds a hub, and gives the
//! restored hub a new sync epoch: its history went back to the backup's time, so each device
//! drops the cursor and shared heads it learnt from the hub before and compares heads with it
//! again, sending back the work it synced after the backup and taking what the hub has.

use crate::error::{HubError, Result};
use crate::storage::{HubStorage, SqliteStorage, DATABASE_FILE};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The manifest's file name in a backup folder.
pub const MANIFEST: &str = "minga-hub-backup.json";
/// The key file's name in a backup folder.
const KEY_FILE: &str = "hub.sqlite3.key";
/// The manifest format this build writes and reads.
const FORMAT: u32 = 1;

/// What a backup folder holds, as its manifest says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub taken_at: DateTime<Utc>,
    /// The minga-hub version that took it.
    pub hub_version: String,
    pub schema_version: i64,
    pub database: String,
    pub key_file: String,
    /// Lowercase hex SHA-256 of the database file, checked before a restore.
    pub database_sha256: String,
}

/// The files a backup wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Backup {
    pub files: Vec<PathBuf>,
    pub manifest: Manifest,
}

/// Where a restore put the hub.
#[derive(Debug, Clone, PartialEq)]
pub struct Restored {
    pub data: PathBuf,
    pub key_file: PathBuf,
    pub taken_at: DateTime<Utc>,
}

fn failed(what: impl std::fmt::Display) -> HubError {
    HubError::Backup(what.to_string())
}

/// Copies the hub in `data` (database key in `key_file`) into `out`, a new or empty folder.
/// Cost: reads the database once and writes it once.
pub fn backup(data: &Path, key_file: &Path, out: &Path) -> Result<Backup> {
    let storage = SqliteStorage::open_existing(data, key_file)?;
    if std::fs::read_dir(out).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(failed(format!(
            "{} is not empty; back up into a new folder",
            out.display()
        )));
    }
    std::fs::create_dir_all(out).map_err(|e| HubError::io(out, e))?;
    let database = out.join(DATABASE_FILE);
    let schema_version = storage.copy_into(&database)?;
    drop(storage);
    let key = out.join(KEY_FILE);
    write_private(&key, &read(key_file)?)?;
    let manifest = Manifest {
        format: FORMAT,
        taken_at: Utc::now(),
        hub_version: env!("CARGO_PKG_VERSION").into(),
        schema_version,
        database: DATABASE_FILE.into(),
        key_file: KEY_FILE.into(),
        database_sha256: sha256_of(&database)?,
    };
    let manifest_path = out.join(MANIFEST);
    let text = serde_json::to_string_pretty(&manifest).map_err(failed)?;
    std::fs::write(&manifest_path, text).map_err(|e| HubError::io(&manifest_path, e))?;
    Ok(Backup {
        files: vec![database, key, manifest_path],
        manifest,
    })
}

/// Brings the backup in `from` back as the hub in `data` (key file at `key_file`), refusing a
/// folder that holds a hub or a key file that exists, and a database whose checksum is not the
/// manifest's. The restored hub is opened once to check the key and the database, and given a
/// new sync epoch (see the module's comment). Cost:
/// reads the backup twice and writes it once.
pub fn restore(from: &Path, data: &Path, key_file: &Path) -> Result<Restored> {
    let refused = |why: String| HubError::Restore(why);
    let manifest_path = from.join(MANIFEST);
    let manifest: Manifest = serde_json::from_slice(&read(&manifest_path).map_err(|_| {
        refused(format!(
            "{} is not a minga-hub backup: it has no {MANIFEST}",
            from.display()
        ))
    })?)
    .map_err(|e| refused(format!("{}: {e}", manifest_path.display())))?;
    if manifest.format != FORMAT {
        return Err(refused(format!(
            "{} is a backup of format {}, which this hub does not read; use a newer minga-hub",
            from.display(),
            manifest.format
        )));
    }
    let database = data.join(DATABASE_FILE);
    for (path, what) in [
        (&database, "a hub database"),
        (&key_file.to_path_buf(), "a key file"),
    ] {
        if path.exists() {
            return Err(refused(format!(
                "{} already exists ({what}); restore into a new folder, so that no hub is overwritten",
                path.display()
            )));
        }
    }
    let source = from.join(&manifest.database);
    if sha256_of(&source)? != manifest.database_sha256 {
        return Err(refused(format!(
            "{} is not the database the backup wrote (its SHA-256 differs from the manifest's)",
            source.display()
        )));
    }
    std::fs::create_dir_all(data).map_err(|e| HubError::io(data, e))?;
    write_private(key_file, &read(&from.join(&manifest.key_file))?)?;
    std::fs::copy(&source, &database).map_err(|e| HubError::io(&database, e))?;
    let restored = SqliteStorage::open_existing(data, key_file)?;
    restored.renew_hub_epoch()?;
    let check = restored.integrity_check()?;
    if check != ["ok"] {
        return Err(refused(format!(
            "the restored database fails SQLite's check: {}",
            check.join("; ")
        )));
    }
    Ok(Restored {
        data: data.into(),
        key_file: key_file.into(),
        taken_at: manifest.taken_at,
    })
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| HubError::io(path, e))
}

/// Writes a new file only its owner may read (a key), refusing one that exists.
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| HubError::io(path, e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| HubError::io(path, e))
}

/// Lowercase hex SHA-256 of a file. Cost: reads it once.
fn sha256_of(path: &Path) -> Result<String> {
    let mut file = std::fs::File::open(path).map_err(|e| HubError::io(path, e))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(|e| HubError::io(path, e))?;
    Ok(hex::encode(hasher.finalize()))
}
