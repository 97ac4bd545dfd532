//! Document ids and kinds: what names a stored document, in the store's form (16 bytes of a
//! UUID) and in sync's (its canonical text).

use crate::error::{Error, Result};
use std::fmt;
use std::str::FromStr;

/// A stored document's id: a UUID v7, so ids sort by creation time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocId(uuid::Uuid);

impl DocId {
    pub(crate) fn new_v7() -> Self {
        Self(uuid::Uuid::now_v7())
    }

    pub(crate) fn from_uuid(id: uuid::Uuid) -> Self {
        Self(id)
    }

    pub(crate) fn as_uuid(&self) -> uuid::Uuid {
        self.0
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes().as_slice()
    }

    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Self> {
        uuid::Uuid::from_slice(bytes)
            .map(Self)
            .map_err(|_| Error::Corrupt {
                detail: "a stored document id is not 16 bytes".into(),
            })
    }
}

impl fmt::Display for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for DocId {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self> {
        uuid::Uuid::parse_str(text)
            .map(Self)
            .map_err(|_| Error::InvalidArgument(format!("{text:?} is not a document id (a UUID)")))
    }
}

/// What a stored document is: sync's own [`minga_sync::DocKind`], so that the store and the
/// protocol never translate kinds. Stored in `documents.kind` as [`DocKind::code`], read back
/// with [`DocKind::from_code`] (an unknown number is [`Error::Corrupt`]).
pub use minga_sync::DocKind;

impl From<DocId> for minga_sync::DocId {
    /// The canonical (hyphenated, lower-case) text of the UUID, which sync sends as 16 bytes.
    fn from(id: DocId) -> Self {
        minga_sync::DocId::from(id.0)
    }
}

impl TryFrom<&minga_sync::DocId> for DocId {
    type Error = Error;

    /// Only canonical UUID text maps back: another spelling of the same UUID would be a second
    /// sync id for one stored document.
    fn try_from(id: &minga_sync::DocId) -> Result<Self> {
        let parsed: DocId = id.as_str().parse()?;
        if parsed.to_string() != id.as_str() {
            return Err(Error::InvalidArgument(format!(
                "{:?} is not a canonical document id (lower-case hyphenated UUID)",
                id.as_str()
            )));
        }
        Ok(parsed)
    }
}
