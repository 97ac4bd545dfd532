//! The responder's state machine (the hub, or a device that accepts syncs): it answers each
//! request of a session with one reply, applying the caller's policy to every document.

use std::sync::Arc;

use crate::error::SyncError;
use crate::ids::{Epoch, PeerId};
use crate::policy::Policy;
use crate::report::SyncReport;
use crate::side::Side;
use crate::store::{DocumentStore, PeerCursor};
use crate::wire::{Frame, Hello, Round, SessionId};
use crate::SyncOptions;

/// Answers the requests of sync sessions, one session at a time: a hello starts a new session
/// (abandoning any unfinished one). A request delivered twice gets the same reply again without
/// being applied twice.
pub struct Responder {
    local: PeerId,
    options: SyncOptions,
    policy: Arc<dyn Policy>,
    session: Option<Session>,
    received_total: u64,
}

struct Session {
    id: SessionId,
    round: u64,
    /// Our epoch, named in every reply.
    epoch: Epoch,
    /// The initiator's epoch, which every request of the session must name.
    peer_epoch: Epoch,
    side: Side,
    last_request: Vec<u8>,
    last_reply: Vec<u8>,
}

impl Responder {
    pub fn new(local: PeerId, options: SyncOptions, policy: Arc<dyn Policy>) -> Self {
        Self {
            local,
            options,
            policy,
            session: None,
            received_total: 0,
        }
    }

    /// Handles one request and returns the reply to send back. On an error nothing of the
    /// request was applied; send [`abort_frame`] to tell the initiator.
    pub fn respond<S: DocumentStore + ?Sized>(
        &mut self,
        store: &S,
        request: &[u8],
    ) -> Result<Vec<u8>, SyncError> {
        if let Some(session) = &self.session {
            if session.last_request == request {
                return Ok(session.last_reply.clone());
            }
        }
        let result = match Frame::decode(request, self.options.max_frame) {
            Ok(Frame::Hello(hello)) => self.start(store, hello, request),
            Ok(Frame::Request(round)) => self.continue_session(store, round, request),
            Ok(Frame::Abort { message }) => Err(SyncError::RemoteAbort { message }),
            Ok(Frame::Reply(_)) => Err(SyncError::UnexpectedMessage {
                expected: "hello or request",
                found: "reply",
            }),
            Err(error) => Err(error.into()),
        };
        if result.is_err() {
            // The initiator starts over with a new hello; what was committed stays.
            self.session = None;
        }
        result
    }

    /// Like [`Responder::respond`], but an error becomes an abort frame for the initiator.
    pub fn respond_or_abort<S: DocumentStore + ?Sized>(
        &mut self,
        store: &S,
        request: &[u8],
    ) -> Vec<u8> {
        self.respond(store, request)
            .unwrap_or_else(|error| abort_reply(request, &error))
    }

    fn start<S: DocumentStore + ?Sized>(
        &mut self,
        store: &S,
        hello: Hello,
        request: &[u8],
    ) -> Result<Vec<u8>, SyncError> {
        if let Some(to) = &hello.to {
            if *to != self.local {
                return Err(SyncError::WrongPeer {
                    addressed: to.to_string(),
                    local: self.local.to_string(),
                });
            }
        }
        let epoch = store.epoch()?;
        let stored = store.peer_cursor(&hello.from)?;
        // The initiator's cursor counts in our sequence numbers only if it learnt it from
        // this very store (a restored backup has a new epoch and may reuse numbers).
        let pull_since = match hello.to_epoch {
            Some(known) if known == epoch => hello.pull_since,
            _ => 0,
        };
        let cursor = PeerCursor {
            theirs: stored.theirs,
            ours: pull_since,
        };
        let known_peer = store.peer_epoch(&hello.from)?;
        let mut side = Side::new(hello.from, self.options, self.policy.clone(), cursor);
        if known_peer != Some(hello.epoch) {
            side.forget_peer(hello.epoch);
        }
        let mut session = Session {
            id: hello.session,
            round: 0,
            epoch,
            peer_epoch: hello.epoch,
            side,
            last_request: Vec::new(),
            last_reply: Vec::new(),
        };
        let reply = session.answer(store, hello.body, request)?;
        self.received_total += session.side.report.received as u64;
        self.session = Some(session);
        Ok(reply)
    }

    fn continue_session<S: DocumentStore + ?Sized>(
        &mut self,
        store: &S,
        round: Round,
        request: &[u8],
    ) -> Result<Vec<u8>, SyncError> {
        let session = self.session.as_mut().ok_or(SyncError::WrongSession)?;
        if round.session != session.id {
            return Err(SyncError::WrongSession);
        }
        if round.epoch != session.peer_epoch {
            return Err(SyncError::EpochChanged {
                started: session.peer_epoch,
                now: round.epoch,
            });
        }
        if round.round != session.round + 1 {
            return Err(SyncError::WrongRound {
                expected: session.round + 1,
                found: round.round,
            });
        }
        if round.round >= self.options.max_rounds {
            return Err(SyncError::TooManyRounds {
                rounds: round.round,
            });
        }
        session.round = round.round;
        let received_before = session.side.report.received;
        let reply = session.answer(store, round.body, request)?;
        self.received_total += session.side.report.received.saturating_sub(received_before) as u64;
        Ok(reply)
    }

    /// The report of the current (or last) session.
    pub fn report(&self) -> Option<&SyncReport> {
        self.session.as_ref().map(|session| &session.side.report)
    }

    /// Documents whose received changes were committed here, over every session answered so
    /// far (each document once per session): what a hub counts as documents received.
    pub fn received_total(&self) -> u64 {
        self.received_total
    }
}

impl Session {
    fn answer<S: DocumentStore + ?Sized>(
        &mut self,
        store: &S,
        body: crate::wire::Body,
        request: &[u8],
    ) -> Result<Vec<u8>, SyncError> {
        self.side.report.bytes_received += request.len() as u64;
        self.side.report.round_trips += 1;
        self.side.receive(store, body)?;
        let body = self.side.next_body(store)?;
        self.side.flush(store)?;
        let reply = Frame::Reply(Round {
            session: self.id,
            round: self.round,
            epoch: self.epoch,
            body,
        })
        .encode();
        self.side.report.bytes_sent += reply.len() as u64;
        self.last_request = request.to_vec();
        self.last_reply = reply.clone();
        Ok(reply)
    }
}

/// The frame that tells the initiator why its session ended.
pub fn abort_frame(error: &SyncError) -> Vec<u8> {
    Frame::Abort {
        message: error.to_string(),
    }
    .encode()
}

/// The abort for `request`, framed so that its sender can read it: an initiator still speaking
/// the previous protocol version is told, in that version's framing, to update.
pub fn abort_reply(request: &[u8], error: &SyncError) -> Vec<u8> {
    match (request.get(..4), request.get(4), error) {
        (
            Some(magic),
            Some(&version),
            SyncError::Wire(crate::WireError::UnsupportedVersion { .. }),
        ) if magic == crate::wire::MAGIC => crate::wire::abort_in_version(
            version,
            &format!(
                "{error}: this peer speaks sync protocol version {}; update the app",
                crate::wire::VERSION
            ),
        ),
        _ => abort_frame(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{crc32, PREVIOUS_VERSION, TRAILER_LEN};
    use crate::{AllowAll, Initiator, MemoryStore};

    #[test]
    fn an_initiator_of_the_previous_version_is_told_to_update_in_its_own_framing() {
        let phone = MemoryStore::new();
        let peer = |name: &str| PeerId::new(name).unwrap();
        let options = SyncOptions::default();
        let mut hello = Initiator::new(peer("phone"), peer("hub"), options, Arc::new(AllowAll))
            .start(&phone)
            .unwrap();
        hello[4] = PREVIOUS_VERSION;
        let checked = hello.len() - TRAILER_LEN;
        let checksum = crc32(&hello[..checked]);
        hello[checked..].copy_from_slice(&checksum.to_be_bytes());

        let mut responder = Responder::new(peer("hub"), options, Arc::new(AllowAll));
        let abort = responder.respond_or_abort(&MemoryStore::new(), &hello);
        assert_eq!(abort[4], PREVIOUS_VERSION);
        let text = String::from_utf8_lossy(&abort);
        assert!(text.contains("version 4; update the app"), "{text}");
    }
}
