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

    /// Every form version in the store (published here or received by sync), by form id, then
    /// version, oldest first.
    pub fn forms(&self) -> Result<Vec<PublishedForm>> {
        self.call(|store| Ok(store.forms()?.into_iter().map(Into::into).collect()))
    }

    /// Version `version` of form `form_id`, compiled and ready to fill; `NotFound` if the store
    /// lacks it.
    pub fn form(&self, form_id: String, version: String) -> Result<Arc<Form>> {
        self.call(|store| Form::compile(&store.form(&form_id, &version)?))
    }

    /// The newest version of form `form_id` in the store (`1.10` after `1.9`); `NotFound` if
    /// it has none.
    pub fn latest_form(&self, form_id: String) -> Result<Arc<Form>> {
        self.call(|store| Form::compile(&store.latest_form(&form_id)?))
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
