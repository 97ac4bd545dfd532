//! Document routes for one device: what changed since a sequence number (only what the device
//! may read), and one submission or review by id (read, or write by merging automerge
//! changes). Each applies the rules in [`crate::access`]; what a write may store (id, kind,
//! shape) the storage's write path decides, for these routes and sync alike. Forms reach
//! devices as form documents, by sync or through `changes`.

use super::authorship::creator_of_bytes;
use super::bearer::Authenticated;
use super::error::ApiError;
use super::metrics::Metrics;
use super::rights;
use super::sync::review_of;
use super::AppState;
use crate::access::{may_read, may_write, DocAccess, DocKind, Principal, Refusal};
use crate::storage::{DocumentHeader, DocumentWrite, HubStorage, WriteOutcome, WriteRefusal};
use automerge::Automerge;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use minga_core::Malformed;
use minga_sync::wire::open_signed_document;
use serde::{Deserialize, Serialize};

fn same_project(who: &Principal, project: &str) -> Result<(), ApiError> {
    if who.project == project {
        Ok(())
    } else {
        Err(Refusal::OtherProject.into())
    }
}

fn not_found(what: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "unknown_document",
        format!("no {what} with that id in this project"),
    )
}

#[derive(Debug, Deserialize)]
pub struct ChangesQuery {
    #[serde(default)]
    pub since: i64,
}

#[derive(Debug, Serialize)]
pub struct Changes {
    pub documents: Vec<DocumentHeader>,
    /// The sequence number to ask from next time.
    pub next: i64,
}

const CHANGES_PAGE: usize = 500;

/// Headers of the documents changed after `since` that the device may read.
pub async fn changes(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    Path(project): Path<String>,
    Query(query): Query<ChangesQuery>,
) -> Result<Json<Changes>, ApiError> {
    same_project(&who, &project)?;
    let page = state
        .blocking(move |storage| storage.documents_since(&project, query.since, CHANGES_PAGE))
        .await?;
    let next = page.last().map_or(query.since, |h| h.seq);
    let documents = page
        .into_iter()
        .filter(|h| may_read(&who, &access_of(h)).is_ok())
        .collect();
    Ok(Json(Changes { documents, next }))
}

fn access_of(header: &DocumentHeader) -> DocAccess<'_> {
    DocAccess {
        project: &header.project,
        kind: header.kind,
        submission_author: header.author.as_deref(),
    }
}

async fn read(
    state: AppState,
    who: Principal,
    project: String,
    id: String,
    kind: DocKind,
) -> Result<impl IntoResponse, ApiError> {
    same_project(&who, &project)?;
    let stored = state
        .blocking(move |storage| storage.document(&project, &id))
        .await?;
    let stored = stored
        .filter(|d| d.header.kind == kind)
        .ok_or_else(|| not_found(kind.as_str()))?;
    may_read(&who, &access_of(&stored.header))?;
    Metrics::add(&state.metrics.documents_sent_total, 1);
    Ok((
        [(header::CONTENT_TYPE, "application/octet-stream")],
        stored.bytes,
    ))
}

pub async fn get_submission(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    Path((project, id)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    read(state, who, project, id, DocKind::Submission).await
}

pub async fn get_review(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    Path((project, submission)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let id = review_of(&submission).ok_or_else(|| not_found("review"))?;
    read(state, who, project, id, DocKind::Review).await
}

/// Checks `who` may deliver the write (each new change judged by its signer,
/// [`judge_write`]), then merges `changes` into the document.
async fn write(
    state: AppState,
    who: Principal,
    write: DocumentWrite,
    author: Option<String>,
) -> Result<Json<DocumentHeader>, ApiError> {
    let (judged, write) = {
        let who = who.clone();
        state
            .blocking(move |storage| {
                let judged = judge_write(storage, &who, &write, author.as_deref())?;
                Ok((judged, write))
            })
            .await?
    };
    judged?;
    let project = who.project.clone();
    let mut outcomes = state
        .blocking(move |storage| storage.write_documents(&project, &[write], None))
        .await?;
    match outcomes.pop() {
        Some(WriteOutcome::Stored(header)) => {
            Metrics::add(&state.metrics.documents_received_total, 1);
            Ok(Json(header))
        }
        Some(WriteOutcome::KindMismatch { stored }) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "kind_mismatch",
            format!("that id holds a {}", stored.as_str()),
        )),
        Some(WriteOutcome::Refused(refusal)) => Err(refused(refusal)),
        None => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "storage wrote nothing",
        )),
    }
}

/// Whether `who` may deliver `write` to a document whose submission author is `author`: the
/// changes it adds to the stored document judged by their signers ([`rights::judge`]). Bytes
/// that do not load are judged as `who`'s own (the write path then refuses them). Cost: loading
/// the stored document and the write's changes once more, and the judgment.
fn judge_write(
    storage: &dyn HubStorage,
    who: &Principal,
    write: &DocumentWrite,
    author: Option<&str>,
) -> crate::Result<Result<(), ApiError>> {
    let access = DocAccess {
        project: &who.project,
        kind: write.kind,
        submission_author: author,
    };
    let stored = storage.document(&who.project, &write.id)?;
    let (before, stored) = match stored {
        Some(stored) => (stored.header.heads, stored.bytes),
        None => (Vec::new(), Vec::new()),
    };
    let Some(proposed) = proposed(&stored, &write.changes) else {
        return Ok(may_write(who, &access).map_err(ApiError::from));
    };
    let judged = rights::judge(storage, who, (&write.id, &access), &proposed, &before)?;
    Ok(judged.map_err(ApiError::from))
}

/// The stored document (`stored`, empty when new) with the changes of `changes` (automerge
/// bytes or a signed document); `None` when they do not load.
fn proposed(stored: &[u8], changes: &[u8]) -> Option<Automerge> {
    let (changes, _) = open_signed_document(changes).ok()?;
    let mut doc = Automerge::load(stored).ok()?;
    doc.load_incremental(changes).ok()?;
    Some(doc)
}

/// A refused write as an answer a client can act on: 400 for bytes or an id that are not a
/// document's, 409 for an id that belongs to another kind, 422 for a document that loads but is
/// not shaped as its kind and id say, 403 for a change whose signature is missing or does not
/// verify, 500 for damage in the hub's own copy.
fn refused(refusal: WriteRefusal) -> ApiError {
    let message = refusal.to_string();
    match refusal {
        WriteRefusal::NotAutomerge { .. } | WriteRefusal::Empty { .. } => {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_document", message)
        }
        WriteRefusal::FormsArePublished { .. } => Refusal::FormsArePublished.into(),
        WriteRefusal::Unverified { .. } => {
            ApiError::new(StatusCode::FORBIDDEN, "unverified_change", message)
        }
        WriteRefusal::StoredUnreadable { .. } => {
            tracing::error!(%message, "a stored document does not load");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "stored_document_unreadable",
                message,
            )
        }
        WriteRefusal::Malformed(malformed) => {
            let status = match malformed {
                Malformed::NotAnId { .. } => StatusCode::BAD_REQUEST,
                Malformed::IdOfAnotherKind { .. } => StatusCode::CONFLICT,
                Malformed::WrongShape { .. }
                | Malformed::MetaIdMismatch { .. }
                | Malformed::DerivesAnotherId { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            };
            ApiError::new(status, malformed.code(), message)
        }
    }
}

/// The author of a stored submission, if the hub has it.
async fn submission_author(
    state: &AppState,
    project: &str,
    id: &str,
) -> Result<Option<Option<String>>, ApiError> {
    let (project, id) = (project.to_string(), id.to_string());
    let stored = state
        .blocking(move |storage| storage.document(&project, &id))
        .await?;
    Ok(stored
        .filter(|d| d.header.kind == DocKind::Submission)
        .map(|d| d.header.author))
}

pub async fn put_submission(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    Path((project, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<DocumentHeader>, ApiError> {
    same_project(&who, &project)?;
    // A stored submission keeps its author; a new one's is the device whose key signed its
    // first change, else the device that first sends it.
    let author = match submission_author(&state, &project, &id).await? {
        Some(stored) => stored,
        None => {
            let (project, bytes) = (project.clone(), body.clone());
            state
                .blocking(move |storage| creator_of_bytes(storage, &project, &bytes))
                .await?
        }
    };
    let new_author = author.clone().or_else(|| Some(who.device_id.clone()));
    let doc = DocumentWrite {
        id,
        kind: DocKind::Submission,
        author: new_author,
        subject: None,
        changes: body.to_vec(),
        decoded: None,
        signatures: Default::default(),
    };
    write(state, who, doc, author).await
}

pub async fn put_review(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    Path((project, submission)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<DocumentHeader>, ApiError> {
    same_project(&who, &project)?;
    let author = submission_author(&state, &project, &submission)
        .await?
        .ok_or_else(|| not_found("submission"))?;
    let id = review_of(&submission).ok_or_else(|| not_found("submission"))?;
    let doc = DocumentWrite {
        id,
        kind: DocKind::Review,
        author: author.clone(),
        subject: Some(submission),
        changes: body.to_vec(),
        decoded: None,
        signatures: Default::default(),
    };
    write(state, who, doc, author).await
}
