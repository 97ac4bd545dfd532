//! A submission's history, its audit trail: each change with its device, user, time and the
//! answers it touched.
//!
//! Device and user are not written into every change: each actor is mapped once per document
//! in the `authors` map (see `document`), and a change is attributed through its actor. The
//! answers touched are not stored either: they are read back from the change itself, by
//! diffing the document across it. History is rare and this keeps every change small.

use crate::document::DeviceIdentity;
use crate::document::{self, DocId};
use crate::error::Result;
use crate::store::Store;
use automerge::{AutoCommit, PatchAction, Prop};
use chrono::{DateTime, Utc};
use std::collections::BTreeSet;

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
    /// The answers (question and repeat names) the change set, cleared or edited.
    pub answers: Vec<String>,
    /// Other parts of the submission it changed: `status`, `meta`, `deleted_at`.
    pub fields: Vec<String>,
}

impl Store {
    /// Every change of the submission, oldest first (causal order). Cost: one diff per
    /// change, so proportional to the number of changes times the document's size.
    pub fn history(&self, id: &DocId) -> Result<Vec<HistoryEntry>> {
        self.lock().read(id, |doc| Ok(history_of(doc)))
    }
}

fn history_of(doc: &mut AutoCommit) -> Vec<HistoryEntry> {
    let changes: Vec<_> = doc
        .get_changes_meta(&[])
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
    changes
        .into_iter()
        .map(|(hash, deps, actor, timestamp)| {
            let (answers, fields) = touched(doc, &deps, hash);
            HistoryEntry {
                hash: hash.to_string(),
                author: document::author_of(doc, &actor),
                actor: actor.to_hex_string(),
                time: DateTime::from_timestamp(timestamp, 0).unwrap_or_default(),
                answers: answers.into_iter().collect(),
                fields: fields.into_iter().collect(),
            }
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
            "types" | "authors" => {}
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
