//! Published forms in a store: publishing a version, listing the versions held, reading one
//! and finding the newest. The form document itself (its shape, id and deterministic change) is
//! `document::form`.

use crate::document::form::{build, conflict, read_form};
use crate::document::{form_document_id, DocId, DocKind};
use crate::error::{Error, Result};
use crate::storage::documents;
use crate::store::Store;
use minga_forms::{Form, LocalizedText};
use std::cmp::Ordering;

/// A published form version as listed: enough to show a picker without parsing every form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedForm {
    pub form_id: String,
    pub version: String,
    pub title: LocalizedText,
    pub languages: Vec<String>,
    /// The form document's id ([`form_document_id`] of the id and version).
    pub document: DocId,
}

impl Store {
    /// Publishes `form` in this store as its form document, which sync then carries to peers.
    /// Publishing a version already here with the same definition changes nothing (so a phone
    /// that already received it from the hub may publish it again); a different definition
    /// under the same id and version is refused with [`Error::FormVersionConflict`]: a change
    /// to a form is a new version. Returns the document's id. Durable on return.
    pub fn publish_form(&self, form: &Form) -> Result<DocId> {
        let (id, doc) = build(form)?;
        let mut inner = self.lock();
        match inner.kind_of(&id)? {
            None => inner.insert_new(id, DocKind::Form, doc)?,
            Some(DocKind::Form) => {
                let stored = inner.read(&id, |doc| read_form(doc, &id))?;
                if stored != *form {
                    return Err(conflict(&form.id, &form.version));
                }
            }
            // A v5 id never collides with a v7 submission or a v8 review id.
            Some(other) => {
                return Err(Error::Corrupt {
                    detail: format!("form document id {id} holds a {other:?} document"),
                })
            }
        }
        Ok(id)
    }

    /// Every form version in the store (published here or received by sync), by form id and
    /// then version (see [`Store::latest_form`] for the order). A form document that cannot be
    /// read is left out of the list (it is kept; [`Store::form`] names what is wrong with it).
    /// Cost: one scan of the documents' kinds and a decode of every form document.
    pub fn forms(&self) -> Result<Vec<PublishedForm>> {
        let mut inner = self.lock();
        let ids = documents::ids_of_kind(&inner.conn, DocKind::Form)?;
        let mut forms = Vec::with_capacity(ids.len());
        for id in ids {
            if let Ok(form) = inner.read(&id, |doc| read_form(doc, &id)) {
                forms.push(PublishedForm {
                    form_id: form.id,
                    version: form.version,
                    title: form.title,
                    languages: form.languages,
                    document: id,
                });
            }
        }
        forms.sort_by(|a, b| {
            a.form_id
                .cmp(&b.form_id)
                .then_with(|| compare_versions(&a.version, &b.version))
        });
        Ok(forms)
    }

    /// Version `version` of form `form_id`. [`Error::FormNotFound`] if the store lacks it;
    /// [`Error::InvalidForm`] if its document does not hold a readable form;
    /// [`Error::FormVersionConflict`] if something other than Minga wrote rival definitions
    /// into it concurrently.
    /// Cost: one primary-key lookup and a decode of the document (kept in the store's cache).
    pub fn form(&self, form_id: &str, version: &str) -> Result<Form> {
        let id = form_document_id(form_id, version);
        let mut inner = self.lock();
        if inner.kind_of(&id)? != Some(DocKind::Form) {
            return Err(Error::FormNotFound {
                form_id: form_id.into(),
                version: Some(version.into()),
            });
        }
        inner.read(&id, |doc| read_form(doc, &id))
    }

    /// The newest version of form `form_id` in the store. Versions compare as XLSForm versions
    /// are written: runs of digits by their number, everything else as text, so `2026031402`
    /// follows `2026031401` and `1.10` follows `1.9`. Cost: as [`Store::forms`].
    pub fn latest_form(&self, form_id: &str) -> Result<Form> {
        let newest = self
            .forms()?
            .into_iter()
            .rfind(|form| form.form_id == form_id)
            .ok_or_else(|| Error::FormNotFound {
                form_id: form_id.into(),
                version: None,
            })?;
        self.form(form_id, &newest.version)
    }
}

/// Two versions in XLSForm's usual sense: digit runs compare as numbers, the rest as text.
fn compare_versions(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (version_parts(a), version_parts(b));
    loop {
        match (a.next(), b.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => match compare_parts(x, y) {
                Ordering::Equal => {}
                unequal => return unequal,
            },
        }
    }
}

/// `1.10-rc` as `1`, `.`, `10`, `-rc`: alternating runs of digits and of anything else.
fn version_parts(version: &str) -> impl Iterator<Item = &str> {
    let mut rest = version;
    std::iter::from_fn(move || {
        let first = rest.chars().next()?;
        let digits = first.is_ascii_digit();
        let end = rest
            .find(|c: char| c.is_ascii_digit() != digits)
            .unwrap_or(rest.len());
        let (part, tail) = rest.split_at(end);
        rest = tail;
        Some(part)
    })
}

fn compare_parts(a: &str, b: &str) -> Ordering {
    let is_number = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if is_number(a) && is_number(b) {
        let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
        a.len().cmp(&b.len()).then_with(|| a.cmp(b))
    } else {
        a.cmp(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::{form_document, read_form_document};
    use crate::test_support::plain_store;
    use crate::test_support::stored_heads;
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ROOT};
    use minga_forms::{Item, Question, QuestionType};
    use std::collections::BTreeMap;

    fn store(dir: &tempfile::TempDir, name: &str) -> Store {
        plain_store(dir, name, name, "sara")
    }

    fn form(id: &str, version: &str, question: &str) -> Form {
        Form {
            id: id.into(),
            version: version.into(),
            title: LocalizedText(BTreeMap::from([("default".into(), format!("{id} form"))])),
            default_language: None,
            languages: vec!["default".into()],
            instance_name: None,
            survey: vec![Item::Question(Question::new(question, QuestionType::Text))],
            choices: BTreeMap::new(),
            media: vec![],
        }
    }

    #[test]
    fn a_published_form_reads_back_and_republishing_it_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir, "a.db");
        let published = form("visit", "1", "place");
        let id = store.publish_form(&published).unwrap();
        assert_eq!(id, form_document_id("visit", "1"));
        assert_eq!(store.form("visit", "1").unwrap(), published);
        let seq = store.last_seq().unwrap();
        assert_eq!(store.publish_form(&published).unwrap(), id);
        assert_eq!(store.last_seq().unwrap(), seq, "nothing was written again");
    }

    #[test]
    fn another_definition_of_a_published_version_is_refused_and_the_first_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir, "a.db");
        let first = form("visit", "1", "place");
        store.publish_form(&first).unwrap();
        let changed = form("visit", "1", "town");
        assert!(matches!(
            store.publish_form(&changed),
            Err(Error::FormVersionConflict { form_id, version }) if form_id == "visit" && version == "1"
        ));
        assert_eq!(store.form("visit", "1").unwrap(), first);
    }

    #[test]
    fn two_devices_publishing_one_version_write_the_same_document() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (store(&dir, "a.db"), store(&dir, "b.db"));
        let published = form("visit", "2", "place");
        let id = a.publish_form(&published).unwrap();
        b.publish_form(&published).unwrap();
        assert_eq!(stored_heads(&a, &id), stored_heads(&b, &id));
        let (bytes_id, bytes) = form_document(&published).unwrap();
        assert_eq!(bytes_id, id);
        assert_eq!(read_form_document(&id, &bytes).unwrap(), published);
    }

    #[test]
    fn a_rival_definition_from_another_store_is_refused_and_ours_kept() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (store(&dir, "a.db"), store(&dir, "b.db"));
        let ours = form("visit", "1", "place");
        let id = a.publish_form(&ours).unwrap();
        b.publish_form(&form("visit", "1", "town")).unwrap();
        let received = crate::api::changes::ReceivedChanges {
            id,
            kind: DocKind::Form,
            bytes: b.document_bytes(&id).unwrap(),
            signatures: Vec::new(),
        };
        assert!(matches!(
            a.apply_changes(&[received]),
            Err(Error::InvalidDocument(_))
        ));
        assert_eq!(a.form("visit", "1").unwrap(), ours);
    }

    #[test]
    fn concurrent_definitions_written_by_another_tool_read_as_a_conflict() {
        let (id, bytes) = form_document(&form("visit", "1", "place")).unwrap();
        let mut base = AutoCommit::load(&bytes).unwrap();
        let mut other = base.fork();
        for (doc, question) in [(&mut base, "town"), (&mut other, "parish")] {
            let json = serde_json::to_string(&form("visit", "1", question)).unwrap();
            doc.put(ROOT, "definition", json).unwrap();
            doc.commit();
        }
        base.merge(&mut other).unwrap();
        assert!(matches!(
            read_form_document(&id, &base.save()),
            Err(Error::FormVersionConflict { .. })
        ));
    }

    #[test]
    fn forms_list_by_id_then_version_and_the_latest_is_the_highest_version() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir, "a.db");
        for (id, version) in [("visit", "1.10"), ("audit", "3"), ("visit", "1.9")] {
            store.publish_form(&form(id, version, "q")).unwrap();
        }
        let listed: Vec<(String, String)> = store
            .forms()
            .unwrap()
            .into_iter()
            .map(|f| (f.form_id, f.version))
            .collect();
        let pairs = [("audit", "3"), ("visit", "1.9"), ("visit", "1.10")];
        assert_eq!(listed, pairs.map(|(id, v)| (id.to_string(), v.to_string())));
        assert_eq!(store.latest_form("visit").unwrap().version, "1.10");
        assert!(matches!(
            store.latest_form("nothing"),
            Err(Error::FormNotFound { version: None, .. })
        ));
        assert!(matches!(
            store.form("visit", "2"),
            Err(Error::FormNotFound {
                version: Some(_),
                ..
            })
        ));
    }

    #[test]
    fn a_document_whose_form_is_not_the_version_its_id_names_is_invalid() {
        let (_, bytes) = form_document(&form("visit", "1", "q")).unwrap();
        let other = form_document_id("visit", "2");
        assert!(matches!(
            read_form_document(&other, &bytes),
            Err(Error::InvalidForm { .. })
        ));
        assert!(matches!(
            form_document(&form("visit", " ", "q")),
            Err(Error::InvalidArgument(_))
        ));
    }

    #[test]
    fn versions_compare_digit_runs_as_numbers() {
        let ordered = [
            "1",
            "1.2",
            "1.9",
            "1.10",
            "2",
            "10",
            "2026031401",
            "2026031402",
        ];
        for pair in ordered.windows(2) {
            assert_eq!(
                compare_versions(pair[0], pair[1]),
                Ordering::Less,
                "{pair:?}"
            );
        }
        assert_eq!(compare_versions("007", "7"), Ordering::Equal);
        assert_eq!(compare_versions("2026-03", "2026-04"), Ordering::Less);
        assert_eq!(compare_versions("v1", "v1-rc"), Ordering::Less);
    }
}
