//! Sync bundles: what a peer lacks or everything, encrypted to it, importable twice, with typed
//! errors for truncated, tampered, foreign and misaddressed files.

mod common;

use std::sync::Arc;

use common::*;
use minga_sync::bundle::{import_bundle, write_bundle, BundleError, BundleIdentity, BundleScope};
use minga_sync::{AllowAll, DocId, DocumentStore, MemoryStore, SyncOptions};

struct Pair {
    phone: MemoryStore,
    hub: MemoryStore,
    hub_key: BundleIdentity,
}

fn pair() -> Pair {
    let phone = MemoryStore::new();
    for _ in 0..5 {
        fill_submission(&phone, &DocId::random(), 6);
    }
    Pair {
        phone,
        hub: MemoryStore::new(),
        hub_key: BundleIdentity::generate(),
    }
}

fn bundle_for_hub(pair: &Pair, scope: BundleScope) -> Vec<u8> {
    write_bundle(
        &pair.phone,
        &peer("phone"),
        &peer("hub"),
        &pair.hub_key.to_public(),
        scope,
        &AllowAll,
    )
    .unwrap()
}

fn import(pair: &Pair, bytes: &[u8]) -> Result<minga_sync::SyncReport, BundleError> {
    import_bundle(
        &pair.hub,
        &peer("hub"),
        &pair.hub_key,
        bytes,
        Arc::new(AllowAll),
    )
}

#[test]
fn a_bundle_carries_everything_and_imports_twice_harmlessly() {
    let pair = pair();
    let bytes = bundle_for_hub(&pair, BundleScope::Everything);
    assert_eq!(import(&pair, &bytes).unwrap().received, 5);
    let seq = pair.hub.max_seq().unwrap();
    import(&pair, &bytes).unwrap();
    assert_eq!(
        pair.hub.max_seq().unwrap(),
        seq,
        "a second import changes nothing"
    );
    assert_eq!(snapshot(&pair.hub), snapshot(&pair.phone));
}

#[test]
fn a_missing_bundle_after_a_sync_carries_only_the_new_changes() {
    let pair = pair();
    sync_pair(
        &pair.phone,
        "phone",
        &pair.hub,
        "hub",
        SyncOptions::default(),
    )
    .unwrap();
    let empty = bundle_for_hub(&pair, BundleScope::Missing);
    assert_eq!(import(&pair, &empty).unwrap().received, 0);
    let edited = pair.phone.ids()[2].clone();
    answer(&pair.phone, &edited, "late", 3);
    let small = bundle_for_hub(&pair, BundleScope::Missing);
    let everything = bundle_for_hub(&pair, BundleScope::Everything);
    let report = import(&pair, &small).unwrap();
    assert_eq!(report.received, 1);
    assert_eq!(snapshot(&pair.hub), snapshot(&pair.phone));
    // Compared by the change bytes carried: the files are compressed, and age's header
    // outweighs what five small documents compress to.
    let whole = import(&pair, &everything).unwrap();
    assert!(
        report.change_bytes * 3 < whole.change_bytes,
        "{} vs {}",
        report.change_bytes,
        whole.change_bytes
    );
    assert_eq!(snapshot(&pair.hub), snapshot(&pair.phone));
}

#[test]
fn damaged_foreign_and_misaddressed_bundles_get_typed_errors_and_change_nothing() {
    let pair = pair();
    let bytes = bundle_for_hub(&pair, BundleScope::Everything);
    for cut in [bytes.len() - 1, bytes.len() - 20, bytes.len() / 2, 200] {
        assert!(
            matches!(import(&pair, &bytes[..cut]), Err(BundleError::Damaged)),
            "cut at {cut}"
        );
    }
    let mut tampered = bytes.clone();
    let middle = tampered.len() - 40;
    tampered[middle] ^= 0x01;
    assert!(matches!(
        import(&pair, &tampered),
        Err(BundleError::Damaged)
    ));
    assert!(matches!(
        import(&pair, b"hello, not a bundle"),
        Err(BundleError::NotABundle)
    ));
    let stranger = BundleIdentity::generate();
    let foreign = write_bundle(
        &pair.phone,
        &peer("phone"),
        &peer("hub"),
        &stranger.to_public(),
        BundleScope::Everything,
        &AllowAll,
    )
    .unwrap();
    assert!(matches!(
        import(&pair, &foreign),
        Err(BundleError::NotForThisRecipient)
    ));
    let misaddressed = write_bundle(
        &pair.phone,
        &peer("phone"),
        &peer("tablet"),
        &pair.hub_key.to_public(),
        BundleScope::Everything,
        &AllowAll,
    )
    .unwrap();
    assert!(matches!(
        import(&pair, &misaddressed),
        Err(BundleError::WrongPeer { .. })
    ));
    assert!(pair.hub.is_empty());
}

#[test]
fn keyed_changes_travel_in_a_bundle_with_their_signatures() {
    use automerge::transaction::Transactable;
    use minga_sync::signatures::{DeviceKey, SignaturePool};
    use minga_sync::{Commit, DocKind, IncomingDoc};
    let key = DeviceKey::generate().unwrap();
    let mut doc = automerge::AutoCommit::new().with_actor(key.new_actor().unwrap());
    for n in 0..3i64 {
        doc.put(automerge::ROOT, "n", n).unwrap();
        doc.commit();
    }
    let signed: SignaturePool = doc
        .get_changes(&[])
        .iter()
        .map(|change| (change.hash(), key.sign_change(&change.hash())))
        .collect();
    let pair = Pair {
        phone: MemoryStore::new(),
        hub: MemoryStore::new(),
        hub_key: BundleIdentity::generate(),
    };
    let id = DocId::random();
    let mut commit = Commit::new(peer("app"));
    commit.docs.push(IncomingDoc {
        id: id.clone(),
        kind: DocKind::Submission,
        changes: doc.save(),
        loaded: None,
    });
    commit.signatures = signed;
    pair.phone.commit(commit).unwrap();

    let bytes = bundle_for_hub(&pair, BundleScope::Everything);
    assert_eq!(import(&pair, &bytes).unwrap().received, 1);
    let mut carried = pair.hub.signatures(&id, None).unwrap();
    let mut made = pair.phone.signatures(&id, None).unwrap();
    carried.sort();
    made.sort();
    assert_eq!(carried.len(), 3);
    assert_eq!(carried, made, "every signature arrived, verified");
}
