//! Filling a stored submission: a form session that writes each step to the store by itself,
//! the app's answer together with what the form's logic writes (defaults, the instances a
//! `repeat_count` asks for), as one change per step, so that an app needs no code of its own
//! to follow defaults and counted repeats.

use crate::error::{MingaError, Result};
use crate::form::{Context, Form};
use crate::records::doc_id;
use crate::session::{answer_path, FormSession};
use crate::store::Store;
use minga_core as core;
use minga_forms::eval::{self, ItemPath, SessionEdit};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;

/// The submission a session writes to, and how to write there.
pub(crate) struct StoredSubmission {
    store: Arc<Store>,
    id: core::DocId,
    form: Arc<eval::CompiledForm>,
    /// Serialises the steps' writes, so that the store receives them in the session's order
    /// while the session itself stays readable (a change observer may read it).
    writing: Mutex<()>,
    /// A write failed and the session could not be read back from the store: it no longer
    /// shows what is stored.
    lost: AtomicBool,
    /// The thread running a step: a step started from inside one (a change observer runs on
    /// the writing thread) is refused instead of waiting for itself forever.
    stepping: Mutex<Option<ThreadId>>,
}

/// Marks the current thread as running a step of a session until dropped.
struct Stepping<'a>(&'a Mutex<Option<ThreadId>>);

impl<'a> Stepping<'a> {
    /// Refuses a step on a thread that is already running one of this session's steps.
    fn check(slot: &Mutex<Option<ThreadId>>) -> Result<()> {
        let running = *slot.lock().unwrap_or_else(|p| p.into_inner());
        if running == Some(std::thread::current().id()) {
            return Err(MingaError::invalid_argument(
                "a step of this form session was started from inside one of its own steps \
                 (a change observer runs on the writing thread): take it after the observer returns",
            ));
        }
        Ok(())
    }

    fn mark(slot: &'a Mutex<Option<ThreadId>>) -> Self {
        *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(std::thread::current().id());
        Self(slot)
    }
}

impl Drop for Stepping<'_> {
    fn drop(&mut self) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// One step of the app's, as the store makes it: before the session's own edits.
pub(crate) enum Step {
    Edit(SessionEdit),
    Clear(ItemPath),
}

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
        let (submission, answers) = self.stored_submission(&id, &form)?;
        if !answers.fields.is_empty() {
            return Err(MingaError::Conflict {
                reason: format!("submission {id} was started already: open it instead"),
            });
        }
        let (session, edits) = eval::FormSession::start(form.compiled.clone(), context.into());
        submission.write(None, &edits)?;
        Ok(FormSession::stored(session, submission))
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
        let (submission, answers) = self.stored_submission(&id, &form)?;
        let mut session = eval::FormSession::new(form.compiled.clone(), answers, context.into());
        let delta = session.follow_repeat_counts();
        submission.write(None, &delta.edits)?;
        Ok(FormSession::stored(session, submission))
    }
}

impl Store {
    /// The submission `id`, checked to be one of `form`'s version, and its answers.
    fn stored_submission(
        self: &Arc<Self>,
        id: &str,
        form: &Form,
    ) -> Result<(StoredSubmission, minga_forms::Answers)> {
        let doc = doc_id(id)?;
        let stored = self.call(|store| Ok(store.submission(&doc)?))?;
        let filled = stored.meta.form;
        let form_ref = form.form_ref();
        if (&filled.form_id, &filled.form_version) != (&form_ref.form_id, &form_ref.form_version) {
            return Err(MingaError::invalid_argument(format!(
                "submission {id} is of form {} version {}, not {} version {}",
                filled.form_id, filled.form_version, form_ref.form_id, form_ref.form_version
            )));
        }
        let submission = StoredSubmission {
            store: self.clone(),
            id: doc,
            form: form.compiled.clone(),
            writing: Mutex::default(),
            lost: AtomicBool::new(false),
            stepping: Mutex::default(),
        };
        Ok((submission, stored.answers))
    }
}

impl StoredSubmission {
    pub(crate) fn id(&self) -> String {
        self.id.to_string()
    }

    /// Whether the session still shows what is stored.
    pub(crate) fn in_step(&self) -> Result<()> {
        if self.lost.load(Ordering::SeqCst) {
            if self.store.is_closed() {
                return Err(MingaError::Closed);
            }
            return Err(MingaError::Internal {
                reason: "a step could not be stored nor the submission read back: open it again"
                    .into(),
            });
        }
        Ok(())
    }

    /// Runs one step: `change` on the session (under its lock, released before writing),
    /// then the app's `step` and the session's own edits in the store, as one change (two
    /// when an answer is cleared and the logic follows it). If the store refuses, the session
    /// is read back from the store, so that it shows what is stored, and the error returned.
    pub(crate) fn follow<T>(
        &self,
        session: &Mutex<eval::FormSession>,
        change: impl FnOnce(&mut eval::FormSession) -> Result<(T, Step, Vec<SessionEdit>)>,
    ) -> Result<T> {
        Stepping::check(&self.stepping)?;
        let _order = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        let _stepping = Stepping::mark(&self.stepping);
        self.in_step()?;
        let (result, step, edits) = change(&mut *lock(session)?)?;
        let written = self.write(Some(step), &edits);
        if written.is_err() {
            self.read_back(session);
        }
        written.map(|()| result)
    }

    fn write(&self, step: Option<Step>, edits: &[SessionEdit]) -> Result<()> {
        let mut all = Vec::with_capacity(edits.len() + 1);
        let mut cleared = None;
        match step {
            Some(Step::Edit(edit)) => all.push(edit),
            Some(Step::Clear(path)) => cleared = Some(answer_path(&path)),
            None => {}
        }
        all.extend_from_slice(edits);
        self.store.call(|store| {
            if let Some(path) = cleared {
                store.clear_answer(&self.id, &path)?;
            }
            Ok(store.apply_session_edits(&self.id, &all)?)
        })
    }

    fn read_back(&self, session: &Mutex<eval::FormSession>) {
        let answers = self.store.call(|store| Ok(store.answers(&self.id)?));
        match (answers, lock(session)) {
            (Ok(answers), Ok(mut session)) => {
                let context = session.context().clone();
                *session = eval::FormSession::new(self.form.clone(), answers, context);
            }
            _ => self.lost.store(true, Ordering::SeqCst),
        }
    }
}

pub(crate) fn lock(
    session: &Mutex<eval::FormSession>,
) -> Result<std::sync::MutexGuard<'_, eval::FormSession>> {
    session.lock().map_err(|_| MingaError::Internal {
        reason: "the session failed earlier; open a new one".into(),
    })
}

/// A new instance id in the store's format (a UUID v7 as 32 hex digits).
pub(crate) fn new_instance_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::Answer;
    use crate::value::{IsoDateTime, Value};
    use minga_core::AnswerPath;

    /// A count defaulting to 2, a village defaulting to Tumbaco, and a repeat of people
    /// following the count, each with an age defaulting to 30.
    const VISIT: &str = r#"{
        "id": "visit", "version": "1", "title": {"default": "Visit"},
        "default_language": null, "languages": [], "instance_name": null, "choices": {},
        "survey": [
            {"kind": "question", "name": "count", "type": {"base": "integer"}, "default": "2"},
            {"kind": "question", "name": "village", "type": {"base": "text"},
             "default": "Tumbaco"},
            {"kind": "repeat", "name": "people", "repeat_count": "${count}", "children": [
                {"kind": "question", "name": "age", "type": {"base": "integer"},
                 "default": "30"},
                {"kind": "question", "name": "pname", "type": {"base": "text"}}
            ]},
            {"kind": "repeat", "name": "visits", "children": [
                {"kind": "question", "name": "place", "type": {"base": "text"},
                 "default": "casa"}
            ]}
        ]
    }"#;

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
