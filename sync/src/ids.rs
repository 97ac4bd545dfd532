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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DocKind {
    Submission,
    Form,
    Review,
}

impl DocKind {
    /// The kind's byte on the wire.
    pub fn code(self) -> u8 {
        match self {
            DocKind::Submission => 1,
            DocKind::Form => 2,
            DocKind::Review => 3,
        }
    }

    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(DocKind::Submission),
            2 => Some(DocKind::Form),
            3 => Some(DocKind::Review),
            _ => None,
        }
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
    fn kind_codes_round_trip() {
        for kind in [DocKind::Submission, DocKind::Form, DocKind::Review] {
            assert_eq!(DocKind::from_code(kind.code()), Some(kind));
        }
        assert_eq!(DocKind::from_code(0), None);
    }
}
