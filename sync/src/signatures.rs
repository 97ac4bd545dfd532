//! Signed changes: every change a store makes is signed with its device's Ed25519 key (a
//! signature over the change hash), and every receiver verifies what it takes in.
//!
//! An actor that signs is *keyed*: its automerge actor id is the device's 32-byte public key
//! followed by an 8-byte tag (one actor per user of a shared device), so any receiver finds the
//! key a change must be signed with in the change itself, with no directory to consult. A
//! change by a keyed actor is accepted only with a signature that verifies under that key: a
//! missing signature, one made by another key, or one moved from another change is refused.
//! Actors of any other length are *unkeyed*: the deterministic first changes of reviews and
//! form versions (whose actor is the document's id) and changes made before signing existed.
//! They carry no signature and are taken as they were before (ARCHITECTURE.md, "Signed
//! changes", says why and what that leaves open).

use std::collections::HashMap;
use std::fmt;

use automerge::{ActorId, Automerge, ChangeHash};
use ed25519_dalek::{Signer, Verifier};

/// Bytes of an Ed25519 public key.
pub const PUBLIC_KEY_LEN: usize = 32;
/// Bytes of the tag after the key in a keyed actor id.
pub const ACTOR_TAG_LEN: usize = 8;
/// Bytes of a keyed actor id: the key, then the tag.
pub const KEYED_ACTOR_LEN: usize = PUBLIC_KEY_LEN + ACTOR_TAG_LEN;
/// Bytes of an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;

/// What is signed is this prefix and the change hash, so that a signature made for a change can
/// never be taken for one made for something else with the same key.
const CONTEXT: &[u8] = b"minga change v1:";

/// The prefix of what a hub signs when it binds a device's key (a credential): never a change.
const CREDENTIAL_CONTEXT: &[u8] = b"minga credential v1:";

/// An Ed25519 signature over one change hash.
pub type Signature = [u8; SIGNATURE_LEN];

/// A change and its signature, as they travel and as stores keep them.
pub type SignedChange = (ChangeHash, Signature);

/// A device's signing key. Its secret never leaves the store that made it (kept in the
/// encrypted store, or in the hub's storage).
pub struct DeviceKey(ed25519_dalek::SigningKey);

impl DeviceKey {
    /// A new key from the operating system's randomness.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed)?;
        Ok(Self::from_secret(seed))
    }

    /// The key whose secret is `secret` (as [`DeviceKey::secret`] gave it).
    pub fn from_secret(secret: [u8; 32]) -> Self {
        Self(ed25519_dalek::SigningKey::from_bytes(&secret))
    }

    /// The secret, for the store to keep.
    pub fn secret(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key().to_bytes())
    }

    /// Signs one change. Cost: one Ed25519 signature (tens of microseconds).
    pub fn sign_change(&self, change: &ChangeHash) -> Signature {
        self.0.sign(&signed_message(change)).to_bytes()
    }

    /// Signs a credential (`credential_text`): what a hub gives a device it enrolled.
    pub fn sign_credential(&self, text: &[u8]) -> Signature {
        self.0.sign(&[CREDENTIAL_CONTEXT, text].concat()).to_bytes()
    }

    /// A new keyed actor of this key, with a random tag (one per user of the device).
    pub fn new_actor(&self) -> Result<ActorId, getrandom::Error> {
        let mut tag = [0u8; ACTOR_TAG_LEN];
        getrandom::fill(&mut tag)?;
        let mut bytes = self.public_key().0.to_vec();
        bytes.extend_from_slice(&tag);
        Ok(ActorId::from(bytes))
    }

    /// Whether `actor` is keyed with this key.
    pub fn owns(&self, actor: &ActorId) -> bool {
        actor_key(actor) == Some(self.public_key())
    }
}

impl fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeviceKey({}, secret hidden)", self.public_key())
    }
}

/// An Ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey(pub [u8; PUBLIC_KEY_LEN]);

impl PublicKey {
    /// Whether `signature` is this key's signature of `change`. Cost: one Ed25519
    /// verification.
    pub fn verifies(&self, change: &ChangeHash, signature: &Signature) -> bool {
        let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&self.0) else {
            return false; // not a point on the curve: no signature verifies under it
        };
        let signature = ed25519_dalek::Signature::from_bytes(signature);
        key.verify(&signed_message(change), &signature).is_ok()
    }
}

impl PublicKey {
    /// The key's fingerprint, as the enrolment link carries a hub's: the first 16 bytes of its
    /// SHA-256, as 32 hex digits (short enough for a QR code, too many to forge a key for).
    pub fn fingerprint(&self) -> String {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(self.0);
        digest[..16]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }

    /// Whether `signature` is this key's signature of the credential `text`.
    pub fn verifies_credential(&self, text: &[u8], signature: &Signature) -> bool {
        let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&self.0) else {
            return false;
        };
        let message = [CREDENTIAL_CONTEXT, text].concat();
        key.verify(&message, &ed25519_dalek::Signature::from_bytes(signature))
            .is_ok()
    }
}

/// What a hub's credential for an enrolled device says, one field a line: the device id, its
/// project, its role and its signing key (hex). Its signature by the hub's key
/// ([`DeviceKey::sign_credential`]) proves the binding to anyone who knows the hub's key.
pub fn credential_text(device_id: &str, project: &str, role: &str, key: &PublicKey) -> Vec<u8> {
    format!("{device_id}\n{project}\n{role}\n{key}").into_bytes()
}

/// Lower-case hex, as keys are shown and compared by people.
impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

/// The key a keyed actor names; `None` for an unkeyed actor.
pub fn actor_key(actor: &ActorId) -> Option<PublicKey> {
    let bytes = actor.to_bytes();
    (bytes.len() == KEYED_ACTOR_LEN).then(|| {
        let mut key = [0u8; PUBLIC_KEY_LEN];
        key.copy_from_slice(&bytes[..PUBLIC_KEY_LEN]);
        PublicKey(key)
    })
}

fn signed_message(change: &ChangeHash) -> Vec<u8> {
    let mut message = CONTEXT.to_vec();
    message.extend_from_slice(&change.0);
    message
}

/// Why a change was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureFault {
    /// Its actor is keyed and no signature came with it.
    Missing,
    /// The signature that came with it does not verify under its actor's key: made by another
    /// key, made for another change, or altered.
    DoesNotVerify,
}

impl fmt::Display for SignatureFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SignatureFault::Missing => "it carries no signature",
            SignatureFault::DoesNotVerify => "its signature does not verify under its actor's key",
        })
    }
}

/// A change that failed verification: which one, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("change {change} is refused: {fault}")]
pub struct Unverified {
    pub change: ChangeHash,
    pub fault: SignatureFault,
}

/// Verifies every change of `doc` that is not among `known` (the changes the receiver already
/// held: their signatures were checked when they arrived), looking each keyed change's
/// signature up with `signature_of`. Returns the signatures of the new keyed changes, for the
/// receiver to keep, or the first change that fails. Cost: a walk of the changes after `known`
/// and one Ed25519 verification per new keyed change.
pub fn verify_new_changes(
    doc: &Automerge,
    known: &[ChangeHash],
    signature_of: impl Fn(&ChangeHash) -> Option<Signature>,
) -> Result<Vec<SignedChange>, Unverified> {
    let mut verified = Vec::new();
    for change in doc.get_changes(known) {
        let Some(key) = actor_key(change.actor_id()) else {
            continue; // unkeyed: a deterministic first change, or made before signing
        };
        let hash = change.hash();
        let signature = signature_of(&hash).ok_or(Unverified {
            change: hash,
            fault: SignatureFault::Missing,
        })?;
        if !key.verifies(&hash, &signature) {
            return Err(Unverified {
                change: hash,
                fault: SignatureFault::DoesNotVerify,
            });
        }
        verified.push((hash, signature));
    }
    Ok(verified)
}

/// The signatures that came with a message or bundle, by change.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SignaturePool(HashMap<ChangeHash, Signature>);

impl SignaturePool {
    pub fn get(&self, change: &ChangeHash) -> Option<Signature> {
        self.0.get(change).copied()
    }

    pub fn extend(&mut self, signed: impl IntoIterator<Item = SignedChange>) {
        self.0.extend(signed);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<SignedChange> for SignaturePool {
    fn from_iter<I: IntoIterator<Item = SignedChange>>(signed: I) -> Self {
        Self(signed.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::AutoCommit;

    fn doc_by(actor: ActorId, edits: usize) -> AutoCommit {
        let mut doc = AutoCommit::new().with_actor(actor);
        for n in 0..edits {
            doc.put(automerge::ROOT, "n", n as i64).unwrap();
            doc.commit();
        }
        doc
    }

    fn signed_by(key: &DeviceKey, doc: &mut AutoCommit) -> SignaturePool {
        doc.get_changes(&[])
            .iter()
            .map(|change| (change.hash(), key.sign_change(&change.hash())))
            .collect()
    }

    #[test]
    fn a_keyed_actor_names_its_key_and_an_unkeyed_one_none() {
        let key = DeviceKey::generate().unwrap();
        let actor = key.new_actor().unwrap();
        assert_eq!(actor_key(&actor), Some(key.public_key()));
        assert!(key.owns(&actor));
        assert_eq!(actor_key(&ActorId::random()), None);
        assert_ne!(
            actor,
            key.new_actor().unwrap(),
            "each actor has its own tag"
        );
    }

    #[test]
    fn changes_signed_by_their_actors_key_verify_and_are_returned_to_keep() {
        let key = DeviceKey::generate().unwrap();
        let mut doc = doc_by(key.new_actor().unwrap(), 3);
        let pool = signed_by(&key, &mut doc);
        let kept = verify_new_changes(doc.document(), &[], |hash| pool.get(hash)).unwrap();
        assert_eq!(kept.len(), 3);
    }

    #[test]
    fn a_change_under_someone_elses_actor_signed_with_another_key_does_not_verify() {
        let (owner, forger) = (
            DeviceKey::generate().unwrap(),
            DeviceKey::generate().unwrap(),
        );
        let mut doc = doc_by(owner.new_actor().unwrap(), 1);
        let pool = signed_by(&forger, &mut doc);
        let refused = verify_new_changes(doc.document(), &[], |hash| pool.get(hash));
        assert_eq!(refused.unwrap_err().fault, SignatureFault::DoesNotVerify);
    }

    #[test]
    fn a_signature_moved_to_another_change_does_not_verify_and_none_is_missing() {
        let key = DeviceKey::generate().unwrap();
        let mut doc = doc_by(key.new_actor().unwrap(), 2);
        let hashes: Vec<ChangeHash> = doc.get_changes(&[]).iter().map(|c| c.hash()).collect();
        let first_signature = key.sign_change(&hashes[0]);
        let moved = |_: &ChangeHash| Some(first_signature);
        let refused = verify_new_changes(doc.document(), &[], moved).unwrap_err();
        assert_eq!(
            (refused.change, refused.fault),
            (hashes[1], SignatureFault::DoesNotVerify)
        );
        let stripped = verify_new_changes(doc.document(), &[], |_| None).unwrap_err();
        assert_eq!(stripped.fault, SignatureFault::Missing);
        let only_new = verify_new_changes(doc.document(), &[hashes[1]], |_| None);
        assert_eq!(
            only_new,
            Ok(Vec::new()),
            "known changes are not checked again"
        );
    }

    #[test]
    fn a_credential_verifies_under_the_hubs_key_and_never_as_a_change() {
        let (hub, device) = (
            DeviceKey::generate().unwrap(),
            DeviceKey::generate().unwrap(),
        );
        let text = credential_text("dev-1", "imbabura", "facilitator", &device.public_key());
        let signature = hub.sign_credential(&text);
        assert!(hub.public_key().verifies_credential(&text, &signature));
        let other = credential_text("dev-1", "imbabura", "supervisor", &device.public_key());
        assert!(!hub.public_key().verifies_credential(&other, &signature));
        let hash = ChangeHash(text[..32].try_into().unwrap());
        assert!(!hub
            .public_key()
            .verifies(&hash, &hub.sign_credential(&hash.0)));
    }

    #[test]
    fn unkeyed_changes_need_no_signature() {
        let mut doc = doc_by(ActorId::random(), 2);
        assert_eq!(
            verify_new_changes(doc.document(), &[], |_| None),
            Ok(Vec::new())
        );
    }

    #[test]
    fn a_key_kept_as_its_secret_signs_as_before() {
        let key = DeviceKey::generate().unwrap();
        let again = DeviceKey::from_secret(key.secret());
        let hash = ChangeHash([9; 32]);
        assert!(again.public_key().verifies(&hash, &key.sign_change(&hash)));
        assert!(!again
            .public_key()
            .verifies(&ChangeHash([8; 32]), &key.sign_change(&hash)));
    }
}
