//! One side of a sync session, shared by the initiator and the responder: what each side does
//! with a received [`Body`] and how it builds the next one. Sans-IO: it reads and commits
//! through a [`DocumentStore`] and never touches a transport.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use automerge::sync::{Capability, Have, MessageVersion, State as AmState, SyncDoc};
use automerge::{Automerge, ChangeHash, ReadDoc};

use crate::attachments::ContentHash;
use crate::error::SyncError;
use crate::ids::{DocId, DocKind, Epoch, PeerId, Seq};
use crate::policy::Policy;
use crate::report::{Progress, RefusedWork, SyncReport};
use crate::store::{ApplyOutcome, ChangedDoc, Commit, DocumentStore, IncomingDoc, PeerCursor};
use crate::wire::{Answer, Body, DocMessage, Offer, Payload, Refusal};
use crate::SyncOptions;

/// Where one document of the session stands, from this side.
enum Phase {
    /// We offered it and wait for the answer.
    Offered,
    /// We asked the peer for the whole document.
    Wanted,
    /// The peer asked for the whole document; it goes out when the page has room.
    ToSend,
    /// We sent the whole document with these heads; the next message confirms or refuses it.
    FullSent(Vec<ChangeHash>),
    /// Automerge's sync protocol is running for it.
    Syncing(Box<SyncingDoc>),
    /// Nothing more to do for it in this session.
    Settled,
}

struct SyncingDoc {
    doc: Automerge,
    state: AmState,
    /// Whether we sent a message for it in our last body.
    sent_last: bool,
    /// Whether that message carried changes.
    sent_changes: bool,
    /// Whether we received a message for it in the peer's last body.
    received: bool,
    /// The heads we offered it with, when its changes went with the offer: the peer's first
    /// message says whether it took them.
    pushed: Option<Vec<ChangeHash>>,
}

struct DocEntry {
    kind: DocKind,
    phase: Phase,
}

/// A page of offers (ours or the peer's): the cursor it reaches and the documents not settled.
struct Page {
    cursor: Seq,
    pending: HashSet<DocId>,
}

pub(crate) struct Side {
    pub(crate) peer: PeerId,
    options: SyncOptions,
    policy: Arc<dyn Policy>,
    docs: HashMap<DocId, DocEntry>,
    /// The offers of our last body, which the peer's next body answers in order.
    offers_sent: Vec<DocId>,
    /// Documents offered with their changes in our last body, and the heads offered.
    pushed: HashMap<DocId, Vec<ChangeHash>>,
    /// Answers to the peer's last offers, sent with our next body.
    answers: Vec<Answer>,
    refusals: Vec<(DocId, Refusal)>,
    to_send: VecDeque<DocId>,
    /// Where our next page of offers starts, and whether the store has no more.
    scan_from: Seq,
    pub(crate) offers_done: bool,
    our_pages: VecDeque<Page>,
    their_pages: VecDeque<Page>,
    /// Whether the peer said more offers follow.
    pub(crate) peer_has_more: bool,
    pub(crate) cursor: PeerCursor,
    cursor_moved: bool,
    /// Set when the peer named another epoch than the one stored for it: the stored shared
    /// heads are then ignored for the whole session (only what this session learnt counts).
    ignore_stored: bool,
    /// The peer's new epoch, recorded (with the stored state dropped) by the next commit.
    reset_peer: Option<Epoch>,
    pending_shared: Vec<(DocId, Vec<ChangeHash>)>,
    /// Heads settled with the peer in this session (also in `pending_shared` until committed).
    session_shared: HashMap<DocId, Vec<ChangeHash>>,
    pub(crate) report: SyncReport,
    /// The documents the report counts, each once however many rounds it took.
    tally: Tally,
    docs_done: u64,
    local_max_seq: Seq,
    /// The attachments asked for, being received and being sent.
    transfers: attachments::Transfers,
}

/// The documents a session's report counts, so that a document synced over several rounds
/// counts once.
#[derive(Default)]
struct Tally {
    sent: HashSet<DocId>,
    received: HashSet<DocId>,
    /// Received documents that hold a conflict after what they received.
    conflicted: HashSet<DocId>,
}

impl Tally {
    fn write_received(&self, report: &mut SyncReport) {
        report.received = self.received.len();
        report.conflicts = self.conflicted.len();
    }
}

mod attachments;
mod documents;
mod offers;

impl Side {
    pub(crate) fn new(
        peer: PeerId,
        options: SyncOptions,
        policy: Arc<dyn Policy>,
        cursor: PeerCursor,
    ) -> Self {
        Self {
            peer,
            options,
            policy,
            docs: HashMap::new(),
            offers_sent: Vec::new(),
            pushed: HashMap::new(),
            answers: Vec::new(),
            refusals: Vec::new(),
            to_send: VecDeque::new(),
            scan_from: cursor.ours,
            offers_done: false,
            our_pages: VecDeque::new(),
            their_pages: VecDeque::new(),
            peer_has_more: true,
            cursor,
            cursor_moved: false,
            ignore_stored: false,
            reset_peer: None,
            pending_shared: Vec::new(),
            session_shared: HashMap::new(),
            report: SyncReport::default(),
            tally: Tally::default(),
            docs_done: 0,
            local_max_seq: 0,
            transfers: attachments::Transfers::new(options.fetch_attachments),
        }
    }

    /// Starts the session from the cursor stored for the peer (before anything was offered).
    pub(crate) fn resume_from(&mut self, cursor: PeerCursor) {
        self.cursor = cursor;
        self.scan_from = cursor.ours;
    }

    /// The peer is another store than the one our stored state was learnt from (its epoch is
    /// `epoch` now): ignore its stored cursor and shared heads, have the next commit drop them
    /// and record `epoch`, and start our offers again from the first document, unless nothing
    /// was offered yet. Pages already offered stay in flight; a rescanned document still on
    /// its way is waited for, not offered twice.
    pub(crate) fn forget_peer(&mut self, epoch: Epoch) {
        self.ignore_stored = true;
        self.reset_peer = Some(epoch);
        if self.cursor == PeerCursor::default() {
            // A peer met for the first time: our offers began at the first document already,
            // and offering the first page again would have a refused document refused twice.
            return;
        }
        self.cursor = PeerCursor::default();
        self.our_pages.clear();
        self.scan_from = 0;
        self.offers_done = false;
    }

    /// The heads stored as shared with the peer for `id`, unless the peer's epoch changed.
    /// Cost: one store lookup.
    fn stored_shared<S: DocumentStore + ?Sized>(
        &self,
        store: &S,
        id: &DocId,
    ) -> Result<Option<Vec<ChangeHash>>, SyncError> {
        if self.ignore_stored {
            return Ok(None);
        }
        Ok(store.shared_heads(&self.peer, id)?)
    }

    /// Processes the peer's body: checks it all first (a bad body changes nothing), then
    /// applies answers, documents and offers, and commits what arrived in one store commit.
    pub(crate) fn receive<S: DocumentStore + ?Sized>(
        &mut self,
        store: &S,
        body: Body,
    ) -> Result<(), SyncError> {
        self.check(&body)?;
        self.transfers.check(&body.attachments)?;
        let mut commit = Commit::new(self.peer.clone());
        commit.signatures.extend(body.signatures);
        self.take_answers(store, &body.answers)?;
        self.take_refusals(store, &body.refusals)?;
        self.confirm_unrefused_sends();
        let mut full_docs = Vec::new();
        for message in body.docs {
            self.take_doc(store, message, &mut commit, &mut full_docs)?;
        }
        self.take_offers(store, body.offers, body.cursor, &mut commit)?;
        self.peer_has_more = body.more_offers;
        self.commit(store, commit, full_docs)?;
        // After the documents: a content is asked for once a document referencing it is here.
        self.transfers.receive(
            store,
            &self.peer,
            self.policy.as_ref(),
            body.attachments,
            &mut self.report,
        )
    }

    /// Rejects a body that answers the wrong number of offers or speaks of documents this
    /// session does not expect, before anything is applied.
    fn check(&self, body: &Body) -> Result<(), SyncError> {
        if body.answers.len() != self.offers_sent.len() {
            return Err(SyncError::AnswerCountMismatch {
                expected: self.offers_sent.len(),
                found: body.answers.len(),
            });
        }
        let answered: HashMap<&DocId, &Answer> =
            self.offers_sent.iter().zip(&body.answers).collect();
        for message in &body.docs {
            let phase = self.docs.get(&message.doc).map(|entry| &entry.phase);
            let expected = match (&message.payload, phase) {
                (Payload::Full(_), Some(Phase::Wanted)) => true,
                (Payload::Sync(_), Some(Phase::Syncing(_))) => true,
                (Payload::Sync(_), Some(Phase::Offered)) => {
                    answered.get(&message.doc) == Some(&&Answer::Sync)
                }
                _ => false,
            };
            if !expected {
                return Err(SyncError::UnexpectedDocument {
                    doc: message.doc.clone(),
                });
            }
        }
        for (doc, _) in &body.refusals {
            let expected = match self.docs.get(doc).map(|entry| &entry.phase) {
                Some(Phase::FullSent(_)) => true,
                Some(Phase::Syncing(syncing)) => syncing.sent_last,
                _ => false,
            };
            if !expected {
                return Err(SyncError::UnexpectedDocument { doc: doc.clone() });
            }
        }
        let messaged: HashSet<&DocId> = body.docs.iter().map(|message| &message.doc).collect();
        for offer in &body.offers {
            // A document being synced whose peer sent nothing for it this time settles now, so
            // the peer may offer it again (it changed since); any other unsettled one is busy.
            let settling = matches!(
                answered.get(&offer.doc),
                Some(Answer::Same | Answer::Took | Answer::Refused(_))
            );
            let busy = match self.docs.get(&offer.doc).map(|entry| &entry.phase) {
                None | Some(Phase::Settled) => false,
                Some(Phase::Syncing(_)) => messaged.contains(&offer.doc),
                Some(_) => !settling,
            };
            if busy {
                return Err(SyncError::UnexpectedDocument {
                    doc: offer.doc.clone(),
                });
            }
        }
        Ok(())
    }

    fn take_answers<S: DocumentStore + ?Sized>(
        &mut self,
        store: &S,
        answers: &[Answer],
    ) -> Result<(), SyncError> {
        let offered = std::mem::take(&mut self.offers_sent);
        let pushed = std::mem::take(&mut self.pushed);
        for (doc, answer) in offered.into_iter().zip(answers) {
            match answer {
                Answer::Same | Answer::Took => {
                    if *answer == Answer::Took && pushed.contains_key(&doc) {
                        self.count_sent(&doc);
                    }
                    if let Some((_, heads)) = store.doc_heads(&doc)? {
                        self.share(&doc, heads);
                    }
                    self.settle(&doc);
                }
                Answer::Want => {
                    self.set_phase(&doc, Phase::ToSend);
                    self.to_send.push_back(doc);
                }
                Answer::Sync => {
                    let mut syncing = self.start_syncing(store, &doc, None, None)?;
                    syncing.pushed = pushed.get(&doc).cloned();
                    self.set_phase(&doc, Phase::Syncing(Box::new(syncing)));
                }
                Answer::Refused(reason) => {
                    self.refused_by_peer(store, &doc, *reason)?;
                    self.settle(&doc);
                }
            }
        }
        Ok(())
    }

    fn take_refusals<S: DocumentStore + ?Sized>(
        &mut self,
        store: &S,
        refusals: &[(DocId, Refusal)],
    ) -> Result<(), SyncError> {
        for (doc, reason) in refusals {
            self.refused_by_peer(store, doc, *reason)?;
            self.settle(doc);
        }
        Ok(())
    }

    /// Records that the peer refused this side's `doc`, naming its heads here. Cost: one
    /// heads lookup.
    fn refused_by_peer<S: DocumentStore + ?Sized>(
        &mut self,
        store: &S,
        doc: &DocId,
        reason: Refusal,
    ) -> Result<(), SyncError> {
        self.report.refused.push((doc.clone(), reason));
        let heads = store
            .doc_heads(doc)?
            .map(|(_, heads)| heads)
            .unwrap_or_default();
        let work = RefusedWork {
            doc: doc.clone(),
            heads,
            reason,
        };
        self.report.refused_by_peer.push(work);
        Ok(())
    }

    /// Whole documents we sent and the peer did not refuse are stored there now (its reply
    /// comes after its commit).
    fn confirm_unrefused_sends(&mut self) {
        let mut confirmed = Vec::new();
        let mut synced = Vec::new();
        for (id, entry) in &mut self.docs {
            match &mut entry.phase {
                Phase::FullSent(heads) => confirmed.push((id.clone(), std::mem::take(heads))),
                Phase::Syncing(syncing) => {
                    if syncing.sent_last && syncing.sent_changes {
                        synced.push(id.clone());
                    }
                    syncing.sent_last = false;
                    syncing.sent_changes = false;
                    syncing.received = false;
                }
                _ => {}
            }
        }
        for id in synced {
            self.count_sent(&id);
        }
        for (id, heads) in confirmed {
            self.count_sent(&id);
            self.share(&id, heads);
            self.settle(&id);
        }
    }

    /// The peer took our changes to `doc` (it lacked them): counted once per session.
    pub(super) fn count_sent(&mut self, doc: &DocId) {
        self.tally.sent.insert(doc.clone());
        self.report.sent = self.tally.sent.len();
    }

    /// Changes to `doc` from the peer are to be committed here; `conflicted` says whether the
    /// document then holds a conflict. Counted once per session, with its latest state.
    pub(super) fn count_received(&mut self, doc: &DocId, conflicted: bool) {
        self.tally.received.insert(doc.clone());
        if conflicted {
            self.tally.conflicted.insert(doc.clone());
        } else {
            self.tally.conflicted.remove(doc);
        }
        self.tally.write_received(&mut self.report);
    }

    /// The store refused what arrived for `doc`: nothing of it was received after all.
    fn uncount_received(&mut self, doc: &DocId) {
        self.tally.received.remove(doc);
        self.tally.conflicted.remove(doc);
        self.tally.write_received(&mut self.report);
    }

    /// Records heads both sides now hold, committed with the next commit.
    fn share(&mut self, doc: &DocId, heads: Vec<ChangeHash>) {
        self.session_shared.insert(doc.clone(), heads.clone());
        self.pending_shared.push((doc.clone(), heads));
    }

    fn set_phase(&mut self, doc: &DocId, phase: Phase) {
        if let Some(entry) = self.docs.get_mut(doc) {
            entry.phase = phase;
        }
    }

    fn settle(&mut self, doc: &DocId) {
        if let Some(entry) = self.docs.get_mut(doc) {
            if !matches!(entry.phase, Phase::Settled) {
                entry.phase = Phase::Settled;
                self.docs_done += 1;
            }
        }
        for page in self.our_pages.iter_mut().chain(self.their_pages.iter_mut()) {
            page.pending.remove(doc);
        }
    }

    /// Commits the received documents, the shared heads learnt and the cursor, in one step.
    fn commit<S: DocumentStore + ?Sized>(
        &mut self,
        store: &S,
        mut commit: Commit,
        full_docs: Vec<(DocId, Vec<ChangeHash>)>,
    ) -> Result<(), SyncError> {
        commit.shared_heads = std::mem::take(&mut self.pending_shared);
        for (id, heads) in &full_docs {
            self.session_shared.insert(id.clone(), heads.clone());
        }
        commit.shared_heads.extend(full_docs);
        commit.cursor = self.advance_cursor();
        commit.reset_peer = self.reset_peer.take();
        if commit.is_empty() {
            return Ok(());
        }
        let ids: Vec<DocId> = commit.docs.iter().map(|doc| doc.id.clone()).collect();
        let outcomes = store.commit(commit)?;
        for (id, outcome) in ids.iter().zip(outcomes) {
            let reason = match outcome {
                ApplyOutcome::Applied { .. } => continue,
                ApplyOutcome::KindMismatch { .. } => Refusal::KindMismatch,
                ApplyOutcome::Invalid { .. } => Refusal::Invalid,
            };
            self.uncount_received(id);
            self.refuse(id, reason);
        }
        Ok(())
    }

    /// Pages whose documents are all settled move the cursor (ours, then the peer's).
    fn advance_cursor(&mut self) -> Option<PeerCursor> {
        while let Some(page) = self
            .our_pages
            .front()
            .filter(|page| page.pending.is_empty())
        {
            self.cursor.ours = self.cursor.ours.max(page.cursor);
            self.our_pages.pop_front();
            self.cursor_moved = true;
        }
        while let Some(page) = self
            .their_pages
            .front()
            .filter(|page| page.pending.is_empty())
        {
            self.cursor.theirs = self.cursor.theirs.max(page.cursor);
            self.their_pages.pop_front();
            self.cursor_moved = true;
        }
        std::mem::take(&mut self.cursor_moved).then_some(self.cursor)
    }

    /// Commits what settled since the last commit (shared heads, the cursor); the initiator
    /// calls it when the session ends.
    pub(crate) fn flush<S: DocumentStore + ?Sized>(&mut self, store: &S) -> Result<(), SyncError> {
        self.commit(store, Commit::new(self.peer.clone()), Vec::new())
    }

    /// Builds our next body: answers, refusals, the next sync message of every document in
    /// flight, whole documents the peer asked for (within the page's byte budget) and the next
    /// page of offers (while few enough documents are in flight).
    pub(crate) fn next_body<S: DocumentStore + ?Sized>(
        &mut self,
        store: &S,
    ) -> Result<Body, SyncError> {
        let mut body = Body {
            answers: std::mem::take(&mut self.answers),
            refusals: std::mem::take(&mut self.refusals),
            ..Body::default()
        };
        let mut budget = self.options.page_bytes;
        let sent = self.sync_messages(&mut body, &mut budget);
        self.full_docs(store, &mut body, &mut budget)?;
        sign_documents(store, &mut body, &sent)?;
        if !self.offers_done && self.in_flight() < self.options.max_in_flight {
            self.offer_page(store, &mut body, &mut budget)?;
        }
        body.attachments = self
            .transfers
            .next_fields(store, budget, &mut self.report)?;
        body.more_offers = !self.offers_done;
        body.cursor = self.scan_from;
        Ok(body)
    }

    fn in_flight(&self) -> usize {
        self.docs
            .values()
            .filter(|entry| !matches!(entry.phase, Phase::Settled))
            .count()
    }

    /// Whether this side waits for whole documents it asked for.
    pub(crate) fn awaiting_docs(&self) -> bool {
        self.docs
            .values()
            .any(|entry| matches!(entry.phase, Phase::Wanted))
    }

    /// Asks the peer for these attachments only (each one a stored document references and
    /// this side lacks), whatever the options say: a fetch on demand.
    pub(crate) fn fetch_attachments_only(&mut self, hashes: Vec<ContentHash>) {
        self.transfers.fetch_only(hashes);
    }

    /// Whether this side waits for attachment chunks it asked for.
    pub(crate) fn awaiting_attachments(&self) -> bool {
        self.transfers.awaiting()
    }

    pub(crate) fn progress<S: DocumentStore + ?Sized>(&mut self, store: &S) -> Progress {
        if let Ok(seq) = store.max_seq() {
            self.local_max_seq = seq;
        }
        Progress {
            docs_done: self.docs_done,
            docs_in_flight: self.in_flight() as u64,
            docs_left_estimate: if self.offers_done {
                0
            } else {
                self.local_max_seq.saturating_sub(self.scan_from)
            },
            bytes_sent: self.report.bytes_sent,
            bytes_received: self.report.bytes_received,
            attachment_bytes_done: self.report.attachment_bytes_sent
                + self.report.attachment_bytes_received,
            attachment_bytes_left: self.transfers.bytes_left(),
        }
    }
}

/// Adds to `body` the signatures of the changes its documents carry: every change of a whole
/// document (or of a sync message that carries the whole document), the changes `sent` names
/// for the others. (Offers add theirs as they are made.) Cost: one signature lookup per change
/// sent.
fn sign_documents<S: DocumentStore + ?Sized>(
    store: &S,
    body: &mut Body,
    sent: &HashMap<DocId, Vec<ChangeHash>>,
) -> Result<(), SyncError> {
    for message in &body.docs {
        let signed = match &message.payload {
            Payload::Sync(sync) if sync.changes.is_empty() => continue,
            Payload::Sync(sync) if sync.version == MessageVersion::V1 => {
                let hashes = sent.get(&message.doc).map_or(&[][..], Vec::as_slice);
                store.signatures(&message.doc, Some(hashes))?
            }
            Payload::Full(_) | Payload::Sync(_) => store.signatures(&message.doc, None)?,
        };
        body.signatures.extend(signed);
    }
    Ok(())
}
