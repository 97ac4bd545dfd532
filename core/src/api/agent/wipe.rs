//! Wiping a device's local copy, as a hub asks of a revoked device: every document and what the
//! store knows of its peers goes, the file itself stays (it is open, and its key and device
//! identity remain valid for a new enrolment). The store's sync epoch goes too: its history is
//! gone, so a peer that meets it again drops what it knew of it.

use crate::error::Result;
use crate::schema;
use crate::storage::{documents, store_meta};
use crate::store::Store;

impl Store {
    /// Deletes every document (submissions, forms, reviews), the submission list and all peer
    /// state (cursors, shared heads), in one transaction; then rewrites the file (`VACUUM`) and
    /// empties the WAL, so that the deleted pages do not linger on disk. Every table except
    /// the store's metadata and its actors is emptied, including tables added after this was
    /// written: a wipe errs on the side of deleting. Sequence numbers keep counting up.
    /// Returns how many documents were deleted. Cost: rewrites the whole file.
    pub fn wipe_local_copy(&self) -> Result<u64> {
        let mut inner = self.lock();
        let tx = inner.conn.transaction()?;
        let removed = documents::count(&tx)?;
        store_meta::keep_seq_floor(&tx)?;
        schema::empty_data_tables(&tx)?;
        store_meta::forget_epochs(&tx)?;
        tx.commit()?;
        inner.cache.clear();
        inner
            .conn
            .execute_batch("VACUUM; PRAGMA wal_checkpoint(TRUNCATE);")?;
        tracing::warn!(documents = removed, "local copy wiped");
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AnswerPath, DeviceIdentity, Encryption, FormRef, StoreKey, Value};
    use minga_sync::{DocumentStore, PeerCursor, PeerId};

    fn rows(store: &Store, table: &str) -> i64 {
        let inner = store.lock();
        inner
            .conn
            .query_row(&format!("SELECT count(*) FROM \"{table}\""), [], |row| {
                row.get(0)
            })
            .unwrap()
    }

    #[test]
    fn a_wipe_empties_every_data_table_and_the_store_stays_usable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("phone.db");
        let key = Encryption::Key(StoreKey::new([7; 32]));
        let identity = DeviceIdentity::new("phone", "ana");
        let store = Store::open(&path, key.clone(), identity.clone()).unwrap();
        let form = FormRef::new("dialogue", "1");
        for n in 0..3 {
            let id = store.create_submission(&form).unwrap();
            store
                .set_answer(&id, &AnswerPath::new("q"), &Value::Integer(n))
                .unwrap();
        }
        let hub = PeerId::new("hub").unwrap();
        let mut commit = minga_sync::Commit::new(hub.clone());
        commit.cursor = Some(PeerCursor { theirs: 4, ours: 3 });
        store.commit(commit).unwrap();
        assert_eq!(store.peer_cursor(&hub).unwrap().theirs, 4);
        let tables = schema::data_tables(&store.lock().conn).unwrap();
        assert!(tables.len() >= 5, "{tables:?}");

        let epoch = store.epoch().unwrap();
        assert_eq!(store.wipe_local_copy().unwrap(), 3);
        assert_ne!(
            store.epoch().unwrap(),
            epoch,
            "a wiped store is a new one to its peers"
        );
        for table in &tables {
            assert_eq!(rows(&store, table), 0, "{table} emptied");
        }
        assert_eq!(rows(&store, "actors"), 1, "the device identity stays");
        assert_eq!(store.peer_cursor(&hub).unwrap(), PeerCursor::default());
        assert!(store
            .list_submissions(&Default::default(), None, 10)
            .unwrap()
            .items
            .is_empty());
        store.create_submission(&form).unwrap();
        drop(store);
        let reopened = Store::open(&path, key, identity).unwrap();
        assert_eq!(reopened.integrity_check().unwrap(), vec!["ok".to_string()]);
        assert_eq!(
            reopened
                .list_submissions(&Default::default(), None, 10)
                .unwrap()
                .items
                .len(),
            1
        );
    }

    #[test]
    fn sequence_numbers_keep_counting_up_after_a_wipe() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::test_support::plain_store(&dir, "phone.db", "phone", "ana");
        let form = FormRef::new("dialogue", "1");
        for _ in 0..3 {
            store.create_submission(&form).unwrap();
        }
        let before = store.last_seq().unwrap();
        assert_eq!(before, 3);
        store.wipe_local_copy().unwrap();
        assert_eq!(store.last_seq().unwrap(), before, "no number is taken back");
        let id = store.create_submission(&form).unwrap();
        let changed = store.changed_since(0, 10).unwrap();
        assert_eq!(changed.len(), 1);
        assert_eq!(changed[0].doc.id, id.into());
        assert_eq!(
            changed[0].doc.seq,
            before + 1,
            "the next number, not 1 again"
        );
    }
}
