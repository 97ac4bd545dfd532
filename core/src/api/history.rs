//! A submission's history, its audit trail: each change with its device, user, time, the
//! answers it touched and whether its signature verifies.
//!
//! Device and user are not written into every change: each actor is mapped once per document
//! in the `authors` map (see `document`), and a change is attributed through its actor. The
//! answers touched are not stored either: they are read back from the change itself, by
//! diffing the document across it. History is rare and this keeps every change small.
//!
//! Each change's signature is checked again when the history is read, against the signature
//! kept beside it (`storage::signatures`). A received change may have none of its own: a
//! receiver verifies only each actor's newest new change of a batch and keeps only its
//! signature, which vouches for the actor's changes it descends from (`minga_sync::signatures`);
//! such a change shows as `Signed` through that later change. The store verified everything
//! when it arrived, so anything but `Signed` for a keyed change means the file was altered
//! since.

use crate::document::DeviceIdentity;
use crate::document::{self, calculated, DocId};
use crate::error::Result;
use crate::storage::signatures;
use crate::store::Store;
use automerge::{ActorId, AutoCommit, ChangeHash, PatchAction, Prop};
use chrono::{DateTime, Utc};
use minga_sync::signatures::{actor_key, ChangeGraph, Signature, SignatureFault};
use std::collections::{BTreeSet, HashMap};

/// One change in a submission's history.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    /// The change hash, in hex.
    pub hash: String,
    /// The automerge actor that made it, in hex.
    pub actor: String,
    /// The device and user behind the actor, if the document records them.
    pub author: Option<DeviceIdentity>,
    /// When the change was made, by the clock of the device that made it.
    pub time: DateTime<Utc>,
    /// The answers (question and repeat names) the change set, cleared or edited; stored
    /// calculations, which the form computes, are left out.
    pub answers: Vec<String>,
    /// Other parts of the submission it changed: `status`, `meta`, `deleted_at`.
    pub fields: Vec<String>,
    /// Whether its signature verifies, and under which key.
    pub signature: ChangeSignature,
}

/// What a change's signature proves, as the history reads it.
///
/// The key is the one the change's actor names (a keyed actor is the signer's public key and a
/// tag), shown as its fingerprint (`PublicKey::fingerprint`). Which device and user the key
/// belongs to is what the hub bound at enrolment; a store does not hold those bindings, so it
/// names the author the document's `authors` map records for the actor (`HistoryEntry::author`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeSignature {
    /// Signed by the key its actor names: its own kept signature verifies (`through` is
    /// `None`), or it has none and a later change by the same actor that descends from it has
    /// one that verifies (`through` is that change's hash, in hex): a change's hash covers the
    /// hashes of the changes it depends on, so that signature vouches for this change too.
    Signed {
        fingerprint: String,
        through: Option<String>,
    },
    /// Made by an unkeyed actor, which signs nothing: written before signing existed or by an
    /// older client, or the deterministic first change of a review or form version.
    Unsigned,
    /// A keyed change whose kept signature does not verify, or that has none and no later
    /// change of its actor vouches for it. A store never takes such a change in, so a reader
    /// sees this only when the file was altered afterwards.
    Invalid {
        fingerprint: String,
        fault: SignatureFault,
    },
}

impl ChangeSignature {
    /// What the signature of a change by `actor` proves: `own` says whether it has a kept
    /// signature and whether that verifies, `through` names a later change of its actor whose
    /// kept signature verifies and vouches for it, if any.
    fn of(actor: &ActorId, own: Option<bool>, through: Option<ChangeHash>) -> Self {
        let Some(key) = actor_key(actor) else {
            return ChangeSignature::Unsigned;
        };
        let fingerprint = key.fingerprint();
        match (own, through) {
            (Some(true), _) => ChangeSignature::Signed {
                fingerprint,
                through: None,
            },
            (Some(false), _) => ChangeSignature::Invalid {
                fingerprint,
                fault: SignatureFault::DoesNotVerify,
            },
            (None, Some(later)) => ChangeSignature::Signed {
                fingerprint,
                through: Some(later.to_string()),
            },
            (None, None) => ChangeSignature::Invalid {
                fingerprint,
                fault: SignatureFault::Missing,
            },
        }
    }
}

impl Store {
    /// Every change of the submission, oldest first (causal order), each with its signature
    /// verified again. Cost: one diff per change, so proportional to the number of changes
    /// times the document's size, plus a range scan of its kept signatures, one Ed25519
    /// verification per kept signature (one per change for a store's own submission: 2.6 ms
    /// for a 41-change submission, 56% of it verifying, BENCHMARKS.md; one per actor's newest
    /// change for a received one) and a walk of the dependencies per keyed actor.
    pub fn history(&self, id: &DocId) -> Result<Vec<HistoryEntry>> {
        let mut inner = self.lock();
        let kept: HashMap<ChangeHash, Signature> = signatures::of_document(&inner.conn, id, None)?
            .into_iter()
            .collect();
        inner.read(id, |doc| Ok(history_of(doc, &kept)))
    }
}

fn history_of(doc: &mut AutoCommit, kept: &HashMap<ChangeHash, Signature>) -> Vec<HistoryEntry> {
    let metas = doc.get_changes_meta(&[]);
    let signatures = signatures_of(&metas, kept);
    let changes: Vec<_> = metas
        .into_iter()
        .map(|meta| {
            (
                meta.hash,
                meta.deps.clone(),
                meta.actor.into_owned(),
                meta.timestamp,
            )
        })
        .collect();
    let calculated = calculated::keys(doc);
    changes
        .into_iter()
        .zip(signatures)
        .map(|((hash, deps, actor, timestamp), signature)| {
            let (mut answers, fields) = touched(doc, &deps, hash);
            // What the form computed is no one's answer: a change shows what the person gave.
            answers.retain(|name| !calculated.contains(name));
            HistoryEntry {
                hash: hash.to_string(),
                signature,
                author: document::author_of(doc, &actor),
                actor: actor.to_hex_string(),
                time: DateTime::from_timestamp(timestamp, 0).unwrap_or_default(),
                answers: answers.into_iter().collect(),
                fields: fields.into_iter().collect(),
            }
        })
        .collect()
}

/// What each of `changes` (a whole document's) has to prove it: its own kept signature,
/// verified, or else a later change by the same actor that descends from it and whose kept
/// signature verifies. Cost: one Ed25519 verification per kept signature and a walk of the
/// dependencies per keyed actor.
fn signatures_of(
    changes: &[automerge::ChangeMetadata<'_>],
    kept: &HashMap<ChangeHash, Signature>,
) -> Vec<ChangeSignature> {
    let graph = ChangeGraph::of(changes);
    let own: Vec<Option<bool>> = (0..changes.len())
        .map(|n| {
            let (hash, key) = (graph.hashes[n], graph.keys[n]?);
            kept.get(&hash)
                .map(|signature| key.verifies(&hash, signature))
        })
        .collect();
    let through = graph.covered_by(|n| own[n] == Some(true));
    changes
        .iter()
        .enumerate()
        .map(|(n, change)| {
            let later = through[n].map(|by| graph.hashes[by]);
            ChangeSignature::of(&change.actor, own[n], later)
        })
        .collect()
}

/// What one change touched: the answer names and the other top-level fields.
fn touched(
    doc: &mut AutoCommit,
    deps: &[automerge::ChangeHash],
    hash: automerge::ChangeHash,
) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut answers = BTreeSet::new();
    let mut fields = BTreeSet::new();
    for patch in doc.diff(deps, &[hash]) {
        let mut props: Vec<Prop> = patch.path.into_iter().map(|(_, prop)| prop).collect();
        props.extend(action_prop(&patch.action));
        let Some(Prop::Map(top)) = props.first() else {
            continue;
        };
        match top.as_str() {
            "answers" => answers.extend(question_name(&props[1..])),
            // Bookkeeping that every first change by an actor writes.
            "types" | "authors" | calculated::CALCULATED => {}
            other => {
                fields.insert(other.to_owned());
            }
        }
    }
    (answers, fields)
}

/// The question a path below `answers` belongs to: the last key that sits directly in
/// `answers` or directly in a repeat instance. Keys deeper down (an option of a
/// select_multiple, a geopoint's latitude) belong to the question above them.
fn question_name(props: &[Prop]) -> Option<String> {
    let mut name = None;
    let mut at_question_level = true;
    for prop in props {
        match prop {
            Prop::Map(key) if at_question_level => {
                if !crate::document::repeats::is_bookkeeping(key) {
                    name = Some(key.clone());
                }
                at_question_level = false;
            }
            Prop::Seq(_) => at_question_level = true,
            Prop::Map(_) => at_question_level = false,
        }
    }
    name
}

fn action_prop(action: &PatchAction) -> Option<Prop> {
    match action {
        PatchAction::PutMap { key, .. } | PatchAction::DeleteMap { key } => {
            Some(Prop::Map(key.clone()))
        }
        PatchAction::PutSeq { index, .. }
        | PatchAction::Insert { index, .. }
        | PatchAction::DeleteSeq { index, .. } => Some(Prop::Seq(*index)),
        PatchAction::Increment { prop, .. } | PatchAction::Conflict { prop } => Some(prop.clone()),
        PatchAction::SpliceText { .. } | PatchAction::Mark { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::changes::ReceivedChanges;
    use crate::document::{AnswerPath, DocKind, FormRef};
    use crate::test_support::plain_store;
    use automerge::transaction::Transactable;
    use minga_forms::Value;

    /// A store and a submission of it with one answer: two changes, both its own.
    fn store_with_an_answer(dir: &tempfile::TempDir) -> (Store, DocId) {
        let store = plain_store(dir, "ana.db", "ana-phone", "ana");
        let id = store.create_submission(&FormRef::new("f", "1")).unwrap();
        store
            .set_answer(&id, &AnswerPath::new("q"), &Value::Integer(3))
            .unwrap();
        (store, id)
    }

    fn signatures_of(store: &Store, id: &DocId) -> Vec<ChangeSignature> {
        let history = store.history(id).unwrap();
        history.into_iter().map(|entry| entry.signature).collect()
    }

    #[test]
    fn a_stores_own_changes_show_as_signed_by_its_own_key() {
        let dir = tempfile::tempdir().unwrap();
        let (store, id) = store_with_an_answer(&dir);
        let mine = ChangeSignature::Signed {
            fingerprint: store.public_key().fingerprint(),
            through: None,
        };
        let signatures = signatures_of(&store, &id);
        assert_eq!(signatures.len(), 2);
        assert!(signatures.iter().all(|signature| *signature == mine));
    }

    /// The phone's submission of [`store_with_an_answer`], imported by a tablet: the phone,
    /// the tablet and the submission.
    fn received_by_a_tablet(dir: &tempfile::TempDir) -> (Store, Store, DocId) {
        let (phone, id) = store_with_an_answer(dir);
        let tablet = plain_store(dir, "tablet.db", "tablet", "ben");
        tablet
            .import_submission(&phone.export_submission(&id).unwrap())
            .unwrap();
        (phone, tablet, id)
    }

    #[test]
    fn a_received_change_shows_its_signers_key_not_the_receivers() {
        let dir = tempfile::tempdir().unwrap();
        let (phone, tablet, id) = received_by_a_tablet(&dir);
        let phones = phone.public_key().fingerprint();
        let signed_by_phone = |signature: &ChangeSignature| matches!(signature, ChangeSignature::Signed { fingerprint, .. } if *fingerprint == phones);
        assert!(signatures_of(&tablet, &id).iter().all(signed_by_phone));
    }

    #[test]
    fn a_received_change_without_its_own_signature_shows_as_signed_through_its_actors_later_change()
    {
        let dir = tempfile::tempdir().unwrap();
        let (phone, tablet, id) = received_by_a_tablet(&dir);
        let history = tablet.history(&id).unwrap();
        let fingerprint = phone.public_key().fingerprint();
        assert_eq!(
            history
                .iter()
                .map(|entry| &entry.signature)
                .collect::<Vec<_>>(),
            vec![
                &ChangeSignature::Signed {
                    fingerprint: fingerprint.clone(),
                    through: Some(history[1].hash.clone()),
                },
                &ChangeSignature::Signed {
                    fingerprint,
                    through: None
                },
            ],
            "the tablet verified and kept the newest change's signature, which covers the first"
        );
    }

    #[test]
    fn a_change_by_an_unkeyed_actor_shows_as_unsigned() {
        let dir = tempfile::tempdir().unwrap();
        let (store, id) = store_with_an_answer(&dir);
        // A fresh AutoCommit has a random 16-byte actor, as stores had before signing.
        let mut doc = AutoCommit::load(&store.document_bytes(&id).unwrap()).unwrap();
        let heads = doc.get_heads();
        doc.put(automerge::ROOT, "older", true).unwrap();
        doc.commit();
        let older = ReceivedChanges {
            id,
            kind: DocKind::Submission,
            bytes: doc.save_after(&heads),
            signatures: vec![],
        };
        store.apply_changes(&[older]).unwrap();
        let signatures = signatures_of(&store, &id);
        assert_eq!(signatures.last(), Some(&ChangeSignature::Unsigned));
    }

    #[test]
    fn a_signature_altered_or_removed_in_the_file_shows_as_invalid() {
        let dir = tempfile::tempdir().unwrap();
        let (store, id) = store_with_an_answer(&dir);
        let fingerprint = store.public_key().fingerprint();
        let history = store.history(&id).unwrap();
        let (first, second) = (&history[0].hash, &history[1].hash);
        let hash_bytes = |hex: &str| hex.parse::<ChangeHash>().unwrap().0.to_vec();
        {
            let inner = store.lock();
            inner
                .conn
                .execute(
                    "UPDATE change_signatures SET signature = zeroblob(64) WHERE change_hash = ?1",
                    [hash_bytes(first)],
                )
                .unwrap();
            inner
                .conn
                .execute(
                    "DELETE FROM change_signatures WHERE change_hash = ?1",
                    [hash_bytes(second)],
                )
                .unwrap();
        }
        let invalid = |fault| ChangeSignature::Invalid {
            fingerprint: fingerprint.clone(),
            fault,
        };
        assert_eq!(
            signatures_of(&store, &id),
            vec![
                invalid(SignatureFault::DoesNotVerify),
                invalid(SignatureFault::Missing)
            ]
        );
    }

    fn key(name: &str) -> Prop {
        Prop::Map(name.into())
    }

    #[test]
    fn the_question_is_the_key_at_question_level() {
        assert_eq!(question_name(&[key("age")]), Some("age".into()));
        assert_eq!(
            question_name(&[key("topics"), key("robbery")]),
            Some("topics".into())
        );
        assert_eq!(
            question_name(&[key("people"), Prop::Seq(2), key("name")]),
            Some("name".into())
        );
        assert_eq!(
            question_name(&[key("people"), Prop::Seq(0), key("_id")]),
            Some("people".into())
        );
        assert_eq!(
            question_name(&[key("people"), Prop::Seq(1)]),
            Some("people".into())
        );
        assert_eq!(question_name(&[]), None);
    }
}
