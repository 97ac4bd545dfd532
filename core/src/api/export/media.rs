//! The `media/` folder of a CSV export: every attachment the exported submissions answer,
//! written once under a name that cannot collide or escape the folder (the first 12 hex digits
//! of its hash, a dash, and the device's file name with every character a file system could
//! read as a path, or that is not plain, replaced), which the CSV cell names. An attachment
//! the exporter does not hold whole is reported, never silently left out.

use super::ExportSubmission;
use crate::error::{Error, Result};
use crate::store::Store;
use minga_forms::{Answer, Answers, Attachment, Value};
use minga_sync::ContentHash;
use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

/// The folder beside the CSV files that holds the attachments.
pub const MEDIA_FOLDER: &str = "media";

/// Longest file name part kept from the device's name, in characters.
const NAME_LIMIT: usize = 80;

/// Where an export reads attachment contents from.
pub trait MediaSource {
    /// Writes the content `hash` to a new file at `path`; `false` (and no file) when the
    /// content is not whole here.
    fn write_to(&self, hash: &ContentHash, path: &Path) -> Result<bool>;
}

impl MediaSource for Store {
    /// Cost: one pass over the content, a chunk in memory.
    fn write_to(&self, hash: &ContentHash, path: &Path) -> Result<bool> {
        match self.save_attachment(hash, path) {
            Ok(_) => Ok(true),
            Err(Error::AttachmentNotPresent { .. }) => Ok(false),
            Err(error) => Err(error),
        }
    }
}

/// An attachment answered in an exported submission that the exporter does not hold whole.
#[derive(Debug, Clone, PartialEq)]
pub struct MissingMedia {
    /// The submission's id.
    pub submission: String,
    /// Where the answer is (`household[2]/photo`, counted from 1 as ODK does).
    pub field: String,
    /// The attachment's hash as the answer holds it, and the file name the CSV gives it.
    pub sha256: String,
    pub file: String,
}

impl fmt::Display for MissingMedia {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: attachment {} ({}) is not here; its file is missing from {MEDIA_FOLDER}/",
            self.submission, self.field, self.sha256, self.file
        )
    }
}

/// The name `file` has in the `media/` folder and in the CSV: the hash's first 12 hex digits,
/// a dash, and the device's file name made safe (its last path part only; characters other
/// than ASCII letters, digits, `.`, `-` and `_` become `_`; no leading dot; at most 80
/// characters), so that two devices' `photo.jpg` never collide and `../x` stays inside.
pub fn media_file_name(file: &Attachment) -> String {
    let prefix: String = file.sha256.chars().take(12).collect();
    let last = file
        .file_name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default();
    let safe: String = last
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(NAME_LIMIT)
        .collect();
    let safe = safe.trim_start_matches('.');
    let safe = if safe.is_empty() { "file" } else { safe };
    let prefix = prefix.replace(|c: char| !c.is_ascii_hexdigit(), "_");
    format!("{prefix}-{safe}")
}

/// Writes every attachment `submissions` answer into `out_dir/media/` (each file once), and
/// returns the files written and the attachments `source` lacks. Cost: one pass over each
/// content written.
pub fn write_media(
    submissions: &[ExportSubmission],
    source: &dyn MediaSource,
    out_dir: &Path,
) -> Result<(Vec<PathBuf>, Vec<MissingMedia>)> {
    let folder = out_dir.join(MEDIA_FOLDER);
    let mut answered = Vec::new();
    for submission in submissions {
        collect(&submission.id, &submission.answers, "", &mut answered);
    }
    let mut written = Vec::new();
    let mut missing = Vec::new();
    let mut done = BTreeSet::new();
    for (submission, field, file) in answered {
        let name = media_file_name(&file);
        if done.contains(&name) {
            continue;
        }
        let present = match ContentHash::from_hex(&file.sha256) {
            Ok(hash) => {
                std::fs::create_dir_all(&folder).map_err(|source| Error::Io {
                    path: folder.clone(),
                    source,
                })?;
                source.write_to(&hash, &folder.join(&name))?
            }
            Err(_) => false,
        };
        if present {
            written.push(folder.join(&name));
            done.insert(name);
        } else {
            missing.push(MissingMedia {
                submission,
                field,
                sha256: file.sha256,
                file: name,
            });
        }
    }
    Ok((written, missing))
}

/// Every attachment answer with its submission and place, repeats included.
fn collect(
    submission: &str,
    answers: &Answers,
    prefix: &str,
    out: &mut Vec<(String, String, Attachment)>,
) {
    for (name, answer) in &answers.fields {
        match answer {
            Answer::Value(Value::Attachment(file)) => out.push((
                submission.to_owned(),
                format!("{prefix}{name}"),
                file.clone(),
            )),
            Answer::Value(_) => {}
            Answer::Repeat(instances) => {
                for (n, instance) in instances.iter().enumerate() {
                    let prefix = format!("{prefix}{name}[{}]/", n + 1);
                    collect(submission, &instance.answers, &prefix, out);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(file_name: &str) -> String {
        media_file_name(&Attachment {
            sha256: "0123456789abcdef".repeat(4),
            media_type: "image/jpeg".into(),
            file_name: file_name.into(),
        })
    }

    #[test]
    fn a_media_name_is_the_hash_prefix_and_the_device_name_made_safe() {
        assert_eq!(named("street.jpg"), "0123456789ab-street.jpg");
        assert_eq!(named("../../etc/passwd"), "0123456789ab-passwd");
        assert_eq!(named("C:\\fotos\\casa 1.jpg"), "0123456789ab-casa_1.jpg");
        assert_eq!(named("..."), "0123456789ab-file");
        assert_eq!(named(""), "0123456789ab-file");
        assert_eq!(named(".hidden"), "0123456789ab-hidden");
        assert_eq!(named("señal\u{0}.jpg"), "0123456789ab-se_al_.jpg");
        assert_eq!(named(&"a".repeat(300)).len(), 13 + NAME_LIMIT);
    }
}
