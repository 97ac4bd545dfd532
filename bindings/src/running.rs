//! What closing a store, or the process exiting, stops: the sync agents started on it, held
//! weakly (an agent the app dropped has stopped already) behind a small trait, so that the
//! store need not know the agent's type.

use std::sync::{Arc, Mutex, MutexGuard, Weak};

/// Something with a thread of its own that must end before its store closes.
pub(crate) trait Stop: Send + Sync {
    /// Stops it and waits for its thread. Idempotent.
    fn stop(&self);
}

/// Sync agents to stop together: a store's (when it closes) and the process's (at its exit).
/// Holds them weakly: an agent the app dropped has stopped already.
#[derive(Default)]
pub(crate) struct Agents(Mutex<Vec<Weak<dyn Stop>>>);

impl Agents {
    pub(crate) const fn new() -> Self {
        Self(Mutex::new(Vec::new()))
    }

    pub(crate) fn keep(&self, agent: &Arc<dyn Stop>) {
        let mut agents = self.lock();
        agents.retain(|kept| kept.strong_count() > 0);
        agents.push(Arc::downgrade(agent));
    }

    /// Stops every agent and waits for its thread, outside the list's lock (an observer on an
    /// agent's thread may start another agent meanwhile). Cost: up to one round trip in
    /// flight per agent (it stops at the next page boundary).
    pub(crate) fn stop_all(&self) {
        let agents = std::mem::take(&mut *self.lock());
        for agent in agents.iter().filter_map(Weak::upgrade) {
            agent.stop();
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Weak<dyn Stop>>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
