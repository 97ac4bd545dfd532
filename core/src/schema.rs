//! The store's schema: every table's definition (DDL) for a fresh file, the ordered upgrade
//! steps that bring an older file to it (keyed by `PRAGMA user_version`) with the data each
//! step must fill in, and how a file proves it is a Minga store. The rows of each table are
//! written by its own module in `storage`; this file only creates, upgrades and empties tables.

use crate::error::{Error, Result};
use rusqlite::{Connection, Transaction};
use std::path::Path;

/// The schema version this code writes. A file with a higher `user_version` is refused.
pub const CURRENT_VERSION: i64 = 9;

/// What `store_meta.format` holds in every Minga store: how a file proves it is one.
pub const FORMAT_MARKER: &str = "minga-store";

/// The current schema, as a fresh store gets it (with [`SUBMISSIONS_TABLE`]). Every change
/// here needs an upgrade step below; the test `upgrading_each_old_version_matches_a_fresh_store`
/// holds the two together.
const FRESH_SCHEMA: &str = "
CREATE TABLE store_meta (
    name  TEXT PRIMARY KEY NOT NULL,
    value NOT NULL
) WITHOUT ROWID;

CREATE TABLE actors (
    device_id TEXT NOT NULL,
    user_name TEXT NOT NULL,
    actor     BLOB NOT NULL,
    PRIMARY KEY (device_id, user_name)
) WITHOUT ROWID;

CREATE TABLE documents (
    doc_id         BLOB PRIMARY KEY NOT NULL,
    kind           INTEGER NOT NULL,
    seq            INTEGER NOT NULL,
    heads          BLOB NOT NULL,
    snapshot_len   INTEGER NOT NULL,
    increments_len INTEGER NOT NULL
) WITHOUT ROWID;
CREATE UNIQUE INDEX documents_by_seq ON documents (seq);

CREATE TABLE chunks (
    chunk_id INTEGER PRIMARY KEY,
    doc_id   BLOB NOT NULL,
    bytes    BLOB NOT NULL
);
CREATE INDEX chunks_by_doc ON chunks (doc_id, chunk_id);
";

/// The list projection, new in version 2: part of a fresh store, and the whole of the step
/// from version 1.
const SUBMISSIONS_TABLE: &str = "
CREATE TABLE submissions (
    doc_id        BLOB PRIMARY KEY NOT NULL,
    form_id       TEXT NOT NULL,
    form_version  TEXT NOT NULL,
    status        TEXT NOT NULL,
    author        TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    instance_name TEXT,
    latitude      REAL,
    longitude     REAL,
    deleted_at    INTEGER
) WITHOUT ROWID;
CREATE INDEX submissions_by_updated ON submissions (updated_at, doc_id);
CREATE INDEX submissions_by_form ON submissions (form_id, updated_at, doc_id);
";

/// Version 6 drops the form index: every answer's edit moved its `updated_at`, so each
/// write dirtied that index's pages too (two more pages to encrypt and fsync per answer). A
/// list of one form now walks the time index newest first, skipping other forms' rows.
const ONE_PROJECTION_INDEX: &str = "DROP INDEX submissions_by_form;";

/// Whether a submission holds answers with concurrent values, new in version 5: lets a
/// supervisor list the submissions to settle without decoding every document. The partial
/// index holds only the flagged rows, newest change first, so that listing them reads only
/// them.
const CONFLICT_FLAG: &str = "
ALTER TABLE submissions ADD COLUMN has_conflicts INTEGER NOT NULL DEFAULT 0;
CREATE INDEX submissions_with_conflicts ON submissions (updated_at, doc_id)
    WHERE has_conflicts = 1;
";

/// The signature of every keyed change the store holds, new in version 7 (signed changes):
/// keyed by document and change hash (a copy of a document shares its changes, so one change
/// may be in several), so that a whole document's signatures are one range of the key. The
/// signing key itself is a `store_meta` row (`storage::signatures`).
const CHANGE_SIGNATURES_TABLE: &str = "
CREATE TABLE change_signatures (
    doc_id      BLOB NOT NULL,
    change_hash BLOB NOT NULL,
    signature   BLOB NOT NULL,
    PRIMARY KEY (doc_id, change_hash)
) WITHOUT ROWID;
";

/// Each reviewed submission's review state, new in version 4: lets a supervisor's list show
/// and filter by verdict without decoding review documents. Keyed by the submission (not the
/// review) so that a review arriving before its submission is already in place when it does.
const REVIEW_STATES_TABLE: &str = "
CREATE TABLE review_states (
    submission_id BLOB PRIMARY KEY NOT NULL,
    state         TEXT NOT NULL
) WITHOUT ROWID;
";

/// Attachment contents, new in version 8: one row per content (named by its SHA-256 once whole
/// and checked) and its chunks, kept inside this encrypted file (`storage/attachments.rs`), and
/// which documents reference which content (every reference a stored version made: what sync
/// fetches and what a peer may be sent). A rowid table for the chunks, since SQLite advises
/// against WITHOUT ROWID for rows this large.
const ATTACHMENTS_TABLES: &str = "
CREATE TABLE attachments (
    attachment_id INTEGER PRIMARY KEY,
    sha256        BLOB UNIQUE,
    size          INTEGER NOT NULL,
    stored        INTEGER NOT NULL,
    complete      INTEGER NOT NULL
);

CREATE TABLE attachment_chunks (
    attachment_id INTEGER NOT NULL,
    chunk_index   INTEGER NOT NULL,
    bytes         BLOB NOT NULL,
    PRIMARY KEY (attachment_id, chunk_index)
);

CREATE TABLE attachment_refs (
    sha256 BLOB NOT NULL,
    doc_id BLOB NOT NULL,
    PRIMARY KEY (sha256, doc_id)
) WITHOUT ROWID;
";

/// Why a submission breaks its form version, new in version 9 (issue "Form fidelity"): what
/// arrives is kept whatever its content and flagged instead, with its reasons (a JSON list of
/// `{question, reason}`; `NULL` when it fits or its form is not held). The partial index
/// holds only the flagged rows, newest change first, so that listing them reads only them.
const INVALID_FLAG: &str = "
ALTER TABLE submissions ADD COLUMN invalid_reasons TEXT;
CREATE INDEX submissions_flagged_invalid ON submissions (updated_at, doc_id)
    WHERE invalid_reasons IS NOT NULL;
";

/// What the store remembers per sync peer, new in version 3: the cursor (`theirs`, `ours`, as
/// sync's `PeerCursor`) and the heads last shared per document. Sequence numbers are stored as
/// the bits of a `u64` (SQLite integers are signed). `peer_heads.doc_id` is the id as sync
/// spells it (text), so that heads are kept even for an id this store would refuse.
const PEERS_TABLES: &str = "
CREATE TABLE peers (
    peer_id TEXT PRIMARY KEY NOT NULL,
    theirs  INTEGER NOT NULL,
    ours    INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE peer_heads (
    peer_id TEXT NOT NULL,
    doc_id  TEXT NOT NULL,
    heads   BLOB NOT NULL,
    PRIMARY KEY (peer_id, doc_id)
) WITHOUT ROWID;
";

/// Creates the current schema in an empty database, inside the caller's transaction.
pub fn create_fresh(tx: &Transaction<'_>) -> Result<()> {
    tx.execute_batch(FRESH_SCHEMA)?;
    tx.execute_batch(SUBMISSIONS_TABLE)?;
    tx.execute_batch(PEERS_TABLES)?;
    tx.execute_batch(REVIEW_STATES_TABLE)?;
    tx.execute_batch(CONFLICT_FLAG)?;
    // The tables as the steps left them: the form index of version 2 is dropped again.
    tx.execute_batch(ONE_PROJECTION_INDEX)?;
    tx.execute_batch(CHANGE_SIGNATURES_TABLE)?;
    tx.execute_batch(ATTACHMENTS_TABLES)?;
    tx.execute_batch(INVALID_FLAG)?;
    tx.execute(
        "INSERT INTO store_meta (name, value) VALUES ('format', ?1), ('last_seq', 0)",
        [FORMAT_MARKER],
    )?;
    set_version(tx, CURRENT_VERSION)
}

/// Data an upgrade step adds a table for and that must be filled from the stored documents.
/// Only the layers above decode documents, so they say how (`storage::projection::backfill`);
/// the schema says which, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backfill {
    /// Every submission's row in the `submissions` list projection.
    SubmissionRows,
    /// Every review's verdict in `review_states`.
    ReviewStates,
    /// Every submission row's `has_conflicts` flag (the row's other columns stay).
    ConflictFlags,
    /// Every document's attachment references in `attachment_refs`.
    AttachmentRefs,
    /// Every submission row's `invalid_reasons` (the row's other columns stay).
    InvalidFlags,
}

/// Brings a store at `from` up to [`CURRENT_VERSION`], one step per version, then runs the
/// backfills those steps need through `backfill`, all inside the caller's transaction (so a
/// crash mid-upgrade leaves the old version intact). The backfills run once every step is
/// done, since they write rows in the current shape. Cost: the steps' DDL, plus what each
/// backfill reads (every document of its kind).
pub(crate) fn upgrade(
    tx: &Transaction<'_>,
    from: i64,
    backfill: &dyn Fn(&Connection, Backfill) -> Result<()>,
) -> Result<()> {
    let mut backfills = Vec::new();
    for version in from..CURRENT_VERSION {
        backfills.extend(upgrade_step(tx, version)?);
    }
    set_version(tx, CURRENT_VERSION)?;
    for needed in needed_once(backfills) {
        backfill(tx, needed)?;
    }
    Ok(())
}

/// The backfills to run for those the steps asked for: whole submission rows, written in
/// the current shape, already carry the conflict and invalid flags, so neither is filled twice.
fn needed_once(mut backfills: Vec<Backfill>) -> Vec<Backfill> {
    if backfills.contains(&Backfill::SubmissionRows) {
        backfills
            .retain(|needed| !matches!(needed, Backfill::ConflictFlags | Backfill::InvalidFlags));
    }
    backfills
}

/// The step from `version` to `version + 1`, and the backfill it needs, if any.
fn upgrade_step(tx: &Transaction<'_>, version: i64) -> Result<Option<Backfill>> {
    let backfill = match version {
        // Version 1 stored documents only; version 2 adds the list projection, filled from
        // the documents.
        1 => {
            tx.execute_batch(SUBMISSIONS_TABLE)?;
            Some(Backfill::SubmissionRows)
        }
        // Version 3 adds per-peer sync state; nothing to fill (a store never met a peer).
        2 => {
            tx.execute_batch(PEERS_TABLES)?;
            None
        }
        // Version 4 adds review states, filled from the reviews.
        3 => {
            tx.execute_batch(REVIEW_STATES_TABLE)?;
            Some(Backfill::ReviewStates)
        }
        // Version 5 flags submissions with conflicts, filled from the documents.
        4 => {
            tx.execute_batch(CONFLICT_FLAG)?;
            Some(Backfill::ConflictFlags)
        }
        // Version 6 drops the form index (see ONE_PROJECTION_INDEX); nothing to fill.
        5 => {
            tx.execute_batch(ONE_PROJECTION_INDEX)?;
            None
        }
        // Version 7 keeps change signatures; nothing to fill: changes made before signing
        // existed have none (their actors are unkeyed, ARCHITECTURE.md "Signed changes"), and
        // the signing key is made when the store opens (`storage::signatures::device_key`).
        6 => {
            tx.execute_batch(CHANGE_SIGNATURES_TABLE)?;
            None
        }
        // Version 8 adds attachment contents (none stored yet) and the references to them,
        // filled from the documents.
        7 => {
            tx.execute_batch(ATTACHMENTS_TABLES)?;
            Some(Backfill::AttachmentRefs)
        }
        // Version 9 flags submissions that break their form version, checked from the
        // documents against the forms the store holds.
        8 => {
            tx.execute_batch(INVALID_FLAG)?;
            Some(Backfill::InvalidFlags)
        }
        // Version 0 with a store marker was never written by Minga: report, don't guess.
        _ => {
            return Err(Error::Corrupt {
                detail: format!("schema version {version} has no upgrade path"),
            })
        }
    };
    Ok(backfill)
}

/// Confirms that the database at `path` holds the Minga marker and a schema this code
/// understands, reading only; returns its version. Cost: two small reads.
pub(crate) fn check_is_store(conn: &Connection, path: &Path) -> Result<i64> {
    let marker = conn.query_row(
        "SELECT value FROM store_meta WHERE name = 'format'",
        [],
        |row| row.get::<_, String>(0),
    );
    match marker {
        Ok(marker) if marker == FORMAT_MARKER => {}
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
    let found = version(conn)?;
    if found > CURRENT_VERSION {
        return Err(Error::NewerSchema {
            path: path.to_owned(),
            found,
            supported: CURRENT_VERSION,
        });
    }
    Ok(found)
}

fn is_missing_table(error: &rusqlite::Error) -> bool {
    error.to_string().contains("no such table")
}

/// The refusal of a file that is readable but no Minga store, saying why.
pub(crate) fn not_a_store(path: &Path, reason: &str) -> Error {
    Error::NotAStore {
        path: path.to_owned(),
        reason: reason.to_owned(),
    }
}

/// Tables that describe the store rather than hold the project's data: kept by
/// [`empty_data_tables`].
const KEPT_TABLES: [&str; 2] = ["store_meta", "actors"];

/// Empties every table that holds the project's data (documents, chunks, projections, peer
/// state): all but SQLite's own and [`KEPT_TABLES`], including tables added after this was
/// written, so that a wipe errs on the side of deleting. Inside the caller's transaction.
pub(crate) fn empty_data_tables(tx: &Transaction<'_>) -> Result<()> {
    for table in data_tables(tx)? {
        tx.execute(&format!("DELETE FROM \"{table}\""), [])?;
    }
    Ok(())
}

/// Every table that holds the project's data: all but SQLite's own and [`KEPT_TABLES`].
pub(crate) fn data_tables(conn: &Connection) -> Result<Vec<String>> {
    let names = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        )?
        .query_map([], |row| row.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(names
        .into_iter()
        .filter(|name| !KEPT_TABLES.contains(&name.as_str()))
        .collect())
}

/// The `user_version` of an open database.
pub fn version(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("PRAGMA user_version", [], |row| row.get(0))?)
}

fn set_version(tx: &Transaction<'_>, version: i64) -> Result<()> {
    tx.pragma_update(None, "user_version", version)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Version 1 as it shipped, kept verbatim so that its upgrade stays tested.
    const VERSION_1: &str = "
    CREATE TABLE store_meta (name TEXT PRIMARY KEY NOT NULL, value NOT NULL) WITHOUT ROWID;
    CREATE TABLE actors (
        device_id TEXT NOT NULL,
        user_name TEXT NOT NULL,
        actor     BLOB NOT NULL,
        PRIMARY KEY (device_id, user_name)
    ) WITHOUT ROWID;
    CREATE TABLE documents (
        doc_id         BLOB PRIMARY KEY NOT NULL,
        kind           INTEGER NOT NULL,
        seq            INTEGER NOT NULL,
        heads          BLOB NOT NULL,
        snapshot_len   INTEGER NOT NULL,
        increments_len INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE UNIQUE INDEX documents_by_seq ON documents (seq);
    CREATE TABLE chunks (
        chunk_id INTEGER PRIMARY KEY,
        doc_id   BLOB NOT NULL,
        bytes    BLOB NOT NULL
    );
    CREATE INDEX chunks_by_doc ON chunks (doc_id, chunk_id);
    INSERT INTO store_meta (name, value) VALUES ('format', 'minga-store'), ('last_seq', 0);
    PRAGMA user_version = 1;
    ";

    /// Every table, index and column of a database, in a comparable form.
    fn describe(conn: &Connection) -> Vec<String> {
        let mut objects: Vec<(String, String)> = conn
            .prepare(
                "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name",
            )
            .unwrap()
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        objects.sort();
        let mut described = Vec::new();
        for (kind, name) in objects {
            let pragma = if kind == "table" {
                "table_xinfo"
            } else {
                "index_xinfo"
            };
            let columns: Vec<String> = conn
                .prepare(&format!("PRAGMA {pragma}('{name}')"))
                .unwrap()
                .query_map([], |row| {
                    let values: Vec<String> = (0..row.as_ref().column_count())
                        .map(|i| format!("{:?}", row.get_ref(i).unwrap()))
                        .collect();
                    Ok(values.join(","))
                })
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            described.push(format!("{kind} {name}: {}", columns.join(" | ")));
        }
        described
    }

    fn fresh() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        let tx = conn.transaction().unwrap();
        create_fresh(&tx).unwrap();
        tx.commit().unwrap();
        conn
    }

    /// Every old version as it shipped (number, SQL), oldest first: version 1, then each
    /// version as the one before plus what its step added (version 6 dropped the form index).
    fn old_versions() -> Vec<(i64, String)> {
        let steps = [
            (2, SUBMISSIONS_TABLE),
            (3, PEERS_TABLES),
            (4, REVIEW_STATES_TABLE),
            (5, CONFLICT_FLAG),
            (6, ONE_PROJECTION_INDEX),
            (7, CHANGE_SIGNATURES_TABLE),
            (8, ATTACHMENTS_TABLES),
        ];
        let mut versions = vec![(1, VERSION_1.to_owned())];
        for (number, added) in steps {
            let before = &versions[versions.len() - 1].1;
            let tables = before.replace(&format!("PRAGMA user_version = {};", number - 1), "");
            versions.push((
                number,
                format!("{tables}{added} PRAGMA user_version = {number};"),
            ));
        }
        versions
    }

    #[test]
    fn upgrading_each_old_version_matches_a_fresh_store() {
        let fresh = fresh();
        let old_versions = old_versions();
        assert_eq!(
            old_versions.len() as i64,
            CURRENT_VERSION - 1,
            "a fixture per old version"
        );
        for (number, sql) in old_versions {
            let mut old = Connection::open_in_memory().unwrap();
            old.execute_batch(&sql).unwrap();
            assert_eq!(version(&old).unwrap(), number);
            let tx = old.transaction().unwrap();
            upgrade(&tx, number, &|_, _| Ok(())).unwrap();
            tx.commit().unwrap();
            assert_eq!(version(&old).unwrap(), CURRENT_VERSION);
            assert_eq!(
                describe(&old),
                describe(&fresh),
                "version {number} upgraded"
            );
        }
    }

    /// Upgrades a store of version `from` and returns the backfills the upgrade ran, in order.
    fn backfills_of_upgrade_from(from: i64) -> Vec<Backfill> {
        let (_, sql) = old_versions()
            .into_iter()
            .find(|(n, _)| *n == from)
            .unwrap();
        let mut old = Connection::open_in_memory().unwrap();
        old.execute_batch(&sql).unwrap();
        let tx = old.transaction().unwrap();
        let ran = std::cell::RefCell::new(Vec::new());
        upgrade(&tx, from, &|_, needed| {
            ran.borrow_mut().push(needed);
            Ok(())
        })
        .unwrap();
        ran.into_inner()
    }

    #[test]
    fn each_upgrade_fills_what_its_steps_added_and_whole_rows_only_once() {
        use Backfill::*;
        // From version 1 the rows are written whole, flag included: no separate flag pass.
        assert_eq!(
            backfills_of_upgrade_from(1),
            vec![SubmissionRows, ReviewStates, AttachmentRefs]
        );
        assert_eq!(
            backfills_of_upgrade_from(2),
            vec![ReviewStates, ConflictFlags, AttachmentRefs, InvalidFlags]
        );
        assert_eq!(
            backfills_of_upgrade_from(3),
            vec![ReviewStates, ConflictFlags, AttachmentRefs, InvalidFlags]
        );
        assert_eq!(
            backfills_of_upgrade_from(4),
            vec![ConflictFlags, AttachmentRefs, InvalidFlags]
        );
        for from in 5..=7 {
            assert_eq!(
                backfills_of_upgrade_from(from),
                vec![AttachmentRefs, InvalidFlags]
            );
        }
        assert_eq!(backfills_of_upgrade_from(8), vec![InvalidFlags]);
    }

    #[test]
    fn a_fresh_store_is_marked_and_versioned() {
        let conn = fresh();
        let marker: String = conn
            .query_row(
                "SELECT value FROM store_meta WHERE name = 'format'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(marker, FORMAT_MARKER);
        assert_eq!(version(&conn).unwrap(), CURRENT_VERSION);
    }
}
