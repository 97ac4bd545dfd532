//! The `review_states` table: each reviewed submission's verdict, keyed by the submission (not
//! the review) so that a review arriving before its submission is in place when it does. The
//! submission list joins it (`submissions::page`); every write is here.

use crate::document::{DocId, ReviewState};
use crate::error::Result;
use rusqlite::{params, Connection};

/// Records `state` as the verdict on `submission`. Cost: one primary-key upsert.
pub(crate) fn write(conn: &Connection, submission: &DocId, state: ReviewState) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO review_states (submission_id, state) VALUES (?1, ?2)",
    )?
    .execute(params![submission.as_bytes(), state.as_str()])?;
    Ok(())
}
