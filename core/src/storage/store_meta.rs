//! The `store_meta` table's sequence counter and enrolled device id. Every change to a document
//! takes the next number from one store-wide counter (`last_seq`), never from `max(seq)`, so
//! that a number is never reused even if a row goes. The enrolled device id, once a hub has
//! enrolled the store, is the device id every later change is signed with (no schema change: a
//! name/value row). (The table's format marker is the schema's: `schema.rs`.)

use crate::error::Result;
use rusqlite::{Connection, OptionalExtension};

/// The `store_meta` name of the enrolled device id.
const ENROLLED_DEVICE_ID: &str = "enrolled_device_id";

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

/// The device id a hub enrolled this store as; `None` before enrolment. Cost: one
/// primary-key lookup.
pub(crate) fn enrolled_device_id(conn: &Connection) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT value FROM store_meta WHERE name = ?1")?
        .query_row([ENROLLED_DEVICE_ID], |row| row.get(0))
        .optional()?)
}

/// Records `device_id` as the enrolled device id (replacing any earlier one), inside the
/// caller's transaction. Cost: one primary-key upsert.
pub(crate) fn set_enrolled_device_id(conn: &Connection, device_id: &str) -> Result<()> {
    conn.prepare_cached("INSERT OR REPLACE INTO store_meta (name, value) VALUES (?1, ?2)")?
        .execute([ENROLLED_DEVICE_ID, device_id])?;
    Ok(())
}
