//! The `actors` table: the automerge actor this store writes as, one per device and user, so
//! that a shared phone attributes each person's changes to them. Each actor is keyed with the
//! store's signing key (`minga_sync::signatures`: the public key and a random tag), so that
//! every receiver knows which key must have signed its changes.

use crate::document::DeviceIdentity;
use crate::error::{Error, Result};
use automerge::ActorId;
use minga_sync::signatures::DeviceKey;
use rusqlite::Connection;

/// The actor for `identity`, made (keyed with `key`) and recorded the first time it writes. An
/// actor recorded before signing existed (unkeyed), or keyed with another key, is replaced by a
/// new keyed one: the changes it made keep their author (each document's `authors` map names
/// it). Cost: one primary-key lookup, and one write the first time.
pub(crate) fn actor_for(
    conn: &Connection,
    identity: &DeviceIdentity,
    key: &DeviceKey,
) -> Result<ActorId> {
    let actor = recorded_actor(conn, identity)?;
    if let Some(actor) = actor.filter(|actor| key.owns(actor)) {
        return Ok(actor);
    }
    let actor = key.new_actor().map_err(|error| Error::Corrupt {
        detail: format!("no randomness for a new actor: {error}"),
    })?;
    conn.execute(
        "INSERT OR REPLACE INTO actors (device_id, user_name, actor) VALUES (?1, ?2, ?3)",
        rusqlite::params![identity.device_id, identity.user_name, actor.to_bytes()],
    )?;
    Ok(actor)
}

/// The actor recorded for `identity`, if any. Cost: one primary-key lookup.
fn recorded_actor(conn: &Connection, identity: &DeviceIdentity) -> Result<Option<ActorId>> {
    let existing = conn.query_row(
        "SELECT actor FROM actors WHERE device_id = ?1 AND user_name = ?2",
        [&identity.device_id, &identity.user_name],
        |row| row.get::<_, Vec<u8>>(0),
    );
    match existing {
        Ok(bytes) => Ok(Some(ActorId::from(bytes.as_slice()))),
        Err(rusqlite::Error::QueryReturnedNoRows) => Ok(None),
        Err(error) => Err(error.into()),
    }
}
