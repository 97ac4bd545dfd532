//! A project's devices: each with its role, enrolment and last sync, revoked with one click;
//! and enrolling a new one, whose one-time code the page shows as text and as a QR code drawn
//! in the page (inline SVG: nothing is fetched), pointing at the hub as this browser reaches it.

use super::ProjectPage;
use super::{audit_entry, field, shown_time, Client};
use crate::access::Role;
use crate::admin;
use crate::console::auth::Signed;
use crate::console::{html, Chrome};
use crate::error::{HubError, Result};
use crate::server::state::AppState;
use crate::storage::Device;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

struct DeviceView {
    id: String,
    name: String,
    role: &'static str,
    enrolled: String,
    last_sync: String,
    revoked: bool,
}

#[derive(Template)]
#[template(path = "console/devices.html")]
struct DevicesPage {
    chrome: Chrome,
    project: String,
    devices: Vec<DeviceView>,
}

#[derive(Template)]
#[template(path = "console/enrolled.html")]
struct EnrolledPage {
    chrome: Chrome,
    project: String,
    name: String,
    code: String,
    valid_until: String,
    /// The QR code of the enrolment link, as SVG markup the hub drew itself.
    qr: String,
}

fn device_view(device: Device, t: &'static crate::console::i18n::Texts) -> DeviceView {
    DeviceView {
        role: match device.role {
            Role::Facilitator => t.facilitator,
            Role::Supervisor => t.supervisor,
        },
        enrolled: shown_time(&device.enrolled_at),
        last_sync: device
            .last_sync_at
            .as_ref()
            .map_or_else(|| t.never.to_string(), shown_time),
        revoked: device.revoked_at.is_some(),
        id: device.id,
        name: device.name,
    }
}

pub async fn list(
    State(state): State<AppState>,
    ProjectPage {
        signed,
        project,
        lang,
    }: ProjectPage,
) -> Response {
    let name = project.clone();
    let devices = match state
        .blocking(move |storage| storage.devices(Some(&name)))
        .await
    {
        Ok(devices) => devices,
        Err(error) => return error.into_response(),
    };
    let here = format!("/console/p/{project}/devices");
    let page = DevicesPage {
        chrome: Chrome::signed(lang, &here, &signed, Some(&project)),
        devices: devices
            .into_iter()
            .map(|d| device_view(d, lang.texts()))
            .collect(),
        project,
    };
    html(StatusCode::OK, &page)
}

/// `text` as a QR code in SVG markup, labelled for screen readers with `label`.
fn qr_svg(text: &str, label: &str) -> Result<String> {
    let code = qrcode::QrCode::new(text.as_bytes())
        .map_err(|e| HubError::Export(format!("QR code: {e}")))?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(240, 240)
        .build();
    // The XML declaration has no place inside HTML; the label is escaped as an attribute.
    let start = svg.find("<svg").unwrap_or(0);
    let label = label
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;");
    Ok(svg[start..].replacen(
        "<svg ",
        &format!("<svg role=\"img\" aria-label=\"{label}\" "),
        1,
    ))
}

/// The hub's address as this browser reached it, for the phone's enrolment link.
fn hub_url(headers: &HeaderMap, tls: bool) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let safe = host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '-' | '[' | ']'));
    let scheme = if tls { "https" } else { "http" };
    safe.then(|| format!("{scheme}://{host}"))
}

/// `POST …/devices/enrol` (fields `name`, `role`): issues a one-time code and shows it.
pub async fn enrol(
    State(state): State<AppState>,
    signed: Signed,
    client: Client,
    Path(project): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let (lang, sent) = match super::project_post(&signed, &project, &headers, &body) {
        Ok(checked) => checked,
        Err(refused) => return *refused,
    };
    let name = field(&sent, "name").unwrap_or_default().trim().to_string();
    let role = match field(&sent, "role") {
        Some("supervisor") => Role::Supervisor,
        _ => Role::Facilitator,
    };
    if name.is_empty() {
        return Redirect::to(&format!("/console/p/{project}/devices")).into_response();
    }
    let (who, at, device) = (signed.user.name.clone(), project.clone(), name.clone());
    let issued = state
        .blocking(move |storage| {
            let issued = admin::enrol_device(storage, &at, role, &device)?;
            let action = format!("enrol device {device} ({role})");
            storage.record_audit(&audit_entry(&who, &action, Some(&at), None, client.0))?;
            // The link carries the hub key's fingerprint, so the phone checks whom it enrols with.
            Ok((issued, storage.hub_signing_key()?.public_key()))
        })
        .await;
    let (issued, hub_key) = match issued {
        Ok(issued) => issued,
        Err(error) => return error.into_response(),
    };
    let code = issued.code.to_string();
    let link = admin::enrolment_uri(
        &issued.code,
        hub_url(&headers, state.console.tls).as_deref(),
        Some(&hub_key),
    );
    let qr = match qr_svg(&link, lang.texts().scan_hint) {
        Ok(qr) => qr,
        Err(error) => return crate::server::error::ApiError::from(error).into_response(),
    };
    let here = format!("/console/p/{project}/devices");
    let page = EnrolledPage {
        chrome: Chrome::signed(lang, &here, &signed, Some(&project)),
        project,
        name,
        code,
        valid_until: shown_time(&issued.expires_at),
        qr,
    };
    html(StatusCode::OK, &page)
}

/// `POST …/devices/{id}/revoke`: the device's token stops working at once, and at its next
/// sync it is told to wipe its copy.
pub async fn revoke(
    State(state): State<AppState>,
    signed: Signed,
    client: Client,
    Path((project, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let lang = match super::project_post(&signed, &project, &headers, &body) {
        Ok((lang, _)) => lang,
        Err(refused) => return *refused,
    };
    let (who, at) = (signed.user.name.clone(), project.clone());
    let revoked = state
        .blocking(move |storage| {
            // Only a device of this project, by id: `find_device` would also take a name.
            if !storage.devices(Some(&at))?.iter().any(|d| d.id == id) {
                return Ok(false);
            }
            let device = admin::revoke_device(storage, &id, Some(&at))?;
            let action = format!("revoke device {}", device.name);
            storage.record_audit(&audit_entry(&who, &action, Some(&at), Some(&id), client.0))?;
            Ok(true)
        })
        .await;
    match revoked {
        Ok(true) => Redirect::to(&format!("/console/p/{project}/devices")).into_response(),
        Ok(false) => super::not_found(lang),
        Err(error) => error.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_qr_code_is_an_inline_labelled_svg_and_the_link_takes_only_a_plain_host() {
        let svg = qr_svg("minga://enrol?code=ABCD", "Scan \"this\"").unwrap();
        assert!(svg.starts_with(r#"<svg role="img" aria-label="Scan &quot;this&quot;" "#));
        assert!(!svg.contains("<?xml"));
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "192.168.1.10:8080".parse().unwrap());
        assert_eq!(
            hub_url(&headers, false).as_deref(),
            Some("http://192.168.1.10:8080")
        );
        headers.insert(header::HOST, "evil\"><x".parse().unwrap());
        assert_eq!(hub_url(&headers, true), None);
    }
}
