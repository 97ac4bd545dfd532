//! Which answers hold concurrent values, read from a bare automerge document: the walk over
//! every answer (repeat instances included) with automerge's conflict flag, and what sync counts
//! as a conflict. The store's calls that show and settle conflicts are `api::conflicts`.

use super::calculated;
use super::ids::DocKind;
use super::repeats;
use super::shape::{AnswerPath, InstanceRef};
use crate::fields::object_at;
use automerge::{Automerge, ObjId, ObjType, ReadDoc, ValueRef, ROOT};
use std::collections::HashSet;
use std::ops::ControlFlow;

/// Whether a document, as sync received it, holds answers a person must settle: for a
/// submission, an answer with concurrent values (two lists under one repeat or concurrent
/// `_order`s merge by design and are not counted); for other kinds, any slot holding several
/// values. What sync counts in its report's conflicts. Cost: one walk over the answers.
pub fn document_has_conflicts(kind: DocKind, doc: &Automerge) -> bool {
    if kind != DocKind::Submission {
        return minga_sync::has_conflicts(doc);
    }
    answers_conflict(doc)
}

/// Whether a submission holds an answer with concurrent values (as
/// [`document_has_conflicts`] counts them): what the list projection flags. Cost: one walk
/// over the answers, stopping at the first conflict.
pub(crate) fn answers_conflict<D: ReadDoc>(doc: &D) -> bool {
    let Some(answers) = object_at(doc, &ROOT, "answers") else {
        return false;
    };
    let mut conflicting = |_: AnswerPath, _: &ObjId, conflict: bool| match conflict {
        true => ControlFlow::Break(()),
        false => ControlFlow::Continue(()),
    };
    each_answer(doc, &answers, &[], &mut conflicting).is_break()
}

/// Visits every answer under `level` that a person gives (stored calculations are left out:
/// the form computes them, so they are never a conflict to settle), repeat instances included
/// (`at` holds the instances already entered), with automerge's flag for whether it holds
/// concurrent values, until `visit` breaks. Only lists are looked at as possible repeats, so a
/// walk costs one range read per level, and one of the `calculated` map.
pub(crate) fn each_answer<D: ReadDoc>(
    doc: &D,
    level: &ObjId,
    at: &[InstanceRef],
    visit: &mut dyn FnMut(AnswerPath, &ObjId, bool) -> ControlFlow<()>,
) -> ControlFlow<()> {
    each_given_answer(doc, level, at, &calculated::keys(doc), visit)
}

/// [`each_answer`], leaving out the answer keys in `calculated`.
fn each_given_answer<D: ReadDoc>(
    doc: &D,
    level: &ObjId,
    at: &[InstanceRef],
    calculated: &HashSet<String>,
    visit: &mut dyn FnMut(AnswerPath, &ObjId, bool) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let slots: Vec<(String, bool, bool)> = doc
        .map_range(level, ..)
        .filter(|item| !repeats::is_bookkeeping(&item.key) && !calculated.contains(&*item.key))
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
            each_given_answer(doc, &instance.object, &inside, calculated, visit)?;
        }
    }
    ControlFlow::Continue(())
}
