//! A form's media files through a real hub on loopback, with the corpus form that needs them
//! (UCL_Biomass_Plot_Form, read from `../shared` at run time; its list files made for the test
//! in `forms/tests/data/ucl-media/`): `form publish --media` stores the files and the
//! manifest, a form naming a file not given is refused naming the file and the question, a
//! facilitator's phone receives the form and its media by sync over HTTP, fills a submission
//! whose cascading selects read the lists, syncs it back, and the hub exports it.

mod common;

use common::{Hub, SyncingPhone};
use minga_core::{FormRef, StoredFormSession, Value};
use minga_forms::eval::{Context, ItemPath};
use minga_hub::admin;
use minga_hub::error::HubError;
use minga_hub::export::{export_project, CsvOptions, Format};
use minga_hub::storage::HubStorage;
use std::io::Write;
use std::path::PathBuf;

const PROJECT: &str = "imbabura";

/// The corpus form, or `None` once SKIPPED (no `../shared` beside this clone); under
/// `CI=true` its absence fails the test.
fn ucl_form(test: &str) -> Option<PathBuf> {
    let shared = std::env::var_os("MINGA_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    let path = shared.join("corpus/xlsform/pyxform/UCL_Biomass_Plot_Form.xlsx");
    if path.is_file() {
        return Some(path);
    }
    let reason = format!("{test} reads {}, which is absent", path.display());
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{reason}");
    let _ = writeln!(std::io::stderr(), "SKIPPED {reason}");
    None
}

fn media_folder() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../forms/tests/data/ucl-media")
}

#[test]
fn a_form_naming_a_media_file_not_given_is_refused_naming_the_file_and_the_question() {
    let Some(form) = ucl_form("a_form_naming_a_media_file_not_given_is_refused") else {
        return;
    };
    let hub = Hub::start();
    let refused = admin::publish_form(hub.storage.as_ref(), PROJECT, &form).unwrap_err();
    let message = refused.to_string();
    assert!(
        matches!(&refused, HubError::FormMediaMissing { file, .. } if file == "UCL_regions.csv"),
        "{refused:?}"
    );
    assert!(message.contains("region_id"), "{message}");
    let partial = tempfile::tempdir().unwrap();
    std::fs::copy(
        media_folder().join("UCL_regions.csv"),
        partial.path().join("UCL_regions.csv"),
    )
    .unwrap();
    let refused =
        admin::publish_form_with_media(hub.storage.as_ref(), PROJECT, &form, partial.path())
            .unwrap_err();
    assert!(
        matches!(&refused, HubError::FormMediaMissing { file, .. } if file == "UCL_districts.csv"),
        "{refused:?}"
    );
    assert_eq!(
        hub.storage.forms(PROJECT).unwrap().len(),
        1,
        "only the fixture"
    );
}

#[test]
fn the_ucl_form_and_its_lists_reach_a_phone_which_fills_syncs_and_the_hub_exports() {
    let Some(path) = ucl_form("the_ucl_form_and_its_lists_reach_a_phone") else {
        return;
    };
    let hub = Hub::start();
    let storage = hub.storage.as_ref();
    let form = admin::publish_form_with_media(storage, PROJECT, &path, &media_folder()).unwrap();
    assert_eq!(form.media.len(), 5);
    let regions = form
        .media
        .iter()
        .find(|f| f.name == "UCL_regions.csv")
        .unwrap();
    assert_eq!(regions.media_type, "text/csv");
    let stored = storage
        .attachment(PROJECT, &regions.sha256)
        .unwrap()
        .unwrap();
    assert!(stored.complete && stored.size == regions.size);

    let ana = SyncingPhone::enrol(storage, &hub.running.url(), PROJECT, "Ana");
    let report = ana.try_sync().unwrap();
    assert_eq!(report.attachments_received, 5, "{report:?}");
    let csv = ana
        .store
        .form_media(&form.id, &form.version, "UCL_regions.csv")
        .unwrap();
    assert_eq!(
        csv,
        std::fs::read(media_folder().join("UCL_regions.csv")).unwrap()
    );

    let compiled = ana.store.compiled_form(&form.id, &form.version).unwrap();
    let id = ana
        .store
        .create_submission(&FormRef::new(&form.id, &form.version))
        .unwrap();
    let context = Context {
        language: None,
        now: chrono::Local::now().fixed_offset(),
        device_id: "Ana".into(),
        user_name: "Ana".into(),
    };
    let session = StoredFormSession::start(&ana.store, id, compiled, context).unwrap();
    let set = |name: &str, value: &str| {
        let path = ItemPath::top(name);
        session
            .set(&ana.store, &path, Some(Value::Choice(value.into())))
            .unwrap();
    };
    set("region_id", "1");
    let districts = session
        .read(|s| {
            s.item(&ItemPath::top("district_id"))
                .unwrap()
                .choices
                .clone()
        })
        .unwrap();
    assert_eq!(districts, Some(vec!["11".to_string(), "12".to_string()]));
    set("district_id", "12");
    set("village", "121");
    set("plant_phase", "2022");
    set("plot_id", "P3");
    ana.sync();

    let out = tempfile::tempdir().unwrap();
    let options = CsvOptions::default();
    export_project(
        storage,
        PROJECT,
        Format::Csv,
        &options,
        out.path(),
        &|_, _| {},
    )
    .unwrap();
    let file = std::fs::read_dir(out.path())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with("UCL_Biomass_Plot_Form.csv"))
        .expect("the form's CSV");
    let text = std::fs::read_to_string(file).unwrap();
    let mut lines = text.trim_start_matches('\u{feff}').lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    let cell = |name: &str| {
        let at = header.iter().position(|h| h.ends_with(name)).unwrap();
        row[at].to_string()
    };
    assert_eq!(
        (cell("district_id"), cell("plot_id")),
        ("12".into(), "P3".into())
    );
}
