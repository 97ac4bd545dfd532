//! Administration: what the supervisor's command line does to a hub's storage. Each function
//! returns data; the command line prints it.

use crate::access::{DocKind, Role};
use crate::auth::{EnrolmentCode, ENROLMENT_LIFETIME};
use crate::error::{HubError, Result};
use crate::storage::{Device, DocumentHeader, HubStorage, NewEnrolment, Project};
use chrono::{DateTime, Utc};
use minga_forms::Form;
use std::collections::BTreeMap;
use std::path::Path;

/// Creates a project, if `name` is one a device can sync with (the rule of
/// [`minga_sync::project::check_project_name`], which devices apply too).
pub fn create_project(
    storage: &dyn HubStorage,
    name: &str,
    title: Option<&str>,
) -> Result<Project> {
    minga_sync::project::check_project_name(name).map_err(|reason| HubError::BadProjectName {
        name: name.into(),
        reason,
    })?;
    storage.create_project(name, title.unwrap_or(name))
}

/// Reads a form from an XLSForm (`.xlsx`, `.xls`) or Minga's JSON, naming every mistake.
pub fn read_form_file(path: &Path) -> Result<Form> {
    let bytes = std::fs::read(path).map_err(|e| HubError::io(path, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let bad = |reason: String| HubError::BadFormFile {
        path: path.display().to_string(),
        reason,
    };
    if name.to_ascii_lowercase().ends_with(".json") {
        serde_json::from_slice(&bytes).map_err(|e| bad(format!("not a Minga form: {e}")))
    } else {
        minga_forms::xlsform::import(&bytes, &name).map_err(|errors| bad(errors.to_string()))
    }
}

/// Publishes the form in `path` as a new version; an id and version already published is refused.
pub fn publish_form(storage: &dyn HubStorage, project: &str, path: &Path) -> Result<Form> {
    let form = read_form_file(path)?;
    storage.publish_form(project, &form)?;
    Ok(form)
}

/// A code to hand to a device, valid until `expires_at`.
#[derive(Debug, Clone)]
pub struct IssuedCode {
    pub code: EnrolmentCode,
    pub expires_at: DateTime<Utc>,
}

/// Issues a one-time enrolment code for a device named `name` with `role` in `project`.
pub fn enrol_device(
    storage: &dyn HubStorage,
    project: &str,
    role: Role,
    name: &str,
) -> Result<IssuedCode> {
    issue_code(storage, project, role, name, EnrolmentCode::generate)
}

fn issue_code(
    storage: &dyn HubStorage,
    project: &str,
    role: Role,
    name: &str,
    mut draw: impl FnMut() -> EnrolmentCode,
) -> Result<IssuedCode> {
    let expires_at = Utc::now() + ENROLMENT_LIFETIME;
    let mut attempts = 0;
    loop {
        let code = draw();
        let stored = storage.create_enrolment(&NewEnrolment {
            lookup: code.lookup.clone(),
            secret_hash: code.secret_hash(),
            project: project.into(),
            role,
            device_name: name.into(),
            expires_at,
        });
        attempts += 1;
        match stored {
            Ok(()) => return Ok(IssuedCode { code, expires_at }),
            // The lookup part is short (it is typed by hand), so once a hub has issued hundreds
            // of codes a fresh one meets a taken lookup now and then: draw another.
            Err(HubError::LookupTaken(_)) if attempts < CODE_DRAWS => continue,
            Err(e) => return Err(e),
        }
    }
}

/// How many codes `enrol_device` draws before a taken lookup is reported: with a million
/// lookups, even a hub holding ten thousand codes fails all eight about once in 10^16.
const CODE_DRAWS: u32 = 8;

/// What a phone scans: the code, and the hub to trade it at when known.
pub fn enrolment_uri(code: &EnrolmentCode, hub_url: Option<&str>) -> String {
    match hub_url {
        Some(url) => format!("minga://enrol?hub={url}&code={code}"),
        None => format!("minga://enrol?code={code}"),
    }
}

/// `text` as a QR code drawn with Unicode half blocks, for a terminal.
pub fn qr_for_terminal(text: &str) -> Result<String> {
    use qrcode::render::unicode::Dense1x2;
    let code = qrcode::QrCode::new(text.as_bytes())
        .map_err(|e| HubError::Export(format!("QR code: {e}")))?;
    // Light modules drawn dark and the reverse, so the code reads on a dark terminal.
    Ok(code
        .render::<Dense1x2>()
        .dark_color(Dense1x2::Light)
        .light_color(Dense1x2::Dark)
        .quiet_zone(true)
        .build())
}

pub fn list_devices(storage: &dyn HubStorage, project: Option<&str>) -> Result<Vec<Device>> {
    storage.devices(project)
}

pub fn revoke_device(storage: &dyn HubStorage, id: &str) -> Result<Device> {
    storage.revoke_device(id)
}

const PAGE: usize = 1000;

/// Every header of `kind` in the project, in sequence order.
pub fn documents_of_kind(
    storage: &dyn HubStorage,
    project: &str,
    kind: DocKind,
) -> Result<Vec<DocumentHeader>> {
    if storage.project(project)?.is_none() {
        return Err(HubError::UnknownProject(project.into()));
    }
    let mut all = Vec::new();
    let mut since = 0;
    loop {
        let page = storage.documents_since(project, since, PAGE)?;
        let Some(last) = page.last() else { break };
        since = last.seq;
        all.extend(page.into_iter().filter(|h| h.kind == kind));
    }
    Ok(all)
}

/// One line of `submissions list`.
#[derive(Debug, Clone, PartialEq)]
pub struct SubmissionLine {
    pub header: DocumentHeader,
    pub author_name: Option<String>,
}

pub fn list_submissions(storage: &dyn HubStorage, project: &str) -> Result<Vec<SubmissionLine>> {
    let names = device_names(storage, project)?;
    Ok(documents_of_kind(storage, project, DocKind::Submission)?
        .into_iter()
        .map(|header| {
            let author_name = header.author.as_ref().and_then(|a| names.get(a).cloned());
            SubmissionLine {
                header,
                author_name,
            }
        })
        .collect())
}

pub(crate) fn device_names(
    storage: &dyn HubStorage,
    project: &str,
) -> Result<BTreeMap<String, String>> {
    Ok(storage
        .devices(Some(project))?
        .into_iter()
        .map(|d| (d.id, d.name))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::SqliteStorage;

    fn storage() -> (tempfile::TempDir, SqliteStorage) {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(dir.path()).unwrap();
        (dir, storage)
    }

    fn fixture_path() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/safety_walk.json")
    }

    #[test]
    fn a_published_version_is_never_overwritten() {
        let (_dir, storage) = storage();
        create_project(&storage, "imbabura", None).unwrap();
        publish_form(&storage, "imbabura", &fixture_path()).unwrap();
        let again = publish_form(&storage, "imbabura", &fixture_path());
        assert!(
            matches!(again, Err(HubError::DuplicateFormVersion { .. })),
            "{again:?}"
        );
        assert_eq!(storage.forms("imbabura").unwrap().len(), 1);
    }

    #[test]
    fn a_name_no_device_could_sync_with_is_refused_and_nothing_is_created() {
        let (_dir, storage) = storage();
        for name in ["a/b", "../x", "", "x\u{1b}[2J", ".."] {
            let refused = create_project(&storage, name, Some("Title"));
            assert!(
                matches!(refused, Err(HubError::BadProjectName { name: ref named, .. }) if named == name),
                "{name:?}: {refused:?}"
            );
        }
        assert!(storage.projects().unwrap().is_empty());
        create_project(&storage, "imbabura-2026_v1.0", None).unwrap();
        assert_eq!(storage.projects().unwrap().len(), 1);
    }

    #[test]
    fn a_taken_lookup_draws_another_code() {
        let (_dir, storage) = storage();
        create_project(&storage, "imbabura", None).unwrap();
        let first = issue_code(&storage, "imbabura", Role::Facilitator, "ana", || {
            EnrolmentCode::parse("ABCD-EFGH-JKMN").unwrap()
        })
        .unwrap();
        let mut draws = ["ABCD-PQRS-TVWX", "WXYZ-EFGH-JKMN"].into_iter();
        let second = issue_code(&storage, "imbabura", Role::Facilitator, "ben", || {
            EnrolmentCode::parse(draws.next().unwrap()).unwrap()
        })
        .unwrap();
        assert_eq!(first.code.lookup, "ABCD");
        assert_eq!(second.code.lookup, "WXYZ");
    }

    #[test]
    fn a_lookup_taken_at_every_draw_is_reported() {
        let (_dir, storage) = storage();
        create_project(&storage, "imbabura", None).unwrap();
        let taken = || EnrolmentCode::parse("ABCD-EFGH-JKMN").unwrap();
        issue_code(&storage, "imbabura", Role::Facilitator, "ana", taken).unwrap();
        let refused = issue_code(&storage, "imbabura", Role::Facilitator, "ben", taken);
        assert!(
            matches!(refused, Err(HubError::LookupTaken(ref lookup)) if lookup == "ABCD"),
            "{refused:?}"
        );
    }

    #[test]
    fn a_bad_form_file_is_named_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("broken.json");
        std::fs::write(&path, "{\"id\": 3}").unwrap();
        match read_form_file(&path) {
            Err(HubError::BadFormFile {
                path: named,
                reason,
            }) => {
                assert!(named.ends_with("broken.json"));
                assert!(reason.contains("not a Minga form"), "{reason}");
            }
            other => panic!("expected a bad form file, got {other:?}"),
        }
    }

    #[test]
    fn enrolment_needs_an_existing_project_and_stores_no_secret() {
        let (_dir, storage) = storage();
        assert!(matches!(
            enrol_device(&storage, "nowhere", Role::Facilitator, "Ana"),
            Err(HubError::UnknownProject(_))
        ));
        create_project(&storage, "imbabura", None).unwrap();
        let issued = enrol_device(&storage, "imbabura", Role::Facilitator, "Ana").unwrap();
        let conn = SqliteStorage::keyed_connection(_dir.path()).unwrap();
        let stored: String = conn
            .query_row("SELECT secret_hash FROM enrolments", [], |r| r.get(0))
            .unwrap();
        assert_ne!(stored, issued.code.secret);
        assert!(!stored.contains(&issued.code.secret));
    }

    #[test]
    fn the_qr_code_is_drawn_in_half_blocks() {
        let qr = qr_for_terminal(&enrolment_uri(
            &EnrolmentCode::generate(),
            Some("http://127.0.0.1:8080"),
        ))
        .unwrap();
        assert!(qr.lines().count() > 10);
        assert!(qr.contains('▀') || qr.contains('▄') || qr.contains('█'));
    }
}
