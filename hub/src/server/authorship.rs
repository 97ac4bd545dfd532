//! A submission's author: the device whose key signed its first change (bound to it at
//! enrolment, `storage::keys`), whoever relays it, so that a supervisor's tablet carrying a
//! facilitator's submission to the hub leaves her its author, and a colleague who relays it
//! cannot take it over. A first change by an unkeyed actor (made before signed changes), or by
//! a key the hub has not bound, names no one: the device that sends the submission first is
//! then its author, as before.

use crate::storage::HubStorage;
use automerge::Automerge;
use minga_sync::signatures::actor_key;
use minga_sync::wire::open_signed_document;

/// The device bound to the key of `doc`'s first change in `project`, if any. Cost: a walk of
/// the document's changes and one key lookup.
pub fn creator_of(
    storage: &dyn HubStorage,
    project: &str,
    doc: &Automerge,
) -> crate::Result<Option<String>> {
    let changes = doc.get_changes(&[]);
    let Some(first) = changes.iter().find(|change| change.deps().is_empty()) else {
        return Ok(None);
    };
    match actor_key(first.actor_id()) {
        Some(key) => storage.device_of_key(project, &key),
        None => Ok(None),
    }
}

/// [`creator_of`] the document that `bytes` (automerge bytes or a signed document) hold;
/// `None` when they do not load as a whole document (the write path refuses them, or they are
/// changes to a stored document, which keeps its author). Cost: loading the bytes.
pub fn creator_of_bytes(
    storage: &dyn HubStorage,
    project: &str,
    bytes: &[u8],
) -> crate::Result<Option<String>> {
    let Ok((bytes, _)) = open_signed_document(bytes) else {
        return Ok(None);
    };
    match Automerge::load(bytes) {
        Ok(doc) => creator_of(storage, project, &doc),
        Err(_) => Ok(None),
    }
}
