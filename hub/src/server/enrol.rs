//! `POST /v1/enrol`: a device trades its one-time code for a token, shown this once.

use super::error::ApiError;
use super::metrics::Metrics;
use super::AppState;
use crate::access::Role;
use crate::auth::{
    decide_enrolment, hash_secret, new_token, EnrolDecision, EnrolmentCode, MAX_WRONG_GUESSES,
};
use crate::storage::Redemption;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::Utc;
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize, Serialize)]
pub struct EnrolRequest {
    pub code: String,
}

#[derive(Debug, Deserialize, Serialize)]
pub struct EnrolResponse {
    pub token: String,
    pub device_id: String,
    pub project: String,
    pub role: Role,
    /// The hub's peer id, to address sync sessions to.
    pub hub_id: String,
}

fn refusal(decision: EnrolDecision) -> ApiError {
    let (status, code, message) = match decision {
        EnrolDecision::WrongSecret => (
            StatusCode::FORBIDDEN,
            "wrong_code",
            format!("the code is wrong; it locks after {MAX_WRONG_GUESSES} wrong tries"),
        ),
        EnrolDecision::Used => (
            StatusCode::FORBIDDEN,
            "code_used",
            "the code was already used; ask for a new one".into(),
        ),
        EnrolDecision::Expired => (
            StatusCode::FORBIDDEN,
            "code_expired",
            "the code has expired; ask for a new one".into(),
        ),
        EnrolDecision::Locked => (
            StatusCode::TOO_MANY_REQUESTS,
            "code_locked",
            "too many wrong tries; the code is locked, ask for a new one".into(),
        ),
        // Storage creates the device whenever it accepts; anything else is a storage fault.
        EnrolDecision::Accept => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the code was accepted but no device was created".into(),
        ),
    };
    ApiError::new(status, code, message)
}

pub async fn enrol(
    State(state): State<AppState>,
    Json(request): Json<EnrolRequest>,
) -> Result<Json<EnrolResponse>, ApiError> {
    let code = EnrolmentCode::parse(&request.code).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_code",
            "an enrolment code looks like ABCD-EFGH-JKMN",
        )
    })?;
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
    match redemption {
        Redemption::UnknownCode => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "unknown_code",
            "no such enrolment code",
        )),
        Redemption::Decided {
            device: Some(device),
            ..
        } => {
            Metrics::add(&state.metrics.enrolments_total, 1);
            tracing::info!(device = %device.id, project = %device.project, role = %device.role, "device enrolled");
            Ok(Json(EnrolResponse {
                token,
                device_id: device.id,
                project: device.project,
                role: device.role,
                hub_id: state.hub_id.clone(),
            }))
        }
        Redemption::Decided {
            decision,
            device: None,
        } => Err(refusal(decision)),
    }
}
