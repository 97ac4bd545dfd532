//! The store's signing key and the `change_signatures` table. The key (Ed25519, the secret as
//! 32 bytes in `store_meta` under `signing_key`) is made with the store, or when a store made
//! before signing existed first opens, and is kept as encrypted as everything else in the
//! file. Every change this store makes is signed with it, and the signature of every keyed
//! change the store holds, its own and received ones alike, is kept here, keyed by document and
//! change hash, so that sync can send it on with the change (`minga_sync::signatures`).

use crate::document::DocId;
use crate::error::{Error, Result};
use automerge::ChangeHash;
use minga_sync::signatures::{DeviceKey, Signature, SignedChange, SIGNATURE_LEN};
use rusqlite::{Connection, OptionalExtension};

/// The `store_meta` name of the signing key's secret.
const SIGNING_KEY: &str = "signing_key";

/// The store's signing key, made (from the operating system's randomness) and kept on the first
/// call. Cost: one primary-key lookup (the first call also writes it).
pub(crate) fn device_key(conn: &Connection) -> Result<DeviceKey> {
    let read = || -> Result<Option<Vec<u8>>> {
        Ok(conn
            .prepare_cached("SELECT value FROM store_meta WHERE name = ?1")?
            .query_row([SIGNING_KEY], |row| row.get(0))
            .optional()?)
    };
    if read()?.is_none() {
        let key = DeviceKey::generate().map_err(|error| Error::Corrupt {
            detail: format!("no randomness for a new signing key: {error}"),
        })?;
        conn.prepare_cached("INSERT OR IGNORE INTO store_meta (name, value) VALUES (?1, ?2)")?
            .execute(rusqlite::params![SIGNING_KEY, key.secret().as_slice()])?;
    }
    let secret = read()?.ok_or_else(|| Error::Corrupt {
        detail: "store_meta lost the signing key it was given".into(),
    })?;
    let secret: [u8; 32] = secret.try_into().map_err(|_| Error::Corrupt {
        detail: "store_meta's signing key is not 32 bytes".into(),
    })?;
    Ok(DeviceKey::from_secret(secret))
}

/// Keeps the signatures of document `id`'s changes `signed`, inside the caller's transaction
/// (a signature already kept stays). Cost: one primary-key insert each.
pub(crate) fn keep(conn: &Connection, id: &DocId, signed: &[SignedChange]) -> Result<()> {
    let mut insert = conn.prepare_cached(
        "INSERT OR IGNORE INTO change_signatures (doc_id, change_hash, signature)
         VALUES (?1, ?2, ?3)",
    )?;
    for (hash, signature) in signed {
        insert.execute(rusqlite::params![
            id.as_bytes(),
            hash.0.as_slice(),
            signature.as_slice()
        ])?;
    }
    Ok(())
}

/// The kept signatures of document `id`'s changes: those of `only`, or all of them. Cost: one
/// primary-key lookup per change of `only`, or one range scan of the key.
pub(crate) fn of_document(
    conn: &Connection,
    id: &DocId,
    only: Option<&[ChangeHash]>,
) -> Result<Vec<SignedChange>> {
    let Some(only) = only else {
        let mut all = conn.prepare_cached(
            "SELECT change_hash, signature FROM change_signatures WHERE doc_id = ?1",
        )?;
        let rows = all.query_map([id.as_bytes()], |row| {
            Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, Vec<u8>>(1)?))
        })?;
        return rows
            .map(|row| {
                let (hash, signature) = row?;
                Ok((hash_of(&hash)?, signature_of(&signature)?))
            })
            .collect();
    };
    let mut one = conn.prepare_cached(
        "SELECT signature FROM change_signatures WHERE doc_id = ?1 AND change_hash = ?2",
    )?;
    let mut found = Vec::with_capacity(only.len());
    for hash in only {
        let signature: Option<Vec<u8>> = one
            .query_row(rusqlite::params![id.as_bytes(), hash.0.as_slice()], |row| {
                row.get(0)
            })
            .optional()?;
        if let Some(signature) = signature {
            found.push((*hash, signature_of(&signature)?));
        }
    }
    Ok(found)
}

fn hash_of(bytes: &[u8]) -> Result<ChangeHash> {
    ChangeHash::try_from(bytes).map_err(|_| Error::Corrupt {
        detail: "change_signatures holds a change hash that is not 32 bytes".into(),
    })
}

fn signature_of(bytes: &[u8]) -> Result<Signature> {
    bytes.try_into().map_err(|_| Error::Corrupt {
        detail: format!("change_signatures holds a signature that is not {SIGNATURE_LEN} bytes"),
    })
}
