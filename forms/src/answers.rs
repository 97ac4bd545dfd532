//! A submission's answers as plain data: what the engine evaluates and the store reads out of a
//! document. Names are unique across a form, so groups do not nest here; repeats do.

use crate::value::Value;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
