//! The initiator's state machine (a phone, or a tablet syncing with another device): it opens a
//! session with a hello, then turns each reply into the next request until both sides are done.

use std::sync::Arc;

use crate::attachments::ContentHash;
use crate::error::SyncError;
use crate::ids::{Epoch, PeerId};
use crate::policy::Policy;
use crate::report::{Progress, SyncReport};
use crate::side::Side;
use crate::store::DocumentStore;
use crate::wire::{Frame, Hello, Round, SessionId};
use crate::SyncOptions;

/// What to do after a reply.
#[derive(Debug)]
pub enum Step {
    /// Send these bytes and hand the reply to [`Initiator::receive`].
    Send(Vec<u8>),
    /// The session is over; everything is committed.
    Done(SyncReport),
}

/// The initiating side of one sync session. Sans-IO: the caller moves the bytes.
pub struct Initiator {
    local: PeerId,
    session: SessionId,
    round: u64,
    side: Side,
    options: crate::SyncOptions,
    finished: bool,
    /// The responder's epoch our stored state with it was learnt from, and after its first
    /// reply the epoch it named.
    peer_epoch: Option<Epoch>,
    /// Our store's epoch, read once when the session starts and named in every request.
    epoch: Option<Epoch>,
}

impl Initiator {
    /// A session of `local` with `remote`, whose documents it reads and writes through `policy`.
    pub fn new(
        local: PeerId,
        remote: PeerId,
        options: SyncOptions,
        policy: Arc<dyn Policy>,
    ) -> Self {
        Self {
            local,
            session: *uuid::Uuid::new_v4().as_bytes(),
            round: 0,
            side: Side::new(remote, options, policy, Default::default()),
            options,
            finished: false,
            peer_epoch: None,
            epoch: None,
        }
    }

    /// The peer this session syncs with.
    pub fn peer(&self) -> &PeerId {
        &self.side.peer
    }

    /// Makes this session fetch exactly these attachments (of those stored documents reference
    /// and this store lacks), whatever `SyncOptions::fetch_attachments` says: how a device that
    /// syncs without attachments (a supervisor's) fetches one on demand, with the progress and
    /// report of any session. Documents sync as always.
    pub fn fetching_attachments(mut self, hashes: Vec<ContentHash>) -> Self {
        self.side.fetch_attachments_only(hashes);
        self
    }

    /// The hello: our cursors with the peer and our first page of changed documents.
    pub fn start<S: DocumentStore + ?Sized>(&mut self, store: &S) -> Result<Vec<u8>, SyncError> {
        let cursor = store.peer_cursor(&self.side.peer)?;
        self.peer_epoch = store.peer_epoch(&self.side.peer)?;
        let epoch = store.epoch()?;
        self.epoch = Some(epoch);
        self.side.resume_from(cursor);
        let body = self.side.next_body(store)?;
        let hello = Frame::Hello(Hello {
            session: self.session,
            from: self.local.clone(),
            epoch,
            to: Some(self.side.peer.clone()),
            to_epoch: self.peer_epoch,
            pull_since: cursor.theirs,
            body,
        });
        Ok(self.sent(hello.encode()))
    }

    /// Takes the responder's reply: commits what it brought, then says what to send next.
    pub fn receive<S: DocumentStore + ?Sized>(
        &mut self,
        store: &S,
        reply: &[u8],
    ) -> Result<Step, SyncError> {
        if self.finished {
            return Err(SyncError::Finished);
        }
        self.side.report.bytes_received += reply.len() as u64;
        self.side.report.round_trips += 1;
        let round = self.expect_reply(Frame::decode(reply, self.options.max_frame)?)?;
        self.check_epoch(round.epoch)?;
        self.side.receive(store, round.body)?;
        let body = self.side.next_body(store)?;
        if self.is_over(&body) {
            self.side.flush(store)?;
            self.finished = true;
            return Ok(Step::Done(self.side.report.clone()));
        }
        if self.round + 1 >= self.options.max_rounds {
            return Err(SyncError::TooManyRounds { rounds: self.round });
        }
        self.round += 1;
        let request = Frame::Request(Round {
            session: self.session,
            round: self.round,
            epoch: match self.epoch {
                Some(epoch) => epoch,
                None => store.epoch()?, // a reply taken without a hello: it fails anyway
            },
            body,
        });
        Ok(Step::Send(self.sent(request.encode())))
    }

    fn expect_reply(&self, frame: Frame) -> Result<Round, SyncError> {
        let round = match frame {
            Frame::Reply(round) => round,
            Frame::Abort { message } => return Err(SyncError::RemoteAbort { message }),
            other => {
                return Err(SyncError::UnexpectedMessage {
                    expected: "reply",
                    found: other.name(),
                })
            }
        };
        if round.session != self.session {
            return Err(SyncError::WrongSession);
        }
        if round.round != self.round {
            return Err(SyncError::WrongRound {
                expected: self.round,
                found: round.round,
            });
        }
        Ok(round)
    }

    /// The first reply names the responder's epoch: another one than our stored state was
    /// learnt from (a hub restored from a backup, a peer met for the first time) makes us
    /// forget that state and offer everything again, as the responder then does from its side.
    /// Later replies must name the same epoch.
    fn check_epoch(&mut self, epoch: Epoch) -> Result<(), SyncError> {
        if self.round > 0 {
            return match self.peer_epoch {
                Some(started) if started != epoch => Err(SyncError::EpochChanged {
                    started,
                    now: epoch,
                }),
                _ => Ok(()),
            };
        }
        if self.peer_epoch != Some(epoch) {
            self.side.forget_peer(epoch);
            self.peer_epoch = Some(epoch);
        }
        Ok(())
    }

    /// Done when neither side has anything left to offer, ask for or send.
    fn is_over(&self, next: &crate::wire::Body) -> bool {
        next.is_empty()
            && self.side.offers_done
            && !self.side.peer_has_more
            && !self.side.awaiting_docs()
            && !self.side.awaiting_attachments()
    }

    fn sent(&mut self, frame: Vec<u8>) -> Vec<u8> {
        self.side.report.bytes_sent += frame.len() as u64;
        frame
    }

    /// The report so far.
    pub fn report(&self) -> &SyncReport {
        &self.side.report
    }

    /// Documents and bytes done and left, as far as this side knows.
    pub fn progress<S: DocumentStore + ?Sized>(&mut self, store: &S) -> Progress {
        self.side.progress(store)
    }
}
