//! The peer handshake (version 1): before two devices sync directly, each presents the
//! credential its hub signed (`crate::credential`) and proves it holds the key the credential
//! binds, by signing a challenge bound to this handshake (both sides' nonces and the other's
//! key), verified under the hub key the verifier holds. Then each side knows the other as the
//! hub does (a `crate::access::Principal`) and applies the hub's rules to it (`crate::access`, through the
//! policy the caller builds for that principal). `docs/sync-protocol.md`, "Peer handshake".
//!
//! Two round trips precede the session's hello, over the same transport:
//! `PeerHello` (nonce, credential) -> `PeerChallenge` (nonce, credential, proof), then
//! `PeerProof` (proof) -> `PeerAccepted`. Any failure is answered with an `Abort` naming it, and
//! the responder serves no session until a handshake succeeds: an unenrolled peer, a credential
//! from another hub, or a failed proof gets nothing. An older peer that sends a hello straight
//! away is told to update; an older responder answers the `PeerHello` with an abort naming an
//! unknown message type, which the initiator reports as a peer without the handshake.

use std::sync::Arc;

use crate::credential::{Credential, CredentialFault};
use crate::error::{TransportError, WireError};
use crate::policy::Policy;
use crate::responder::Responder;
use crate::signatures::{DeviceKey, PublicKey, Signature, SIGNATURE_LEN};
use crate::store::DocumentStore;
use crate::transport::Transport;
use crate::wire::codec::{Reader, Writer};
use crate::wire::{open, seal, Frame};
use crate::{PeerId, SyncOptions};

/// The handshake's version, the first byte of every handshake payload.
pub const HANDSHAKE_VERSION: u8 = 1;

const TYPE_PEER_HELLO: u8 = 0x05;
const TYPE_PEER_CHALLENGE: u8 = 0x06;
const TYPE_PEER_PROOF: u8 = 0x07;
const TYPE_PEER_ACCEPTED: u8 = 0x08;

/// Bytes of a handshake nonce.
const NONCE_LEN: usize = 32;
type Nonce = [u8; NONCE_LEN];

/// The largest handshake frame read: a credential is a few hundred bytes.
const MAX_HANDSHAKE_FRAME: u32 = 4 << 10;

/// This device as it presents itself to a peer: its key, the credential its hub signed for
/// that key, and the hub's key, under which it verifies the peer's credential.
pub struct PeerIdentity {
    pub key: DeviceKey,
    pub credential: Credential,
    pub hub_key: PublicKey,
}

/// Why a handshake failed.
#[derive(Debug, thiserror::Error)]
pub enum PeerRefused {
    /// The peer's credential is not one this device's hub signed for the key it presented.
    #[error("the peer's credential is refused: {0}")]
    Credential(CredentialFault),
    /// The peer's credential is for another project than this device's.
    #[error("the peer is enrolled in project {theirs}, this device in {ours}")]
    OtherProject { theirs: String, ours: String },
    /// The peer did not prove it holds the key its credential binds.
    #[error("the peer's proof does not verify under the key its credential binds")]
    ProofFails,
    /// The peer ended the handshake, saying why (this device's credential refused there, or
    /// a peer without the handshake).
    #[error("the peer refused the handshake: {0}")]
    PeerAborted(String),
    /// The peer answered with something else than the handshake's next message.
    #[error("the peer answered the handshake with {0}")]
    Unexpected(String),
    #[error(transparent)]
    Wire(#[from] WireError),
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The operating system gave no randomness for a nonce.
    #[error("no randomness for a nonce: {0}")]
    Randomness(String),
}

/// Runs the initiator's half of the handshake over `transport`: presents `me`, checks the
/// responder's credential and proof. Returns the responder's credential (verified), to build
/// the session's policy from. Cost: two round trips, two Ed25519 signatures checked and one made.
pub fn prove_to_peer(
    transport: &dyn Transport,
    me: &PeerIdentity,
) -> Result<Credential, PeerRefused> {
    let ours = nonce()?;
    let hello = seal(TYPE_PEER_HELLO, hello_payload(&ours, &me.credential));
    let (theirs, credential, proof) = read_challenge(&transport.exchange(&hello)?)?;
    check_peer(me, &credential)?;
    // The responder proved itself to the holder of the credential presented.
    let theirs_signed = challenge(Side::Responder, &ours, &theirs, &me.credential.key);
    if !credential.key.verifies_peer_proof(&theirs_signed, &proof) {
        return Err(PeerRefused::ProofFails);
    }
    let mine = challenge(Side::Initiator, &ours, &theirs, &credential.key);
    let proof = seal(
        TYPE_PEER_PROOF,
        proof_payload(&me.key.sign_peer_proof(&mine)),
    );
    let (kind, _) = read_frame(&transport.exchange(&proof)?)?;
    match kind {
        TYPE_PEER_ACCEPTED => Ok(credential),
        other => Err(PeerRefused::Unexpected(format!("message type {other}"))),
    }
}

/// The responder's side of direct syncs: answers the handshake, then serves the session with
/// a policy built for the peer it now knows. No session is served before a handshake
/// succeeds.
pub struct PeerGate {
    me: PeerIdentity,
    local: PeerId,
    options: SyncOptions,
    policy_for: PolicyFor,
    state: GateState,
}

/// Builds the policy a proven peer's sessions run under, from its credential.
pub type PolicyFor = Box<dyn Fn(&Credential) -> Arc<dyn Policy> + Send + Sync>;

enum GateState {
    /// No handshake yet, or the last one failed.
    Closed,
    /// A credential was presented; its holder must now prove it holds the key.
    Challenged {
        theirs: Nonce,
        ours: Nonce,
        credential: Credential,
    },
    /// The peer proved who it is: its sessions are served under its policy.
    Open {
        responder: Box<Responder>,
        peer: Credential,
    },
}

impl PeerGate {
    /// A gate for this device (`me`, whose peer id is `local`); `policy_for` builds the policy
    /// a proven peer's sessions run under (the hub's rules applied to it).
    pub fn new(
        me: PeerIdentity,
        local: PeerId,
        options: SyncOptions,
        policy_for: PolicyFor,
    ) -> Self {
        Self {
            me,
            local,
            options,
            policy_for,
            state: GateState::Closed,
        }
    }

    /// The credential of the peer proven by the last handshake, while its session may run.
    pub fn peer(&self) -> Option<&Credential> {
        match &self.state {
            GateState::Open { peer, .. } => Some(peer),
            _ => None,
        }
    }

    /// Answers one frame: a handshake message, or (once a handshake succeeded) a session's.
    /// Never fails: whatever is refused is answered with an abort naming why.
    pub fn respond<S: DocumentStore + ?Sized>(&mut self, store: &S, request: &[u8]) -> Vec<u8> {
        match request.get(5).copied() {
            Some(TYPE_PEER_HELLO) => self.hello(request),
            Some(TYPE_PEER_PROOF) => self.proof(request),
            _ => match &mut self.state {
                GateState::Open { responder, .. } => responder.respond_or_abort(store, request),
                _ => abort(
                    "this device syncs only with a peer that presents its enrolment and proves \
                     it (peer handshake 1): update Minga on the other device, or open an \
                     unenrolled exchange on both",
                ),
            },
        }
    }

    fn hello(&mut self, request: &[u8]) -> Vec<u8> {
        self.state = GateState::Closed;
        let answered = read_hello(request).and_then(|(theirs, credential)| {
            check_peer(&self.me, &credential)?;
            let ours = nonce()?;
            let mine = challenge(Side::Responder, &theirs, &ours, &credential.key);
            let proof = self.me.key.sign_peer_proof(&mine);
            let reply = challenge_payload(&ours, &self.me.credential, &proof);
            self.state = GateState::Challenged {
                theirs,
                ours,
                credential,
            };
            Ok(seal(TYPE_PEER_CHALLENGE, reply))
        });
        answered.unwrap_or_else(|refused| refuse(&refused))
    }

    fn proof(&mut self, request: &[u8]) -> Vec<u8> {
        let GateState::Challenged {
            theirs,
            ours,
            credential,
        } = std::mem::replace(&mut self.state, GateState::Closed)
        else {
            return abort("a peer proof without a peer hello before it");
        };
        let signed = challenge(Side::Initiator, &theirs, &ours, &self.me.credential.key);
        match read_proof(request) {
            Ok(proof) if credential.key.verifies_peer_proof(&signed, &proof) => {
                let policy = (self.policy_for)(&credential);
                let responder = Responder::new(self.local.clone(), self.options, policy);
                tracing::info!(peer = %credential.device_id, role = %credential.role, "peer proved its enrolment");
                self.state = GateState::Open {
                    responder: Box::new(responder),
                    peer: credential,
                };
                seal(TYPE_PEER_ACCEPTED, vec![HANDSHAKE_VERSION])
            }
            Ok(_) => refuse(&PeerRefused::ProofFails),
            Err(refused) => refuse(&refused),
        }
    }
}

/// Which side signs a challenge: each signs its own, so that one side's proof can never be
/// replayed as the other's.
#[derive(Clone, Copy)]
enum Side {
    Initiator,
    Responder,
}

/// What `side` signs: its role, both nonces (the initiator's first) and the key of the peer it
/// proves itself to, so that a proof is good for this handshake with this peer only.
fn challenge(side: Side, initiator: &Nonce, responder: &Nonce, to: &PublicKey) -> Vec<u8> {
    let role: &[u8] = match side {
        Side::Initiator => b"initiator",
        Side::Responder => b"responder",
    };
    [role, initiator, responder, &to.0].concat()
}

/// Whether the peer's credential is one `me`'s hub signed (for the key it names) in `me`'s
/// project. Whether the peer holds that key its proof shows.
fn check_peer(me: &PeerIdentity, credential: &Credential) -> Result<(), PeerRefused> {
    credential
        .verify(&me.hub_key, &credential.key)
        .map_err(PeerRefused::Credential)?;
    if credential.project != me.credential.project {
        return Err(PeerRefused::OtherProject {
            theirs: credential.project.clone(),
            ours: me.credential.project.clone(),
        });
    }
    Ok(())
}

fn nonce() -> Result<Nonce, PeerRefused> {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce).map_err(|error| PeerRefused::Randomness(error.to_string()))?;
    Ok(nonce)
}

fn abort(message: &str) -> Vec<u8> {
    Frame::Abort {
        message: message.into(),
    }
    .encode()
}

fn refuse(refused: &PeerRefused) -> Vec<u8> {
    tracing::warn!(%refused, "peer handshake refused");
    abort(&refused.to_string())
}

fn hello_payload(nonce: &Nonce, credential: &Credential) -> Vec<u8> {
    let mut writer = Writer::default();
    writer.u8(HANDSHAKE_VERSION);
    writer.fixed(nonce);
    writer.bytes(credential.encode().as_bytes());
    writer.buf
}

fn challenge_payload(nonce: &Nonce, credential: &Credential, proof: &Signature) -> Vec<u8> {
    let mut writer = Writer::default();
    writer.u8(HANDSHAKE_VERSION);
    writer.fixed(nonce);
    writer.bytes(credential.encode().as_bytes());
    writer.fixed(proof);
    writer.buf
}

fn proof_payload(proof: &Signature) -> Vec<u8> {
    let mut writer = Writer::default();
    writer.u8(HANDSHAKE_VERSION);
    writer.fixed(proof);
    writer.buf
}

/// A handshake frame's type and payload (after its version byte); an abort is the peer's
/// refusal.
fn read_frame(bytes: &[u8]) -> Result<(u8, Reader<'_>), PeerRefused> {
    if let Ok(Frame::Abort { message }) = Frame::decode(bytes, MAX_HANDSHAKE_FRAME) {
        return Err(PeerRefused::PeerAborted(message));
    }
    let (kind, payload) = open(bytes, MAX_HANDSHAKE_FRAME)?;
    let mut reader = Reader::new(payload);
    let version = reader.u8("handshake version")?;
    if version != HANDSHAKE_VERSION {
        return Err(PeerRefused::Unexpected(format!(
            "peer handshake version {version}; this device speaks {HANDSHAKE_VERSION}"
        )));
    }
    Ok((kind, reader))
}

/// The frame's reader if it is of type `expected`.
fn expect(bytes: &[u8], expected: u8) -> Result<Reader<'_>, PeerRefused> {
    let (kind, reader) = read_frame(bytes)?;
    if kind != expected {
        return Err(PeerRefused::Unexpected(format!("message type {kind}")));
    }
    Ok(reader)
}

fn read_nonce(reader: &mut Reader<'_>) -> Result<Nonce, PeerRefused> {
    let bytes = reader.fixed(NONCE_LEN, "nonce")?;
    Ok(bytes.try_into().expect("read exactly NONCE_LEN bytes"))
}

fn read_signature(reader: &mut Reader<'_>) -> Result<Signature, PeerRefused> {
    let bytes = reader.fixed(SIGNATURE_LEN, "proof")?;
    Ok(bytes.try_into().expect("read exactly SIGNATURE_LEN bytes"))
}

fn read_credential(reader: &mut Reader<'_>) -> Result<Credential, PeerRefused> {
    let text = String::from_utf8_lossy(reader.bytes("credential")?).into_owned();
    Credential::decode(&text).map_err(PeerRefused::Credential)
}

fn read_hello(bytes: &[u8]) -> Result<(Nonce, Credential), PeerRefused> {
    let mut reader = expect(bytes, TYPE_PEER_HELLO)?;
    let nonce = read_nonce(&mut reader)?;
    let credential = read_credential(&mut reader)?;
    reader.finish()?;
    Ok((nonce, credential))
}

fn read_challenge(bytes: &[u8]) -> Result<(Nonce, Credential, Signature), PeerRefused> {
    let mut reader = expect(bytes, TYPE_PEER_CHALLENGE)?;
    let nonce = read_nonce(&mut reader)?;
    let credential = read_credential(&mut reader)?;
    let proof = read_signature(&mut reader)?;
    reader.finish()?;
    Ok((nonce, credential, proof))
}

fn read_proof(bytes: &[u8]) -> Result<Signature, PeerRefused> {
    let mut reader = expect(bytes, TYPE_PEER_PROOF)?;
    let proof = read_signature(&mut reader)?;
    reader.finish()?;
    Ok(proof)
}

#[cfg(test)]
mod tests;
