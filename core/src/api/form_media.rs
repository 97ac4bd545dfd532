//! A form version's media files (its choice lists, the images and sounds of its labels) in the
//! store. They are attachments like a submission's photos, referenced by the form version's
//! document (its `media` manifest, `document::form`), so they are stored, synced (HTTP, a
//! host's transport, bundles) and kept by the attachments' one mechanism; this file adds what
//! is particular to forms: the manifest made when a version is published ([`with_media`]),
//! reading a file back by its name, and compiling a version with its lists, which is how a
//! form session on a device reads them without the app doing anything.

use crate::error::{Error, Result};
use crate::store::Store;
use minga_forms::eval::{compile_with_lists, CompiledForm};
use minga_forms::media::{list_name, media_named, media_type_of, read_list, ExternalLists};
use minga_forms::{Form, MediaFile};
use minga_sync::ContentHash;
use std::sync::Arc;

/// One media file given with a form to publish: its name as the form names it, and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaUpload {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// `form` with the manifest of `files` (every file given, in name order: extra files are kept,
/// as ODK Central keeps them), ready to publish. A file the form names and `files` lacks is
/// [`Error::FormMediaMissing`] naming the file and the question (or choice list) that names
/// it; a list file (`.csv`, `.xml`, `.geojson`) that does not read is `FormMediaMissing` too,
/// with why. Cost: one hash of every file, one parse of every list file.
pub fn with_media(form: &Form, files: &[MediaUpload]) -> Result<Form> {
    let missing = |file: &str, reason: String| Error::FormMediaMissing {
        form_id: form.id.clone(),
        file: file.to_string(),
        reason,
    };
    for used in media_named(form) {
        if !files.iter().any(|file| file.name == used.file) {
            let reason = format!(
                "{} (column {}) names it, and it was not given with the form",
                used.item, used.column
            );
            return Err(missing(&used.file, reason));
        }
    }
    let mut media: Vec<MediaFile> = Vec::with_capacity(files.len());
    for file in files {
        if list_name(&file.name).is_some() {
            read_list(&file.name, &file.bytes).map_err(|e| missing(&file.name, e.reason))?;
        }
        media.push(MediaFile {
            name: file.name.clone(),
            sha256: ContentHash::of(&file.bytes).to_hex(),
            size: file.bytes.len() as u64,
            media_type: media_type_of(&file.name).to_string(),
        });
    }
    media.sort_by(|a, b| a.name.cmp(&b.name));
    media.dedup_by(|a, b| a.name == b.name);
    Ok(Form {
        media,
        ..form.clone()
    })
}

impl Store {
    /// Publishes `form` with its media `files`: stores each file as an attachment, then the
    /// form version with their manifest ([`with_media`] says what is refused). Returns the
    /// form as published. Durable on return; a refusal stores nothing of the form (a file
    /// already stored stays, referenced by nothing). Cost: one pass over every file.
    pub fn publish_form_with_media(&self, form: &Form, files: &[MediaUpload]) -> Result<Form> {
        let published = with_media(form, files)?;
        for file in files {
            self.add_attachment(&file.bytes, media_type_of(&file.name), &file.name)?;
        }
        self.publish_form(&published)?;
        Ok(published)
    }

    /// The bytes of media file `name` of version `version` of form `form_id`.
    /// [`Error::FormMediaMissing`] if the version has no such file;
    /// [`Error::AttachmentNotPresent`] if its content has not arrived yet (sync first).
    /// Cost: as [`Store::form`], then one read of the file.
    pub fn form_media(&self, form_id: &str, version: &str, name: &str) -> Result<Vec<u8>> {
        let form = self.form(form_id, version)?;
        let file = media_file(&form, name)?;
        self.read_attachment(&hash_of(&form, file)?)
    }

    /// The lists of `form`'s list files that this store holds whole, by list name, read
    /// ([`read_list`]). A list whose content has not arrived yet is left out (the form then
    /// offers nothing from it until it does); one that does not read is
    /// [`Error::FormMediaMissing`]. Cost: one read and one parse of every list file.
    pub fn form_lists(&self, form: &Form) -> Result<ExternalLists> {
        let mut lists = ExternalLists::new();
        for file in &form.media {
            let Some(list) = list_name(&file.name) else {
                continue;
            };
            let bytes = match self.read_attachment(&hash_of(form, file)?) {
                Ok(bytes) => bytes,
                Err(Error::AttachmentNotPresent { .. }) => continue,
                Err(error) => return Err(error),
            };
            let choices = read_list(&file.name, &bytes).map_err(|e| Error::FormMediaMissing {
                form_id: form.id.clone(),
                file: file.name.clone(),
                reason: e.reason,
            })?;
            lists.insert(list.to_string(), choices);
        }
        Ok(lists)
    }

    /// Version `version` of form `form_id`, compiled with the lists its media files hold in
    /// this store ([`Store::form_lists`]): what a form session on this device opens with, so
    /// that `select_one_from_file`, `instance('list')` and `pulldata()` read the published
    /// files. A form that does not compile is [`Error::InvalidForm`]. Cost: as
    /// [`Store::form_lists`], then one compilation.
    pub fn compiled_form(&self, form_id: &str, version: &str) -> Result<Arc<CompiledForm>> {
        let form = self.form(form_id, version)?;
        let lists = self.form_lists(&form)?;
        let compiled = compile_with_lists(&form, lists).map_err(|errors| Error::InvalidForm {
            document: format!("form {form_id} version {version}"),
            reason: errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        })?;
        Ok(Arc::new(compiled))
    }
}

fn media_file<'a>(form: &'a Form, name: &str) -> Result<&'a MediaFile> {
    form.media
        .iter()
        .find(|file| file.name == name)
        .ok_or_else(|| Error::FormMediaMissing {
            form_id: form.id.clone(),
            file: name.to_string(),
            reason: format!("version {} has no media file of that name", form.version),
        })
}

fn hash_of(form: &Form, file: &MediaFile) -> Result<ContentHash> {
    ContentHash::from_hex(&file.sha256).map_err(|_| Error::InvalidForm {
        document: format!("form {} version {}", form.id, form.version),
        reason: format!(
            "media file {} names no SHA-256 ({})",
            file.name, file.sha256
        ),
    })
}
