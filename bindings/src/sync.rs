//! Sync from the app: with a hub over HTTP (`minga_sync::http::HttpTransport`), or with any
//! peer over a transport the host brings ([`SyncTransport`]: Bluetooth, Wi-Fi Direct, its own
//! HTTP stack), answered on the other side by a [`SyncResponder`]. Two devices syncing
//! directly first prove their enrolment to each other (`minga_sync::peer`'s handshake) and
//! each applies the hub's rules to the other (`minga_core::PeerPolicy`), unless the app opens
//! an unenrolled exchange on both sides (`unenrolled = true`). Every session runs
//! `minga_sync::run_session` on the core store; [`SyncReport`] says what it did and a
//! [`SyncProgressListener`] hears how far it is after each round trip.

use crate::error::{MingaError, Result};
use crate::hub::{sync_url, HubCredentials};
use crate::store::Store;
use minga_core as core;
use minga_sync::credential::Credential;
use minga_sync::http::{HttpOptions, HttpTransport};
use minga_sync::peer::{prove_to_peer, PeerGate, PeerIdentity, PeerRefused, PolicyFor};
use minga_sync::wire::Refusal;
use minga_sync::{
    AllowAll, Initiator, PeerId, Policy, Responder, SyncError, SyncOptions, Transport,
    TransportError,
};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What one sync session (or one imported bundle) did, seen from this store.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncReport {
    /// Documents whose changes this store sent and the peer applied.
    pub sent: u64,
    /// Documents whose received changes this store applied.
    pub received: u64,
    /// Documents refused, by either side, and why.
    pub refused: Vec<RefusedDocument>,
    /// This store's own work the peer refused (also in `refused`): each document, its newest
    /// changes and why. Not empty: tell the user, that work did not reach the peer.
    pub refused_by_peer: Vec<RefusedWork>,
    /// Received documents that now hold conflicting answers, for a supervisor to settle.
    pub conflicts: u64,
    pub round_trips: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// The automerge bytes inside those, both ways.
    pub change_bytes: u64,
    /// Attachments the peer took whole from this store, and those that became whole here.
    pub attachments_sent: u64,
    pub attachments_received: u64,
    /// Attachment bytes sent and received.
    pub attachment_bytes_sent: u64,
    pub attachment_bytes_received: u64,
}

/// A document one side would not take or give.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RefusedDocument {
    pub id: String,
    pub reason: RefusalReason,
}

/// A document of this store the peer refused: its id, its newest changes (hex change hashes)
/// and why.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RefusedWork {
    pub id: String,
    pub changes: Vec<String>,
    pub reason: RefusalReason,
}

impl From<&minga_core::minga_sync::RefusedWork> for RefusedWork {
    fn from(work: &minga_core::minga_sync::RefusedWork) -> Self {
        Self {
            id: work.doc.to_string(),
            changes: work.heads.iter().map(|head| head.to_string()).collect(),
            reason: work.reason.into(),
        }
    }
}

/// Why a document was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum RefusalReason {
    /// The peer may not read it (a facilitator and someone else's submission).
    NotReadable,
    /// The peer may not change it (a facilitator and a review).
    NotWritable,
    /// Its bytes are not automerge changes.
    Invalid,
    /// It exists on one side as another kind of document.
    KindMismatch,
    /// It builds on changes this store lacks: a full bundle or a network sync brings them.
    Incomplete,
}

/// How far a session is, after each round trip.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncProgress {
    /// Documents settled with the peer (equal, applied, sent or refused).
    pub docs_done: u64,
    /// Documents offered by either side and not settled yet.
    pub docs_in_flight: u64,
    /// An upper bound on the documents this store has still to offer.
    pub docs_left_estimate: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// Attachment bytes moved in this session, and those still to move as far as it knows.
    pub attachment_bytes_done: u64,
    pub attachment_bytes_left: u64,
}

/// Implemented by the app to show a sync's progress. Called on the syncing thread after every
/// round trip; an exception thrown here is dropped and the sync goes on.
#[uniffi::export(with_foreign)]
pub trait SyncProgressListener: Send + Sync {
    fn on_progress(&self, progress: SyncProgress);
}

/// Implemented by the app to carry a session's bytes to a peer's [`SyncResponder`] and bring
/// its reply back (Bluetooth, Wi-Fi Direct, a file share, its own HTTP stack). Throw
/// `MingaError.Network` for what may go through when sent again (the same request is resent,
/// up to three times; the responder recognises a repeat), any other `MingaError` to end the
/// sync with that error.
#[uniffi::export(with_foreign)]
pub trait SyncTransport: Send + Sync {
    fn exchange(&self, request: Vec<u8>) -> Result<Vec<u8>>;
}

/// How [`Store::sync_http`] connects. The defaults suit a phone on a slow network.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpSettings {
    /// The longest one request may take, connecting included.
    #[uniffi(default = 60)]
    pub timeout_seconds: u32,
    /// How often a request that failed in a way that may pass (a timeout, a dropped
    /// connection, a busy hub) is sent again, waiting 0.5 s, then 1 s, 2 s...
    #[uniffi(default = 3)]
    pub retries: u32,
    /// A proxy (`http://host:port`, `socks5://host:port`); none uses `HTTPS_PROXY` if set.
    #[uniffi(default = None)]
    pub proxy: Option<String>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            timeout_seconds: 60,
            retries: 3,
            proxy: None,
        }
    }
}

/// The other side of a session over a host transport: hand each request that arrives to
/// [`SyncResponder::respond`] and send back what it returns. The peer first proves its
/// enrolment, and then reads and writes only what the hub would let it; an unenrolled
/// responder (`responder(unenrolled = true)`) lets any peer read and write everything.
#[derive(uniffi::Object)]
pub struct SyncResponder {
    store: Arc<Store>,
    responder: Mutex<Answering>,
}

/// How a responder answers: behind the peer handshake, or open to any peer.
enum Answering {
    Gated(Box<PeerGate>),
    Unenrolled(Box<Responder>),
}

#[uniffi::export]
impl SyncResponder {
    /// Answers one request. A request that breaks the protocol is answered with an abort that
    /// ends the peer's session (with `MingaError.Network` there); `Closed` once the store is.
    pub fn respond(&self, request: Vec<u8>) -> Result<Vec<u8>> {
        self.store.call(|store| {
            let mut responder = self
                .responder
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            Ok(match &mut *responder {
                Answering::Gated(gate) => gate.respond(store, &request),
                Answering::Unenrolled(open) => open.respond_or_abort(store, &request),
            })
        })
    }
}

#[uniffi::export]
impl Store {
    /// Syncs with the hub these credentials are for (see `enrol`): sends what it lacks,
    /// receives what this device may see, in pages that commit as they arrive. Blocks until
    /// done; observers hear of every document received. `Unauthorized` (re-enrol), `Revoked`
    /// (wipe the local copy), `Network` (retry later: what arrived is kept).
    #[uniffi::method(default(settings = None, progress = None))]
    pub fn sync_http(
        &self,
        hub: HubCredentials,
        settings: Option<HttpSettings>,
        progress: Option<Arc<dyn SyncProgressListener>>,
    ) -> Result<SyncReport> {
        let settings = settings.unwrap_or_default();
        let url = sync_url(&hub)?;
        let options = HttpOptions {
            timeout: Duration::from_secs(settings.timeout_seconds.into()),
            proxy: settings.proxy,
            token: Some(hub.token),
            retries: settings.retries,
            ..HttpOptions::default()
        };
        let transport = HttpTransport::new(url, options).map_err(MingaError::invalid_argument)?;
        let local = peer_id(&hub.device_id)?;
        let remote = peer_id(&hub.hub_id)?;
        // The HTTP transport retries by itself; the session does not repeat its retries.
        let options = SyncOptions {
            retries: 0,
            ..SyncOptions::default()
        };
        let session = Session {
            local,
            remote,
            options,
            policy: Arc::new(AllowAll), // the hub, which enrolled this device, is trusted
        };
        self.call(|store| {
            run(store, &transport, session, progress).map_err(|error| from_sync_error(error, None))
        })
    }

    /// Syncs with peer `peer` over the host's `transport`, as this store's device id. The
    /// peer answers with its own store's `responder()`. Both first prove their enrolment
    /// (the credential the hub signed, and the key it binds); this store then sends the peer
    /// only what the hub would let it read and takes only what the hub would let it write.
    /// `Unauthorized` when this store has no credential (enrol it), or the peer's credential
    /// or proof is refused (either side; an unenrolled peer, another hub's, or a peer of an
    /// older Minga). With `unenrolled`, no handshake: every document goes both ways (the peer
    /// must answer with `responder(unenrolled = true)`).
    #[uniffi::method(default(progress = None, unenrolled = false))]
    pub fn sync_with(
        &self,
        transport: Arc<dyn SyncTransport>,
        peer: String,
        progress: Option<Arc<dyn SyncProgressListener>>,
        unenrolled: bool,
    ) -> Result<SyncReport> {
        let remote = peer_id(&peer)?;
        let transport = HostTransport::new(transport);
        self.call_shared(|store| {
            let local = peer_id(&store.identity().device_id)?;
            let policy: Arc<dyn Policy> = match unenrolled {
                true => Arc::new(AllowAll),
                false => {
                    let me = identity(&store)?;
                    let peer = prove_to_peer(&transport, &me)
                        .map_err(|refused| from_peer_refused(refused, &transport))?;
                    Arc::new(core::PeerPolicy::new(&store, me.credential, peer))
                }
            };
            let session = Session {
                local,
                remote,
                options: SyncOptions::default(),
                policy,
            };
            run(&store, &transport, session, progress)
                .map_err(|error| from_sync_error(error, transport.take_failure()))
        })
    }

    /// A responder that answers the sessions a peer runs with this store (`sync_with` on the
    /// peer's side), as this store's device id. One responder serves one peer at a time. The
    /// peer must prove its enrolment first, and then gets what the hub would give it;
    /// `Unauthorized` when this store has no credential (enrol it). With `unenrolled`, any
    /// peer reads and writes everything (an app's explicit choice, for stores no hub enrolled).
    #[uniffi::method(default(unenrolled = false))]
    pub fn responder(self: Arc<Self>, unenrolled: bool) -> Result<Arc<SyncResponder>> {
        let answering = self.call_shared(|store| {
            let local = peer_id(&store.identity().device_id)?;
            let options = SyncOptions::default();
            if unenrolled {
                let open = Responder::new(local, options, Arc::new(AllowAll));
                return Ok(Answering::Unenrolled(Box::new(open)));
            }
            let me = identity(&store)?;
            let mine = me.credential.clone();
            let shared = Arc::downgrade(&store);
            let policy_for: PolicyFor = Box::new(move |peer: &Credential| -> Arc<dyn Policy> {
                match shared.upgrade() {
                    Some(store) => {
                        Arc::new(core::PeerPolicy::new(&store, mine.clone(), peer.clone()))
                    }
                    None => Arc::new(RefuseAll), // the store closed: nothing to give
                }
            });
            Ok(Answering::Gated(Box::new(PeerGate::new(
                me, local, options, policy_for,
            ))))
        })?;
        Ok(Arc::new(SyncResponder {
            responder: Mutex::new(answering),
            store: self,
        }))
    }
}

/// The policy of a responder whose store has closed.
struct RefuseAll;

impl Policy for RefuseAll {
    fn may_read(&self, _: &PeerId, _: &minga_sync::DocId, _: minga_sync::DocKind) -> bool {
        false
    }

    fn may_write(
        &self,
        _: &PeerId,
        _: &minga_sync::DocId,
        _: minga_sync::DocKind,
        _: &core::automerge::Automerge,
    ) -> bool {
        false
    }
}

/// This store's credential for a peer, or `Unauthorized` naming the way out.
fn identity(store: &core::Store) -> Result<PeerIdentity> {
    store.peer_identity()?.ok_or_else(|| MingaError::Unauthorized {
        reason: "this store has no credential from a hub, so no peer can know who it is: enrol                  it (Store.enrol), or open an unenrolled exchange on both sides"
            .into(),
    })
}

/// A failed handshake as what the app acts on: the host transport's own error, or
/// `Unauthorized` naming what was refused.
fn from_peer_refused(refused: PeerRefused, transport: &HostTransport) -> MingaError {
    match refused {
        PeerRefused::Transport(error) => {
            from_sync_error(SyncError::Transport(error), transport.take_failure())
        }
        other => MingaError::Unauthorized {
            reason: other.to_string(),
        },
    }
}

/// Who syncs with whom, with which limits and under which policy.
struct Session {
    local: PeerId,
    remote: PeerId,
    options: SyncOptions,
    policy: Arc<dyn Policy>,
}

/// One whole session, telling `progress` after every round trip.
fn run(
    store: &core::Store,
    transport: &dyn Transport,
    session: Session,
    progress: Option<Arc<dyn SyncProgressListener>>,
) -> std::result::Result<SyncReport, SyncError> {
    let Session {
        local,
        remote,
        options,
        policy,
    } = session;
    let mut initiator = Initiator::new(local, remote, options, policy);
    let mut tell = |step: minga_sync::Progress| {
        if let Some(listener) = &progress {
            // A listener that throws (a panic here) must not end the sync.
            let _ = catch_unwind(AssertUnwindSafe(|| listener.on_progress(step.into())));
        }
    };
    let report = minga_sync::run_session(store, transport, &mut initiator, &options, &mut tell)?;
    Ok(report.into())
}

pub(crate) fn peer_id(id: &str) -> Result<PeerId> {
    PeerId::new(id).map_err(|error| MingaError::invalid_argument(format!("peer id: {error}")))
}

/// The host's transport as minga-sync's, keeping the host's own error so that the app gets
/// back the `MingaError` its transport threw.
pub(crate) struct HostTransport {
    host: Arc<dyn SyncTransport>,
    failure: Mutex<Option<MingaError>>,
}

impl HostTransport {
    pub(crate) fn new(host: Arc<dyn SyncTransport>) -> Self {
        Self {
            host,
            failure: Mutex::new(None),
        }
    }

    fn take_failure(&self) -> Option<MingaError> {
        self.failure
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
    }
}

impl Transport for HostTransport {
    fn exchange(&self, request: &[u8]) -> std::result::Result<Vec<u8>, TransportError> {
        let error = match self.host.exchange(request.to_vec()) {
            Ok(reply) => return Ok(reply),
            Err(error) => error,
        };
        let transport_error = match error {
            MingaError::Network { .. } => TransportError::retryable(error.to_string()),
            MingaError::Revoked => TransportError::revoked(error.to_string()),
            MingaError::HubStorageFull { .. } => {
                TransportError::hub_storage_full(error.to_string())
            }
            _ => TransportError::fatal(error.to_string()),
        };
        *self
            .failure
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(error);
        Err(transport_error)
    }
}

/// A failed session as what the app acts on. `host` is the error a host transport threw.
fn from_sync_error(error: SyncError, host: Option<MingaError>) -> MingaError {
    if let (SyncError::Transport(_), Some(host)) = (&error, host) {
        return host;
    }
    let reason = error.to_string();
    match error {
        SyncError::Transport(transport) if transport.revoked => MingaError::Revoked,
        SyncError::Transport(transport) if transport.hub_storage_full => {
            MingaError::HubStorageFull {
                reason: transport.message,
            }
        }
        SyncError::Transport(transport) => {
            unauthorized(&transport.message).unwrap_or(MingaError::Network { reason })
        }
        SyncError::Store(_) => MingaError::Storage { reason },
        // The peer's bytes broke the protocol or it gave up: nothing this side can fix but
        // retrying (what arrived is kept).
        _ => MingaError::Network { reason },
    }
}

/// The hub's refusal of a token (401) or of a project the device is not enrolled in (403), read
/// from the HTTP transport's "<url> answered HTTP <status>".
fn unauthorized(message: &str) -> Option<MingaError> {
    let status = message.rsplit_once("answered HTTP ")?.1.get(..3)?;
    matches!(status, "401" | "403").then(|| MingaError::Unauthorized {
        reason: message.to_string(),
    })
}

impl From<minga_sync::Progress> for SyncProgress {
    fn from(progress: minga_sync::Progress) -> Self {
        Self {
            docs_done: progress.docs_done,
            docs_in_flight: progress.docs_in_flight,
            docs_left_estimate: progress.docs_left_estimate,
            bytes_sent: progress.bytes_sent,
            bytes_received: progress.bytes_received,
            attachment_bytes_done: progress.attachment_bytes_done,
            attachment_bytes_left: progress.attachment_bytes_left,
        }
    }
}

impl From<minga_sync::SyncReport> for SyncReport {
    fn from(report: minga_sync::SyncReport) -> Self {
        Self {
            refused_by_peer: report
                .refused_by_peer
                .iter()
                .map(RefusedWork::from)
                .collect(),
            sent: report.sent as u64,
            received: report.received as u64,
            refused: report
                .refused
                .into_iter()
                .map(|(id, refusal)| RefusedDocument {
                    id: id.to_string(),
                    reason: refusal.into(),
                })
                .collect(),
            conflicts: report.conflicts as u64,
            round_trips: report.round_trips,
            bytes_sent: report.bytes_sent,
            bytes_received: report.bytes_received,
            change_bytes: report.change_bytes,
            attachments_sent: report.attachments_sent as u64,
            attachments_received: report.attachments_received as u64,
            attachment_bytes_sent: report.attachment_bytes_sent,
            attachment_bytes_received: report.attachment_bytes_received,
        }
    }
}

impl From<Refusal> for RefusalReason {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::NotReadable => Self::NotReadable,
            Refusal::NotWritable => Self::NotWritable,
            Refusal::Invalid => Self::Invalid,
            Refusal::KindMismatch => Self::KindMismatch,
            Refusal::Incomplete => Self::Incomplete,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hubs_refusals_are_read_from_the_transport_error() {
        let refusal = |status| unauthorized(&format!("http://h/v1/sync/p answered HTTP {status}"));
        assert!(matches!(
            refusal(401),
            Some(MingaError::Unauthorized { .. })
        ));
        assert!(matches!(
            refusal(403),
            Some(MingaError::Unauthorized { .. })
        ));
        assert!(refusal(404).is_none() && refusal(410).is_none());
        assert!(unauthorized("connection refused").is_none());
        let revoked = SyncError::Transport(TransportError::revoked("answered HTTP 410"));
        assert!(matches!(
            from_sync_error(revoked, None),
            MingaError::Revoked
        ));
    }

    #[test]
    fn the_hubs_full_storage_is_its_own_error_not_the_network() {
        let full = SyncError::Transport(TransportError::hub_storage_full(
            "http://h/v1/sync/p answered HTTP 507: the hub's storage is full",
        ));
        assert!(matches!(
            from_sync_error(full, None),
            MingaError::HubStorageFull { reason } if reason.contains("507")
        ));
    }

    #[test]
    fn a_host_transport_error_comes_back_as_the_host_threw_it() {
        let error = SyncError::Transport(TransportError::fatal("x"));
        let host = MingaError::Unauthorized {
            reason: "the tablet said no".into(),
        };
        assert!(matches!(
            from_sync_error(error, Some(host)),
            MingaError::Unauthorized { reason } if reason == "the tablet said no"
        ));
    }
}
