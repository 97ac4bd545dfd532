//! The time the sync agent plans by: the system's monotonic clock in apps, a clock moved by hand
//! in tests, so that backoff and debounce are tested without sleeping.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Called when a clock jumps ahead, so that a waiting agent looks at its plan again.
pub type Waker = Box<dyn Fn() + Send + Sync>;

/// What the agent asks the time of.
pub trait Clock: Send + Sync {
    fn now(&self) -> Instant;

    /// Keeps `wake`, to call it whenever this clock jumps ahead instead of running at the pace
    /// of real time (a test's clock moved by hand). A real clock never calls it.
    fn on_advance(&self, wake: Waker) {
        drop(wake);
    }
}

/// The system's monotonic clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that stands still until [`ManualClock::advance`] moves it: for tests.
pub struct ManualClock {
    now: Mutex<Instant>,
    wakers: Mutex<Vec<Waker>>,
}

impl ManualClock {
    /// A clock standing at the current instant.
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            now: Mutex::new(Instant::now()),
            wakers: Mutex::new(Vec::new()),
        })
    }

    /// Moves the clock `by` ahead and wakes every agent that plans by it.
    pub fn advance(&self, by: Duration) {
        *lock(&self.now) += by;
        for wake in lock(&self.wakers).iter() {
            wake();
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        *lock(&self.now)
    }

    fn on_advance(&self, wake: Waker) {
        lock(&self.wakers).push(wake);
    }
}

/// An instant or a list of wakers is never left half-changed, so a poisoned lock is safe.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn a_manual_clock_moves_only_when_advanced_and_wakes_its_listeners() {
        let clock = ManualClock::new();
        let start = clock.now();
        let woken = Arc::new(AtomicUsize::new(0));
        let counter = woken.clone();
        clock.on_advance(Box::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        }));
        assert_eq!(clock.now(), start);
        clock.advance(Duration::from_secs(5));
        assert_eq!(clock.now(), start + Duration::from_secs(5));
        assert_eq!(woken.load(Ordering::SeqCst), 1);
    }
}
