//! Checking what is typed here against the form version a submission was made with, through
//! the forms crate's one checker ([`minga_forms::check`]): an answer to a question the form
//! does not have, of another type, or a choice outside its (filtered) list is refused with
//! [`Error::InvalidAnswer`], and so is completing while answers are missing or constraints
//! broken. What arrives by sync, a bundle or an import never comes here: it is kept as it is,
//! and flagged with its reasons when it breaks its form version (`storage::invalid`).
//!
//! A submission of a form version this store does not hold cannot be checked; its answers are
//! only checked as values ([`minga_forms::Value::check`]), as before.

use crate::document::{self, AnswerPath, DocId};
use crate::error::{Error, Result};
use crate::store::Store;
use minga_forms::check::{self, InvalidAnswer};
use minga_forms::eval::{Context, InstanceStep, ItemPath};
use minga_forms::{AnswerKeys, Answers, Form, Item, QuestionType, Value};

impl Store {
    /// Refuses `value` at `path` of submission `id` unless it fits the submission's form
    /// version. Cost: reading the form (cached); for a question with a `choice_filter`, reading
    /// the answers, compiling the form and evaluating them once.
    pub(crate) fn check_answer(&self, id: &DocId, path: &AnswerPath, value: &Value) -> Result<()> {
        let Some(form) = self.form_of(id)? else {
            return Ok(());
        };
        let item = item_path(path);
        let answers = if check::needs_answers(&form, &item) {
            self.answers(id)?
        } else {
            Answers::default()
        };
        check::check_answer(&form, &answers, &item, value).map_err(refusal)
    }

    /// Refuses to complete submission `id` while anything blocks it: one `InvalidAnswer`
    /// naming every blocking question and why. Returns the keys of the form's `end` questions
    /// outside repeats, which completing stamps (as ODK does). Cost: reading the answers,
    /// compiling the form and evaluating them once.
    pub(crate) fn check_completion(&self, id: &DocId) -> Result<Vec<String>> {
        let Some(form) = self.form_of(id)? else {
            return Ok(Vec::new());
        };
        let identity = self.identity();
        let context = Context {
            language: None,
            now: chrono::Local::now().fixed_offset(),
            device_id: identity.device_id.clone(),
            user_name: identity.user_name.clone(),
        };
        let blockers = check::completion_blockers(&form, &self.answers(id)?, context);
        if blockers.is_empty() {
            return Ok(end_keys(&form));
        }
        let questions: Vec<&str> = blockers.iter().map(|b| b.question.as_str()).collect();
        let reasons: Vec<String> = blockers.iter().map(ToString::to_string).collect();
        Err(Error::InvalidAnswer {
            question: questions.join(", "),
            reason: format!("cannot be completed: {}", reasons.join("; ")),
        })
    }

    /// The form version submission `id` was made with, or `None` if this store lacks it.
    /// Cost: reading the submission's meta and the form (both cached once read).
    fn form_of(&self, id: &DocId) -> Result<Option<Form>> {
        let meta = self.lock().read(id, |doc| Ok(document::read_meta(doc)))?;
        // A submission without a readable meta has no form to check against.
        let Some(meta) = meta else { return Ok(None) };
        match self.form(&meta.form.form_id, &meta.form.form_version) {
            Ok(form) => Ok(Some(form)),
            Err(Error::FormNotFound { .. }) => Ok(None),
            Err(other) => Err(other),
        }
    }
}

/// The answer keys of the form's `end` questions outside repeats.
fn end_keys(form: &Form) -> Vec<String> {
    fn walk(items: &[Item], keys: &AnswerKeys, parents: &mut Vec<String>, found: &mut Vec<String>) {
        for item in items {
            match item {
                Item::Question(q) if q.kind == QuestionType::End => {
                    let names: Vec<&str> = parents.iter().map(String::as_str).collect();
                    found.push(keys.key(&names, &q.name));
                }
                Item::Group(group) => {
                    parents.push(group.name.clone());
                    walk(&group.children, keys, parents, found);
                    parents.pop();
                }
                _ => {}
            }
        }
    }
    let mut found = Vec::new();
    walk(
        &form.survey,
        &AnswerKeys::of(form),
        &mut Vec::new(),
        &mut found,
    );
    found
}

/// The engine's path for a store's path (the inverse of `session_edits::answer_path`).
pub(crate) fn item_path(path: &AnswerPath) -> ItemPath {
    ItemPath {
        instances: path
            .instances
            .iter()
            .map(|step| InstanceStep {
                repeat: step.repeat.clone(),
                id: step.instance_id.clone(),
            })
            .collect(),
        name: path.name.clone(),
    }
}

pub(crate) fn refusal(invalid: InvalidAnswer) -> Error {
    Error::InvalidAnswer {
        question: invalid.question,
        reason: invalid.reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::form_session::StoredFormSession;
    use crate::document::{FormRef, Status};
    use crate::storage::submissions::SubmissionFilter;
    use crate::test_support::{arrived_invalid, plain_store, visit_form, wrong_visit_answers};
    use std::sync::Arc;

    fn with_form(dir: &tempfile::TempDir, file: &str) -> (Store, DocId) {
        let store = plain_store(dir, file, file, "ana");
        store.publish_form(&visit_form()).unwrap();
        let id = store
            .create_submission(&FormRef::new("visit", "1"))
            .unwrap();
        (store, id)
    }

    fn refused_on(result: Result<()>, wanted: &str, because: &str) {
        match result {
            Err(Error::InvalidAnswer { question, reason }) => {
                assert_eq!(question, wanted);
                assert!(reason.contains(because), "{reason}");
            }
            other => panic!("expected InvalidAnswer on {wanted}, got {other:?}"),
        }
    }

    fn at(name: &str) -> AnswerPath {
        AnswerPath::new(name)
    }

    #[test]
    fn an_answer_to_a_question_the_form_lacks_is_refused_and_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let (store, id) = with_form(&dir, "a.db");
        let before = store.export_submission(&id).unwrap();
        let typed = store.set_answer(&id, &at("colour"), &Value::Text("red".into()));
        refused_on(typed, "colour", "has no question colour");
        assert_eq!(store.export_submission(&id).unwrap(), before);
    }

    #[test]
    fn text_in_an_integer_question_is_refused_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let (store, id) = with_form(&dir, "a.db");
        let typed = store.set_answer(&id, &at("age"), &Value::Text("ten".into()));
        refused_on(typed, "age", "integer question");
        store
            .set_answer(&id, &at("age"), &Value::Integer(10))
            .unwrap();
    }

    #[test]
    fn a_canton_of_another_province_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (store, id) = with_form(&dir, "a.db");
        let esmeraldas = Value::Choice("esmeraldas".into());
        store.set_answer(&id, &at("province"), &esmeraldas).unwrap();
        let duran = store.set_answer(&id, &at("canton"), &Value::Choice("duran".into()));
        refused_on(duran, "canton", "not among the choices its filter leaves");
        let outside = store.set_answer(&id, &at("province"), &Value::Choice("lima".into()));
        refused_on(outside, "province", "not a choice of the list provinces");
        let quininde = Value::Choice("quininde".into());
        store.set_answer(&id, &at("canton"), &quininde).unwrap();
    }

    #[test]
    fn completing_with_a_required_answer_missing_or_a_constraint_broken_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (store, id) = with_form(&dir, "a.db");
        let missing = store.set_status(&id, Status::Complete);
        refused_on(missing, "age", "required");
        store
            .set_answer(&id, &at("age"), &Value::Integer(130))
            .unwrap();
        refused_on(store.set_status(&id, Status::Complete), "age", "constraint");
        assert_eq!(store.submission(&id).unwrap().status, Status::Draft);
        store
            .set_answer(&id, &at("age"), &Value::Integer(30))
            .unwrap();
        store.set_status(&id, Status::Complete).unwrap();
        let completed = store.submission(&id).unwrap();
        assert_eq!(completed.status, Status::Complete);
        assert!(
            matches!(completed.answers.value("end"), Some(Value::DateTime(_))),
            "completing stamps end: {:?}",
            completed.answers
        );
    }

    #[test]
    fn a_stored_form_session_refuses_what_does_not_fit_the_form() {
        let dir = tempfile::tempdir().unwrap();
        let (store, id) = with_form(&dir, "a.db");
        let compiled = Arc::new(minga_forms::eval::compile(&visit_form()).unwrap());
        let context = Context {
            language: None,
            now: chrono::Utc::now().fixed_offset(),
            device_id: "a.db".into(),
            user_name: "ana".into(),
        };
        let session = StoredFormSession::start(&store, id, compiled, context).unwrap();
        let typed = session
            .set(
                &store,
                &ItemPath::top("age"),
                Some(Value::Text("ten".into())),
            )
            .map(|_| ());
        refused_on(typed, "age", "integer question");
        assert!(store.answers(&id).unwrap().fields.is_empty());
    }

    /// The reasons a store gives for submission `id`, as `question: reason` lines.
    fn reasons(store: &Store, id: &DocId) -> Vec<String> {
        let found = store.invalid_reasons(id).unwrap();
        found.iter().map(ToString::to_string).collect()
    }

    fn flagged(store: &Store) -> Vec<DocId> {
        let only = SubmissionFilter {
            invalid: Some(true),
            ..Default::default()
        };
        let page = store.list_submissions(&only, None, 10).unwrap();
        page.items.iter().map(|row| row.id).collect()
    }

    #[test]
    fn the_same_answers_arriving_are_kept_and_flagged_with_their_reasons() {
        let dir = tempfile::tempdir().unwrap();
        let (here, typed_here) = with_form(&dir, "here.db");
        let id = arrived_invalid(&dir, &here);
        let kept = here.submission(&id).unwrap();
        for (name, value) in &wrong_visit_answers() {
            assert_eq!(kept.answers.value(name), Some(value), "{name}");
        }
        assert_eq!(kept.status, Status::Complete);
        let found = reasons(&here, &id);
        for wanted in [
            "age: a integer question cannot hold",
            "canton: duran is not among the choices its filter leaves",
            "colour: form visit version 1 has no question colour",
        ] {
            assert!(
                found.iter().any(|r| r.starts_with(wanted)),
                "{wanted} in {found:?}"
            );
        }
        assert_eq!(flagged(&here), vec![id]);
        let all = here
            .list_submissions(&Default::default(), None, 10)
            .unwrap();
        let invalid_of = |wanted| all.items.iter().find(|r| r.id == wanted).unwrap().invalid;
        assert!(invalid_of(id));
        assert!(
            !invalid_of(typed_here),
            "what is typed here was checked as typed"
        );
        assert!(here.invalid_reasons(&typed_here).unwrap().is_empty());
    }

    #[test]
    fn fixing_what_arrived_invalid_clears_its_flag_here_and_where_the_fix_arrives() {
        let dir = tempfile::tempdir().unwrap();
        let (here, _) = with_form(&dir, "here.db");
        let id = arrived_invalid(&dir, &here);
        let (supervisor, _) = with_form(&dir, "supervisor.db");
        supervisor
            .import_submission(&here.export_submission(&id).unwrap())
            .unwrap();
        here.set_answer(&id, &at("age"), &Value::Integer(30))
            .unwrap();
        let left = reasons(&here, &id);
        assert!(left.iter().all(|r| !r.starts_with("age")), "{left:?}");
        assert!(!left.is_empty(), "the rest is still wrong");
        here.clear_answer(&id, &at("colour")).unwrap();
        here.set_answer(&id, &at("canton"), &Value::Choice("quininde".into()))
            .unwrap();
        assert!(
            reasons(&here, &id).is_empty(),
            "fixed: {:?}",
            reasons(&here, &id)
        );
        assert!(flagged(&here).is_empty());
        assert_eq!(flagged(&supervisor), vec![id]);
        supervisor
            .import_submission(&here.export_submission(&id).unwrap())
            .unwrap();
        assert!(flagged(&supervisor).is_empty(), "the fix arrived");
    }

    #[test]
    fn a_submission_that_arrived_before_its_form_is_flagged_when_the_form_arrives() {
        let dir = tempfile::tempdir().unwrap();
        let here = plain_store(&dir, "here.db", "here", "ana");
        let id = arrived_invalid(&dir, &here);
        assert!(flagged(&here).is_empty(), "no form to check against yet");
        here.publish_form(&visit_form()).unwrap();
        assert_eq!(flagged(&here), vec![id]);
        assert!(!reasons(&here, &id).is_empty());
    }
}
