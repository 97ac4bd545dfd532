//! The agent's plan: sync's `Schedule` (who is due when) and what happened with each peer
//! (attempts, successes, the last error, changes waiting), changed together under one lock so
//! that a status snapshot never sees one without the other.

use super::status::{AgentStatus, PeerStatus};
use crate::storage::observer::SyncFailure;
use minga_sync::schedule::{Schedule, ScheduleOptions};
use minga_sync::PeerId;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// What the schedule does not keep of a peer.
#[derive(Clone, Debug, Default)]
struct PeerRecord {
    syncing: bool,
    last_attempt: Option<Instant>,
    last_success: Option<Instant>,
    last_error: Option<SyncFailure>,
    changes_waiting: bool,
}

pub(super) struct Plan {
    schedule: Schedule,
    online: bool,
    revoked: bool,
    records: BTreeMap<PeerId, PeerRecord>,
}

impl Plan {
    /// Offline, every peer due at once when the network comes.
    pub(super) fn new<'a>(
        options: ScheduleOptions,
        peers: impl Iterator<Item = &'a PeerId>,
        now: Instant,
    ) -> Plan {
        let mut schedule = Schedule::new(options);
        let mut records = BTreeMap::new();
        for peer in peers {
            schedule.add_peer(peer.clone(), now);
            records.insert(peer.clone(), PeerRecord::default());
        }
        Plan {
            schedule,
            online: false,
            revoked: false,
            records,
        }
    }

    pub(super) fn set_online(&mut self, online: bool, now: Instant) {
        self.online = online;
        self.schedule.set_online(online, now);
    }

    pub(super) fn request_sync(&mut self, now: Instant) {
        self.schedule.request_sync(now);
    }

    pub(super) fn local_change(&mut self, now: Instant) {
        if self.revoked {
            return;
        }
        self.schedule.local_change(now);
        for record in self.records.values_mut() {
            record.changes_waiting = true;
        }
    }

    /// The next peer due now, marked as syncing (see `Schedule::start_next`).
    pub(super) fn start_next(&mut self, now: Instant) -> Option<PeerId> {
        let peer = self.schedule.start_next(now)?;
        if let Some(record) = self.records.get_mut(&peer) {
            record.syncing = true;
            record.last_attempt = Some(now);
            record.changes_waiting = false;
        }
        Some(peer)
    }

    pub(super) fn next_wakeup(&self) -> Option<Instant> {
        self.schedule.next_wakeup()
    }

    pub(super) fn succeeded(&mut self, peer: &PeerId, now: Instant) {
        self.schedule.finished(peer, true, now);
        if let Some(record) = self.records.get_mut(peer) {
            record.syncing = false;
            record.last_success = Some(now);
            record.last_error = None;
        }
    }

    /// Records a failed sync; returns the failures in a row and how long until the retry.
    pub(super) fn failed(
        &mut self,
        peer: &PeerId,
        error: &SyncFailure,
        now: Instant,
    ) -> (u32, Option<Duration>) {
        self.schedule.finished(peer, false, now);
        if let Some(record) = self.records.get_mut(peer) {
            record.syncing = false;
            record.last_error = Some(error.clone());
        }
        let retry_in = self
            .schedule
            .due(peer)
            .map(|due| due.saturating_duration_since(now));
        (self.schedule.failures(peer), retry_in)
    }

    /// A peer revoked this device: nothing is planned any more.
    pub(super) fn revoke(&mut self) {
        self.revoked = true;
        for (peer, record) in &mut self.records {
            self.schedule.remove_peer(peer);
            record.syncing = false;
            record.changes_waiting = false;
        }
    }

    pub(super) fn status(&self, now: Instant) -> AgentStatus {
        AgentStatus {
            at: now,
            network_available: self.online,
            revoked: self.revoked,
            peers: self
                .records
                .iter()
                .map(|(peer, record)| self.peer_status(peer, record))
                .collect(),
        }
    }

    fn peer_status(&self, peer: &PeerId, record: &PeerRecord) -> PeerStatus {
        let planned = self.online && !self.revoked && !record.syncing;
        PeerStatus {
            peer: peer.clone(),
            syncing: record.syncing,
            last_attempt: record.last_attempt,
            last_success: record.last_success,
            last_error: record.last_error.clone(),
            failures: self.schedule.failures(peer),
            next_attempt: self.schedule.due(peer).filter(|_| planned),
            changes_waiting: record.changes_waiting,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub() -> PeerId {
        PeerId::new("hub").unwrap()
    }

    fn plan(now: Instant) -> Plan {
        Plan::new(ScheduleOptions::default(), [hub()].iter(), now)
    }

    #[test]
    fn a_peer_due_offline_shows_no_next_attempt_until_the_network_comes() {
        let now = Instant::now();
        let mut plan = plan(now);
        assert_eq!(plan.status(now).peers[0].next_attempt, None);
        plan.set_online(true, now);
        let status = plan.status(now);
        assert!(status.network_available);
        assert_eq!(status.peers[0].next_attempt, Some(now));
    }

    #[test]
    fn a_change_waits_until_a_sync_starts_and_one_during_a_sync_waits_for_the_next() {
        let now = Instant::now();
        let mut plan = plan(now);
        plan.local_change(now);
        assert!(plan.status(now).peers[0].changes_waiting);
        plan.set_online(true, now);
        assert_eq!(plan.start_next(now), Some(hub()));
        let syncing = &plan.status(now).peers[0];
        assert!(syncing.syncing && !syncing.changes_waiting);
        assert_eq!(syncing.next_attempt, None, "none while syncing");
        plan.local_change(now);
        plan.succeeded(&hub(), now);
        let after = &plan.status(now).peers[0];
        assert!(!after.syncing && after.changes_waiting);
        let after_change = ScheduleOptions::default().after_change;
        assert_eq!(after.next_attempt, Some(now + after_change));
    }

    #[test]
    fn a_success_clears_the_last_error_and_a_revoke_plans_nothing() {
        let now = Instant::now();
        let mut plan = plan(now);
        plan.set_online(true, now);
        plan.start_next(now);
        let error = SyncFailure::Protocol {
            message: "bad frame".into(),
        };
        assert_eq!(
            plan.failed(&hub(), &error, now),
            (1, Some(ScheduleOptions::default().min_backoff))
        );
        assert_eq!(plan.status(now).peers[0].last_error, Some(error));
        plan.request_sync(now);
        plan.start_next(now);
        plan.succeeded(&hub(), now);
        let status = plan.status(now);
        assert_eq!(status.peers[0].last_error, None);
        assert_eq!(status.peers[0].failures, 0);
        plan.revoke();
        plan.local_change(now);
        let revoked = plan.status(now);
        assert!(revoked.revoked);
        assert_eq!(revoked.peers[0].next_attempt, None);
        assert!(!revoked.peers[0].changes_waiting);
        assert_eq!(plan.start_next(now), None);
    }
}
