//! Conflicts: every value concurrent edits left for one answer, each with who wrote it, and
//! settling them. Automerge keeps one winner for `get` and every concurrent value for
//! `get_all`; Minga shows all of them until someone writes a value over them.

use crate::document::conflicts::each_answer;
use crate::document::values::{self, WriteMode};
use crate::document::DeviceIdentity;
use crate::document::{self, AnswerPath, DocId};
use crate::error::Result;
use crate::store::Store;
use automerge::{ActorId, AutoCommit, ObjId, ReadDoc, ROOT};
use minga_forms::Value;
use std::collections::HashMap;
use std::ops::ControlFlow;

/// One of the values stored for an answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ConflictingValue {
    /// The value, or `None` if it is not an answer Minga can read (a repeat list, a null).
    pub value: Option<Value>,
    /// The device and user who wrote it, from the document's `authors` map.
    pub author: Option<DeviceIdentity>,
    /// The automerge actor that wrote it, in hex.
    pub actor: String,
    /// Whether plain reads (`answers`) show this value.
    pub shown: bool,
}

/// An answer that holds more than one value.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    pub path: AnswerPath,
    pub values: Vec<ConflictingValue>,
}

impl Store {
    /// Every value stored for the answer at `path`: none if unanswered, one normally, more
    /// when concurrent edits conflict.
    pub fn answer_values(&self, id: &DocId, path: &AnswerPath) -> Result<Vec<ConflictingValue>> {
        self.lock().read(id, |doc| {
            let level = document::level_of(doc, id, &path.instances)?;
            Ok(values_at(doc, &level, &path.name, &values::type_tags(doc)))
        })
    }

    /// Every answer in the submission (repeat instances included) that holds more than one
    /// value. Cost: reads every answer.
    pub fn conflicts(&self, id: &DocId) -> Result<Vec<Conflict>> {
        self.lock().read(id, |doc| Ok(conflicts_in(doc)))
    }

    /// Settles the answer at `path` with `value` (one of the conflicting values, or a new
    /// one): written over every concurrent value, so that one remains.
    pub fn resolve_conflict(&self, id: &DocId, path: &AnswerPath, value: &Value) -> Result<()> {
        self.edit(id, |doc| {
            let level = document::level_of(doc, id, &path.instances)?;
            values::write_value(doc, &level, &path.name, value, WriteMode::Replace)
        })
    }
}

/// Every conflicted answer of a submission document. Cost: reads every answer.
fn conflicts_in(doc: &AutoCommit) -> Vec<Conflict> {
    let mut found = Vec::new();
    if let Some(answers) = crate::fields::object_at(doc, &ROOT, "answers") {
        collect_conflicts(doc, &answers, &values::type_tags(doc), &mut found);
    }
    found
}

/// A submission document held outside a `Store` (a hub keeps documents in its own storage):
/// its conflicts read, and settled by changes made as a named writer, under the same rules as
/// [`Store::resolve_conflict`].
#[derive(Debug, Clone)]
pub struct SubmissionDocument {
    id: DocId,
    doc: AutoCommit,
}

impl SubmissionDocument {
    /// Loads submission `id` from its bytes (a saved document or its changes);
    /// `InvalidDocument` if they do not load.
    pub fn load(id: &DocId, bytes: &[u8]) -> Result<Self> {
        let doc = AutoCommit::load(bytes)
            .map_err(|e| crate::error::Error::InvalidDocument(e.to_string()))?;
        Ok(Self { id: *id, doc })
    }

    /// Makes the edits that follow under `actor`, recorded in the `authors` map as `identity`
    /// (see `ReviewDocument::act_as`; `actor` must be unique to this writer).
    pub fn act_as(&mut self, actor: ActorId, identity: &DeviceIdentity) -> Result<()> {
        self.doc.set_actor(actor.clone());
        document::record_author(&mut self.doc, &actor, identity)
    }

    /// Every answer holding more than one value. Cost: reads every answer.
    pub fn conflicts(&self) -> Vec<Conflict> {
        conflicts_in(&self.doc)
    }

    /// Settles the answer at `path` with `value`, written over every concurrent value.
    pub fn resolve_conflict(&mut self, path: &AnswerPath, value: &Value) -> Result<()> {
        let level = document::level_of(&self.doc, &self.id, &path.instances)?;
        values::write_value(&mut self.doc, &level, &path.name, value, WriteMode::Replace)?;
        self.doc.commit();
        Ok(())
    }

    /// The whole document as bytes any automerge library loads.
    pub fn save(&mut self) -> Vec<u8> {
        self.doc.save()
    }
}

fn values_at(
    doc: &AutoCommit,
    level: &ObjId,
    name: &str,
    tags: &HashMap<String, String>,
) -> Vec<ConflictingValue> {
    let shown = doc.get(level, name).ok().flatten().map(|(_, id)| id);
    let all = doc.get_all(level, name).unwrap_or_default();
    all.into_iter()
        .map(|(value, value_id)| {
            let actor = match &value_id {
                ObjId::Id(_, actor, _) => Some(actor.clone()),
                ObjId::Root => None,
            };
            ConflictingValue {
                shown: shown.as_ref() == Some(&value_id),
                value: values::read_value(
                    doc,
                    (value, value_id),
                    tags.get(name).map(String::as_str),
                ),
                author: actor
                    .as_ref()
                    .and_then(|actor| document::author_of(doc, actor)),
                actor: actor.map(|actor| actor.to_hex_string()).unwrap_or_default(),
            }
        })
        .collect()
}

fn collect_conflicts(
    doc: &AutoCommit,
    level: &ObjId,
    tags: &HashMap<String, String>,
    found: &mut Vec<Conflict>,
) {
    let _ = each_answer(doc, level, &[], &mut |path, level, _| {
        let values = values_at(doc, level, &path.name, tags);
        if values.len() > 1 {
            found.push(Conflict { path, values });
        }
        ControlFlow::Continue(())
    });
}
