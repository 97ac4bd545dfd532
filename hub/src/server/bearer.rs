//! The `Authorization: Bearer <token>` check every route but health, metrics and enrolment
//! goes through. Tokens are looked up by their hash and never logged. A device that passes has
//! reached the sync or document routes: its last sync is recorded, at most once a minute.

use super::error::ApiError;
use super::AppState;
use crate::access::Principal;
use crate::auth::{hash_secret, is_well_formed_token};
use crate::storage::{Device, SYNC_RECORDING_INTERVAL};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};

/// The device making the request, authenticated and not revoked.
pub struct Authenticated(pub Principal);

fn bearer_token(parts: &Parts) -> Result<&str, ApiError> {
    let value = parts.headers.get(header::AUTHORIZATION).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing_token",
            "send Authorization: Bearer <token>",
        )
    })?;
    value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .filter(|token| is_well_formed_token(token))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "malformed_token",
                "the bearer token is not a Minga token",
            )
        })
}

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token_hash = hash_secret(bearer_token(parts)?);
        let device = state
            .blocking(move |storage| storage.device_by_token_hash(&token_hash))
            .await?
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unknown_token",
                    "this token was not issued by this hub",
                )
            })?;
        if device.revoked_at.is_some() {
            return Err(ApiError::revoked());
        }
        record_sync(state, &device).await?;
        Ok(Authenticated(Principal {
            device_id: device.id,
            project: device.project,
            role: device.role,
        }))
    }
}

/// Records that `device` synced now, unless its record is younger than
/// [`SYNC_RECORDING_INTERVAL`]: a sync of many rounds costs one write, not one per round.
async fn record_sync(state: &AppState, device: &Device) -> Result<(), ApiError> {
    let now = chrono::Utc::now();
    if device
        .last_sync_at
        .is_some_and(|last| now - last < SYNC_RECORDING_INTERVAL)
    {
        return Ok(());
    }
    let id = device.id.clone();
    state
        .blocking(move |storage| storage.record_sync(&id, now))
        .await
}
