//! A phone: its own SQLCipher store (a real file, a real key) enrolled at a hub, syncing over
//! HTTP with the core's transport, as an app would.

use crate::hub::Enrolled;
use minga_core::{
    AnswerPath, ContentHash, DeviceIdentity, DocId, Encryption, FormRef, Store, StoreKey, Value,
};
use minga_sync::http::{HttpOptions, HttpTransport};
use minga_sync::{
    run_session, AllowAll, DocumentStore, Initiator, PeerId, Progress, SyncError, SyncOptions,
    SyncReport, Transport,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The key of every phone store in the scenarios (a real app takes it from the Keystore).
pub fn phone_key(seed: u8) -> Encryption {
    Encryption::Key(StoreKey::new([seed; 32]))
}

pub fn safety_walk() -> FormRef {
    FormRef::new("safety_walk", "2026-11-01")
}

/// Opens (creating if needed) the phone store at `path` for `device`.
pub fn open_store(path: &Path, device: &str) -> Store {
    Store::open(path, phone_key(7), DeviceIdentity::new(device, device)).expect("store opens")
}

/// How a phone talks to a hub: short timeouts and quick retries, so a fault costs little.
pub fn http_options(token: &str, retries: u32) -> HttpOptions {
    HttpOptions {
        timeout: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(5),
        token: Some(token.to_string()),
        retries,
        backoff: Duration::from_millis(20),
        ..HttpOptions::default()
    }
}

/// The core's HTTP transport to the hub at `url`, as the enrolled device.
pub fn hub_transport(url: &str, enrolled: &Enrolled, retries: u32) -> HttpTransport {
    let endpoint = format!("{url}/v1/sync/{}", enrolled.project);
    HttpTransport::new(endpoint, http_options(&enrolled.token, retries)).expect("no proxy given")
}

/// One sync session of `store` with the hub at `url`, as the enrolled device.
pub fn sync_store(
    store: &dyn DocumentStore,
    url: &str,
    enrolled: &Enrolled,
    options: SyncOptions,
    retries: u32,
    progress: &mut dyn FnMut(Progress),
) -> Result<SyncReport, SyncError> {
    let transport = hub_transport(url, enrolled, retries);
    sync_over(store, &transport, enrolled, options, progress)
}

/// One sync session of `store` over `transport`, as the enrolled device.
pub fn sync_over(
    store: &dyn DocumentStore,
    transport: &dyn Transport,
    enrolled: &Enrolled,
    options: SyncOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<SyncReport, SyncError> {
    let local = PeerId::new(enrolled.device_id.clone()).expect("device id is a peer id");
    let hub = PeerId::new(enrolled.hub_id.clone()).expect("hub id is a peer id");
    let mut initiator = Initiator::new(local, hub, options, Arc::new(AllowAll));
    run_session(store, transport, &mut initiator, &options, progress)
}

/// Every document of a sync store: id to sorted heads (hex), comparable with the hub's.
pub fn store_documents(store: &dyn DocumentStore) -> BTreeMap<String, Vec<String>> {
    store
        .changed_since(0, usize::MAX)
        .unwrap()
        .into_iter()
        .map(|changed| {
            let mut heads: Vec<String> = changed.heads.iter().map(|h| h.to_string()).collect();
            heads.sort();
            (changed.doc.id.as_str().to_string(), heads)
        })
        .collect()
}

/// A phone: an enrolled device and its store file.
pub struct Phone {
    pub dir: tempfile::TempDir,
    pub store: Store,
    pub enrolled: Enrolled,
}

impl Phone {
    pub fn new(enrolled: Enrolled) -> Phone {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(&dir.path().join("phone.db"), &enrolled.device_id);
        Phone {
            dir,
            store,
            enrolled,
        }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join("phone.db")
    }

    /// Fills `count` submissions, each with a respondent, an age and `extra` bytes of notes.
    pub fn fill(&self, count: usize, extra: usize) -> Vec<DocId> {
        (0..count)
            .map(|n| fill_one(&self.store, n, extra))
            .collect()
    }

    pub fn sync(&self, url: &str, options: SyncOptions) -> Result<SyncReport, SyncError> {
        sync_store(&self.store, url, &self.enrolled, options, 3, &mut |_| {})
    }

    pub fn documents(&self) -> BTreeMap<String, Vec<String>> {
        store_documents(&self.store)
    }
}

/// Fills one submission in `store`: respondent, age, and `extra` bytes of noise in the
/// respondent's name (which make
/// documents large enough to need several pages).
pub fn fill_one(store: &Store, n: usize, extra: usize) -> DocId {
    let id = store.create_submission(&safety_walk()).unwrap();
    let answers = [
        ("respondent", Value::Text(format!("respondent {n}"))),
        ("age", Value::Integer(18 + (n % 70) as i64)),
    ];
    for (name, value) in answers {
        store
            .set_answer(&id, &AnswerPath::new(name), &value)
            .unwrap();
    }
    if extra > 0 {
        // The form has no notes question: the noise goes into the respondent's name.
        let named = Value::Text(format!("respondent {n} {}", noise(n as u64, extra)));
        store
            .set_answer(&id, &AnswerPath::new("respondent"), &named)
            .unwrap();
    }
    id
}

/// `len` characters that do not compress (so a page's size is what it looks like).
pub fn noise(seed: u64, len: usize) -> String {
    let mut rng = crate::seed::Rng::new(seed);
    (0..len)
        .map(|_| char::from(b'a' + rng.below(26) as u8))
        .collect()
}

/// A new submission of `store` whose `photo` answers the attachment `attachment`.
pub fn answer_photo(store: &Store, attachment: minga_core::Attachment) {
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
pub fn photographed(store: &Store, bytes: &[u8]) -> ContentHash {
    let attachment = store
        .add_attachment(bytes, "image/jpeg", "street.jpg")
        .unwrap();
    let hash = ContentHash::from_hex(&attachment.sha256).unwrap();
    answer_photo(store, attachment);
    hash
}

/// `len` seeded random bytes: as incompressible as a JPEG photo's, so that no compression on
/// the way flatters a transfer of them.
pub fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
    use std::io::Read;
    let mut bytes = vec![0; len];
    let mut source = crate::seed::RandomBytes(crate::seed::Rng::new(seed));
    source
        .read_exact(&mut bytes)
        .expect("an endless source fills any buffer");
    bytes
}
