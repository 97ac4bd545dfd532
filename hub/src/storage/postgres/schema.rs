//! The PostgreSQL schema and its upgrades, through the one-row table `minga_hub_schema` (the
//! counterpart of SQLite's `PRAGMA user_version` in `storage/schema.rs`). Hub processes starting
//! together take an advisory lock, so one creates or upgrades and the others find it done.

use crate::error::{HubError, Result};
use postgres::{Client, Transaction};

/// The schema version this build writes.
pub const CURRENT_VERSION: i32 = 8;

/// The advisory lock key held while the schema is checked or upgraded ("minga" in ASCII).
const UPGRADE_LOCK: i64 = 0x6d_69_6e_67_61;

/// The SQLite schema's tables at its version 2 (form documents included from the start), in
/// PostgreSQL's types. Differences: times are `timestamptz`; forms keep their publishing order
/// in `position`; a project's `last_seq` numbers its documents (see `PostgresStorage`).
const VERSION_1: &str = "
CREATE TABLE projects (
    name TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    last_seq BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE forms (
    position BIGINT GENERATED ALWAYS AS IDENTITY,
    project TEXT NOT NULL REFERENCES projects(name),
    form_id TEXT NOT NULL,
    version TEXT NOT NULL,
    published_at TIMESTAMPTZ NOT NULL,
    definition TEXT NOT NULL,
    PRIMARY KEY (project, form_id, version)
);
CREATE TABLE enrolments (
    lookup TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL,
    project TEXT NOT NULL REFERENCES projects(name),
    role TEXT NOT NULL,
    device_name TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at TIMESTAMPTZ,
    wrong_guesses INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    project TEXT NOT NULL REFERENCES projects(name),
    role TEXT NOT NULL,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    enrolled_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);
CREATE TABLE documents (
    project TEXT NOT NULL REFERENCES projects(name),
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    author TEXT,
    subject TEXT,
    seq BIGINT NOT NULL,
    heads TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    bytes BYTEA NOT NULL,
    PRIMARY KEY (project, id),
    UNIQUE (project, seq)
);
CREATE TABLE hub_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE peer_cursors (
    project TEXT NOT NULL,
    peer TEXT NOT NULL,
    theirs BIGINT NOT NULL,
    ours BIGINT NOT NULL,
    PRIMARY KEY (project, peer)
);
CREATE TABLE peer_heads (
    project TEXT NOT NULL,
    peer TEXT NOT NULL,
    doc TEXT NOT NULL,
    heads TEXT NOT NULL,
    PRIMARY KEY (project, peer, doc)
);
";

/// Version 2 (SQLite's version 3): the projection of submissions that listings and filters
/// read, kept by the write path, its indexes (`projection::INDEXES`), and each device's last
/// sync.
const VERSION_2: &str = "
CREATE TABLE submissions (
    project TEXT NOT NULL,
    id TEXT NOT NULL,
    form_id TEXT NOT NULL,
    form_version TEXT NOT NULL,
    author TEXT,
    submitter TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    status TEXT NOT NULL,
    review_state TEXT NOT NULL,
    instance_name TEXT,
    deleted BOOLEAN NOT NULL,
    latitude DOUBLE PRECISION,
    longitude DOUBLE PRECISION,
    has_conflicts BOOLEAN NOT NULL,
    PRIMARY KEY (project, id)
);
ALTER TABLE devices ADD COLUMN last_sync_at TIMESTAMPTZ;
";

/// Version 5 (SQLite's version 6): attachment contents per project (deduplicated by hash,
/// hex), their chunks, and which documents reference which content.
const VERSION_5: &str = "
CREATE TABLE attachments (
    project TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    stored BIGINT NOT NULL,
    complete BOOLEAN NOT NULL,
    uploader TEXT,
    PRIMARY KEY (project, sha256)
);
CREATE TABLE attachment_chunks (
    project TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    chunk BIGINT NOT NULL,
    bytes BYTEA NOT NULL,
    PRIMARY KEY (project, sha256, chunk)
);
CREATE TABLE attachment_refs (
    project TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (project, sha256, doc)
);
";

/// Version 6 (SQLite's version 7): kinds as numbers (`DocKind::code`, `SMALLINT`) and heads as
/// bytes (`minga_sync::heads_to_bytes`, `BYTEA`) instead of kind names and space-joined hex, in
/// `documents` and `peer_heads`. A name this build does not know fails the upgrade (`NOT NULL`),
/// heads that are not hex too. Idempotent: a database whose `documents.kind` is already a number
/// is left alone. Cost: one rewrite of both tables.
fn version_6_kinds_as_numbers_heads_as_bytes(tx: &mut Transaction<'_>) -> Result<()> {
    let kind_type = tx.query_opt(
        "SELECT data_type FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = 'documents'
             AND column_name = 'kind'",
        &[],
    )?;
    let kind_type: Option<String> = kind_type.map(|row| row.try_get(0)).transpose()?;
    if kind_type.as_deref() != Some("text") {
        return Ok(());
    }
    let kind_code = crate::storage::kind_name_to_code_arms();
    tx.batch_execute(&format!(
        "ALTER TABLE documents
            ALTER COLUMN kind TYPE SMALLINT USING (CASE kind {kind_code} END),
            ALTER COLUMN heads TYPE BYTEA USING decode(replace(heads, ' ', ''), 'hex');
        ALTER TABLE peer_heads
            ALTER COLUMN heads TYPE BYTEA USING decode(replace(heads, ' ', ''), 'hex');"
    ))?;
    Ok(())
}

/// Version 8 (SQLite's version 9): why each submission breaks its form version (flagged as
/// invalid on arrival), checked for the submissions already stored against the forms already
/// published.
fn version_8_invalid_flags(tx: &mut Transaction<'_>) -> Result<()> {
    add_invalid_flag(tx)?;
    super::backfill_invalid_flags(tx)
}

/// The invalid flag's column and index, where missing (see `projection::INVALID_INDEX`).
fn add_invalid_flag(tx: &mut Transaction<'_>) -> Result<()> {
    tx.batch_execute("ALTER TABLE submissions ADD COLUMN IF NOT EXISTS invalid_reasons TEXT;")?;
    tx.batch_execute(crate::storage::projection::INVALID_INDEX)?;
    Ok(())
}

/// Brings the database at any earlier version up to [`CURRENT_VERSION`] in one transaction;
/// refuses a database written by a newer hub.
pub fn upgrade(client: &mut Client) -> Result<()> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&UPGRADE_LOCK])?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS minga_hub_schema (version INTEGER NOT NULL)")?;
    let found = tx.query_opt("SELECT version FROM minga_hub_schema", &[])?;
    let mut version: i32 = found.map(|row| row.get(0)).unwrap_or(0);
    if version > CURRENT_VERSION {
        return Err(HubError::Corrupt(format!(
            "the PostgreSQL database has hub schema version {version}, newer than this hub \
             ({CURRENT_VERSION}); upgrade minga-hub"
        )));
    }
    while version < CURRENT_VERSION {
        // The steps that fill data (2, 5, 7, 8) read and write documents through this build's code,
        // which keeps kinds as numbers and heads as bytes: version 6's form of the tables
        // comes before the first of them, whatever version the database starts from.
        if version >= 1 {
            version_6_kinds_as_numbers_heads_as_bytes(&mut tx)?;
        }
        match version {
            0 => tx.batch_execute(VERSION_1)?,
            1 => {
                tx.batch_execute(VERSION_2)?;
                tx.batch_execute(crate::storage::projection::INDEXES)?;
                // Rows are written in this build's shape, invalid flag included (version 8).
                add_invalid_flag(&mut tx)?;
                super::backfill_projection(&mut tx)?;
            }
            // Version 3: the console's users, sessions, sign-in failures and audit log.
            2 => tx.batch_execute(&super::console::console_tables())?,
            // Version 4 (SQLite's version 5): the signatures of the keyed changes it stores,
            // and the devices' keys.
            3 => {
                tx.batch_execute(crate::storage::signatures::POSTGRES_TABLE)?;
                tx.batch_execute(crate::storage::keys::POSTGRES_TABLE)?;
            }
            // Version 5: attachments, and the references of the documents already stored.
            4 => {
                tx.batch_execute(VERSION_5)?;
                super::backfill_attachment_refs(&mut tx)?;
            }
            // Version 6: kinds as numbers, heads as bytes (already done above).
            5 => version_6_kinds_as_numbers_heads_as_bytes(&mut tx)?,
            // Version 7 (SQLite's version 8): the select and numeric answers of each
            // submission, filled for the submissions already stored.
            6 => {
                tx.batch_execute(&crate::storage::answers::table_sql(
                    "TIMESTAMPTZ",
                    "DOUBLE PRECISION",
                    "",
                ))?;
                super::backfill_answers(&mut tx)?;
            }
            7 => version_8_invalid_flags(&mut tx)?,
            _ => unreachable!("every version below CURRENT_VERSION has an upgrade step"),
        }
        version += 1;
    }
    tx.execute("DELETE FROM minga_hub_schema", &[])?;
    tx.execute(
        "INSERT INTO minga_hub_schema (version) VALUES ($1)",
        &[&version],
    )?;
    tx.commit()?;
    Ok(())
}
