//! A form version's media files on the hub: read from the folder `form publish --media` names
//! (or the console's upload), and stored in the project's content store, where the attachments'
//! sync serves them to every device that may read the form (`server/sync_attachments.rs`: a
//! form vouches for the contents it references).

use crate::error::{HubError, Result};
use crate::storage::attachments::ATTACHMENT_LIMIT;
use crate::storage::{HubStorage, ReceivedChunk};
use minga_core::MediaUpload;
use minga_sync::attachments::chunk_count;
use minga_sync::wire::AttachmentRefusal;
use minga_sync::{ChunkOutcome, ContentHash, CHUNK_SIZE};
use std::path::Path;

/// Who delivered a form's media, as the content store records it: the hub itself, no device.
pub const HUB_UPLOADER: &str = "hub";

/// Every file directly in `dir` (sub-folders and hidden files left out), by name. Cost: one
/// read of every file, held whole (a form's media are lists and label images).
pub fn read_folder(dir: &Path) -> Result<Vec<MediaUpload>> {
    let entries = std::fs::read_dir(dir).map_err(|e| HubError::io(dir, e))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| HubError::io(dir, e))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if !path.is_file() || name.starts_with('.') {
            continue;
        }
        let bytes = std::fs::read(&path).map_err(|e| HubError::io(&path, e))?;
        files.push(MediaUpload { name, bytes });
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(files)
}

/// Stores `file` in `project`'s content store, a chunk at a time as sync would deliver it
/// (each chunk a transaction; the last checks the whole against its hash). A content already
/// whole is not stored again. Cost: one write of the file, one read back at the end.
pub fn store(storage: &dyn HubStorage, project: &str, file: &MediaUpload) -> Result<()> {
    let hash = ContentHash::of(&file.bytes);
    let size = file.bytes.len() as u64;
    for index in 0..chunk_count(size).max(1) {
        let start = (index as usize * CHUNK_SIZE).min(file.bytes.len());
        let end = (start + CHUNK_SIZE).min(file.bytes.len());
        let chunk = ReceivedChunk {
            hash: &hash,
            size,
            index,
            bytes: &file.bytes[start..end],
        };
        match storage.receive_attachment_chunk(project, &chunk, HUB_UPLOADER)? {
            ChunkOutcome::Whole => return Ok(()),
            ChunkOutcome::Stored { .. } => {}
            ChunkOutcome::Refused(refusal) => {
                let reason = match refusal {
                    AttachmentRefusal::TooLarge => {
                        format!("it is over the hub's limit of {ATTACHMENT_LIMIT} bytes")
                    }
                    other => format!("the content store refused it ({other:?})"),
                };
                return Err(HubError::FormMediaRefused {
                    file: file.name.clone(),
                    reason,
                });
            }
        }
    }
    Ok(())
}

/// The core's refusal of a form's media as the hub reports it.
pub fn missing(error: minga_core::Error) -> HubError {
    match error {
        minga_core::Error::FormMediaMissing {
            form_id,
            file,
            reason,
        } => HubError::FormMediaMissing {
            form: form_id,
            file,
            reason,
        },
        other => other.into(),
    }
}
