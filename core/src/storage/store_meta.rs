//! The `store_meta` table's sequence floor, enrolled device id and the hub's credential. Every change to a document
//! takes the next number above both the highest number a document row holds (the last entry of
//! `documents_by_seq`, which the write touches anyway) and the floor `last_seq`, which a wipe
//! raises to the last number it removed: a number is never reused even when rows go, and a
//! write dirties no `store_meta` page. The enrolled device id, once a hub has
//! enrolled the store, is the device id every later change is signed with (no schema change: a
//! name/value row). The store's sync epoch and, per peer, the peer's epoch its cursor and shared
//! heads were learnt from are name/value rows too (`epoch`, `peer_epoch:<peer id>`), so the
//! schema did not change for them, nor for the hub's credential and key (`credential`,
//! `hub_key`), nor for the documents an upgrade could not read (`unreadable:<doc id>`). (The
//! table's format marker is the schema's: `schema.rs`.)

use crate::document::{DocId, DocKind};
use crate::error::{Error, Result};
use minga_sync::{Epoch, PeerId};
use rusqlite::{Connection, OptionalExtension};

/// The `store_meta` name of the store's own sync epoch.
const EPOCH: &str = "epoch";
/// The `store_meta` names of peers' epochs start with this, followed by the peer id.
const PEER_EPOCH_PREFIX: &str = "peer_epoch:";

/// The `store_meta` names of documents an upgrade could not read start with this, followed by
/// the document's id; the value is the kind's code, a tab, and why.
const UNREADABLE_PREFIX: &str = "unreadable:";

/// The `store_meta` name of the enrolled device id.
const ENROLLED_DEVICE_ID: &str = "enrolled_device_id";

/// The highest sequence number handed out so far (0 for an empty store): the highest a
/// document row holds, or the floor a wipe left, whichever is higher. Cost: one primary-key
/// lookup and one step to the end of `documents_by_seq`.
pub(crate) fn last_seq(conn: &Connection) -> Result<u64> {
    let seq: i64 = conn
        .prepare_cached(
            "SELECT max((SELECT value FROM store_meta WHERE name = 'last_seq'),
                        (SELECT coalesce(max(seq), 0) FROM documents))",
        )?
        .query_row([], |row| row.get(0))?;
    Ok(seq as u64)
}

/// The next sequence number, for a write inside the caller's transaction (which must then
/// store it in a document row, or the number is handed out again). Cost: as [`last_seq`];
/// nothing is written here.
pub(crate) fn next_seq(conn: &Connection) -> Result<i64> {
    Ok(last_seq(conn)? as i64 + 1)
}

/// Raises the floor to the highest number handed out, inside the caller's transaction, before
/// document rows are removed (a wipe), so that their numbers are not handed out again. Cost:
/// as [`last_seq`] plus one primary-key update.
pub(crate) fn keep_seq_floor(conn: &Connection) -> Result<()> {
    let last = last_seq(conn)? as i64;
    conn.prepare_cached("UPDATE store_meta SET value = ?1 WHERE name = 'last_seq'")?
        .execute([last])?;
    Ok(())
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

/// The `store_meta` names of the hub's credential for this store (`Credential::encode`) and
/// of the hub's public key (hex), kept at enrolment.
const CREDENTIAL: &str = "credential";
const HUB_KEY: &str = "hub_key";

/// Keeps the hub's credential (encoded) and the hub's key (hex), replacing earlier ones, inside
/// the caller's transaction. Cost: two primary-key upserts.
pub(crate) fn set_credential(conn: &Connection, credential: &str, hub_key: &str) -> Result<()> {
    let mut upsert =
        conn.prepare_cached("INSERT OR REPLACE INTO store_meta (name, value) VALUES (?1, ?2)")?;
    upsert.execute([CREDENTIAL, credential])?;
    upsert.execute([HUB_KEY, hub_key])?;
    Ok(())
}

/// The kept credential (encoded) and hub key (hex); `None` before an enrolment that gave them.
/// Cost: two primary-key lookups.
pub(crate) fn credential(conn: &Connection) -> Result<Option<(String, String)>> {
    let mut read = conn.prepare_cached("SELECT value FROM store_meta WHERE name = ?1")?;
    let mut value = |name: &str| -> Result<Option<String>> {
        Ok(read.query_row([name], |row| row.get(0)).optional()?)
    };
    Ok(value(CREDENTIAL)?.zip(value(HUB_KEY)?))
}

/// The store's sync epoch, made (random) and kept on the first call. Cost: one primary-key
/// lookup (the first call also writes it).
pub(crate) fn epoch(conn: &Connection) -> Result<Epoch> {
    let read = || -> Result<Option<String>> {
        Ok(conn
            .prepare_cached("SELECT value FROM store_meta WHERE name = ?1")?
            .query_row([EPOCH], |row| row.get(0))
            .optional()?)
    };
    if let Some(text) = read()? {
        return parse_epoch(&text);
    }
    conn.prepare_cached("INSERT OR IGNORE INTO store_meta (name, value) VALUES (?1, ?2)")?
        .execute([EPOCH, &Epoch::random().to_string()])?;
    let text = read()?.ok_or_else(|| Error::Corrupt {
        detail: "store_meta lost the epoch it was given".into(),
    })?;
    parse_epoch(&text)
}

/// The epoch recorded for `peer`; `None` when none was. Cost: one primary-key lookup.
pub(crate) fn peer_epoch(conn: &Connection, peer: &PeerId) -> Result<Option<Epoch>> {
    let text: Option<String> = conn
        .prepare_cached("SELECT value FROM store_meta WHERE name = ?1")?
        .query_row([format!("{PEER_EPOCH_PREFIX}{peer}")], |row| row.get(0))
        .optional()?;
    text.as_deref().map(parse_epoch).transpose()
}

/// Records `epoch` as `peer`'s, inside the caller's transaction. Cost: one primary-key upsert.
pub(crate) fn set_peer_epoch(conn: &Connection, peer: &PeerId, epoch: Epoch) -> Result<()> {
    conn.prepare_cached("INSERT OR REPLACE INTO store_meta (name, value) VALUES (?1, ?2)")?
        .execute([format!("{PEER_EPOCH_PREFIX}{peer}"), epoch.to_string()])?;
    Ok(())
}

/// Forgets the store's epoch and every peer's, as a wipe does: the store's history is gone, so
/// the next sync names a new epoch and peers drop what they knew of the old one.
pub(crate) fn forget_epochs(conn: &Connection) -> Result<()> {
    conn.prepare_cached("DELETE FROM store_meta WHERE name = ?1 OR substr(name, 1, ?2) = ?3")?
        .execute(rusqlite::params![
            EPOCH,
            PEER_EPOCH_PREFIX.len() as i64,
            PEER_EPOCH_PREFIX
        ])?;
    Ok(())
}

fn parse_epoch(text: &str) -> Result<Epoch> {
    text.parse().map_err(|error| Error::Corrupt {
        detail: format!("store_meta epoch: {error}"),
    })
}

/// A stored document that a schema upgrade could not read (its bytes do not decode, or it is
/// not shaped as its kind): kept as it was, left out of what the upgrade filled, and reported
/// so that someone can look at it, while the store opened with every other document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadableDocument {
    pub id: DocId,
    pub kind: DocKind,
    /// Why it could not be read.
    pub reason: String,
}

/// Records that the upgrade could not read document `id`, inside the caller's transaction.
/// Cost: one primary-key upsert.
pub(crate) fn record_unreadable(
    conn: &Connection,
    id: &DocId,
    kind: DocKind,
    reason: &str,
) -> Result<()> {
    conn.prepare_cached("INSERT OR REPLACE INTO store_meta (name, value) VALUES (?1, ?2)")?
        .execute([
            format!("{UNREADABLE_PREFIX}{id}"),
            format!("{}\t{reason}", kind.code()),
        ])?;
    Ok(())
}

/// The documents upgrades could not read, by id. Cost: a scan of `store_meta`'s few rows.
pub(crate) fn unreadable_documents(conn: &Connection) -> Result<Vec<UnreadableDocument>> {
    let mut statement = conn.prepare_cached(
        "SELECT name, value FROM store_meta WHERE substr(name, 1, ?1) = ?2 ORDER BY name",
    )?;
    let rows = statement.query_map(
        rusqlite::params![UNREADABLE_PREFIX.len() as i64, UNREADABLE_PREFIX],
        |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)),
    )?;
    rows.map(|row| {
        let (name, value) = row?;
        parse_unreadable(&name[UNREADABLE_PREFIX.len()..], &value)
    })
    .collect()
}

fn parse_unreadable(id: &str, value: &str) -> Result<UnreadableDocument> {
    let damaged = || Error::Corrupt {
        detail: format!("store_meta's report of unreadable document {id} is damaged"),
    };
    let (code, reason) = value.split_once('\t').ok_or_else(damaged)?;
    Ok(UnreadableDocument {
        id: id.parse().map_err(|_| damaged())?,
        kind: DocKind::from_code(code.parse::<i64>().map_err(|_| damaged())?)?,
        reason: reason.to_owned(),
    })
}
