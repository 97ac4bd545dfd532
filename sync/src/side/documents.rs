//! Documents on the move: whole documents sent and received, and the batched automerge sync
//! messages of the documents whose heads differ.

use super::*;

impl Side {
    pub(super) fn take_doc<S: DocumentStore + ?Sized>(
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
                // The peer's first message after an offer that carried our changes: it holds
                // the heads we offered exactly when it took them (it answers in that round).
                let took_pushed = syncing
                    .pushed
                    .take()
                    .is_some_and(|offered| offered.iter().all(|h| message.heads.contains(h)));
                let before = syncing.doc.get_heads();
                let mut trial = syncing.doc.clone();
                let mut state = syncing.state.clone();
                if took_pushed {
                    self.count_sent(&doc);
                }
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
                    self.count_received(&doc, store.has_conflicts(kind, &trial));
                }
                if let Some(DocEntry {
                    phase: Phase::Syncing(syncing),
                    ..
                }) = self.docs.get_mut(&doc)
                {
                    syncing.doc = trial;
                    syncing.state = state;
                    syncing.received = true;
                }
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
        self.count_received(doc, store.has_conflicts(kind, &loaded));
        Ok(Ok((loaded, stored.is_none())))
    }

    pub(super) fn refuse(&mut self, doc: &DocId, reason: Refusal) {
        self.report.refused.push((doc.clone(), reason));
        self.refusals.push((doc.clone(), reason));
    }

    /// Sync state for a document whose heads differ: starts from the heads last shared with the
    /// peer. When the peer's heads are known (from its offer) and we hold all of them, we also
    /// know exactly what it lacks, so the first message already carries those changes.
    pub(super) fn start_syncing<S: DocumentStore + ?Sized>(
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
        if let Some(shared) = self.stored_shared(store, id)? {
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
            pushed: None,
        })
    }

    /// Adds the next automerge sync message of every document in flight to `body`; returns
    /// the changes each message carries (what automerge marks sent while making it).
    pub(super) fn sync_messages(
        &mut self,
        body: &mut Body,
        budget: &mut usize,
    ) -> HashMap<DocId, Vec<ChangeHash>> {
        let mut sent = HashMap::new();
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
            let sent_before = syncing.state.sent_hashes.clone();
            match syncing.doc.generate_sync_message(&mut syncing.state) {
                Some(message) => {
                    let new = syncing.state.sent_hashes.difference(&sent_before);
                    sent.insert(id.clone(), new.copied().collect());
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
        sent
    }

    pub(super) fn full_docs<S: DocumentStore + ?Sized>(
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
}
