//! Attachments through a real hub over HTTP on loopback: a facilitator's photo reaches the
//! hub after its submission and a supervisor's store pulls it whole; a colleague who names its
//! hash in a submission of her own gets nothing; and a sync cut in the middle of a 20 MB
//! recording resumes at the chunk where it stopped, sending at most one chunk again.

use minga_core::{AnswerPath, AttachmentState, ContentHash, Store, Value};
use minga_hub::access::Role;
use minga_hub::storage::HubStorage;
use minga_scenarios::hub::{Enrolled, TestHub, PROJECT};
use minga_scenarios::phone::{hub_transport, noise, safety_walk, sync_over, Phone};
use minga_sync::wire::{AttachmentRefusal, Frame, DEFAULT_MAX_FRAME};
use minga_sync::{SyncOptions, Transport, TransportError, CHUNK_SIZE};
use std::cell::Cell;

/// A new submission of `store` whose `photo` answers the attachment `attachment`.
fn answer_photo(store: &Store, attachment: minga_core::Attachment) {
    let id = store.create_submission(&safety_walk()).unwrap();
    store
        .set_answer(
            &id,
            &AnswerPath::new("photo"),
            &Value::Attachment(attachment),
        )
        .unwrap();
}

/// Attaches `bytes` on `store` and answers it in a new submission; returns its hash.
fn photographed(store: &Store, bytes: &[u8]) -> ContentHash {
    let attachment = store
        .add_attachment(bytes, "image/jpeg", "street.jpg")
        .unwrap();
    let hash = ContentHash::from_hex(&attachment.sha256).unwrap();
    answer_photo(store, attachment);
    hash
}

#[test]
fn a_facilitators_photo_reaches_a_supervisor_whole_and_no_colleague_by_its_hash() {
    let hub = TestHub::start();
    let ana = Phone::new(hub.enrol(Role::Facilitator, "Ana"));
    let photo = noise(1, 3_000_000).into_bytes();
    let hash = photographed(&ana.store, &photo);
    let sent = ana.sync(&hub.url(), SyncOptions::default()).unwrap();
    assert_eq!(sent.attachments_sent, 1);
    let stored = hub.storage.attachment(PROJECT, &hash.to_hex()).unwrap();
    assert!(
        stored.is_some_and(|row| row.complete),
        "the hub holds the photo whole"
    );

    // Nowhere in the hub's data folder in clear (database, WAL, key file).
    let probe = &photo[1_000_000..1_000_032];
    for entry in std::fs::read_dir(hub.dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(!bytes.windows(probe.len()).any(|window| window == probe));
    }

    // The hub's CSV export carries it in media/, named by hash and file name.
    let out = tempfile::tempdir().unwrap();
    let report = minga_hub::export::export_project(
        hub.storage.as_ref(),
        PROJECT,
        minga_hub::export::Format::Csv,
        &Default::default(),
        out.path(),
        &|_, _| {},
    )
    .unwrap();
    assert!(report.missing_media.is_empty());
    let exported = out
        .path()
        .join("media")
        .join(format!("{}-street.jpg", &hash.to_hex()[..12]));
    assert!(std::fs::read(exported).unwrap() == photo);

    let supervisor = Phone::new(hub.enrol(Role::Supervisor, "Sofía"));
    let pulled = supervisor.sync(&hub.url(), SyncOptions::default()).unwrap();
    assert_eq!(pulled.attachments_received, 1);
    assert_eq!(supervisor.store.read_attachment(&hash).unwrap(), photo);

    // Luis learnt the hash and names it in a submission of his own: he gets no byte of it.
    let luis = Phone::new(hub.enrol(Role::Facilitator, "Luis"));
    answer_photo(
        &luis.store,
        minga_core::Attachment {
            sha256: hash.to_hex(),
            media_type: "image/jpeg".into(),
            file_name: "guess.jpg".into(),
        },
    );
    let report = luis.sync(&hub.url(), SyncOptions::default()).unwrap();
    assert_eq!(report.attachment_bytes_received, 0);
    assert!(report
        .attachments_refused
        .contains(&(hash, AttachmentRefusal::NotReadable)));
    assert_eq!(
        luis.store.attachment_state(&hash).unwrap(),
        AttachmentState::Missing
    );
}

/// The HTTP transport to the hub, counting the attachment bytes each request carries, and
/// dropping for good (the connection is gone) after `allowed` exchanges.
struct Counting {
    http: minga_sync::http::HttpTransport,
    chunk_bytes: Cell<u64>,
    allowed: Cell<u32>,
}

impl Counting {
    fn new(hub: &TestHub, phone: &Enrolled, allowed: u32) -> Counting {
        Counting {
            http: hub_transport(&hub.url(), phone, 3),
            chunk_bytes: Cell::new(0),
            allowed: Cell::new(allowed),
        }
    }
}

impl Transport for Counting {
    fn exchange(&self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
        let body = match Frame::decode(request, DEFAULT_MAX_FRAME).unwrap() {
            Frame::Hello(hello) => hello.body,
            Frame::Request(round) => round.body,
            other => panic!("a phone sent a {}", other.name()),
        };
        let carried: usize = body.attachments.chunks.iter().map(|c| c.bytes.len()).sum();
        self.chunk_bytes
            .set(self.chunk_bytes.get() + carried as u64);
        if self.allowed.get() == 0 {
            return Err(TransportError::fatal("the connection was cut"));
        }
        self.allowed.set(self.allowed.get() - 1);
        self.http.exchange(request)
    }
}

#[test]
fn a_sync_cut_in_a_20_mb_recording_resumes_at_the_chunk_where_it_stopped() {
    let hub = TestHub::start();
    let ana = Phone::new(hub.enrol(Role::Facilitator, "Ana"));
    let recording = noise(2, 20 * 1024 * 1024).into_bytes();
    let hash = photographed(&ana.store, &recording);
    // One chunk a round trip, so that the cut lands inside the recording.
    let options = SyncOptions {
        page_bytes: CHUNK_SIZE,
        ..SyncOptions::default()
    };
    let cut = Counting::new(&hub, &ana.enrolled, 30);
    assert!(sync_over(&ana.store, &cut, &ana.enrolled, options, &mut |_| {}).is_err());
    let held = hub
        .storage
        .attachment(PROJECT, &hash.to_hex())
        .unwrap()
        .map_or(0, |row| row.stored);
    assert!(
        held > 0 && held < recording.len() as u64,
        "{held} bytes held"
    );
    let resumed = Counting::new(&hub, &ana.enrolled, u32::MAX);
    sync_over(&ana.store, &resumed, &ana.enrolled, options, &mut |_| {}).unwrap();
    let sent = cut.chunk_bytes.get() + resumed.chunk_bytes.get();
    let sent_again = sent - recording.len() as u64;
    println!("cut after {held} bytes stored; {sent_again} bytes sent again");
    assert!(
        sent_again <= CHUNK_SIZE as u64,
        "{sent_again} bytes sent again"
    );
    assert_eq!(resumed.chunk_bytes.get(), recording.len() as u64 - held);
    let supervisor = Phone::new(hub.enrol(Role::Supervisor, "Sofía"));
    supervisor.sync(&hub.url(), SyncOptions::default()).unwrap();
    assert!(supervisor.store.read_attachment(&hash).unwrap() == recording);
}
