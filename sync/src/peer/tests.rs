//! The peer handshake between two identities of one hub, and what it refuses.

use super::*;
use crate::access::{Principal, Role};
use crate::signatures::credential_text;
use crate::{AllowAll, Initiator, MemoryStore};
use std::sync::Mutex;

/// A device `id` of project `imbabura` with role `role`, enrolled by the hub whose key is `hub`.
fn enrolled(hub: &DeviceKey, id: &str, role: Role) -> PeerIdentity {
    let key = DeviceKey::generate().unwrap();
    PeerIdentity {
        credential: issued(hub, id, role, &key.public_key()),
        key,
        hub_key: hub.public_key(),
    }
}

fn issued(hub: &DeviceKey, id: &str, role: Role, key: &PublicKey) -> Credential {
    Credential {
        device_id: id.into(),
        project: "imbabura".into(),
        role,
        key: *key,
        signature: hub.sign_credential(&credential_text(id, "imbabura", role.as_str(), key)),
    }
}

/// A gate over an empty store, reached in process; remembers the principals it built
/// policies for.
struct Gated {
    store: MemoryStore,
    gate: Mutex<PeerGate>,
    policies: Arc<Mutex<Vec<Principal>>>,
}

impl Gated {
    fn new(me: PeerIdentity) -> Self {
        let policies = Arc::new(Mutex::new(Vec::new()));
        let seen = policies.clone();
        let policy_for = Box::new(move |peer: &Credential| -> Arc<dyn Policy> {
            seen.lock().unwrap().push(peer.principal());
            Arc::new(AllowAll)
        });
        let local = PeerId::new(me.credential.device_id.clone()).unwrap();
        Self {
            store: MemoryStore::new(),
            gate: Mutex::new(PeerGate::new(me, local, SyncOptions::default(), policy_for)),
            policies,
        }
    }

    fn peer(&self) -> Option<Principal> {
        self.gate.lock().unwrap().peer().map(Credential::principal)
    }
}

impl Transport for Gated {
    fn exchange(&self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
        Ok(self.gate.lock().unwrap().respond(&self.store, request))
    }
}

#[test]
fn two_devices_of_one_hub_know_each_other_after_the_handshake_and_then_sync() {
    let hub = DeviceKey::generate().unwrap();
    let tablet = Gated::new(enrolled(&hub, "tablet", Role::Supervisor));
    let phone = enrolled(&hub, "phone", Role::Facilitator);
    let responder = prove_to_peer(&tablet, &phone).unwrap().principal();
    assert_eq!(
        (responder.device_id.as_str(), responder.role),
        ("tablet", Role::Supervisor)
    );
    assert_eq!(tablet.peer(), Some(phone.credential.principal()));
    assert_eq!(
        *tablet.policies.lock().unwrap(),
        vec![phone.credential.principal()]
    );

    let (from, to) = (
        PeerId::new("phone").unwrap(),
        PeerId::new("tablet").unwrap(),
    );
    let options = SyncOptions::default();
    let mut initiator = Initiator::new(from, to, options, Arc::new(AllowAll));
    let store = MemoryStore::new();
    let report = crate::run_session(&store, &tablet, &mut initiator, &options, &mut |_| {});
    assert!(report.is_ok(), "the session runs once proven: {report:?}");
}

#[test]
fn a_credential_from_another_hub_gets_nothing() {
    let (hub, another) = (
        DeviceKey::generate().unwrap(),
        DeviceKey::generate().unwrap(),
    );
    let tablet = Gated::new(enrolled(&hub, "tablet", Role::Supervisor));
    let stranger = enrolled(&another, "phone", Role::Supervisor);
    let refused = prove_to_peer(&tablet, &stranger);
    assert!(
        matches!(&refused, Err(PeerRefused::PeerAborted(why)) if why.contains("credential")),
        "{refused:?}"
    );
    assert_eq!(tablet.peer(), None);
    assert!(tablet.policies.lock().unwrap().is_empty());
}

#[test]
fn a_credential_presented_without_its_key_fails_the_proof() {
    let hub = DeviceKey::generate().unwrap();
    let tablet = Gated::new(enrolled(&hub, "tablet", Role::Supervisor));
    let ana = enrolled(&hub, "ana", Role::Facilitator);
    let thief = PeerIdentity {
        key: DeviceKey::generate().unwrap(),
        credential: ana.credential.clone(),
        hub_key: hub.public_key(),
    };
    let refused = prove_to_peer(&tablet, &thief);
    assert!(
        matches!(
            &refused,
            Err(PeerRefused::ProofFails | PeerRefused::PeerAborted(_))
        ),
        "{refused:?}"
    );
    assert_eq!(tablet.peer(), None, "no session is served");
}

#[test]
fn the_initiator_refuses_a_responder_of_another_hub_or_project() {
    let (hub, another) = (
        DeviceKey::generate().unwrap(),
        DeviceKey::generate().unwrap(),
    );
    let phone = enrolled(&hub, "phone", Role::Facilitator);
    // The fake tablet trusts the phone's hub, but its own credential is another hub's.
    let mut fake = enrolled(&another, "tablet", Role::Supervisor);
    fake.hub_key = hub.public_key();
    let refused = prove_to_peer(&Gated::new(fake), &phone);
    assert!(
        matches!(
            refused,
            Err(PeerRefused::Credential(
                CredentialFault::NotSignedByTheHub { .. }
            ))
        ),
        "{refused:?}"
    );
}

#[test]
fn a_session_without_a_handshake_is_told_to_update_and_gets_nothing() {
    let hub = DeviceKey::generate().unwrap();
    let tablet = Gated::new(enrolled(&hub, "tablet", Role::Supervisor));
    let (from, to) = (PeerId::new("old").unwrap(), PeerId::new("tablet").unwrap());
    let options = SyncOptions::default();
    let mut initiator = Initiator::new(from, to, options, Arc::new(AllowAll));
    let store = MemoryStore::new();
    let refused = crate::run_session(&store, &tablet, &mut initiator, &options, &mut |_| {});
    assert!(
        matches!(&refused, Err(crate::SyncError::RemoteAbort { message }) if message.contains("peer handshake")),
        "{refused:?}"
    );
}
