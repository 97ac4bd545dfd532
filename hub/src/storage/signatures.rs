//! The hub's `change_signatures` table, on both backends: the signatures the write path
//! verified (`txn::verify_write`: each actor's newest new change of a write, which vouches for
//! the actor's older ones), sent on with their changes to every device that syncs the document
//! (`minga_sync::signatures`). Keyed by
//! project, document and change hash (a copy of a document shares its changes), so that a
//! whole document's signatures are one range of the key.

use crate::error::{HubError, Result};
use automerge::ChangeHash;
use minga_sync::signatures::{Signature, SignedChange};
use postgres::GenericClient;
use rusqlite::{params, Connection, OptionalExtension};

/// SQLite's table (hub schema version 5).
pub const SQLITE_TABLE: &str = "
CREATE TABLE change_signatures (
    project TEXT NOT NULL,
    change_hash BLOB NOT NULL,
    doc TEXT NOT NULL,
    signature BLOB NOT NULL,
    PRIMARY KEY (project, doc, change_hash)
) WITHOUT ROWID;
";

/// PostgreSQL's table (its hub schema version 4).
pub const POSTGRES_TABLE: &str = "
CREATE TABLE change_signatures (
    project TEXT NOT NULL,
    change_hash BYTEA NOT NULL,
    doc TEXT NOT NULL,
    signature BYTEA NOT NULL,
    PRIMARY KEY (project, doc, change_hash)
);
";

/// Keeps `signed` (document `id`'s) inside the caller's SQLite transaction. Cost: one
/// primary-key insert each.
pub fn keep_sqlite(
    conn: &Connection,
    project: &str,
    id: &str,
    signed: &[SignedChange],
) -> Result<()> {
    if signed.is_empty() {
        return Ok(()); // also while upgrading from before the table existed (form documents)
    }
    let mut insert = conn.prepare_cached(
        "INSERT OR IGNORE INTO change_signatures (project, change_hash, doc, signature)
         VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (hash, signature) in signed {
        insert.execute(params![
            project,
            hash.0.as_slice(),
            id,
            signature.as_slice()
        ])?;
    }
    Ok(())
}

/// Document `id`'s kept signatures from SQLite: those of `only`, or all of them.
pub fn of_document_sqlite(
    conn: &Connection,
    project: &str,
    id: &str,
    only: Option<&[ChangeHash]>,
) -> Result<Vec<SignedChange>> {
    let Some(only) = only else {
        let sql = "SELECT change_hash, signature FROM change_signatures
                   WHERE project = ?1 AND doc = ?2";
        let mut all = conn.prepare_cached(sql)?;
        let rows = all.query_map(params![project, id], |row| Ok((row.get(0)?, row.get(1)?)))?;
        return rows
            .map(|row| {
                let (hash, signature): (Vec<u8>, Vec<u8>) = row?;
                signed_change(&hash, &signature)
            })
            .collect();
    };
    let sql = "SELECT signature FROM change_signatures
               WHERE project = ?1 AND doc = ?2 AND change_hash = ?3";
    let mut one = conn.prepare_cached(sql)?;
    let mut found = Vec::with_capacity(only.len());
    for hash in only {
        let signature: Option<Vec<u8>> = one
            .query_row(params![project, id, hash.0.as_slice()], |row| row.get(0))
            .optional()?;
        if let Some(signature) = signature {
            found.push(signed_change(&hash.0, &signature)?);
        }
    }
    Ok(found)
}

/// Keeps `signed` (document `id`'s) inside the caller's PostgreSQL transaction, in one
/// statement. Cost: one round trip.
pub fn keep_postgres(
    client: &mut impl GenericClient,
    project: &str,
    id: &str,
    signed: &[SignedChange],
) -> Result<()> {
    if signed.is_empty() {
        return Ok(());
    }
    let hashes: Vec<&[u8]> = signed.iter().map(|(hash, _)| hash.0.as_slice()).collect();
    let signatures: Vec<&[u8]> = signed.iter().map(|(_, sig)| sig.as_slice()).collect();
    client.execute(
        "INSERT INTO change_signatures (project, change_hash, doc, signature)
         SELECT $1, h, $2, s FROM UNNEST($3::bytea[], $4::bytea[]) AS u(h, s)
         ON CONFLICT DO NOTHING",
        &[&project, &id, &hashes, &signatures],
    )?;
    Ok(())
}

/// Document `id`'s kept signatures from PostgreSQL: those of `only`, or all of them. Cost:
/// one round trip.
pub fn of_document_postgres(
    client: &mut impl GenericClient,
    project: &str,
    id: &str,
    only: Option<&[ChangeHash]>,
) -> Result<Vec<SignedChange>> {
    let rows = match only {
        None => client.query(
            "SELECT change_hash, signature FROM change_signatures WHERE project = $1 AND doc = $2",
            &[&project, &id],
        )?,
        Some(only) => {
            let hashes: Vec<&[u8]> = only.iter().map(|hash| hash.0.as_slice()).collect();
            client.query(
                "SELECT change_hash, signature FROM change_signatures
                 WHERE project = $1 AND doc = $2 AND change_hash = ANY($3::bytea[])",
                &[&project, &id, &hashes],
            )?
        }
    };
    rows.iter()
        .map(|row| {
            let (hash, signature): (Vec<u8>, Vec<u8>) = (row.try_get(0)?, row.try_get(1)?);
            signed_change(&hash, &signature)
        })
        .collect()
}

fn signed_change(hash: &[u8], signature: &[u8]) -> Result<SignedChange> {
    let corrupt = || HubError::Corrupt("change_signatures holds a row of the wrong size".into());
    let hash = ChangeHash::try_from(hash).map_err(|_| corrupt())?;
    let signature: Signature = signature.try_into().map_err(|_| corrupt())?;
    Ok((hash, signature))
}
