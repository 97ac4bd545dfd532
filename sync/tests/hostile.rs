//! Malformed and hostile bytes (random, truncated, oversized, well-formed frames naming the
//! wrong documents) get typed errors, never panics, and change nothing in the store.

mod common;

use std::sync::Arc;

use automerge::sync::{State, SyncDoc};
use automerge::Automerge;
use common::*;
use minga_sync::wire::{
    seal, Answer, Body, DocMessage, Frame, Payload, Round, DEFAULT_MAX_FRAME, HEADER_LEN, MAGIC,
    VERSION,
};
use minga_sync::{
    AllowAll, DocId, DocKind, DocumentStore, Epoch, MemoryStore, Responder, Step, SyncError,
    SyncOptions, WireError,
};
use proptest::prelude::*;

fn hub_with_documents() -> MemoryStore {
    let hub = MemoryStore::new();
    for _ in 0..3 {
        fill_submission(&hub, &DocId::random(), 4);
    }
    hub
}

fn responder() -> Responder {
    Responder::new(peer("hub"), SyncOptions::default(), Arc::new(AllowAll))
}

/// A frame with a correct header and checksum around any payload: gets past the framing, so
/// the message decoders see the hostile bytes.
fn framed(kind: u8, payload: &[u8]) -> Vec<u8> {
    seal(kind, payload.to_vec())
}

fn assert_unchanged(store: &MemoryStore, before: &[(DocId, Vec<automerge::ChangeHash>, String)]) {
    assert_eq!(snapshot(store), before);
}

proptest! {
    #[test]
    fn random_bytes_are_refused_and_change_nothing(
        bytes in proptest::collection::vec(any::<u8>(), 0..300),
        kind in 1..5u8,
    ) {
        let hub = hub_with_documents();
        let before = snapshot(&hub);
        let seq = hub.max_seq().unwrap();
        let mut responder = responder();
        prop_assert!(responder.respond(&hub, &bytes).is_err());
        prop_assert!(responder.respond(&hub, &framed(kind, &bytes)).is_err());
        prop_assert_eq!(hub.max_seq().unwrap(), seq);
        assert_unchanged(&hub, &before);
    }

    #[test]
    fn random_replies_are_refused_by_the_initiator(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let phone = hub_with_documents();
        let before = snapshot(&phone);
        let mut initiator = phone_initiator();
        initiator.start(&phone).unwrap();
        prop_assert!(initiator.receive(&phone, &framed(3, &bytes)).is_err());
        assert_unchanged(&phone, &before);
    }
}

#[test]
fn every_truncation_of_a_real_hello_is_a_typed_error() {
    let phone = hub_with_documents();
    let hub = MemoryStore::new();
    let mut initiator = phone_initiator();
    let hello = initiator.start(&phone).unwrap();
    for cut in 0..hello.len() {
        let error = responder().respond(&hub, &hello[..cut]).unwrap_err();
        assert!(matches!(error, SyncError::Wire(_)), "cut at {cut}: {error}");
    }
    assert!(hub.is_empty());
    assert!(responder().respond(&hub, &hello).is_ok());
}

#[test]
fn an_oversized_frame_is_refused_before_it_is_read() {
    let mut header = MAGIC.to_vec();
    header.extend([VERSION, 0x02]);
    header.extend(u32::MAX.to_be_bytes());
    assert_eq!(header.len(), HEADER_LEN);
    let error = responder()
        .respond(&MemoryStore::new(), &header)
        .unwrap_err();
    assert!(matches!(
        error,
        SyncError::Wire(WireError::FrameTooLarge { max, .. }) if max == u64::from(DEFAULT_MAX_FRAME)
    ));
}

/// Opens a session with the hub and returns its id and the phone's epoch, the responder in
/// round 0.
fn open_session(hub: &MemoryStore, responder: &mut Responder) -> ([u8; 16], Epoch) {
    let phone = MemoryStore::new();
    let mut initiator = phone_initiator();
    let hello = initiator.start(&phone).unwrap();
    let Frame::Hello(decoded) = Frame::decode(&hello, DEFAULT_MAX_FRAME).unwrap() else {
        unreachable!()
    };
    responder.respond(hub, &hello).unwrap();
    (decoded.session, decoded.epoch)
}

fn request((session, epoch): ([u8; 16], Epoch), body: Body) -> Vec<u8> {
    Frame::Request(Round {
        session,
        round: 1,
        epoch,
        body,
    })
    .encode()
}

#[test]
fn well_formed_frames_naming_documents_outside_the_session_change_nothing() {
    let hub = hub_with_documents();
    let before = snapshot(&hub);
    let stranger = DocId::random();
    let doc = Automerge::new();
    let message = doc.generate_sync_message(&mut State::new()).unwrap();
    let hostile_bodies = [
        Body {
            docs: vec![DocMessage {
                doc: stranger.clone(),
                kind: DocKind::Submission,
                payload: Payload::Sync(message),
            }],
            answers: vec![Answer::Want; 3], // the hub offered three documents
            ..Body::default()
        },
        Body {
            docs: vec![DocMessage {
                doc: stranger.clone(),
                kind: DocKind::Submission,
                payload: Payload::Full(doc.save()),
            }],
            answers: vec![Answer::Want; 3], // the hub offered three documents
            ..Body::default()
        },
        Body {
            refusals: vec![(stranger.clone(), minga_sync::wire::Refusal::NotWritable)],
            answers: vec![Answer::Want; 3], // the hub offered three documents
            ..Body::default()
        },
    ];
    for body in hostile_bodies {
        let mut responder = responder();
        let session = open_session(&hub, &mut responder);
        let error = responder
            .respond(&hub, &request(session, body))
            .unwrap_err();
        assert!(
            matches!(&error, SyncError::UnexpectedDocument { doc } if *doc == stranger),
            "{error}"
        );
        assert_unchanged(&hub, &before);
    }
    let mut responder = responder();
    let session = open_session(&hub, &mut responder);
    let answers = Body {
        answers: vec![Answer::Want; 5],
        ..Body::default()
    };
    let error = responder
        .respond(&hub, &request(session, answers))
        .unwrap_err();
    assert!(
        matches!(error, SyncError::AnswerCountMismatch { .. }),
        "{error}"
    );
    assert_unchanged(&hub, &before);
}

#[test]
fn a_wanted_document_with_garbage_bytes_is_refused_alone() {
    let phone = MemoryStore::new();
    let good = DocId::random();
    fill_submission(&phone, &good, 2);
    let bad = DocId::random();
    fill_submission(&phone, &bad, 2);
    let hub = MemoryStore::new();
    let mut responder = responder();
    let mut initiator = phone_initiator();
    let hello = initiator.start(&phone).unwrap();
    let reply = responder.respond(&hub, &hello).unwrap();
    let Step::Send(next) = initiator.receive(&phone, &reply).unwrap() else {
        panic!("the hub wants both documents")
    };
    let Frame::Request(mut round) = Frame::decode(&next, DEFAULT_MAX_FRAME).unwrap() else {
        unreachable!()
    };
    for doc in &mut round.body.docs {
        if doc.doc == bad {
            doc.payload = Payload::Full(b"not automerge at all".to_vec());
        }
    }
    let reply = responder
        .respond(&hub, &Frame::Request(round).encode())
        .unwrap();
    assert_eq!(hub.ids(), vec![good.clone()]);
    let Frame::Reply(reply) = Frame::decode(&reply, DEFAULT_MAX_FRAME).unwrap() else {
        unreachable!()
    };
    assert_eq!(
        reply.body.refusals,
        vec![(bad, minga_sync::wire::Refusal::Invalid)]
    );
}

/// Records every request of a session as it passes.
struct Recording<'a> {
    inner: &'a dyn minga_sync::Transport,
    requests: std::cell::RefCell<Vec<Vec<u8>>>,
}

impl minga_sync::Transport for Recording<'_> {
    fn exchange(&self, request: &[u8]) -> Result<Vec<u8>, minga_sync::TransportError> {
        self.requests.borrow_mut().push(request.to_vec());
        self.inner.exchange(request)
    }
}

#[test]
fn replaying_an_old_session_changes_nothing() {
    let phone = hub_with_documents();
    let hub = hub_with_documents();
    let options = SyncOptions {
        page_docs: 1,
        ..SyncOptions::default()
    };
    let transport =
        minga_sync::MemoryTransport::new(&hub, peer("hub"), options, Arc::new(AllowAll));
    let recording = Recording {
        inner: &transport,
        requests: Default::default(),
    };
    let mut initiator = phone_initiator();
    minga_sync::run_session(&phone, &recording, &mut initiator, &options, &mut |_| {}).unwrap();
    assert_eq!(snapshot(&phone), snapshot(&hub));
    let requests = recording.requests.into_inner();
    assert!(requests.len() > 2);
    answer(&hub, &hub.ids()[0], "after", 1);
    let before = snapshot(&hub);
    let mut replayer = responder();
    for request in requests.iter().chain(requests.iter().rev()) {
        let _ = replayer.respond(&hub, request); // errors or not, nothing may change
    }
    assert_eq!(snapshot(&hub), before);
}
