//! When to sync with each peer, so that an app never writes retry logic: the app reports the
//! network coming and going, local changes and sync outcomes; the schedule says which peer to
//! sync next and when to look again. Sans-IO and clock-free: every call takes `now`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::ids::PeerId;

/// How eagerly to sync.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScheduleOptions {
    /// How long after a local change to sync (more changes in the meantime join the same sync).
    pub after_change: Duration,
    /// The wait after a first failure; doubled after each further one, up to `max_backoff`.
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    /// A sync with each peer at least this often while online (it may bring the peer's news).
    pub periodic: Duration,
}

impl Default for ScheduleOptions {
    fn default() -> Self {
        Self {
            after_change: Duration::from_secs(2),
            min_backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(600),
            periodic: Duration::from_secs(900),
        }
    }
}

#[derive(Clone, Debug)]
struct PeerState {
    due: Instant,
    running: bool,
    failures: u32,
}

/// The sync plan of one store with its peers.
#[derive(Clone, Debug)]
pub struct Schedule {
    options: ScheduleOptions,
    online: bool,
    peers: BTreeMap<PeerId, PeerState>,
}

impl Schedule {
    /// Starts offline; [`Schedule::set_online`] tells it the network is there.
    pub fn new(options: ScheduleOptions) -> Self {
        Self {
            options,
            online: false,
            peers: BTreeMap::new(),
        }
    }

    /// A peer to keep in sync with; due at once.
    pub fn add_peer(&mut self, peer: PeerId, now: Instant) {
        self.peers.entry(peer).or_insert(PeerState {
            due: now,
            running: false,
            failures: 0,
        });
    }

    pub fn remove_peer(&mut self, peer: &PeerId) {
        self.peers.remove(peer);
    }

    /// The network came or went. Coming back makes every peer due at once, whatever its backoff:
    /// the failures were most likely the missing network.
    pub fn set_online(&mut self, online: bool, now: Instant) {
        if online && !self.online {
            for state in self.peers.values_mut() {
                state.due = now;
                state.failures = 0;
            }
        }
        self.online = online;
    }

    /// Something changed locally: every peer is due soon (not later than it already was).
    pub fn local_change(&mut self, now: Instant) {
        let soon = now + self.options.after_change;
        for state in self.peers.values_mut() {
            state.due = state.due.min(soon);
        }
    }

    /// The app asks for a sync with everyone now.
    pub fn request_sync(&mut self, now: Instant) {
        for state in self.peers.values_mut() {
            state.due = now;
        }
    }

    /// The next peer to sync with now, marked as running; `None` when offline or nothing is
    /// due. A running peer is never returned again before [`Schedule::finished`]: never two
    /// syncs with one peer at once.
    pub fn start_next(&mut self, now: Instant) -> Option<PeerId> {
        if !self.online {
            return None;
        }
        let (peer, state) = self
            .peers
            .iter_mut()
            .filter(|(_, state)| !state.running && state.due <= now)
            .min_by_key(|(_, state)| state.due)?;
        state.running = true;
        // the next sync after this one, unless a change or a request comes sooner
        state.due = now + self.options.periodic;
        Some(peer.clone())
    }

    /// When to call [`Schedule::start_next`] again: the earliest due time of an idle peer.
    pub fn next_wakeup(&self) -> Option<Instant> {
        if !self.online {
            return None;
        }
        self.peers
            .values()
            .filter(|state| !state.running)
            .map(|state| state.due)
            .min()
    }

    /// A sync with `peer` ended. After a failure the next try waits, doubling each time.
    pub fn finished(&mut self, peer: &PeerId, succeeded: bool, now: Instant) {
        let options = self.options;
        let Some(state) = self.peers.get_mut(peer) else {
            return;
        };
        state.running = false;
        if succeeded {
            state.failures = 0;
            return;
        }
        state.failures += 1;
        let doublings = state.failures.saturating_sub(1).min(20);
        let backoff = options.min_backoff.saturating_mul(1 << doublings);
        state.due = now + backoff.min(options.max_backoff);
    }

    /// When `peer` is next due (after a failure: when the retry comes); `None` for a peer it
    /// does not know.
    pub fn due(&self, peer: &PeerId) -> Option<Instant> {
        self.peers.get(peer).map(|state| state.due)
    }

    /// Failures in a row with `peer` (0 after a success).
    pub fn failures(&self, peer: &PeerId) -> u32 {
        self.peers.get(peer).map_or(0, |state| state.failures)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub() -> PeerId {
        PeerId::new("hub").unwrap()
    }

    fn schedule(now: Instant) -> Schedule {
        let mut schedule = Schedule::new(ScheduleOptions::default());
        schedule.add_peer(hub(), now);
        schedule
    }

    #[test]
    fn nothing_runs_offline_and_coming_online_syncs_at_once() {
        let now = Instant::now();
        let mut schedule = schedule(now);
        assert_eq!(schedule.start_next(now), None);
        assert_eq!(schedule.next_wakeup(), None);
        schedule.set_online(true, now);
        assert_eq!(schedule.start_next(now), Some(hub()));
    }

    #[test]
    fn a_running_peer_is_never_started_twice() {
        let now = Instant::now();
        let mut schedule = schedule(now);
        schedule.set_online(true, now);
        assert_eq!(schedule.start_next(now), Some(hub()));
        schedule.request_sync(now);
        assert_eq!(schedule.start_next(now), None);
        schedule.finished(&hub(), true, now);
        assert_eq!(
            schedule.start_next(now),
            Some(hub()),
            "the request made while running"
        );
    }

    #[test]
    fn failures_back_off_doubling_up_to_the_limit_and_reset_when_online_again() {
        let options = ScheduleOptions::default();
        let mut now = Instant::now();
        let mut schedule = schedule(now);
        schedule.set_online(true, now);
        let mut waits = Vec::new();
        for _ in 0..10 {
            assert_eq!(schedule.start_next(now), Some(hub()));
            schedule.finished(&hub(), false, now);
            let due = schedule.next_wakeup().unwrap();
            assert_eq!(schedule.start_next(due - Duration::from_millis(1)), None);
            waits.push(due - now);
            now = due;
        }
        assert_eq!(waits[0], options.min_backoff);
        assert_eq!(schedule.due(&hub()), Some(now));
        assert_eq!(waits[1], options.min_backoff * 2);
        assert_eq!(*waits.last().unwrap(), options.max_backoff);
        assert_eq!(schedule.failures(&hub()), 10);
        schedule.set_online(false, now);
        schedule.set_online(true, now);
        assert_eq!(schedule.failures(&hub()), 0);
        assert_eq!(schedule.start_next(now), Some(hub()));
    }

    #[test]
    fn a_local_change_brings_the_next_sync_forward_and_success_waits_for_the_period() {
        let options = ScheduleOptions::default();
        let now = Instant::now();
        let mut schedule = schedule(now);
        schedule.set_online(true, now);
        schedule.start_next(now);
        schedule.finished(&hub(), true, now);
        assert_eq!(schedule.next_wakeup(), Some(now + options.periodic));
        schedule.local_change(now);
        assert_eq!(schedule.next_wakeup(), Some(now + options.after_change));
        assert_eq!(schedule.start_next(now), None);
        assert_eq!(schedule.start_next(now + options.after_change), Some(hub()));
    }
}
