//! A store's enrolment: once a hub has enrolled a store, the id the hub gave is the one every
//! later change is signed with, in this process and whenever the store is opened again
//! (whatever device id the app passes then), so that the hub and every report name one
//! submitter. The hub's credential (the device's id, project, role and key, signed by the hub)
//! and the hub's public key are kept beside it, verified first, so that the store can prove to
//! other devices who it is and judge theirs. Kept in `store_meta` (`storage::store_meta`);
//! opening reads the id (`store::open`).

use crate::document::DeviceIdentity;
use crate::error::{Error, Result};
use crate::storage::{actors, store_meta};
use crate::store::{Inner, Store};
use minga_sync::credential::Credential;
use minga_sync::signatures::PublicKey;

impl Store {
    /// Makes `device_id` (the id a hub enrolled this store as) the device every later change
    /// is attributed to, and remembers it for later opens. The user name stays. Changes
    /// already made keep the id they were made with. Durable on return.
    pub fn adopt_device_id(&self, device_id: &str) -> Result<()> {
        self.adopt(device_id, None)
    }

    /// Adopts the enrolment a hub whose key is `hub_key` answered with: its `credential` is
    /// kept with the hub's key, and its device id adopted as [`Store::adopt_device_id`] does.
    /// A credential that binds another key than this store's, or whose signature does not
    /// verify under `hub_key`, is refused ([`Error::CredentialRefused`]) and nothing changes.
    /// Durable on return. Cost: one Ed25519 verification and a small transaction.
    pub fn adopt_enrolment(&self, credential: &Credential, hub_key: &PublicKey) -> Result<()> {
        credential
            .verify(hub_key, &self.public_key())
            .map_err(|fault| Error::CredentialRefused {
                reason: fault.to_string(),
            })?;
        let kept = (credential.encode(), hub_key.to_string());
        self.adopt(&credential.device_id, Some(kept))
    }

    /// The credential the hub signed for this store and the hub's key, as kept at enrolment;
    /// `None` before an enrolment that gave them. Cost: two primary-key lookups.
    pub fn credential(&self) -> Result<Option<(Credential, PublicKey)>> {
        let inner = self.lock();
        let Some((credential, hub_key)) = store_meta::credential(&inner.conn)? else {
            return Ok(None);
        };
        let corrupt = |what: String| Error::Corrupt {
            detail: format!("the kept enrolment credential: {what}"),
        };
        let credential = Credential::decode(&credential).map_err(|f| corrupt(f.to_string()))?;
        let hub_key = PublicKey::from_hex(&hub_key).ok_or_else(|| corrupt("hub key".into()))?;
        Ok(Some((credential, hub_key)))
    }

    /// Makes `device_id` the enrolled id, keeping the encoded credential and hub key if given.
    fn adopt(&self, device_id: &str, credential: Option<(String, String)>) -> Result<()> {
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
        if let Some((credential, hub_key)) = &credential {
            store_meta::set_credential(&tx, credential, hub_key)?;
        }
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

    use minga_sync::access::Role;
    use minga_sync::signatures::{credential_text, DeviceKey};

    /// The credential a hub whose key is `hub` signs for `key` as device `dev-9`.
    fn signed_by(hub: &DeviceKey, key: &PublicKey) -> Credential {
        let text = credential_text("dev-9", "imbabura", "supervisor", key);
        Credential {
            device_id: "dev-9".into(),
            project: "imbabura".into(),
            role: Role::Supervisor,
            key: *key,
            signature: hub.sign_credential(&text),
        }
    }

    #[test]
    fn an_enrolments_credential_and_hub_key_are_kept_and_read_back_after_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let store = plain_store(&dir, "s.db", "phone-1", "sara");
        assert_eq!(store.credential().unwrap(), None, "not enrolled yet");
        let hub = DeviceKey::generate().unwrap();
        let credential = signed_by(&hub, &store.public_key());
        store
            .adopt_enrolment(&credential, &hub.public_key())
            .unwrap();
        assert_eq!(store.identity().device_id, "dev-9");
        drop(store);
        let reopened = plain_store(&dir, "s.db", "phone-1", "sara");
        assert_eq!(
            reopened.credential().unwrap(),
            Some((credential, hub.public_key()))
        );
        assert_eq!(reopened.identity().device_id, "dev-9");
    }

    #[test]
    fn a_credential_for_another_key_or_from_another_hub_is_refused_and_nothing_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = plain_store(&dir, "s.db", "phone-1", "sara");
        let (hub, another) = (
            DeviceKey::generate().unwrap(),
            DeviceKey::generate().unwrap(),
        );
        let for_another_key = signed_by(&hub, &another.public_key());
        let by_another_hub = signed_by(&another, &store.public_key());
        for credential in [for_another_key, by_another_hub] {
            let refused = store.adopt_enrolment(&credential, &hub.public_key());
            assert!(
                matches!(refused, Err(Error::CredentialRefused { .. })),
                "{refused:?}"
            );
        }
        assert_eq!(store.credential().unwrap(), None);
        assert_eq!(store.identity().device_id, "phone-1");
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
