//! The evaluated submission: for the top level and every repeat instance, each item's stored
//! answer and computed state, addressed by a path of instance positions.

use super::compiled::{CompiledForm, ItemKind};
use super::state::ItemState;
use crate::answers::Answers;
use crate::value::Value;

/// The top level or one repeat instance.
#[derive(Debug, Clone)]
pub(crate) struct Instance {
    pub id: String,
    /// Per item slot of the scope: the stored answer.
    pub answers: Vec<Option<Value>>,
    /// Per item slot of the scope: the computed state.
    pub cells: Vec<ItemState>,
    /// Per item slot of the scope: bookkeeping bits of a recomputation (pending, reported).
    pub flags: Vec<u8>,
    /// Per repeat slot of the scope: its instances, in order.
    pub repeats: Vec<Vec<Instance>>,
}

impl Instance {
    /// Reads `answers` (the top level when `scope` is 0) into a tree with blank states.
    pub(crate) fn build(
        form: &CompiledForm,
        scope: usize,
        id: &str,
        answers: &Answers,
    ) -> Instance {
        let info = &form.scopes[scope];
        let stored = info.items.iter().map(|&item| {
            let item = &form.items[item];
            if item.is_question() {
                answers.value(&item.key).cloned()
            } else {
                None
            }
        });
        let repeats = info.repeats.iter().map(|&repeat| {
            let ItemKind::Repeat { scope: inner, .. } = form.items[repeat].kind else {
                return Vec::new();
            };
            answers
                .instances(&form.items[repeat].key)
                .iter()
                .map(|instance| Instance::build(form, inner, &instance.id, &instance.answers))
                .collect()
        });
        Instance {
            id: id.to_string(),
            answers: stored.collect(),
            cells: vec![ItemState::default(); info.items.len()],
            flags: vec![0; info.items.len()],
            repeats: repeats.collect(),
        }
    }

    /// Clears the bookkeeping bits of this instance and every instance inside it.
    pub(crate) fn clear_flags(&mut self) {
        self.flags.iter_mut().for_each(|f| *f = 0);
        self.repeats
            .iter_mut()
            .flatten()
            .for_each(Instance::clear_flags);
    }

    /// The instance at `path` (positions) along the repeat scopes `chain`.
    pub(crate) fn descend(
        &self,
        form: &CompiledForm,
        chain: &[usize],
        path: &[usize],
    ) -> Option<&Instance> {
        let mut instance = self;
        for (&scope, &position) in chain.iter().zip(path) {
            instance = instance
                .repeats
                .get(repeat_slot(form, scope))?
                .get(position)?;
        }
        Some(instance)
    }

    pub(crate) fn descend_mut(
        &mut self,
        form: &CompiledForm,
        chain: &[usize],
        path: &[usize],
    ) -> Option<&mut Instance> {
        let mut instance = self;
        for (&scope, &position) in chain.iter().zip(path) {
            instance = instance
                .repeats
                .get_mut(repeat_slot(form, scope))?
                .get_mut(position)?;
        }
        Some(instance)
    }

    /// Every path along `chain` that starts with `prefix`, in document order.
    pub(crate) fn paths_under(
        &self,
        form: &CompiledForm,
        chain: &[usize],
        prefix: &[usize],
    ) -> Vec<Vec<usize>> {
        let mut paths = Vec::new();
        self.for_each_under(form, chain, prefix, &mut |_, path| {
            paths.push(path.to_vec())
        });
        paths
    }

    /// Calls `f` with every instance along `chain` under `prefix`, and its path, in document
    /// order (the instance at the prefix itself when the chain is no longer).
    pub(crate) fn for_each_under<'a>(
        &'a self,
        form: &CompiledForm,
        chain: &[usize],
        prefix: &[usize],
        f: &mut impl FnMut(&'a Instance, &[usize]),
    ) {
        if let Some(start) = self.descend(form, chain, prefix) {
            let mut path = prefix.to_vec();
            start.visit_deeper(form, &chain[prefix.len().min(chain.len())..], &mut path, f);
        }
    }

    fn visit_deeper<'a>(
        &'a self,
        form: &CompiledForm,
        rest: &[usize],
        path: &mut Vec<usize>,
        f: &mut impl FnMut(&'a Instance, &[usize]),
    ) {
        let Some((&scope, deeper)) = rest.split_first() else {
            f(self, path);
            return;
        };
        for (position, instance) in self
            .repeats
            .get(repeat_slot(form, scope))
            .into_iter()
            .flatten()
            .enumerate()
        {
            path.push(position);
            instance.visit_deeper(form, deeper, path, f);
            path.pop();
        }
    }
}

/// The slot, among its parent scope's repeats, of the repeat whose instances make `scope`.
pub(crate) fn repeat_slot(form: &CompiledForm, scope: usize) -> usize {
    match form.scopes[scope].repeat.map(|r| &form.items[r].kind) {
        Some(ItemKind::Repeat { slot, .. }) => *slot,
        _ => usize::MAX,
    }
}

/// The repeat scopes around `item`, outermost first.
pub(crate) fn chain_of(form: &CompiledForm, item: usize) -> &[usize] {
    &form.scopes[form.items[item].scope].chain
}

/// How many leading repeat scopes two chains share.
pub(crate) fn shared_depth(a: &[usize], b: &[usize]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}
