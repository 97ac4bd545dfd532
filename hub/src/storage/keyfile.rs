//! The hub database's key: 32 random bytes kept as hex in a key file that only the hub's user may
//! read, created the first time a hub opens a database without one.

use crate::error::{HubError, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The suffix of the default key file, beside the database (`hub.sqlite3.key`).
const KEY_SUFFIX: &str = ".key";

/// A SQLCipher raw key (no passphrase derivation, so opening stays fast).
#[derive(Clone)]
pub struct HubKey([u8; 32]);

impl std::fmt::Debug for HubKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HubKey(..)")
    }
}

impl HubKey {
    /// The key as SQLCipher reads a raw key: `x'<64 hex digits>'`.
    pub fn sqlcipher_literal(&self) -> String {
        minga_core::sqlcipher::key_literal(&self.0)
    }

    /// The 32 raw bytes, as `minga_core::sqlcipher::connect` takes them.
    pub fn raw(&self) -> &[u8; 32] {
        &self.0
    }

    /// Reads the key in `path`; a missing file is an error naming it, and so is one that other
    /// users may read or change (its mode has group or other bits).
    pub fn load(path: &Path) -> Result<HubKey> {
        let mut file = std::fs::File::open(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => key_file_error(
                path,
                "missing; the hub database is encrypted with the key this file held (restore it, \
                 or name it with --key-file or MINGA_HUB_KEY_FILE)",
            ),
            _ => HubError::io(path, e),
        })?;
        // The mode of the file opened, not of the path looked at before: nothing can swap it.
        refuse_unless_private(path, &file)?;
        let mut text = String::new();
        std::io::Read::read_to_string(&mut file, &mut text).map_err(|e| HubError::io(path, e))?;
        let bytes = hex::decode(text.trim())
            .map_err(|e| key_file_error(path, &format!("not 64 hex digits: {e}")))?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|bytes: Vec<u8>| {
            key_file_error(
                path,
                &format!(
                    "holds {} bytes; a hub key is 32 (64 hex digits)",
                    bytes.len()
                ),
            )
        })?;
        Ok(HubKey(bytes))
    }

    /// Reads the key in `path`, or creates the file (mode 0600) with a fresh random key.
    pub fn load_or_create(path: &Path) -> Result<HubKey> {
        if path.exists() {
            return HubKey::load(path);
        }
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| key_file_error(path, &format!("no randomness for a new key: {e}")))?;
        match write_new_key_file(path, &bytes) {
            Ok(()) => Ok(HubKey(bytes)),
            // Another process created it first: use its key.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => HubKey::load(path),
            Err(e) => Err(HubError::io(path, e)),
        }
    }
}

/// The key file used when none is named: beside the database, `<database>.key`.
pub fn default_key_file(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(KEY_SUFFIX);
    PathBuf::from(name)
}

/// Refuses a key file whose mode lets group or others read or write it: whoever reads the key
/// reads the whole database, and whoever writes it can make the hub lose it.
#[cfg(unix)]
fn refuse_unless_private(path: &Path, file: &std::fs::File) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = file
        .metadata()
        .map_err(|e| HubError::io(path, e))?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        return Err(HubError::KeyFileNotPrivate {
            path: path.display().to_string(),
            mode,
        });
    }
    Ok(())
}

/// Other systems have no group and other bits to check.
#[cfg(not(unix))]
fn refuse_unless_private(_path: &Path, _file: &std::fs::File) -> Result<()> {
    Ok(())
}

fn key_file_error(path: &Path, reason: &str) -> HubError {
    HubError::KeyFile {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

/// Creates `path` (failing if it exists), readable by its owner only, with the key already in
/// it: the key is written and synced to a private temporary file first, which is then linked
/// to `path` in one step, so another process never reads a created but still empty key file.
fn write_new_key_file(path: &Path, key: &[u8; 32]) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let mut tag = [0u8; 8];
    getrandom::fill(&mut tag).map_err(|e| std::io::Error::other(e.to_string()))?;
    let mut draft_name = path.as_os_str().to_owned();
    draft_name.push(format!(".new-{}", hex::encode(tag)));
    let draft = PathBuf::from(draft_name);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&draft).and_then(|mut file| {
        writeln!(file, "{}", hex::encode(key))?;
        file.sync_all()
    });
    let linked = written.and_then(|()| std::fs::hard_link(&draft, path));
    let _ = std::fs::remove_file(&draft);
    linked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_key_file_is_private_and_read_back_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/hub.key");
        let created = HubKey::load_or_create(&path).unwrap();
        let again = HubKey::load_or_create(&path).unwrap();
        assert_eq!(created.sqlcipher_literal(), again.sqlcipher_literal());
        assert_eq!(created.sqlcipher_literal().len(), 3 + 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
        }
        let other = HubKey::load_or_create(&dir.path().join("other.key")).unwrap();
        assert_ne!(created.sqlcipher_literal(), other.sqlcipher_literal());
    }

    /// A file holding `text`, readable by its owner only.
    fn private_file(path: &Path, text: &str) {
        std::fs::write(path, text).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_others_may_read_or_change_is_refused_with_the_fix() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.key");
        let key = HubKey::load_or_create(&path).unwrap();
        for mode in [0o644, 0o666, 0o640, 0o604] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            match HubKey::load_or_create(&path) {
                Err(error @ HubError::KeyFileNotPrivate { .. }) => {
                    let message = error.to_string();
                    let fix = format!("chmod 600 {}", path.display());
                    assert!(message.contains(&fix), "{message}");
                    assert!(message.contains(&format!("mode {mode:03o}")), "{message}");
                }
                other => panic!("mode {mode:o}: {other:?}"),
            }
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        let read = HubKey::load(&path).unwrap();
        assert_eq!(read.sqlcipher_literal(), key.sqlcipher_literal());
    }

    #[test]
    fn a_missing_or_malformed_key_file_is_named_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("absent.key");
        let short = dir.path().join("short.key");
        private_file(&short, "00ff\n");
        for (path, expected) in [(&missing, "missing"), (&short, "holds 2 bytes")] {
            match HubKey::load(path) {
                Err(HubError::KeyFile {
                    path: named,
                    reason,
                }) => {
                    assert_eq!(named, path.display().to_string());
                    assert!(reason.contains(expected), "{reason}");
                }
                other => panic!("{}: {other:?}", path.display()),
            }
        }
    }
}
