//! Sync bundles: a file that carries what a peer lacks (or everything) on a USB stick or
//! through a messaging app, encrypted to the recipient's key (age X25519) so that a lost stick
//! reveals nothing. The receiving store imports it like changes arriving by sync.

use crate::error::{MingaError, Result};
use crate::store::Store;
use crate::sync::{peer_id, SyncReport};
use age::secrecy::ExposeSecret;
use minga_sync::bundle::{self, BundleError, BundleIdentity, BundleRecipient, BundleScope};
use minga_sync::AllowAll;
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
    /// A bundle of this store's documents for peer `peer` (its device id), readable only with
    /// the secret key of `public_key`. Nothing is marked as sent: the peer's next sync still
    /// settles what it already has.
    pub fn write_bundle(
        &self,
        peer: String,
        public_key: String,
        scope: BundleScope,
    ) -> Result<Vec<u8>> {
        let to = peer_id(&peer)?;
        let recipient: BundleRecipient = public_key.parse().map_err(|error| {
            MingaError::invalid_argument(format!("bundle public key {public_key:?}: {error}"))
        })?;
        self.call(|store| {
            let local = peer_id(&store.identity().device_id)?;
            bundle::write_bundle(store, &local, &to, &recipient, scope, &AllowAll)
                .map_err(from_bundle_error)
        })
    }

    /// Imports a bundle written for this store's device id, decrypting it with `secret_key`:
    /// every document in one commit (observers hear of them as synced), importing twice is
    /// harmless. A file that is not a bundle, is damaged or is for someone else is
    /// `InvalidArgument`, and nothing is imported.
    pub fn import_bundle(&self, secret_key: String, bundle: Vec<u8>) -> Result<SyncReport> {
        let identity: BundleIdentity = secret_key
            .parse()
            .map_err(|error| MingaError::invalid_argument(format!("bundle secret key: {error}")))?;
        self.call(|store| {
            let local = peer_id(&store.identity().device_id)?;
            bundle::import_bundle(store, &local, &identity, &bundle, Arc::new(AllowAll))
                .map(Into::into)
                .map_err(from_bundle_error)
        })
    }
}

fn from_bundle_error(error: BundleError) -> MingaError {
    let reason = error.to_string();
    match error {
        BundleError::Store(_) => MingaError::Storage { reason },
        BundleError::Encrypt(_) => MingaError::Internal { reason },
        _ => MingaError::InvalidArgument { reason },
    }
}
