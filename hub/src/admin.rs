//! Administration: what the supervisor's command line does to a hub's storage. Each function
//! returns data; the command line prints it.

use crate::access::{DocKind, Role};
use crate::auth::{EnrolmentCode, ENROLMENT_LIFETIME};
use crate::error::{HubError, Result};
use crate::media;
use crate::storage::{
    Device, DocumentHeader, FormVersionRow, HubStorage, NewEnrolment, Project, SubmissionQuery,
    SubmissionRow,
};
use chrono::{DateTime, Utc};
use minga_core::MediaUpload;
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
    check_project_name(name)?;
    storage.create_project(name, title.unwrap_or(name))
}

/// Refuses a name no device could sync with, naming why.
pub fn check_project_name(name: &str) -> Result<()> {
    minga_sync::project::check_project_name(name).map_err(|reason| HubError::BadProjectName {
        name: name.into(),
        reason,
    })
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
    publish(storage, project, read_form_file(path)?, Utc::now())
}

/// Publishes the form in `path` as a new version with the media files in the folder `media`
/// (every file directly in it: choice lists, label images), as [`publish_with_media`] does.
pub fn publish_form_with_media(
    storage: &dyn HubStorage,
    project: &str,
    path: &Path,
    media: &Path,
) -> Result<Form> {
    let files = media::read_folder(media)?;
    publish_with_media(storage, project, read_form_file(path)?, &files, Utc::now())
}

/// Publishes `form` as a new version of it in `project`, giving a form whose settings name no
/// version the one [`assign_version`] gives (`today` decides its date); returns the form as
/// published. An id and version already published is refused, and so is a form that names a
/// media file (a list for `select_one_from_file`, a label's image): publish it with its
/// files ([`publish_with_media`]). Cost: one read of the project's forms when the version is
/// assigned, then the publication.
pub fn publish(
    storage: &dyn HubStorage,
    project: &str,
    form: Form,
    today: DateTime<Utc>,
) -> Result<Form> {
    publish_with_media(storage, project, form, &[], today)
}

/// Publishes `form` as [`publish`] does, with its media `files`: each is stored in the
/// project's content store (as an attachment the hub delivered) and named in the manifest of
/// the version's document, so devices receive them with the form through the attachments'
/// sync. A file the form names and `files` lacks is [`HubError::FormMediaMissing`] naming the
/// file and the question naming it, and nothing is published. Cost: one hash and one write of
/// every file, then as `publish`.
pub fn publish_with_media(
    storage: &dyn HubStorage,
    project: &str,
    form: Form,
    files: &[MediaUpload],
    today: DateTime<Utc>,
) -> Result<Form> {
    let mut form = minga_core::with_media(&form, files).map_err(media::missing)?;
    for file in files {
        media::store(storage, project, file)?;
    }
    if form.version.trim().is_empty() {
        form.version = assign_version(&storage.forms(project)?, &form, today);
    }
    storage.publish_form(project, &form)?;
    Ok(form)
}

/// The version the hub gives a form published without one, as ODK Central does: the same
/// definition already published under a version the hub gave keeps that version (so the same
/// file published twice is refused as that version, never made a second one); a new definition
/// gets today's date and a counter, `YYYYMMDDNN`, after the ones given today. Only the hub
/// assigns versions: two hubs never publish the same project.
pub fn assign_version(published: &[Form], form: &Form, today: DateTime<Utc>) -> String {
    let given: Vec<&Form> = published
        .iter()
        .filter(|old| old.id == form.id && is_assigned_version(&old.version))
        .collect();
    let same_definition = |old: &&&Form| {
        let mut candidate = form.clone();
        candidate.version = old.version.clone();
        candidate == ***old
    };
    if let Some(old) = given.iter().find(same_definition) {
        return old.version.clone();
    }
    let date = today.format("%Y%m%d").to_string();
    let today_count = given
        .iter()
        .filter(|old| old.version.starts_with(&date))
        .count();
    format!("{date}{:02}", today_count + 1)
}

/// Whether `version` has the shape [`assign_version`] gives: ten digits.
fn is_assigned_version(version: &str) -> bool {
    version.len() == 10 && version.bytes().all(|b| b.is_ascii_digit())
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

/// What a phone scans: the code, the hub to trade it at when known, and the fingerprint of the
/// hub's key (checked at enrolment), as the versioned enrolment link that the bindings'
/// `parse_enrolment_link` reads (the hub's address percent-encoded, so that a `&` or `?` in it
/// cannot be taken for another field).
pub fn enrolment_uri(
    code: &EnrolmentCode,
    hub_url: Option<&str>,
    hub_key: Option<&minga_sync::signatures::PublicKey>,
) -> String {
    minga_sync::enrolment_link::EnrolmentLink {
        hub_url: hub_url.map(str::to_owned),
        code: code.to_string(),
        hub_key_fingerprint: hub_key.map(|key| key.fingerprint()),
    }
    .to_uri()
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
    if let Some(project) = project {
        require_project(storage, project)?;
    }
    storage.devices(project)
}

/// The device `who` names: its id, else its name (ignoring case), among the devices of
/// `project` if given. A name several devices share picks the one not revoked if only one is;
/// otherwise the error lists them, as does an unknown name (pointing to `device list`).
pub fn find_device(storage: &dyn HubStorage, who: &str, project: Option<&str>) -> Result<Device> {
    let devices = list_devices(storage, project)?;
    if let Some(device) = devices.iter().find(|d| d.id == who) {
        return Ok(device.clone());
    }
    let named: Vec<&Device> = devices
        .iter()
        .filter(|d| d.name.to_lowercase() == who.to_lowercase())
        .collect();
    let active: Vec<&Device> = named
        .iter()
        .copied()
        .filter(|d| d.revoked_at.is_none())
        .collect();
    match (named.as_slice(), active.as_slice()) {
        ([], _) => Err(HubError::UnknownDevice(who.into())),
        ([only], _) | (_, [only]) => Ok((*only).clone()),
        (all, _) => Err(HubError::AmbiguousDevice {
            name: who.into(),
            count: all.len(),
            matches: all
                .iter()
                .map(|d| {
                    let state = if d.revoked_at.is_some() {
                        ", revoked"
                    } else {
                        ""
                    };
                    format!("{} ({} in {}{state})", d.id, d.role, d.project)
                })
                .collect::<Vec<_>>()
                .join("; "),
        }),
    }
}

/// Revokes the device `who` names (id or name, see [`find_device`]).
pub fn revoke_device(storage: &dyn HubStorage, who: &str, project: Option<&str>) -> Result<Device> {
    let device = find_device(storage, who, project)?;
    storage.revoke_device(&device.id)
}

fn require_project(storage: &dyn HubStorage, project: &str) -> Result<()> {
    match storage.project(project)? {
        Some(_) => Ok(()),
        None => Err(HubError::UnknownProject(project.into())),
    }
}

/// One published form version as `form list` shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FormListing {
    #[serde(flatten)]
    pub version: FormVersionRow,
    pub title: String,
}

/// The project's published form versions with their titles and submission counts.
pub fn list_forms(storage: &dyn HubStorage, project: &str) -> Result<Vec<FormListing>> {
    require_project(storage, project)?;
    let forms = storage.forms(project)?;
    let title = |row: &FormVersionRow| {
        forms
            .iter()
            .find(|f| f.id == row.form_id && f.version == row.version)
            .and_then(|f| f.title.get(f.default_language.as_deref(), None))
            .unwrap_or_default()
            .to_string()
    };
    Ok(storage
        .form_versions(project)?
        .into_iter()
        .map(|version| FormListing {
            title: title(&version),
            version,
        })
        .collect())
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

/// The project's submissions `query` selects (its `limit` is the page size), newest change
/// first, read from the projection a page at a time. Cost: index range scans over the rows
/// shown; no document is loaded.
pub fn list_submissions(
    storage: &dyn HubStorage,
    project: &str,
    query: &SubmissionQuery,
) -> Result<Vec<SubmissionRow>> {
    require_project(storage, project)?;
    let mut query = SubmissionQuery {
        limit: PAGE,
        ..query.clone()
    };
    let mut all = Vec::new();
    loop {
        let page = storage.submissions(project, &query)?;
        let full = page.len() == PAGE;
        query.after = page.last().map(|row| (row.updated_at, row.id.clone()));
        all.extend(page);
        if !full {
            return Ok(all);
        }
    }
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

    fn versionless_fixture() -> Form {
        let mut form = read_form_file(&fixture_path()).unwrap();
        form.version.clear();
        form
    }

    #[test]
    fn a_form_without_a_version_gets_the_date_and_a_counter_and_the_same_file_keeps_its_version() {
        let (_dir, storage) = storage();
        create_project(&storage, "imbabura", None).unwrap();
        let today = "2026-12-07T15:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let first = publish(&storage, "imbabura", versionless_fixture(), today).unwrap();
        assert_eq!(first.version, "2026120701");

        let again = publish(&storage, "imbabura", versionless_fixture(), today);
        assert!(
            matches!(again, Err(HubError::DuplicateFormVersion { ref version, .. }) if version == "2026120701"),
            "{again:?}"
        );

        let mut changed = versionless_fixture();
        changed.instance_name = Some("concat('visita ', ${respondent})".into());
        let second = publish(&storage, "imbabura", changed, today).unwrap();
        assert_eq!(second.version, "2026120702");
        let tomorrow = today + chrono::Duration::days(1);
        let mut third = versionless_fixture();
        third.instance_name = Some("${respondent}".into());
        let third = publish(&storage, "imbabura", third, tomorrow).unwrap();
        assert_eq!(third.version, "2026120801");
        let versions: Vec<String> = storage
            .forms("imbabura")
            .unwrap()
            .into_iter()
            .map(|form| form.version)
            .collect();
        assert_eq!(versions, ["2026120701", "2026120702", "2026120801"]);
    }

    #[test]
    fn a_version_the_form_names_is_kept_as_it_is() {
        let (_dir, storage) = storage();
        create_project(&storage, "imbabura", None).unwrap();
        let form = read_form_file(&fixture_path()).unwrap();
        let named = form.version.clone();
        let published = publish(&storage, "imbabura", form, Utc::now()).unwrap();
        assert_eq!(published.version, named);
    }

    #[test]
    fn a_form_that_cannot_be_published_is_named_by_its_id_not_as_a_file() {
        let (_dir, storage) = storage();
        create_project(&storage, "imbabura", None).unwrap();
        let mut form = read_form_file(&fixture_path()).unwrap();
        form.id = " ".into();
        let refused = storage.publish_form("imbabura", &form).unwrap_err();
        assert!(
            matches!(refused, HubError::UnpublishableForm { .. }),
            "{refused:?}"
        );
        assert!(!refused.to_string().contains("form file"), "{refused}");
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
    fn the_enrolment_link_reads_back_as_the_hub_and_code_it_was_made_of() {
        use minga_sync::enrolment_link::EnrolmentLink;
        let code = EnrolmentCode::generate();
        let hub = "http://10.0.0.2:8080/minga?x=1&y=2";
        let key = minga_sync::signatures::DeviceKey::generate()
            .unwrap()
            .public_key();
        let link = EnrolmentLink::parse(&enrolment_uri(&code, Some(hub), Some(&key))).unwrap();
        assert_eq!(link.hub_url.as_deref(), Some(hub));
        assert_eq!(link.code, code.to_string());
        assert_eq!(link.hub_key_fingerprint, Some(key.fingerprint()));
        let without_hub = EnrolmentLink::parse(&enrolment_uri(&code, None, None)).unwrap();
        assert_eq!(without_hub.hub_url, None);
    }

    #[test]
    fn the_qr_code_is_drawn_in_half_blocks() {
        let qr = qr_for_terminal(&enrolment_uri(
            &EnrolmentCode::generate(),
            Some("http://127.0.0.1:8080"),
            None,
        ))
        .unwrap();
        assert!(qr.lines().count() > 10);
        assert!(qr.contains('▀') || qr.contains('▄') || qr.contains('█'));
    }
}
