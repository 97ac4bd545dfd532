//! The console's signing: every change a console user makes is signed, as a phone's are, with a
//! key of her own that the hub holds. Her key is derived (HKDF-SHA-256) from the hub's own
//! signing key and her account's fixed id, so it needs no table of its own and is the same in
//! every hub process over one database; her actors are keyed by it, so every receiver (the hub's
//! write path, a phone, a tablet) verifies her changes like any other keyed change.

use crate::error::{HubError, Result};
use crate::storage::{ConsoleUser, HubStorage};
use automerge::{ActorId, Automerge};
use hkdf::Hkdf;
use minga_core::DeviceIdentity;
use minga_sync::signatures::{DeviceKey, PublicKey, SignaturePool};
use sha2::Sha256;
use std::sync::Arc;

/// Separates console users' keys from any other key the hub's secret could ever seed.
const DERIVATION_LABEL: &[u8] = b"minga console user signing key v1";

/// A console user writing: her key and the identity documents' `authors` maps record.
pub struct ConsoleSigner {
    key: DeviceKey,
    identity: DeviceIdentity,
}

/// The device id a console user's changes are recorded under in a document's `authors` map.
pub fn console_device(user: &ConsoleUser) -> String {
    format!("console:{}", user.name)
}

impl ConsoleSigner {
    /// `user`'s signer. Cost: one read of the hub's key and one HKDF.
    pub fn of(storage: &dyn HubStorage, user: &ConsoleUser) -> Result<Self> {
        Self::derived(&storage.hub_signing_key()?, user)
    }

    /// `user`'s signer, from the hub's key `hub`. Cost: one HKDF.
    pub fn derived(hub: &DeviceKey, user: &ConsoleUser) -> Result<Self> {
        let hub_secret = hub.secret();
        let derivation = Hkdf::<Sha256>::new(Some(user.actor.as_bytes()), &hub_secret);
        let mut secret = [0u8; 32];
        derivation
            .expand(DERIVATION_LABEL, &mut secret)
            .map_err(|e| HubError::Corrupt(format!("deriving {}'s key: {e}", user.name)))?;
        Ok(ConsoleSigner {
            key: DeviceKey::from_secret(secret),
            identity: DeviceIdentity::new(console_device(user), user.name.clone()),
        })
    }

    /// Her public key, by which a history names her as the signer of her changes.
    pub fn public_key(&self) -> PublicKey {
        self.key.public_key()
    }

    /// A fresh actor keyed by her key (a new one per write, so that two tabs never share one),
    /// and the identity to record it under.
    pub fn writer(&self) -> Result<(ActorId, DeviceIdentity)> {
        let actor = self
            .key
            .new_actor()
            .map_err(|e| HubError::Corrupt(format!("no randomness for an actor: {e}")))?;
        Ok((actor, self.identity.clone()))
    }

    /// Signatures of the changes of hers that `after` holds and `before` (a saved document, or
    /// empty for a new one) lacks. Cost: decoding both documents once.
    pub fn sign_new(&self, before: &[u8], after: &[u8]) -> Result<Arc<SignaturePool>> {
        let corrupt = |e: automerge::AutomergeError| HubError::Corrupt(format!("signing: {e}"));
        let known = if before.is_empty() {
            Vec::new()
        } else {
            Automerge::load(before).map_err(corrupt)?.get_heads()
        };
        let written = Automerge::load(after).map_err(corrupt)?;
        let signed = written
            .get_changes(&known)
            .into_iter()
            .filter(|change| self.key.owns(change.actor_id()))
            .map(|change| (change.hash(), self.key.sign_change(&change.hash())))
            .collect();
        Ok(Arc::new(signed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::SqliteStorage;
    use automerge::transaction::Transactable;
    use minga_sync::signatures::actor_key;

    fn user(name: &str, actor: &str) -> ConsoleUser {
        ConsoleUser {
            name: name.into(),
            projects: Vec::new(),
            password_hash: String::new(),
            actor: actor.into(),
            created_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn each_user_signs_with_a_key_of_her_own_that_every_hub_process_derives_alike() {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(dir.path()).unwrap();
        let sara = ConsoleSigner::of(&storage, &user("sara", "0a0b")).unwrap();
        let again = ConsoleSigner::of(&storage, &user("sara", "0a0b")).unwrap();
        let luis = ConsoleSigner::of(&storage, &user("luis", "0c0d")).unwrap();
        assert_eq!(sara.key.public_key(), again.key.public_key());
        assert_ne!(sara.key.public_key(), luis.key.public_key());
        assert_ne!(
            sara.key.public_key(),
            storage.hub_signing_key().unwrap().public_key()
        );
        let (actor, identity) = sara.writer().unwrap();
        assert_eq!(actor_key(&actor), Some(sara.key.public_key()));
        assert_eq!(identity.device_id, "console:sara");
    }

    #[test]
    fn only_her_new_changes_are_signed_and_each_signature_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(dir.path()).unwrap();
        let sara = ConsoleSigner::of(&storage, &user("sara", "0a0b")).unwrap();
        let mut doc = automerge::AutoCommit::new();
        doc.put(automerge::ROOT, "by", "a phone").unwrap();
        let before = doc.save();
        doc.set_actor(sara.writer().unwrap().0);
        doc.put(automerge::ROOT, "verdict", "approved").unwrap();
        let after = doc.save();
        let pool = sara.sign_new(&before, &after).unwrap();
        let hers = doc.get_last_local_change().unwrap().hash();
        let signature = pool.get(&hers).expect("her change signed");
        assert!(sara.key.public_key().verifies(&hers, &signature));
        let all = sara.sign_new(&[], &after).unwrap();
        assert_eq!(all, pool, "the phone's change is not hers to sign");
    }
}
