//! The hub database's schema and its upgrades, through `PRAGMA user_version`.

use crate::error::Result;
use rusqlite::{Connection, OptionalExtension};

/// The schema version this build writes.
pub const CURRENT_VERSION: i64 = 9;

const VERSION_1: &str = "
CREATE TABLE projects (
    name TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE forms (
    project TEXT NOT NULL REFERENCES projects(name),
    form_id TEXT NOT NULL,
    version TEXT NOT NULL,
    published_at TEXT NOT NULL,
    definition TEXT NOT NULL,
    PRIMARY KEY (project, form_id, version)
);
CREATE TABLE enrolments (
    lookup TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL,
    project TEXT NOT NULL REFERENCES projects(name),
    role TEXT NOT NULL,
    device_name TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT,
    wrong_guesses INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    project TEXT NOT NULL REFERENCES projects(name),
    role TEXT NOT NULL,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    enrolled_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE TABLE documents (
    project TEXT NOT NULL REFERENCES projects(name),
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    author TEXT,
    subject TEXT,
    seq INTEGER NOT NULL UNIQUE,
    heads TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    bytes BLOB NOT NULL,
    PRIMARY KEY (project, id)
);
CREATE INDEX documents_by_seq ON documents (project, seq);
CREATE TABLE hub_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
-- Per device and project: how far sync has come (see minga-sync's PeerCursor) ...
CREATE TABLE peer_cursors (
    project TEXT NOT NULL,
    peer TEXT NOT NULL,
    theirs INTEGER NOT NULL,
    ours INTEGER NOT NULL,
    PRIMARY KEY (project, peer)
);
-- ... and the heads each document was last known to share with it.
CREATE TABLE peer_heads (
    project TEXT NOT NULL,
    peer TEXT NOT NULL,
    doc TEXT NOT NULL,
    heads TEXT NOT NULL,
    PRIMARY KEY (project, peer, doc)
);
";

/// Version 3: the projection of submissions that listings and filters read (one row per whole
/// submission, kept by the write path; times in microseconds since the epoch, UTC, so that
/// they sort as numbers), its indexes (`projection::INDEXES`), and each device's last sync.
const VERSION_3: &str = "
CREATE TABLE submissions (
    project TEXT NOT NULL,
    id TEXT NOT NULL,
    form_id TEXT NOT NULL,
    form_version TEXT NOT NULL,
    author TEXT,
    submitter TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    status TEXT NOT NULL,
    review_state TEXT NOT NULL,
    instance_name TEXT,
    deleted INTEGER NOT NULL,
    latitude REAL,
    longitude REAL,
    has_conflicts INTEGER NOT NULL,
    PRIMARY KEY (project, id)
);
ALTER TABLE devices ADD COLUMN last_sync_at TEXT;
";

/// Version 6: attachment contents per project (deduplicated by hash, hex), their chunks, and
/// which documents reference which content (every reference a stored version made).
pub(super) const VERSION_6: &str = "
CREATE TABLE attachments (
    project TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    stored INTEGER NOT NULL,
    complete INTEGER NOT NULL,
    uploader TEXT,
    PRIMARY KEY (project, sha256)
);
CREATE TABLE attachment_chunks (
    project TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    chunk INTEGER NOT NULL,
    bytes BLOB NOT NULL,
    PRIMARY KEY (project, sha256, chunk)
);
CREATE TABLE attachment_refs (
    project TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (project, sha256, doc)
);
";

/// Version 7: kinds as numbers (`DocKind::code`) and heads as bytes (`minga_sync::heads_to_bytes`)
/// instead of kind names and space-joined hex, in `documents` and `peer_heads`: the tables are
/// rebuilt with the new column types (SQLite converts a number put into a `TEXT` column back to
/// text). A name this build does not know, or heads that are not hex, fail the upgrade (`NOT
/// NULL`), leaving the file as it was. Idempotent: a database whose `documents.kind` is already a
/// number is left alone. Cost: one copy of both tables.
fn version_7_kinds_as_numbers_heads_as_bytes(tx: &Connection) -> Result<()> {
    let kind_type: Option<String> = tx
        .query_row(
            "SELECT type FROM pragma_table_info('documents') WHERE name = 'kind'",
            [],
            |row| row.get(0),
        )
        .optional()?;
    if kind_type.as_deref() != Some("TEXT") {
        return Ok(());
    }
    let kind_code = super::kind_name_to_code_arms();
    tx.execute_batch(&format!(
        "CREATE TABLE documents_v7 (
            project TEXT NOT NULL REFERENCES projects(name),
            id TEXT NOT NULL,
            kind INTEGER NOT NULL,
            author TEXT,
            subject TEXT,
            seq INTEGER NOT NULL UNIQUE,
            heads BLOB NOT NULL,
            updated_at TEXT NOT NULL,
            bytes BLOB NOT NULL,
            PRIMARY KEY (project, id)
        );
        INSERT INTO documents_v7
            SELECT project, id, CASE kind {kind_code} END, author, subject, seq,
                unhex(replace(heads, ' ', '')), updated_at, bytes
            FROM documents;
        DROP TABLE documents;
        ALTER TABLE documents_v7 RENAME TO documents;
        CREATE INDEX documents_by_seq ON documents (project, seq);
        CREATE TABLE peer_heads_v7 (
            project TEXT NOT NULL,
            peer TEXT NOT NULL,
            doc TEXT NOT NULL,
            heads BLOB NOT NULL,
            PRIMARY KEY (project, peer, doc)
        );
        INSERT INTO peer_heads_v7
            SELECT project, peer, doc, unhex(replace(heads, ' ', '')) FROM peer_heads;
        DROP TABLE peer_heads;
        ALTER TABLE peer_heads_v7 RENAME TO peer_heads;"
    ))?;
    Ok(())
}

/// Version 9: why each submission breaks its form version (flagged as invalid on arrival),
/// checked for the submissions already stored against the forms already published.
fn version_9_invalid_flags(tx: &mut rusqlite::Transaction<'_>) -> Result<()> {
    add_invalid_flag(tx)?;
    super::sqlite::backfill_invalid_flags(tx)
}

/// The invalid flag's column and index, where missing (see `projection::INVALID_INDEX`).
fn add_invalid_flag(tx: &Connection) -> Result<()> {
    let present: i64 = tx.query_row(
        "SELECT count(*) FROM pragma_table_info('submissions') WHERE name = 'invalid_reasons'",
        [],
        |row| row.get(0),
    )?;
    if present == 0 {
        tx.execute_batch(super::projection::INVALID_COLUMN)?;
    }
    tx.execute_batch(super::projection::INVALID_INDEX)?;
    Ok(())
}

/// Brings a database at any earlier version up to [`CURRENT_VERSION`], one step at a time.
pub fn upgrade(conn: &mut Connection) -> Result<()> {
    let mut tx = conn.transaction()?;
    let mut version: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    while version < CURRENT_VERSION {
        // The steps that fill data (2, 3, 6, 8, 9) read and write documents through this build's
        // code, which keeps kinds as numbers and heads as bytes: version 7's form of the
        // tables comes before the first of them, whatever version the file starts from.
        if version >= 1 {
            version_7_kinds_as_numbers_heads_as_bytes(&tx)?;
        }
        match version {
            0 => tx.execute_batch(VERSION_1)?,
            // Version 2: a published form is also a form document that devices sync; the forms
            // a hub published before gain theirs.
            1 => super::sqlite::store_missing_form_documents(&mut tx)?,
            2 => {
                tx.execute_batch(VERSION_3)?;
                tx.execute_batch(super::projection::INDEXES)?;
                // Rows are written in this build's shape, invalid flag included (version 9).
                add_invalid_flag(&tx)?;
                super::sqlite::backfill_projection(&mut tx)?;
            }
            // Version 4: the console's users, sessions, sign-in failures and audit log.
            3 => tx.execute_batch(&super::sqlite::console_tables())?,
            // Version 5: the signatures of the keyed changes the hub stores, and the devices'
            // keys. Nothing to fill: changes stored before signing existed are unkeyed and
            // have none, and devices enrolled before bound no key.
            4 => {
                tx.execute_batch(super::signatures::SQLITE_TABLE)?;
                tx.execute_batch(super::keys::SQLITE_TABLE)?;
            }
            // Version 6: attachments, and the references of the documents already stored.
            5 => {
                tx.execute_batch(VERSION_6)?;
                super::sqlite::backfill_attachment_refs(&mut tx)?;
            }
            // Version 7: kinds as numbers, heads as bytes (already done above).
            6 => version_7_kinds_as_numbers_heads_as_bytes(&tx)?,
            // Version 8: the select and numeric answers of each submission, filled for the
            // submissions already stored.
            7 => {
                tx.execute_batch(&super::answers::table_sql(
                    "INTEGER",
                    "REAL",
                    " WITHOUT ROWID",
                ))?;
                super::sqlite::backfill_answers(&mut tx)?;
            }
            8 => version_9_invalid_flags(&mut tx)?,
            _ => unreachable!("every version below CURRENT_VERSION has an upgrade step"),
        }
        version += 1;
    }
    tx.pragma_update(None, "user_version", version)?;
    tx.commit()?;
    Ok(())
}
