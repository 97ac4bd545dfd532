//! A form version's media files in real encrypted stores: published with the form (each file
//! an attachment, the manifest in the form's document), refused when the form names a file not
//! given, read back by name, carried to another store by sync and by a bundle file as
//! attachments, and read by the form session there without the app doing anything: a
//! `select_one_from_file` offers the list's rows, narrowed by its `choice_filter`.

mod common;

use common::*;
use minga_core::minga_sync::bundle::{
    import_bundle_from, write_bundle_to, BundleIdentity, BundleScope,
};
use minga_core::minga_sync::{
    run_session, AllowAll, Initiator, MemoryTransport, PeerId, SyncOptions,
};
use minga_core::{ContentHash, Error, Form, FormRef, MediaUpload, Store, StoredFormSession, Value};
use minga_forms::eval::{Context, ItemPath};
use serde_json::json;
use std::sync::Arc;

const CANTONS: &str = "name,label,province\nquito,Quito,pichincha\nibarra,Ibarra,imbabura\n\
    otavalo,Otavalo,imbabura\n";

fn peer(name: &str) -> PeerId {
    PeerId::new(name).unwrap()
}

/// A form whose canton is chosen from `cantons.csv`, filtered by the province, with a map.
fn canton_form() -> Form {
    serde_json::from_value(json!({
        "id": "cantons", "version": "1", "title": {"default": "Cantons"},
        "default_language": null, "languages": [], "instance_name": null, "choices": {},
        "survey": [
            {"kind": "question", "name": "province", "type": {"base": "text"},
             "media": {"image": {"default": "map.png"}}},
            {"kind": "question", "name": "canton",
             "type": {"base": "select_one_from_file", "list": "cantons.csv"},
             "choice_filter": "province = ${province}"},
        ],
    }))
    .unwrap()
}

fn media() -> Vec<MediaUpload> {
    vec![
        MediaUpload {
            name: "cantons.csv".into(),
            bytes: CANTONS.as_bytes().to_vec(),
        },
        MediaUpload {
            name: "map.png".into(),
            bytes: noise_bytes(7, 3000),
        },
    ]
}

fn context() -> Context {
    Context {
        language: None,
        now: chrono::Utc::now().fixed_offset(),
        device_id: "phone-ana".into(),
        user_name: "ana".into(),
    }
}

/// The cantons a new submission of the form offers on `store` once `province` is answered,
/// through a stored session over the store's compiled form.
fn offered(store: &Store, province: &str) -> Vec<String> {
    let form = store.compiled_form("cantons", "1").unwrap();
    let id = store
        .create_submission(&FormRef::new("cantons", "1"))
        .unwrap();
    let session = StoredFormSession::start(store, id, form, context()).unwrap();
    let province_path = ItemPath::top("province");
    session
        .set(store, &province_path, Some(Value::Text(province.into())))
        .unwrap();
    let canton = ItemPath::top("canton");
    session
        .read(|s| s.item(&canton).unwrap().choices.clone().unwrap())
        .unwrap()
}

#[test]
fn a_form_published_with_its_media_records_a_manifest_and_reads_each_file_back_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let hub = open(&dir.path().join("hub.db"), 1, luis());
    let published = hub
        .publish_form_with_media(&canton_form(), &media())
        .unwrap();
    let manifest: Vec<(&str, u64, &str)> = published
        .media
        .iter()
        .map(|f| (f.name.as_str(), f.size, f.media_type.as_str()))
        .collect();
    assert_eq!(
        manifest,
        [
            ("cantons.csv", CANTONS.len() as u64, "text/csv"),
            ("map.png", 3000, "image/png")
        ]
    );
    assert_eq!(
        published.media[0].sha256,
        ContentHash::of(CANTONS.as_bytes()).to_hex()
    );
    assert_eq!(hub.form("cantons", "1").unwrap(), published);
    assert_eq!(
        hub.form_media("cantons", "1", "cantons.csv").unwrap(),
        CANTONS.as_bytes()
    );
    assert_eq!(
        hub.form_media("cantons", "1", "map.png").unwrap(),
        noise_bytes(7, 3000)
    );
    assert!(matches!(
        hub.form_media("cantons", "1", "other.csv"),
        Err(Error::FormMediaMissing { file, .. }) if file == "other.csv"
    ));
    assert_eq!(offered(&hub, "imbabura"), ["ibarra", "otavalo"]);
}

#[test]
fn a_form_naming_a_file_not_given_is_refused_naming_the_file_and_the_question() {
    let dir = tempfile::tempdir().unwrap();
    let hub = open(&dir.path().join("hub.db"), 1, luis());
    let without_map = &media()[..1];
    let refused = hub
        .publish_form_with_media(&canton_form(), without_map)
        .unwrap_err();
    let message = refused.to_string();
    assert!(
        matches!(&refused, Error::FormMediaMissing { file, .. } if file == "map.png"),
        "{refused:?}"
    );
    assert!(message.contains("province"), "{message}");
    assert!(
        hub.form("cantons", "1").is_err(),
        "nothing of the form is published"
    );
    let broken = vec![
        MediaUpload {
            name: "cantons.csv".into(),
            bytes: vec![0xff, 0xfe],
        },
        media()[1].clone(),
    ];
    let unreadable = hub
        .publish_form_with_media(&canton_form(), &broken)
        .unwrap_err();
    assert!(matches!(&unreadable, Error::FormMediaMissing { file, .. } if file == "cantons.csv"));
}

#[test]
fn a_phone_receives_the_form_and_its_media_by_sync_and_its_session_offers_the_list() {
    let dir = tempfile::tempdir().unwrap();
    let hub = open(&dir.path().join("hub.db"), 1, luis());
    let phone = open(&dir.path().join("phone.db"), 2, ana());
    hub.publish_form_with_media(&canton_form(), &media())
        .unwrap();
    let options = SyncOptions::default();
    let transport = MemoryTransport::new(&hub, peer("hub"), options, Arc::new(AllowAll));
    let mut initiator = Initiator::new(peer("phone"), peer("hub"), options, Arc::new(AllowAll));
    let report = run_session(&phone, &transport, &mut initiator, &options, &mut |_| {}).unwrap();
    assert_eq!(report.attachments_received, 2, "the list and the map");
    assert_eq!(
        phone.form_media("cantons", "1", "cantons.csv").unwrap(),
        CANTONS.as_bytes()
    );
    assert_eq!(offered(&phone, "pichincha"), ["quito"]);
}

#[test]
fn a_bundle_file_carries_a_form_and_its_media_to_another_store() {
    let dir = tempfile::tempdir().unwrap();
    let hub = open(&dir.path().join("hub.db"), 1, luis());
    let tablet = open(&dir.path().join("tablet.db"), 2, ana());
    hub.publish_form_with_media(&canton_form(), &media())
        .unwrap();
    let key = BundleIdentity::generate();
    let path = dir.path().join("forms.minga");
    let file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let scope = BundleScope::Everything;
    let public = key.to_public();
    let written = write_bundle_to(
        &hub,
        &peer("hub"),
        &peer("tablet"),
        &public,
        scope,
        &AllowAll,
        file,
    )
    .unwrap();
    assert_eq!(written.attachments_sent, 2);
    let file = std::fs::File::open(&path).unwrap();
    import_bundle_from(&tablet, &peer("tablet"), &key, file, Arc::new(AllowAll)).unwrap();
    assert_eq!(
        tablet.form_media("cantons", "1", "map.png").unwrap(),
        noise_bytes(7, 3000)
    );
    assert_eq!(offered(&tablet, "imbabura"), ["ibarra", "otavalo"]);
}

#[test]
fn a_session_opened_before_the_media_arrive_offers_nothing_from_the_list_yet() {
    let dir = tempfile::tempdir().unwrap();
    let hub = open(&dir.path().join("hub.db"), 1, luis());
    let phone = open(&dir.path().join("phone.db"), 2, ana());
    let published = hub
        .publish_form_with_media(&canton_form(), &media())
        .unwrap();
    phone.publish_form(&published).unwrap();
    assert!(matches!(
        phone.form_media("cantons", "1", "cantons.csv"),
        Err(Error::AttachmentNotPresent { .. })
    ));
    assert_eq!(offered(&phone, "imbabura"), Vec::<String>::new());
}
