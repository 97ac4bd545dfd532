//! Repeat instances: a list of maps, each with a stable `_id`, so that concurrent edits to
//! "the third participant" land on the right person after someone inserts one before it.

use crate::document::{find_instance, object_at, DocId};
use crate::error::{Error, Result};
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ReadDoc};

/// Adds an instance to the repeat `name` in `level` at `index` (the end if `None`); returns
/// its new `_id`. The repeat's list is created by its first instance.
pub(crate) fn add_instance(
    doc: &mut AutoCommit,
    level: &ObjId,
    name: &str,
    index: Option<usize>,
) -> Result<String> {
    let list = match object_at(doc, level, name) {
        Some(list) => list,
        None => doc.put_object(level, name, ObjType::List)?,
    };
    let length = doc.length(&list);
    let index = index.unwrap_or(length);
    if index > length {
        return Err(Error::InvalidArgument(format!(
            "index {index} is past the end of repeat {name} ({length} instances)"
        )));
    }
    let id = uuid::Uuid::now_v7().simple().to_string();
    let instance = doc.insert_object(&list, index, ObjType::Map)?;
    doc.put(&instance, "_id", id.as_str())?;
    Ok(id)
}

/// Removes the instance `instance_id` of the repeat `name`.
pub(crate) fn remove_instance(
    doc: &mut AutoCommit,
    submission: &DocId,
    level: &ObjId,
    name: &str,
    instance_id: &str,
) -> Result<()> {
    let (list, index, _) = locate(doc, submission, level, name, instance_id)?;
    doc.delete(&list, index)?;
    Ok(())
}

/// Moves the instance `instance_id` to position `to` (counted after it leaves its place).
///
/// Automerge lists have no move: the instance is copied, with its `_id`, to the new place and
/// the old one deleted. Edits another device makes concurrently inside the moved instance land
/// on the old copy and are lost from view; moves are rare (the facilitator reorders a list),
/// concurrent edits to the same person rarer still.
pub(crate) fn move_instance(
    doc: &mut AutoCommit,
    submission: &DocId,
    level: &ObjId,
    name: &str,
    instance_id: &str,
    to: usize,
) -> Result<()> {
    let (list, from, instance) = locate(doc, submission, level, name, instance_id)?;
    let last = doc.length(&list) - 1;
    if to > last {
        return Err(Error::InvalidArgument(format!(
            "index {to} is past the end of repeat {name} ({} instances)",
            last + 1
        )));
    }
    if to == from {
        return Ok(());
    }
    let contents = doc.hydrate(&instance, None)?;
    let (insert_at, delete_at) = if to < from {
        (to, from + 1)
    } else {
        (to + 1, from)
    };
    doc.batch_create_object(&list, insert_at, &contents, true)?;
    doc.delete(&list, delete_at)?;
    Ok(())
}

fn locate(
    doc: &AutoCommit,
    submission: &DocId,
    level: &ObjId,
    name: &str,
    instance_id: &str,
) -> Result<(ObjId, usize, ObjId)> {
    let missing = || Error::NoSuchInstance {
        submission: submission.to_string(),
        repeat: name.to_owned(),
        instance: instance_id.to_owned(),
    };
    let list = object_at(doc, level, name).ok_or_else(missing)?;
    let (index, instance) = find_instance(doc, &list, instance_id).ok_or_else(missing)?;
    Ok((list, index, instance))
}
