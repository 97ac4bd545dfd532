//! The shape of a submission document, as plain automerge that any automerge library reads:
//!
//! ```text
//! { schema: 1,
//!   meta: { id, form_id, form_version, project_id?, created_at, created_by, device_id,
//!           instance_name? },
//!   answers: { <name>: <value>, <repeat>: [ { _id, _order?, <name>: <value>, ... }, ... ] },
//!   types: { <name>: "date" | "time" | "dateTime" | "select_one" | "select_multiple"
//!                    | "geopoint" | "attachment" },
//!   authors: { <actor hex>: { device_id, user_name } },
//!   calculated: { <name>: true },
//!   status: "draft" | "complete",
//!   deleted_at?: <timestamp> }
//! ```
//!
//! `types` records how to read back answers that a plain string or map cannot say by itself
//! (a date is stored as the string `2026-03-01`); text, integers and decimals need no entry.
//! `authors` maps each automerge actor to the device and person behind it, written once per
//! actor, so that history and conflicts can name who wrote what without a message per change.
//! `calculated` names the answers the form computes (see `calculated`), which a session stores
//! beside the person's answers; submissions written before it have no such map until one does.
//! A repeat's instances read in `_order` (once one has been moved), and a repeat's key may
//! hold several lists after concurrent first instances: read them with `repeats::instances`.

use super::identity::DeviceIdentity;
use super::ids::DocId;
use crate::error::{Error, Result};
use crate::fields::{map_at, millis_at, object_at, string_at};
use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ObjId, ObjType, ReadDoc, ScalarValue, ROOT};
use std::fmt;

/// The document format version written in `schema`.
pub const DOCUMENT_SCHEMA: i64 = 1;

/// The form a submission is filled against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormRef {
    pub form_id: String,
    pub form_version: String,
    pub project_id: Option<String>,
}

impl FormRef {
    pub fn new(form_id: impl Into<String>, form_version: impl Into<String>) -> Self {
        Self {
            form_id: form_id.into(),
            form_version: form_version.into(),
            project_id: None,
        }
    }
}

/// Where a submission is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Draft,
    Complete,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Complete => "complete",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "draft" => Some(Status::Draft),
            "complete" => Some(Status::Complete),
            _ => None,
        }
    }
}

/// Where an answer sits: a name at the top level, or inside repeat instances (outermost
/// first). Also names a repeat itself, for the calls that add, remove and move instances.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AnswerPath {
    pub instances: Vec<InstanceRef>,
    pub name: String,
}

/// One step into a repeat: the repeat's name and the stable `_id` of one instance.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InstanceRef {
    pub repeat: String,
    pub instance_id: String,
}

impl AnswerPath {
    /// A top-level name.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            instances: Vec::new(),
            name: name.into(),
        }
    }

    /// The same name, inside the instance `instance_id` of `repeat` (nested under any
    /// instances already on the path).
    pub fn inside(mut self, repeat: impl Into<String>, instance_id: impl Into<String>) -> Self {
        self.instances.push(InstanceRef {
            repeat: repeat.into(),
            instance_id: instance_id.into(),
        });
        self
    }
}

impl fmt::Display for AnswerPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for step in &self.instances {
            write!(f, "{}[{}]/", step.repeat, step.instance_id)?;
        }
        f.write_str(&self.name)
    }
}

/// A submission's creation facts, as `meta` holds them.
#[derive(Debug, Clone, PartialEq)]
pub struct SubmissionMeta {
    pub form: FormRef,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub created_by: String,
    pub device_id: String,
    pub instance_name: Option<String>,
}

/// Builds a new submission document written by `actor`. The caller commits it.
pub(crate) fn new_submission(
    id: &DocId,
    form: &FormRef,
    identity: &DeviceIdentity,
    actor: &ActorId,
    now_ms: i64,
) -> Result<AutoCommit> {
    let mut doc = AutoCommit::new().with_actor(actor.clone());
    doc.put(ROOT, "schema", DOCUMENT_SCHEMA)?;
    let meta = doc.put_object(ROOT, "meta", ObjType::Map)?;
    doc.put(&meta, "id", id.to_string())?;
    doc.put(&meta, "form_id", form.form_id.as_str())?;
    doc.put(&meta, "form_version", form.form_version.as_str())?;
    if let Some(project) = &form.project_id {
        doc.put(&meta, "project_id", project.as_str())?;
    }
    doc.put(&meta, "created_at", ScalarValue::Timestamp(now_ms))?;
    doc.put(&meta, "created_by", identity.user_name.as_str())?;
    doc.put(&meta, "device_id", identity.device_id.as_str())?;
    doc.put_object(ROOT, "answers", ObjType::Map)?;
    doc.put_object(ROOT, "types", ObjType::Map)?;
    doc.put_object(ROOT, "authors", ObjType::Map)?;
    doc.put_object(ROOT, super::calculated::CALCULATED, ObjType::Map)?;
    doc.put(ROOT, "status", Status::Draft.as_str())?;
    record_author(&mut doc, actor, identity)?;
    Ok(doc)
}

/// Records who `actor` is, once per actor per document.
pub(crate) fn record_author(
    doc: &mut AutoCommit,
    actor: &ActorId,
    identity: &DeviceIdentity,
) -> Result<()> {
    let authors = map_at(doc, &ROOT, "authors")?;
    let key = actor.to_hex_string();
    if doc.get(&authors, key.as_str())?.is_some() {
        return Ok(());
    }
    let entry = doc.put_object(&authors, key.as_str(), ObjType::Map)?;
    doc.put(&entry, "device_id", identity.device_id.as_str())?;
    doc.put(&entry, "user_name", identity.user_name.as_str())?;
    Ok(())
}

/// Who `actor` is, according to the document's `authors` map.
pub(crate) fn author_of(doc: &AutoCommit, actor: &ActorId) -> Option<DeviceIdentity> {
    let authors = object_at(doc, &ROOT, "authors")?;
    let entry = object_at(doc, &authors, actor.to_hex_string())?;
    Some(DeviceIdentity {
        device_id: string_at(doc, &entry, "device_id")?,
        user_name: string_at(doc, &entry, "user_name")?,
    })
}

/// Reads `meta`. `None` if the document is not (yet) a complete submission.
pub(crate) fn read_meta(doc: &AutoCommit) -> Option<SubmissionMeta> {
    let meta = object_at(doc, &ROOT, "meta")?;
    let created_ms = millis_at(doc, &meta, "created_at")?;
    Some(SubmissionMeta {
        form: FormRef {
            form_id: string_at(doc, &meta, "form_id")?,
            form_version: string_at(doc, &meta, "form_version")?,
            project_id: string_at(doc, &meta, "project_id"),
        },
        created_at: chrono::DateTime::from_timestamp_millis(created_ms)?,
        created_by: string_at(doc, &meta, "created_by")?,
        device_id: string_at(doc, &meta, "device_id")?,
        instance_name: string_at(doc, &meta, "instance_name"),
    })
}

/// The id written in `meta.id`, which lets imported bytes find their row.
pub(crate) fn read_id(doc: &AutoCommit) -> Option<DocId> {
    let meta = object_at(doc, &ROOT, "meta")?;
    string_at(doc, &meta, "id")?.parse().ok()
}

pub(crate) fn read_status(doc: &AutoCommit) -> Status {
    string_at(doc, &ROOT, "status")
        .and_then(|s| Status::parse(&s))
        .unwrap_or(Status::Draft)
}

/// A submission's answers, repeats included, from its document as a store or a hub holds it.
/// Cost: one walk over the answers.
pub fn read_answers<D: ReadDoc>(doc: &D) -> minga_forms::Answers {
    let tags = super::values::type_tags(doc);
    match object_at(doc, &ROOT, "answers") {
        Some(answers) => super::values::read_level(doc, &answers, &tags),
        None => minga_forms::Answers::default(),
    }
}

pub(crate) fn write_status(doc: &mut AutoCommit, status: Status) -> Result<()> {
    doc.put(ROOT, "status", status.as_str())?;
    Ok(())
}

pub(crate) fn write_instance_name(doc: &mut AutoCommit, name: Option<&str>) -> Result<()> {
    let meta = map_at(doc, &ROOT, "meta")?;
    match name {
        Some(name) => doc.put(&meta, "instance_name", name)?,
        None => doc.delete(&meta, "instance_name")?,
    }
    Ok(())
}

/// When the submission was deleted (ms since the epoch), if it is.
pub(crate) fn read_deleted_at(doc: &AutoCommit) -> Option<i64> {
    millis_at(doc, &ROOT, "deleted_at")
}

/// Marks the document deleted (a tombstone that syncs like any change), or undoes that.
pub(crate) fn write_deleted(doc: &mut AutoCommit, deleted_at_ms: Option<i64>) -> Result<()> {
    match deleted_at_ms {
        Some(ms) => doc.put(ROOT, "deleted_at", ScalarValue::Timestamp(ms))?,
        None => doc.delete(ROOT, "deleted_at")?,
    }
    Ok(())
}

/// The map that holds the answers at `path`'s level: `answers` itself, or the repeat
/// instance the path's last step names.
pub(crate) fn level_of(
    doc: &AutoCommit,
    submission: &DocId,
    instances: &[InstanceRef],
) -> Result<ObjId> {
    let mut level = object_at(doc, &ROOT, "answers").ok_or_else(|| Error::WrongShape {
        submission: submission.to_string(),
        name: "answers".into(),
        expected: "map",
    })?;
    for step in instances {
        level = super::repeats::find(doc, &level, &step.repeat, &step.instance_id)
            .map(|instance| instance.object)
            .ok_or_else(|| no_such_instance(submission, step))?;
    }
    Ok(level)
}

fn no_such_instance(submission: &DocId, step: &InstanceRef) -> Error {
    Error::NoSuchInstance {
        submission: submission.to_string(),
        repeat: step.repeat.clone(),
        instance: step.instance_id.clone(),
    }
}
