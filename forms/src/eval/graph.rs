//! The dependency graph of a form, built once: which computed cells feed which, in an order
//! where every cell comes after what it reads. Cells are per item and kind; the instances of a
//! repeat share their item's node, and `Edge::any_instance` says when a cell reads instances
//! other than its own (`indexed-repeat`).

use super::cexpr::CExpr;
use super::compile::CompiledForm;
use super::error::{Column, CompileError, Problem};
use super::functions::Function;
use std::collections::VecDeque;

/// The stored answer of a question (an input).
pub(crate) const ANSWER: usize = 0;
/// The value expressions see: the answer or calculation, empty while hidden.
pub(crate) const VALUE: usize = 1;
/// Whether the item is shown (its own `relevant` and its parents').
pub(crate) const RELEVANT: usize = 2;
/// Everything the UI reads and nothing else does: required, constraint, read_only, choices,
/// repeat_count, default, and the label, hint and choice labels rendered.
pub(crate) const OUTPUTS: usize = 3;
pub(crate) const KINDS: usize = 4;

pub(crate) fn node(item: usize, kind: usize) -> usize {
    item * KINDS + kind
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Edge {
    pub node: usize,
    pub any_instance: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Graph {
    /// For each node, the nodes that read it.
    pub dependents: Vec<Vec<Edge>>,
    /// Each node's place in a topological order.
    pub rank: Vec<usize>,
    /// Every node, in topological order.
    pub order: Vec<usize>,
}

impl Graph {
    /// The node of the form's `instance_name`.
    pub(crate) fn instance_name_node(form: &CompiledForm) -> usize {
        form.items.len() * KINDS
    }

    pub(crate) fn build(form: &CompiledForm) -> Result<Graph, Vec<CompileError>> {
        let deps = dependencies(form);
        let mut dependents = vec![Vec::new(); deps.len()];
        for (reader, read) in deps.iter().enumerate() {
            for edge in read {
                dependents[edge.node].push(Edge {
                    node: reader,
                    any_instance: edge.any_instance,
                });
            }
        }
        let order = topological_order(&deps, &dependents);
        if order.len() < deps.len() {
            return Err(cycle_errors(form, &deps, &order));
        }
        let mut rank = vec![0; deps.len()];
        for (place, &n) in order.iter().enumerate() {
            rank[n] = place;
        }
        Ok(Graph {
            dependents,
            rank,
            order,
        })
    }
}

/// For each node, the nodes it reads.
fn dependencies(form: &CompiledForm) -> Vec<Vec<Edge>> {
    let mut deps = vec![Vec::new(); form.items.len() * KINDS + 1];
    let plain = |n| Edge {
        node: n,
        any_instance: false,
    };
    for (id, item) in form.items.iter().enumerate() {
        let c = &item.columns;
        let value = &mut deps[node(id, VALUE)];
        value.extend([plain(node(id, ANSWER)), plain(node(id, RELEVANT))]);
        expression_deps(form, id, c.calculation.as_ref(), value);
        let relevant = &mut deps[node(id, RELEVANT)];
        relevant.extend(item.parent.map(|p| plain(node(p, RELEVANT))));
        expression_deps(form, id, c.relevant.as_ref(), relevant);
        let outputs = &mut deps[node(id, OUTPUTS)];
        outputs.extend([
            plain(node(id, ANSWER)),
            plain(node(id, RELEVANT)),
            plain(node(id, VALUE)),
        ]);
        for column in [
            &c.required,
            &c.constraint,
            &c.read_only,
            &c.choice_filter,
            &c.repeat_count,
            &c.default,
        ] {
            expression_deps(form, id, column.as_ref(), outputs);
        }
        let choice_labels = item
            .choice_list()
            .and_then(|list| form.choice_labels.get(list))
            .into_iter()
            .flatten()
            .map(|(_, label)| label);
        for text in c.label.iter().chain(&c.hint).chain(choice_labels) {
            for value in text.values() {
                expression_deps(form, id, Some(value), outputs);
            }
        }
    }
    let last = deps.len() - 1;
    // instance_name has no item of its own; `.` and once() read nothing there.
    expression_deps(
        form,
        usize::MAX,
        form.instance_name.as_ref(),
        &mut deps[last],
    );
    deps
}

/// The nodes `expr`, a column of item `owner`, reads.
fn expression_deps(form: &CompiledForm, owner: usize, expr: Option<&CExpr>, into: &mut Vec<Edge>) {
    let Some(expr) = expr else { return };
    expr.visit(false, &mut |e, any_instance| {
        let read = match e {
            CExpr::Ref(id) if form.items[*id].is_question() => Some(node(*id, VALUE)),
            CExpr::CurrentAnswer | CExpr::Call(Function::Once, _) if owner != usize::MAX => {
                Some(node(owner, ANSWER))
            }
            CExpr::CurrentValue if owner != usize::MAX => Some(node(owner, VALUE)),
            _ => None,
        };
        if let Some(n) = read {
            into.push(Edge {
                node: n,
                any_instance,
            });
        }
    });
}

/// Kahn's algorithm; nodes on or after a cycle are left out.
fn topological_order(deps: &[Vec<Edge>], dependents: &[Vec<Edge>]) -> Vec<usize> {
    let mut waiting: Vec<usize> = deps.iter().map(Vec::len).collect();
    let mut ready: VecDeque<usize> = (0..deps.len()).filter(|&n| waiting[n] == 0).collect();
    let mut order = Vec::with_capacity(deps.len());
    while let Some(n) = ready.pop_front() {
        order.push(n);
        for edge in &dependents[n] {
            waiting[edge.node] -= 1;
            if waiting[edge.node] == 0 {
                ready.push_back(edge.node);
            }
        }
    }
    order
}

/// One error per cycle among the nodes the topological order could not place.
fn cycle_errors(form: &CompiledForm, deps: &[Vec<Edge>], order: &[usize]) -> Vec<CompileError> {
    let mut stuck = vec![true; deps.len()];
    order.iter().for_each(|&n| stuck[n] = false);
    let mut errors = Vec::new();
    while let Some(start) = (0..deps.len()).find(|&n| stuck[n]) {
        let cycle = find_cycle(deps, &stuck, start);
        cycle.iter().for_each(|&n| stuck[n] = false);
        // Nodes downstream of this cycle are stuck too; only report those on another cycle.
        let still_stuck = reachable_cycles(deps, &mut stuck);
        errors.push(cycle_error(form, &cycle));
        if !still_stuck {
            break;
        }
    }
    errors
}

/// Walks back along stuck dependencies from `start` until a node repeats: that loop is a cycle.
fn find_cycle(deps: &[Vec<Edge>], stuck: &[bool], start: usize) -> Vec<usize> {
    let mut path = vec![start];
    loop {
        let current = *path.last().unwrap_or(&start);
        let Some(next) = deps[current].iter().map(|e| e.node).find(|&d| stuck[d]) else {
            return path;
        };
        if let Some(at) = path.iter().position(|&n| n == next) {
            return path.split_off(at);
        }
        path.push(next);
    }
}

/// Clears the stuck mark of nodes no longer on any cycle; returns whether any remain stuck.
fn reachable_cycles(deps: &[Vec<Edge>], stuck: &mut [bool]) -> bool {
    loop {
        let freed: Vec<usize> = (0..deps.len())
            .filter(|&n| stuck[n] && !deps[n].iter().any(|e| stuck[e.node]))
            .collect();
        if freed.is_empty() {
            return stuck.iter().any(|&s| s);
        }
        freed.into_iter().for_each(|n| stuck[n] = false);
    }
}

fn cycle_error(form: &CompiledForm, cycle: &[usize]) -> CompileError {
    let mut names: Vec<String> = Vec::new();
    for &n in cycle.iter().chain(cycle.first()) {
        let name = &form.items[n / KINDS].key;
        if names.last() != Some(name) {
            names.push(name.clone());
        }
    }
    if names.len() == 1 {
        names.push(names[0].clone());
    }
    let written = |n: &usize| {
        let columns = &form.items[n / KINDS].columns;
        (n % KINDS == VALUE && columns.calculation.is_some())
            || (n % KINDS == RELEVANT && columns.relevant.is_some())
    };
    let reported = cycle.iter().copied().find(written).unwrap_or(cycle[0]);
    let column = if reported % KINDS == VALUE {
        Column::Calculation
    } else {
        Column::Relevant
    };
    CompileError {
        item: Some(form.items[reported / KINDS].key.clone()),
        column,
        problem: Problem::Cycle(names),
    }
}
