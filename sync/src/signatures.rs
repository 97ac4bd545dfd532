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

/// The prefix of what a device signs to prove it holds its key to a peer (the peer handshake, `peer.rs`):
/// never a change nor a credential.
const PEER_PROOF_CONTEXT: &[u8] = b"minga peer proof v1:";

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

    /// Signs a peer handshake's challenge (the peer handshake, `peer.rs`): proof that this device holds its key.
    pub fn sign_peer_proof(&self, challenge: &[u8]) -> Signature {
        self.0
            .sign(&[PEER_PROOF_CONTEXT, challenge].concat())
            .to_bytes()
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
        self.verifies_in(CREDENTIAL_CONTEXT, text, signature)
    }

    /// Whether `signature` is this key's proof for a peer handshake's `challenge`.
    pub fn verifies_peer_proof(&self, challenge: &[u8], signature: &Signature) -> bool {
        self.verifies_in(PEER_PROOF_CONTEXT, challenge, signature)
    }

    fn verifies_in(&self, context: &[u8], message: &[u8], signature: &Signature) -> bool {
        let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&self.0) else {
            return false;
        };
        let message = [context, message].concat();
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

/// Whether stores sign their changes and receivers verify them: always, except in a benchmark
/// built with the feature `bench-unsigned` that turned it off ([`bench_switch`]) to measure
/// what signing costs beside it. Cost: one atomic load.
pub fn signing_on() -> bool {
    #[cfg(feature = "bench-unsigned")]
    {
        bench_switch::on()
    }
    #[cfg(not(feature = "bench-unsigned"))]
    {
        true
    }
}

/// The benchmarks' switch for signing and verifying, compiled only with the feature
/// `bench-unsigned`, which no application build turns on (the bindings and the hub's binary do
/// not): a store or hub that could skip verifying would take changes nobody can trust. With it
/// off, stores sign and keep nothing ([`signing_on`]) and [`verify_new_changes`] takes every
/// change unverified and returns no signatures to keep.
#[cfg(feature = "bench-unsigned")]
pub mod bench_switch {
    use std::sync::atomic::{AtomicBool, Ordering};

    static OFF: AtomicBool = AtomicBool::new(false);

    /// Turns signing and verifying on or off for the whole process.
    pub fn set(on: bool) {
        OFF.store(!on, Ordering::SeqCst);
    }

    pub(super) fn on() -> bool {
        !OFF.load(Ordering::SeqCst)
    }
}

/// Verifies the changes of `doc` that are not among `known` (the changes the receiver already
/// held: their signatures were checked when they arrived), looking signatures up with
/// `signature_of`, and returns the signatures to keep, or the first change that fails.
///
/// Only each keyed actor's newest new changes are verified on their own: those no other new
/// change by the same actor descends from (one per actor as a rule; a forked sequence number,
/// two changes of one actor neither of which descends from the other, makes two). A change's
/// hash covers the hashes of the changes it depends on, so a verified signature of the newest
/// vouches for every change of that actor it descends from, and those need no signature of
/// their own: whatever came with them is neither checked nor returned (so that nothing
/// unverified is ever kept). A missing or wrong signature on the newest refuses the whole
/// document, the older changes with it. Cost: a walk of the new changes' metadata, a walk of
/// their dependencies per keyed actor among them, and one Ed25519 verification per newest
/// change ([`newest_of_each_actor`]).
pub fn verify_new_changes(
    doc: &Automerge,
    known: &[ChangeHash],
    signature_of: impl Fn(&ChangeHash) -> Option<Signature>,
) -> Result<Vec<SignedChange>, Unverified> {
    if !signing_on() {
        return Ok(Vec::new());
    }
    let new = doc.get_changes_meta(known);
    let graph = ChangeGraph::of(&new);
    let mut verified = Vec::new();
    for index in graph.newest_of_each_actor() {
        let (hash, key) = (graph.hashes[index], graph.keys[index].expect("keyed"));
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

/// A set of changes (a document's, or those a batch adds to it) as the signatures need it:
/// each change's hash, the key its actor names, and its dependencies within the set.
pub struct ChangeGraph {
    /// Each change's hash, in the order given.
    pub hashes: Vec<ChangeHash>,
    /// The key each change's actor names; `None` for an unkeyed actor.
    pub keys: Vec<Option<PublicKey>>,
    actors: Vec<usize>,
    deps: Vec<Vec<usize>>,
}

impl ChangeGraph {
    /// The graph of `changes`; dependencies outside them are left out. Cost: one pass and a
    /// hash map of the changes.
    pub fn of(changes: &[automerge::ChangeMetadata<'_>]) -> Self {
        let index: HashMap<ChangeHash, usize> = changes
            .iter()
            .enumerate()
            .map(|(n, change)| (change.hash, n))
            .collect();
        let mut actor_numbers: HashMap<&ActorId, usize> = HashMap::new();
        let actors = changes
            .iter()
            .map(|change| {
                let next = actor_numbers.len();
                *actor_numbers.entry(change.actor.as_ref()).or_insert(next)
            })
            .collect();
        Self {
            hashes: changes.iter().map(|change| change.hash).collect(),
            keys: changes
                .iter()
                .map(|change| actor_key(&change.actor))
                .collect(),
            actors,
            deps: changes
                .iter()
                .map(|change| {
                    change
                        .deps
                        .iter()
                        .filter_map(|dep| index.get(dep).copied())
                        .collect()
                })
                .collect(),
        }
    }

    /// The keyed changes that no other change of the set by the same actor descends from, in
    /// the set's order: the ones whose signatures must be verified.
    pub fn newest_of_each_actor(&self) -> Vec<usize> {
        let keyed = |n: &usize| self.keys[*n].is_some();
        let covered = self.covered_by(|n| self.keys[n].is_some());
        (0..self.hashes.len())
            .filter(keyed)
            .filter(|n| covered[*n].is_none())
            .collect()
    }

    /// For each change, a change of the set by the same actor that descends from it and for
    /// which `vouches` holds (the first such found, visiting them in the set's order), or
    /// `None`. Cost: one walk of the dependencies per actor with a vouching change.
    pub fn covered_by(&self, vouches: impl Fn(usize) -> bool) -> Vec<Option<usize>> {
        let count = self.hashes.len();
        let mut covered = vec![None; count];
        // The walk of each actor marks what it visits with the actor's number (plus one).
        let mut visited = vec![0usize; count];
        let mut by_actor: Vec<Vec<usize>> = Vec::new();
        for n in (0..count).filter(|n| vouches(*n)) {
            let actor = self.actors[n];
            if by_actor.len() <= actor {
                by_actor.resize_with(actor + 1, Vec::new);
            }
            by_actor[actor].push(n);
        }
        for (actor, vouching) in by_actor.iter().enumerate() {
            for &start in vouching {
                let mut stack = self.deps[start].clone();
                while let Some(n) = stack.pop() {
                    if visited[n] == actor + 1 {
                        continue;
                    }
                    visited[n] = actor + 1;
                    if self.actors[n] == actor && covered[n].is_none() {
                        covered[n] = Some(start);
                    }
                    stack.extend_from_slice(&self.deps[n]);
                }
            }
        }
        covered
    }
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

    fn two_keys() -> (DeviceKey, DeviceKey) {
        (
            DeviceKey::generate().unwrap(),
            DeviceKey::generate().unwrap(),
        )
    }

    /// Why `doc`'s changes are refused, given the signatures in `pool`.
    fn refusal(doc: &mut AutoCommit, pool: &SignaturePool) -> Unverified {
        verify_new_changes(doc.document(), &[], |hash| pool.get(hash)).unwrap_err()
    }

    fn hashes_of(doc: &mut AutoCommit) -> Vec<ChangeHash> {
        doc.get_changes(&[]).iter().map(|c| c.hash()).collect()
    }

    #[test]
    fn an_actors_newest_change_is_verified_and_returned_to_keep_for_the_chain_it_ends() {
        let key = DeviceKey::generate().unwrap();
        let mut doc = doc_by(key.new_actor().unwrap(), 3);
        let pool = signed_by(&key, &mut doc);
        let kept = verify_new_changes(doc.document(), &[], |hash| pool.get(hash)).unwrap();
        let newest = *hashes_of(&mut doc).last().unwrap();
        assert_eq!(kept, vec![(newest, pool.get(&newest).unwrap())]);
    }

    #[test]
    fn an_old_change_with_a_wrong_signature_is_taken_on_its_newest_changes_and_its_own_not_kept() {
        let key = DeviceKey::generate().unwrap();
        let mut doc = doc_by(key.new_actor().unwrap(), 3);
        let mut pool = signed_by(&key, &mut doc);
        let hashes = hashes_of(&mut doc);
        pool.extend([(hashes[0], [7u8; SIGNATURE_LEN])]);
        let kept = verify_new_changes(doc.document(), &[], |hash| pool.get(hash)).unwrap();
        assert_eq!(
            kept.iter().map(|(h, _)| *h).collect::<Vec<_>>(),
            vec![hashes[2]]
        );
    }

    #[test]
    fn a_forged_newest_change_refuses_the_real_older_ones_with_it() {
        let (owner, forger) = two_keys();
        let mut doc = doc_by(owner.new_actor().unwrap(), 2);
        let mut pool = signed_by(&owner, &mut doc);
        doc.put(automerge::ROOT, "forged", true).unwrap();
        doc.commit();
        let forged = *hashes_of(&mut doc).last().unwrap();
        pool.extend([(forged, forger.sign_change(&forged))]);
        let refused = refusal(&mut doc, &pool);
        assert_eq!(
            (refused.change, refused.fault),
            (forged, SignatureFault::DoesNotVerify)
        );
    }

    /// A change by `actor`'s owner on top of someone else's change, and a second change of the
    /// same actor that does not descend from it (a forked sequence: automerge's own commits
    /// never make one, a crafted change can): the document holding both, and the two.
    fn forked_sequence(actor: ActorId) -> (AutoCommit, ChangeHash, ChangeHash) {
        let mut doc = doc_by(ActorId::random(), 1);
        let base = doc.get_heads();
        let mut doc = doc.with_actor(actor);
        doc.put(automerge::ROOT, "n", 2).unwrap();
        doc.commit();
        let real = doc.get_last_local_change().unwrap();
        let mut crafted = real.decode();
        (crafted.seq, crafted.deps, crafted.hash) = (2, base, None);
        crafted.start_op = crafted.start_op.saturating_add(10);
        let crafted = automerge::Change::from(crafted);
        doc.apply_changes([crafted.clone()]).unwrap();
        (doc, real.hash(), crafted.hash())
    }

    #[test]
    fn a_forked_sequence_is_verified_at_both_ends() {
        let (owner, forger) = two_keys();
        let (mut doc, real, crafted) = forked_sequence(owner.new_actor().unwrap());
        assert_eq!(
            doc.get_heads().len(),
            2,
            "neither change descends from the other"
        );
        let mut pool: SignaturePool = [(real, owner.sign_change(&real))].into_iter().collect();
        pool.extend([(crafted, forger.sign_change(&crafted))]);
        let refused = refusal(&mut doc, &pool);
        assert_eq!(refused.change, crafted);
        pool.extend([(crafted, owner.sign_change(&crafted))]);
        let kept = verify_new_changes(doc.document(), &[], |hash| pool.get(hash)).unwrap();
        assert_eq!(kept.len(), 2, "each end verified and kept: {kept:?}");
    }

    #[test]
    fn a_newest_change_covers_its_actors_changes_only_not_another_actors_it_depends_on() {
        let (ana, ben) = two_keys();
        let mut doc = doc_by(ben.new_actor().unwrap(), 1);
        let bens = hashes_of(&mut doc)[0];
        let mut doc = doc.with_actor(ana.new_actor().unwrap());
        doc.put(automerge::ROOT, "n", 2).unwrap();
        doc.commit();
        let pool = signed_by(&ana, &mut doc);
        let refused = refusal(&mut doc, &pool);
        assert_eq!(
            (refused.change, refused.fault),
            (bens, SignatureFault::DoesNotVerify)
        );
    }

    #[test]
    fn a_change_under_someone_elses_actor_signed_with_another_key_does_not_verify() {
        let (owner, forger) = two_keys();
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
        let (hub, device) = two_keys();
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
