//! Attachments from the app: a photo, recording or signed consent sheet added from bytes or a
//! file (read in chunks, so a video is never held whole), its state, and its content read back
//! as bytes or into a file. The `Attachment` returned is what a file answer holds
//! (`Value.Attachment`); sync then carries the content to the hub by itself.

use crate::error::{MingaError, Result};
use crate::store::Store;
use minga_core::ContentHash;
use minga_forms::Attachment;
use std::path::Path;

/// How much of an attachment this store holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum AttachmentState {
    /// Whole, and checked against its hash: it can be read.
    Present { size: u64 },
    /// Being received by sync: `stored` of `size` bytes are here; the next sync resumes.
    Partial { stored: u64, size: u64 },
    /// Nothing of it is here (not synced yet, or never attached on any device).
    Missing,
}

impl From<minga_core::AttachmentState> for AttachmentState {
    fn from(state: minga_core::AttachmentState) -> Self {
        match state {
            minga_core::AttachmentState::Present { size } => Self::Present { size },
            minga_core::AttachmentState::Partial { stored, size } => Self::Partial { stored, size },
            minga_core::AttachmentState::Missing => Self::Missing,
        }
    }
}

/// A `sha256` from the app, or `InvalidArgument` naming it.
fn hash(sha256: &str) -> Result<ContentHash> {
    ContentHash::from_hex(sha256).map_err(|error| MingaError::InvalidArgument {
        reason: error.to_string(),
    })
}

#[uniffi::export]
impl Store {
    /// Stores `content` as an attachment and returns the reference to answer a file question
    /// with. The same content attached twice is stored once. Durable on return. Larger than
    /// the limit (default 100 MB): `InvalidArgument`, nothing stored.
    pub fn add_attachment(
        &self,
        content: Vec<u8>,
        media_type: String,
        file_name: String,
    ) -> Result<Attachment> {
        self.call(|store| Ok(store.add_attachment(&content, &media_type, &file_name)?))
    }

    /// Stores the photo `content` (JPEG or PNG) as an attachment, scaled down so that its
    /// longest side is at most `max_pixels` (a form question's `max-pixels`) and, with
    /// `strip_location`, re-encoded without its metadata (so without where it was taken); a
    /// photo needing neither is stored byte for byte. With `strip_location`, a content that
    /// is no readable photo is `InvalidArgument` and nothing is stored.
    #[uniffi::method(default(max_pixels = None, strip_location = false))]
    pub fn add_photo(
        &self,
        content: Vec<u8>,
        file_name: String,
        max_pixels: Option<u32>,
        strip_location: bool,
    ) -> Result<Attachment> {
        let options = minga_core::PhotoOptions {
            max_pixels,
            strip_location,
        };
        self.call(|store| Ok(store.add_photo(&content, &file_name, &options)?))
    }

    /// Stores the file at `path` as an attachment, read in chunks, named by the file's own
    /// name. Durable on return.
    pub fn add_attachment_file(&self, path: String, media_type: String) -> Result<Attachment> {
        self.call(|store| Ok(store.add_attachment_file(Path::new(&path), &media_type)?))
    }

    /// How much of the attachment `sha256` this store holds.
    pub fn attachment_state(&self, sha256: String) -> Result<AttachmentState> {
        let hash = hash(&sha256)?;
        self.call(|store| Ok(store.attachment_state(&hash)?.into()))
    }

    /// The attachment's whole content (for small ones; `save_attachment` for the rest).
    /// `NotFound` unless it is whole here.
    pub fn read_attachment(&self, sha256: String) -> Result<Vec<u8>> {
        let hash = hash(&sha256)?;
        self.call(|store| Ok(store.read_attachment(&hash)?))
    }

    /// Writes the attachment into a new file at `path`, chunk by chunk; returns its size.
    /// `NotFound` unless it is whole here.
    pub fn save_attachment(&self, sha256: String, path: String) -> Result<u64> {
        let hash = hash(&sha256)?;
        self.call(|store| Ok(store.save_attachment(&hash, Path::new(&path))?))
    }

    /// Sets the largest attachment this store takes, in bytes, until it is closed.
    pub fn set_attachment_limit(&self, bytes: u64) -> Result<()> {
        self.call(|store| {
            store.set_attachment_limit(bytes);
            Ok(())
        })
    }
}
