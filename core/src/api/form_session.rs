//! A form session that stores itself: a `FormSession` tied to a stored submission, writing
//! each step to the store (the app's answer with what the form's logic writes after it:
//! defaults, the instances a `repeat_count` asks for) as one change, so that no app, binding
//! or Rust caller needs code of its own to follow defaults and counted repeats.
//!
//! Four rules keep the session and the store alike:
//! - A start or an open writes what it computes from the answers as stored while it holds the
//!   store's write lock, so two at once (a double tap) add a count's instances once.
//! - Steps are written in the session's order (one writer at a time), after the session's own
//!   lock is released, so that a change observer may read the session while it is told.
//! - A step started from inside one of the same session's steps (a change observer runs on the
//!   writing thread) is refused instead of waiting for itself forever.
//! - If the store refuses a step, the session is read back from the store, so that it never
//!   shows what was not stored; if that fails too, the session refuses every later call.

use crate::api::answer_checks::refusal;
use crate::api::photos::PhotoOptions;
use crate::api::session_edits::{answer_path, clear_answer_in, write_session_edits};
use crate::document::read_answers;
use crate::document::DocId;
use crate::error::{Error, Result};
use crate::store::Store;
use minga_forms::check::{check_answer, question_at};
use minga_forms::eval::{CompiledForm, Context, Delta, FormSession, ItemPath, SessionEdit};
use minga_forms::{Answers, QuestionType, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::ThreadId;

/// A form session over a stored submission: each step changes the session and the store.
/// Share it between threads; its steps are serialised.
pub struct StoredFormSession {
    id: DocId,
    form: Arc<CompiledForm>,
    session: Mutex<FormSession>,
    /// Serialises the steps' writes, so that the store receives them in the session's order
    /// while the session itself stays readable.
    writing: Mutex<()>,
    /// A write failed and the session could not be read back from the store: it no longer
    /// shows what is stored.
    lost: AtomicBool,
    /// The thread running a step, so that a step started from inside it is refused.
    stepping: Mutex<Option<ThreadId>>,
}

/// The app's part of one step, as the store makes it: before the session's own edits.
enum Step {
    Edit(SessionEdit),
    Clear(ItemPath),
}

impl StoredFormSession {
    /// Starts filling the new submission `id` (from `Store::create_submission`, of `form`):
    /// the session fills in the form's defaults and the instances its `repeat_count`s ask for,
    /// and stores them in one change. A submission that already has answers is
    /// [`Error::AlreadyStarted`] (open it instead); one of another form is `InvalidArgument`.
    pub fn start(
        store: &Store,
        id: DocId,
        form: Arc<CompiledForm>,
        context: Context,
    ) -> Result<Self> {
        Self::begin(store, id, form, starting(id, context))
    }

    /// Opens the stored submission `id` (of `form`) to go on filling it: its answers as
    /// stored (no defaults again), with counted repeats brought into line with their counts in
    /// one change if they disagree. Every later step is stored by the session: do not set its
    /// answers in the store as well.
    pub fn open(
        store: &Store,
        id: DocId,
        form: Arc<CompiledForm>,
        context: Context,
    ) -> Result<Self> {
        Self::begin(store, id, form, opening(context))
    }

    /// The session `begin` makes from the stored answers, once the edits it made are stored.
    /// When there are edits, `begin` runs again on the answers as stored under the store's
    /// write lock and its edits are written in the same hold: two starts or opens of one
    /// submission at once (a double tap) then add the counted instances once, not twice.
    /// Cost: `begin` twice when it writes.
    fn begin(store: &Store, id: DocId, form: Arc<CompiledForm>, begin: Box<Begin>) -> Result<Self> {
        let (mut session, edits) = begin(form.clone(), stored_answers(store, &id, &form)?)?;
        if !edits.is_empty() {
            session = store.edit(&id, |doc| {
                let (session, edits) = begin(form.clone(), read_answers(doc))?;
                write_session_edits(doc, &id, &edits)?;
                Ok(session)
            })?;
        }
        Ok(Self {
            id,
            form,
            session: Mutex::new(session),
            writing: Mutex::default(),
            lost: AtomicBool::new(false),
            stepping: Mutex::default(),
        })
    }

    /// The stored submission's id.
    pub fn id(&self) -> DocId {
        self.id
    }

    /// Runs `read` on the session as it stands (what is stored). Cost: taking its lock.
    pub fn read<R>(&self, read: impl FnOnce(&FormSession) -> R) -> Result<R> {
        Ok(read(&*self.lock()?))
    }

    /// Sets (or, with `None`, clears) the answer at `path` in the session and the store, with
    /// what the form's logic writes after it, as one change. The delta's `edits` are the
    /// logic's writes.
    /// An answer that does not fit the form (see [`minga_forms::check::check_answer`]) is
    /// refused with [`Error::InvalidAnswer`] and changes nothing.
    pub fn set(&self, store: &Store, path: &ItemPath, value: Option<Value>) -> Result<Delta> {
        if let Some(value) = &value {
            self.check(path, value)?;
        }
        let step = match &value {
            Some(value) => Step::Edit(SessionEdit::SetAnswer {
                path: path.clone(),
                value: value.clone(),
            }),
            None => Step::Clear(path.clone()),
        };
        self.step(store, step, |session| session.set(path, value))
    }

    /// Stores the photo `content` (JPEG or PNG) as the answer at `path`, an image question:
    /// scaled down to the question's `max-pixels` and, with `strip_location`, without its
    /// metadata ([`Store::add_photo`]), then set as [`StoredFormSession::set`] sets an answer.
    /// A path that is no image question is [`Error::InvalidAnswer`] and nothing is stored.
    /// Cost: as `add_photo`, then as `set`.
    pub fn attach_photo(
        &self,
        store: &Store,
        path: &ItemPath,
        content: &[u8],
        file_name: &str,
        strip_location: bool,
    ) -> Result<Delta> {
        let question = question_at(self.form.form(), path).map_err(refusal)?;
        if !matches!(question.kind, QuestionType::Image) {
            return Err(Error::InvalidAnswer {
                question: path.name.clone(),
                reason: "a photo is the answer of an image question only".into(),
            });
        }
        let options = PhotoOptions {
            max_pixels: question.max_pixels(),
            strip_location,
        };
        let photo = store.add_photo(content, file_name, &options)?;
        self.set(store, path, Some(Value::Attachment(photo)))
    }

    /// Checks `value` against the form and the session's answers. Cost: see
    /// [`minga_forms::check::check_answer`].
    fn check(&self, path: &ItemPath, value: &Value) -> Result<()> {
        let session = self.lock()?;
        check_answer(self.form.form(), session.answers(), path, value).map_err(refusal)
    }

    /// Adds the instance `id` (in the store's format, see [`new_instance_id`]) at the end of
    /// `repeat`, with its defaults, in the session and the store.
    pub fn add_instance(&self, store: &Store, repeat: &ItemPath, id: &str) -> Result<Delta> {
        let step = Step::Edit(SessionEdit::AddInstance {
            repeat: repeat.clone(),
            id: id.to_owned(),
        });
        self.step(store, step, |session| session.add_instance(repeat, id))
    }

    /// Removes the instance `id` of `repeat`, with its answers, from the session and the store.
    pub fn remove_instance(&self, store: &Store, repeat: &ItemPath, id: &str) -> Result<Delta> {
        let step = Step::Edit(SessionEdit::RemoveInstance {
            repeat: repeat.clone(),
            id: id.to_owned(),
        });
        self.step(store, step, |session| session.remove_instance(repeat, id))
    }

    /// Runs one step: `change` on the session (under its lock, released before writing), then
    /// the app's `step` and the session's own edits in the store. If the store refuses, the
    /// session is read back from the store and the store's error returned.
    fn step(
        &self,
        store: &Store,
        step: Step,
        change: impl FnOnce(&mut FormSession) -> Result<Delta, minga_forms::eval::SessionError>,
    ) -> Result<Delta> {
        Stepping::check(&self.stepping)?;
        let _order = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        let _stepping = Stepping::mark(&self.stepping);
        let delta = change(&mut *self.lock()?)?;
        let written = self.write(store, step, &delta.edits);
        if written.is_err() {
            self.read_back(store);
        }
        written.map(|()| delta)
    }

    /// The app's step and the session's edits, in order, as one change.
    fn write(&self, store: &Store, step: Step, edits: &[SessionEdit]) -> Result<()> {
        match step {
            Step::Edit(edit) => {
                let mut all = Vec::with_capacity(edits.len() + 1);
                all.push(edit);
                all.extend_from_slice(edits);
                store.apply_session_edits(&self.id, &all)
            }
            Step::Clear(path) => store.edit(&self.id, |doc| {
                clear_answer_in(doc, &self.id, &answer_path(&path))?;
                write_session_edits(doc, &self.id, edits)
            }),
        }
    }

    fn read_back(&self, store: &Store) {
        match (store.answers(&self.id), self.session.lock()) {
            (Ok(answers), Ok(mut session)) => {
                let context = session.context().clone();
                *session = FormSession::new(self.form.clone(), answers, context);
            }
            _ => self.lost.store(true, Ordering::SeqCst),
        }
    }

    /// The session, unless it no longer shows what is stored.
    fn lock(&self) -> Result<MutexGuard<'_, FormSession>> {
        if self.lost.load(Ordering::SeqCst) {
            return Err(Error::SessionLost {
                reason: "a step could not be stored nor the submission read back: open it again"
                    .into(),
            });
        }
        self.session.lock().map_err(|_| Error::SessionLost {
            reason: "the session failed earlier; open a new one".into(),
        })
    }
}

/// How a session begins from the stored answers: the session and the edits it makes.
type Begin = dyn Fn(Arc<CompiledForm>, Answers) -> Result<(FormSession, Vec<SessionEdit>)>;

/// Beginning a new submission `id`: the form's defaults and counted instances, unless it
/// already has answers.
fn starting(id: DocId, context: Context) -> Box<Begin> {
    Box::new(move |form, answers| {
        if !answers.fields.is_empty() {
            return Err(Error::AlreadyStarted {
                submission: id.to_string(),
            });
        }
        Ok(FormSession::start(form, context.clone()))
    })
}

/// Beginning from a stored submission: its answers, with counted repeats following their
/// counts.
fn opening(context: Context) -> Box<Begin> {
    Box::new(move |form, answers| {
        let mut session = FormSession::new(form, answers, context.clone());
        let delta = session.follow_repeat_counts();
        Ok((session, delta.edits))
    })
}

/// A new repeat instance id in the store's format (a UUID v7 as 32 hex digits), for
/// [`StoredFormSession::add_instance`].
pub fn new_instance_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

/// The answers of submission `id`, checked to be filled against `form`'s id and version.
fn stored_answers(store: &Store, id: &DocId, form: &CompiledForm) -> Result<Answers> {
    let stored = store.submission(id)?;
    let (filled, wanted) = (&stored.meta.form, form.form());
    if (&filled.form_id, &filled.form_version) != (&wanted.id, &wanted.version) {
        return Err(Error::InvalidArgument(format!(
            "submission {id} is of form {} version {}, not {} version {}",
            filled.form_id, filled.form_version, wanted.id, wanted.version
        )));
    }
    Ok(stored.answers)
}

/// Marks the current thread as running a step of one session until dropped.
struct Stepping<'a>(&'a Mutex<Option<ThreadId>>);

impl<'a> Stepping<'a> {
    /// Refuses a step on a thread already running one of this session's steps.
    fn check(slot: &Mutex<Option<ThreadId>>) -> Result<()> {
        let running = *slot.lock().unwrap_or_else(|p| p.into_inner());
        if running == Some(std::thread::current().id()) {
            return Err(Error::InvalidArgument(
                "a step of this form session was started from inside one of its own steps \
                 (a change observer runs on the writing thread): take it after the observer returns"
                    .into(),
            ));
        }
        Ok(())
    }

    /// Marks the thread, once the step holds the write lock.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::{AnswerPath, FormRef};
    use crate::test_support::plain_store;
    use minga_forms::Answer;

    fn visit() -> Arc<CompiledForm> {
        // A count defaulting to 2, a village defaulting to Tumbaco, a repeat of people following
        // the count (each with an age defaulting to 30), and a repeat of visits.
        let json = include_str!("../../tests/data/visit_form.json");
        let form: minga_forms::Form = serde_json::from_str(json).unwrap();
        Arc::new(minga_forms::eval::compile(&form).unwrap())
    }

    fn context() -> Context {
        Context {
            language: None,
            now: chrono::DateTime::parse_from_rfc3339("2026-03-14T09:30:00-05:00").unwrap(),
            device_id: "phone-1".into(),
            user_name: "ana".into(),
        }
    }

    fn started(dir: &tempfile::TempDir) -> (Arc<Store>, DocId, Arc<StoredFormSession>) {
        let store = Arc::new(plain_store(dir, "s.db", "phone-1", "ana"));
        let id = store
            .create_submission(&FormRef::new("visit", "1"))
            .unwrap();
        let session = StoredFormSession::start(&store, id, visit(), context()).unwrap();
        (store, id, Arc::new(session))
    }

    fn people(store: &Store, id: &DocId) -> Vec<minga_forms::RepeatInstance> {
        match store.answers(id).unwrap().fields.remove("people") {
            Some(Answer::Repeat(instances)) => instances,
            other => panic!("{other:?}"),
        }
    }

    fn answers(session: &StoredFormSession) -> Answers {
        session.read(|session| session.answers().clone()).unwrap()
    }

    fn top(name: &str) -> ItemPath {
        ItemPath::top(name)
    }

    #[test]
    fn starting_stores_the_defaults_and_the_counted_instances_in_one_change() {
        let dir = tempfile::tempdir().unwrap();
        let (store, id, session) = started(&dir);
        assert_eq!(store.answers(&id).unwrap(), answers(&session));
        let stored = people(&store, &id);
        assert_eq!(stored.len(), 2);
        assert_eq!(
            stored[0].answers.fields.get("age"),
            Some(&Answer::Value(Value::Integer(30)))
        );
        assert_eq!(
            store.history(&id).unwrap().len(),
            2,
            "creation, then the start"
        );
        assert_eq!(session.id(), id);
    }

    #[test]
    fn each_answer_is_stored_with_what_the_count_changes_in_one_change() {
        let dir = tempfile::tempdir().unwrap();
        let (store, id, session) = started(&dir);
        let before = store.last_seq().unwrap();
        session
            .set(&store, &top("count"), Some(Value::Integer(4)))
            .unwrap();
        assert_eq!(store.last_seq().unwrap(), before + 1, "one change");
        assert_eq!(people(&store, &id).len(), 4);
        session
            .set(&store, &top("count"), Some(Value::Integer(1)))
            .unwrap();
        assert_eq!(people(&store, &id).len(), 1);
        assert_eq!(store.answers(&id).unwrap(), answers(&session));

        session.set(&store, &top("village"), None).unwrap();
        let stored = store.answers(&id).unwrap();
        assert!(
            !stored.fields.contains_key("village"),
            "cleared in the store"
        );
        assert_eq!(stored, answers(&session));
    }

    #[test]
    fn a_new_instance_gets_its_defaults_in_the_store_and_removing_it_removes_it_there() {
        let dir = tempfile::tempdir().unwrap();
        let (store, id, session) = started(&dir);
        let visits = top("visits");
        let added = new_instance_id();
        let delta = session.add_instance(&store, &visits, &added).unwrap();
        assert!(delta.everything);
        assert_eq!(store.answers(&id).unwrap(), answers(&session));
        let counted = session.add_instance(&store, &top("people"), &new_instance_id());
        assert!(
            matches!(counted, Err(Error::FormSession(_))),
            "a counted repeat follows its count"
        );
        session.remove_instance(&store, &visits, &added).unwrap();
        let stored = store.answers(&id).unwrap();
        assert_eq!(stored, answers(&session));
        assert!(!format!("{stored:?}").contains("casa"));
    }

    #[test]
    fn a_reopened_session_shows_what_was_stored_without_defaults_again() {
        let dir = tempfile::tempdir().unwrap();
        let (store, id, session) = started(&dir);
        session.set(&store, &top("village"), None).unwrap();
        let started_again = StoredFormSession::start(&store, id, visit(), context());
        assert!(matches!(started_again, Err(Error::AlreadyStarted { .. })));
        let seq = store.last_seq().unwrap();
        let reopened = StoredFormSession::open(&store, id, visit(), context()).unwrap();
        assert_eq!(answers(&reopened), answers(&session));
        assert_eq!(store.last_seq().unwrap(), seq, "nothing to write");
    }

    /// Begins with `begin`, while another tap begins the same submission with `other` between
    /// this tap's reading of the stored answers and its writing (the double tap's race).
    fn tapped_twice(
        store: &Arc<Store>,
        id: DocId,
        begin: Box<Begin>,
        other: impl Fn() + 'static,
    ) -> Result<StoredFormSession> {
        let tapped = std::cell::Cell::new(false);
        let raced: Box<Begin> = Box::new(move |form, answers| {
            if !tapped.replace(true) {
                other();
            }
            begin(form, answers)
        });
        StoredFormSession::begin(store, id, visit(), raced)
    }

    #[test]
    fn a_double_tap_on_start_stores_the_counted_instances_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(plain_store(&dir, "s.db", "phone-1", "ana"));
        let id = store
            .create_submission(&FormRef::new("visit", "1"))
            .unwrap();
        let other = store.clone();
        let second = tapped_twice(&store, id, starting(id, context()), move || {
            StoredFormSession::start(&other, id, visit(), context()).unwrap();
        });
        assert!(matches!(second, Err(Error::AlreadyStarted { .. })));
        assert_eq!(people(&store, &id).len(), 2, "the count's two, once");
    }

    #[test]
    fn two_opens_at_once_bring_the_counted_instances_into_line_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(plain_store(&dir, "s.db", "phone-1", "ana"));
        let id = store
            .create_submission(&FormRef::new("visit", "1"))
            .unwrap();
        store
            .set_answer(&id, &AnswerPath::new("count"), &Value::Integer(3))
            .unwrap();
        let other = store.clone();
        let second = tapped_twice(&store, id, opening(context()), move || {
            StoredFormSession::open(&other, id, visit(), context()).unwrap();
        })
        .unwrap();
        assert_eq!(people(&store, &id).len(), 3, "three, not six");
        assert_eq!(answers(&second), store.answers(&id).unwrap());
    }

    #[test]
    fn clearing_an_answer_the_logic_follows_is_one_change() {
        let dir = tempfile::tempdir().unwrap();
        let (store, id, session) = started(&dir);
        let before = store.last_seq().unwrap();
        session.set(&store, &top("count"), None).unwrap();
        assert_eq!(store.last_seq().unwrap(), before + 1, "one change");
        let stored = store.answers(&id).unwrap();
        assert!(!stored.fields.contains_key("count"));
        assert_eq!(stored, answers(&session));
    }

    #[test]
    fn another_forms_submission_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _, _) = started(&dir);
        let other = store
            .create_submission(&FormRef::new("other", "1"))
            .unwrap();
        let refused = StoredFormSession::open(&store, other, visit(), context());
        assert!(matches!(refused, Err(Error::InvalidArgument(_))));
    }

    #[test]
    fn a_step_started_from_inside_a_step_is_refused_rather_than_waiting_forever() {
        let dir = tempfile::tempdir().unwrap();
        let (store, id, session) = started(&dir);
        let inner_result: Arc<Mutex<Option<Result<Delta>>>> = Arc::default();
        let (from_observer, result, once) = (session.clone(), inner_result.clone(), store.clone());
        let taken = Mutex::new(Some(once));
        let handle = store.observe(Box::new(move |_| {
            if let Some(store) = taken.lock().unwrap().take() {
                let step = from_observer.set(&store, &top("village"), None);
                *result.lock().unwrap() = Some(step);
            }
        }));
        session
            .set(&store, &top("count"), Some(Value::Integer(3)))
            .unwrap();
        handle.cancel();
        let inner = inner_result.lock().unwrap().take();
        assert!(
            matches!(inner, Some(Err(Error::InvalidArgument(_)))),
            "{inner:?}"
        );
        assert_eq!(people(&store, &id).len(), 3, "the outer step stands");
        session.set(&store, &top("village"), None).unwrap();
    }

    #[test]
    fn a_refused_step_leaves_the_session_showing_what_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let (store, id, session) = started(&dir);
        let visits = top("visits");
        let added = new_instance_id();
        session.add_instance(&store, &visits, &added).unwrap();
        // The store loses the instance behind the session's back (as another call might).
        store
            .remove_repeat_instance(&id, &crate::document::AnswerPath::new("visits"), &added)
            .unwrap();
        let place = ItemPath {
            instances: vec![minga_forms::eval::InstanceStep {
                repeat: "visits".into(),
                id: added,
            }],
            name: "place".into(),
        };
        let refused = session.set(&store, &place, Some(Value::Text("río".into())));
        assert!(
            matches!(refused, Err(Error::NoSuchInstance { .. })),
            "{refused:?}"
        );
        assert_eq!(answers(&session), store.answers(&id).unwrap());
        assert!(session.read(|s| s.item(&place).is_none()).unwrap());
    }
}
