//! Following one change through the dependency graph: the cells that read it, then theirs, in
//! rank order, each listed once; or one full pass when the change reaches most of the form.

use super::FormSession;
use crate::eval::graph::KINDS;
use crate::eval::state::Delta;
use crate::eval::tree::{chain_of, shared_depth};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

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
    /// Recomputes what depends on `start` at `positions`, node by node in rank order (a node's
    /// cells are all known once every lower-ranked node is done); returns what changed.
    pub(super) fn propagate(&mut self, start: usize, positions: Vec<usize>) -> Delta {
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
                    edits: Vec::new(),
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
            edits: Vec::new(),
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
        if n == self.form.instance_name_node() {
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
    pub(super) fn cells_of(&self, n: usize, prefix: &[usize]) -> Vec<Vec<usize>> {
        self.root
            .paths_under(&self.form, self.chain_of_node(n), prefix)
    }

    fn chain_of_node(&self, n: usize) -> &[usize] {
        if n == self.form.instance_name_node() {
            &[]
        } else {
            chain_of(&self.form, n / KINDS)
        }
    }
}
