//! The contract of flagging on arrival, on every backend: a submission whose answers break
//! its published form version is stored as sent and flagged with its reasons (the forms
//! crate's checker, as on the phone), listed by the "invalid on arrival" filter, cleared when a
//! fix arrives; and an upgraded hub flags what it stored before.

use super::projection::{all, ids, Phone};
use crate::storage::{HubStorage, SubmissionQuery};
use minga_core::{AnswerPath, DocId, Value};
use minga_forms::Form;

/// Form `safety` version 1: a place, a required age and a province.
fn safety_form() -> Form {
    serde_json::from_value(serde_json::json!({
        "id": "safety", "version": "1", "title": {"default": "Safety"},
        "default_language": null, "languages": [], "instance_name": null,
        "survey": [
            {"kind": "question", "name": "place", "type": {"base": "geo_point"}},
            {"kind": "question", "name": "age", "type": {"base": "integer"},
             "required": "true()"},
            {"kind": "question", "name": "province",
             "type": {"base": "select_one", "list": "provinces"}},
        ],
        "choices": {"provinces": [{"name": "imbabura"}, {"name": "pichincha"}]},
    }))
    .unwrap()
}

/// A phone that lacks the form (so nothing checks what it types), and the id of a complete
/// submission of `safety` 1 whose age is text and which answers a question the form lacks.
fn wrongly_filled(phone: &Phone) -> DocId {
    let id = phone.fill("safety", "Rosa");
    let set = |name: &str, value: Value| {
        phone
            .store
            .set_answer(&id, &AnswerPath::new(name), &value)
            .unwrap()
    };
    set("age", Value::Text("ten".into()));
    set("colour", Value::Text("red".into()));
    id
}

fn flagged_only() -> SubmissionQuery {
    SubmissionQuery {
        invalid_only: true,
        ..SubmissionQuery::default()
    }
}

pub fn a_submission_breaking_its_form_is_kept_flagged_and_cleared_by_a_fix(
    storage: &dyn HubStorage,
) {
    storage.publish_form("p", &safety_form()).unwrap();
    let phone = crate::storage::contract::Phone::new("dev", "ana");
    let wrong = wrongly_filled(&phone);
    let fine = phone.fill_answers("safety", "Luis", "imbabura", &[], 30);
    // `fears` is no question of this form: made to fit by clearing it.
    phone
        .store
        .clear_answer(&fine, &AnswerPath::new("fears"))
        .unwrap();
    storage
        .write_documents("p", &[phone.write(&wrong), phone.write(&fine)], None)
        .unwrap();
    let rows = all(storage, SubmissionQuery::default());
    let row_of = |id: &DocId| rows.iter().find(|r| r.id == id.to_string()).unwrap();
    assert!(row_of(&wrong).invalid);
    assert!(
        !row_of(&fine).invalid,
        "{:?}",
        row_of(&fine).invalid_reasons
    );
    let reasons: Vec<(String, String)> = row_of(&wrong)
        .invalid_reasons
        .iter()
        .map(|r| (r.question.clone(), r.reason.clone()))
        .collect();
    let questions: Vec<&str> = reasons.iter().map(|(q, _)| q.as_str()).collect();
    assert_eq!(questions, ["age", "colour"], "{reasons:?}");
    assert!(reasons[0].1.contains("integer question"), "{reasons:?}");
    assert_eq!(ids(&all(storage, flagged_only())), [wrong.to_string()]);

    phone
        .store
        .set_answer(&wrong, &AnswerPath::new("age"), &Value::Integer(41))
        .unwrap();
    phone
        .store
        .clear_answer(&wrong, &AnswerPath::new("colour"))
        .unwrap();
    storage
        .write_documents("p", &[phone.write(&wrong)], None)
        .unwrap();
    assert!(all(storage, flagged_only()).is_empty(), "the fix arrived");
}

/// What an upgrade test stores before taking the database back: the form, and a submission
/// that breaks it. Returns the submission.
pub fn store_flagged(storage: &dyn HubStorage) -> DocId {
    storage.publish_form("p", &safety_form()).unwrap();
    let phone = Phone::new("dev", "ana");
    let wrong = wrongly_filled(&phone);
    storage
        .write_documents("p", &[phone.write(&wrong)], None)
        .unwrap();
    wrong
}

/// After the upgrade: the submission stored before is flagged, with its reasons.
pub fn check_flagged_after_upgrade(storage: &dyn HubStorage, id: &DocId) {
    let rows = all(storage, flagged_only());
    assert_eq!(ids(&rows), [id.to_string()]);
    assert_eq!(
        rows[0].invalid_reasons.len(),
        2,
        "{:?}",
        rows[0].invalid_reasons
    );
}
