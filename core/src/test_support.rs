//! What the unit tests of this crate share: opening a throwaway store, a submission in
//! conflict, a form with a filtered choice, and a submission of it that arrived invalid.

use crate::document::{AnswerPath, DeviceIdentity, DocId, FormRef};
use crate::store::{Encryption, Store};
use automerge::ChangeHash;
use minga_forms::{Form, Value};
use minga_sync::DocumentStore;

/// An unencrypted store in the file `file` of `dir`, written by `device` for `user`.
pub(crate) fn plain_store(dir: &tempfile::TempDir, file: &str, device: &str, user: &str) -> Store {
    Store::open(
        dir.path().join(file),
        Encryption::PlainFile,
        DeviceIdentity::new(device, user),
    )
    .expect("a new store opens in a fresh temporary folder")
}

/// A new submission of `store` whose answer `q` holds two concurrent values: one written in
/// `store`, one in a copy that another device (a store `other.db` in `dir`) edited at the same
/// time, merged back.
pub(crate) fn conflicted_submission(dir: &tempfile::TempDir, store: &Store) -> DocId {
    let id = store
        .create_submission(&FormRef::new("dialogue", "1"))
        .unwrap();
    let other = plain_store(dir, "other.db", "d-other", "luis");
    other
        .import_submission(&store.export_submission(&id).unwrap())
        .unwrap();
    let q = AnswerPath::new("q");
    store.set_answer(&id, &q, &Value::Integer(1)).unwrap();
    other.set_answer(&id, &q, &Value::Integer(2)).unwrap();
    store
        .import_submission(&other.export_submission(&id).unwrap())
        .unwrap();
    id
}

/// The heads of document `id` of `store`, as sync reads them from its row.
pub(crate) fn stored_heads(store: &Store, id: &DocId) -> Vec<ChangeHash> {
    let (_kind, heads) = store
        .doc_heads(&(*id).into())
        .expect("the store reads")
        .expect("the document is stored");
    heads
}

/// Form `visit` version 1: an age (required, under 120), a province and a canton filtered by
/// it, and the `end` of the interview.
pub(crate) fn visit_form() -> Form {
    serde_json::from_value(serde_json::json!({
        "id": "visit", "version": "1", "title": {"default": "Visit"},
        "default_language": null, "languages": [], "instance_name": null,
        "survey": [
            {"kind": "question", "name": "end", "type": {"base": "end"}},
            {"kind": "question", "name": "age", "type": {"base": "integer"},
             "required": "true()", "constraint": ". < 120"},
            {"kind": "question", "name": "province",
             "type": {"base": "select_one", "list": "provinces"}},
            {"kind": "question", "name": "canton",
             "type": {"base": "select_one", "list": "cantons"},
             "choice_filter": "province = ${province}"},
        ],
        "choices": {
            "provinces": [{"name": "esmeraldas"}, {"name": "guayas"}],
            "cantons": [
                {"name": "quininde", "extra": {"province": "esmeraldas"}},
                {"name": "duran", "extra": {"province": "guayas"}},
            ],
        },
    }))
    .expect("the form is well formed")
}

/// Answers that break [`visit_form`]: a question it lacks, text in the age, and a canton of
/// another province.
pub(crate) fn wrong_visit_answers() -> Vec<(&'static str, Value)> {
    vec![
        ("colour", Value::Text("red".into())),
        ("age", Value::Text("ten".into())),
        ("province", Value::Choice("esmeraldas".into())),
        ("canton", Value::Choice("duran".into())),
    ]
}

/// A submission of [`visit_form`] holding [`wrong_visit_answers`], marked complete, made in a
/// store (`elsewhere.db` in `dir`) that lacks the form, so nothing checked it as typed, and
/// imported into `store` as it would arrive.
pub(crate) fn arrived_invalid(dir: &tempfile::TempDir, store: &Store) -> DocId {
    let elsewhere = plain_store(dir, "elsewhere.db", "elsewhere", "luis");
    let id = elsewhere
        .create_submission(&FormRef::new("visit", "1"))
        .unwrap();
    for (name, value) in wrong_visit_answers() {
        elsewhere
            .set_answer(&id, &AnswerPath::new(name), &value)
            .unwrap();
    }
    elsewhere
        .set_status(&id, crate::document::Status::Complete)
        .unwrap();
    store
        .import_submission(&elsewhere.export_submission(&id).unwrap())
        .unwrap();
    id
}
