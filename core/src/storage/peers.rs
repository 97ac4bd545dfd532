//! What the store remembers about each sync peer: the cursor and, per document, the heads last
//! shared with it (the `peers` and `peer_heads` tables). Written only inside a sync commit's
//! transaction, so a cut session never leaves a cursor ahead of the documents it covers.

use super::documents::{decode_heads, encode_heads};
use crate::error::Result;
use automerge::ChangeHash;
use minga_sync::{DocId as SyncId, PeerCursor, PeerId};
use rusqlite::{params, Connection, OptionalExtension};

/// The stored cursor for `peer`; zeroes when they never met. Cost: one primary-key lookup.
pub(crate) fn cursor(conn: &Connection, peer: &PeerId) -> Result<PeerCursor> {
    let cursor = conn
        .prepare_cached("SELECT theirs, ours FROM peers WHERE peer_id = ?1")?
        .query_row([peer.as_str()], |row| {
            Ok(PeerCursor {
                theirs: from_sql_seq(row.get(0)?),
                ours: from_sql_seq(row.get(1)?),
            })
        })
        .optional()?;
    Ok(cursor.unwrap_or_default())
}

pub(crate) fn set_cursor(conn: &Connection, peer: &PeerId, cursor: PeerCursor) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO peers (peer_id, theirs, ours) VALUES (?1, ?2, ?3)
         ON CONFLICT (peer_id) DO UPDATE SET theirs = excluded.theirs, ours = excluded.ours",
    )?
    .execute(params![
        peer.as_str(),
        to_sql_seq(cursor.theirs),
        to_sql_seq(cursor.ours)
    ])?;
    Ok(())
}

/// Forgets `peer`'s cursor and every head shared with it, and records its new `epoch`, inside
/// the caller's transaction (the peer is another store than the one they were learnt from).
/// Cost: one delete per shared document.
pub(crate) fn reset(conn: &Connection, peer: &PeerId, epoch: minga_sync::Epoch) -> Result<()> {
    conn.prepare_cached("DELETE FROM peers WHERE peer_id = ?1")?
        .execute([peer.as_str()])?;
    conn.prepare_cached("DELETE FROM peer_heads WHERE peer_id = ?1")?
        .execute([peer.as_str()])?;
    super::store_meta::set_peer_epoch(conn, peer, epoch)
}

/// The heads last shared with `peer` for `doc`. Cost: one primary-key lookup.
pub(crate) fn shared_heads(
    conn: &Connection,
    peer: &PeerId,
    doc: &SyncId,
) -> Result<Option<Vec<ChangeHash>>> {
    let heads: Option<Vec<u8>> = conn
        .prepare_cached("SELECT heads FROM peer_heads WHERE peer_id = ?1 AND doc_id = ?2")?
        .query_row([peer.as_str(), doc.as_str()], |row| row.get(0))
        .optional()?;
    heads.map(|bytes| decode_heads(&bytes)).transpose()
}

/// Replaces the shared heads of each listed document.
pub(crate) fn replace_shared_heads(
    conn: &Connection,
    peer: &PeerId,
    shared: &[(SyncId, Vec<ChangeHash>)],
) -> Result<()> {
    let mut statement = conn.prepare_cached(
        "INSERT INTO peer_heads (peer_id, doc_id, heads) VALUES (?1, ?2, ?3)
         ON CONFLICT (peer_id, doc_id) DO UPDATE SET heads = excluded.heads",
    )?;
    for (doc, heads) in shared {
        statement.execute(params![peer.as_str(), doc.as_str(), encode_heads(heads)])?;
    }
    Ok(())
}

/// A peer's sequence number arrives from the wire and may use all 64 bits; SQLite integers are
/// signed, so the bits are stored as they are (`as` is lossless both ways).
fn to_sql_seq(seq: u64) -> i64 {
    seq as i64
}

fn from_sql_seq(stored: i64) -> u64 {
    stored as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        let tx = conn.transaction().unwrap();
        crate::schema::create_fresh(&tx).unwrap();
        tx.commit().unwrap();
        conn
    }

    #[test]
    fn cursors_keep_all_64_bits_and_default_to_zero() {
        let conn = conn();
        let hub = PeerId::new("hub").unwrap();
        assert_eq!(cursor(&conn, &hub).unwrap(), PeerCursor::default());
        let far = PeerCursor {
            theirs: u64::MAX,
            ours: 7,
        };
        set_cursor(&conn, &hub, far).unwrap();
        assert_eq!(cursor(&conn, &hub).unwrap(), far);
        let other = PeerId::new("tablet").unwrap();
        assert_eq!(cursor(&conn, &other).unwrap(), PeerCursor::default());
    }

    #[test]
    fn shared_heads_are_replaced_per_peer_and_document() {
        let conn = conn();
        let hub = PeerId::new("hub").unwrap();
        let doc = SyncId::new("not-even-a-uuid").unwrap();
        assert_eq!(shared_heads(&conn, &hub, &doc).unwrap(), None);
        let first = vec![ChangeHash([1; 32]), ChangeHash([2; 32])];
        replace_shared_heads(&conn, &hub, &[(doc.clone(), first.clone())]).unwrap();
        assert_eq!(shared_heads(&conn, &hub, &doc).unwrap(), Some(first));
        let second = vec![ChangeHash([3; 32])];
        replace_shared_heads(&conn, &hub, &[(doc.clone(), second.clone())]).unwrap();
        assert_eq!(shared_heads(&conn, &hub, &doc).unwrap(), Some(second));
        let tablet = PeerId::new("tablet").unwrap();
        assert_eq!(shared_heads(&conn, &tablet, &doc).unwrap(), None);
    }

    #[test]
    fn the_store_epoch_is_made_once_and_forgetting_epochs_makes_a_new_one() {
        use crate::storage::store_meta::{epoch, forget_epochs, last_seq, peer_epoch};
        let conn = conn();
        let first = epoch(&conn).unwrap();
        assert_eq!(epoch(&conn).unwrap(), first);
        let hub = PeerId::new("hub").unwrap();
        assert_eq!(peer_epoch(&conn, &hub).unwrap(), None);
        reset(&conn, &hub, first).unwrap();
        assert_eq!(peer_epoch(&conn, &hub).unwrap(), Some(first));
        forget_epochs(&conn).unwrap();
        assert_eq!(peer_epoch(&conn, &hub).unwrap(), None);
        assert_ne!(epoch(&conn).unwrap(), first);
        assert_eq!(last_seq(&conn).unwrap(), 0, "the counter stays");
    }

    #[test]
    fn a_reset_forgets_the_peer_alone_and_records_its_epoch() {
        let conn = conn();
        let (hub, tablet) = (PeerId::new("hub").unwrap(), PeerId::new("tablet").unwrap());
        let doc = SyncId::new("d").unwrap();
        let heads = vec![ChangeHash([1; 32])];
        for peer in [&hub, &tablet] {
            set_cursor(&conn, peer, PeerCursor { theirs: 3, ours: 4 }).unwrap();
            replace_shared_heads(&conn, peer, &[(doc.clone(), heads.clone())]).unwrap();
        }
        let epoch = minga_sync::Epoch::random();
        reset(&conn, &hub, epoch).unwrap();
        assert_eq!(cursor(&conn, &hub).unwrap(), PeerCursor::default());
        assert_eq!(shared_heads(&conn, &hub, &doc).unwrap(), None);
        assert_eq!(
            crate::storage::store_meta::peer_epoch(&conn, &hub).unwrap(),
            Some(epoch)
        );
        assert_eq!(cursor(&conn, &tablet).unwrap().ours, 4);
        assert_eq!(shared_heads(&conn, &tablet, &doc).unwrap(), Some(heads));
    }
}
