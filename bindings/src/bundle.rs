//! Sync bundles: a file that carries what a peer lacks (or everything) on a USB stick or
//! through a messaging app, with the photos, recordings and signatures its submissions answer,
//! encrypted to the recipient's key (age X25519) so that a lost stick reveals nothing. The
//! receiving store imports it like changes arriving by sync. The `_file` calls stream the
//! bundle to and from a file, never holding an attachment whole in memory.

use crate::error::{MingaError, Result};
use crate::store::Store;
use crate::sync::{peer_id, SyncReport};
use age::secrecy::ExposeSecret;
use minga_sync::bundle::{self, BundleError, BundleIdentity, BundleRecipient, BundleScope};
use minga_sync::AllowAll;
use std::fs::File;
use std::io::BufWriter;
use std::sync::Arc;

/// What a bundle carries.
#[uniffi::remote(Enum)]
pub enum BundleScope {
    /// What the recipient lacks, as far as this store knows from their last sync.
    Missing,
    /// Every document, whole.
    Everything,
}

/// A device's bundle key pair. Give `public_key` (`age1…`) to the peers that write bundles for
/// this device; keep `secret_key` (`AGE-SECRET-KEY-1…`) in the platform's keystore.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct BundleKeys {
    pub public_key: String,
    pub secret_key: String,
}

/// A new random key pair for receiving bundles.
#[uniffi::export]
pub fn generate_bundle_keys() -> BundleKeys {
    let identity = BundleIdentity::generate();
    BundleKeys {
        public_key: identity.to_public().to_string(),
        secret_key: identity.to_string().expose_secret().to_string(),
    }
}

#[uniffi::export]
impl Store {
    /// A bundle of this store's documents for peer `peer` (its device id), with the
    /// attachments they reference that are whole here, readable only with the secret key of
    /// `public_key`. Nothing is marked as sent: the peer's next sync still settles what it
    /// already has. The bytes hold every attachment carried: for large ones, `write_bundle_file`.
    pub fn write_bundle(
        &self,
        peer: String,
        public_key: String,
        scope: BundleScope,
    ) -> Result<Vec<u8>> {
        let (to, recipient) = addressee(&peer, &public_key)?;
        self.call(|store| {
            let local = peer_id(&store.identity().device_id)?;
            bundle::write_bundle(store, &local, &to, &recipient, scope, &AllowAll)
                .map_err(from_bundle_error)
        })
    }

    /// Writes the bundle `write_bundle` would return into a new file at `path` (replacing one
    /// there), an attachment's chunk at a time, and flushes it to disk. The report counts the
    /// documents (`sent`), attachments and bytes written. A failed write removes the file.
    /// Cost: the documents in memory, one chunk of an attachment at a time.
    pub fn write_bundle_file(
        &self,
        peer: String,
        public_key: String,
        scope: BundleScope,
        path: String,
    ) -> Result<SyncReport> {
        let (to, recipient) = addressee(&peer, &public_key)?;
        self.call(|store| {
            let local = peer_id(&store.identity().device_id)?;
            let written = (|| {
                let mut file = BufWriter::new(File::create(&path).map_err(BundleError::Io)?);
                let report = bundle::write_bundle_to(
                    store, &local, &to, &recipient, scope, &AllowAll, &mut file,
                )?;
                let file = file
                    .into_inner()
                    .map_err(|error| BundleError::Io(error.into_error()))?;
                file.sync_all().map_err(BundleError::Io)?;
                Ok(report)
            })();
            if written.is_err() {
                let _ = std::fs::remove_file(&path); // best effort: the error says what failed
            }
            written
                .map(Into::into)
                .map_err(|error| from_bundle_file_error(error, &path))
        })
    }

    /// Imports a bundle written for this store's device id, decrypting it with `secret_key`:
    /// every document in one commit (observers hear of them as synced), importing twice is
    /// harmless. A file that is not a bundle, is damaged or is for someone else is
    /// `InvalidArgument`, and nothing is imported.
    ///
    /// The attachments it carries that its submissions reference are stored, each checked
    /// against its hash: one that does not match, or is larger than the limit
    /// (`set_attachment_limit`), is not kept, and the rest still lands
    /// (`attachments_received` counts those that became whole here).
    pub fn import_bundle(&self, secret_key: String, bundle: Vec<u8>) -> Result<SyncReport> {
        let identity = bundle_identity(&secret_key)?;
        self.call(|store| {
            let local = peer_id(&store.identity().device_id)?;
            bundle::import_bundle(store, &local, &identity, &bundle, Arc::new(AllowAll))
                .map(Into::into)
                .map_err(from_bundle_error)
        })
    }

    /// Imports the bundle file at `path` as `import_bundle` does, read as it is decrypted (an
    /// attachment is never held whole in memory). A file that cannot be read is `Storage`.
    pub fn import_bundle_file(&self, secret_key: String, path: String) -> Result<SyncReport> {
        let identity = bundle_identity(&secret_key)?;
        self.call(|store| {
            let local = peer_id(&store.identity().device_id)?;
            let file = File::open(&path)
                .map_err(|error| from_bundle_file_error(BundleError::Io(error), &path))?;
            bundle::import_bundle_from(store, &local, &identity, file, Arc::new(AllowAll))
                .map(Into::into)
                .map_err(|error| from_bundle_file_error(error, &path))
        })
    }
}

/// The peer a bundle is for and the key it is encrypted to, both checked.
fn addressee(peer: &str, public_key: &str) -> Result<(minga_sync::PeerId, BundleRecipient)> {
    let to = peer_id(peer)?;
    let recipient: BundleRecipient = public_key.parse().map_err(|error| {
        MingaError::invalid_argument(format!("bundle public key {public_key:?}: {error}"))
    })?;
    Ok((to, recipient))
}

fn bundle_identity(secret_key: &str) -> Result<BundleIdentity> {
    secret_key
        .parse()
        .map_err(|error| MingaError::invalid_argument(format!("bundle secret key: {error}")))
}

fn from_bundle_error(error: BundleError) -> MingaError {
    let reason = error.to_string();
    match error {
        BundleError::Store(_) | BundleError::Io(_) | BundleError::AttachmentVanished { .. } => {
            MingaError::Storage { reason }
        }
        BundleError::Encrypt(_) => MingaError::Internal { reason },
        _ => MingaError::InvalidArgument { reason },
    }
}

/// As [`from_bundle_error`], naming the file when reading or writing it failed.
fn from_bundle_file_error(error: BundleError, path: &str) -> MingaError {
    match error {
        BundleError::Io(source) => MingaError::Storage {
            reason: format!("bundle file {path}: {source}"),
        },
        other => from_bundle_error(other),
    }
}
