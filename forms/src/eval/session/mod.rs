//! A submission being filled in: its answers, the state of every item, and the incremental
//! recomputation that follows each change.

use super::compiled::{CompiledForm, ItemInfo, ItemKind};
use super::graph::{node, ANSWER, KINDS};
use super::state::{Context, Delta, Issue, ItemPath, ItemState, SessionEdit, SessionError};
use super::tree::{chain_of, Instance};
use crate::answers::{Answer, Answers, RepeatInstance};
use crate::value::Value;
use std::sync::Arc;

mod calculated;
mod cells;
mod fill;
mod propagate;

/// One submission under evaluation. Opening it evaluates everything once; each `set` then
/// recomputes only the cells that depend on the changed answer (transitively), in dependency
/// order. Adding or removing a repeat instance, or changing language, recomputes everything.
///
/// The session also writes answers by itself, and returns each such write in
/// [`Delta::edits`] for the store to follow: a new submission ([`FormSession::start`]) and a
/// new repeat instance get their questions' `default`s, and a shown repeat with a
/// `repeat_count` gets or loses instances (at the end) whenever its count changes.
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

impl FormSession {
    /// Opens `answers` (a submission as stored) for evaluation and evaluates every item; no
    /// default is filled in and no instance added. Costs one pass over the form for each
    /// repeat instance.
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

    /// Opens a new, empty submission: every question with a `default` gets it as its answer
    /// and every shown repeat with a `repeat_count` that many instances (with their defaults).
    /// Returns the session and those edits, in order, for the store to make.
    pub fn start(form: Arc<CompiledForm>, context: Context) -> (FormSession, Vec<SessionEdit>) {
        let mut session = FormSession::new(form, Answers::default(), context);
        let mut edits = Vec::new();
        session.fill_defaults(&[], 0, &mut edits);
        session.follow_counts(&mut edits);
        session.store_all_calculations(&mut edits);
        (session, edits)
    }

    /// Brings a stored submission in line with the form's logic, as each change does: every
    /// shown repeat with a `repeat_count` to its count (instances written by an older app, or
    /// merged from two devices), and every stored calculation to its value (answers changed
    /// by a merge or outside a session). Reports the edits for the store to follow. Cost: one
    /// comparison per calculation per instance, besides the counts.
    pub fn follow_repeat_counts(&mut self) -> Delta {
        let mut edits = Vec::new();
        let everything = self.follow_counts(&mut edits);
        self.store_all_calculations(&mut edits);
        Delta {
            changed: Vec::new(),
            everything,
            edits,
        }
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
        Some(self.form.items[*self.form.by_key.get(name)?].kind.clone())
    }

    /// Whether the item `name` takes its value from a `calculation`.
    pub(crate) fn is_calculated(&self, name: &str) -> bool {
        self.form
            .by_key
            .get(name)
            .is_some_and(|&id| self.form.items[id].columns.calculation.is_some())
    }

    /// The names of every choice of the select `name`, unfiltered.
    pub(crate) fn choice_names(&self, name: &str) -> Vec<String> {
        let list = self
            .form
            .by_key
            .get(name)
            .and_then(|&id| self.form.items[id].choice_list());
        let choices = list.and_then(|list| self.form.list(list));
        choices.map_or(Vec::new(), |choices| {
            choices.iter().map(|c| c.name.clone()).collect()
        })
    }

    /// The submission's name from the form's `instance_name`, once evaluated.
    pub fn instance_name(&self) -> Option<&str> {
        self.instance_name.as_deref()
    }

    /// Sets (or, with `None`, clears) one answer and recomputes what depends on it. When that
    /// changes a shown repeat's `repeat_count`, the repeat follows (see [`Delta::edits`]).
    /// A value no question can hold (a point off the globe) is refused and changes nothing.
    pub fn set(&mut self, path: &ItemPath, value: Option<Value>) -> Result<Delta, SessionError> {
        if let Some(Err(problem)) = value.as_ref().map(Value::check) {
            return Err(SessionError::ImpossibleAnswer {
                question: path.name.clone(),
                problem,
            });
        }
        let delta = self.set_without_counts(path, value)?;
        let delta = self.follow_counts_after(delta);
        Ok(self.with_calculations(delta))
    }

    /// `delta` with the calculations it changed stored: those it lists, or every one.
    fn with_calculations(&mut self, mut delta: Delta) -> Delta {
        if delta.everything {
            self.store_all_calculations(&mut delta.edits);
        } else {
            self.store_changed_calculations(&delta.changed, &mut delta.edits);
        }
        delta
    }

    /// [`FormSession::set`] without following a changed count: for the session's own writes,
    /// which follow the counts once they are all made.
    fn set_without_counts(
        &mut self,
        path: &ItemPath,
        value: Option<Value>,
    ) -> Result<Delta, SessionError> {
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

    /// Adds an instance with `id` at the end of `repeat` (a path to the repeat item), with its
    /// questions' defaults filled in (listed in [`Delta::edits`]). A repeat with a
    /// `repeat_count` is refused: its count decides its instances.
    pub fn add_instance(&mut self, repeat: &ItemPath, id: &str) -> Result<Delta, SessionError> {
        let scope = self.locate_uncounted_repeat(repeat)?;
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
        let mut delta = self.rebuild();
        let inside = repeat.inside(&repeat.name, id, "");
        self.fill_defaults(&inside.instances, scope, &mut delta.edits);
        self.follow_counts(&mut delta.edits);
        self.store_all_calculations(&mut delta.edits);
        Ok(delta)
    }

    /// Removes the instance `id` of `repeat`, with its answers. A repeat with a
    /// `repeat_count` is refused: its count decides its instances.
    pub fn remove_instance(&mut self, repeat: &ItemPath, id: &str) -> Result<Delta, SessionError> {
        self.locate_uncounted_repeat(repeat)?;
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
        let mut delta = self.rebuild();
        self.follow_counts(&mut delta.edits);
        self.store_all_calculations(&mut delta.edits);
        Ok(delta)
    }

    /// Changes the language of messages and choice labels, and re-evaluates.
    pub fn set_context(&mut self, context: Context) -> Delta {
        self.context = context;
        self.recompute_all();
        let mut delta = self.follow_repeat_counts();
        delta.everything = true;
        delta
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
            let item = &self.form.items[self.form.by_key[&path.name]];
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
            edits: Vec::new(),
        }
    }

    /// `delta`, or the whole state with the edits made, if it changed a counted repeat's count
    /// or visibility and the repeat followed. Costs nothing when no counted repeat changed.
    fn follow_counts_after(&mut self, delta: Delta) -> Delta {
        let touched = delta.everything || delta.changed.iter().any(|p| self.is_counted(&p.name));
        if !touched {
            return delta;
        }
        let mut edits = Vec::new();
        if self.follow_counts(&mut edits) {
            Delta {
                changed: Vec::new(),
                everything: true,
                edits,
            }
        } else {
            delta
        }
    }

    /// The item and instance positions a path names.
    fn locate(&self, path: &ItemPath) -> Result<(usize, Vec<usize>), SessionError> {
        let &item = self
            .form
            .by_key
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
                key: name,
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

    /// The scope of the repeat `repeat` leads to; refused for a repeat with a `repeat_count`.
    fn locate_uncounted_repeat(&self, repeat: &ItemPath) -> Result<usize, SessionError> {
        let (item, _) = self.locate(repeat)?;
        let info = &self.form.items[item];
        let ItemKind::Repeat { scope, .. } = info.kind else {
            return Err(SessionError::NotARepeat(repeat.name.clone()));
        };
        if info.columns.repeat_count.is_some() {
            return Err(SessionError::CountedRepeat(repeat.name.clone()));
        }
        Ok(scope)
    }

    /// The path of `item` at instance `positions`.
    fn path_of(&self, item: usize, positions: &[usize]) -> ItemPath {
        let mut path = ItemPath::top(&self.form.items[item].key);
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
                repeat: self.form.items[repeat].key.clone(),
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
                    name: info.key.clone(),
                },
                &instance.cells[slot],
            ));
            if let ItemKind::Repeat {
                scope: inner,
                slot: repeat_slot,
            } = info.kind
            {
                for child in &instance.repeats[repeat_slot] {
                    let inside = at.inside(&info.key, &child.id, "");
                    self.collect_state(inner, child, &inside, into);
                }
            }
        }
    }
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
mod tests;
