//! The dependency graph of a compiled form: which cells each cell reads, from its columns'
//! expressions, ordered by [`Graph::build`]; a cycle is reported as an error naming its items.

use super::cexpr::CExpr;
use super::compiled::CompiledForm;
use super::error::{Column, CompileError, Problem};
use super::functions::Function;
use super::graph::{node, Edge, Graph, ANSWER, KINDS, OUTPUTS, RELEVANT, VALUE};

/// The form's graph; on a cycle, one error per cycle.
/// Cost: O(cells + references), see [`Graph::build`].
pub(crate) fn graph_of(form: &CompiledForm) -> Result<Graph, Vec<CompileError>> {
    Graph::build(&dependencies(form)).map_err(|cycles| {
        cycles
            .iter()
            .map(|cycle| cycle_error(form, cycle))
            .collect()
    })
}

/// For each node, the nodes it reads.
fn dependencies(form: &CompiledForm) -> Vec<Vec<Edge>> {
    let mut deps = vec![Vec::new(); form.instance_name_node() + 1];
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
