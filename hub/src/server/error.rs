//! Refusals and failures as HTTP answers: a status and a JSON body `{"error": code, "message"}`
//! that a device can act on. A revoked device also gets `"wipe": true`; a full disk on the hub is
//! HTTP 507 (`storage_full`), not a failure the device could mistake for its network.

use crate::access::Refusal;
use crate::error::HubError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// The hub's storage is full (HTTP 507): nothing of the request was stored, and the device
    /// keeps what it sent; the hub's administrator must free space before it syncs again.
    pub fn storage_full() -> Self {
        Self::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "storage_full",
            "the hub's storage is full: nothing of this request was stored (the device keeps its copy); the hub's administrator must free disk space",
        )
    }

    /// Refused: the device must wipe its local copy of the project.
    pub fn revoked() -> Self {
        Self::new(
            StatusCode::GONE,
            "revoked",
            "this device was revoked; wipe its local copy of the project",
        )
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        let message = match refusal {
            Refusal::OtherProject => "this device is not enrolled in that project",
            Refusal::NotTheAuthor => "a facilitator may only see and change its own submissions",
            Refusal::ReviewsAreForSupervisors => "only supervisors may write reviews",
            Refusal::FormsArePublished => {
                "forms are published by an administrator, not written by devices"
            }
        };
        ApiError::new(StatusCode::FORBIDDEN, refusal.code(), message)
    }
}

/// A change refused by its signer's rights (or a carrier that may not carry the document): 403
/// with the rule's code, the message naming the document and the change.
impl From<crate::access::DeliveryRefused> for ApiError {
    fn from(refused: crate::access::DeliveryRefused) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, refused.code(), refused.to_string())
    }
}

impl From<HubError> for ApiError {
    fn from(error: HubError) -> Self {
        match error {
            HubError::UnknownProject(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "unknown_project", error.to_string())
            }
            full if full.is_storage_full() => {
                tracing::error!(error = %full, "request failed: the hub's storage is full; free disk space where its database lives");
                ApiError::storage_full()
            }
            other => {
                tracing::error!(error = %other, "request failed");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the hub failed; see its log",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": self.code, "message": self.message });
        if self.code == "revoked" {
            body["wipe"] = json!(true);
        }
        (self.status, Json(body)).into_response()
    }
}
