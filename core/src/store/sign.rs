//! Signing what this store writes: before a local edit or a new document is recorded, every
//! change of it that is not saved yet and was made by one of this store's keyed actors is
//! signed with the store's key, and the signature kept beside it (`storage::signatures`), in
//! the write's transaction. Received changes are verified instead ([`verify_received`], on
//! the one received-changes path, `receive.rs`).

use crate::document::DocId;
use crate::error::{Error, Result};
use crate::storage::chunks::LoadedDoc;
use crate::storage::signatures;
use automerge::ActorId;
use minga_sync::signatures::{
    signing_on, verify_new_changes, DeviceKey, SignaturePool, SignedChange,
};
use rusqlite::Connection;

/// The store that receives: the actor its own edits are made with, and its signing key.
#[derive(Clone, Copy)]
pub(crate) struct Receiver<'a> {
    pub(crate) actor: &'a ActorId,
    pub(crate) key: &'a DeviceKey,
}

/// Signs the unsaved changes of `loaded` that `key`'s actors made, and keeps the signatures,
/// inside the caller's transaction. Cost: a walk of the unsaved changes (one, for an edit) and
/// one Ed25519 signature each.
pub(crate) fn sign_own_changes(
    tx: &Connection,
    key: &DeviceKey,
    id: &DocId,
    loaded: &mut LoadedDoc,
) -> Result<()> {
    if !signing_on() {
        return Ok(()); // a benchmark's baseline (`minga_sync::signatures::bench_switch`)
    }
    let saved = loaded.saved_heads().to_vec();
    let signed: Vec<SignedChange> = loaded
        .doc
        .get_changes(&saved)
        .iter()
        .filter(|change| key.owns(change.actor_id()))
        .map(|change| (change.hash(), key.sign_change(&change.hash())))
        .collect();
    signatures::keep(tx, id, &signed)
}

/// Verifies the changes received into `loaded` (those after its saved heads) against the
/// signatures that came with them, and returns the signatures to keep: those of each actor's
/// newest new changes, which vouch for the actor's changes they descend from
/// ([`verify_new_changes`]); the others' are not checked, so not kept. In a sync protocol's
/// edit (`own_edit`) the changes made by this store's own actor are its own, made by the edit:
/// they are signed here instead. `Err` is [`Error::UnverifiedChange`] naming the document and
/// the first change that fails. Cost: a walk of the new changes' metadata, one Ed25519
/// verification per actor's newest change, and one signature per own change of an edit.
pub(crate) fn verify_received(
    loaded: &mut LoadedDoc,
    id: &DocId,
    me: Receiver<'_>,
    own_edit: bool,
    signed: &SignaturePool,
) -> Result<Vec<SignedChange>> {
    let saved = loaded.saved_heads().to_vec();
    let own: SignaturePool = if own_edit && signing_on() {
        loaded
            .doc
            .get_changes(&saved)
            .iter()
            .filter(|change| change.actor_id() == me.actor)
            .map(|change| (change.hash(), me.key.sign_change(&change.hash())))
            .collect()
    } else {
        SignaturePool::default()
    };
    let lookup = |hash: &_| signed.get(hash).or_else(|| own.get(hash));
    verify_new_changes(loaded.doc.document(), &saved, lookup).map_err(|unverified| {
        Error::UnverifiedChange {
            document: id.to_string(),
            change: unverified.change.to_string(),
            reason: unverified.fault.to_string(),
        }
    })
}

#[cfg(test)]
mod tests {
    use crate::api::changes::ReceivedChanges;
    use crate::document::{AnswerPath, DocId, DocKind, FormRef};
    use crate::error::Error;
    use crate::store::Store;
    use crate::test_support::{plain_store, stored_heads};
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ChangeHash};
    use minga_forms::Value;
    use minga_sync::signatures::SignedChange;
    use minga_sync::{Commit, DocumentStore, IncomingDoc, PeerId};

    /// The supervisor's store, a tablet that holds her submission (received with its
    /// signatures), and the submission.
    fn supervisor_and_tablet(dir: &tempfile::TempDir) -> (Store, Store, DocId) {
        let supervisor = plain_store(dir, "sara.db", "sara-phone", "sara");
        let tablet = plain_store(dir, "tablet.db", "tablet", "ben");
        let id = supervisor
            .create_submission(&FormRef::new("f", "1"))
            .unwrap();
        tablet
            .import_submission(&supervisor.export_submission(&id).unwrap())
            .unwrap();
        (supervisor, tablet, id)
    }

    /// A change to `id` written under `author`'s own actor on a copy of its document, as
    /// someone who has seen the author's changes can; its bytes and hash.
    fn change_under_the_actor_of(author: &Store, id: &DocId) -> (Vec<u8>, ChangeHash) {
        let bytes = author.document_bytes(id).unwrap();
        let actor = author.lock().actor.clone();
        let mut doc = AutoCommit::load(&bytes).unwrap().with_actor(actor);
        let heads = doc.get_heads();
        doc.put(automerge::ROOT, "forged", true).unwrap();
        doc.commit();
        let hash = doc.get_heads()[0];
        (doc.save_after(&heads), hash)
    }

    fn received(id: DocId, bytes: Vec<u8>, signatures: Vec<SignedChange>) -> ReceivedChanges {
        ReceivedChanges {
            id,
            kind: DocKind::Submission,
            bytes,
            signatures,
        }
    }

    /// Applies the forgery to `tablet` and checks that it is refused naming the document and
    /// the change, and that the tablet is unchanged.
    fn assert_refused(
        tablet: &Store,
        id: &DocId,
        forged: (Vec<u8>, ChangeHash),
        signed: Vec<SignedChange>,
    ) {
        let (heads, seq) = (stored_heads(tablet, id), tablet.last_seq().unwrap());
        let refused = tablet.apply_changes(&[received(*id, forged.0, signed)]);
        match refused {
            Err(Error::UnverifiedChange {
                document, change, ..
            }) => {
                assert_eq!(document, id.to_string());
                assert_eq!(change, forged.1.to_string());
            }
            other => panic!("not refused as unverified: {other:?}"),
        }
        assert_eq!(stored_heads(tablet, id), heads, "store unchanged");
        assert_eq!(tablet.last_seq().unwrap(), seq);
    }

    #[test]
    fn a_change_under_the_supervisors_actor_signed_with_another_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (supervisor, tablet, id) = supervisor_and_tablet(&dir);
        let forger = plain_store(&dir, "ana.db", "ana-phone", "ana");
        let forged = change_under_the_actor_of(&supervisor, &id);
        let signature = forger.lock().key.sign_change(&forged.1);
        let signed = vec![(forged.1, signature)];
        assert_refused(&tablet, &id, forged, signed);
    }

    #[test]
    fn a_valid_signature_moved_to_another_change_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (supervisor, tablet, id) = supervisor_and_tablet(&dir);
        let genuine = supervisor.change_signatures(&id).unwrap()[0].1;
        let forged = change_under_the_actor_of(&supervisor, &id);
        let signed = vec![(forged.1, genuine)];
        assert_refused(&tablet, &id, forged, signed);
    }

    #[test]
    fn a_change_stripped_of_its_signature_is_refused_and_taken_once_it_comes_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let (supervisor, tablet, id) = supervisor_and_tablet(&dir);
        let before = stored_heads(&supervisor, &id);
        let q = AnswerPath::new("q");
        supervisor.set_answer(&id, &q, &Value::Integer(4)).unwrap();
        let mut doc = AutoCommit::load(&supervisor.document_bytes(&id).unwrap()).unwrap();
        let change = doc.save_after(&before);
        let stripped = tablet.apply_changes(&[received(id, change.clone(), vec![])]);
        assert!(
            matches!(&stripped, Err(Error::UnverifiedChange { reason, .. }) if reason.contains("no signature")),
            "{stripped:?}"
        );
        assert_eq!(stored_heads(&tablet, &id), before);
        let signed = supervisor.change_signatures(&id).unwrap();
        tablet
            .apply_changes(&[received(id, change, signed)])
            .unwrap();
        assert_eq!(
            tablet.answers(&id).unwrap().value("q"),
            Some(&Value::Integer(4))
        );
    }

    #[test]
    fn a_forged_document_in_a_sync_step_is_refused_and_the_rest_of_the_step_lands() {
        let dir = tempfile::tempdir().unwrap();
        let (supervisor, tablet, id) = supervisor_and_tablet(&dir);
        let other = supervisor
            .create_submission(&FormRef::new("f", "1"))
            .unwrap();
        let forged = change_under_the_actor_of(&supervisor, &id);
        let mut commit = Commit::new(PeerId::new("phone").unwrap());
        commit.docs = vec![
            IncomingDoc {
                id: id.into(),
                kind: DocKind::Submission,
                changes: forged.0,
                loaded: None,
            },
            IncomingDoc {
                id: other.into(),
                kind: DocKind::Submission,
                changes: supervisor.document_bytes(&other).unwrap(),
                loaded: None,
            },
        ];
        commit
            .signatures
            .extend(supervisor.change_signatures(&other).unwrap());
        let outcomes = tablet.commit(commit).unwrap();
        assert!(
            matches!(&outcomes[0], minga_sync::ApplyOutcome::Invalid { reason }
                if reason.contains(&forged.1.to_string())),
            "{outcomes:?}"
        );
        assert!(matches!(
            outcomes[1],
            minga_sync::ApplyOutcome::Applied { .. }
        ));
        assert!(
            tablet.submission(&other).is_ok(),
            "the rest of the step landed"
        );
    }

    /// `count` answers the supervisor writes after the tablet's copy (each a signed change of
    /// hers): the bytes of the changes the tablet lacks, and their hashes.
    fn answers_of(supervisor: &Store, id: &DocId, count: i64) -> (Vec<u8>, Vec<ChangeHash>) {
        let before = stored_heads(&supervisor, id);
        for n in 0..count {
            let q = AnswerPath::new(format!("q{n}"));
            supervisor.set_answer(id, &q, &Value::Integer(n)).unwrap();
        }
        let mut doc = AutoCommit::load(&supervisor.document_bytes(id).unwrap()).unwrap();
        let hashes = doc.get_changes(&before).iter().map(|c| c.hash()).collect();
        (doc.save_after(&before), hashes)
    }

    #[test]
    fn a_batch_whose_newest_change_is_forged_is_refused_whole_and_its_real_changes_land_alone() {
        let dir = tempfile::tempdir().unwrap();
        let (supervisor, tablet, id) = supervisor_and_tablet(&dir);
        let (real, _) = answers_of(&supervisor, &id, 2);
        let forger = plain_store(&dir, "ana.db", "ana-phone", "ana");
        let forged = change_under_the_actor_of(&supervisor, &id);
        let mut batch = real.clone();
        batch.extend_from_slice(&forged.0);
        let mut signed = supervisor.change_signatures(&id).unwrap();
        signed.push((forged.1, forger.lock().key.sign_change(&forged.1)));
        assert_refused(&tablet, &id, (batch, forged.1), signed);
        let signed = supervisor.change_signatures(&id).unwrap();
        tablet.apply_changes(&[received(id, real, signed)]).unwrap();
        assert_eq!(stored_heads(&tablet, &id), stored_heads(&supervisor, &id));
    }

    #[test]
    fn an_old_change_with_a_wrong_signature_lands_on_its_newest_changes_signature_and_is_not_kept()
    {
        let dir = tempfile::tempdir().unwrap();
        let (supervisor, tablet, id) = supervisor_and_tablet(&dir);
        let (changes, hashes) = answers_of(&supervisor, &id, 2);
        let forger = plain_store(&dir, "ana.db", "ana-phone", "ana");
        let mut signed = supervisor.change_signatures(&id).unwrap();
        signed.retain(|(hash, _)| *hash != hashes[0]);
        signed.push((hashes[0], forger.lock().key.sign_change(&hashes[0])));
        tablet
            .apply_changes(&[received(id, changes, signed)])
            .unwrap();
        let kept: Vec<ChangeHash> = tablet
            .change_signatures(&id)
            .unwrap()
            .into_iter()
            .map(|(hash, _)| hash)
            .collect();
        assert!(
            kept.contains(&hashes[1]) && !kept.contains(&hashes[0]),
            "{kept:?}"
        );
        let history = tablet.history(&id).unwrap();
        let first = history.iter().find(|e| e.hash == hashes[0].to_string());
        assert!(
            matches!(&first.unwrap().signature, crate::ChangeSignature::Signed { through: Some(later), .. }
                if *later == hashes[1].to_string()),
            "{first:?}"
        );
    }

    #[test]
    fn a_forged_change_beside_a_real_pending_edit_that_it_does_not_descend_from_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (supervisor, tablet, id) = supervisor_and_tablet(&dir);
        let before = stored_heads(&supervisor, &id);
        let (pending, hashes) = answers_of(&supervisor, &id, 1);
        // The forger's change takes the next sequence number of her actor but depends on what
        // came before her edit: two ends of her sequence, each verified on its own.
        let mut doc = AutoCommit::load(&supervisor.document_bytes(&id).unwrap()).unwrap();
        let mut crafted = doc.get_change_by_hash(&hashes[0]).unwrap().decode();
        (crafted.seq, crafted.deps, crafted.hash) = (crafted.seq + 1, before, None);
        crafted.start_op = crafted.start_op.saturating_add(10);
        let crafted = automerge::Change::from(crafted);
        let forger = plain_store(&dir, "ana.db", "ana-phone", "ana");
        let mut batch = pending;
        batch.extend_from_slice(crafted.raw_bytes());
        let mut signed = supervisor.change_signatures(&id).unwrap();
        signed.push((
            crafted.hash(),
            forger.lock().key.sign_change(&crafted.hash()),
        ));
        assert_refused(&tablet, &id, (batch, crafted.hash()), signed);
    }

    #[test]
    fn changes_made_before_signing_by_an_unkeyed_actor_are_taken_unsigned() {
        let dir = tempfile::tempdir().unwrap();
        let (supervisor, tablet, id) = supervisor_and_tablet(&dir);
        let mut doc = AutoCommit::load(&supervisor.document_bytes(&id).unwrap()).unwrap();
        let heads = doc.get_heads();
        doc.put(automerge::ROOT, "older", true).unwrap();
        doc.commit();
        tablet
            .apply_changes(&[received(id, doc.save_after(&heads), vec![])])
            .unwrap();
        assert_ne!(stored_heads(&tablet, &id), heads);
    }
}
