//! Conflicts: every value concurrent edits left for one answer, each with who wrote it, and
//! settling them. Automerge keeps one winner for `get` and every concurrent value for
//! `get_all`; Minga shows all of them until someone writes a value over them.

use crate::document::repeats;
use crate::document::values::{self, WriteMode};
use crate::document::DeviceIdentity;
use crate::document::{self, AnswerPath, DocId, DocKind, InstanceRef};
use crate::error::Result;
use crate::store::Store;
use automerge::{AutoCommit, Automerge, ObjId, ObjType, ReadDoc, ValueRef, ROOT};
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
        self.lock().read(id, |doc| {
            let mut found = Vec::new();
            if let Some(answers) = crate::fields::object_at(doc, &ROOT, "answers") {
                collect_conflicts(doc, &answers, &values::type_tags(doc), &mut found);
            }
            Ok(found)
        })
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

/// Whether a document, as sync received it, holds answers a person must settle: for a
/// submission, an answer with concurrent values (two lists under one repeat or concurrent
/// `_order`s merge by design and are not counted); for other kinds, any slot holding several
/// values. What sync counts in its report's conflicts. Cost: one walk over the answers.
pub fn document_has_conflicts(kind: DocKind, doc: &Automerge) -> bool {
    if kind != DocKind::Submission {
        return minga_sync::has_conflicts(doc);
    }
    let Some(answers) = crate::fields::object_at(doc, &ROOT, "answers") else {
        return false;
    };
    let mut conflicting = |_: AnswerPath, _: &ObjId, conflict: bool| match conflict {
        true => ControlFlow::Break(()),
        false => ControlFlow::Continue(()),
    };
    each_answer(doc, &answers, &[], &mut conflicting).is_break()
}

/// Visits every answer under `level`, repeat instances included (`at` holds the instances
/// already entered), with automerge's flag for whether it holds concurrent values, until
/// `visit` breaks. Only lists are looked at as possible repeats, so a walk costs one range
/// read per level.
fn each_answer<D: ReadDoc>(
    doc: &D,
    level: &ObjId,
    at: &[InstanceRef],
    visit: &mut dyn FnMut(AnswerPath, &ObjId, bool) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let slots: Vec<(String, bool, bool)> = doc
        .map_range(level, ..)
        .filter(|item| !repeats::is_bookkeeping(&item.key))
        .map(|item| {
            let list = matches!(item.value, ValueRef::Object(ObjType::List));
            (item.key.into_owned(), item.conflict, list)
        })
        .collect();
    for (name, conflict, list) in slots {
        if !(list && repeats::is_repeat(doc, level, &name)) {
            let path = AnswerPath {
                instances: at.to_vec(),
                name,
            };
            visit(path, level, conflict)?;
            continue;
        }
        for instance in repeats::instances(doc, level, &name) {
            let step = InstanceRef {
                repeat: name.clone(),
                instance_id: instance.id,
            };
            let inside = [at, &[step]].concat();
            each_answer(doc, &instance.object, &inside, visit)?;
        }
    }
    ControlFlow::Continue(())
}
