//! Repeat instances: a list of maps, each with a stable `_id`, so that concurrent edits to
//! "the third participant" land on the right person after someone inserts one before it.
//!
//! Two rules keep every instance someone added, and every answer typed into one, through a
//! merge; [`instances`] is the one place that applies them, and every reader of repeats
//! (answers, export, conflicts, paths into instances) goes through it:
//!
//! - **A repeat may hold several lists.** Its list is created by its first instance, so two
//!   devices that each add a first instance offline each create a list under the same key;
//!   automerge keeps both as a conflict and `get` shows one. The instances are the union of
//!   every list at the key (`get_all`): the shown list's first, then the others' by object id,
//!   so both sides read the same order. New instances go into the shown list; an instance is
//!   edited or removed in whichever list holds it.
//! - **A move never copies.** Automerge lists have no move, and copy-then-delete would lose
//!   what another device types into the original meanwhile. An instance may instead carry an
//!   `_order` number; instances are read sorted by it (one without it counts as its position
//!   in the union above; ties by `_id`). A move sets the moved instance's `_order` between its
//!   new neighbours, first giving every instance an explicit `_order` so none shifts. Lists
//!   never moved carry no `_order` at all, as other tools write them.

use super::ids::DocId;
use crate::error::{Error, Result};
use crate::fields::{number_at, object_at, string_at};
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ReadDoc, Value as AmValue};

/// The key holding an instance's stable id.
const ID: &str = "_id";
/// The key holding an instance's place once the repeat has been reordered.
const ORDER: &str = "_order";

/// Whether `key` in an instance is bookkeeping rather than an answer.
pub(crate) fn is_bookkeeping(key: &str) -> bool {
    key == ID || key == ORDER
}

/// One instance of a repeat, where it is stored and where it reads.
#[derive(Debug, Clone)]
pub(crate) struct Instance {
    pub id: String,
    /// The instance's map.
    pub object: ObjId,
    /// The list that holds it, and its index there.
    list: ObjId,
    index: usize,
    /// Its `_order`, if it has one.
    explicit: Option<f64>,
    /// Its `_order`, or its position in the union of the lists.
    key: f64,
}

/// Every list at the repeat `name` in `level`: the one `get` shows first, the others (left
/// by concurrent first instances) by object id.
fn lists<D: ReadDoc>(doc: &D, level: &ObjId, name: &str) -> Vec<ObjId> {
    let shown = object_at(doc, level, name);
    let mut others: Vec<ObjId> = doc
        .get_all(level, name)
        .unwrap_or_default()
        .into_iter()
        .filter(|(value, id)| {
            matches!(value, AmValue::Object(ObjType::List)) && Some(id) != shown.as_ref()
        })
        .map(|(_, id)| id)
        .collect();
    others.sort();
    let shown = shown.filter(|list| matches!(doc.object_type(list), Ok(ObjType::List)));
    shown.into_iter().chain(others).collect()
}

/// Whether `name` in `level` holds a repeat (at least one list).
pub(crate) fn is_repeat<D: ReadDoc>(doc: &D, level: &ObjId, name: &str) -> bool {
    !lists(doc, level, name).is_empty()
}

/// The instances of the repeat `name` in `level`, in reading order (see the module doc).
/// Costs one pass over every list at the key plus a sort.
pub(crate) fn instances<D: ReadDoc>(doc: &D, level: &ObjId, name: &str) -> Vec<Instance> {
    let mut found = Vec::new();
    for list in lists(doc, level, name) {
        for index in 0..doc.length(&list) {
            let Some(object) = object_at(doc, &list, index) else {
                continue;
            };
            let Some(id) = string_at(doc, &object, ID) else {
                continue;
            };
            let explicit = number_at(doc, &object, ORDER);
            let key = explicit.unwrap_or(found.len() as f64);
            found.push(Instance {
                id,
                object,
                list: list.clone(),
                index,
                explicit,
                key,
            });
        }
    }
    found.sort_by(|a, b| a.key.total_cmp(&b.key).then_with(|| a.id.cmp(&b.id)));
    found
}

/// The instance `instance_id` of the repeat `name` in `level`, if there is one.
pub(crate) fn find<D: ReadDoc>(
    doc: &D,
    level: &ObjId,
    name: &str,
    instance_id: &str,
) -> Option<Instance> {
    instances(doc, level, name)
        .into_iter()
        .find(|instance| instance.id == instance_id)
}

/// Adds an instance to the repeat `name` in `level` at `index` (the end if `None`); returns
/// its new `_id`. The repeat's list is created by its first instance.
pub(crate) fn add_instance(
    doc: &mut AutoCommit,
    level: &ObjId,
    name: &str,
    index: Option<usize>,
) -> Result<String> {
    let id = uuid::Uuid::now_v7().simple().to_string();
    let present = instances(doc, level, name);
    insert_instance(doc, level, name, present, index, &id)?;
    Ok(id)
}

/// Adds an instance whose `_id` the caller made (a form session's, in the store's format) at
/// the end of the repeat `name`; refuses an `id` the repeat already holds, since two instances
/// with one id could never be told apart again. Returns the new instance's map. Cost: one
/// read of the repeat's instances.
pub(crate) fn add_instance_with_id(
    doc: &mut AutoCommit,
    submission: &DocId,
    level: &ObjId,
    name: &str,
    id: &str,
) -> Result<ObjId> {
    let present = instances(doc, level, name);
    if present.iter().any(|instance| instance.id == id) {
        return Err(Error::InstanceExists {
            submission: submission.to_string(),
            repeat: name.to_owned(),
            instance: id.to_owned(),
        });
    }
    insert_instance(doc, level, name, present, None, id)
}

/// Inserts an instance with the `_id` `id` so that it reads at `index` (the end if `None`)
/// among the repeat's `present` instances; returns its map.
fn insert_instance(
    doc: &mut AutoCommit,
    level: &ObjId,
    name: &str,
    present: Vec<Instance>,
    index: Option<usize>,
    id: &str,
) -> Result<ObjId> {
    let index = index.unwrap_or(present.len());
    if index > present.len() {
        return Err(past_the_end(name, index, present.len()));
    }
    let shown = match lists(doc, level, name).into_iter().next() {
        Some(list) => list,
        None => doc.put_object(level, name, ObjType::List)?,
    };
    let plain = present.iter().all(|instance| instance.list == shown)
        && present.iter().all(|instance| instance.explicit.is_none());
    if plain {
        // A list that was never reordered nor merged from two: a plain insert, as other tools
        // write it.
        let instance = doc.insert_object(&shown, index, ObjType::Map)?;
        doc.put(&instance, ID, id)?;
        Ok(instance)
    } else {
        let key = place_between(doc, &present, index)?;
        let instance = doc.insert_object(&shown, doc.length(&shown), ObjType::Map)?;
        doc.put(&instance, ID, id)?;
        doc.put(&instance, ORDER, key)?;
        Ok(instance)
    }
}

/// Removes the instance `instance_id` of the repeat `name`.
pub(crate) fn remove_instance(
    doc: &mut AutoCommit,
    submission: &DocId,
    level: &ObjId,
    name: &str,
    instance_id: &str,
) -> Result<()> {
    let instance = locate(doc, submission, level, name, instance_id)?;
    doc.delete(&instance.list, instance.index)?;
    Ok(())
}

/// Moves the instance `instance_id` to position `to` (counted after it leaves its place) by
/// setting its `_order`: the instance's map stays where it is stored, so edits another device
/// makes inside it concurrently survive. Two concurrent moves of one instance leave one
/// `_order` (automerge's winner), so both devices agree on where it ends.
pub(crate) fn move_instance(
    doc: &mut AutoCommit,
    submission: &DocId,
    level: &ObjId,
    name: &str,
    instance_id: &str,
    to: usize,
) -> Result<()> {
    let moved = locate(doc, submission, level, name, instance_id)?;
    let present = instances(doc, level, name);
    if to >= present.len() {
        return Err(past_the_end(name, to, present.len()));
    }
    if present.get(to).is_some_and(|at| at.id == instance_id) {
        return Ok(());
    }
    let others: Vec<Instance> = present
        .into_iter()
        .filter(|instance| instance.id != instance_id)
        .collect();
    let key = place_between(doc, &others, to)?;
    doc.put(&moved.object, ORDER, key)?;
    Ok(())
}

/// An `_order` that reads at position `index` among `others` (in reading order). Gives every
/// instance an explicit `_order` first so that none shifts when positions change; renumbers
/// them when the neighbours' keys leave no room between them.
fn place_between(doc: &mut AutoCommit, others: &[Instance], index: usize) -> Result<f64> {
    fix_order(doc, others, false)?;
    let before = index
        .checked_sub(1)
        .and_then(|i| others.get(i))
        .map(|i| i.key);
    let after = others.get(index).map(|i| i.key);
    let key = match (before, after) {
        (None, None) => 0.0,
        (Some(before), None) => before + 1.0,
        (None, Some(after)) => after - 1.0,
        (Some(before), Some(after)) => (before + after) / 2.0,
    };
    let room = before.is_none_or(|b| b < key) && after.is_none_or(|a| key < a);
    if room {
        return Ok(key);
    }
    fix_order(doc, others, true)?;
    Ok(index as f64 - 0.5)
}

/// Writes each instance's reading key as its `_order` (all of them when `renumber`, as
/// 0, 1, 2…; otherwise only where it is missing).
fn fix_order(doc: &mut AutoCommit, instances: &[Instance], renumber: bool) -> Result<()> {
    for (position, instance) in instances.iter().enumerate() {
        if renumber {
            doc.put(&instance.object, ORDER, position as f64)?;
        } else if instance.explicit.is_none() {
            doc.put(&instance.object, ORDER, instance.key)?;
        }
    }
    Ok(())
}

fn locate(
    doc: &AutoCommit,
    submission: &DocId,
    level: &ObjId,
    name: &str,
    instance_id: &str,
) -> Result<Instance> {
    find(doc, level, name, instance_id).ok_or_else(|| Error::NoSuchInstance {
        submission: submission.to_string(),
        repeat: name.to_owned(),
        instance: instance_id.to_owned(),
    })
}

fn past_the_end(name: &str, index: usize, length: usize) -> Error {
    Error::InvalidArgument(format!(
        "index {index} is past the end of repeat {name} ({length} instances)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::{ActorId, ROOT};

    fn device(actor: u8) -> (AutoCommit, ObjId) {
        let mut doc = AutoCommit::new().with_actor(ActorId::from([actor; 16]));
        let answers = doc.put_object(ROOT, "answers", ObjType::Map).unwrap();
        doc.commit();
        (doc, answers)
    }

    fn fork(doc: &mut AutoCommit, actor: u8) -> AutoCommit {
        doc.fork().with_actor(ActorId::from([actor; 16]))
    }

    fn ids(doc: &AutoCommit, level: &ObjId) -> Vec<String> {
        instances(doc, level, "people")
            .into_iter()
            .map(|i| i.id)
            .collect()
    }

    fn merged(into: &AutoCommit, from: &mut AutoCommit) -> AutoCommit {
        let mut doc = into.clone();
        doc.merge(from).unwrap();
        doc
    }

    fn name_of(doc: &AutoCommit, level: &ObjId, id: &str) -> Option<String> {
        string_at(doc, &find(doc, level, "people", id)?.object, "name")
    }

    #[test]
    fn concurrent_first_instances_both_survive_in_either_merge_order() {
        let (mut ana, level) = device(1);
        let mut ben = fork(&mut ana, 2);
        let hers = add_instance(&mut ana, &level, "people", None).unwrap();
        let his = add_instance(&mut ben, &level, "people", None).unwrap();
        let one = merged(&ana, &mut ben);
        let other = merged(&ben, &mut ana);
        assert_eq!(doc_lists(&one, &level), 2, "the merge keeps two lists");
        let mut found = ids(&one, &level);
        assert_eq!(found, ids(&other, &level), "both sides read one order");
        found.sort();
        let mut expected = vec![hers, his];
        expected.sort();
        assert_eq!(found, expected);
    }

    fn doc_lists(doc: &AutoCommit, level: &ObjId) -> usize {
        lists(doc, level, "people").len()
    }

    #[test]
    fn instances_in_the_hidden_list_are_edited_moved_and_removed_where_they_are() {
        let (mut ana, level) = device(1);
        let mut ben = fork(&mut ana, 2);
        add_instance(&mut ana, &level, "people", None).unwrap();
        add_instance(&mut ben, &level, "people", None).unwrap();
        ana.merge(&mut ben).unwrap();
        let before = ids(&ana, &level);
        let hidden = instances(&ana, &level, "people")
            .into_iter()
            .find(|i| Some(&i.list) != lists(&ana, &level, "people").first())
            .unwrap();
        doc_put_name(&mut ana, &level, &hidden.id, "Rosa");
        assert_eq!(name_of(&ana, &level, &hidden.id).as_deref(), Some("Rosa"));

        let third = add_instance(&mut ana, &level, "people", Some(1)).unwrap();
        assert_eq!(
            ids(&ana, &level),
            [before[0].clone(), third.clone(), before[1].clone()]
        );
        move_instance(&mut ana, &DocId::new_v7(), &level, "people", &before[1], 0).unwrap();
        assert_eq!(
            ids(&ana, &level),
            [before[1].clone(), before[0].clone(), third.clone()]
        );

        remove_instance(&mut ana, &DocId::new_v7(), &level, "people", &hidden.id).unwrap();
        let left: Vec<String> = ids(&ana, &level);
        assert_eq!(left.len(), 2);
        assert!(!left.contains(&hidden.id));
    }

    fn doc_put_name(doc: &mut AutoCommit, level: &ObjId, id: &str, name: &str) {
        let object = find(doc, level, "people", id).unwrap().object;
        doc.put(&object, "name", name).unwrap();
    }

    #[test]
    fn an_answer_edited_inside_a_concurrently_moved_instance_survives() {
        let (mut ana, level) = device(1);
        let rosa = add_instance(&mut ana, &level, "people", None).unwrap();
        let jorge = add_instance(&mut ana, &level, "people", None).unwrap();
        doc_put_name(&mut ana, &level, &rosa, "Rosa");
        let mut sara = fork(&mut ana, 2);
        doc_put_name(&mut ana, &level, &rosa, "Rosa María");
        move_instance(&mut sara, &DocId::new_v7(), &level, "people", &rosa, 1).unwrap();
        for doc in [merged(&ana, &mut sara), merged(&sara, &mut ana)] {
            assert_eq!(ids(&doc, &level), [jorge.clone(), rosa.clone()]);
            assert_eq!(name_of(&doc, &level, &rosa).as_deref(), Some("Rosa María"));
        }
    }

    #[test]
    fn concurrent_moves_of_one_instance_agree_on_one_place() {
        let (mut ana, level) = device(1);
        let added: Vec<String> = (0..3)
            .map(|_| add_instance(&mut ana, &level, "people", None).unwrap())
            .collect();
        let mut ben = fork(&mut ana, 2);
        move_instance(&mut ana, &DocId::new_v7(), &level, "people", &added[0], 2).unwrap();
        move_instance(&mut ben, &DocId::new_v7(), &level, "people", &added[0], 1).unwrap();
        let one = merged(&ana, &mut ben);
        let other = merged(&ben, &mut ana);
        assert_eq!(ids(&one, &level), ids(&other, &level));
        assert_eq!(ids(&one, &level).len(), 3);
    }

    #[test]
    fn many_moves_between_the_same_neighbours_keep_the_order_asked_for() {
        let (mut doc, level) = device(1);
        let mut expected: Vec<String> = (0..3)
            .map(|_| add_instance(&mut doc, &level, "people", None).unwrap())
            .collect();
        // Each move halves the gap between the first two; past ~50 halvings they are renumbered.
        for _ in 0..120 {
            let last = expected.pop().unwrap();
            expected.insert(1, last.clone());
            move_instance(&mut doc, &DocId::new_v7(), &level, "people", &last, 1).unwrap();
            assert_eq!(ids(&doc, &level), expected);
        }
    }

    #[test]
    fn a_list_never_reordered_carries_no_order_keys() {
        let (mut doc, level) = device(1);
        let first = add_instance(&mut doc, &level, "people", None).unwrap();
        let second = add_instance(&mut doc, &level, "people", Some(0)).unwrap();
        assert_eq!(ids(&doc, &level), [second, first]);
        let stored = instances(&doc, &level, "people");
        assert!(stored.iter().all(|i| i.explicit.is_none()));
    }

    #[test]
    fn a_move_or_an_insert_past_the_end_is_refused() {
        let (mut doc, level) = device(1);
        let only = add_instance(&mut doc, &level, "people", None).unwrap();
        let moved = move_instance(&mut doc, &DocId::new_v7(), &level, "people", &only, 1);
        assert!(matches!(moved, Err(Error::InvalidArgument(_))), "{moved:?}");
        let added = add_instance(&mut doc, &level, "people", Some(2));
        assert!(matches!(added, Err(Error::InvalidArgument(_))), "{added:?}");
    }
}
