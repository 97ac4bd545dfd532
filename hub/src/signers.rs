//! Who signed a document's changes, as the hub knows it: the key a keyed actor names (every
//! change of it was verified under that key when the hub stored it, `storage::txn`) is either
//! bound to an enrolled device of the project (`device_keys`, at enrolment) or is a console
//! user's (derived by the hub, `console::signer`). A device knows neither binding; the hub's
//! history is where a supervisor reads them.

use crate::console::signer::ConsoleSigner;
use crate::error::Result;
use crate::storage::HubStorage;
use automerge::ActorId;
use minga_sync::signatures::{actor_key, PublicKey};
use serde::Serialize;
use std::collections::HashMap;

/// Who signed the changes of one actor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Signer {
    /// A key the hub bound to this device of the project when it enrolled (and the name the
    /// hub knows it by).
    Device {
        device_id: String,
        device_name: Option<String>,
        fingerprint: String,
    },
    /// The key the hub holds for this console user.
    ConsoleUser { name: String, fingerprint: String },
    /// A key no enrolment here bound: a device enrolled before signed changes existed.
    UnboundKey { fingerprint: String },
    /// An unkeyed actor, which signs nothing: written before signing existed (or by an older
    /// client), or the deterministic first change of a review or form version.
    Unsigned,
}

/// Names the signers of one project's changes.
pub struct Signers<'a> {
    storage: &'a dyn HubStorage,
    project: String,
    console_users: HashMap<PublicKey, String>,
    device_names: HashMap<String, String>,
}

impl<'a> Signers<'a> {
    /// The signers of `project`'s changes. Cost: one read of the hub's key, of the project's
    /// devices and of the console users, and one HKDF per console user (a handful).
    pub fn of(storage: &'a dyn HubStorage, project: &str) -> Result<Self> {
        let hub = storage.hub_signing_key()?;
        let console_users = storage
            .console_users()?
            .into_iter()
            .map(|user| Ok((ConsoleSigner::derived(&hub, &user)?.public_key(), user.name)))
            .collect::<Result<_>>()?;
        let device_names = storage
            .devices(Some(project))?
            .into_iter()
            .map(|device| (device.id, device.name))
            .collect();
        Ok(Signers {
            storage,
            project: project.into(),
            console_users,
            device_names,
        })
    }

    /// Who signed `actor`'s changes. Cost: one primary-key lookup of `device_keys` for a key
    /// that is not a console user's.
    pub fn signer(&self, actor: &ActorId) -> Result<Signer> {
        let Some(key) = actor_key(actor) else {
            return Ok(Signer::Unsigned);
        };
        let fingerprint = key.fingerprint();
        if let Some(name) = self.console_users.get(&key) {
            return Ok(Signer::ConsoleUser {
                name: name.clone(),
                fingerprint,
            });
        }
        Ok(match self.storage.device_of_key(&self.project, &key)? {
            Some(device_id) => Signer::Device {
                device_name: self.device_names.get(&device_id).cloned(),
                device_id,
                fingerprint,
            },
            None => Signer::UnboundKey { fingerprint },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::users::{add_user, Password};
    use crate::storage::SqliteStorage;
    use minga_sync::signatures::DeviceKey;

    fn actor_of(key: &PublicKey) -> ActorId {
        ActorId::from([key.0.as_slice(), &[7u8; 8]].concat())
    }

    #[test]
    fn each_key_is_named_by_what_the_hub_bound_it_to() {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(dir.path()).unwrap();
        storage.create_project("imbabura", "Imbabura").unwrap();
        let password = Password::Given("a long enough password".into());
        let sara = add_user(&storage, "sara", &["imbabura".into()], &password).unwrap();
        let phone = DeviceKey::generate().unwrap().public_key();
        storage
            .bind_device_key("imbabura", "dev-ana", &phone)
            .unwrap();
        let stranger = DeviceKey::generate().unwrap().public_key();
        let hub_key = storage.hub_signing_key().unwrap();
        let saras = ConsoleSigner::derived(&hub_key, &sara)
            .unwrap()
            .public_key();
        let signers = Signers::of(&storage, "imbabura").unwrap();

        assert_eq!(
            signers.signer(&actor_of(&phone)).unwrap(),
            Signer::Device {
                device_id: "dev-ana".into(),
                device_name: None,
                fingerprint: phone.fingerprint()
            }
        );
        assert_eq!(
            signers.signer(&actor_of(&saras)).unwrap(),
            Signer::ConsoleUser {
                name: "sara".into(),
                fingerprint: saras.fingerprint()
            }
        );
        assert_eq!(
            signers.signer(&actor_of(&stranger)).unwrap(),
            Signer::UnboundKey {
                fingerprint: stranger.fingerprint()
            }
        );
        let unkeyed = ActorId::from([1u8; 16].as_slice());
        assert_eq!(signers.signer(&unkeyed).unwrap(), Signer::Unsigned);
    }

    #[test]
    fn a_key_bound_in_another_project_is_not_bound_in_this_one() {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(dir.path()).unwrap();
        let phone = DeviceKey::generate().unwrap().public_key();
        storage
            .bind_device_key("carchi", "dev-luis", &phone)
            .unwrap();
        let signers = Signers::of(&storage, "imbabura").unwrap();
        assert!(matches!(
            signers.signer(&actor_of(&phone)).unwrap(),
            Signer::UnboundKey { .. }
        ));
    }
}
