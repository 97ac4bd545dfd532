//! The dependency graph of a form, built once: which computed cells feed which, in an order
//! where every cell comes after what it reads. Cells are per item and kind; the instances of a
//! repeat share their item's node, and `Edge::any_instance` says when a cell reads instances
//! other than its own (`indexed-repeat`). Only numbers here: which cell reads which, taken
//! from a form's expressions, is `dependencies.rs`'s part.

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
    /// Orders the nodes, given for each node the nodes it reads (`deps`); on a cycle, every
    /// cycle found, each as its nodes, each node reading the next (and the last the first).
    /// Cost: O(nodes + edges), and up to O(nodes × edges) more per cycle reported.
    pub(crate) fn build(deps: &[Vec<Edge>]) -> Result<Graph, Vec<Vec<usize>>> {
        let mut dependents = vec![Vec::new(); deps.len()];
        for (reader, read) in deps.iter().enumerate() {
            for edge in read {
                dependents[edge.node].push(Edge {
                    node: reader,
                    any_instance: edge.any_instance,
                });
            }
        }
        let order = topological_order(deps, &dependents);
        if order.len() < deps.len() {
            return Err(cycles(deps, &order));
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

/// Every cycle among the nodes the topological order could not place, each as its nodes.
fn cycles(deps: &[Vec<Edge>], order: &[usize]) -> Vec<Vec<usize>> {
    let mut stuck = vec![true; deps.len()];
    order.iter().for_each(|&n| stuck[n] = false);
    let mut cycles = Vec::new();
    while let Some(start) = (0..deps.len()).find(|&n| stuck[n]) {
        let cycle = find_cycle(deps, &stuck, start);
        cycle.iter().for_each(|&n| stuck[n] = false);
        // Nodes downstream of this cycle are stuck too; only report those on another cycle.
        let still_stuck = reachable_cycles(deps, &mut stuck);
        cycles.push(cycle);
        if !still_stuck {
            break;
        }
    }
    cycles
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

#[cfg(test)]
mod tests {
    use super::*;

    fn reads(nodes: &[&[usize]]) -> Vec<Vec<Edge>> {
        let edge = |&node: &usize| Edge {
            node,
            any_instance: false,
        };
        nodes
            .iter()
            .map(|read| read.iter().map(edge).collect())
            .collect()
    }

    #[test]
    fn every_node_comes_after_what_it_reads() {
        // 0 reads 2, 2 reads 1, 3 reads 0 and 1.
        let graph = Graph::build(&reads(&[&[2], &[], &[1], &[0, 1]])).unwrap();
        assert_eq!(graph.order, [1, 2, 0, 3]);
        assert_eq!(graph.rank, [2, 0, 1, 3]);
        assert_eq!(graph.dependents[1].len(), 2);
    }

    #[test]
    fn each_cycle_is_reported_once_and_what_only_reads_one_is_not() {
        // 0 and 1 read each other, 2 reads itself, 3 reads the first cycle.
        let cycles = Graph::build(&reads(&[&[1], &[0], &[2], &[0]])).unwrap_err();
        assert_eq!(cycles, [vec![0, 1], vec![2]]);
    }
}
