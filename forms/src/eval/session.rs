//! A submission being filled in: its answers, the state of every item, and the incremental
//! recomputation that follows each change.

use super::compile::{CompiledForm, ItemInfo, ItemKind};
use super::evaluate::Evaluator;
use super::graph::{node, Graph, ANSWER, KINDS, OUTPUTS, RELEVANT, VALUE};
use super::scalar::Scalar;
use super::state::{default_message, Context, Delta, Issue, ItemPath, ItemState, SessionError};
use super::tree::{chain_of, shared_depth, Instance};
use crate::answers::{Answer, Answers, RepeatInstance};
use crate::model::QuestionType;
use crate::value::Value;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

/// One submission under evaluation. Opening it evaluates everything once; each `set` then
/// recomputes only the cells that depend on the changed answer (transitively), in dependency
/// order. Adding or removing a repeat instance, or changing language, recomputes everything.
#[derive(Debug)]
pub struct FormSession {
    form: Arc<CompiledForm>,
    answers: Answers,
    context: Context,
    root: Instance,
    instance_name: Option<String>,
    /// How many cells a full evaluation computes; a change that reaches a large share of them
    /// is cheaper to evaluate in one full pass.
    cell_count: usize,
}

/// The cells waiting to be recomputed, by their node's rank (inputs before readers). Each
/// cell is listed once: a flag on the cell says it is pending.
#[derive(Default)]
struct Pending {
    by_rank: BTreeMap<usize, (usize, Vec<Vec<usize>>)>,
    /// The (reader node, instance prefix) pairs already listed from a fan-in edge.
    fanned_in: HashSet<(usize, Vec<usize>)>,
    /// How many cells were listed so far.
    listed: usize,
}

/// Below this many cells to recompute, a change is always followed cell by cell.
const FULL_PASS_MINIMUM: usize = 2_000;

/// The flag bit that says an item was already listed as changed in this recomputation.
const REPORTED: u8 = 0x80;

impl FormSession {
    /// Opens `answers` for evaluation and evaluates every item. Costs one pass over the form
    /// for each repeat instance.
    pub fn new(form: Arc<CompiledForm>, answers: Answers, context: Context) -> FormSession {
        let root = Instance::build(&form, 0, "", &answers);
        let mut session = FormSession {
            form,
            answers,
            context,
            root,
            instance_name: None,
            cell_count: 0,
        };
        session.recompute_all();
        session
    }

    /// The answers as they stand, hidden questions' answers included.
    pub fn answers(&self) -> &Answers {
        &self.answers
    }

    pub fn into_answers(self) -> Answers {
        self.answers
    }

    pub fn context(&self) -> &Context {
        &self.context
    }

    /// The state of one item, or `None` if the path does not lead to one.
    pub fn item(&self, path: &ItemPath) -> Option<&ItemState> {
        let (item, positions) = self.locate(path).ok()?;
        let instance = self
            .root
            .descend(&self.form, chain_of(&self.form, item), &positions)?;
        instance.cells.get(self.form.items[item].slot)
    }

    /// Every item of every instance with its state, in document order.
    pub fn state(&self) -> Vec<(ItemPath, &ItemState)> {
        let mut all = Vec::new();
        self.collect_state(0, &self.root, &ItemPath::top(""), &mut all);
        all
    }

    /// The ids of the instances of `repeat` (a path to the repeat item), in order.
    pub fn instance_ids(&self, repeat: &ItemPath) -> Result<Vec<&str>, SessionError> {
        let (item, positions) = self.locate(repeat)?;
        let ItemKind::Repeat { slot, .. } = self.form.items[item].kind else {
            return Err(SessionError::NotARepeat(repeat.name.clone()));
        };
        let parent = self
            .root
            .descend(&self.form, chain_of(&self.form, item), &positions);
        Ok(parent.map_or(Vec::new(), |p| {
            p.repeats[slot].iter().map(|i| i.id.as_str()).collect()
        }))
    }

    /// The kind of the item `name` (question type, group or repeat).
    pub(crate) fn item_kind(&self, name: &str) -> Option<ItemKind> {
        Some(self.form.items[*self.form.by_name.get(name)?].kind.clone())
    }

    /// Whether the item `name` takes its value from a `calculation`.
    pub(crate) fn is_calculated(&self, name: &str) -> bool {
        self.form
            .by_name
            .get(name)
            .is_some_and(|&id| self.form.items[id].columns.calculation.is_some())
    }

    /// The names of every choice of the select `name`, unfiltered.
    pub(crate) fn choice_names(&self, name: &str) -> Vec<String> {
        let list = self
            .form
            .by_name
            .get(name)
            .and_then(|&id| self.form.items[id].choice_list());
        let choices = list.and_then(|list| self.form.form.choices.get(list));
        choices.map_or(Vec::new(), |choices| {
            choices.iter().map(|c| c.name.clone()).collect()
        })
    }

    /// The submission's name from the form's `instance_name`, once evaluated.
    pub fn instance_name(&self) -> Option<&str> {
        self.instance_name.as_deref()
    }

    /// Sets (or, with `None`, clears) one answer and recomputes what depends on it.
    pub fn set(&mut self, path: &ItemPath, value: Option<Value>) -> Result<Delta, SessionError> {
        let (item, positions) = self.locate(path)?;
        if !self.form.items[item].is_question() {
            return Err(SessionError::NotAQuestion(path.name.clone()));
        }
        let form = Arc::clone(&self.form);
        let slot = form.items[item].slot;
        let instance = self
            .root
            .descend_mut(&form, chain_of(&form, item), &positions)
            .ok_or_else(|| unknown(path))?;
        if instance.answers[slot] == value {
            return Ok(Delta::default());
        }
        instance.answers[slot] = value.clone();
        let fields = &mut answers_at(&mut self.answers, &path.instances)
            .ok_or_else(|| unknown(path))?
            .fields;
        match value {
            Some(value) => fields.insert(path.name.clone(), Answer::Value(value)),
            None => fields.remove(&path.name),
        };
        Ok(self.propagate(node(item, ANSWER), positions))
    }

    /// Adds an instance with `id` at the end of `repeat` (a path to the repeat item).
    pub fn add_instance(&mut self, repeat: &ItemPath, id: &str) -> Result<Delta, SessionError> {
        self.locate_repeat(repeat)?;
        let instances =
            repeat_instances(&mut self.answers, repeat).ok_or_else(|| unknown(repeat))?;
        if instances.iter().any(|i| i.id == id) {
            return Err(SessionError::DuplicateInstance {
                repeat: repeat.name.clone(),
                id: id.to_string(),
            });
        }
        instances.push(RepeatInstance {
            id: id.to_string(),
            answers: Answers::default(),
        });
        Ok(self.rebuild())
    }

    /// Removes the instance `id` of `repeat`, with its answers.
    pub fn remove_instance(&mut self, repeat: &ItemPath, id: &str) -> Result<Delta, SessionError> {
        self.locate_repeat(repeat)?;
        let instances =
            repeat_instances(&mut self.answers, repeat).ok_or_else(|| unknown(repeat))?;
        let before = instances.len();
        instances.retain(|i| i.id != id);
        if instances.len() == before {
            return Err(SessionError::UnknownInstance {
                repeat: repeat.name.clone(),
                id: id.to_string(),
            });
        }
        Ok(self.rebuild())
    }

    /// Changes the language of messages and choice labels, and re-evaluates.
    pub fn set_context(&mut self, context: Context) -> Delta {
        self.context = context;
        self.recompute_all();
        Delta {
            changed: Vec::new(),
            everything: true,
        }
    }

    /// Re-evaluates everything from the answers, as opening the session does.
    pub fn recompute_all(&mut self) {
        let form = Arc::clone(&self.form);
        let mut count = 0;
        for &n in &form.graph.order {
            if n % KINDS == ANSWER {
                continue;
            }
            for positions in self.cells_of(n, &[]) {
                self.compute(n, &positions);
                count += 1;
            }
        }
        self.cell_count = count;
    }

    /// What blocks completing: every shown required question without an answer and every
    /// shown answer that breaks its constraint. Hidden questions do not count.
    pub fn problems(&self) -> Vec<Issue> {
        let mut issues = Vec::new();
        for (path, state) in self.state() {
            let item = &self.form.items[self.form.by_name[&path.name]];
            if state.missing {
                let message = self.message(&item.required_message, true);
                issues.push(Issue::Missing {
                    path: path.clone(),
                    message,
                });
            }
            if let Some(message) = &state.violation {
                issues.push(Issue::Constraint {
                    path,
                    message: message.clone(),
                });
            }
        }
        issues
    }

    fn rebuild(&mut self) -> Delta {
        self.root = Instance::build(&self.form, 0, "", &self.answers);
        self.recompute_all();
        Delta {
            changed: Vec::new(),
            everything: true,
        }
    }

    /// Recomputes what depends on `start` at `positions`, node by node in rank order (a node's
    /// cells are all known once every lower-ranked node is done); returns what changed.
    fn propagate(&mut self, start: usize, positions: Vec<usize>) -> Delta {
        let mut pending = Pending::default();
        self.enqueue_readers(&mut pending, start, &positions);
        let mut changed: Vec<(usize, Vec<usize>)> = Vec::new();
        while let Some((_, (n, cells))) = pending.by_rank.pop_first() {
            for cell in cells {
                self.flag(n, &cell, false);
                if !self.compute(n, &cell) {
                    continue;
                }
                self.enqueue_readers(&mut pending, n, &cell);
                if n < self.form.items.len() * KINDS
                    && self.set_bit(n / KINDS, &cell, REPORTED, true)
                {
                    changed.push((n / KINDS, cell));
                }
            }
            if pending.listed > (self.cell_count / 2).max(FULL_PASS_MINIMUM) {
                // Most of the form is affected: one full pass costs less than tracking each cell.
                self.root.clear_flags();
                self.recompute_all();
                return Delta {
                    changed: Vec::new(),
                    everything: true,
                };
            }
        }
        for (item, cell) in &changed {
            self.set_bit(*item, cell, REPORTED, false);
        }
        Delta {
            changed: changed
                .iter()
                .map(|(item, cell)| self.path_of(*item, cell))
                .collect(),
            everything: false,
        }
    }

    fn enqueue_readers(&mut self, pending: &mut Pending, n: usize, positions: &[usize]) {
        let form = Arc::clone(&self.form);
        let chain = self.chain_of_node(n).len();
        for edge in &form.graph.dependents[n] {
            let shared = if edge.any_instance {
                0
            } else {
                shared_depth(self.chain_of_node(n), self.chain_of_node(edge.node))
            };
            let prefix = &positions[..shared];
            // Where many instances feed one reader (a total), list the reader's cells once.
            if shared < chain && !pending.fanned_in.insert((edge.node, prefix.to_vec())) {
                continue;
            }
            // A reader in the same instance (the common case) has one cell: no need to search.
            let cells = if shared == self.chain_of_node(edge.node).len() {
                vec![prefix.to_vec()]
            } else {
                self.cells_of(edge.node, prefix)
            };
            for cell in cells {
                if self.flag(edge.node, &cell, true) {
                    pending.listed += 1;
                    let rank = form.graph.rank[edge.node];
                    pending
                        .by_rank
                        .entry(rank)
                        .or_insert_with(|| (edge.node, Vec::new()))
                        .1
                        .push(cell);
                }
            }
        }
    }

    /// Marks (or unmarks) a cell of node `n` as pending; returns whether that changed. The
    /// instance name's node has no flag: it is always listed.
    fn flag(&mut self, n: usize, positions: &[usize], on: bool) -> bool {
        if n == Graph::instance_name_node(&self.form) {
            return true;
        }
        self.set_bit(n / KINDS, positions, 1 << (n % KINDS), on)
    }

    /// Sets or clears `bit` among an item's flags in one instance; returns whether it changed.
    fn set_bit(&mut self, item: usize, positions: &[usize], bit: u8, on: bool) -> bool {
        let slot = self.form.items[item].slot;
        let Some(instance) =
            self.root
                .descend_mut(&self.form, chain_of(&self.form, item), positions)
        else {
            return false;
        };
        let flags = &mut instance.flags[slot];
        let was = *flags & bit != 0;
        if on {
            *flags |= bit;
        } else {
            *flags &= !bit;
        }
        was != on
    }

    /// The instance paths of node `n`'s cells that start with `prefix`.
    fn cells_of(&self, n: usize, prefix: &[usize]) -> Vec<Vec<usize>> {
        self.root
            .paths_under(&self.form, self.chain_of_node(n), prefix)
    }

    fn chain_of_node(&self, n: usize) -> &[usize] {
        if n == Graph::instance_name_node(&self.form) {
            &[]
        } else {
            chain_of(&self.form, n / KINDS)
        }
    }

    /// Recomputes one cell; returns whether it changed.
    fn compute(&mut self, n: usize, positions: &[usize]) -> bool {
        if n == Graph::instance_name_node(&self.form) {
            let evaluator = self.evaluator(None, positions);
            let name = self
                .form
                .instance_name
                .as_ref()
                .map(|e| evaluator.eval(e).to_text());
            let changed = name != self.instance_name;
            self.instance_name = name;
            return changed;
        }
        let item = n / KINDS;
        let Some(current) = self.cell(item, positions) else {
            return false;
        };
        let update = match n % KINDS {
            VALUE => Update::Value(self.value_of(item, positions, current.relevant)),
            RELEVANT => Update::Relevant(self.relevance_of(item, positions)),
            OUTPUTS => Update::Outputs(self.outputs_of(item, positions, current)),
            _ => return false,
        };
        if update.matches(current) {
            return false;
        }
        let slot = self.form.items[item].slot;
        if let Some(instance) =
            self.root
                .descend_mut(&self.form, chain_of(&self.form, item), positions)
        {
            update.apply(&mut instance.cells[slot]);
        }
        true
    }

    fn evaluator<'a>(&'a self, item: Option<usize>, positions: &'a [usize]) -> Evaluator<'a> {
        Evaluator {
            form: &self.form,
            root: &self.root,
            context: &self.context,
            item,
            path: positions,
            choice: None,
        }
    }

    fn cell(&self, item: usize, positions: &[usize]) -> Option<&ItemState> {
        let instance = self
            .root
            .descend(&self.form, chain_of(&self.form, item), positions)?;
        instance.cells.get(self.form.items[item].slot)
    }

    fn stored(&self, item: usize, positions: &[usize]) -> Option<&Value> {
        let instance = self
            .root
            .descend(&self.form, chain_of(&self.form, item), positions)?;
        instance.answers.get(self.form.items[item].slot)?.as_ref()
    }

    /// The value expressions see: empty while hidden, else the calculation or the answer.
    fn value_of(&self, item: usize, positions: &[usize], relevant: bool) -> Scalar {
        let info = &self.form.items[item];
        if !relevant || !info.is_question() {
            return Scalar::default();
        }
        match (&info.columns.calculation, self.stored(item, positions)) {
            (Some(calculation), _) => self.evaluator(Some(item), positions).scalar(calculation),
            (None, Some(answer)) => Scalar::from_value(answer),
            (None, None) => self.metadata(&info.kind),
        }
    }

    /// What an unanswered metadata question holds: the device, the user, the time.
    fn metadata(&self, kind: &ItemKind) -> Scalar {
        match kind {
            ItemKind::Question(QuestionType::Start | QuestionType::End) => {
                Scalar::DateTime(self.context.now)
            }
            ItemKind::Question(QuestionType::Today) => Scalar::Date(self.context.now.date_naive()),
            ItemKind::Question(QuestionType::DeviceId) => {
                Scalar::Text(self.context.device_id.clone())
            }
            ItemKind::Question(QuestionType::Username) => {
                Scalar::Text(self.context.user_name.clone())
            }
            _ => Scalar::default(),
        }
    }

    /// Shown when the enclosing group or repeat is shown and the item's own `relevant` holds.
    fn relevance_of(&self, item: usize, positions: &[usize]) -> bool {
        let info = &self.form.items[item];
        let parent_shown = info.parent.is_none_or(|parent| {
            let depth = chain_of(&self.form, parent).len();
            self.cell(parent, &positions[..depth])
                .is_some_and(|p| p.relevant)
        });
        parent_shown
            && info
                .columns
                .relevant
                .as_ref()
                .is_none_or(|e| self.evaluator(Some(item), positions).eval(e).to_bool())
    }

    fn outputs_of(&self, item: usize, positions: &[usize], state: &ItemState) -> Outputs {
        let info = &self.form.items[item];
        let columns = &info.columns;
        let evaluator = self.evaluator(Some(item), positions);
        let holds = |e: &Option<_>| e.as_ref().is_some_and(|e| evaluator.eval(e).to_bool());
        let shown = state.relevant;
        let required = shown && holds(&columns.required);
        let broken = shown
            && !state.value.is_empty()
            && columns.constraint.is_some()
            && !holds(&columns.constraint);
        let unanswered = self.stored(item, positions).is_none();
        Outputs {
            required,
            missing: required && answerable(info) && state.value.is_empty(),
            violation: broken.then(|| self.message(&info.constraint_message, false)),
            read_only: holds(&columns.read_only),
            choices: columns
                .choice_filter
                .as_ref()
                .map(|filter| self.filtered_choices(info, item, positions, filter)),
            repeat_count: columns.repeat_count.as_ref().map(|count| {
                let n = evaluator.eval(count).to_number();
                if n.is_finite() && n > 0.0 {
                    n.min(u32::MAX as f64) as usize
                } else {
                    0
                }
            }),
            default: columns
                .default
                .as_ref()
                .filter(|_| unanswered)
                .map(|d| evaluator.scalar(d)),
        }
    }

    fn filtered_choices(
        &self,
        info: &ItemInfo,
        item: usize,
        positions: &[usize],
        filter: &super::lower::CExpr,
    ) -> Vec<String> {
        let choices = info
            .choice_list()
            .and_then(|list| self.form.form.choices.get(list));
        choices
            .into_iter()
            .flatten()
            .filter(|choice| {
                let evaluator = Evaluator {
                    choice: Some(choice),
                    ..self.evaluator(Some(item), positions)
                };
                evaluator.eval(filter).to_bool()
            })
            .map(|choice| choice.name.clone())
            .collect()
    }

    /// The form's message in the context's language (or the default language), else ours.
    fn message(&self, text: &crate::model::LocalizedText, missing: bool) -> String {
        let language = self.context.language.as_deref();
        match text.get(language, self.form.form.default_language.as_deref()) {
            Some(message) if !message.is_empty() => message.to_string(),
            _ => default_message(language, missing),
        }
    }

    /// The item and instance positions a path names.
    fn locate(&self, path: &ItemPath) -> Result<(usize, Vec<usize>), SessionError> {
        let &item = self
            .form
            .by_name
            .get(&path.name)
            .ok_or_else(|| SessionError::UnknownItem(path.name.clone()))?;
        let chain = chain_of(&self.form, item);
        if chain.len() != path.instances.len() {
            return Err(SessionError::WrongNesting(path.name.clone()));
        }
        let mut instance = &self.root;
        let mut positions = Vec::with_capacity(chain.len());
        for (&scope, step) in chain.iter().zip(&path.instances) {
            let repeat = self.form.scopes[scope].repeat.map(|r| &self.form.items[r]);
            let Some(ItemInfo {
                name,
                kind: ItemKind::Repeat { slot, .. },
                ..
            }) = repeat
            else {
                return Err(SessionError::WrongNesting(path.name.clone()));
            };
            if *name != step.repeat {
                return Err(SessionError::WrongNesting(path.name.clone()));
            }
            let position = instance.repeats[*slot]
                .iter()
                .position(|i| i.id == step.id)
                .ok_or_else(|| SessionError::UnknownInstance {
                    repeat: step.repeat.clone(),
                    id: step.id.clone(),
                })?;
            positions.push(position);
            instance = &instance.repeats[*slot][position];
        }
        Ok((item, positions))
    }

    fn locate_repeat(&self, repeat: &ItemPath) -> Result<(), SessionError> {
        let (item, _) = self.locate(repeat)?;
        match self.form.items[item].kind {
            ItemKind::Repeat { .. } => Ok(()),
            _ => Err(SessionError::NotARepeat(repeat.name.clone())),
        }
    }

    /// The path of `item` at instance `positions`.
    fn path_of(&self, item: usize, positions: &[usize]) -> ItemPath {
        let mut path = ItemPath::top(&self.form.items[item].name);
        let mut instance = &self.root;
        for (&scope, &position) in chain_of(&self.form, item).iter().zip(positions) {
            let Some(repeat) = self.form.scopes[scope].repeat else {
                break;
            };
            let ItemKind::Repeat { slot, .. } = self.form.items[repeat].kind else {
                break;
            };
            instance = &instance.repeats[slot][position];
            path.instances.push(super::state::InstanceStep {
                repeat: self.form.items[repeat].name.clone(),
                id: instance.id.clone(),
            });
        }
        path
    }

    fn collect_state<'a>(
        &'a self,
        scope: usize,
        instance: &'a Instance,
        at: &ItemPath,
        into: &mut Vec<(ItemPath, &'a ItemState)>,
    ) {
        for (slot, &item) in self.form.scopes[scope].items.iter().enumerate() {
            let info = &self.form.items[item];
            into.push((
                ItemPath {
                    instances: at.instances.clone(),
                    name: info.name.clone(),
                },
                &instance.cells[slot],
            ));
            if let ItemKind::Repeat {
                scope: inner,
                slot: repeat_slot,
            } = info.kind
            {
                for child in &instance.repeats[repeat_slot] {
                    let inside = at.inside(&info.name, &child.id, "");
                    self.collect_state(inner, child, &inside, into);
                }
            }
        }
    }
}

/// A recomputed part of an item's state.
enum Update {
    Value(Scalar),
    Relevant(bool),
    Outputs(Outputs),
}

/// The parts of an item's state that nothing else reads.
struct Outputs {
    required: bool,
    missing: bool,
    violation: Option<String>,
    read_only: bool,
    choices: Option<Vec<String>>,
    repeat_count: Option<usize>,
    default: Option<Scalar>,
}

impl Update {
    fn matches(&self, state: &ItemState) -> bool {
        match self {
            Update::Value(value) => *value == state.value,
            Update::Relevant(relevant) => *relevant == state.relevant,
            Update::Outputs(o) => {
                o.required == state.required
                    && o.missing == state.missing
                    && o.violation == state.violation
                    && o.read_only == state.read_only
                    && o.choices == state.choices
                    && o.repeat_count == state.repeat_count
                    && o.default == state.default
            }
        }
    }

    fn apply(self, state: &mut ItemState) {
        match self {
            Update::Value(value) => state.value = value,
            Update::Relevant(relevant) => state.relevant = relevant,
            Update::Outputs(o) => {
                state.required = o.required;
                state.missing = o.missing;
                state.violation = o.violation;
                state.read_only = o.read_only;
                state.choices = o.choices;
                state.repeat_count = o.repeat_count;
                state.default = o.default;
            }
        }
    }
}

/// Whether a question takes an answer from the person (and so can be missing).
fn answerable(info: &ItemInfo) -> bool {
    matches!(&info.kind, ItemKind::Question(kind) if !matches!(kind, QuestionType::Note | QuestionType::Calculate))
}

fn unknown(path: &ItemPath) -> SessionError {
    match path.instances.last() {
        Some(step) => SessionError::UnknownInstance {
            repeat: step.repeat.clone(),
            id: step.id.clone(),
        },
        None => SessionError::UnknownItem(path.name.clone()),
    }
}

/// The answers of the instance `steps` lead to.
fn answers_at<'a>(
    answers: &'a mut Answers,
    steps: &[super::state::InstanceStep],
) -> Option<&'a mut Answers> {
    let mut current = answers;
    for step in steps {
        let Some(Answer::Repeat(instances)) = current.fields.get_mut(&step.repeat) else {
            return None;
        };
        current = &mut instances.iter_mut().find(|i| i.id == step.id)?.answers;
    }
    Some(current)
}

/// The instance list of the repeat `repeat` names, created empty if it has none yet.
fn repeat_instances<'a>(
    answers: &'a mut Answers,
    repeat: &ItemPath,
) -> Option<&'a mut Vec<RepeatInstance>> {
    let fields = &mut answers_at(answers, &repeat.instances)?.fields;
    match fields
        .entry(repeat.name.clone())
        .or_insert_with(|| Answer::Repeat(Vec::new()))
    {
        Answer::Repeat(instances) => Some(instances),
        Answer::Value(_) => None,
    }
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
