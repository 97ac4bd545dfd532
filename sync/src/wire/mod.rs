//! The sync wire format, version 4: framed, typed messages (`docs/sync-protocol.md` is the
//! specification). `encode` never fails; `decode` checks the frame's length against the limit
//! before reading anything, validates every field and never panics.

mod attachments;
pub mod codec;
mod deflate;
mod signed_document;

use std::collections::HashSet;

use automerge::sync::Message as AmMessage;
use automerge::ChangeHash;

use crate::error::WireError;
pub use crate::ids::Epoch;
use crate::ids::{DocId, DocKind, PeerId, Seq};
use crate::signatures::SignedChange;
pub use attachments::{AttachmentChunk, AttachmentFields, AttachmentRefusal, AttachmentWant};
use codec::{Reader, Writer};
pub(crate) use deflate::{read_tail, write_tail, Tail};
pub use signed_document::{open_signed_document, seal_signed_document};

/// The first four bytes of every frame.
pub const MAGIC: [u8; 4] = *b"MSYN";
/// The protocol version this implementation speaks. Version 3 added the stores' epochs to the
/// hello, requests and replies; version 4 the signatures of the changes a body or bundle
/// carries, and the attachment fields of a body.
pub const VERSION: u8 = 4;
/// The earlier version whose peers still get an abort they can read (in its framing), telling
/// them to update, rather than bytes they cannot decode.
pub const PREVIOUS_VERSION: u8 = 3;
/// Magic, version, type and a big-endian u32 payload length.
pub const HEADER_LEN: usize = 10;
/// The CRC-32 that follows the payload, over the header and the payload.
pub const TRAILER_LEN: usize = 4;
/// The default largest payload accepted: 32 MiB.
pub const DEFAULT_MAX_FRAME: u32 = 32 << 20;

const TYPE_HELLO: u8 = 0x01;
const TYPE_REQUEST: u8 = 0x02;
const TYPE_REPLY: u8 = 0x03;
const TYPE_ABORT: u8 = 0x04;
pub(crate) const TYPE_BUNDLE: u8 = 0x10;
/// A bundle of format 2: the documents' frame, then the attachment contents it lists.
pub(crate) const TYPE_BUNDLE_WITH_CONTENTS: u8 = 0x11;

/// A session's random id, chosen by the initiator.
pub type SessionId = [u8; 16];

/// "I have this document, with these heads" and, when the sender knows the heads it last shared
/// with the receiver, the changes made since then (so a document edited on one side only needs
/// no further message).
#[derive(Clone, Debug, PartialEq)]
pub struct Offer {
    pub doc: DocId,
    pub kind: DocKind,
    pub heads: Vec<ChangeHash>,
    pub changes: Option<Vec<u8>>,
}

/// Why a document was refused; the rest of the batch is unaffected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The policy does not let the peer read it.
    NotReadable = 1,
    /// The policy does not let the peer change it.
    NotWritable = 2,
    /// Its bytes did not load as automerge changes.
    Invalid = 3,
    /// It exists here with another kind.
    KindMismatch = 4,
    /// The changes build on changes this store does not have (a bundle written from stale
    /// knowledge): a full bundle or a network sync brings them.
    Incomplete = 5,
}

impl Refusal {
    fn from_code(code: u8) -> Result<Self, WireError> {
        match code {
            1 => Ok(Refusal::NotReadable),
            2 => Ok(Refusal::NotWritable),
            3 => Ok(Refusal::Invalid),
            4 => Ok(Refusal::KindMismatch),
            5 => Ok(Refusal::Incomplete),
            other => Err(WireError::UnknownReason(other)),
        }
    }
}

/// The reply to one offer, in the order of the offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Same heads here: nothing to do.
    Same,
    /// Not here at all: send the whole document.
    Want,
    /// Heads differ: an automerge sync message for it follows in `docs`.
    Sync,
    /// The changes pushed with the offer were applied: now the same heads here.
    Took,
    Refused(Refusal),
}

/// What travels for one document.
#[derive(Clone, Debug, PartialEq)]
pub enum Payload {
    /// The whole document, as `Automerge::save` writes it.
    Full(Vec<u8>),
    /// The next automerge sync message for it.
    Sync(AmMessage),
}

#[derive(Clone, Debug, PartialEq)]
pub struct DocMessage {
    pub doc: DocId,
    pub kind: DocKind,
    pub payload: Payload,
}

/// What each message of a session carries in both directions.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Body {
    /// A page of the sender's changed documents.
    pub offers: Vec<Offer>,
    /// Whether more pages of offers follow.
    pub more_offers: bool,
    /// The sender's sequence number that this page of offers reaches.
    pub cursor: Seq,
    /// One answer per offer of the peer's previous message.
    pub answers: Vec<Answer>,
    pub docs: Vec<DocMessage>,
    /// Documents of the peer's previous message that were refused (all others were applied).
    pub refusals: Vec<(DocId, Refusal)>,
    /// The signatures of the keyed changes this body carries (in offers and documents), for
    /// the receiver to verify them ([`crate::signatures`]).
    pub signatures: Vec<SignedChange>,
    /// Attachments wanted, chunks sent and attachments refused.
    pub attachments: AttachmentFields,
}

impl Body {
    /// Nothing to say: no offers, answers, documents or refusals.
    pub fn is_empty(&self) -> bool {
        self.offers.is_empty()
            && self.answers.is_empty()
            && self.docs.is_empty()
            && self.refusals.is_empty()
            && self.attachments.is_empty()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Hello {
    pub session: SessionId,
    pub from: PeerId,
    /// The initiator's own epoch.
    pub epoch: Epoch,
    /// The responder the initiator means to reach, if it knows it.
    pub to: Option<PeerId>,
    /// The responder's epoch that `pull_since` (and what the initiator offers) was learnt
    /// from; `None` when it never learnt one. Another epoch than the responder's own means
    /// `pull_since` is meaningless to it.
    pub to_epoch: Option<Epoch>,
    /// The responder's sequence number up to which the initiator has everything.
    pub pull_since: Seq,
    pub body: Body,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Round {
    pub session: SessionId,
    pub round: u64,
    /// The sender's epoch.
    pub epoch: Epoch,
    pub body: Body,
}

/// One message of the protocol.
#[derive(Clone, Debug, PartialEq)]
pub enum Frame {
    Hello(Hello),
    Request(Round),
    Reply(Round),
    Abort { message: String },
}

impl Frame {
    pub fn name(&self) -> &'static str {
        match self {
            Frame::Hello(_) => "hello",
            Frame::Request(_) => "request",
            Frame::Reply(_) => "reply",
            Frame::Abort { .. } => "abort",
        }
    }

    /// The frame's bytes, its body compressed when that makes it shorter.
    pub fn encode(&self) -> Vec<u8> {
        self.encode_as(Tail::Smallest)
    }

    /// The frame's bytes with its body never compressed (a valid form, as a sender may choose
    /// either): for tools that mutate the body's fields, such as the fuzzers' corpora.
    pub fn encode_uncompressed(&self) -> Vec<u8> {
        self.encode_as(Tail::Plain)
    }

    fn encode_as(&self, form: Tail) -> Vec<u8> {
        let mut writer = Writer::default();
        let kind = match self {
            Frame::Hello(hello) => {
                writer.fixed(&hello.session);
                writer.peer_id(&hello.from);
                writer.epoch(hello.epoch);
                match &hello.to {
                    Some(to) => writer.peer_id(to),
                    None => writer.varint(0),
                }
                writer.optional_epoch(hello.to_epoch);
                writer.varint(hello.pull_since);
                write_body(&mut writer, &hello.body, form);
                TYPE_HELLO
            }
            Frame::Request(round) | Frame::Reply(round) => {
                writer.fixed(&round.session);
                writer.varint(round.round);
                writer.epoch(round.epoch);
                write_body(&mut writer, &round.body, form);
                if matches!(self, Frame::Request(_)) {
                    TYPE_REQUEST
                } else {
                    TYPE_REPLY
                }
            }
            Frame::Abort { message } => {
                writer.bytes(message.as_bytes());
                TYPE_ABORT
            }
        };
        seal(kind, writer.buf)
    }

    /// Decodes one whole frame; `max_frame` is the largest payload accepted.
    pub fn decode(bytes: &[u8], max_frame: u32) -> Result<Self, WireError> {
        let (kind, payload) = open(bytes, max_frame)?;
        let mut reader = Reader::new(payload);
        let frame = match kind {
            TYPE_HELLO => Frame::Hello(decode_hello(&mut reader, max_frame)?),
            TYPE_REQUEST => Frame::Request(decode_round(&mut reader, max_frame)?),
            TYPE_REPLY => Frame::Reply(decode_round(&mut reader, max_frame)?),
            TYPE_ABORT => Frame::Abort {
                message: String::from_utf8_lossy(reader.bytes("abort message")?).into_owned(),
            },
            other => return Err(WireError::UnknownMessageType(other)),
        };
        reader.finish()?;
        Ok(frame)
    }
}

/// An abort a peer speaking `version` can read: framed in that version when it is
/// [`PREVIOUS_VERSION`] (whose abort payload is the same), else in ours. Lets a responder tell
/// an out-of-date initiator to update instead of answering bytes it cannot decode.
pub fn abort_in_version(version: u8, message: &str) -> Vec<u8> {
    let mut frame = Frame::Abort {
        message: message.into(),
    }
    .encode();
    if version == PREVIOUS_VERSION {
        frame[4] = PREVIOUS_VERSION;
        let checked = frame.len() - TRAILER_LEN;
        let checksum = crc32(&frame[..checked]);
        frame[checked..].copy_from_slice(&checksum.to_be_bytes());
    }
    frame
}

/// Frames a payload: the header before it, the CRC-32 after. Public for tests and tools that
/// need bytes past the framing (a fuzzer re-framing mutated payloads).
pub fn seal(kind: u8, payload: Vec<u8>) -> Vec<u8> {
    let mut frame = Vec::with_capacity(HEADER_LEN + payload.len() + TRAILER_LEN);
    frame.extend_from_slice(&MAGIC);
    frame.push(VERSION);
    frame.push(kind);
    frame.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    frame.extend_from_slice(&payload);
    let checksum = crc32(&frame);
    frame.extend_from_slice(&checksum.to_be_bytes());
    frame
}

/// Reads the length a frame header announces, refusing it over `max_frame` before anything is
/// allocated for the payload. Stream transports call this on the first `HEADER_LEN` bytes.
pub fn payload_len(header: &[u8], max_frame: u32) -> Result<(u8, usize), WireError> {
    let mut reader = Reader::new(header);
    if reader.fixed(4, "magic")? != MAGIC {
        return Err(WireError::BadMagic);
    }
    let version = reader.u8("version")?;
    if version != VERSION {
        return Err(WireError::UnsupportedVersion {
            got: version,
            speaks: VERSION,
        });
    }
    let kind = reader.u8("message type")?;
    let len_bytes = reader.fixed(4, "frame length")?;
    let len = u32::from_be_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]]);
    if len > max_frame {
        return Err(WireError::FrameTooLarge {
            len: len.into(),
            max: max_frame.into(),
        });
    }
    Ok((kind, len as usize))
}

/// The session a hello or request belongs to, read from its first bytes without decoding the
/// rest: lets a server route a request to the session's [`crate::Responder`]. `None` for other
/// frames or bytes too short to tell; the responder still checks the whole frame.
pub fn session_of(frame: &[u8]) -> Option<SessionId> {
    let kind = *frame.get(5)?;
    if !matches!(kind, TYPE_HELLO | TYPE_REQUEST) || frame.get(..4)? != MAGIC {
        return None;
    }
    frame.get(HEADER_LEN..HEADER_LEN + 16)?.try_into().ok()
}

/// Splits a whole frame into its type and payload, checking its length and checksum.
pub(crate) fn open(bytes: &[u8], max_frame: u32) -> Result<(u8, &[u8]), WireError> {
    let (kind, len) = payload_len(bytes, max_frame)?;
    let whole = HEADER_LEN + len + TRAILER_LEN;
    if bytes.len() < whole {
        return Err(WireError::Truncated { what: "frame" });
    }
    if bytes.len() > whole {
        return Err(WireError::TrailingBytes(bytes.len() - whole));
    }
    let (checked, trailer) = bytes.split_at(HEADER_LEN + len);
    let expected = u32::from_be_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
    if crc32(checked) != expected {
        return Err(WireError::Checksum);
    }
    Ok((kind, &checked[HEADER_LEN..]))
}

/// CRC-32 (IEEE 802.3, as zlib and PNG compute it).
pub fn crc32(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

fn decode_hello(reader: &mut Reader<'_>, max_frame: u32) -> Result<Hello, WireError> {
    let session = session_id(reader)?;
    let from = reader.peer_id()?;
    let epoch = reader.epoch()?;
    let to = reader.optional_peer_id()?;
    let to_epoch = reader.optional_epoch()?;
    Ok(Hello {
        session,
        from,
        epoch,
        to,
        to_epoch,
        pull_since: reader.varint("pull cursor")?,
        body: read_body(reader, max_frame)?,
    })
}

fn session_id(reader: &mut Reader<'_>) -> Result<SessionId, WireError> {
    let mut session = [0u8; 16];
    session.copy_from_slice(reader.fixed(16, "session id")?);
    Ok(session)
}

fn decode_round(reader: &mut Reader<'_>, max_frame: u32) -> Result<Round, WireError> {
    Ok(Round {
        session: session_id(reader)?,
        round: reader.varint("round")?,
        epoch: reader.epoch()?,
        body: read_body(reader, max_frame)?,
    })
}

const ANSWER_SAME: u8 = 0;
const ANSWER_WANT: u8 = 1;
const ANSWER_SYNC: u8 = 2;
const ANSWER_REFUSED: u8 = 3;
const ANSWER_TOOK: u8 = 4;
const PAYLOAD_FULL: u8 = 1;
const PAYLOAD_SYNC: u8 = 2;
/// Most items in one list of a body: bounds the work a single message can ask for.
pub const MAX_LIST: u64 = 1 << 20;
/// The fewest bytes a document id takes: a tag, a length and one byte (a UUID takes 17). The
/// shortest item of each list, which bounds its count by the bytes left, starts with one.
const MIN_DOC_ID: usize = 3;

/// A body is the payload's compressed tail (see [`write_tail`]).
fn write_body(writer: &mut Writer, body: &Body, form: Tail) {
    let mut plain = Writer::default();
    encode_body(&mut plain, body);
    write_tail(writer, &plain.buf, form);
}

fn read_body(reader: &mut Reader<'_>, max_frame: u32) -> Result<Body, WireError> {
    let tail = read_tail(reader, max_frame)?;
    let mut plain = Reader::new(&tail);
    let body = decode_body(&mut plain)?;
    plain.finish()?;
    Ok(body)
}

fn encode_body(writer: &mut Writer, body: &Body) {
    writer.varint(body.offers.len() as u64);
    for offer in &body.offers {
        writer.doc_id(&offer.doc);
        writer.kind(offer.kind);
        writer.heads(&offer.heads);
        match &offer.changes {
            None => writer.u8(0),
            Some(changes) => {
                writer.u8(1);
                writer.bytes(changes);
            }
        }
    }
    writer.u8(u8::from(body.more_offers));
    writer.varint(body.cursor);
    writer.varint(body.answers.len() as u64);
    for answer in &body.answers {
        match answer {
            Answer::Same => writer.u8(ANSWER_SAME),
            Answer::Want => writer.u8(ANSWER_WANT),
            Answer::Sync => writer.u8(ANSWER_SYNC),
            Answer::Took => writer.u8(ANSWER_TOOK),
            Answer::Refused(reason) => {
                writer.u8(ANSWER_REFUSED);
                writer.u8(*reason as u8);
            }
        }
    }
    writer.varint(body.docs.len() as u64);
    for doc in &body.docs {
        writer.doc_id(&doc.doc);
        writer.kind(doc.kind);
        match &doc.payload {
            Payload::Full(bytes) => {
                writer.u8(PAYLOAD_FULL);
                writer.bytes(bytes);
            }
            Payload::Sync(message) => {
                writer.u8(PAYLOAD_SYNC);
                writer.bytes(&message.clone().encode());
            }
        }
    }
    writer.varint(body.refusals.len() as u64);
    for (doc, reason) in &body.refusals {
        writer.doc_id(doc);
        writer.u8(*reason as u8);
    }
    writer.signatures(&body.signatures);
    attachments::encode(writer, &body.attachments);
}

fn decode_body(reader: &mut Reader<'_>) -> Result<Body, WireError> {
    let offers = decode_offers(reader)?;
    let more_offers = match reader.u8("more-offers flag")? {
        0 => false,
        1 => true,
        other => return Err(WireError::UnknownAnswer(other)),
    };
    let cursor = reader.varint("cursor")?;
    let answers = decode_answers(reader)?;
    let docs = decode_docs(reader)?;
    let refusals = decode_refusals(reader)?;
    let signatures = reader.signatures(MAX_LIST)?;
    let attachments = attachments::decode(reader)?;
    Ok(Body {
        offers,
        more_offers,
        cursor,
        answers,
        docs,
        refusals,
        signatures,
        attachments,
    })
}

fn decode_offers(reader: &mut Reader<'_>) -> Result<Vec<Offer>, WireError> {
    let count = reader.count("offers", MIN_DOC_ID + 3, MAX_LIST)?;
    let mut seen = HashSet::with_capacity(count);
    let mut offers = Vec::with_capacity(count);
    for _ in 0..count {
        let doc = reader.doc_id()?;
        let kind = reader.kind(&doc)?;
        let heads = reader.heads()?;
        let changes = match reader.u8("offer changes flag")? {
            0 => None,
            1 => Some(reader.bytes("offered changes")?.to_vec()),
            code => return Err(WireError::UnknownPayload { doc, code }),
        };
        unique(&mut seen, &doc, "offers")?;
        offers.push(Offer {
            doc,
            kind,
            heads,
            changes,
        });
    }
    Ok(offers)
}

fn decode_answers(reader: &mut Reader<'_>) -> Result<Vec<Answer>, WireError> {
    let count = reader.count("answers", 1, MAX_LIST)?;
    let mut answers = Vec::with_capacity(count);
    for _ in 0..count {
        answers.push(match reader.u8("answer")? {
            ANSWER_SAME => Answer::Same,
            ANSWER_WANT => Answer::Want,
            ANSWER_SYNC => Answer::Sync,
            ANSWER_TOOK => Answer::Took,
            ANSWER_REFUSED => Answer::Refused(Refusal::from_code(reader.u8("refusal")?)?),
            other => return Err(WireError::UnknownAnswer(other)),
        });
    }
    Ok(answers)
}

fn decode_docs(reader: &mut Reader<'_>) -> Result<Vec<DocMessage>, WireError> {
    let count = reader.count("documents", MIN_DOC_ID + 3, MAX_LIST)?;
    let mut seen = HashSet::with_capacity(count);
    let mut docs = Vec::with_capacity(count);
    for _ in 0..count {
        let doc = reader.doc_id()?;
        let kind = reader.kind(&doc)?;
        let payload = match reader.u8("payload type")? {
            PAYLOAD_FULL => Payload::Full(reader.bytes("document bytes")?.to_vec()),
            PAYLOAD_SYNC => {
                Payload::Sync(decode_sync_message(&doc, reader.bytes("sync message")?)?)
            }
            code => return Err(WireError::UnknownPayload { doc, code }),
        };
        unique(&mut seen, &doc, "documents")?;
        docs.push(DocMessage { doc, kind, payload });
    }
    Ok(docs)
}

/// Decodes automerge's sync message, turning a panic inside automerge on hostile bytes into a
/// typed error as well, so that no input can take the process down.
fn decode_sync_message(doc: &DocId, bytes: &[u8]) -> Result<AmMessage, WireError> {
    let bad = |reason: String| WireError::BadSyncMessage {
        doc: doc.clone(),
        reason,
    };
    match std::panic::catch_unwind(|| AmMessage::decode(bytes)) {
        Ok(Ok(message)) => Ok(message),
        Ok(Err(error)) => Err(bad(error.to_string())),
        Err(_) => Err(bad("automerge could not parse it".into())),
    }
}

fn decode_refusals(reader: &mut Reader<'_>) -> Result<Vec<(DocId, Refusal)>, WireError> {
    let count = reader.count("refusals", MIN_DOC_ID + 1, MAX_LIST)?;
    let mut seen = HashSet::with_capacity(count);
    let mut refusals = Vec::with_capacity(count);
    for _ in 0..count {
        let doc = reader.doc_id()?;
        let reason = Refusal::from_code(reader.u8("refusal")?)?;
        unique(&mut seen, &doc, "refusals")?;
        refusals.push((doc, reason));
    }
    Ok(refusals)
}

fn unique(seen: &mut HashSet<DocId>, doc: &DocId, what: &'static str) -> Result<(), WireError> {
    if seen.insert(doc.clone()) {
        Ok(())
    } else {
        Err(WireError::DuplicateDocument {
            doc: doc.clone(),
            what,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }

    #[test]
    fn frames_round_trip_and_any_flipped_bit_is_caught() {
        let frame = Frame::Abort {
            message: "stop".into(),
        };
        let bytes = frame.encode();
        assert_eq!(Frame::decode(&bytes, DEFAULT_MAX_FRAME).unwrap(), frame);
        for at in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0x10;
            assert!(
                Frame::decode(&flipped, DEFAULT_MAX_FRAME).is_err(),
                "byte {at}"
            );
        }
    }

    #[test]
    fn the_session_of_a_request_is_read_without_decoding_it() {
        let request = Frame::Request(Round {
            session: [7; 16],
            round: 3,
            epoch: Epoch([2; 16]),
            body: Body::default(),
        });
        assert_eq!(session_of(&request.encode()), Some([7; 16]));
        assert_eq!(
            session_of(
                &Frame::Abort {
                    message: "x".into()
                }
                .encode()
            ),
            None
        );
        assert_eq!(session_of(b"MSYN"), None);
    }

    #[test]
    fn lists_of_documents_with_short_ids_decode() {
        let doc = |n: usize| DocId::new(format!("d{n}")).unwrap();
        let body = Body {
            offers: (0..6)
                .map(|n| Offer {
                    doc: doc(n),
                    kind: DocKind::Submission,
                    heads: Vec::new(),
                    changes: None,
                })
                .collect(),
            docs: (0..6)
                .map(|n| DocMessage {
                    doc: doc(n),
                    kind: DocKind::Submission,
                    payload: Payload::Full(Vec::new()),
                })
                .collect(),
            refusals: (0..6).map(|n| (doc(n), Refusal::Invalid)).collect(),
            ..Body::default()
        };
        let frame = Frame::Request(Round {
            session: [1; 16],
            round: 1,
            epoch: Epoch([3; 16]),
            body,
        });
        assert_eq!(
            Frame::decode(&frame.encode_uncompressed(), DEFAULT_MAX_FRAME).unwrap(),
            frame
        );
    }

    #[test]
    fn a_body_carries_the_signatures_of_its_changes() {
        let frame = Frame::Reply(Round {
            session: [1; 16],
            round: 2,
            epoch: Epoch([3; 16]),
            body: Body {
                signatures: vec![
                    (ChangeHash([4; 32]), [5; 64]),
                    (ChangeHash([6; 32]), [7; 64]),
                ],
                ..Body::default()
            },
        });
        for bytes in [frame.encode(), frame.encode_uncompressed()] {
            assert_eq!(Frame::decode(&bytes, DEFAULT_MAX_FRAME).unwrap(), frame);
        }
    }

    #[test]
    fn a_hello_carries_both_epochs_and_a_reply_its_senders() {
        let hello = Frame::Hello(Hello {
            session: [1; 16],
            from: PeerId::new("phone").unwrap(),
            epoch: Epoch([4; 16]),
            to: None,
            to_epoch: Some(Epoch([5; 16])),
            pull_since: 9,
            body: Body::default(),
        });
        assert_eq!(
            Frame::decode(&hello.encode(), DEFAULT_MAX_FRAME).unwrap(),
            hello
        );
        let reply = Frame::Reply(Round {
            session: [1; 16],
            round: 0,
            epoch: Epoch([5; 16]),
            body: Body::default(),
        });
        assert_eq!(
            Frame::decode(&reply.encode(), DEFAULT_MAX_FRAME).unwrap(),
            reply
        );
    }

    #[test]
    fn a_peer_of_the_previous_version_gets_an_abort_it_can_frame() {
        let abort = abort_in_version(PREVIOUS_VERSION, "update the app");
        assert_eq!(abort[4], PREVIOUS_VERSION);
        assert_eq!(
            Frame::decode(&abort, DEFAULT_MAX_FRAME),
            Err(WireError::UnsupportedVersion {
                got: PREVIOUS_VERSION,
                speaks: VERSION
            }),
            "this side no longer reads it"
        );
        let mut as_ours = abort.clone();
        as_ours[4] = VERSION;
        let checked = as_ours.len() - TRAILER_LEN;
        let checksum = crc32(&as_ours[..checked]);
        as_ours[checked..].copy_from_slice(&checksum.to_be_bytes());
        assert_eq!(
            Frame::decode(&as_ours, DEFAULT_MAX_FRAME).unwrap(),
            Frame::Abort {
                message: "update the app".into()
            }
        );
        assert_eq!(abort_in_version(9, "x")[4], VERSION);
    }

    #[test]
    fn an_oversized_frame_is_refused_from_its_header_alone() {
        let mut header = MAGIC.to_vec();
        header.extend([VERSION, TYPE_REQUEST]);
        header.extend((1u32 << 30).to_be_bytes());
        assert_eq!(
            Frame::decode(&header, 1 << 20),
            Err(WireError::FrameTooLarge {
                len: 1 << 30,
                max: 1 << 20
            })
        );
    }
}
