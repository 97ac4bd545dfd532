//! The `store_meta` table's sequence counter: every change to a document takes the next number
//! from one store-wide counter (`last_seq`), never from `max(seq)`, so that a number is never
//! reused even if a row goes. (The table's format marker is the schema's: `schema.rs`.)

use crate::error::Result;
use rusqlite::Connection;

/// The highest sequence number handed out so far (0 for an empty store). Cost: one
/// primary-key lookup.
pub(crate) fn last_seq(conn: &Connection) -> Result<u64> {
    let seq: i64 = conn
        .prepare_cached("SELECT value FROM store_meta WHERE name = 'last_seq'")?
        .query_row([], |row| row.get(0))?;
    Ok(seq as u64)
}

/// Takes the next sequence number, inside the caller's transaction. Cost: one primary-key
/// update.
pub(crate) fn next_seq(conn: &Connection) -> Result<i64> {
    Ok(conn
        .prepare_cached(
            "UPDATE store_meta SET value = value + 1 WHERE name = 'last_seq' RETURNING value",
        )?
        .query_row([], |row| row.get(0))?)
}
