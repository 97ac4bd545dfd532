//! `POST /v1/sync/{project}`: one round trip of minga-sync's protocol, the body carrying the
//! wire bytes. The hub is the responder; each device has its own responder (sessions are per
//! device) over a view of its project's documents, with a policy built from the access rules.

use super::authorship::{creator_of, creator_of_bytes};
use super::bearer::Authenticated;
use super::error::ApiError;
use super::metrics::Metrics;
use super::rights;
use super::sync_attachments;
use super::AppState;
use crate::access::{self, DocAccess, DocKind, Principal};
use crate::error::HubError;
use crate::storage::{Decoded, DocumentWrite, HubStorage, PeerUpdate, ReceivedChunk, WriteOutcome};
use automerge::{Automerge, ChangeHash, ReadDoc};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use minga_sync::signatures::{SignaturePool, SignedChange};
use minga_sync::{
    ApplyOutcome, ChangedDoc, ChunkOutcome, Commit, ContentHash, DocId, DocSeq, DocumentStore,
    Epoch, PeerCursor, PeerId, Policy, Responder, Seq, StoreError, SyncOptions,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The submission that the review document `id` judges, as the core reads it: the document's
/// `submission` field, and only if `id` is the review id the core derives from it.
pub fn reviewed_submission(id: &str, doc: &impl ReadDoc) -> Option<String> {
    let review: minga_core::DocId = id.parse().ok()?;
    minga_core::reviewed_submission(&review, doc).map(|submission| submission.to_string())
}

/// The id of `submission`'s review document (the core's [`minga_core::review_id`]); `None`
/// for an id that is not a submission's.
pub fn review_of(submission: &str) -> Option<String> {
    let submission: minga_core::DocId = submission.parse().ok()?;
    Some(minga_core::review_id(&submission).to_string())
}

/// Whether a sync round failed because the hub's storage is full: the device is told so
/// (HTTP 507) rather than given an abort it would take for a broken exchange.
fn is_storage_full(error: &minga_sync::SyncError) -> bool {
    match error {
        minga_sync::SyncError::Store(StoreError(source)) => source
            .downcast_ref::<HubError>()
            .is_some_and(HubError::is_storage_full),
        _ => false,
    }
}

fn store_error(error: HubError) -> StoreError {
    StoreError::new(error)
}

/// The author a document's access is judged by: a submission's own author (for one the hub
/// has not stored, the device whose key signed its first change in `proposed`,
/// [`creator_of`]), or for a review the author of the submission it judges (recorded when the
/// hub first stored the review, or read through `proposed`, the review as a device would have
/// it). `None` for a submission the hub has not seen and whose creator it does not know.
fn author_for(
    storage: &dyn HubStorage,
    project: &str,
    id: &str,
    kind: DocKind,
    proposed: Option<&Automerge>,
) -> crate::Result<Option<String>> {
    let stored = storage.document_header(project, id)?;
    let submission = match (kind, stored) {
        (DocKind::Review, Some(review)) => return Ok(review.author),
        (DocKind::Review, None) => match proposed.and_then(|doc| reviewed_submission(id, doc)) {
            Some(submission) => submission,
            None => return Ok(None),
        },
        (DocKind::Submission, None) => match proposed {
            Some(doc) => return creator_of(storage, project, doc),
            None => return Ok(None),
        },
        (DocKind::Submission | DocKind::Form, stored) => return Ok(stored.and_then(|h| h.author)),
    };
    Ok(storage
        .document_header(project, &submission)?
        .and_then(|h| h.author))
}

/// One device's view of its project's documents, as sync needs it.
pub struct ProjectDocuments<'a> {
    pub storage: &'a dyn HubStorage,
    pub who: &'a Principal,
}

impl ProjectDocuments<'_> {
    fn project(&self) -> &str {
        &self.who.project
    }

    /// The author a submission gets if it is new: the device whose key signed its first change
    /// ([`creator_of`]), else the sender. Cost: for a document sync did not load, loading it.
    fn new_author(&self, incoming: &minga_sync::IncomingDoc) -> Result<String, StoreError> {
        let creator = match &incoming.loaded {
            Some(doc) => creator_of(self.storage, self.project(), doc),
            None => creator_of_bytes(self.storage, self.project(), &incoming.changes),
        };
        let creator = creator.map_err(store_error)?;
        Ok(creator.unwrap_or_else(|| self.who.device_id.clone()))
    }

    fn write_for(
        &self,
        incoming: minga_sync::IncomingDoc,
        signatures: &Arc<SignaturePool>,
    ) -> Result<DocumentWrite, StoreError> {
        let kind = incoming.kind;
        let id = incoming.id.as_str().to_string();
        let (author, subject) = match kind {
            // A new submission's author is its creator by signature, else the device that sent
            // it (a stored one keeps its own).
            DocKind::Submission => (Some(self.new_author(&incoming)?), None),
            DocKind::Review => self.review_facts(&id, &incoming)?,
            DocKind::Form => (None, None),
        };
        Ok(DocumentWrite {
            id,
            kind,
            author,
            subject,
            changes: incoming.changes,
            // Sync loaded a new document once to ask the policy; the hub stores it from that.
            decoded: incoming.loaded.map(Decoded),
            signatures: signatures.clone(),
        })
    }
}

impl ProjectDocuments<'_> {
    /// A review's author and subject: kept from the stored review, or read from a new one
    /// (which the policy has checked judges the submission its id derives from).
    fn review_facts(
        &self,
        id: &str,
        incoming: &minga_sync::IncomingDoc,
    ) -> Result<(Option<String>, Option<String>), StoreError> {
        let storage = self.storage;
        if let Some(stored) = storage
            .document_header(self.project(), id)
            .map_err(store_error)?
        {
            return Ok((stored.author, stored.subject));
        }
        let decoded;
        let loaded = match &incoming.loaded {
            Some(doc) => doc,
            None => {
                decoded = Automerge::load(&incoming.changes).map_err(StoreError::new)?;
                &decoded
            }
        };
        let author = author_for(storage, self.project(), id, DocKind::Review, Some(loaded))
            .map_err(store_error)?;
        Ok((author, reviewed_submission(id, loaded)))
    }
}

impl DocumentStore for ProjectDocuments<'_> {
    fn changed_since(&self, after: Seq, limit: usize) -> Result<Vec<ChangedDoc>, StoreError> {
        let headers = self
            .storage
            .documents_since(self.project(), after as i64, limit)
            .map_err(store_error)?;
        headers
            .into_iter()
            .map(|h| {
                let doc = DocSeq {
                    id: DocId::new(h.id).map_err(StoreError::new)?,
                    kind: h.kind,
                    seq: h.seq as Seq,
                };
                Ok(ChangedDoc {
                    doc,
                    heads: h.heads,
                })
            })
            .collect()
    }

    fn max_seq(&self) -> Result<Seq, StoreError> {
        Ok(self.storage.max_seq(self.project()).map_err(store_error)? as Seq)
    }

    fn doc_heads(
        &self,
        id: &DocId,
    ) -> Result<Option<(minga_sync::DocKind, Vec<ChangeHash>)>, StoreError> {
        match self
            .storage
            .document_header(self.project(), id.as_str())
            .map_err(store_error)?
        {
            Some(h) => Ok(Some((h.kind, h.heads))),
            None => Ok(None),
        }
    }

    fn load(&self, id: &DocId) -> Result<Option<Automerge>, StoreError> {
        match self.export(id)? {
            Some(bytes) => Automerge::load(&bytes).map(Some).map_err(StoreError::new),
            None => Ok(None),
        }
    }

    fn export(&self, id: &DocId) -> Result<Option<Vec<u8>>, StoreError> {
        let stored = self
            .storage
            .document(self.project(), id.as_str())
            .map_err(store_error)?;
        Ok(stored.map(|d| d.bytes))
    }

    /// Cost: one lookup per change of `only`, or one index range scan for the document's.
    fn signatures(
        &self,
        id: &DocId,
        only: Option<&[ChangeHash]>,
    ) -> Result<Vec<SignedChange>, StoreError> {
        self.storage
            .change_signatures(self.project(), id.as_str(), only)
            .map_err(store_error)
    }

    fn commit(&self, commit: Commit) -> Result<Vec<ApplyOutcome>, StoreError> {
        let signatures = Arc::new(commit.signatures);
        let writes = commit
            .docs
            .into_iter()
            .map(|doc| self.write_for(doc, &signatures))
            .collect::<Result<Vec<_>, _>>()?;
        // Peer state is keyed by the authenticated device, whatever peer id the hello claimed.
        let peer = PeerUpdate {
            peer: self.who.device_id.clone(),
            shared_heads: commit
                .shared_heads
                .into_iter()
                .map(|(id, heads)| (id.as_str().to_string(), heads))
                .collect(),
            cursor: commit.cursor.map(|c| (c.theirs as i64, c.ours as i64)),
            reset: commit.reset_peer.map(|epoch| epoch.to_string()),
        };
        let outcomes = self
            .storage
            .write_documents(self.project(), &writes, Some(&peer))
            .map_err(store_error)?;
        outcomes
            .into_iter()
            .map(|outcome| {
                Ok(match outcome {
                    WriteOutcome::Stored(h) => ApplyOutcome::Applied { heads: h.heads },
                    WriteOutcome::KindMismatch { stored } => ApplyOutcome::KindMismatch { stored },
                    WriteOutcome::Refused(refusal) => ApplyOutcome::Invalid {
                        reason: refusal.to_string(),
                    },
                })
            })
            .collect()
    }

    /// The hub's epoch, one for all its projects (a restore replaces them all).
    fn epoch(&self) -> Result<Epoch, StoreError> {
        let text = self.storage.hub_epoch().map_err(store_error)?;
        text.parse().map_err(StoreError::new)
    }

    fn peer_epoch(&self, _peer: &PeerId) -> Result<Option<Epoch>, StoreError> {
        let text = self
            .storage
            .peer_epoch(self.project(), &self.who.device_id)
            .map_err(store_error)?;
        text.map(|text| text.parse().map_err(StoreError::new))
            .transpose()
    }

    fn peer_cursor(&self, _peer: &PeerId) -> Result<PeerCursor, StoreError> {
        let (theirs, ours) = self
            .storage
            .peer_cursor(self.project(), &self.who.device_id)
            .map_err(store_error)?;
        Ok(PeerCursor {
            theirs: theirs as Seq,
            ours: ours as Seq,
        })
    }

    fn shared_heads(
        &self,
        _peer: &PeerId,
        id: &DocId,
    ) -> Result<Option<Vec<ChangeHash>>, StoreError> {
        self.storage
            .peer_heads(self.project(), &self.who.device_id, id.as_str())
            .map_err(store_error)
    }

    /// Not counted: nothing reads the hub's own sync reports (supervisors see conflicts in the
    /// documents, on their devices and in exports), and a walk over every received document
    /// would cost ingest about a third of its throughput (BENCHMARKS.md, Hub).
    fn has_conflicts(&self, _kind: minga_sync::DocKind, _doc: &Automerge) -> bool {
        false
    }

    fn attachments_wanted(&self, limit: usize) -> Result<Vec<(ContentHash, u64)>, StoreError> {
        sync_attachments::wanted(self.storage, self.project(), limit)
    }

    fn attachment_referrers(
        &self,
        hash: &ContentHash,
    ) -> Result<Vec<(DocId, minga_sync::DocKind)>, StoreError> {
        sync_attachments::referrers(self.storage, self.project(), hash)
    }

    fn attachment_size(&self, hash: &ContentHash) -> Result<Option<u64>, StoreError> {
        sync_attachments::size(self.storage, self.project(), hash)
    }

    fn attachment_chunk(
        &self,
        hash: &ContentHash,
        index: u64,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        sync_attachments::chunk(self.storage, self.project(), hash, index)
    }

    fn receive_attachment_chunk(
        &self,
        hash: &ContentHash,
        size: u64,
        index: u64,
        bytes: &[u8],
    ) -> Result<ChunkOutcome, StoreError> {
        let chunk = ReceivedChunk {
            hash,
            size,
            index,
            bytes,
        };
        sync_attachments::receive(self.storage, self.who, &chunk)
    }
}

/// The access rules of [`crate::access`] as minga-sync's policy, for one device.
pub struct DevicePolicy {
    pub storage: Arc<dyn HubStorage>,
    pub who: Principal,
}

impl DevicePolicy {
    /// Whether the device may read the stored document `doc` ([`access::may_read`]).
    fn readable(&self, doc: &DocId, kind: minga_sync::DocKind) -> bool {
        let storage = self.storage.as_ref();
        match author_for(storage, &self.who.project, doc.as_str(), kind, None) {
            Ok(author) => {
                let access = DocAccess {
                    project: &self.who.project,
                    kind,
                    submission_author: author.as_deref(),
                };
                access::may_read(&self.who, &access).is_ok()
            }
            Err(error) => {
                // Refusing is the safe answer when the rules cannot be checked.
                tracing::error!(%error, "sync policy could not read a document's author; refusing");
                false
            }
        }
    }
}

impl DevicePolicy {
    /// Judges the changes `proposed` adds to the stored document `id` by their signers
    /// ([`rights::judge`]). Cost: two key lookups for the document and the judgment.
    fn judge_delivery(
        &self,
        id: &str,
        kind: DocKind,
        proposed: &Automerge,
    ) -> crate::Result<Result<(), access::DeliveryRefused>> {
        let storage = self.storage.as_ref();
        let project = &self.who.project;
        let author = author_for(storage, project, id, kind, Some(proposed))?;
        let before = storage
            .document_header(project, id)?
            .map(|header| header.heads)
            .unwrap_or_default();
        let access = DocAccess {
            project,
            kind,
            submission_author: author.as_deref(),
        };
        rights::judge(storage, &self.who, (id, &access), proposed, &before)
    }
}

impl Policy for DevicePolicy {
    fn may_read(&self, _peer: &PeerId, doc: &DocId, kind: minga_sync::DocKind) -> bool {
        self.readable(doc, kind)
    }

    fn may_write(
        &self,
        _peer: &PeerId,
        doc: &DocId,
        kind: minga_sync::DocKind,
        proposed: &Automerge,
    ) -> bool {
        // A review must judge the submission its id derives from, so that no one files a
        // review under one submission's id about another.
        if kind == minga_sync::DocKind::Review
            && reviewed_submission(doc.as_str(), proposed).is_none()
        {
            return false;
        }
        match self.judge_delivery(doc.as_str(), kind, proposed) {
            Ok(Ok(())) => true,
            Ok(Err(refused)) => {
                tracing::warn!(device = %self.who.device_id, %refused, "sync write refused by its signer's rights");
                false
            }
            Err(error) => {
                // Refusing is the safe answer when the rules cannot be checked.
                tracing::error!(%error, "sync policy could not judge a document's signers; refusing");
                false
            }
        }
    }

    fn may_read_attachment(
        &self,
        _peer: &PeerId,
        hash: &ContentHash,
        _referrers: &[(DocId, minga_sync::DocKind)],
    ) -> bool {
        sync_attachments::may_read(self.storage.as_ref(), &self.who, hash)
    }
}

/// Each device's responder, so that a session's rounds find their state.
#[derive(Default)]
pub struct Responders {
    by_device: Mutex<HashMap<String, Arc<Mutex<Responder>>>>,
}

impl Responders {
    fn for_device(
        &self,
        state: &AppState,
        who: &Principal,
    ) -> Result<Arc<Mutex<Responder>>, ApiError> {
        let mut map = self.by_device.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(responder) = map.get(&who.device_id) {
            return Ok(responder.clone());
        }
        let local = PeerId::new(state.hub_id.clone())
            .map_err(|e| HubError::Corrupt(format!("hub id: {e}")))?;
        let policy = Arc::new(DevicePolicy {
            storage: state.storage.clone(),
            who: who.clone(),
        });
        let responder = Arc::new(Mutex::new(Responder::new(
            local,
            SyncOptions::default(),
            policy,
        )));
        map.insert(who.device_id.clone(), responder.clone());
        Ok(responder)
    }
}

pub async fn sync(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    Path(project): Path<String>,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    if who.project != project {
        return Err(access::Refusal::OtherProject.into());
    }
    let responder = state.responders.for_device(&state, &who)?;
    let storage = state.storage.clone();
    let (reply, received) = tokio::task::spawn_blocking(move || {
        let mut responder = responder.lock().unwrap_or_else(|p| p.into_inner());
        let store = ProjectDocuments {
            storage: storage.as_ref(),
            who: &who,
        };
        let received_before = responder.received_total();
        let reply = match responder.respond(&store, &body) {
            Ok(reply) => reply,
            Err(error) if is_storage_full(&error) => {
                tracing::error!(device = %who.device_id, %error, "sync round failed: the hub's storage is full; free disk space where its database lives");
                return Err(ApiError::storage_full());
            }
            Err(error) => {
                tracing::warn!(device = %who.device_id, %error, "sync session aborted");
                minga_sync::abort_reply(&body, &error)
            }
        };
        Ok((reply, responder.received_total() - received_before))
    })
    .await
    .map_err(|e| HubError::Corrupt(format!("a sync round panicked: {e}")))??;
    Metrics::add(&state.metrics.sync_rounds_total, 1);
    Metrics::add(&state.metrics.documents_received_total, received);
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], reply))
}
