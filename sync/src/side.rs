//! One side of a sync session, shared by the initiator and the responder: what each side does
//! with a received [`Body`] and how it builds the next one. Sans-IO: it reads and commits
//! through a [`DocumentStore`] and never touches a transport.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use automerge::sync::{Capability, Have, State as AmState, SyncDoc};
use automerge::{Automerge, ChangeHash, ReadDoc};

use crate::conflicts::has_conflicts;
use crate::error::SyncError;
use crate::ids::{DocId, DocKind, PeerId, Seq};
use crate::policy::Policy;
use crate::report::{Progress, SyncReport};
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
    /// Documents offered with their changes in our last body.
    pushed: HashSet<DocId>,
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
    pending_shared: Vec<(DocId, Vec<ChangeHash>)>,
    /// Heads settled with the peer in this session (also in `pending_shared` until committed).
    session_shared: HashMap<DocId, Vec<ChangeHash>>,
    pub(crate) report: SyncReport,
    docs_done: u64,
    local_max_seq: Seq,
}

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
            pushed: HashSet::new(),
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
            pending_shared: Vec::new(),
            session_shared: HashMap::new(),
            report: SyncReport::default(),
            docs_done: 0,
            local_max_seq: 0,
        }
    }

    pub(crate) fn policy(&self) -> Arc<dyn Policy> {
        self.policy.clone()
    }

    /// Processes the peer's body: checks it all first (a bad body changes nothing), then
    /// applies answers, documents and offers, and commits what arrived in one store commit.
    pub(crate) fn receive<S: DocumentStore + ?Sized>(
        &mut self,
        store: &S,
        body: Body,
    ) -> Result<(), SyncError> {
        self.check(&body)?;
        let mut commit = Commit::new(self.peer.clone());
        self.take_answers(store, &body.answers)?;
        self.take_refusals(&body.refusals);
        self.confirm_unrefused_sends();
        let mut full_docs = Vec::new();
        for message in body.docs {
            self.take_doc(store, message, &mut commit, &mut full_docs)?;
        }
        self.take_offers(store, body.offers, body.cursor, &mut commit)?;
        self.peer_has_more = body.more_offers;
        self.commit(store, commit, full_docs)
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
                    if *answer == Answer::Took && pushed.contains(&doc) {
                        self.report.sent += 1;
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
                    let syncing = self.start_syncing(store, &doc, None, None)?;
                    self.set_phase(&doc, Phase::Syncing(Box::new(syncing)));
                }
                Answer::Refused(reason) => {
                    self.report.refused.push((doc.clone(), *reason));
                    self.settle(&doc);
                }
            }
        }
        Ok(())
    }

    fn take_refusals(&mut self, refusals: &[(DocId, Refusal)]) {
        for (doc, reason) in refusals {
            self.report.refused.push((doc.clone(), *reason));
            self.settle(doc);
        }
    }

    /// Whole documents we sent and the peer did not refuse are stored there now (its reply
    /// comes after its commit).
    fn confirm_unrefused_sends(&mut self) {
        let mut confirmed = Vec::new();
        for (id, entry) in &mut self.docs {
            match &mut entry.phase {
                Phase::FullSent(heads) => confirmed.push((id.clone(), std::mem::take(heads))),
                Phase::Syncing(syncing) => {
                    if syncing.sent_last && syncing.sent_changes {
                        self.report.sent += 1;
                    }
                    syncing.sent_last = false;
                    syncing.sent_changes = false;
                    syncing.received = false;
                }
                _ => {}
            }
        }
        for (id, heads) in confirmed {
            self.report.sent += 1;
            self.share(&id, heads);
            self.settle(&id);
        }
    }

    fn take_doc<S: DocumentStore + ?Sized>(
        &mut self,
        store: &S,
        message: DocMessage,
        commit: &mut Commit,
        full_docs: &mut Vec<(DocId, Vec<ChangeHash>)>,
    ) -> Result<(), SyncError> {
        let DocMessage { doc, kind, payload } = message;
        match payload {
            Payload::Full(bytes) => {
                self.report.change_bytes += bytes.len() as u64;
                match self.check_full(store, &doc, kind, &bytes)? {
                    Ok((loaded, absent)) => {
                        full_docs.push((doc.clone(), loaded.get_heads()));
                        commit.docs.push(IncomingDoc {
                            id: doc.clone(),
                            kind,
                            changes: bytes,
                            loaded: absent.then_some(loaded),
                        });
                    }
                    Err(reason) => self.refuse(&doc, reason),
                }
                self.settle(&doc);
            }
            Payload::Sync(message) => {
                self.report.change_bytes +=
                    message.changes.iter().map(|c| c.len() as u64).sum::<u64>();
                let entry = self
                    .docs
                    .get_mut(&doc)
                    .expect("checked: the document is syncing");
                let kind = entry.kind;
                let Phase::Syncing(syncing) = &mut entry.phase else {
                    unreachable!("checked: the document is syncing")
                };
                let before = syncing.doc.get_heads();
                let mut trial = syncing.doc.clone();
                let mut state = syncing.state.clone();
                if trial.receive_sync_message(&mut state, message).is_err() {
                    self.refuse(&doc, Refusal::Invalid);
                    self.settle(&doc);
                    return Ok(());
                }
                let after = trial.get_heads();
                if after != before && !self.policy.may_write(&self.peer, &doc, kind, &trial) {
                    self.refuse(&doc, Refusal::NotWritable);
                    self.settle(&doc);
                    return Ok(());
                }
                if after != before {
                    commit.docs.push(IncomingDoc {
                        id: doc.clone(),
                        kind,
                        changes: trial.save_after(&before),
                        loaded: None,
                    });
                    self.report.received += 1;
                    self.report.conflicts += usize::from(has_conflicts(&trial));
                }
                syncing.doc = trial;
                syncing.state = state;
                syncing.received = true;
            }
        }
        Ok(())
    }

    /// Loads a whole document sent to us and asks the policy: the document and whether the store
    /// lacks it, or why it is refused.
    fn check_full<S: DocumentStore + ?Sized>(
        &mut self,
        store: &S,
        doc: &DocId,
        kind: DocKind,
        bytes: &[u8],
    ) -> Result<Result<(Automerge, bool), Refusal>, SyncError> {
        let stored = store.doc_heads(doc)?;
        if stored.as_ref().is_some_and(|(stored, _)| *stored != kind) {
            return Ok(Err(Refusal::KindMismatch));
        }
        let Ok(Ok(loaded)) = std::panic::catch_unwind(|| Automerge::load(bytes)) else {
            return Ok(Err(Refusal::Invalid));
        };
        if !self.policy.may_write(&self.peer, doc, kind, &loaded) {
            return Ok(Err(Refusal::NotWritable));
        }
        self.report.received += 1;
        self.report.conflicts += usize::from(has_conflicts(&loaded));
        Ok(Ok((loaded, stored.is_none())))
    }

    fn refuse(&mut self, doc: &DocId, reason: Refusal) {
        self.report.refused.push((doc.clone(), reason));
        self.refusals.push((doc.clone(), reason));
    }

    fn take_offers<S: DocumentStore + ?Sized>(
        &mut self,
        store: &S,
        offers: Vec<Offer>,
        cursor: Seq,
        commit: &mut Commit,
    ) -> Result<(), SyncError> {
        let mut page = Page {
            cursor,
            pending: HashSet::new(),
        };
        for offer in offers {
            let (answer, merged) = self.answer_offer(store, &offer, commit)?;
            self.docs.insert(
                offer.doc.clone(),
                DocEntry {
                    kind: offer.kind,
                    phase: Phase::Settled,
                },
            );
            match answer {
                Answer::Same | Answer::Took => {
                    self.share(&offer.doc, offer.heads);
                    self.docs_done += 1;
                }
                Answer::Refused(reason) => {
                    self.report.refused.push((offer.doc.clone(), reason));
                    self.docs_done += 1;
                }
                Answer::Want => {
                    self.set_phase(&offer.doc, Phase::Wanted);
                    page.pending.insert(offer.doc.clone());
                }
                Answer::Sync => {
                    let syncing =
                        self.start_syncing(store, &offer.doc, Some(&offer.heads), merged)?;
                    self.set_phase(&offer.doc, Phase::Syncing(Box::new(syncing)));
                    page.pending.insert(offer.doc.clone());
                }
            }
            self.answers.push(answer);
        }
        self.their_pages.push_back(page);
        Ok(())
    }

    /// Answers one offer, applying the changes that came with it when they fit on our copy.
    /// Returns the document with those changes when automerge sync is still needed.
    fn answer_offer<S: DocumentStore + ?Sized>(
        &mut self,
        store: &S,
        offer: &Offer,
        commit: &mut Commit,
    ) -> Result<(Answer, Option<Automerge>), SyncError> {
        let Some((kind, heads)) = store.doc_heads(&offer.doc)? else {
            return Ok((Answer::Want, None));
        };
        if kind != offer.kind {
            return Ok((Answer::Refused(Refusal::KindMismatch), None));
        }
        if !self.policy.may_read(&self.peer, &offer.doc, kind) {
            return Ok((Answer::Refused(Refusal::NotReadable), None));
        }
        if heads == offer.heads {
            return Ok((Answer::Same, None));
        }
        let Some(doc) = self.with_offered_changes(store, offer)? else {
            return Ok((Answer::Sync, None)); // automerge sync from our stored copy
        };
        if doc.get_heads() != heads {
            if !self.policy.may_write(&self.peer, &offer.doc, kind, &doc) {
                return Ok((Answer::Refused(Refusal::NotWritable), None));
            }
            self.report.received += 1;
            self.report.conflicts += usize::from(has_conflicts(&doc));
            commit.docs.push(IncomingDoc {
                id: offer.doc.clone(),
                kind,
                changes: doc.save_after(&heads),
                loaded: None,
            });
        }
        if doc.get_heads() == offer.heads {
            return Ok((Answer::Took, None));
        }
        // we now hold all of the peer's heads, so sync sends only what it lacks
        Ok((Answer::Sync, Some(doc)))
    }

    /// Our copy with the changes that came with an offer, if they came and apply completely.
    fn with_offered_changes<S: DocumentStore + ?Sized>(
        &mut self,
        store: &S,
        offer: &Offer,
    ) -> Result<Option<Automerge>, SyncError> {
        let Some(changes) = &offer.changes else {
            return Ok(None);
        };
        self.report.change_bytes += changes.len() as u64;
        let Some(doc) = store.load(&offer.doc)? else {
            return Ok(None);
        };
        let applied = std::panic::catch_unwind(move || {
            let mut doc = doc;
            doc.load_incremental(changes).map(|_| doc)
        });
        Ok(match applied {
            Ok(Ok(doc)) if doc.get_missing_deps(&[]).is_empty() => Some(doc),
            _ => None, // built on changes we lack, or malformed: fall back to automerge sync
        })
    }

    /// Sync state for a document whose heads differ: starts from the heads last shared with the
    /// peer. When the peer's heads are known (from its offer) and we hold all of them, we also
    /// know exactly what it lacks, so the first message already carries those changes.
    fn start_syncing<S: DocumentStore + ?Sized>(
        &self,
        store: &S,
        id: &DocId,
        their_heads: Option<&[ChangeHash]>,
        loaded: Option<Automerge>,
    ) -> Result<SyncingDoc, SyncError> {
        let doc = match loaded {
            Some(doc) => doc,
            None => store.load(id)?.unwrap_or_default(),
        };
        let mut state = AmState::new();
        if let Some(shared) = store.shared_heads(&self.peer, id)? {
            state.shared_heads = shared
                .into_iter()
                .filter(|hash| doc.get_change_by_hash(hash).is_some())
                .collect();
        }
        if let Some(heads) = their_heads {
            state.their_heads = Some(heads.to_vec());
            if heads
                .iter()
                .all(|hash| doc.get_change_by_hash(hash).is_some())
            {
                state.their_have = Some(vec![Have {
                    last_sync: heads.to_vec(),
                    bloom: Default::default(),
                }]);
                state.their_need = Some(Vec::new());
            }
        }
        Ok(SyncingDoc {
            doc,
            state,
            sent_last: false,
            sent_changes: false,
            received: their_heads.is_some(),
        })
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
            self.report.received = self.report.received.saturating_sub(1);
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
        self.sync_messages(&mut body, &mut budget);
        self.full_docs(store, &mut body, &mut budget)?;
        if !self.offers_done && self.in_flight() < self.options.max_in_flight {
            self.offer_page(store, &mut body, &mut budget)?;
        }
        body.more_offers = !self.offers_done;
        body.cursor = self.scan_from;
        Ok(body)
    }

    fn sync_messages(&mut self, body: &mut Body, budget: &mut usize) {
        let mut quiet = Vec::new();
        let mut converged = Vec::new();
        for (id, entry) in &mut self.docs {
            let Phase::Syncing(syncing) = &mut entry.phase else {
                continue;
            };
            if !syncing.received {
                quiet.push((id.clone(), syncing.state.shared_heads.clone()));
                continue;
            }
            // Our own missing-document path covers whole documents; without this automerge
            // sends the whole (small) document instead of a one-answer change whenever that
            // change is over a third of its history.
            syncing.state.their_capabilities = Some(vec![Capability::SyncReset]);
            match syncing.doc.generate_sync_message(&mut syncing.state) {
                Some(message) => {
                    let heads = syncing.doc.get_heads();
                    if syncing.state.their_heads.as_ref() == Some(&heads) {
                        converged.push((id.clone(), heads)); // the peer told us it has them
                    }
                    let change_len: usize = message.changes.iter().map(<[u8]>::len).sum();
                    *budget = budget.saturating_sub(change_len);
                    self.report.change_bytes += change_len as u64;
                    syncing.sent_last = true;
                    syncing.sent_changes = change_len > 0;
                    syncing.received = false;
                    body.docs.push(DocMessage {
                        doc: id.clone(),
                        kind: entry.kind,
                        payload: Payload::Sync(message),
                    });
                }
                None => quiet.push((id.clone(), syncing.state.shared_heads.clone())),
            }
        }
        for (id, heads) in converged {
            self.share(&id, heads);
        }
        for (id, shared) in quiet {
            if !shared.is_empty() {
                self.share(&id, shared);
            }
            self.settle(&id);
        }
    }

    fn full_docs<S: DocumentStore + ?Sized>(
        &mut self,
        store: &S,
        body: &mut Body,
        budget: &mut usize,
    ) -> Result<(), SyncError> {
        while *budget > 0 || body.docs.is_empty() {
            let Some(id) = self.to_send.pop_front() else {
                break;
            };
            let (Some((kind, heads)), Some(bytes)) = (store.doc_heads(&id)?, store.export(&id)?)
            else {
                self.settle(&id);
                continue;
            };
            *budget = budget.saturating_sub(bytes.len());
            self.report.change_bytes += bytes.len() as u64;
            self.set_phase(&id, Phase::FullSent(heads));
            body.docs.push(DocMessage {
                doc: id,
                kind,
                payload: Payload::Full(bytes),
            });
        }
        Ok(())
    }

    /// The next page of our changed documents: at most `page_docs` offers, and no more once the
    /// changes pushed with them use up the message's byte budget.
    fn offer_page<S: DocumentStore + ?Sized>(
        &mut self,
        store: &S,
        body: &mut Body,
        budget: &mut usize,
    ) -> Result<(), SyncError> {
        let mut page = Page {
            cursor: self.scan_from,
            pending: HashSet::new(),
        };
        'scan: while body.offers.len() < self.options.page_docs {
            let want = self.options.page_docs - body.offers.len();
            let changed = store.changed_since(self.scan_from, want)?;
            let exhausted = changed.len() < want;
            for entry in changed {
                if *budget == 0 && !body.offers.is_empty() {
                    break 'scan;
                }
                self.scan_from = entry.seq;
                self.offer(store, entry, body, &mut page, budget)?;
            }
            if exhausted {
                self.offers_done = true;
                break;
            }
        }
        page.cursor = self.scan_from;
        self.our_pages.push_back(page);
        Ok(())
    }

    /// Offers one changed document, unless the peer has it already or may not read it.
    fn offer<S: DocumentStore + ?Sized>(
        &mut self,
        store: &S,
        entry: ChangedDoc,
        body: &mut Body,
        page: &mut Page,
        budget: &mut usize,
    ) -> Result<(), SyncError> {
        if self.already_shared(store, &entry.id, &entry.heads)?
            || !self.policy.may_read(&self.peer, &entry.id, entry.kind)
        {
            return Ok(());
        }
        page.pending.insert(entry.id.clone());
        if self
            .docs
            .get(&entry.id)
            .is_some_and(|doc| !matches!(doc.phase, Phase::Settled))
        {
            return Ok(()); // already on its way in this session; the page waits for it
        }
        self.docs.insert(
            entry.id.clone(),
            DocEntry {
                kind: entry.kind,
                phase: Phase::Offered,
            },
        );
        let changes = self.changes_since_shared(store, &entry.id)?;
        if let Some(changes) = &changes {
            *budget = budget.saturating_sub(changes.len());
            self.report.change_bytes += changes.len() as u64;
            self.pushed.insert(entry.id.clone());
        }
        self.offers_sent.push(entry.id.clone());
        body.offers.push(Offer {
            doc: entry.id,
            kind: entry.kind,
            heads: entry.heads,
            changes,
        });
        Ok(())
    }

    /// The changes made since the heads last shared with the peer, when those are known: the
    /// peer then needs nothing more if it did not change the document itself.
    fn changes_since_shared<S: DocumentStore + ?Sized>(
        &self,
        store: &S,
        id: &DocId,
    ) -> Result<Option<Vec<u8>>, SyncError> {
        let shared = match self.session_shared.get(id) {
            Some(shared) => Some(shared.clone()),
            None => store.shared_heads(&self.peer, id)?,
        };
        let Some(shared) = shared.filter(|shared| !shared.is_empty()) else {
            return Ok(None);
        };
        let Some(doc) = store.load(id)? else {
            return Ok(None);
        };
        if !shared
            .iter()
            .all(|hash| doc.get_change_by_hash(hash).is_some())
        {
            return Ok(None);
        }
        Ok(Some(doc.save_after(&shared)).filter(|changes| !changes.is_empty()))
    }

    fn already_shared<S: DocumentStore + ?Sized>(
        &self,
        store: &S,
        id: &DocId,
        heads: &[ChangeHash],
    ) -> Result<bool, SyncError> {
        if let Some(shared) = self.session_shared.get(id) {
            return Ok(shared == heads);
        }
        Ok(store.shared_heads(&self.peer, id)?.as_deref() == Some(heads))
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
        }
    }
}
