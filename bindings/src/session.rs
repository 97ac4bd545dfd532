//! A form evaluation session over one submission's answers: after each answer, what is shown,
//! required, broken and computed. Only what depends on the changed answer is recomputed.
//! A session from `Form::session` evaluates and the store keeps the answers: set each answer in
//! both. A session from `Store::start_form_session` or `open_form_session` is the core's
//! `StoredFormSession`, which stores each step itself (opened in `fill.rs`).

use crate::error::{MingaError, Result};
use crate::guard::guarded;
use crate::records::Answers;
use crate::store::Store;
use crate::value::{IsoDate, IsoDateTime, Value};
use minga_core::{self as core, AnswerPath, InstanceRef};
use minga_forms::eval::{self, SessionError};
use std::sync::{Arc, Mutex, MutexGuard};

/// One submission being filled: wraps the engine's session.
#[derive(uniffi::Object)]
pub struct FormSession {
    kind: Kind,
}

/// Where a session's answers are kept.
enum Kind {
    /// From `Form::session`: the session evaluates, the app stores the answers.
    Unstored(Mutex<eval::FormSession>),
    /// From the store: the core's session stores every step; `store` gives the closed check.
    Stored {
        store: Arc<Store>,
        session: core::StoredFormSession,
    },
}

/// A value as expressions compute it (a calculation's result, an answer as logic sees it).
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum Computed {
    Text { text: String },
    Number { value: f64 },
    Boolean { value: bool },
    Date { date: IsoDate },
    DateTime { datetime: IsoDateTime },
}

/// The state of one question, group or repeat (in one repeat instance).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ItemState {
    /// Shown: its `relevant` holds, and so do its groups'.
    pub relevant: bool,
    pub required: bool,
    /// Shown, required and unanswered.
    pub missing: bool,
    /// The constraint message, in the session's language, while the answer breaks it.
    pub violation: Option<String>,
    pub read_only: bool,
    /// The answer or the calculation's result; empty text while hidden.
    pub value: Computed,
    /// The choices left after `choice_filter`, in list order; none without a filter.
    pub choices: Option<Vec<String>>,
    /// For a repeat with `repeat_count`: how many instances it should have.
    pub repeat_count: Option<u32>,
    /// For an unanswered question with a `default`: the value to fill in.
    pub default: Option<Computed>,
    /// The label to show, in the session's language, every `${name}` in it replaced by that
    /// answer or calculation as it stands; none when the form gives no label.
    #[uniffi(default = None)]
    pub label: Option<String>,
    /// The hint to show, rendered as the label is.
    #[uniffi(default = None)]
    pub hint: Option<String>,
    /// For a select whose choice labels name answers: every choice's label to show, rendered,
    /// in list order; none for plain labels (show the form's).
    #[uniffi(default = None)]
    pub choice_labels: Option<Vec<ChoiceLabel>>,
}

/// A choice's name and the label to show for it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ChoiceLabel {
    pub name: String,
    pub label: String,
}

/// An item's state, with where it is.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ItemStateAt {
    pub path: AnswerPath,
    pub state: ItemState,
}

/// Why a submission cannot be completed yet: a missing answer or a broken constraint, with
/// the form's message in the session's language.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum Issue {
    Missing { path: AnswerPath, message: String },
    Constraint { path: AnswerPath, message: String },
}

/// What one change did: the items whose state changed, or `everything` (repeat instances came
/// or went): read the whole state again.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Delta {
    pub changed: Vec<AnswerPath>,
    pub everything: bool,
}

impl FormSession {
    pub(crate) fn open(
        form: Arc<eval::CompiledForm>,
        answers: Answers,
        context: eval::Context,
    ) -> Result<Arc<Self>> {
        let session = eval::FormSession::new(form, answers.into(), context);
        Ok(Arc::new(Self {
            kind: Kind::Unstored(Mutex::new(session)),
        }))
    }

    pub(crate) fn stored(store: Arc<Store>, session: core::StoredFormSession) -> Arc<Self> {
        Arc::new(Self {
            kind: Kind::Stored { store, session },
        })
    }

    /// Runs `read` on the session as it stands; `Closed` once a stored session's store is.
    fn read<R>(&self, read: impl FnOnce(&eval::FormSession) -> R) -> Result<R> {
        match &self.kind {
            Kind::Unstored(session) => Ok(read(&*lock(session)?)),
            Kind::Stored { store, session } => store.call(|_| Ok(session.read(read)?)),
        }
    }

    /// Runs one step: `unstored` on a session of `Form::session`, `stored` (which stores the
    /// step with the session's own edits) on one opened from the store.
    fn step(
        &self,
        unstored: impl FnOnce(&mut eval::FormSession) -> Result<eval::Delta, SessionError>,
        stored: impl FnOnce(&core::Store, &core::StoredFormSession) -> core::Result<eval::Delta>,
    ) -> Result<Delta> {
        let delta = match &self.kind {
            Kind::Unstored(session) => unstored(&mut *lock(session)?)?,
            Kind::Stored { store, session } => store.call(|core| Ok(stored(core, session)?))?,
        };
        Ok(delta.into())
    }

    fn add(&self, repeat: &eval::ItemPath, id: String) -> Result<Delta> {
        self.step(
            |session| session.add_instance(repeat, &id),
            |store, session| session.add_instance(store, repeat, &id),
        )
    }
}

fn lock(session: &Mutex<eval::FormSession>) -> Result<MutexGuard<'_, eval::FormSession>> {
    session.lock().map_err(|_| MingaError::Internal {
        reason: "the session failed earlier; open a new one".into(),
    })
}

#[uniffi::export]
impl FormSession {
    /// Sets (or, with none, clears) the answer at `path` and re-evaluates what depends on it.
    /// A session opened from the store stores the answer and what the form's logic wrote
    /// after it (defaults, counted instances) in one change.
    pub fn set(&self, path: AnswerPath, value: Option<Value>) -> Result<Delta> {
        guarded(|| {
            let item = item_path(&path);
            let value: Option<minga_forms::Value> = value.map(Into::into);
            let also = value.clone();
            self.step(
                |session| session.set(&item, value),
                |store, session| session.set(store, &item, also),
            )
        })
    }

    /// Adds the instance `id` to a repeat, at its end. For a session from `Form::session`,
    /// `id` is what the store's `add_repeat_instance` returned; a session opened from the
    /// store adds it there too (use `new_instance`, which makes the id).
    pub fn add_instance(&self, repeat: AnswerPath, id: String) -> Result<Delta> {
        guarded(|| self.add(&item_path(&repeat), id))
    }

    /// For a session opened from the store: adds a new instance at the end of a repeat, in
    /// the session and the store, with its defaults, in one change; returns its id.
    pub fn new_instance(&self, repeat: AnswerPath) -> Result<NewInstance> {
        guarded(|| {
            if matches!(self.kind, Kind::Unstored(_)) {
                return Err(MingaError::invalid_argument(
                    "only a session opened from the store adds instances by itself: add one \
                     to the store and pass its id to add_instance",
                ));
            }
            let id = core::new_instance_id();
            let delta = self.add(&item_path(&repeat), id.clone())?;
            Ok(NewInstance { id, delta })
        })
    }

    /// Removes the instance `id` from a repeat (from the store too, for a session opened
    /// from it).
    pub fn remove_instance(&self, repeat: AnswerPath, id: String) -> Result<Delta> {
        guarded(|| {
            let repeat = item_path(&repeat);
            self.step(
                |session| session.remove_instance(&repeat, &id),
                |store, session| session.remove_instance(store, &repeat, &id),
            )
        })
    }

    /// For a session opened from the store: stores the photo `content` (JPEG or PNG) as the
    /// answer at `path`, an image question, scaled down to the question's `max-pixels` and,
    /// with `strip_location`, without its metadata (so without where it was taken), then
    /// sets the answer as `set` does. A path that is no image question is `InvalidAnswer`;
    /// with `strip_location`, a content that is no readable photo is `InvalidArgument`; in
    /// both cases nothing is stored.
    pub fn attach_photo(
        &self,
        path: AnswerPath,
        content: Vec<u8>,
        file_name: String,
        strip_location: bool,
    ) -> Result<Delta> {
        guarded(|| {
            let Kind::Stored { store, session } = &self.kind else {
                return Err(MingaError::invalid_argument(
                    "only a session opened from the store stores photos: add it with the \
                     store's add_photo and set the answer",
                ));
            };
            let item = item_path(&path);
            let delta = store.call(|core| {
                Ok(session.attach_photo(core, &item, &content, &file_name, strip_location)?)
            })?;
            Ok(delta.into())
        })
    }

    /// The stored submission's id, for a session opened from the store.
    pub fn submission_id(&self) -> Option<String> {
        match &self.kind {
            Kind::Unstored(_) => None,
            Kind::Stored { session, .. } => Some(session.id().to_string()),
        }
    }

    /// The state of the item at `path`; none if the form has no such item there.
    pub fn item(&self, path: AnswerPath) -> Result<Option<ItemState>> {
        guarded(|| self.read(|session| session.item(&item_path(&path)).map(Into::into)))
    }

    /// Every item's state, in form order (repeat instances included).
    pub fn state(&self) -> Result<Vec<ItemStateAt>> {
        guarded(|| {
            self.read(|session| {
                let all = session.state().into_iter();
                all.map(|(path, state)| ItemStateAt {
                    path: answer_path(&path),
                    state: state.into(),
                })
                .collect()
            })
        })
    }

    /// What blocks completing: empty when the submission may be marked complete.
    pub fn problems(&self) -> Result<Vec<Issue>> {
        guarded(|| self.read(|session| session.problems().into_iter().map(Into::into).collect()))
    }

    /// The submission's name for lists (the form's `instance_name`), if the form gives one.
    pub fn instance_name(&self) -> Result<Option<String>> {
        guarded(|| self.read(|session| session.instance_name().map(str::to_string)))
    }

    /// The answers as the session holds them.
    pub fn answers(&self) -> Result<Answers> {
        guarded(|| self.read(|session| session.answers().clone().into()))
    }
}

/// An instance a session added, and what adding it changed.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct NewInstance {
    pub id: String,
    pub delta: Delta,
}

fn item_path(path: &AnswerPath) -> eval::ItemPath {
    let step = |s: &InstanceRef| eval::InstanceStep {
        repeat: s.repeat.clone(),
        id: s.instance_id.clone(),
    };
    eval::ItemPath {
        instances: path.instances.iter().map(step).collect(),
        name: path.name.clone(),
    }
}

fn answer_path(path: &eval::ItemPath) -> AnswerPath {
    let step = |s: &eval::InstanceStep| InstanceRef {
        repeat: s.repeat.clone(),
        instance_id: s.id.clone(),
    };
    AnswerPath {
        instances: path.instances.iter().map(step).collect(),
        name: path.name.clone(),
    }
}

impl From<eval::Scalar> for Computed {
    fn from(scalar: eval::Scalar) -> Self {
        match scalar {
            eval::Scalar::Text(text) => Self::Text { text },
            eval::Scalar::Number(value) => Self::Number { value },
            eval::Scalar::Boolean(value) => Self::Boolean { value },
            eval::Scalar::Date(date) => Self::Date {
                date: IsoDate(date),
            },
            eval::Scalar::DateTime(moment) => Self::DateTime {
                datetime: IsoDateTime(moment),
            },
        }
    }
}

impl From<&eval::ItemState> for ItemState {
    fn from(state: &eval::ItemState) -> Self {
        Self {
            relevant: state.relevant,
            required: state.required,
            missing: state.missing,
            violation: state.violation.clone(),
            read_only: state.read_only,
            value: state.value.clone().into(),
            choices: state.choices.clone(),
            repeat_count: state
                .repeat_count
                .map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
            default: state.default.clone().map(Into::into),
            label: state.label.clone(),
            hint: state.hint.clone(),
            choice_labels: state.choice_labels.as_ref().map(|labels| {
                labels
                    .iter()
                    .map(|(name, label)| ChoiceLabel {
                        name: name.clone(),
                        label: label.clone(),
                    })
                    .collect()
            }),
        }
    }
}

impl From<eval::Issue> for Issue {
    fn from(issue: eval::Issue) -> Self {
        match issue {
            eval::Issue::Missing { path, message } => Self::Missing {
                path: answer_path(&path),
                message,
            },
            eval::Issue::Constraint { path, message } => Self::Constraint {
                path: answer_path(&path),
                message,
            },
        }
    }
}

impl From<eval::Delta> for Delta {
    fn from(delta: eval::Delta) -> Self {
        Self {
            changed: delta.changed.iter().map(answer_path).collect(),
            everything: delta.everything,
        }
    }
}
