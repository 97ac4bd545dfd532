//! Downloading a project's export from the page: CSV (ODK Central's layout: a main table and
//! one per repeat, per form), GeoJSON or JSON, every submission or the approved ones, as one
//! zip of the files `minga-hub export` writes (the same export, `crate::export`).

use super::ProjectPage;
use super::{audit_entry, field, fields, Client};
use crate::console::{html, Chrome};
use crate::error::{HubError, Result};
use crate::export::{export_project, CsvOptions, Format};
use crate::server::state::AppState;
use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use minga_core::ReviewState;
use std::io::Write;

#[derive(Template)]
#[template(path = "console/export.html")]
struct ExportPage {
    chrome: Chrome,
    project: String,
}

pub async fn page(
    ProjectPage {
        signed,
        project,
        lang,
    }: ProjectPage,
) -> Response {
    let here = format!("/console/p/{project}/export");
    let page = ExportPage {
        chrome: Chrome::signed(lang, &here, &signed, Some(&project)),
        project,
    };
    html(StatusCode::OK, &page)
}

/// The format a query names (`csv`, `geojson`, `json`, `xlsx`; CSV when none).
fn format_of(name: Option<&str>) -> (Format, &'static str) {
    match name {
        Some("geojson") => (Format::GeoJson, "geojson"),
        Some("json") => (Format::Json, "json"),
        Some("xlsx") => (Format::Xlsx, "xlsx"),
        _ => (Format::Csv, "csv"),
    }
}

/// The export of `project` in `format` as a zip of its files, each under its own name. Cost:
/// the whole export (every submission loaded once) into a temporary folder, then the zip in
/// memory.
fn zipped_export(
    storage: &dyn crate::storage::HubStorage,
    project: &str,
    format: Format,
    options: &CsvOptions,
) -> Result<Vec<u8>> {
    let folder = tempfile::tempdir().map_err(|e| HubError::io("a temporary folder", e))?;
    let report = export_project(storage, project, format, options, folder.path(), &|_, _| {})?;
    let zipping = |e: zip::result::ZipError| HubError::Export(format!("zip: {e}"));
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for file in &report.files {
        let name = file
            .strip_prefix(folder.path())
            .unwrap_or(file)
            .to_string_lossy()
            .into_owned();
        zip.start_file(name, deflated).map_err(zipping)?;
        let bytes = std::fs::read(file).map_err(|e| HubError::io(file, e))?;
        zip.write_all(&bytes).map_err(|e| HubError::io(file, e))?;
    }
    Ok(zip.finish().map_err(zipping)?.into_inner())
}

/// `GET …/export/download?format=csv|geojson|json[&approved=1]`: the zip, audited.
pub async fn download(
    State(state): State<AppState>,
    ProjectPage {
        signed, project, ..
    }: ProjectPage,
    client: Client,
    RawQuery(query): RawQuery,
) -> Response {
    let sent = fields(query.unwrap_or_default().as_bytes());
    let (format, extension) = format_of(field(&sent, "format"));
    let approved = field(&sent, "approved").is_some();
    let options = CsvOptions {
        review_state: approved.then_some(ReviewState::Approved),
        ..CsvOptions::default()
    };
    let (who, at) = (signed.user.name.clone(), project.clone());
    let zipped = state
        .blocking(move |storage| {
            let zip = zipped_export(storage, &at, format, &options)?;
            let scope = if approved { " (approved)" } else { "" };
            let action = format!("export {extension}{scope}");
            storage.record_audit(&audit_entry(&who, &action, Some(&at), None, client.0))?;
            Ok(zip)
        })
        .await;
    match zipped {
        Ok(zip) => {
            let disposition = format!("attachment; filename=\"minga-{project}-{extension}.zip\"");
            (
                [
                    (header::CONTENT_TYPE, "application/zip".to_string()),
                    (header::CONTENT_DISPOSITION, disposition),
                ],
                zip,
            )
                .into_response()
        }
        Err(error) => error.into_response(),
    }
}
