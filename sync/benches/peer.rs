//! What the peer handshake adds to a direct sync: two round trips in process, each side checking
//! the other's credential and proof (three Ed25519 verifications and one signature per side),
//! beside a session with nothing to sync between the same two empty stores.
//!
//! `cargo bench -p minga-sync --no-default-features --bench peer` (MINGA_PEER_BENCH_RUNS
//! changes the 2,000 runs).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use minga_sync::access::Role;
use minga_sync::credential::Credential;
use minga_sync::peer::{prove_to_peer, PeerGate, PeerIdentity};
use minga_sync::signatures::{credential_text, DeviceKey};
use minga_sync::{
    run_session, AllowAll, Initiator, MemoryStore, PeerId, Policy, SyncOptions, Transport,
    TransportError,
};

fn enrolled(hub: &DeviceKey, id: &str, role: Role) -> PeerIdentity {
    let key = DeviceKey::generate().expect("randomness");
    let text = credential_text(id, "bench", role.as_str(), &key.public_key());
    PeerIdentity {
        credential: Credential {
            device_id: id.into(),
            project: "bench".into(),
            role,
            key: key.public_key(),
            signature: hub.sign_credential(&text),
        },
        key,
        hub_key: hub.public_key(),
    }
}

struct Gated {
    store: MemoryStore,
    gate: Mutex<PeerGate>,
}

impl Transport for Gated {
    fn exchange(&self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
        let mut gate = self.gate.lock().expect("not poisoned");
        Ok(gate.respond(&self.store, request))
    }
}

fn main() {
    let runs: u32 = std::env::var("MINGA_PEER_BENCH_RUNS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(2_000);
    let hub = DeviceKey::generate().expect("randomness");
    let phone = enrolled(&hub, "phone", Role::Facilitator);
    let policy_for = Box::new(|_: &Credential| -> Arc<dyn Policy> { Arc::new(AllowAll) });
    let tablet = Gated {
        store: MemoryStore::new(),
        gate: Mutex::new(PeerGate::new(
            enrolled(&hub, "tablet", Role::Supervisor),
            PeerId::new("tablet").expect("an id"),
            SyncOptions::default(),
            policy_for,
        )),
    };
    let store = MemoryStore::new();
    let options = SyncOptions::default();
    let session = || {
        let (from, to) = (
            PeerId::new("phone").expect("id"),
            PeerId::new("tablet").expect("id"),
        );
        let mut initiator = Initiator::new(from, to, options, Arc::new(AllowAll));
        run_session(&store, &tablet, &mut initiator, &options, &mut |_| {}).expect("a session");
    };
    prove_to_peer(&tablet, &phone).expect("a handshake");
    let started = Instant::now();
    for _ in 0..runs {
        prove_to_peer(&tablet, &phone).expect("a handshake");
    }
    let handshake = started.elapsed() / runs;
    let started = Instant::now();
    for _ in 0..runs {
        session();
    }
    let empty = started.elapsed() / runs;
    println!("peer handshake, both sides in process: {handshake:?} per sync");
    println!("a session with nothing to sync, same stores: {empty:?} per sync");
}
