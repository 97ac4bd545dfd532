//! The `actors` table: the automerge actor this store writes as, one per device and user, so
//! that a shared phone attributes each person's changes to them.

use crate::document::DeviceIdentity;
use crate::error::Result;
use automerge::ActorId;
use rusqlite::Connection;

/// The actor for `identity`, made (a random UUID) and recorded the first time it writes.
/// Cost: one primary-key lookup, and one insert the first time.
pub(crate) fn actor_for(conn: &Connection, identity: &DeviceIdentity) -> Result<ActorId> {
    let existing = conn.query_row(
        "SELECT actor FROM actors WHERE device_id = ?1 AND user_name = ?2",
        [&identity.device_id, &identity.user_name],
        |row| row.get::<_, Vec<u8>>(0),
    );
    match existing {
        Ok(bytes) => Ok(ActorId::from(bytes.as_slice())),
        Err(rusqlite::Error::QueryReturnedNoRows) => {
            let actor = uuid::Uuid::new_v4();
            conn.execute(
                "INSERT INTO actors (device_id, user_name, actor) VALUES (?1, ?2, ?3)",
                rusqlite::params![
                    identity.device_id,
                    identity.user_name,
                    actor.as_bytes().as_slice()
                ],
            )?;
            Ok(ActorId::from(actor.as_bytes().as_slice()))
        }
        Err(error) => Err(error.into()),
    }
}
