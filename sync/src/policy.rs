//! Who may read and write which document: the caller's decision, consulted per document.

use automerge::Automerge;

use crate::attachments::ContentHash;
use crate::ids::{DocId, DocKind, PeerId};

/// Decides, per peer and document, what a sync session may send and accept. The hub gives one
/// per device (its role and projects); tests may allow everything.
pub trait Policy: Send + Sync {
    /// May `peer` receive this document, which exists in the local store? Documents it may not
    /// read are never offered to it, and its offers of them are refused.
    fn may_read(&self, peer: &PeerId, doc: &DocId, kind: DocKind) -> bool;

    /// May `peer` change this document? `proposed` is the document as it would be with the
    /// peer's changes, so the policy may look at its metadata (project, author).
    fn may_write(&self, peer: &PeerId, doc: &DocId, kind: DocKind, proposed: &Automerge) -> bool;

    /// May `peer` receive the attachment `hash`, which the stored documents `referrers`
    /// reference? The default: when it may read one of them. A policy whose peers may read
    /// documents they wrote themselves (a hub's facilitators) must judge more strictly, since
    /// a device could write a document naming a hash it learnt, to fetch a colleague's photo:
    /// for instance by who delivered the content to this store.
    fn may_read_attachment(
        &self,
        peer: &PeerId,
        _hash: &ContentHash,
        referrers: &[(DocId, DocKind)],
    ) -> bool {
        referrers
            .iter()
            .any(|(doc, kind)| self.may_read(peer, doc, *kind))
    }
}

/// Lets every peer read and write everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct AllowAll;

impl Policy for AllowAll {
    fn may_read(&self, _: &PeerId, _: &DocId, _: DocKind) -> bool {
        true
    }

    fn may_write(&self, _: &PeerId, _: &DocId, _: DocKind, _: &Automerge) -> bool {
        true
    }
}
