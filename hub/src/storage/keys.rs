//! The hub's `device_keys` table, on both backends: each device's signing key, bound at
//! enrolment to the device id and its project (its role is the device's), and so to every actor
//! the device writes as (its actors are keyed with it, `minga_sync::signatures`). The write path
//! reads it to name a submission's author by the key that signed its first change, whoever
//! relays it. And the hub's own Ed25519 key, which signs the credential of each binding: a
//! `hub_meta` row (`hub_signing_key`, the secret as hex), made on first use.

use crate::error::{HubError, Result};
use minga_sync::signatures::{DeviceKey, PublicKey};
use postgres::GenericClient;
use rusqlite::{params, Connection, OptionalExtension};

/// SQLite's table (part of hub schema version 5, with `change_signatures`).
pub const SQLITE_TABLE: &str = "
CREATE TABLE device_keys (
    project TEXT NOT NULL,
    public_key BLOB NOT NULL,
    device_id TEXT NOT NULL,
    PRIMARY KEY (project, public_key)
) WITHOUT ROWID;
";

/// PostgreSQL's table (part of its hub schema version 4).
pub const POSTGRES_TABLE: &str = "
CREATE TABLE device_keys (
    project TEXT NOT NULL,
    public_key BYTEA NOT NULL,
    device_id TEXT NOT NULL,
    PRIMARY KEY (project, public_key)
);
";

/// Binds `key` to `device_id` in `project`. A key is made per store, so a key bound already
/// is the same store enrolled again (a new code after a revocation): the binding follows it to
/// the new device id. Cost: one primary-key upsert.
pub fn bind_sqlite(
    conn: &Connection,
    project: &str,
    device_id: &str,
    key: &PublicKey,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO device_keys (project, public_key, device_id) VALUES (?1, ?2, ?3)
         ON CONFLICT (project, public_key) DO UPDATE SET device_id = excluded.device_id",
    )?
    .execute(params![project, key.0.as_slice(), device_id])?;
    Ok(())
}

/// The device `key` is bound to in `project`, if any. Cost: one primary-key lookup.
pub fn device_sqlite(conn: &Connection, project: &str, key: &PublicKey) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT device_id FROM device_keys WHERE project = ?1 AND public_key = ?2")?
        .query_row(params![project, key.0.as_slice()], |row| row.get(0))
        .optional()?)
}

/// [`bind_sqlite`] on PostgreSQL.
pub fn bind_postgres(
    client: &mut impl GenericClient,
    project: &str,
    device_id: &str,
    key: &PublicKey,
) -> Result<()> {
    client.execute(
        "INSERT INTO device_keys (project, public_key, device_id) VALUES ($1, $2, $3)
         ON CONFLICT (project, public_key) DO UPDATE SET device_id = EXCLUDED.device_id",
        &[&project, &key.0.as_slice(), &device_id],
    )?;
    Ok(())
}

/// [`device_sqlite`] on PostgreSQL.
pub fn device_postgres(
    client: &mut impl GenericClient,
    project: &str,
    key: &PublicKey,
) -> Result<Option<String>> {
    let row = client.query_opt(
        "SELECT device_id FROM device_keys WHERE project = $1 AND public_key = $2",
        &[&project, &key.0.as_slice()],
    )?;
    Ok(row.map(|row| row.try_get(0)).transpose()?)
}

/// The `hub_meta` key of the hub's signing key.
const HUB_KEY: &str = "hub_signing_key";

/// The hub's signing key from SQLite, made (random) and kept on the first call. Cost: one
/// lookup (the first call also writes it).
pub fn hub_key_sqlite(conn: &Connection) -> Result<DeviceKey> {
    let read = "SELECT value FROM hub_meta WHERE key = ?1";
    let stored: Option<String> = conn.query_row(read, [HUB_KEY], |r| r.get(0)).optional()?;
    if let Some(secret) = stored {
        return key_from_hex(&secret); // the common case: no write
    }
    conn.execute(
        "INSERT INTO hub_meta (key, value) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        params![HUB_KEY, hex::encode(new_key()?.secret())],
    )?;
    let secret: String = conn.query_row(read, [HUB_KEY], |r| r.get(0))?;
    key_from_hex(&secret)
}

/// [`hub_key_sqlite`] on PostgreSQL.
pub fn hub_key_postgres(client: &mut impl GenericClient) -> Result<DeviceKey> {
    let read = "SELECT value FROM hub_meta WHERE key = $1";
    if let Some(row) = client.query_opt(read, &[&HUB_KEY])? {
        return key_from_hex(&row.try_get::<_, String>(0)?); // the common case: no write
    }
    client.execute(
        "INSERT INTO hub_meta (key, value) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        &[&HUB_KEY, &hex::encode(new_key()?.secret())],
    )?;
    let row = client.query_one(read, &[&HUB_KEY])?;
    key_from_hex(&row.try_get::<_, String>(0)?)
}

fn new_key() -> Result<DeviceKey> {
    DeviceKey::generate()
        .map_err(|error| HubError::Corrupt(format!("no randomness for a key: {error}")))
}

fn key_from_hex(secret: &str) -> Result<DeviceKey> {
    let bytes = hex::decode(secret)
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok());
    bytes
        .map(DeviceKey::from_secret)
        .ok_or_else(|| HubError::Corrupt("hub_meta's hub_signing_key is not 64 hex digits".into()))
}
