//! A compiled form: every item of the form flattened with its place (group, repeat, scope),
//! its columns' expressions compiled, and the dependency graph of its cells. Built by
//! `compile`, read by everything above it (lowering reads the items while compiling).

use super::cexpr::CExpr;
use super::graph::{Graph, KINDS};
use super::labels::Template;
use crate::media::{list_name, ExternalLists};
use crate::model::{Choice, Form, LocalizedText, QuestionType};
use std::collections::HashMap;

/// A form ready to evaluate: built once per form version, shared by every submission's session.
#[derive(Debug)]
pub struct CompiledForm {
    pub(crate) form: Form,
    pub(crate) items: Vec<ItemInfo>,
    /// Items by their key (see [`ItemInfo::key`]): how paths and answers address them.
    pub(crate) by_key: HashMap<String, usize>,
    /// Items by name: more than one where the same name is used in different groups.
    pub(crate) by_name: HashMap<String, Vec<usize>>,
    /// Scope 0 is the top level; every repeat has its own scope.
    pub(crate) scopes: Vec<ScopeInfo>,
    pub(crate) instance_name: Option<CExpr>,
    /// The labels of the choice lists whose labels name answers (`${name}`), by list, in list
    /// order with each choice's name. Lists of plain labels are not here: nothing to render.
    pub(crate) choice_labels: HashMap<String, Vec<(String, Template)>>,
    /// The lists of the form's list files (`select_one_from_file`, `pulldata()`, `instance()`),
    /// as the caller handed them; a list file the form declares and the caller did not hand
    /// over is here empty.
    pub(crate) external: ExternalLists,
    pub(crate) graph: Graph,
}

impl CompiledForm {
    /// The form this was compiled from.
    pub fn form(&self) -> &Form {
        &self.form
    }

    /// The choice list `name`: the form's own (choices sheet), else a list file's (what a
    /// `select_one_from_file` offers, with its labels, for the app to show).
    pub fn list(&self, name: &str) -> Option<&[Choice]> {
        self.form
            .choices
            .get(name)
            .or_else(|| self.external.get(name))
            .map(Vec::as_slice)
    }

    /// The graph node of the form's `instance_name` (no item's, after every item's).
    pub(crate) fn instance_name_node(&self) -> usize {
        self.items.len() * KINDS
    }
}

#[derive(Debug)]
pub(crate) struct ItemInfo {
    pub name: String,
    /// What the item's answers are stored under, and [`super::ItemPath::name`]: its name, or,
    /// for a name that several items of the form carry (in different groups), its path from
    /// the form's root, every group's and repeat's name then its own joined by `/`
    /// (`site/name`). See [`crate::AnswerKeys`].
    pub key: String,
    pub kind: ItemKind,
    /// The enclosing group or repeat.
    pub parent: Option<usize>,
    /// The scope the item lives in, and its slot there.
    pub scope: usize,
    pub slot: usize,
    pub columns: Columns,
    pub required_message: LocalizedText,
    pub constraint_message: LocalizedText,
}

#[derive(Debug, Clone)]
pub(crate) enum ItemKind {
    Question(QuestionType),
    Group,
    /// A repeat: the scope its children live in, and its slot among its parent scope's repeats.
    Repeat {
        scope: usize,
        slot: usize,
    },
}

/// The compiled expressions of one item's columns.
#[derive(Debug, Default)]
pub(crate) struct Columns {
    pub relevant: Option<CExpr>,
    pub required: Option<CExpr>,
    pub constraint: Option<CExpr>,
    pub calculation: Option<CExpr>,
    pub read_only: Option<CExpr>,
    pub choice_filter: Option<CExpr>,
    pub repeat_count: Option<CExpr>,
    pub default: Option<CExpr>,
    /// The label and hint, to render in the session's language.
    pub label: Option<Template>,
    pub hint: Option<Template>,
}

#[derive(Debug, Default)]
pub(crate) struct ScopeInfo {
    /// The repeat whose instances this scope describes; `None` for the top level.
    pub repeat: Option<usize>,
    /// Repeat scopes from the outermost down to this one (empty for the top level).
    pub chain: Vec<usize>,
    pub items: Vec<usize>,
    /// The repeats directly in this scope, in slot order.
    pub repeats: Vec<usize>,
}

impl ItemInfo {
    /// The name of the list a select offers (a list file's for `select_one_from_file`).
    pub(crate) fn choice_list(&self) -> Option<&str> {
        match &self.kind {
            ItemKind::Question(
                QuestionType::SelectOne(list) | QuestionType::SelectMultiple(list),
            ) => Some(list),
            ItemKind::Question(
                QuestionType::SelectOneFromFile(file) | QuestionType::SelectMultipleFromFile(file),
            ) => Some(list_name(file).unwrap_or(file)),
            _ => None,
        }
    }

    pub(crate) fn is_question(&self) -> bool {
        matches!(self.kind, ItemKind::Question(_))
    }
}
