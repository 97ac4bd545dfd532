//! Identifiers that sync speaks in: documents, their kinds, peers and sequence numbers.

use std::fmt;

/// A document or peer id that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("id is empty")]
    Empty,
    #[error("id of {len} bytes is longer than the limit of 128")]
    TooLong { len: usize },
    #[error("id is not valid UTF-8")]
    NotUtf8,
    #[error("{0:?} is not a store epoch (a UUID)")]
    NotAnEpoch(String),
}

/// A store's sequence number: bumped on every local or received change, so "what changed since
/// N" is an index scan.
pub type Seq = u64;

/// The longest document or peer id accepted, in UTF-8 bytes.
pub const MAX_ID_LEN: usize = 128;

/// A document's id: any non-empty UTF-8 string of at most [`MAX_ID_LEN`] bytes. Ids that are
/// canonical (lower-case, hyphenated) UUIDs travel as 16 bytes on the wire.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocId(String);

impl DocId {
    /// Checks the id's length; see [`MAX_ID_LEN`].
    pub fn new(id: impl Into<String>) -> Result<Self, IdError> {
        let id = id.into();
        check_id_len(&id)?;
        Ok(Self(id))
    }

    /// A fresh random (v4) UUID id.
    pub fn random() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<uuid::Uuid> for DocId {
    fn from(id: uuid::Uuid) -> Self {
        Self(id.to_string())
    }
}

impl fmt::Display for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A peer's id (a device or a hub), as the caller names it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(String);

impl PeerId {
    /// Checks the id's length; see [`MAX_ID_LEN`].
    pub fn new(id: impl Into<String>) -> Result<Self, IdError> {
        let id = id.into();
        check_id_len(&id)?;
        Ok(Self(id))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn check_id_len(id: &str) -> Result<(), IdError> {
    if id.is_empty() {
        return Err(IdError::Empty);
    }
    if id.len() > MAX_ID_LEN {
        return Err(IdError::TooLong { len: id.len() });
    }
    Ok(())
}

/// A store's incarnation: random, made with the store, and made anew when the store's history is
/// replaced (a hub restored from a backup). What one store knows about a peer (its cursor, the
/// heads it shares) holds only for the peer's epoch it was learnt from: when the peer names
/// another epoch, that knowledge is dropped and the two compare heads from the start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Epoch(pub [u8; 16]);

impl Epoch {
    /// A fresh random epoch.
    pub fn random() -> Self {
        Self(*uuid::Uuid::new_v4().as_bytes())
    }
}

/// Written as a hyphenated UUID, which is how stores keep it.
impl fmt::Display for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        uuid::Uuid::from_bytes(self.0).fmt(f)
    }
}

impl std::str::FromStr for Epoch {
    type Err = IdError;

    fn from_str(text: &str) -> Result<Self, IdError> {
        uuid::Uuid::parse_str(text)
            .map(|id| Self(*id.as_bytes()))
            .map_err(|_| IdError::NotAnEpoch(text.chars().take(64).collect()))
    }
}

/// What a document is; the policy decides access by it, and a document never changes kind.
/// The one kind type of every crate: its number ([`DocKind::code`]) is the byte on the wire and
/// the column that stores keep, its name ([`DocKind::as_str`]) is what people and JSON read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
pub enum DocKind {
    Submission,
    Form,
    Review,
}

/// A stored or sent kind that names no [`DocKind`]: the store or peer that wrote it is newer
/// than this build, or its data is damaged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnknownKind {
    #[error("unknown document kind number {0}")]
    Code(i64),
    #[error("{0:?} is not a document kind")]
    Name(String),
}

impl DocKind {
    /// Every kind, in code order.
    pub const ALL: [DocKind; 3] = [DocKind::Submission, DocKind::Form, DocKind::Review];

    /// The kind's number: its byte on the wire and its value in a store's `kind` column.
    pub fn code(self) -> u8 {
        match self {
            DocKind::Submission => 1,
            DocKind::Form => 2,
            DocKind::Review => 3,
        }
    }

    /// The kind whose [`DocKind::code`] is `code` (a wire byte or a stored integer).
    pub fn from_code(code: impl Into<i64>) -> Result<Self, UnknownKind> {
        let code = code.into();
        Self::ALL
            .into_iter()
            .find(|kind| i64::from(kind.code()) == code)
            .ok_or(UnknownKind::Code(code))
    }

    /// The kind's name, in lower case: `submission`, `form` or `review`.
    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Submission => "submission",
            DocKind::Form => "form",
            DocKind::Review => "review",
        }
    }
}

impl fmt::Display for DocKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Reads a name written by [`DocKind::as_str`].
impl std::str::FromStr for DocKind {
    type Err = UnknownKind;

    fn from_str(text: &str) -> Result<Self, UnknownKind> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| UnknownKind::Name(text.chars().take(64).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_refuse_empty_and_overlong() {
        assert!(matches!(DocId::new(""), Err(IdError::Empty)));
        assert!(matches!(
            PeerId::new("x".repeat(MAX_ID_LEN + 1)),
            Err(IdError::TooLong { len: 129 })
        ));
        assert_eq!(DocId::new("form:a@3").unwrap().as_str(), "form:a@3");
    }

    #[test]
    fn epochs_round_trip_through_their_text() {
        let epoch = Epoch::random();
        assert_eq!(epoch.to_string().parse::<Epoch>().unwrap(), epoch);
        assert_ne!(Epoch::random(), epoch);
        assert!(matches!(
            "hub-1".parse::<Epoch>(),
            Err(IdError::NotAnEpoch(_))
        ));
    }

    #[test]
    fn kind_codes_and_names_round_trip() {
        for kind in DocKind::ALL {
            assert_eq!(DocKind::from_code(kind.code()), Ok(kind));
            assert_eq!(DocKind::from_code(i64::from(kind.code())), Ok(kind));
            assert_eq!(kind.as_str().parse::<DocKind>(), Ok(kind));
            assert_eq!(kind.to_string(), kind.as_str());
        }
        assert_eq!(DocKind::from_code(0u8), Err(UnknownKind::Code(0)));
        assert_eq!(DocKind::from_code(257i64), Err(UnknownKind::Code(257)));
        assert_eq!(
            "Form".parse::<DocKind>(),
            Err(UnknownKind::Name("Form".into()))
        );
    }

    #[cfg(feature = "serde")]
    #[test]
    fn kinds_serialise_as_their_names() {
        for kind in DocKind::ALL {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            assert_eq!(serde_json::from_str::<DocKind>(&json).unwrap(), kind);
        }
    }
}
