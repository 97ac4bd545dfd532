//! Following a form session: the answers a `FormSession` writes by itself (defaults, the
//! instances a `repeat_count` asks for) made in the store with the session's own instance ids,
//! so that the stored submission and the session name every instance alike; and the values of
//! calculations, marked as such in the document (`document::calculated`).

use crate::api::submission::check_name;
use crate::document::values::{self, WriteMode};
use crate::document::{self, AnswerPath, DocId, InstanceRef};
use crate::document::{calculated, repeats};
use crate::error::Result;
use crate::store::Store;
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ReadDoc};
use minga_forms::eval::{ItemPath, SessionEdit};
use std::collections::HashMap;

impl Store {
    /// Makes a session's edits (a `Delta::edits`, or those `FormSession::start` returns), in
    /// order, as ONE automerge change and one transaction: observers hear of it once. An
    /// `AddInstance` keeps the session's id and goes at the end of its repeat; an id the
    /// repeat already holds is refused with [`crate::Error::InstanceExists`]. If any edit
    /// fails, none is made. No edits, no change. Cost: one path walk per instance written.
    pub fn apply_session_edits(&self, id: &DocId, edits: &[SessionEdit]) -> Result<()> {
        if edits.is_empty() {
            return Ok(());
        }
        self.edit(id, |doc| write_session_edits(doc, id, edits))
    }
}

/// Makes a session's edits on the submission document `id` being edited, in order (see
/// [`Store::apply_session_edits`]), for a caller that holds the document under the store's
/// write lock. Cost: one path walk per instance written.
pub(crate) fn write_session_edits(
    doc: &mut AutoCommit,
    id: &DocId,
    edits: &[SessionEdit],
) -> Result<()> {
    // The map of each instance written, found once: a counted repeat of 1,000 brings
    // thousands of edits, and finding an instance reads its repeat's list.
    let mut levels: HashMap<Vec<InstanceRef>, ObjId> = HashMap::new();
    for edit in edits {
        let path = answer_path(written_at(edit));
        check_name(&path.name)?;
        let level = match levels.get(&path.instances) {
            Some(level) => level.clone(),
            None => {
                let level = document::level_of(doc, id, &path.instances)?;
                levels.insert(path.instances.clone(), level.clone());
                level
            }
        };
        if matches!(edit, SessionEdit::RemoveInstance { .. }) {
            levels.clear();
        }
        match edit {
            SessionEdit::SetAnswer { path, value } => {
                values::write_value(doc, &level, &path.name, value, WriteMode::Merge)?
            }
            SessionEdit::AddInstance { repeat, id: new } => {
                let added = repeats::add_instance_with_id(doc, id, &level, &repeat.name, new)?;
                let mut inside = path.instances.clone();
                inside.push(InstanceRef {
                    repeat: repeat.name.clone(),
                    instance_id: new.clone(),
                });
                levels.insert(inside, added);
            }
            SessionEdit::RemoveInstance { repeat, id: gone } => {
                repeats::remove_instance(doc, id, &level, &repeat.name, gone)?
            }
            SessionEdit::Calculated { path, value } => {
                store_calculation(doc, &level, &path.name, value.as_ref())?
            }
        }
    }
    Ok(())
}

/// Removes the answer at `path` of the submission document `id` being edited (nothing if it
/// has none), for a caller that holds the document under the store's write lock.
pub(crate) fn clear_answer_in(doc: &mut AutoCommit, id: &DocId, path: &AnswerPath) -> Result<()> {
    check_name(&path.name)?;
    let level = document::level_of(doc, id, &path.instances)?;
    Ok(doc.delete(&level, path.name.as_str())?)
}

/// Where an edit writes: its question, or its repeat.
fn written_at(edit: &SessionEdit) -> &ItemPath {
    match edit {
        SessionEdit::SetAnswer { path, .. } | SessionEdit::Calculated { path, .. } => path,
        SessionEdit::AddInstance { repeat, .. } | SessionEdit::RemoveInstance { repeat, .. } => {
            repeat
        }
    }
}

/// Stores a calculation's value under `name` in `level` (or removes it), marked as a
/// calculation in the document.
fn store_calculation(
    doc: &mut automerge::AutoCommit,
    level: &automerge::ObjId,
    name: &str,
    value: Option<&minga_forms::Value>,
) -> Result<()> {
    match value {
        Some(value) => {
            values::write_value(doc, level, name, value, WriteMode::Merge)?;
            calculated::mark(doc, name)
        }
        None if doc.get(level, name)?.is_some() => Ok(doc.delete(level, name)?),
        None => Ok(()),
    }
}

/// The store's path for a session's item path: the same steps under other names.
pub(crate) fn answer_path(path: &ItemPath) -> AnswerPath {
    AnswerPath {
        instances: path
            .instances
            .iter()
            .map(|step| InstanceRef {
                repeat: step.repeat.clone(),
                instance_id: step.id.clone(),
            })
            .collect(),
        name: path.name.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::FormRef;
    use crate::test_support::plain_store;
    use crate::Error;
    use minga_forms::eval::{compile, CompiledForm, Context, FormSession};
    use minga_forms::{Answers, Form, Value};
    use std::sync::{Arc, Mutex};

    /// A count with a default of 2, a village with a default, and a repeat of people following
    /// the count, each with an age defaulting to 30.
    fn form() -> Arc<CompiledForm> {
        let form: Form = serde_json::from_value(serde_json::json!({
            "id": "visit", "version": "1", "title": {"default": "Visit"},
            "default_language": null, "languages": [], "instance_name": null, "choices": {},
            "survey": [
                {"kind": "question", "name": "count", "type": {"base": "integer"},
                 "default": "2"},
                {"kind": "question", "name": "village", "type": {"base": "text"},
                 "default": "Tumbaco"},
                {"kind": "repeat", "name": "people", "repeat_count": "${count}", "children": [
                    {"kind": "question", "name": "age", "type": {"base": "integer"},
                     "default": "30"},
                    {"kind": "question", "name": "pname", "type": {"base": "text"}},
                ]},
            ],
        }))
        .unwrap();
        Arc::new(compile(&form).unwrap())
    }

    fn context() -> Context {
        Context {
            language: None,
            now: chrono::DateTime::parse_from_rfc3339("2026-03-14T09:30:00-05:00").unwrap(),
            device_id: "d1".into(),
            user_name: "ana".into(),
        }
    }

    fn store(dir: &tempfile::TempDir) -> Store {
        plain_store(dir, "s.db", "d1", "ana")
    }

    fn people_ids(session: &FormSession) -> Vec<String> {
        let people = ItemPath::top("people");
        let ids = session.instance_ids(&people).unwrap();
        ids.into_iter().map(str::to_string).collect()
    }

    #[test]
    fn a_started_session_is_stored_in_one_change_and_reopens_alike() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir);
        let notified = Arc::new(Mutex::new(0));
        let count = notified.clone();
        let _handle = store.observe(Box::new(move |_| *count.lock().unwrap() += 1));
        let id = store
            .create_submission(&FormRef::new("visit", "1"))
            .unwrap();
        let (started, edits) = FormSession::start(form(), context());
        let added = edits
            .iter()
            .filter(|edit| matches!(edit, SessionEdit::AddInstance { .. }))
            .count();
        assert_eq!(added, 2, "{edits:?}");
        let (seq, calls) = (store.last_seq().unwrap(), *notified.lock().unwrap());

        store.apply_session_edits(&id, &edits).unwrap();
        assert_eq!(store.last_seq().unwrap(), seq + 1, "one change");
        assert_eq!(*notified.lock().unwrap(), calls + 1, "observers fire once");

        let stored = store.answers(&id).unwrap();
        assert_eq!(&stored, started.answers());
        let reopened = FormSession::new(form(), stored, context());
        assert_eq!(reopened.answers(), started.answers());
        assert_eq!(people_ids(&reopened), people_ids(&started));
        let first = &reopened.answers().instances("people")[0];
        assert_eq!(first.answers.value("age"), Some(&Value::Integer(30)));
    }

    #[test]
    fn a_lowered_count_removes_the_last_instances_in_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir);
        let id = store
            .create_submission(&FormRef::new("visit", "1"))
            .unwrap();
        let (_, edits) = FormSession::start(form(), context());
        store.apply_session_edits(&id, &edits).unwrap();
        let mut session = FormSession::new(form(), store.answers(&id).unwrap(), context());
        let three = session
            .set(&ItemPath::top("count"), Some(Value::Integer(3)))
            .unwrap();
        store
            .set_answer(&id, &AnswerPath::new("count"), &Value::Integer(3))
            .unwrap();
        store.apply_session_edits(&id, &three.edits).unwrap();
        let before = people_ids(&session);
        assert_eq!(before.len(), 3);

        let one = session
            .set(&ItemPath::top("count"), Some(Value::Integer(1)))
            .unwrap();
        store
            .set_answer(&id, &AnswerPath::new("count"), &Value::Integer(1))
            .unwrap();
        store.apply_session_edits(&id, &one.edits).unwrap();

        let stored = store.answers(&id).unwrap();
        let left: Vec<&str> = stored
            .instances("people")
            .iter()
            .map(|instance| instance.id.as_str())
            .collect();
        assert_eq!(left, [before[0].as_str()]);
        assert_eq!(&stored, session.answers());
    }

    #[test]
    fn an_instance_id_already_in_the_repeat_is_refused_and_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir);
        let id = store
            .create_submission(&FormRef::new("visit", "1"))
            .unwrap();
        let (started, edits) = FormSession::start(form(), context());
        store.apply_session_edits(&id, &edits).unwrap();
        let seq = store.last_seq().unwrap();
        let again = [
            SessionEdit::SetAnswer {
                path: ItemPath::top("village"),
                value: Value::Text("Puembo".into()),
            },
            SessionEdit::AddInstance {
                repeat: ItemPath::top("people"),
                id: people_ids(&started)[1].clone(),
            },
        ];
        let refused = store.apply_session_edits(&id, &again);
        assert!(
            matches!(&refused, Err(Error::InstanceExists { instance, .. }) if *instance == people_ids(&started)[1]),
            "{refused:?}"
        );
        assert_eq!(store.last_seq().unwrap(), seq);
        assert_eq!(&store.answers(&id).unwrap(), started.answers());
        assert_ne!(store.answers(&id).unwrap(), Answers::default());
    }

    #[test]
    fn an_edit_with_a_point_off_the_globe_is_refused_and_no_edit_is_made() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir);
        let id = store
            .create_submission(&FormRef::new("visit", "1"))
            .unwrap();
        let seq = store.last_seq().unwrap();
        let edits = [
            SessionEdit::SetAnswer {
                path: ItemPath::top("village"),
                value: Value::Text("Puembo".into()),
            },
            SessionEdit::SetAnswer {
                path: ItemPath::top("where"),
                value: Value::GeoPoint(minga_forms::GeoPoint {
                    latitude: 12.0,
                    longitude: -500.0,
                    altitude: None,
                    accuracy: None,
                }),
            },
        ];
        let refused = store.apply_session_edits(&id, &edits);
        assert!(
            matches!(&refused, Err(Error::InvalidAnswer { question, reason })
                if question == "where" && reason.contains("longitude -500")),
            "{refused:?}"
        );
        assert_eq!(store.last_seq().unwrap(), seq);
        assert_eq!(store.answers(&id).unwrap(), Answers::default());
    }
}
