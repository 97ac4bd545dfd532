//! `POST /v1/enrol`: a device trades its one-time code for a token, shown this once. A code
//! that is not right gets one answer whether its lookup part exists or not, and costs the
//! address that sent it a try (see [`super::guessers`]); the code itself is never locked.

use super::error::ApiError;
use super::metrics::Metrics;
use super::AppState;
use crate::access::Role;
use crate::auth::{decide_enrolment, hash_secret, new_token, EnrolDecision, EnrolmentCode};
use crate::storage::{Device, Redemption};
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::Utc;
use minga_sync::signatures::{credential_text, PublicKey};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::time::Instant;

#[derive(Debug, Deserialize, Serialize)]
pub struct EnrolRequest {
    pub code: String,
    /// The device's signing key (64 hex digits, `Store::public_key`), which the hub binds to the
    /// new device: a submission's author is then the device whose key signed its first change,
    /// whoever relays it. Absent from devices of before signed changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
}

#[derive(Debug, Deserialize, Serialize)]
pub struct EnrolResponse {
    pub token: String,
    pub device_id: String,
    pub project: String,
    pub role: Role,
    /// The hub's peer id, to address sync sessions to.
    pub hub_id: String,
    /// The hub's own public key (64 hex digits), which signs `credential`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hub_key: Option<String>,
    /// When the device sent its key: the hub's signature (128 hex digits) of the binding
    /// (`minga_sync::signatures::credential_text`: device id, project, role, device key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// The one answer to a code that is not right: its lookup part unknown, or its secret wrong.
fn wrong_code() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "wrong_code",
        "no enrolment code matches; check it, or ask for a new one",
    )
}

/// The answer to an address that has sent too many codes that were not right.
fn too_many_tries() -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_tries",
        format!(
            "too many wrong codes from this address; wait {} seconds, then try again",
            super::guessers::REFILL.as_secs()
        ),
    )
}

fn refusal(decision: EnrolDecision) -> ApiError {
    let (status, code, message) = match decision {
        EnrolDecision::WrongSecret => return wrong_code(),
        EnrolDecision::Used => (
            StatusCode::FORBIDDEN,
            "code_used",
            "the code was already used; ask for a new one",
        ),
        EnrolDecision::Expired => (
            StatusCode::FORBIDDEN,
            "code_expired",
            "the code has expired; ask for a new one",
        ),
        // Storage creates the device whenever it accepts; anything else is a storage fault.
        EnrolDecision::Accept => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the code was accepted but no device was created",
        ),
    };
    ApiError::new(status, code, message)
}

pub async fn enrol(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    Json(request): Json<EnrolRequest>,
) -> Result<Json<EnrolResponse>, ApiError> {
    let code = EnrolmentCode::parse(&request.code).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_code",
            "an enrolment code looks like ABCD-EFGH-JKMN",
        )
    })?;
    let key = request.public_key.as_deref().map(parse_key).transpose()?;
    if !state.guessers.try_take(client.ip(), Instant::now()) {
        return Err(too_many_tries());
    }
    let token = new_token();
    let token_hash = hash_secret(&token);
    let device_id = uuid::Uuid::now_v7().to_string();
    let secret_hash = code.secret_hash();
    let id = device_id.clone();
    let redemption = state
        .blocking(move |storage| {
            let decide =
                |s: &crate::auth::EnrolmentState| decide_enrolment(s, &secret_hash, Utc::now());
            storage.redeem_enrolment(&code.lookup, &decide, &id, &token_hash)
        })
        .await?;
    let right_code = matches!(
        redemption,
        Redemption::Decided {
            decision: EnrolDecision::Accept | EnrolDecision::Used | EnrolDecision::Expired,
            ..
        }
    );
    if right_code {
        state.guessers.give_back(client.ip(), Instant::now());
    }
    match redemption {
        Redemption::UnknownCode => Err(wrong_code()),
        Redemption::Decided {
            device: Some(device),
            ..
        } => {
            let (hub_key, credential) = bind(&state, &device, key).await?;
            Metrics::add(&state.metrics.enrolments_total, 1);
            tracing::info!(device = %device.id, project = %device.project, role = %device.role, "device enrolled");
            Ok(Json(EnrolResponse {
                token,
                device_id: device.id,
                project: device.project,
                role: device.role,
                hub_id: state.hub_id.clone(),
                hub_key: Some(hub_key),
                credential,
            }))
        }
        Redemption::Decided {
            decision,
            device: None,
        } => Err(refusal(decision)),
    }
}

/// A signing key as a device sends it: 64 hex digits.
fn parse_key(text: &str) -> Result<PublicKey, ApiError> {
    let malformed = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_key",
            "a device's public key is 64 hex digits",
        )
    };
    let bytes = hex::decode(text).map_err(|_| malformed())?;
    Ok(PublicKey(bytes.try_into().map_err(|_| malformed())?))
}

/// Binds the device's key (when it sent one) and signs the binding: the hub's public key (hex)
/// and the credential (hex), if any. Cost: two small storage calls.
async fn bind(
    state: &AppState,
    device: &Device,
    key: Option<PublicKey>,
) -> Result<(String, Option<String>), ApiError> {
    let device = device.clone();
    let bound = state
        .blocking(move |storage| {
            let hub = storage.hub_signing_key()?;
            let Some(key) = key else {
                return Ok((hub.public_key().to_string(), None));
            };
            storage.bind_device_key(&device.project, &device.id, &key)?;
            let role = device.role.to_string();
            let text = credential_text(&device.id, &device.project, &role, &key);
            let credential = hex::encode(hub.sign_credential(&text));
            Ok((hub.public_key().to_string(), Some(credential)))
        })
        .await?;
    Ok(bound)
}
