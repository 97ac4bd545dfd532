//! Offers: the pages of changed documents a side sends (with the changes since the heads last
//! shared, when known) and how it answers the peer's.

use super::*;
use crate::signatures::SignedChange;

impl Side {
    pub(super) fn take_offers<S: DocumentStore + ?Sized>(
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
            self.count_received(&offer.doc, store.has_conflicts(kind, &doc));
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

    /// The next page of our changed documents: at most `page_docs` offers, and no more once the
    /// changes pushed with them use up the message's byte budget.
    pub(super) fn offer_page<S: DocumentStore + ?Sized>(
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
                self.scan_from = entry.doc.seq;
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
        if self.already_shared(store, &entry.doc.id, &entry.heads)?
            || !self
                .policy
                .may_read(&self.peer, &entry.doc.id, entry.doc.kind)
        {
            return Ok(());
        }
        page.pending.insert(entry.doc.id.clone());
        if self
            .docs
            .get(&entry.doc.id)
            .is_some_and(|doc| !matches!(doc.phase, Phase::Settled))
        {
            return Ok(()); // already on its way in this session; the page waits for it
        }
        self.docs.insert(
            entry.doc.id.clone(),
            DocEntry {
                kind: entry.doc.kind,
                phase: Phase::Offered,
            },
        );
        let changes = self.changes_since_shared(store, &entry.doc.id, &mut body.signatures)?;
        if let Some(changes) = &changes {
            *budget = budget.saturating_sub(changes.len());
            self.report.change_bytes += changes.len() as u64;
            self.pushed
                .insert(entry.doc.id.clone(), entry.heads.clone());
        }
        self.offers_sent.push(entry.doc.id.clone());
        body.offers.push(Offer {
            doc: entry.doc.id,
            kind: entry.doc.kind,
            heads: entry.heads,
            changes,
        });
        Ok(())
    }

    /// The changes made since the heads last shared with the peer, when those are known: the
    /// peer then needs nothing more if it did not change the document itself. Their
    /// signatures are added to `signatures`.
    fn changes_since_shared<S: DocumentStore + ?Sized>(
        &self,
        store: &S,
        id: &DocId,
        signatures: &mut Vec<SignedChange>,
    ) -> Result<Option<Vec<u8>>, SyncError> {
        let shared = match self.session_shared.get(id) {
            Some(shared) => Some(shared.clone()),
            None => self.stored_shared(store, id)?,
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
        let changes = doc.save_after(&shared);
        if changes.is_empty() {
            return Ok(None);
        }
        let hashes: Vec<ChangeHash> = doc.get_changes(&shared).iter().map(|c| c.hash()).collect();
        signatures.extend(store.signatures(id, Some(&hashes))?);
        Ok(Some(changes))
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
        Ok(self.stored_shared(store, id)?.as_deref() == Some(heads))
    }
}
