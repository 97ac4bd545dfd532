//! A store's enrolled device id: once a hub has enrolled a store, the id the hub gave is the
//! one every later change is signed with, in this process and whenever the store is opened
//! again (whatever device id the app passes then), so that the hub and every report name one
//! submitter. Kept in `store_meta` (`storage::store_meta`); opening reads it (`store::open`).

use crate::document::DeviceIdentity;
use crate::error::{Error, Result};
use crate::storage::{actors, store_meta};
use crate::store::{Inner, Store};

impl Store {
    /// Makes `device_id` (the id a hub enrolled this store as) the device every later change
    /// is attributed to, and remembers it for later opens. The user name stays. Changes
    /// already made keep the id they were made with. Durable on return.
    pub fn adopt_device_id(&self, device_id: &str) -> Result<()> {
        if device_id.trim().is_empty() {
            return Err(Error::InvalidArgument(
                "an enrolled device id cannot be empty".into(),
            ));
        }
        let mut inner = self.lock();
        let identity = DeviceIdentity::new(device_id, inner.identity.user_name.clone());
        let Inner { conn, key, .. } = &mut *inner;
        let tx = conn.transaction()?;
        store_meta::set_enrolled_device_id(&tx, device_id)?;
        let actor = actors::actor_for(&tx, &identity, key)?;
        tx.commit()?;
        // Cached documents carry the old actor: drop them, so that the next edit loads
        // each with the new one.
        inner.cache.clear();
        inner.actor = actor;
        inner.identity = identity;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::FormRef;
    use crate::test_support::plain_store;

    #[test]
    fn after_enrolment_changes_are_signed_with_the_enrolled_id_even_after_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let store = plain_store(&dir, "s.db", "phone-1", "ana");
        let before = store.create_submission(&FormRef::new("f", "1")).unwrap();
        store.adopt_device_id("0190c7e4-hub-id").unwrap();
        assert_eq!(store.identity().device_id, "0190c7e4-hub-id");
        assert_eq!(store.identity().user_name, "ana");
        let after = store.create_submission(&FormRef::new("f", "1")).unwrap();
        let device_of = |store: &Store, id| store.submission(id).unwrap().meta.device_id;
        assert_eq!(device_of(&store, &before), "phone-1", "made before: kept");
        assert_eq!(device_of(&store, &after), "0190c7e4-hub-id");
        drop(store);

        let reopened = plain_store(&dir, "s.db", "phone-1", "ana");
        assert_eq!(reopened.identity().device_id, "0190c7e4-hub-id");
        let edited = reopened.create_submission(&FormRef::new("f", "1")).unwrap();
        assert_eq!(device_of(&reopened, &edited), "0190c7e4-hub-id");
    }

    #[test]
    fn an_empty_enrolled_id_is_refused_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = plain_store(&dir, "s.db", "phone-1", "ana");
        assert!(matches!(
            store.adopt_device_id(" "),
            Err(Error::InvalidArgument(_))
        ));
        assert_eq!(store.identity().device_id, "phone-1");
    }
}
