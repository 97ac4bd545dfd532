//! Submissions: create, read, answer, repeat, complete, delete, export and import. Each call
//! that changes a submission is one automerge change, durable when the call returns.

use crate::api::changes::ReceivedChanges;
use crate::clock::now_ms;
use crate::document::repeats;
use crate::document::values::{self, WriteMode};
use crate::document::{self, AnswerPath, DocId, DocKind, FormRef, Status, SubmissionMeta};
use crate::error::{Error, Result};
use crate::storage::projection::Refresh;
use crate::store::Store;
use automerge::transaction::Transactable;
use automerge::AutoCommit;
use minga_forms::{Answers, Value};
use minga_sync::signatures::SignedChange;
use minga_sync::wire::{open_signed_document, seal_signed_document};

/// A submission as read: its creation facts, status and answers.
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    pub id: DocId,
    pub meta: SubmissionMeta,
    pub status: Status,
    pub answers: Answers,
    pub deleted: bool,
}

impl Store {
    /// Creates an empty draft submission for `form`, with a new UUID v7 id. Durable on return.
    pub fn create_submission(&self, form: &FormRef) -> Result<DocId> {
        check_name(&form.form_id)?;
        let id = DocId::new_v7();
        let mut inner = self.lock();
        let doc = document::new_submission(&id, form, &inner.identity, &inner.actor, now_ms())?;
        inner.insert_new(id, DocKind::Submission, doc)?;
        Ok(id)
    }

    /// Reads a whole submission. Cost: decoding it if it is not among the recently used.
    pub fn submission(&self, id: &DocId) -> Result<Submission> {
        self.lock().read(id, |doc| read_submission(*id, doc))
    }

    /// A submission's answers, repeats included.
    pub fn answers(&self, id: &DocId) -> Result<Answers> {
        self.lock().read(id, |doc| Ok(document::read_answers(doc)))
    }

    /// Sets the answer at `path`. A `Choices` value ticks and unticks options one by one, so
    /// that another person's ticks made meanwhile survive the merge.
    /// An answer that does not fit the submission's form version (a question it does not
    /// have, another type, a choice outside its filtered list) is refused with
    /// [`Error::InvalidAnswer`] and nothing is written. Cost: see [`Store::check_answer`].
    pub fn set_answer(&self, id: &DocId, path: &AnswerPath, value: &Value) -> Result<()> {
        check_name(&path.name)?;
        self.check_answer(id, path, value)?;
        self.write_at(id, path, |doc, level| {
            values::write_value(doc, level, &path.name, value, WriteMode::Merge)
        })
    }

    /// Sets long free text (meeting notes) as an automerge Text object, edited as a diff so
    /// that two editors merge character by character. Use for long text only: Text objects
    /// cost far more than plain strings.
    pub fn set_long_text(&self, id: &DocId, path: &AnswerPath, text: &str) -> Result<()> {
        self.write_at(id, path, |doc, level| {
            values::write_long_text(doc, level, &path.name, text)
        })
    }

    /// Removes the answer at `path` (a no-op if it has none).
    pub fn clear_answer(&self, id: &DocId, path: &AnswerPath) -> Result<()> {
        self.write_at(id, path, |doc, level| {
            Ok(doc.delete(level, path.name.as_str())?)
        })
    }

    /// Adds an instance to the repeat `repeat` at `index` (the end if `None`) and returns its
    /// stable id.
    pub fn add_repeat_instance(
        &self,
        id: &DocId,
        repeat: &AnswerPath,
        index: Option<usize>,
    ) -> Result<String> {
        self.write_at(id, repeat, |doc, level| {
            repeats::add_instance(doc, level, &repeat.name, index)
        })
    }

    /// Removes the instance `instance_id` of the repeat `repeat`, with its answers.
    pub fn remove_repeat_instance(
        &self,
        id: &DocId,
        repeat: &AnswerPath,
        instance_id: &str,
    ) -> Result<()> {
        self.write_at(id, repeat, |doc, level| {
            repeats::remove_instance(doc, id, level, &repeat.name, instance_id)
        })
    }

    /// Moves the instance `instance_id` of `repeat` to position `to`.
    pub fn move_repeat_instance(
        &self,
        id: &DocId,
        repeat: &AnswerPath,
        instance_id: &str,
        to: usize,
    ) -> Result<()> {
        self.write_at(id, repeat, |doc, level| {
            repeats::move_instance(doc, id, level, &repeat.name, instance_id, to)
        })
    }

    /// Marks the submission draft or complete. Completing is refused with
    /// [`Error::InvalidAnswer`] listing every required answer missing and every constraint
    /// broken (when the store holds the submission's form version); completing stamps the
    /// form's `end` questions with the time, as ODK does. Cost: completing
    /// evaluates the whole submission once.
    pub fn set_status(&self, id: &DocId, status: Status) -> Result<()> {
        let ends = match status {
            Status::Complete => self.check_completion(id)?,
            _ => Vec::new(),
        };
        let now = Value::DateTime(chrono::Local::now().fixed_offset());
        self.edit(id, |doc| {
            let top = document::level_of(doc, id, &[])?;
            for end in &ends {
                values::write_value(doc, &top, end, &now, WriteMode::Merge)?;
            }
            document::write_status(doc, status)
        })
    }

    /// Sets the name lists show for the submission (the form's `instance_name`, as the form
    /// engine evaluates it), or removes it.
    pub fn set_instance_name(&self, id: &DocId, name: Option<&str>) -> Result<()> {
        self.edit(id, |doc| document::write_instance_name(doc, name))
    }

    /// Deletes a submission softly: a tombstone in the document (so the deletion syncs) and in
    /// its list row. Lists hide it; [`Store::restore_submission`] brings it back.
    pub fn delete_submission(&self, id: &DocId) -> Result<()> {
        self.edit(id, |doc| document::write_deleted(doc, Some(now_ms())))
    }

    /// Undoes [`Store::delete_submission`].
    pub fn restore_submission(&self, id: &DocId) -> Result<()> {
        self.edit(id, |doc| document::write_deleted(doc, None))
    }

    /// The submission's whole history with the signatures of its changes, as one byte string
    /// for another Minga store's [`Store::import_submission`] (`minga_sync::signatures::
    /// seal_signed_document`). Any automerge library (`Automerge.load` in JavaScript) reads
    /// [`Store::document_bytes`], the plain automerge bytes.
    pub fn export_submission(&self, id: &DocId) -> Result<Vec<u8>> {
        let bytes = self.document_bytes(id)?;
        Ok(seal_signed_document(&bytes, &self.change_signatures(id)?))
    }

    /// Imports a submission as [`Store::export_submission`] gives it (from this store or
    /// another), or its plain automerge bytes (possibly edited elsewhere), merging it into the
    /// stored copy if there is one; its changes are verified as any received change is.
    /// Returns its id, read from `meta.id`.
    pub fn import_submission(&self, bytes: &[u8]) -> Result<DocId> {
        let (bytes, signatures) = unsealed(bytes)?;
        let id = id_of(&load(bytes)?)?;
        self.apply_changes(&[ReceivedChanges {
            id,
            kind: DocKind::Submission,
            bytes: bytes.to_vec(),
            signatures,
        }])?;
        Ok(id)
    }

    /// One change to a submission's document.
    pub(crate) fn edit<R>(
        &self,
        id: &DocId,
        edit: impl FnOnce(&mut AutoCommit) -> Result<R>,
    ) -> Result<R> {
        self.lock().edit(id, DocKind::Submission, edit)
    }

    /// One change at the level `path` points into (the top, or a repeat instance). It changes
    /// answers only, so the list row's location is read again only when a geopoint answer's
    /// name is written (type tags are per name, whatever the level).
    fn write_at<R>(
        &self,
        id: &DocId,
        path: &AnswerPath,
        write: impl FnOnce(&mut AutoCommit, &automerge::ObjId) -> Result<R>,
    ) -> Result<R> {
        check_name(&path.name)?;
        let geopoint = |doc: &AutoCommit| values::is_geopoint(doc, &path.name);
        self.lock().edit_refreshing(id, DocKind::Submission, |doc| {
            let level = document::level_of(doc, id, &path.instances)?;
            let was_geopoint = geopoint(doc);
            let result = write(doc, &level)?;
            let location = was_geopoint || geopoint(doc);
            let attachment = values::holds_attachment(doc, &level, &path.name);
            Ok((
                result,
                Refresh::Answers {
                    location,
                    attachment,
                },
            ))
        })
    }
}

impl Submission {
    /// Reads a submission from its automerge bytes or as [`Store::export_submission`] gives it,
    /// without a store: what a hub or an export does with the documents it holds. Its id is
    /// read from `meta.id`. Cost: loading the document.
    pub fn from_bytes(bytes: &[u8]) -> Result<Submission> {
        Self::from_document(&load(unsealed(bytes)?.0)?)
    }

    /// Reads a submission from a loaded automerge document (an export tells bytes that do not
    /// load from a document that is no submission). Its id is read from `meta.id`.
    pub(crate) fn from_document(doc: &AutoCommit) -> Result<Submission> {
        read_submission(id_of(doc)?, doc)
    }
}

/// The automerge bytes and signatures of what [`Store::export_submission`] gives (plain
/// automerge bytes come back as they are).
fn unsealed(bytes: &[u8]) -> Result<(&[u8], Vec<SignedChange>)> {
    open_signed_document(bytes).map_err(|error| Error::InvalidDocument(error.to_string()))
}

fn load(bytes: &[u8]) -> Result<AutoCommit> {
    AutoCommit::load(bytes).map_err(|error| Error::InvalidDocument(error.to_string()))
}

/// A submission document's id, from its `meta.id`.
fn id_of(doc: &AutoCommit) -> Result<DocId> {
    document::read_id(doc).ok_or_else(|| {
        Error::InvalidDocument("the document has no meta.id: not a Minga submission".into())
    })
}

fn read_submission(id: DocId, doc: &AutoCommit) -> Result<Submission> {
    let meta = document::read_meta(doc).ok_or_else(|| Error::WrongShape {
        submission: id.to_string(),
        name: "meta".into(),
        expected: "submission's meta map",
    })?;
    Ok(Submission {
        id,
        meta,
        status: document::read_status(doc),
        answers: document::read_answers(doc),
        deleted: document::read_deleted_at(doc).is_some(),
    })
}

/// Names are XLSForm names: not empty, and not `_id`, which marks repeat instances.
pub(crate) fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || name == "_id" {
        return Err(Error::InvalidArgument(format!(
            "{name:?} is not a usable name"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::plain_store;
    use minga_forms::{Attachment, GeoPoint};

    fn store(dir: &tempfile::TempDir) -> Store {
        plain_store(dir, "s.db", "d1", "ana")
    }

    fn every_kind_of_value() -> Vec<(&'static str, Value)> {
        vec![
            ("text", Value::Text("hola".into())),
            ("integer", Value::Integer(-7)),
            ("decimal", Value::Decimal(2.25)),
            ("one", Value::Choice("si".into())),
            (
                "many",
                Value::Choices(["a".to_string(), "b".to_string()].into()),
            ),
            ("none_ticked", Value::Choices(Default::default())),
            ("date", Value::Date("2026-03-14".parse().unwrap())),
            ("time", Value::Time("09:30:15.250".parse().unwrap())),
            (
                "moment",
                Value::DateTime("2026-03-14T09:30:00-05:00".parse().unwrap()),
            ),
            ("looks_like_a_date", Value::Text("2026-03-14".into())),
            (
                "place",
                Value::GeoPoint(GeoPoint {
                    latitude: -0.2,
                    longitude: -78.5,
                    altitude: None,
                    accuracy: Some(3.0),
                }),
            ),
            (
                "photo",
                Value::Attachment(Attachment {
                    sha256: "ab".repeat(32),
                    media_type: "image/jpeg".into(),
                    file_name: "p.jpg".into(),
                }),
            ),
        ]
    }

    #[test]
    fn every_kind_of_value_reads_back_as_written_after_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let id = {
            let store = store(&dir);
            let id = store.create_submission(&FormRef::new("f", "1")).unwrap();
            for (name, value) in every_kind_of_value() {
                store
                    .set_answer(&id, &AnswerPath::new(name), &value)
                    .unwrap();
            }
            id
        };
        let answers = store(&dir).answers(&id).unwrap();
        for (name, value) in every_kind_of_value() {
            assert_eq!(answers.value(name), Some(&value), "{name}");
        }
        assert_eq!(answers.fields.len(), every_kind_of_value().len());
    }

    fn point(latitude: f64, longitude: f64, accuracy: Option<f64>) -> Value {
        Value::GeoPoint(GeoPoint {
            latitude,
            longitude,
            altitude: None,
            accuracy,
        })
    }

    #[test]
    fn an_impossible_point_typed_here_is_refused_naming_the_question_and_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir);
        let id = store.create_submission(&FormRef::new("f", "1")).unwrap();
        let place = AnswerPath::new("place");
        let here = point(-0.2, -78.5, Some(3.0));
        store.set_answer(&id, &place, &here).unwrap();
        let before = store.export_submission(&id).unwrap();
        for impossible in [
            point(1000.0, 0.0, None),
            point(0.0, -500.0, None),
            point(f64::NAN, 0.0, None),
            point(0.0, f64::INFINITY, None),
            point(0.0, 0.0, Some(-1.0)),
            Value::Decimal(f64::NAN),
        ] {
            let refused = store.set_answer(&id, &place, &impossible);
            assert!(
                matches!(&refused, Err(Error::InvalidAnswer { question, .. }) if question == "place"),
                "{impossible:?}: {refused:?}"
            );
            let settled = store.resolve_conflict(&id, &place, &impossible);
            assert!(
                matches!(settled, Err(Error::InvalidAnswer { .. })),
                "{settled:?}"
            );
        }
        assert_eq!(store.answers(&id).unwrap().value("place"), Some(&here));
        assert_eq!(
            store.export_submission(&id).unwrap(),
            before,
            "no change was made"
        );
    }

    #[test]
    fn an_impossible_point_that_arrives_from_another_store_is_kept() {
        use automerge::ReadDoc;
        let dir = tempfile::tempdir().unwrap();
        let phone = store(&dir);
        let id = phone.create_submission(&FormRef::new("f", "1")).unwrap();
        let place = AnswerPath::new("place");
        phone
            .set_answer(&id, &place, &point(-0.2, -78.5, None))
            .unwrap();
        // Another implementation wrote a latitude of 1000 into the point.
        let mut doc = AutoCommit::load(&phone.document_bytes(&id).unwrap()).unwrap();
        let answers = crate::fields::object_at(&doc, &automerge::ROOT, "answers").unwrap();
        let (_, stored) = doc.get(&answers, "place").unwrap().unwrap();
        doc.put(&stored, "latitude", 1000.0).unwrap();
        let office = plain_store(&dir, "office.db", "d2", "sara");
        // The phone's changes travel with their signatures; the other implementation's own
        // change is unkeyed.
        let signed = phone.change_signatures(&id).unwrap();
        office
            .import_submission(&seal_signed_document(&doc.save(), &signed))
            .unwrap();
        assert_eq!(
            office.answers(&id).unwrap().value("place"),
            Some(&point(1000.0, -78.5, None)),
            "someone's data is kept as it came"
        );
    }

    #[test]
    fn choices_tick_and_untick_and_clear() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir);
        let id = store.create_submission(&FormRef::new("f", "1")).unwrap();
        let path = AnswerPath::new("topics");
        let set =
            |options: &[&str]| Value::Choices(options.iter().map(|o| o.to_string()).collect());
        store.set_answer(&id, &path, &set(&["a", "b"])).unwrap();
        store.set_answer(&id, &path, &set(&["b", "c"])).unwrap();
        assert_eq!(
            store.answers(&id).unwrap().value("topics"),
            Some(&set(&["b", "c"]))
        );
        store.clear_answer(&id, &path).unwrap();
        assert_eq!(store.answers(&id).unwrap().value("topics"), None);
    }

    #[test]
    fn repeat_instances_keep_their_ids_through_add_move_and_remove() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir);
        let id = store.create_submission(&FormRef::new("f", "1")).unwrap();
        let people = AnswerPath::new("people");
        let ids: Vec<String> = (0..3)
            .map(|_| store.add_repeat_instance(&id, &people, None).unwrap())
            .collect();
        for (n, instance) in ids.iter().enumerate() {
            store
                .set_answer(
                    &id,
                    &AnswerPath::new("age").inside("people", instance),
                    &Value::Integer(n as i64),
                )
                .unwrap();
        }
        store
            .set_long_text(
                &id,
                &AnswerPath::new("story").inside("people", &ids[0]),
                "long story",
            )
            .unwrap();
        store
            .move_repeat_instance(&id, &people, &ids[0], 2)
            .unwrap();
        store.remove_repeat_instance(&id, &people, &ids[1]).unwrap();
        let answers = store.answers(&id).unwrap();
        let order: Vec<(&str, Option<&Value>)> = answers
            .instances("people")
            .iter()
            .map(|i| (i.id.as_str(), i.answers.value("age")))
            .collect();
        assert_eq!(
            order,
            vec![
                (ids[2].as_str(), Some(&Value::Integer(2))),
                (ids[0].as_str(), Some(&Value::Integer(0)))
            ]
        );
        assert_eq!(
            answers.instances("people")[1].answers.value("story"),
            Some(&Value::Text("long story".into()))
        );
        let missing = store.set_answer(
            &id,
            &AnswerPath::new("age").inside("people", &ids[1]),
            &Value::Integer(1),
        );
        assert!(matches!(missing, Err(Error::NoSuchInstance { .. })));
        assert!(matches!(
            store.move_repeat_instance(&id, &people, &ids[2], 5),
            Err(Error::InvalidArgument(_))
        ));
    }

    #[test]
    fn a_failed_edit_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir);
        let id = store.create_submission(&FormRef::new("f", "1")).unwrap();
        let seq = store.last_seq().unwrap();
        let bad = store.remove_repeat_instance(&id, &AnswerPath::new("people"), "nobody");
        assert!(matches!(bad, Err(Error::NoSuchInstance { .. })));
        assert_eq!(store.last_seq().unwrap(), seq);
        assert!(store.answers(&id).unwrap().fields.is_empty());
        assert!(matches!(
            store.set_answer(&id, &AnswerPath::new(""), &Value::Integer(1)),
            Err(Error::InvalidArgument(_))
        ));
        let unknown: DocId = "0192f0c1-0000-7000-8000-000000000000".parse().unwrap();
        assert!(matches!(
            store.answers(&unknown),
            Err(Error::NotFound { .. })
        ));
    }

    #[test]
    fn status_instance_name_and_soft_delete() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir);
        let id = store.create_submission(&FormRef::new("f", "1")).unwrap();
        store.set_status(&id, Status::Complete).unwrap();
        store.set_instance_name(&id, Some("Tumbaco")).unwrap();
        store.delete_submission(&id).unwrap();
        let submission = store.submission(&id).unwrap();
        assert_eq!(
            (submission.status, submission.deleted),
            (Status::Complete, true)
        );
        assert_eq!(submission.meta.instance_name.as_deref(), Some("Tumbaco"));
        assert_eq!(submission.meta.created_by, "ana");
        store.restore_submission(&id).unwrap();
        assert!(!store.submission(&id).unwrap().deleted);
    }
}
