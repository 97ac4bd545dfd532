//! A submission's answers as plain data: what the engine evaluates and the store reads out of a
//! document, and the key each question's answer is stored under. Groups do not nest here
//! (repeats do): an answer is keyed by its question's name, and only a name that several items
//! of the form carry (in different groups) is keyed by its path, `site/name` (see
//! [`AnswerKeys`]).

use crate::model::{Form, Item};
use crate::value::Value;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Answers by question name, at the top level of a submission or inside one repeat instance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Answers {
    pub fields: BTreeMap<String, Answer>,
}

/// What one name holds: a value, or the instances of a repeat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Answer {
    Value(Value),
    Repeat(Vec<RepeatInstance>),
}

/// One instance of a repeat, with the stable id that keeps concurrent edits on the right person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepeatInstance {
    pub id: String,
    pub answers: Answers,
}

impl Answers {
    /// The value under `name`, if it is a value (not a repeat).
    pub fn value(&self, name: &str) -> Option<&Value> {
        match self.fields.get(name) {
            Some(Answer::Value(value)) => Some(value),
            _ => None,
        }
    }

    /// The instances of the repeat `name`; empty if it has none or is not a repeat.
    pub fn instances(&self, name: &str) -> &[RepeatInstance] {
        match self.fields.get(name) {
            Some(Answer::Repeat(instances)) => instances,
            _ => &[],
        }
    }
}

/// The key each item's answer is stored under, in [`Answers::fields`] and in a submission
/// document: its name, unless several questions, groups or repeats of the form carry that name
/// (XLSForm allows the same name in different groups); then its path from the form's root,
/// the names of the groups and repeats it is in and its own, joined by `/` (`site/name`, and
/// inside a repeat `people/contact/name`). Forms without a repeated name keep every answer
/// under its name, as before; a name never holds a `/`, so a path never equals a name.
#[derive(Debug, Clone, Default)]
pub struct AnswerKeys {
    /// How many items carry each name.
    uses: HashMap<String, usize>,
}

impl AnswerKeys {
    /// The keys of `form`'s items. Cost: one walk over the form.
    pub fn of(form: &Form) -> AnswerKeys {
        let mut keys = AnswerKeys::default();
        keys.count(&form.survey);
        keys
    }

    fn count(&mut self, items: &[Item]) {
        for item in items {
            let (name, children) = match item {
                Item::Question(q) => (&q.name, None),
                Item::Group(g) => (&g.name, Some(&g.children)),
                Item::Repeat(r) => (&r.name, Some(&r.children)),
            };
            *self.uses.entry(name.clone()).or_default() += 1;
            if let Some(children) = children {
                self.count(children);
            }
        }
    }

    /// Whether several items carry `name`.
    pub fn is_repeated(&self, name: &str) -> bool {
        self.uses.get(name).is_some_and(|&n| n > 1)
    }

    /// The key of the item `name` inside the groups and repeats `parents` (outermost first).
    pub fn key(&self, parents: &[&str], name: &str) -> String {
        if self.is_repeated(name) {
            let mut path = parents.join("/");
            if !path.is_empty() {
                path.push('/');
            }
            path.push_str(name);
            path
        } else {
            name.to_string()
        }
    }
}
