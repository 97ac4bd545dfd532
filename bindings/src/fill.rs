//! Filling a stored submission: the bindings' mirror of the core's `StoredFormSession`, a form
//! session that writes each step to the store by itself (the app's answer with what the form's
//! logic writes: defaults, the instances a `repeat_count` asks for), as one change per step.
//! The write ordering, the guard against a step started inside a step and the read-back after
//! a refused write are the core's; here only the store's closed check is added.

use crate::error::Result;
use crate::form::{Context, Form};
use crate::records::doc_id;
use crate::session::FormSession;
use crate::store::Store;
use minga_core as core;
use minga_forms::eval;
use std::sync::Arc;

#[uniffi::export]
impl Store {
    /// Starts filling the new submission `id` (from `create_submission`, of `form`): the
    /// session fills in the form's defaults and the instances its `repeat_count`s ask for,
    /// and stores them in one change. Every later step on the session is stored by the session
    /// itself. A submission that already has answers is `Conflict` (use `open_form_session`).
    pub fn start_form_session(
        self: Arc<Self>,
        id: String,
        form: Arc<Form>,
        context: Context,
    ) -> Result<Arc<FormSession>> {
        self.stored_session(&id, &form, context, core::StoredFormSession::start)
    }

    /// Opens the stored submission `id` (of `form`) to go on filling it: its answers as
    /// stored (no defaults again), with counted repeats brought into line with their counts
    /// in one change if they disagree. Every step on the session is stored by the session
    /// itself: do not set its answers in the store as well.
    pub fn open_form_session(
        self: Arc<Self>,
        id: String,
        form: Arc<Form>,
        context: Context,
    ) -> Result<Arc<FormSession>> {
        self.stored_session(&id, &form, context, core::StoredFormSession::open)
    }
}

/// How the core ties a session to a stored submission: `StoredFormSession::start` or `open`.
type Tie = fn(
    &core::Store,
    core::DocId,
    Arc<eval::CompiledForm>,
    eval::Context,
) -> core::Result<core::StoredFormSession>;

impl Store {
    /// A session of `form` over the stored submission `id`, tied to it by `tie`.
    fn stored_session(
        self: Arc<Self>,
        id: &str,
        form: &Form,
        context: Context,
        tie: Tie,
    ) -> Result<Arc<FormSession>> {
        let doc = doc_id(id)?;
        let compiled = form.compiled.clone();
        let session = self.call(|store| Ok(tie(store, doc, compiled, context.into())?))?;
        Ok(FormSession::stored(self, session))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::MingaError;
    use crate::records::Answer;
    use crate::value::{IsoDateTime, Value};
    use minga_core::AnswerPath;
    use std::sync::Mutex;

    /// A count defaulting to 2, a village defaulting to Tumbaco, and a repeat of people
    /// following the count, each with an age defaulting to 30.
    const VISIT: &str = include_str!("../../core/tests/data/visit_form.json");

    fn context() -> Context {
        Context {
            language: None,
            now: IsoDateTime(
                chrono::DateTime::parse_from_rfc3339("2026-03-14T09:30:00-05:00").unwrap(),
            ),
            device_id: "phone-1".into(),
            user_name: "ana".into(),
        }
    }

    fn started(dir: &tempfile::TempDir) -> (Arc<Store>, String, Arc<FormSession>) {
        let path = dir.path().join("s.minga").display().to_string();
        let store = Store::open_unencrypted(path, "phone-1".into(), "ana".into()).unwrap();
        let form = crate::form::form_from_json(VISIT.into()).unwrap();
        let id = store.create_submission(form.form_ref()).unwrap();
        let session = store
            .clone()
            .start_form_session(id.clone(), form, context())
            .unwrap();
        (store, id, session)
    }

    fn people(store: &Store, id: &str) -> Vec<crate::records::RepeatInstance> {
        match store.answers(id.into()).unwrap().fields.remove("people") {
            Some(Answer::Repeat { instances }) => instances,
            other => panic!("{other:?}"),
        }
    }

    fn count(value: i64) -> Option<Value> {
        Some(Value::Integer { value })
    }

    #[test]
    fn starting_stores_the_defaults_and_the_counted_instances_in_one_change() {
        let dir = tempfile::tempdir().unwrap();
        let (store, id, session) = started(&dir);
        assert_eq!(
            store.answers(id.clone()).unwrap(),
            session.answers().unwrap()
        );
        let stored = people(&store, &id);
        assert_eq!(stored.len(), 2);
        let age = stored[0].answers.fields.get("age");
        assert_eq!(
            age,
            Some(&Answer::Value {
                value: Value::Integer { value: 30 }
            })
        );
        assert_eq!(
            store.history(id.clone()).unwrap().len(),
            2,
            "creation, then the start"
        );
        assert_eq!(session.submission_id(), Some(id));
    }

    #[test]
    fn each_answer_is_stored_with_what_the_count_changes_in_one_change() {
        let dir = tempfile::tempdir().unwrap();
        let (store, id, session) = started(&dir);
        let before = store.last_seq().unwrap();
        session.set(AnswerPath::new("count"), count(4)).unwrap();
        assert_eq!(store.last_seq().unwrap(), before + 1, "one change");
        assert_eq!(people(&store, &id).len(), 4);
        session.set(AnswerPath::new("count"), count(1)).unwrap();
        let left = people(&store, &id);
        assert_eq!(left.len(), 1);
        assert_eq!(
            store.answers(id.clone()).unwrap(),
            session.answers().unwrap()
        );

        session.set(AnswerPath::new("village"), None).unwrap();
        let stored = store.answers(id.clone()).unwrap();
        assert!(
            !stored.fields.contains_key("village"),
            "cleared in the store"
        );
        assert_eq!(stored, session.answers().unwrap());
    }

    #[test]
    fn a_new_instance_gets_its_defaults_in_the_store_and_removing_it_removes_it_there() {
        let dir = tempfile::tempdir().unwrap();
        let (store, id, session) = started(&dir);
        let visits = AnswerPath::new("visits");
        let added = session.new_instance(visits.clone()).unwrap();
        assert!(added.delta.everything);
        assert_eq!(
            store.answers(id.clone()).unwrap(),
            session.answers().unwrap()
        );
        let counted = session.new_instance(AnswerPath::new("people"));
        assert!(counted.is_err(), "a counted repeat follows its count");
        session.remove_instance(visits, added.id).unwrap();
        let stored = store.answers(id.clone()).unwrap();
        assert_eq!(stored, session.answers().unwrap());
        assert!(!format!("{stored:?}").contains("casa"));
    }

    #[test]
    fn a_reopened_session_shows_what_was_stored_without_defaults_again() {
        let dir = tempfile::tempdir().unwrap();
        let (store, id, session) = started(&dir);
        session.set(AnswerPath::new("village"), None).unwrap();
        let form = crate::form::form_from_json(VISIT.into()).unwrap();
        let started_again = store
            .clone()
            .start_form_session(id.clone(), form.clone(), context());
        assert!(matches!(started_again, Err(MingaError::Conflict { .. })));
        let seq = store.last_seq().unwrap();
        let reopened = store
            .clone()
            .open_form_session(id.clone(), form, context())
            .unwrap();
        assert_eq!(reopened.answers().unwrap(), session.answers().unwrap());
        assert_eq!(store.last_seq().unwrap(), seq, "nothing to write");
    }

    #[test]
    fn another_forms_submission_and_a_closed_store_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _, session) = started(&dir);
        let other = store
            .create_submission(minga_core::FormRef::new("other", "1"))
            .unwrap();
        let form = crate::form::form_from_json(VISIT.into()).unwrap();
        let refused = store.clone().open_form_session(other, form, context());
        assert!(matches!(refused, Err(MingaError::InvalidArgument { .. })));
        store.close();
        let set = session.set(
            AnswerPath::new("village"),
            Some(Value::Text { text: "x".into() }),
        );
        assert!(matches!(set, Err(MingaError::Closed)), "{set:?}");
        assert!(matches!(session.answers(), Err(MingaError::Closed)));
    }

    /// An observer that answers a change by setting an answer on the session, once.
    struct SetsFromTheObserver {
        session: Mutex<Option<Arc<FormSession>>>,
        result: Mutex<Option<Result<()>>>,
    }

    impl crate::observer::ChangeObserver for SetsFromTheObserver {
        fn on_change(&self, _: crate::observer::ChangeEvent) {
            if let Some(session) = self.session.lock().unwrap().take() {
                let result = session.set(AnswerPath::new("village"), None).map(|_| ());
                *self.result.lock().unwrap() = Some(result);
            }
        }
    }

    #[test]
    fn a_step_started_from_inside_a_step_is_refused_rather_than_waiting_forever() {
        let dir = tempfile::tempdir().unwrap();
        let (store, id, session) = started(&dir);
        let observer = Arc::new(SetsFromTheObserver {
            session: Mutex::new(Some(session.clone())),
            result: Mutex::default(),
        });
        let handle = store.observe(observer.clone()).unwrap();
        session.set(AnswerPath::new("count"), count(3)).unwrap();
        handle.cancel();
        let inner = observer.result.lock().unwrap().take();
        assert!(
            matches!(inner, Some(Err(MingaError::InvalidArgument { .. }))),
            "{inner:?}"
        );
        assert_eq!(people(&store, &id).len(), 3, "the outer step stands");
        session.set(AnswerPath::new("village"), None).unwrap();
    }

    #[test]
    fn a_refused_step_leaves_the_session_showing_what_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let (store, id, session) = started(&dir);
        let visits = AnswerPath::new("visits");
        let added = session.new_instance(visits.clone()).unwrap();
        // The store loses the instance behind the session's back (as another call might).
        store
            .remove_repeat_instance(id.clone(), visits, added.id.clone())
            .unwrap();
        let place = AnswerPath {
            instances: vec![minga_core::InstanceRef {
                repeat: "visits".into(),
                instance_id: added.id,
            }],
            name: "place".into(),
        };
        let refused = session.set(
            place.clone(),
            Some(Value::Text {
                text: "río".into()
            }),
        );
        assert!(
            matches!(refused, Err(MingaError::NotFound { .. })),
            "{refused:?}"
        );
        assert_eq!(session.answers().unwrap(), store.answers(id).unwrap());
        assert!(session.item(place).unwrap().is_none());
    }
}
