//! A device's side of the hub's HTTP API, blocking: trade an enrolment code for a token, and
//! sync a store with the hub: over the transport phones use ([`phone_transport`], minga-sync's
//! HTTP client), or over [`HubConnection`], which keeps the hub's refusal text for tests.

use crate::server::enrol::{EnrolRequest, EnrolResponse};
use minga_sync::http::{HttpOptions, HttpTransport};
use minga_sync::signatures::PublicKey;
use minga_sync::{
    run_session, AllowAll, DocumentStore, Initiator, PeerId, SyncError, SyncOptions, SyncReport,
    Transport, TransportError,
};
use std::sync::Arc;

/// What went wrong talking to the hub.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("the hub could not be reached: {0}")]
    Unreachable(String),
    #[error("the hub refused ({status}): {body}")]
    Refused { status: u16, body: String },
    /// The hub answered with another key than the one whose fingerprint the enrolment link
    /// carries: it is not the hub that printed the code.
    #[error("the hub's key has the fingerprint {answered}, not {expected}: another hub")]
    WrongHubKey { expected: String, answered: String },
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

fn read(
    result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<Vec<u8>, ClientError> {
    let mut response = result.map_err(|e| ClientError::Unreachable(e.to_string()))?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .read_to_vec()
        .map_err(|e| ClientError::Unreachable(e.to_string()))?;
    if status == 200 {
        Ok(body)
    } else {
        Err(ClientError::Refused {
            status,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }
}

/// Trades a one-time code for a token at the hub `base_url` (`http://host:port`).
pub fn enrol(base_url: &str, code: &str) -> Result<EnrolResponse, ClientError> {
    enrol_with_key(base_url, code, None, None)
}

/// [`enrol`], binding the store's signing key (`Store::public_key`) to the new device, and,
/// given the enrolment link's `hub_key_fingerprint`, refusing a hub that answers with another
/// key ([`ClientError::WrongHubKey`]).
pub fn enrol_with_key(
    base_url: &str,
    code: &str,
    key: Option<&PublicKey>,
    hub_key_fingerprint: Option<&str>,
) -> Result<EnrolResponse, ClientError> {
    let request = EnrolRequest {
        code: code.into(),
        public_key: key.map(PublicKey::to_string),
    };
    let body = read(
        agent()
            .post(&format!("{base_url}/v1/enrol"))
            .send_json(&request),
    )?;
    let answer: EnrolResponse = serde_json::from_slice(&body)
        .map_err(|e| ClientError::Unreachable(format!("the hub's answer: {e}")))?;
    if let Some(expected) = hub_key_fingerprint {
        let answered = answer.hub_key.as_deref().map(fingerprint_of_hex);
        let answered = answered.flatten().unwrap_or_else(|| "absent".into());
        if answered != expected {
            return Err(ClientError::WrongHubKey {
                expected: expected.into(),
                answered,
            });
        }
    }
    Ok(answer)
}

/// The fingerprint of a key given as 64 hex digits; `None` when it is not one.
fn fingerprint_of_hex(hex: &str) -> Option<String> {
    let bytes: [u8; 32] = hex::decode(hex).ok()?.try_into().ok()?;
    Some(PublicKey(bytes).fingerprint())
}

/// An enrolled device's connection to its project on a hub.
pub struct HubConnection {
    base_url: String,
    project: String,
    token: String,
    agent: ureq::Agent,
}

impl HubConnection {
    pub fn new(base_url: &str, project: &str, token: &str) -> Self {
        HubConnection {
            base_url: base_url.into(),
            project: project.into(),
            token: token.into(),
            agent: agent(),
        }
    }

    /// Runs one whole sync session of `store` over this connection: see [`sync_store`].
    pub fn sync<S: DocumentStore + ?Sized>(
        &self,
        store: &S,
        local: &PeerId,
        hub: &PeerId,
    ) -> Result<SyncReport, SyncError> {
        sync_store(store, self, local, hub)
    }
}

/// The transport a phone syncs with the hub at `base_url` over: minga-sync's HTTP client,
/// posting to the project's sync route with the device's token.
pub fn phone_transport(
    base_url: &str,
    project: &str,
    token: &str,
) -> Result<HttpTransport, TransportError> {
    let options = HttpOptions {
        token: Some(token.into()),
        ..HttpOptions::default()
    };
    HttpTransport::new(format!("{base_url}/v1/sync/{project}"), options)
}

/// Runs one whole sync session of `store` (a phone's core store, or any sync store), as peer
/// `local`, with the hub whose peer id is `hub` (its `hub_id`), over `transport`. The device
/// side lets the hub send anything: the hub's own policy decides what this device receives.
pub fn sync_store<S: DocumentStore + ?Sized>(
    store: &S,
    transport: &dyn Transport,
    local: &PeerId,
    hub: &PeerId,
) -> Result<SyncReport, SyncError> {
    let options = SyncOptions::default();
    let mut initiator = Initiator::new(local.clone(), hub.clone(), options, Arc::new(AllowAll));
    run_session(store, transport, &mut initiator, &options, &mut |_| {})
}

impl Transport for HubConnection {
    fn exchange(&self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
        let url = format!("{}/v1/sync/{}", self.base_url, self.project);
        let result = self
            .agent
            .post(&url)
            .header("Authorization", &format!("Bearer {}", self.token))
            .send(request);
        match read(result) {
            Ok(reply) => Ok(reply),
            // A dropped connection may go through on a retry; the responder recognises repeats.
            Err(ClientError::Unreachable(message)) => Err(TransportError::retryable(message)),
            Err(ClientError::Refused { status, body }) => {
                Err(TransportError::fatal(format!("{status}: {body}")))
            }
            Err(other @ ClientError::WrongHubKey { .. }) => {
                Err(TransportError::fatal(other.to_string()))
            }
        }
    }
}
