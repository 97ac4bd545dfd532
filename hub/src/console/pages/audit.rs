//! A project's audit log, newest first, a page at a time: who signed in and out, approved,
//! flagged, commented, and what administrators did from the command line, with when and
//! from which address.

use super::ProjectPage;
use super::{field, fields, shown_time};
use crate::console::{html, Chrome};
use crate::server::state::AppState;
use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Entries per page.
const PAGE_ENTRIES: usize = 100;

struct EntryView {
    at: String,
    who: String,
    action: String,
    subject: String,
    address: String,
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage {
    chrome: Chrome,
    entries: Vec<EntryView>,
    /// The next (older) page's URL, when the page is full.
    older: Option<String>,
}

pub async fn page(
    State(state): State<AppState>,
    ProjectPage {
        signed,
        project,
        lang,
    }: ProjectPage,
    RawQuery(query): RawQuery,
) -> Response {
    let sent = fields(query.unwrap_or_default().as_bytes());
    let before = field(&sent, "before").and_then(|b| b.parse::<i64>().ok());
    let name = project.clone();
    let read = state
        .blocking(move |storage| storage.audit_log(Some(&name), before, PAGE_ENTRIES))
        .await;
    let records = match read {
        Ok(records) => records,
        Err(error) => return error.into_response(),
    };
    let older = records
        .last()
        .filter(|_| records.len() == PAGE_ENTRIES)
        .map(|last| format!("/console/p/{project}/audit?before={}", last.id));
    let here = format!("/console/p/{project}/audit");
    let page = AuditPage {
        chrome: Chrome::signed(lang, &here, &signed, Some(&project)),
        entries: records
            .into_iter()
            .map(|r| EntryView {
                at: shown_time(&r.entry.at),
                who: r.entry.who,
                action: r.entry.action,
                subject: r.entry.subject.unwrap_or_default(),
                address: r.entry.address.unwrap_or_default(),
            })
            .collect(),
        older,
    };
    html(StatusCode::OK, &page)
}
