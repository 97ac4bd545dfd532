//! Attachments between two memory stores: they travel after the documents that reference
//! them, both ways, in chunks; a cut resumes at the first chunk the receiver lacks; a tampered
//! chunk is refused with nothing kept; and a device gets no content it may not read, whatever
//! hash it names.

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use minga_sync::wire::{AttachmentRefusal, AttachmentWant, Body, Frame, Round, DEFAULT_MAX_FRAME};
use minga_sync::{
    run_session, AllowAll, DocId, DocKind, Initiator, MemoryStore, MemoryTransport, PeerId, Policy,
    Responder, SyncOptions, Transport, TransportError, CHUNK_SIZE,
};

/// Options with a body budget of one chunk, so a content takes one round trip per chunk.
fn one_chunk_a_round() -> SyncOptions {
    SyncOptions {
        page_bytes: CHUNK_SIZE,
        ..SyncOptions::default()
    }
}

#[test]
fn a_phones_photo_reaches_the_hub_after_the_document_that_references_it() {
    let phone = MemoryStore::new();
    let hub = MemoryStore::new();
    let photo = noise_bytes(1, 3 * CHUNK_SIZE + 100);
    let (id, hash) = attach(&phone, &photo);
    let report = sync_pair(&phone, "phone", &hub, "hub", SyncOptions::default()).unwrap();
    assert!(hub.get(&id).is_some());
    assert_eq!(hub.attachment(&hash), Some(photo.clone()));
    assert_eq!(report.attachments_sent, 1);
    assert_eq!(report.attachment_bytes_sent, photo.len() as u64);
    assert!(report.attachments_refused.is_empty());
    let again = sync_pair(&phone, "phone", &hub, "hub", SyncOptions::default()).unwrap();
    assert_eq!(again.attachment_bytes_sent, 0, "nothing is sent twice");
}

#[test]
fn a_phone_receives_the_photo_of_a_document_it_pulls_and_an_empty_content_too() {
    let phone = MemoryStore::new();
    let hub = MemoryStore::new();
    let photo = noise_bytes(2, CHUNK_SIZE / 3);
    let (_, hash) = attach(&hub, &photo);
    let (_, empty) = attach(&hub, b"");
    let report = sync_pair(&phone, "phone", &hub, "hub", SyncOptions::default()).unwrap();
    assert_eq!(phone.attachment(&hash), Some(photo));
    assert_eq!(phone.attachment(&empty), Some(Vec::new()));
    assert_eq!(report.attachments_received, 2);
}

/// A transport that decodes every request to count the attachment bytes it carries, and
/// fails for good (the connection is gone) once `cut_after` requests went through.
struct Counting<'a> {
    inner: MemoryTransport<'a, MemoryStore>,
    chunk_bytes: Mutex<u64>,
    exchanges: Mutex<usize>,
    cut_after: Option<usize>,
}

impl<'a> Counting<'a> {
    fn new(hub: &'a MemoryStore, options: SyncOptions, cut_after: Option<usize>) -> Self {
        Self {
            inner: MemoryTransport::new(hub, peer("hub"), options, Arc::new(AllowAll)),
            chunk_bytes: Mutex::new(0),
            exchanges: Mutex::new(0),
            cut_after,
        }
    }
}

impl Transport for Counting<'_> {
    fn exchange(&self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
        let body = match Frame::decode(request, DEFAULT_MAX_FRAME).unwrap() {
            Frame::Hello(hello) => hello.body,
            Frame::Request(round) => round.body,
            other => panic!("a phone sent a {}", other.name()),
        };
        let carried: usize = body.attachments.chunks.iter().map(|c| c.bytes.len()).sum();
        *self.chunk_bytes.lock().unwrap() += carried as u64;
        let mut exchanges = self.exchanges.lock().unwrap();
        *exchanges += 1;
        if self.cut_after.is_some_and(|cut| *exchanges > cut) {
            return Err(TransportError::fatal("the connection was cut"));
        }
        self.inner.exchange(request)
    }
}

fn phone_session(phone: &MemoryStore, transport: &Counting<'_>, options: SyncOptions) -> bool {
    let mut initiator = Initiator::new(peer("phone"), peer("hub"), options, Arc::new(AllowAll));
    run_session(phone, transport, &mut initiator, &options, &mut |_| {}).is_ok()
}

#[test]
fn a_sync_cut_mid_attachment_resumes_at_the_first_chunk_the_hub_lacks() {
    let phone = MemoryStore::new();
    let hub = MemoryStore::new();
    let video = noise_bytes(3, 20 * CHUNK_SIZE + 7);
    let (_, hash) = attach(&phone, &video);
    let options = one_chunk_a_round();
    let cut = Counting::new(&hub, options, Some(8));
    assert!(
        !phone_session(&phone, &cut, options),
        "the cut ends the sync"
    );
    let held = hub.attachment_bytes_held(&hash);
    assert!(held > 0 && held < video.len() as u64, "{held} bytes held");
    let resumed = Counting::new(&hub, options, None);
    assert!(phone_session(&phone, &resumed, options));
    assert_eq!(hub.attachment(&hash), Some(video.clone()));
    let sent = *cut.chunk_bytes.lock().unwrap() + *resumed.chunk_bytes.lock().unwrap();
    let sent_again = sent - video.len() as u64;
    assert!(
        sent_again <= CHUNK_SIZE as u64,
        "{sent_again} bytes sent again"
    );
    assert_eq!(
        *resumed.chunk_bytes.lock().unwrap(),
        video.len() as u64 - held,
        "the resumed sync sends exactly what the hub lacked"
    );
}

/// A transport that flips one byte of the first chunk it carries.
struct Tampering<'a>(MemoryTransport<'a, MemoryStore>);

impl Transport for Tampering<'_> {
    fn exchange(&self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
        let frame = match Frame::decode(request, DEFAULT_MAX_FRAME).unwrap() {
            Frame::Request(mut round) if !round.body.attachments.chunks.is_empty() => {
                round.body.attachments.chunks[0].bytes[5] ^= 0x40;
                Frame::Request(round).encode()
            }
            _ => request.to_vec(),
        };
        self.0.exchange(&frame)
    }
}

#[test]
fn a_tampered_chunk_is_refused_nothing_of_it_is_kept_and_a_clean_sync_brings_it_whole() {
    let phone = MemoryStore::new();
    let hub = MemoryStore::new();
    let photo = noise_bytes(4, 2 * CHUNK_SIZE + 9);
    let (_, hash) = attach(&phone, &photo);
    let options = SyncOptions::default();
    let transport = Tampering(MemoryTransport::new(
        &hub,
        peer("hub"),
        options,
        Arc::new(AllowAll),
    ));
    let mut initiator = Initiator::new(peer("phone"), peer("hub"), options, Arc::new(AllowAll));
    let report = run_session(&phone, &transport, &mut initiator, &options, &mut |_| {}).unwrap();
    assert_eq!(
        report.attachments_refused,
        vec![(hash, AttachmentRefusal::Mismatch)]
    );
    assert_eq!(report.attachments_sent, 0);
    assert_eq!(hub.attachment_bytes_held(&hash), 0, "nothing kept");
    sync_pair(&phone, "phone", &hub, "hub", options).unwrap();
    assert_eq!(hub.attachment(&hash), Some(photo));
}

/// The hub's rights for a facilitator: every document but `secret`.
struct AllBut {
    secret: DocId,
}

impl Policy for AllBut {
    fn may_read(&self, _: &PeerId, doc: &DocId, _: DocKind) -> bool {
        *doc != self.secret
    }

    fn may_write(&self, _: &PeerId, _: &DocId, _: DocKind, _: &automerge::Automerge) -> bool {
        true
    }
}

#[test]
fn a_device_gets_no_content_of_a_document_it_may_not_read_by_naming_its_hash() {
    let hub = MemoryStore::new();
    let photo = noise_bytes(5, 1000);
    let (secret, hash) = attach(&hub, &photo);
    let unreferenced = hub.add_attachment(&noise_bytes(6, 1000));
    let policy = Arc::new(AllBut { secret });
    let mut responder = Responder::new(peer("hub"), SyncOptions::default(), policy);
    let phone = MemoryStore::new();
    let mut initiator = phone_initiator();
    let hello = initiator.start(&phone).unwrap();
    let Frame::Hello(opened) = Frame::decode(&hello, DEFAULT_MAX_FRAME).unwrap() else {
        unreachable!()
    };
    responder.respond(&hub, &hello).unwrap();
    let mut body = Body::default();
    body.attachments.wants = [hash, unreferenced]
        .into_iter()
        .map(|hash| AttachmentWant {
            hash,
            from_chunk: 0,
        })
        .collect();
    let request = Frame::Request(Round {
        session: opened.session,
        round: 1,
        epoch: opened.epoch,
        body,
    })
    .encode();
    let reply = responder.respond(&hub, &request).unwrap();
    let Frame::Reply(reply) = Frame::decode(&reply, DEFAULT_MAX_FRAME).unwrap() else {
        panic!("a reply")
    };
    assert!(
        reply.body.attachments.chunks.is_empty(),
        "no byte of either"
    );
    assert_eq!(
        reply.body.attachments.refusals,
        vec![
            (hash, AttachmentRefusal::NotReadable),
            (unreferenced, AttachmentRefusal::NotReadable)
        ]
    );
}

#[test]
fn progress_counts_attachment_bytes_done_and_left() {
    let phone = MemoryStore::new();
    let hub = MemoryStore::new();
    let video = noise_bytes(7, 4 * CHUNK_SIZE);
    attach(&phone, &video);
    let options = one_chunk_a_round();
    let transport = MemoryTransport::new(&hub, peer("hub"), options, Arc::new(AllowAll));
    let mut initiator = Initiator::new(peer("phone"), peer("hub"), options, Arc::new(AllowAll));
    let mut seen = Vec::new();
    run_session(
        &phone,
        &transport,
        &mut initiator,
        &options,
        &mut |progress| {
            seen.push((
                progress.attachment_bytes_done,
                progress.attachment_bytes_left,
            ));
        },
    )
    .unwrap();
    let total = video.len() as u64;
    assert!(
        seen.iter()
            .any(|&(done, left)| done > 0 && left > 0 && done + left == total),
        "{seen:?}"
    );
    assert_eq!(seen.last().map(|&(done, _)| done), Some(total));
}

#[test]
fn a_supervisor_syncing_without_attachments_fetches_one_on_demand() {
    let supervisor = MemoryStore::new();
    let hub = MemoryStore::new();
    let (_, wanted) = attach(&hub, &noise_bytes(8, CHUNK_SIZE + 1));
    let (_, other) = attach(&hub, &noise_bytes(9, 1000));
    let lazy = SyncOptions {
        fetch_attachments: false,
        ..SyncOptions::default()
    };
    let documents_only = sync_pair(&supervisor, "supervisor", &hub, "hub", lazy).unwrap();
    assert_eq!(documents_only.received, 2);
    assert_eq!(documents_only.attachment_bytes_received, 0);
    let transport = MemoryTransport::new(&hub, peer("hub"), lazy, Arc::new(AllowAll));
    let mut initiator = Initiator::new(peer("supervisor"), peer("hub"), lazy, Arc::new(AllowAll))
        .fetching_attachments(vec![wanted]);
    let fetched = run_session(&supervisor, &transport, &mut initiator, &lazy, &mut |_| {}).unwrap();
    assert_eq!(fetched.attachments_received, 1);
    assert!(supervisor.attachment(&wanted).is_some());
    assert!(
        supervisor.attachment(&other).is_none(),
        "only the one asked for"
    );
}
