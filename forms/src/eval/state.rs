//! What the UI reads after evaluation: the context a form is filled in, where an item sits in a
//! submission, each item's state, and the problems that block completing.

use super::scalar::Scalar;
use crate::value::Value;
use chrono::{DateTime, FixedOffset};
use std::fmt;

/// Who fills the form, when, and in which language: what `today()`, `now()`, the metadata and
/// the messages depend on.
#[derive(Debug, Clone, PartialEq)]
pub struct Context {
    /// The language labels and messages are wanted in, as the form names it (`Español (es)`).
    pub language: Option<String>,
    pub now: DateTime<FixedOffset>,
    pub device_id: String,
    pub user_name: String,
}

/// One step into a repeat: the repeat's name and the id of one of its instances.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstanceStep {
    pub repeat: String,
    pub id: String,
}

/// Where an item sits in a submission: the repeat instances around it, outermost first, then
/// its name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ItemPath {
    pub instances: Vec<InstanceStep>,
    pub name: String,
}

impl ItemPath {
    /// An item outside any repeat.
    pub fn top(name: &str) -> ItemPath {
        ItemPath {
            instances: Vec::new(),
            name: name.to_string(),
        }
    }

    /// The item `name` inside the instance `id` of `repeat`, itself inside this path's instances.
    pub fn inside(&self, repeat: &str, id: &str, name: &str) -> ItemPath {
        let mut instances = self.instances.clone();
        instances.push(InstanceStep {
            repeat: repeat.to_string(),
            id: id.to_string(),
        });
        ItemPath {
            instances,
            name: name.to_string(),
        }
    }
}

impl fmt::Display for ItemPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for step in &self.instances {
            write!(f, "{}[{}]/", step.repeat, step.id)?;
        }
        f.write_str(&self.name)
    }
}

/// The state of one question, group or repeat (in one repeat instance).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ItemState {
    /// Shown: its `relevant` holds, and so do its groups'.
    pub relevant: bool,
    /// Its `required` holds (whether or not it is answered).
    pub required: bool,
    /// Shown, required and unanswered.
    pub missing: bool,
    /// The constraint message, in the context's language, while the answer breaks its
    /// `constraint`.
    pub violation: Option<String>,
    pub read_only: bool,
    /// The value as expressions see it: the answer, or the calculation's result; empty while
    /// hidden.
    pub value: Scalar,
    /// The names of the choices left after `choice_filter`, in list order; `None` without one.
    pub choices: Option<Vec<String>>,
    /// For a repeat with `repeat_count`: how many instances it should have.
    pub repeat_count: Option<usize>,
    /// For an unanswered question with a `default`: the value to fill in.
    pub default: Option<Scalar>,
    /// The label to show, in the context's language, with every `${name}` in it replaced by
    /// that item's value (as it stands: empty while hidden); `None` when the form gives none.
    pub label: Option<String>,
    /// The hint to show, rendered as the label is.
    pub hint: Option<String>,
    /// For a select whose choice labels name answers: each choice's name and label to show,
    /// rendered as the label is, in list order (every choice, `choice_filter` aside). `None`
    /// for a list of plain labels: show them from the form.
    pub choice_labels: Option<Vec<(String, String)>>,
}

/// Why a submission cannot be completed yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Issue {
    /// A shown, required question without an answer; the form's required message or a default.
    Missing { path: ItemPath, message: String },
    /// A shown answer that breaks its constraint; the form's message or a default.
    Constraint { path: ItemPath, message: String },
}

/// What one change did to the state.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Delta {
    /// The items whose state changed, each once, in the order they were recomputed.
    pub changed: Vec<ItemPath>,
    /// Repeat instances were added or removed, or the language changed: read the whole state.
    pub everything: bool,
    /// What the session wrote into the answers by itself (defaults filled in, instances added
    /// or removed to follow a `repeat_count`, calculations' values), in order: the store must
    /// make the same edits.
    pub edits: Vec<SessionEdit>,
}

/// An edit the form's logic made to the answers, for the store to follow. Instance ids are
/// made by the session, in the store's format (a UUID v7 as 32 hex digits).
#[derive(Debug, Clone, PartialEq)]
pub enum SessionEdit {
    /// Instance `id` was added at the end of `repeat` to meet its `repeat_count`.
    AddInstance { repeat: ItemPath, id: String },
    /// Instance `id` of `repeat`, the last one, was removed with its answers because the
    /// `repeat_count` dropped.
    RemoveInstance { repeat: ItemPath, id: String },
    /// The question at `path` was given its `default` (a new submission or a new instance).
    SetAnswer { path: ItemPath, value: Value },
    /// The calculation at `path` now stores `value` (`None`: nothing, while it is hidden or
    /// empty). Only values that changed are reported; a `once()` value is reported once.
    Calculated {
        path: ItemPath,
        value: Option<Value>,
    },
}

/// A request the session cannot carry out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("the form has no item named '{0}'")]
    UnknownItem(String),
    #[error("'{0}' is a group or repeat, not a question")]
    NotAQuestion(String),
    #[error("'{0}' is not a repeat")]
    NotARepeat(String),
    #[error("the repeat '{repeat}' has no instance '{id}'")]
    UnknownInstance { repeat: String, id: String },
    #[error("the repeat '{repeat}' already has an instance '{id}'")]
    DuplicateInstance { repeat: String, id: String },
    #[error("'{0}' must be addressed through the repeat instances it sits in")]
    WrongNesting(String),
    #[error(
        "the repeat '{0}' has as many instances as its repeat_count says; change the count instead"
    )]
    CountedRepeat(String),
    /// A value no question can hold (see [`crate::Value::check`]); nothing was changed.
    #[error("'{question}' cannot hold this answer: {problem}")]
    ImpossibleAnswer {
        question: String,
        problem: crate::ImpossibleValue,
    },
}

/// The text used where a form gives no message, in Spanish or English.
pub(crate) fn default_message(language: Option<&str>, missing: bool) -> String {
    let spanish = language.is_some_and(|l| {
        let l = l.to_lowercase();
        l.starts_with("es")
            || l.contains("(es)")
            || l.starts_with("español")
            || l.starts_with("spanish")
    });
    match (spanish, missing) {
        (true, true) => "Esta pregunta es obligatoria.",
        (true, false) => "La respuesta no es válida.",
        (false, true) => "This question is required.",
        (false, false) => "The answer is not valid.",
    }
    .to_string()
}
