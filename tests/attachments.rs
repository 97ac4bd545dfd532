//! Attachments through a real hub over HTTP on loopback: a facilitator's photo reaches the
//! hub after its submission and a supervisor's store pulls it whole; a colleague who names its
//! hash in a submission of her own gets nothing; and a sync cut in the middle of a 20 MB
//! recording (the connection dropped), or of an 8 MB one (the real `minga-hub` process
//! SIGKILLed while it stores a chunk, then restarted), resumes at the chunk where it stopped,
//! sending at most one chunk again.

use minga_core::AttachmentState;
use minga_hub::access::Role;
use minga_hub::storage::HubStorage;
use minga_hub::storage::SqliteStorage;
use minga_scenarios::hub::{
    hub_integrity, prepare_data_with_a_code, redeem, Enrolled, HubProcess, TestHub, PROJECT,
};
use minga_scenarios::phone::{answer_photo, hub_transport, noise, photographed, sync_over, Phone};
use minga_sync::wire::{AttachmentRefusal, Frame, DEFAULT_MAX_FRAME};
use minga_sync::{SyncOptions, Transport, TransportError, CHUNK_SIZE};
use std::cell::Cell;

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

/// The real `minga-hub` binary.
const HUB: &str = env!("CARGO_BIN_EXE_minga-hub-under-test");

/// The HTTP transport to a hub, noting the attachment chunks each request carries (a request
/// sent again after an error counts once), and failing for good (the connection is gone) after
/// `allowed` exchanges; with `kill` set, on that exchange it SIGKILLs the hub process a few
/// milliseconds after sending the request, so that the kill lands while the hub handles it.
struct Carrier {
    http: minga_sync::http::HttpTransport,
    chunks: std::cell::RefCell<std::collections::BTreeSet<u64>>,
    allowed: Cell<u32>,
    kill: std::cell::RefCell<Option<(u32, HubProcess)>>,
    killer: std::cell::RefCell<Option<std::thread::JoinHandle<()>>>,
    exchanges: Cell<u32>,
}

impl Carrier {
    fn new(url: &str, phone: &Enrolled, allowed: u32) -> Carrier {
        Carrier {
            http: hub_transport(url, phone, 3),
            chunks: Default::default(),
            allowed: Cell::new(allowed),
            kill: Default::default(),
            killer: Default::default(),
            exchanges: Cell::new(0),
        }
    }

    /// The bytes of the distinct chunks carried.
    fn chunk_bytes(&self, content_len: u64) -> u64 {
        let chunks = self.chunks.borrow();
        chunks
            .iter()
            .map(|index| (content_len - index * CHUNK_SIZE as u64).min(CHUNK_SIZE as u64))
            .sum()
    }

    /// Waits until the hub process it was to kill is gone.
    fn wait_for_the_kill(&self) {
        if let Some(killer) = self.killer.borrow_mut().take() {
            killer.join().unwrap();
        }
    }

    /// Chunks both carried.
    fn shared_chunks(&self, other: &Carrier) -> usize {
        self.chunks
            .borrow()
            .intersection(&other.chunks.borrow())
            .count()
    }
}

/// Asserts that the sync `resumed` after `cut` left `held` bytes of a content of `len` bytes
/// stored sent exactly the rest, and at most one chunk that `cut` had carried already.
fn assert_resumed(cut: &Carrier, resumed: &Carrier, len: u64, held: u64) {
    let sent_again = cut.shared_chunks(resumed);
    println!("{held} bytes stored at the cut; {sent_again} chunk(s) sent again");
    assert!(sent_again <= 1, "{sent_again} chunks sent again");
    assert_eq!(
        resumed.chunk_bytes(len),
        len - held,
        "only what the hub lacked"
    );
}

impl Transport for Carrier {
    fn exchange(&self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
        let body = match Frame::decode(request, DEFAULT_MAX_FRAME).unwrap() {
            Frame::Hello(hello) => hello.body,
            Frame::Request(round) => round.body,
            other => panic!("a phone sent a {}", other.name()),
        };
        let carried = body.attachments.chunks.iter().map(|chunk| chunk.index);
        self.chunks.borrow_mut().extend(carried);
        if self.allowed.get() == 0 {
            return Err(TransportError::fatal("the connection was cut"));
        }
        self.allowed.set(self.allowed.get() - 1);
        self.exchanges.set(self.exchanges.get() + 1);
        let due = matches!(*self.kill.borrow(), Some((at, _)) if at == self.exchanges.get());
        if let Some((_, hub)) = due.then(|| self.kill.borrow_mut().take()).flatten() {
            let killer = std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_millis(3));
                hub.kill();
            });
            *self.killer.borrow_mut() = Some(killer);
        }
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
    let cut = Carrier::new(&hub.url(), &ana.enrolled, 30);
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
    let resumed = Carrier::new(&hub.url(), &ana.enrolled, u32::MAX);
    sync_over(&ana.store, &resumed, &ana.enrolled, options, &mut |_| {}).unwrap();
    assert_resumed(&cut, &resumed, recording.len() as u64, held);
    let supervisor = Phone::new(hub.enrol(Role::Supervisor, "Sofía"));
    supervisor.sync(&hub.url(), SyncOptions::default()).unwrap();
    assert!(supervisor.store.read_attachment(&hash).unwrap() == recording);
}

#[test]
fn a_hub_killed_while_it_stores_a_recording_resumes_it_after_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let code = prepare_data_with_a_code(data.path(), "Ana");
    let hub = HubProcess::start(HUB, data.path(), "info");
    let enrolled = redeem(&hub.url, &code);
    let ana = Phone::new(enrolled);
    let recording = noise(3, 8 * 1024 * 1024).into_bytes();
    let hash = photographed(&ana.store, &recording);
    let options = SyncOptions {
        page_bytes: CHUNK_SIZE,
        ..SyncOptions::default()
    };
    let killing = Carrier::new(&hub.url, &ana.enrolled, u32::MAX);
    *killing.kill.borrow_mut() = Some((12, hub));
    assert!(sync_over(&ana.store, &killing, &ana.enrolled, options, &mut |_| {}).is_err());
    killing.wait_for_the_kill();
    assert_eq!(hub_integrity(data.path()), vec!["ok".to_string()]);
    let held = SqliteStorage::open(data.path())
        .unwrap()
        .attachment(PROJECT, &hash.to_hex())
        .unwrap()
        .map_or(0, |row| row.stored);
    assert!(held < recording.len() as u64);

    let restarted = HubProcess::start(HUB, data.path(), "info");
    let resumed = Carrier::new(&restarted.url, &ana.enrolled, u32::MAX);
    sync_over(&ana.store, &resumed, &ana.enrolled, options, &mut |_| {}).unwrap();
    assert_resumed(&killing, &resumed, recording.len() as u64, held);
    restarted.stop();
    let stored = SqliteStorage::open(data.path())
        .unwrap()
        .attachment(PROJECT, &hash.to_hex())
        .unwrap()
        .unwrap();
    assert!(stored.complete && stored.stored == recording.len() as u64);
}
