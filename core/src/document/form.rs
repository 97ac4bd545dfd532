//! Published forms as documents: one automerge document (kind Form) per form version, which
//! syncs like submissions and reviews do. The shape, as plain automerge:
//!
//! ```text
//! { schema: 1, form_id: "<id>", version: "<version>", definition: "<the Form as JSON>",
//!   media: { "<file name>": { sha256: "<hex>", size: <bytes>, media_type: "<type>" } } }
//! ```
//!
//! `media` (only in a version published with media files) is the manifest the definition's
//! `media` also holds, spelt out as automerge maps so that the attachments' rule (every
//! string under a `sha256` key is a content the document references:
//! `minga_sync::attachments::referenced`) finds the files: a form version's media travel,
//! and are kept, exactly as a submission's photos do, and a device that may read the form
//! may read its media.
//!
//! The definition is Minga's serde form model as one JSON string: a published version never
//! changes, so nothing inside it ever needs merging, and one scalar costs a few hundred bytes of
//! automerge where the model spelled out as maps and lists would cost an operation per field.
//! Any automerge reader gets the form by parsing that string.
//!
//! The id is derived from the form id and version ([`form_document_id`]) and the document's only
//! change is deterministic (a fixed actor, time 0), so two devices (or a hub and a phone) that
//! publish the same version write the byte-identical change and hold one document. A different
//! definition under an id and version already published is refused, and cannot arrive by sync
//! either: it would be a second change with the same actor and sequence number, which automerge
//! refuses, so the receiving store keeps its own and reports the document refused.

use super::ids::DocId;
use crate::error::{Error, Result};
use crate::fields::string_at;
use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, ObjType, ReadDoc, ScalarValue, Value as AmValue, ROOT};
use minga_forms::Form;

/// The UUID v5 namespace of form document ids (a random constant, fixed forever).
const FORM_NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x5f1c_8d2e_7a43_4b19_9e06_c3d1_a8f2_6b70);

/// The format version written in a form document's `schema`.
const FORM_DOCUMENT_SCHEMA: i64 = 1;

/// The id of the document holding version `version` of form `form_id`: a UUID v5 of both, so
/// every device derives the same one. The name hashed is `<len of id>:<id>:<version>`, so no
/// two pairs share it.
pub fn form_document_id(form_id: &str, version: &str) -> DocId {
    let name = format!("{}:{form_id}:{version}", form_id.len());
    DocId::from_uuid(uuid::Uuid::new_v5(&FORM_NAMESPACE, name.as_bytes()))
}

/// The document that publishes `form`, saved: its id and automerge bytes, byte for byte what
/// `Store::publish_form` stores. A hub that keeps documents without a `Store` publishes
/// these bytes, and phones that receive them hold the same document. Cost: one JSON encoding.
pub fn form_document(form: &Form) -> Result<(DocId, Vec<u8>)> {
    let (id, mut doc) = build(form)?;
    Ok((id, doc.save()))
}

/// Reads the form held in a form document's bytes (as [`form_document`] makes them), checking
/// that it is the version its id names.
pub fn read_form_document(id: &DocId, bytes: &[u8]) -> Result<Form> {
    let doc = AutoCommit::load(bytes).map_err(|error| invalid(id, error.to_string()))?;
    read_form(&doc, id)
}

/// The form's document with its one deterministic change, committed.
pub(crate) fn build(form: &Form) -> Result<(DocId, AutoCommit)> {
    if form.id.trim().is_empty() || form.version.trim().is_empty() {
        return Err(Error::InvalidArgument(
            "a published form needs a form id and a version".into(),
        ));
    }
    let definition = serde_json::to_string(form)
        .map_err(|error| Error::InvalidArgument(format!("form {}: {error}", form.id)))?;
    let id = form_document_id(&form.id, &form.version);
    let mut doc = AutoCommit::new().with_actor(ActorId::from(id.as_bytes()));
    doc.put(ROOT, "schema", FORM_DOCUMENT_SCHEMA)?;
    doc.put(ROOT, "form_id", form.id.as_str())?;
    doc.put(ROOT, "version", form.version.as_str())?;
    doc.put(ROOT, "definition", definition)?;
    write_media(&mut doc, form)?;
    doc.commit_with(CommitOptions::default().with_time(0));
    Ok((id, doc))
}

/// The manifest of `form`'s media files, as the `media` map (nothing for a form without).
fn write_media(doc: &mut AutoCommit, form: &Form) -> Result<()> {
    if form.media.is_empty() {
        return Ok(());
    }
    let manifest = doc.put_object(ROOT, "media", ObjType::Map)?;
    for file in &form.media {
        let size = i64::try_from(file.size).map_err(|_| {
            Error::InvalidArgument(format!(
                "form {}: media file {} is too large",
                form.id, file.name
            ))
        })?;
        let entry = doc.put_object(&manifest, file.name.as_str(), ObjType::Map)?;
        doc.put(
            &entry,
            minga_sync::attachments::HASH_KEY,
            file.sha256.as_str(),
        )?;
        doc.put(&entry, "size", size)?;
        doc.put(&entry, "media_type", file.media_type.as_str())?;
    }
    Ok(())
}

/// The form in a form document. Concurrent definitions (only another writer than Minga can
/// make them) are a conflict, not a choice this store can make.
pub(crate) fn read_form(doc: &AutoCommit, id: &DocId) -> Result<Form> {
    let definitions: Vec<String> = doc
        .get_all(ROOT, "definition")?
        .into_iter()
        .filter_map(|(value, _)| match value {
            AmValue::Scalar(scalar) => match scalar.as_ref() {
                ScalarValue::Str(text) => Some(text.to_string()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    let form: Form = match definitions.as_slice() {
        [definition] => serde_json::from_str(definition)
            .map_err(|error| invalid(id, format!("its definition is not a form: {error}")))?,
        [] => return Err(invalid(id, "it has no definition".into())),
        [..] => {
            let form_id = string_at(doc, &ROOT, "form_id").unwrap_or_default();
            let version = string_at(doc, &ROOT, "version").unwrap_or_default();
            return Err(conflict(&form_id, &version));
        }
    };
    if form_document_id(&form.id, &form.version) != *id {
        return Err(invalid(
            id,
            format!(
                "it holds form {} version {}, which is not the version its id names",
                form.id, form.version
            ),
        ));
    }
    Ok(form)
}

pub(crate) fn conflict(form_id: &str, version: &str) -> Error {
    Error::FormVersionConflict {
        form_id: form_id.into(),
        version: version.into(),
    }
}

fn invalid(id: &DocId, reason: String) -> Error {
    Error::InvalidForm {
        document: id.to_string(),
        reason,
    }
}
