//! The typed errors of sync: bad ids, bad bytes on the wire, protocol violations, store and
//! transport failures, and bundle problems.

pub use crate::ids::IdError;
use crate::ids::{DocId, Epoch};

/// Bytes that do not decode as a sync frame. Decoding never panics and never allocates more than
/// the frame it was given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("not a Minga sync frame (bad magic bytes)")]
    BadMagic,
    #[error("unsupported protocol version {got} (this side speaks {speaks})")]
    UnsupportedVersion { got: u8, speaks: u8 },
    #[error("unknown message type {0:#04x}")]
    UnknownMessageType(u8),
    #[error("frame of {len} bytes is over the limit of {max}")]
    FrameTooLarge { len: u64, max: u64 },
    #[error("checksum mismatch: the frame was altered in transit")]
    Checksum,
    #[error("truncated while reading {what}")]
    Truncated { what: &'static str },
    #[error("{0} unexpected bytes after the end of the frame")]
    TrailingBytes(usize),
    #[error("malformed varint in {what}")]
    BadVarint { what: &'static str },
    #[error("{what}: {count} is over the limit of {max}")]
    TooMany {
        what: &'static str,
        count: u64,
        max: u64,
    },
    #[error("invalid id: {0}")]
    BadId(#[from] IdError),
    #[error("unknown id encoding {0}")]
    UnknownIdEncoding(u8),
    #[error("document {doc}: unknown kind code {code}")]
    UnknownKind { doc: DocId, code: u8 },
    #[error("document {doc}: unknown payload type {code}")]
    UnknownPayload { doc: DocId, code: u8 },
    #[error("document {doc}: malformed automerge sync message: {reason}")]
    BadSyncMessage { doc: DocId, reason: String },
    #[error("unknown compression {0}")]
    UnknownCompression(u8),
    #[error("compressed body does not inflate: {reason}")]
    BadCompression { reason: String },
    #[error("unknown answer code {0}")]
    UnknownAnswer(u8),
    #[error("unknown refusal reason {0}")]
    UnknownReason(u8),
    #[error("document {doc} appears twice in one {what} list")]
    DuplicateDocument { doc: DocId, what: &'static str },
    #[error("attachment {hash} appears twice in one {what} list")]
    DuplicateAttachment { hash: String, what: &'static str },
}

/// A failure of the document store, whatever its engine; carries the store's own error.
#[derive(Debug, thiserror::Error)]
#[error("document store: {0}")]
pub struct StoreError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

impl StoreError {
    pub fn new(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self(error.into())
    }
}

/// A transport could not carry a request or its reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("transport: {message}")]
pub struct TransportError {
    pub message: String,
    /// Whether sending the same request again may succeed (a timeout, a dropped connection).
    pub retryable: bool,
    /// The responder refused this device for good and told it to wipe its local copy (the
    /// hub answers a revoked device's token with HTTP 410 and `"wipe": true`).
    pub revoked: bool,
    /// The responder's storage is full (the hub answers HTTP 507): nothing this device sent in
    /// the failed exchange was stored, and it keeps its copy. Not the device's network: retrying
    /// helps only once the hub's administrator has freed space.
    pub hub_storage_full: bool,
}

impl TransportError {
    pub fn retryable(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retryable: true,
            revoked: false,
            hub_storage_full: false,
        }
    }

    pub fn fatal(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retryable: false,
            revoked: false,
            hub_storage_full: false,
        }
    }

    /// This device may no longer sync with the responder and must wipe its local copy.
    pub fn revoked(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retryable: false,
            revoked: true,
            hub_storage_full: false,
        }
    }

    /// The responder's storage is full: nothing sent was stored; sync again once it has room.
    pub fn hub_storage_full(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retryable: false,
            revoked: false,
            hub_storage_full: true,
        }
    }
}

/// Why a sync session failed. Everything committed before the failure stays committed, and the
/// next session resumes from there.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Wire(#[from] WireError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("expected a {expected} message, got {found}")]
    UnexpectedMessage {
        expected: &'static str,
        found: &'static str,
    },
    #[error("message belongs to another session")]
    WrongSession,
    #[error("expected round {expected}, got round {found}")]
    WrongRound { expected: u64, found: u64 },
    #[error("hello is addressed to peer {addressed}, this is {local}")]
    WrongPeer { addressed: String, local: String },
    #[error("document {doc} is not part of this session")]
    UnexpectedDocument { doc: DocId },
    #[error("attachment {hash} was neither asked for nor sent in this session")]
    UnexpectedAttachment { hash: String },
    #[error("{found} answers for {expected} offers")]
    AnswerCountMismatch { expected: usize, found: usize },
    #[error("the session is already finished")]
    Finished,
    #[error("the peer aborted the session: {message}")]
    RemoteAbort { message: String },
    #[error("the peer's store changed in the middle of the session (epoch {started} became {now}); sync again")]
    EpochChanged { started: Epoch, now: Epoch },
    #[error("gave up after {rounds} rounds without finishing")]
    TooManyRounds { rounds: u64 },
}
