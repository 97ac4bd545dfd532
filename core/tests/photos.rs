//! Photos as a form asks for them: scaled to a question's `max-pixels`, stored without the
//! camera's location when asked, and byte for byte as taken otherwise.

mod common;

use common::*;
use minga_core::{
    AttachmentState, ContentHash, Encryption, Error, PhotoOptions, Store, StoredFormSession,
};
use minga_forms::eval::{compile, CompiledForm, Context, ItemPath};
use minga_forms::{Form, Value};
use std::io::Read;
use std::sync::Arc;

/// A latitude written as EXIF rationals: 0 degrees, 21 minutes, 1234/100 seconds (a place
/// near Quito): bytes a test can look for.
const LATITUDE: [u32; 6] = [0, 1, 21, 1, 1234, 100];

/// A `width` x `height` JPEG whose EXIF says to turn it a quarter right (orientation 6) and
/// where it was taken (a GPS latitude), as a phone camera writes it.
fn camera_photo(width: u32, height: u32) -> Vec<u8> {
    let pixels = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 251) as u8, (y % 241) as u8, ((x + y) % 239) as u8])
    });
    let mut jpeg = Vec::new();
    image::DynamicImage::ImageRgb8(pixels)
        .write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(
            &mut jpeg, 85,
        ))
        .unwrap();
    let exif = [
        b"Exif\0\0".as_slice(),
        &tiff_with_orientation_and_latitude(),
    ]
    .concat();
    let segment_length = (exif.len() + 2) as u16;
    let app1 = [&[0xFF, 0xE1][..], &segment_length.to_be_bytes(), &exif].concat();
    [&jpeg[..2], &app1, &jpeg[2..]].concat()
}

/// A little-endian TIFF block: IFD0 with the orientation (6) and a pointer to a GPS IFD that
/// holds the latitude's reference ("S") and value.
fn tiff_with_orientation_and_latitude() -> Vec<u8> {
    let entry = |tag: u16, kind: u16, count: u32, value: u32| {
        [
            tag.to_le_bytes().as_slice(),
            &kind.to_le_bytes(),
            &count.to_le_bytes(),
            &value.to_le_bytes(),
        ]
        .concat()
    };
    // Header 8 bytes; IFD0 at 8: 2 entries (2 + 24 + 4 = 30 bytes) -> GPS IFD at 38: 2 entries
    // (30 bytes) -> the latitude's rationals at 68.
    let mut tiff = b"II*\0".to_vec();
    tiff.extend(8u32.to_le_bytes());
    tiff.extend(2u16.to_le_bytes());
    tiff.extend(entry(0x0112, 3, 1, 6)); // Orientation, SHORT
    tiff.extend(entry(0x8825, 4, 1, 38)); // GPSInfo, LONG offset
    tiff.extend(0u32.to_le_bytes());
    tiff.extend(2u16.to_le_bytes());
    tiff.extend(entry(0x0001, 2, 2, u32::from_le_bytes(*b"S\0\0\0"))); // GPSLatitudeRef
    tiff.extend(entry(0x0002, 5, 3, 68)); // GPSLatitude, 3 RATIONALs
    tiff.extend(0u32.to_le_bytes());
    for part in LATITUDE {
        tiff.extend(part.to_le_bytes());
    }
    tiff
}

fn latitude_bytes() -> Vec<u8> {
    LATITUDE
        .iter()
        .flat_map(|part| part.to_le_bytes())
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

fn store(dir: &tempfile::TempDir) -> Store {
    Store::open(dir.path().join("phone.db"), Encryption::PlainFile, ana()).unwrap()
}

fn stored(store: &Store, sha256: &str) -> Vec<u8> {
    let mut bytes = Vec::new();
    store
        .open_attachment(&ContentHash::from_hex(sha256).unwrap())
        .unwrap()
        .read_to_end(&mut bytes)
        .unwrap();
    bytes
}

#[test]
fn a_large_photo_is_stored_upright_within_max_pixels_and_without_its_location() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let taken = camera_photo(1500, 1000);
    assert!(
        contains(&taken, &latitude_bytes()),
        "the test photo says where"
    );
    let options = PhotoOptions {
        max_pixels: Some(600),
        strip_location: true,
    };
    let photo = store.add_photo(&taken, "house.jpg", &options).unwrap();
    assert_eq!(photo.media_type, "image/jpeg");
    let bytes = stored(&store, &photo.sha256);
    let read = image::load_from_memory(&bytes).unwrap();
    assert_eq!(
        (read.width(), read.height()),
        (400, 600),
        "turned upright (a quarter right), then scaled to 600 on its longest side"
    );
    assert!(!contains(&bytes, b"Exif\0\0"), "no EXIF block is left");
    assert!(!contains(&bytes, &latitude_bytes()), "nor the latitude");
}

#[test]
fn a_photo_with_nothing_to_change_is_stored_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let taken = camera_photo(300, 200);
    for options in [
        PhotoOptions::default(),
        PhotoOptions {
            max_pixels: Some(1024),
            strip_location: false,
        },
    ] {
        let photo = store.add_photo(&taken, "street.jpg", &options).unwrap();
        assert_eq!(stored(&store, &photo.sha256), taken, "{options:?}");
    }
}

#[test]
fn a_content_that_is_no_photo_is_refused_when_its_location_must_go_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let not_a_photo = noise_bytes(7, 4096);
    let options = PhotoOptions {
        max_pixels: None,
        strip_location: true,
    };
    let refused = store.add_photo(&not_a_photo, "x.jpg", &options);
    assert!(
        matches!(refused, Err(Error::UnreadablePhoto { .. })),
        "{refused:?}"
    );
    assert_eq!(
        store
            .attachment_state(&ContentHash::of(&not_a_photo))
            .unwrap(),
        AttachmentState::Missing
    );
    let scaled_only = PhotoOptions {
        max_pixels: Some(100),
        strip_location: false,
    };
    let kept = store
        .add_photo(&not_a_photo, "x.bin", &scaled_only)
        .unwrap();
    assert_eq!(stored(&store, &kept.sha256), not_a_photo, "kept as it is");
}

/// A form with a photo question limited to 320 pixels and a text question.
fn survey_form() -> Arc<CompiledForm> {
    let form: Form = serde_json::from_value(serde_json::json!({
        "id": "safety_walk", "version": "1", "title": {"default": "Safety walk"},
        "default_language": null, "languages": [], "instance_name": null, "choices": {},
        "survey": [
            {"kind": "question", "name": "house", "type": {"base": "image"},
             "parameters": "max-pixels=320"},
            {"kind": "question", "name": "street", "type": {"base": "text"}}
        ]
    }))
    .unwrap();
    Arc::new(compile(&form).unwrap())
}

#[test]
fn a_form_session_stores_a_photo_at_its_questions_max_pixels() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let form = survey_form();
    store.publish_form(form.form()).unwrap();
    let id = store
        .create_submission(&minga_core::FormRef::new("safety_walk", "1"))
        .unwrap();
    let context = Context {
        language: None,
        now: chrono::Utc::now().fixed_offset(),
        device_id: "phone-ana".into(),
        user_name: "ana".into(),
    };
    let session = StoredFormSession::start(&store, id, form, context).unwrap();
    let taken = camera_photo(1500, 1000);
    let house = ItemPath::top("house");
    session
        .attach_photo(&store, &house, &taken, "house.jpg", true)
        .unwrap();
    let Some(Value::Attachment(photo)) = store.answers(&id).unwrap().value("house").cloned() else {
        panic!("the answer holds the photo")
    };
    let read = image::load_from_memory(&stored(&store, &photo.sha256)).unwrap();
    assert_eq!((read.width(), read.height()), (213, 320));
    let on_text = session.attach_photo(&store, &ItemPath::top("street"), &taken, "s.jpg", false);
    assert!(
        matches!(on_text, Err(Error::InvalidAnswer { .. })),
        "{on_text:?}"
    );
}
