//! What the unit tests of this crate share: opening a throwaway store.

use crate::document::DeviceIdentity;
use crate::store::{Encryption, Store};

/// An unencrypted store in the file `file` of `dir`, written by `device` for `user`.
pub(crate) fn plain_store(dir: &tempfile::TempDir, file: &str, device: &str, user: &str) -> Store {
    Store::open(
        dir.path().join(file),
        Encryption::PlainFile,
        DeviceIdentity::new(device, user),
    )
    .expect("a new store opens in a fresh temporary folder")
}
