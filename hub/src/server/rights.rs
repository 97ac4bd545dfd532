//! Rights by signer at the hub: whose rights each new change a device delivers carries, as the
//! hub knows its keys (`device_keys` bound at enrolment; the console users' keys), so that the
//! access rules (`access::judge_delivery`) judge each change by its signer, not by the device
//! that delivered it. A supervisor's tablet relaying a facilitator's change to a colleague's
//! submission, or a facilitator's review, is refused; relaying the author's own edits is not.

use crate::access::{self, DeliveryRefused, DocAccess, Principal, Role, SignedBy};
use crate::console::signer::ConsoleSigner;
use crate::storage::HubStorage;
use automerge::{ActorId, Automerge, ChangeHash};
use minga_sync::access::{is_skeleton_actor, new_changes_by_actor};
use minga_sync::signatures::{actor_key, PublicKey};

/// Judges the changes `proposed` adds after `before` to document `id`, delivered by `deliverer`:
/// it may read the document, each signer may write it ([`access::judge_delivery`]). `Ok(Err)`
/// names the document and the change refused. Cost: a walk of the new changes' metadata, one
/// key lookup per new actor, and the project's devices read once when another device signed.
pub fn judge(
    storage: &dyn HubStorage,
    deliverer: &Principal,
    (id, doc): (&str, &DocAccess<'_>),
    proposed: &Automerge,
    before: &[ChangeHash],
) -> crate::Result<Result<(), DeliveryRefused>> {
    let mut resolver = Resolver {
        storage,
        deliverer,
        devices: None,
    };
    let signed = new_changes_by_actor(proposed, before)
        .into_iter()
        .map(|(actor, change)| Ok((change, resolver.signed_by(id, &actor)?)))
        .collect::<crate::Result<Vec<_>>>()?;
    Ok(access::judge_delivery(deliverer, (id, doc), &signed))
}

/// Resolves actors to principals, reading the project's devices at most once.
struct Resolver<'a> {
    storage: &'a dyn HubStorage,
    deliverer: &'a Principal,
    devices: Option<Vec<crate::storage::Device>>,
}

impl Resolver<'_> {
    /// Whose rights `actor`'s changes to document `id` carry.
    fn signed_by(&mut self, id: &str, actor: &ActorId) -> crate::Result<SignedBy> {
        if is_skeleton_actor(id, actor) {
            return Ok(SignedBy::Skeleton);
        }
        let Some(key) = actor_key(actor) else {
            return Ok(SignedBy::Deliverer); // written before signed changes
        };
        let project = &self.deliverer.project;
        match self.storage.device_of_key(project, &key)? {
            Some(device) if device == self.deliverer.device_id => Ok(SignedBy::Deliverer),
            Some(device) => self.device(&device),
            None => self.console_user(&key),
        }
    }

    /// The principal of the project's device `id`; a device the hub no longer lists is judged
    /// as a facilitator who authored nothing (it may create a submission, nothing more).
    fn device(&mut self, id: &str) -> crate::Result<SignedBy> {
        let project = self.deliverer.project.clone();
        if self.devices.is_none() {
            self.devices = Some(self.storage.devices(Some(&project))?);
        }
        let role = self
            .devices
            .iter()
            .flatten()
            .find(|device| device.id == id)
            .map_or(Role::Facilitator, |device| device.role);
        Ok(SignedBy::Principal(Principal {
            device_id: id.into(),
            project,
            role,
        }))
    }

    /// A console user's key signs as a supervisor of the projects she supervises; a key nobody
    /// bound is judged as the deliverer's own (a device enrolled without binding its key).
    /// Cost: the console users read and one key derivation each.
    fn console_user(&mut self, key: &PublicKey) -> crate::Result<SignedBy> {
        let hub = self.storage.hub_signing_key()?;
        for user in self.storage.console_users()? {
            if ConsoleSigner::derived(&hub, &user)?.public_key() == *key {
                let project = &self.deliverer.project;
                return Ok(SignedBy::Principal(Principal {
                    device_id: user.name,
                    project: match user.projects.contains(project) {
                        true => project.clone(),
                        false => String::new(),
                    },
                    role: Role::Supervisor,
                }));
            }
        }
        Ok(SignedBy::Deliverer)
    }
}
