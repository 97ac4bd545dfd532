//! Published forms in a store: a form version is a document that syncs like submissions (the
//! hub publishes, phones receive), so an app lists the forms it can fill from its own store.

use crate::error::Result;
use crate::form::{text, Form};
use crate::store::Store;
use minga_core as core;
use std::collections::HashMap;
use std::sync::Arc;

/// A form version the store holds, as a picker lists it (no form is compiled to list them).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PublishedForm {
    pub form_id: String,
    pub version: String,
    /// The title by language (`default` for a title without one).
    pub title: HashMap<String, String>,
    pub languages: Vec<String>,
    /// The form document's id.
    pub document: String,
}

#[uniffi::export]
impl Store {
    /// Publishes `form` in this store, as the document sync carries to peers; returns the
    /// document's id. The same version again changes nothing; another definition under the same
    /// id and version is `Conflict` (a change to a form is a new version). Durable on return.
    pub fn publish_form(&self, form: Arc<Form>) -> Result<String> {
        self.call(|store| Ok(store.publish_form(form.model())?.to_string()))
    }

    /// Publishes `form` with its media files (the lists of `select_one_from_file` and
    /// `pulldata()`, the images its labels name), each stored as an attachment that sync
    /// carries with the form; returns the form as published, compiled with its lists. A file
    /// the form names and `media` lacks is `NotFound` naming the file and the question.
    /// Durable on return.
    pub fn publish_form_with_media(
        &self,
        form: Arc<Form>,
        media: Vec<FormMediaFile>,
    ) -> Result<Arc<Form>> {
        self.call(|store| {
            let files: Vec<core::MediaUpload> = media.into_iter().map(Into::into).collect();
            let published = store.publish_form_with_media(form.model(), &files)?;
            Ok(Form::compiled(
                store.compiled_form(&published.id, &published.version)?,
            ))
        })
    }

    /// Every form version in the store (published here or received by sync), by form id, then
    /// version, oldest first.
    pub fn forms(&self) -> Result<Vec<PublishedForm>> {
        self.call(|store| Ok(store.forms()?.into_iter().map(Into::into).collect()))
    }

    /// Version `version` of form `form_id`, compiled and ready to fill, with the lists of its
    /// media files this store holds (what `select_one_from_file`, `instance()` and
    /// `pulldata()` read: a session needs nothing more); `NotFound` if the store lacks it.
    pub fn form(&self, form_id: String, version: String) -> Result<Arc<Form>> {
        self.call(|store| Ok(Form::compiled(store.compiled_form(&form_id, &version)?)))
    }

    /// The newest version of form `form_id` in the store (`1.10` after `1.9`), as
    /// [`Store::form`] gives it; `NotFound` if it has none.
    pub fn latest_form(&self, form_id: String) -> Result<Arc<Form>> {
        self.call(|store| {
            let newest = store.latest_form(&form_id)?;
            Ok(Form::compiled(
                store.compiled_form(&form_id, &newest.version)?,
            ))
        })
    }

    /// The bytes of media file `name` of version `version` of form `form_id` (a label's image,
    /// a list file); `NotFound` if the version has no such file or its content has not
    /// arrived yet (sync first).
    pub fn form_media(&self, form_id: String, version: String, name: String) -> Result<Vec<u8>> {
        self.call(|store| Ok(store.form_media(&form_id, &version, &name)?))
    }
}

/// A media file given with a form to publish: its name as the form names it, and its bytes.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FormMediaFile {
    pub name: String,
    pub bytes: Vec<u8>,
}

impl From<FormMediaFile> for core::MediaUpload {
    fn from(file: FormMediaFile) -> Self {
        Self {
            name: file.name,
            bytes: file.bytes,
        }
    }
}

impl From<core::PublishedForm> for PublishedForm {
    fn from(form: core::PublishedForm) -> Self {
        Self {
            form_id: form.form_id,
            version: form.version,
            title: text(&form.title),
            languages: form.languages,
            document: form.document.to_string(),
        }
    }
}
