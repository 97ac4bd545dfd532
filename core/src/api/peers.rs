//! Direct syncs under the hub's rules: once a peer has proven its credential
//! (`minga_sync::peer`), [`PeerPolicy`] applies the hub's access rules (`minga_sync::access`) to
//! it over this store, so that a facilitator's phone receives from a supervisor's tablet only
//! its own submissions, the forms and the reviews of its work, and the tablet refuses what the
//! hub would refuse.
//!
//! A device has no table of authors as the hub has: a submission's author is the key that
//! signed its first change, and authors are compared by key. The two keys a direct sync knows
//! are the peer's and this store's own (from their credentials); each new change a peer
//! delivers is judged by its signer: the peer's own, this store's, or the deterministic first
//! change of a review or form. A change signed by any other key is refused: no credential here
//! vouches for its signer (the hub, which knows every device's key, takes it instead).

use std::sync::{Arc, Weak};

use automerge::{ActorId, Automerge};
use minga_sync::access::{
    is_skeleton_actor, judge_delivery, may_read, new_changes_by_actor, DocAccess, SignedBy,
};
use minga_sync::credential::Credential;
use minga_sync::peer::PeerIdentity;
use minga_sync::signatures::{actor_key, DeviceKey, PublicKey};
use minga_sync::{DocKind, DocumentStore, PeerId, Policy};

use crate::document::{reviewed_submission, DocId};
use crate::error::Result;
use crate::store::{Inner, Store};

impl Store {
    /// This store as it presents itself to a peer it syncs with directly: its key, the
    /// credential its hub signed and the hub's key; `None` before an enrolment that gave a
    /// credential ([`Store::adopt_enrolment`]). Cost: two primary-key lookups.
    pub fn peer_identity(&self) -> Result<Option<PeerIdentity>> {
        let Some((credential, hub_key)) = self.credential()? else {
            return Ok(None);
        };
        let key = DeviceKey::from_secret(self.lock().key.secret());
        Ok(Some(PeerIdentity {
            key,
            credential,
            hub_key,
        }))
    }

    /// Runs `read` on stored document `id` (decoded once, then from the cache); `None` when the
    /// store lacks it. Cost: decoding the document if it is not in memory.
    fn read_document<T>(
        &self,
        id: &DocId,
        read: impl FnOnce(&Automerge) -> T,
    ) -> Result<Option<T>> {
        let mut inner = self.lock();
        let Inner {
            conn, cache, actor, ..
        } = &mut *inner;
        Ok(cache
            .get_or_load(conn, id, actor)?
            .map(|loaded| read(loaded.doc.document())))
    }
}

/// The hub's rules applied to one proven peer, over this store. It holds the store weakly, so
/// that a responder kept by an app does not keep a closed store's file open; once the store is
/// gone it refuses everything.
pub struct PeerPolicy {
    store: Weak<Store>,
    me: Credential,
    peer: Credential,
}

/// The key whose actor made `doc`'s first change; `None` for an unkeyed one (or none).
fn creator(doc: &Automerge) -> Option<PublicKey> {
    let changes = doc.get_changes_meta(&[]);
    let first = changes.iter().find(|change| change.deps.is_empty())?;
    actor_key(&first.actor)
}

impl PeerPolicy {
    /// The rules for `peer` (its credential proven by the handshake) over `store`, enrolled as
    /// `me`.
    pub fn new(store: &Arc<Store>, me: Credential, peer: Credential) -> Self {
        Self {
            store: Arc::downgrade(store),
            me,
            peer,
        }
    }

    fn store(&self) -> Result<Arc<Store>> {
        self.store
            .upgrade()
            .ok_or_else(|| crate::Error::InvalidArgument("the store is closed".into()))
    }

    /// Who an author key is, as the rules compare authors: the peer, this store, or neither.
    fn name(&self, key: Option<PublicKey>) -> String {
        match key {
            Some(key) if key == self.peer.key => self.peer.device_id.clone(),
            Some(key) if key == self.me.key => self.me.device_id.clone(),
            Some(key) => format!("the device of key {key}"),
            None => "an unsigned creator".into(),
        }
    }

    /// The author `doc` is judged by: a submission's creator, or for a review its submission's
    /// (read through `proposed` when the store lacks the document). `None` for a form, or a
    /// submission neither stored nor proposed.
    fn author(
        &self,
        id: &DocId,
        kind: DocKind,
        proposed: Option<&Automerge>,
    ) -> Result<Option<String>> {
        let store = self.store()?;
        let submission = match kind {
            DocKind::Form => return Ok(None),
            DocKind::Submission => *id,
            DocKind::Review => {
                let stored = store.read_document(id, |doc| reviewed_submission(id, doc))?;
                let judged = stored
                    .flatten()
                    .or_else(|| proposed.and_then(|doc| reviewed_submission(id, doc)));
                match judged {
                    Some(submission) => submission,
                    None => return Ok(None),
                }
            }
        };
        let stored = store.read_document(&submission, creator)?;
        let creator = match (stored, kind, proposed) {
            (Some(creator), _, _) => creator,
            (None, DocKind::Submission, Some(doc)) => creator(doc),
            (None, _, _) => return Ok(None),
        };
        Ok(Some(self.name(creator)))
    }

    /// Whose rights `actor`'s new changes to document `id` carry.
    fn signed_by(&self, id: &str, actor: &ActorId) -> SignedBy {
        if is_skeleton_actor(id, actor) {
            return SignedBy::Skeleton;
        }
        match actor_key(actor) {
            None => SignedBy::Deliverer,
            Some(key) if key == self.peer.key => SignedBy::Deliverer,
            Some(key) if key == self.me.key => SignedBy::Principal(self.me.principal()),
            Some(_) => SignedBy::Unknown,
        }
    }

    fn access<'a>(&'a self, kind: DocKind, author: Option<&'a str>) -> DocAccess<'a> {
        DocAccess {
            project: &self.me.project,
            kind,
            submission_author: author,
        }
    }

    fn judge_write(
        &self,
        doc: &minga_sync::DocId,
        kind: DocKind,
        proposed: &Automerge,
    ) -> Result<bool> {
        let Ok(id) = DocId::try_from(doc) else {
            return Ok(false);
        };
        if kind == DocKind::Review && reviewed_submission(&id, proposed).is_none() {
            return Ok(false); // a review must judge the submission its id derives from
        }
        let author = self.author(&id, kind, Some(proposed))?;
        let before = DocumentStore::doc_heads(&*self.store()?, doc)
            .map_err(|error| crate::Error::Corrupt {
                detail: error.to_string(),
            })?
            .map(|(_, heads)| heads)
            .unwrap_or_default();
        let signed: Vec<_> = new_changes_by_actor(proposed, &before)
            .into_iter()
            .map(|(actor, change)| (change, self.signed_by(doc.as_str(), &actor)))
            .collect();
        let access = self.access(kind, author.as_deref());
        match judge_delivery(&self.peer.principal(), (doc.as_str(), &access), &signed) {
            Ok(()) => Ok(true),
            Err(refused) => {
                tracing::warn!(peer = %self.peer.device_id, %refused, "a peer's change refused");
                Ok(false)
            }
        }
    }
}

/// Refusing is the safe answer when the rules cannot be checked (the store failed).
fn or_refuse(judged: Result<bool>) -> bool {
    judged.unwrap_or_else(|error| {
        tracing::error!(%error, "the peer policy could not read the store; refusing");
        false
    })
}

impl Policy for PeerPolicy {
    /// Cost: decoding the document (and for a review its submission) if not in memory.
    fn may_read(&self, _: &PeerId, doc: &minga_sync::DocId, kind: DocKind) -> bool {
        let Ok(id) = DocId::try_from(doc) else {
            return false;
        };
        or_refuse(self.author(&id, kind, None).map(|author| {
            may_read(
                &self.peer.principal(),
                &self.access(kind, author.as_deref()),
            )
            .is_ok()
        }))
    }

    /// Cost: as `may_read`, plus a walk of the new changes' metadata.
    fn may_write(
        &self,
        _: &PeerId,
        doc: &minga_sync::DocId,
        kind: DocKind,
        proposed: &Automerge,
    ) -> bool {
        or_refuse(self.judge_write(doc, kind, proposed))
    }
}
