//! Moving a session's bytes: the [`Transport`] trait a host implements (its own HTTP stack,
//! Bluetooth, Wi-Fi Direct), an in-memory transport for tests, and the loop that drives an
//! initiator over any transport.

use std::sync::{Arc, Mutex};

use crate::error::{SyncError, TransportError};
use crate::ids::PeerId;
use crate::initiator::{Initiator, Step};
use crate::policy::Policy;
use crate::report::{Progress, SyncReport};
use crate::responder::Responder;
use crate::store::DocumentStore;
use crate::SyncOptions;

/// Carries one request to the responder and brings its reply back.
pub trait Transport {
    fn exchange(&self, request: &[u8]) -> Result<Vec<u8>, TransportError>;
}

/// A responder and its store in the same process: for tests, and for two stores in one app.
pub struct MemoryTransport<'a, S: ?Sized> {
    store: &'a S,
    responder: Mutex<Responder>,
}

impl<'a, S: DocumentStore + ?Sized> MemoryTransport<'a, S> {
    pub fn new(store: &'a S, local: PeerId, options: SyncOptions, policy: Arc<dyn Policy>) -> Self {
        Self {
            store,
            responder: Mutex::new(Responder::new(local, options, policy)),
        }
    }
}

impl<S: DocumentStore + ?Sized> Transport for MemoryTransport<'_, S> {
    fn exchange(&self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
        let mut responder = self
            .responder
            .lock()
            .map_err(|_| TransportError::fatal("responder poisoned by an earlier panic"))?;
        Ok(responder.respond_or_abort(self.store, request))
    }
}

/// Runs one whole session over `transport`: a retryable transport error resends the same
/// request (the responder recognises a repeat) up to `options.retries` times. `progress` is
/// called after every round trip. The start and the end (counts, or the error) are logged
/// with `tracing`; documents' content never is.
pub fn run_session<S: DocumentStore + ?Sized>(
    store: &S,
    transport: &dyn Transport,
    initiator: &mut Initiator,
    options: &SyncOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<SyncReport, SyncError> {
    let peer = initiator.peer().clone();
    tracing::info!(%peer, "sync started");
    let result = drive(store, transport, initiator, options, progress);
    match &result {
        Ok(report) => tracing::info!(
            %peer,
            sent = report.sent,
            received = report.received,
            refused = report.refused.len(),
            conflicts = report.conflicts,
            round_trips = report.round_trips,
            "sync finished"
        ),
        Err(error) => tracing::warn!(%peer, %error, "sync failed"),
    }
    result
}

/// The exchanges of [`run_session`], until the initiator is done.
fn drive<S: DocumentStore + ?Sized>(
    store: &S,
    transport: &dyn Transport,
    initiator: &mut Initiator,
    options: &SyncOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<SyncReport, SyncError> {
    let mut request = initiator.start(store)?;
    loop {
        let reply = exchange_with_retries(transport, &request, options.retries)?;
        match initiator.receive(store, &reply)? {
            Step::Send(next) => request = next,
            Step::Done(report) => {
                progress(initiator.progress(store));
                return Ok(report);
            }
        }
        progress(initiator.progress(store));
    }
}

fn exchange_with_retries(
    transport: &dyn Transport,
    request: &[u8],
    retries: u32,
) -> Result<Vec<u8>, TransportError> {
    let mut attempt = 0;
    loop {
        match transport.exchange(request) {
            Err(error) if error.retryable && attempt < retries => attempt += 1,
            result => return result,
        }
    }
}
