//! Sync bundles: what a peer lacks or everything, encrypted to it, importable twice, with typed
//! errors for truncated, tampered, foreign and misaddressed files; the attachment contents
//! their documents reference, arriving whole, refused when tampered with or not referenced,
//! left out when the policy forbids them; and the first format still read.

mod common;

use std::sync::Arc;

use common::*;
use minga_sync::bundle::{import_bundle, write_bundle, BundleError, BundleIdentity, BundleScope};
use minga_sync::wire::AttachmentRefusal;
use minga_sync::{
    AllowAll, ContentHash, DocId, DocKind, DocumentStore, MemoryStore, PeerId, Policy, SyncOptions,
    CHUNK_SIZE,
};

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
    let made: Vec<_> = doc
        .get_changes(&[])
        .iter()
        .map(|change| (change.hash(), key.sign_change(&change.hash())))
        .collect();
    let signed: SignaturePool = made.iter().copied().collect();
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
    commit.signatures = signed.clone();
    pair.phone.commit(commit).unwrap();
    pair.phone.keep_own_signatures(made.iter().copied()); // it made them: it keeps them all

    let bytes = bundle_for_hub(&pair, BundleScope::Everything);
    assert_eq!(import(&pair, &bytes).unwrap().received, 1);
    let kept = pair.hub.signatures(&id, None).unwrap();
    let newest = doc.get_heads()[0];
    assert_eq!(
        kept,
        vec![(newest, signed.get(&newest).unwrap())],
        "the newest change's signature arrived and verified, vouching for the other two"
    );
}

// ---------------------------------------------------------------------------------------------
// Attachments in bundles (format 2).

/// Writes a bundle for the hub from `pair.phone` under `policy`, with the writer's report.
fn bundle_with_report(pair: &Pair, policy: &dyn Policy) -> (Vec<u8>, minga_sync::SyncReport) {
    let mut sealed = Vec::new();
    let report = minga_sync::bundle::write_bundle_to(
        &pair.phone,
        &peer("phone"),
        &peer("hub"),
        &pair.hub_key.to_public(),
        BundleScope::Everything,
        policy,
        &mut sealed,
    )
    .unwrap();
    (sealed, report)
}

fn empty_pair() -> Pair {
    Pair {
        phone: MemoryStore::new(),
        hub: MemoryStore::new(),
        hub_key: BundleIdentity::generate(),
    }
}

#[test]
fn a_bundle_carries_the_photos_its_documents_reference_and_they_arrive_whole() {
    let pair = empty_pair();
    let photo = noise_bytes(1, 3 * CHUNK_SIZE + 100);
    let (id, hash) = attach(&pair.phone, &photo);
    let (_, empty) = attach(&pair.phone, b"");
    let (bytes, written) = bundle_with_report(&pair, &AllowAll);
    assert_eq!((written.sent, written.attachments_sent), (2, 2));
    assert_eq!(written.attachment_bytes_sent, photo.len() as u64);
    assert_eq!(written.bytes_sent, bytes.len() as u64);

    let report = import(&pair, &bytes).unwrap();
    assert_eq!(report.received, 2);
    assert!(pair.hub.get(&id).is_some());
    assert_eq!(pair.hub.attachment(&hash), Some(photo.clone()));
    assert_eq!(pair.hub.attachment(&empty), Some(Vec::new()));
    assert_eq!(report.attachments_received, 2);
    assert_eq!(report.attachment_bytes_received, photo.len() as u64);
    assert!(report.attachments_refused.is_empty());

    let again = import(&pair, &bytes).unwrap();
    assert_eq!(
        (again.attachments_received, again.attachment_bytes_received),
        (0, 0),
        "contents already whole are not stored again"
    );
}

/// The plaintext of `bundle` with one byte of `content` flipped, encrypted again to the
/// hub's key: what a hostile writer (anyone may encrypt to a public key) could hand over.
fn with_content_tampered(pair: &Pair, bundle: &[u8], content: &[u8]) -> Vec<u8> {
    let mut plain = age::decrypt(&pair.hub_key, bundle).unwrap();
    let probe = &content[1000..1064];
    let at = plain
        .windows(probe.len())
        .position(|window| window == probe)
        .expect("the content travels in the bundle");
    plain[at] ^= 0x01;
    age::encrypt(&pair.hub_key.to_public(), &plain).unwrap()
}

#[test]
fn a_tampered_content_is_refused_with_nothing_kept_and_the_rest_of_the_bundle_lands() {
    let pair = empty_pair();
    let street = noise_bytes(2, 2 * CHUNK_SIZE + 7);
    let alarm = noise_bytes(3, CHUNK_SIZE + 9);
    let (street_doc, street_hash) = attach(&pair.phone, &street);
    let (alarm_doc, alarm_hash) = attach(&pair.phone, &alarm);
    let (bytes, _) = bundle_with_report(&pair, &AllowAll);
    let tampered = with_content_tampered(&pair, &bytes, &street);

    let report = import(&pair, &tampered).unwrap();
    assert_eq!(
        report.attachments_refused,
        vec![(street_hash, AttachmentRefusal::Mismatch)]
    );
    assert_eq!(pair.hub.attachment_bytes_held(&street_hash), 0);
    assert_eq!(pair.hub.attachment(&alarm_hash), Some(alarm));
    assert_eq!(report.attachments_received, 1);
    assert!(pair.hub.get(&street_doc).is_some() && pair.hub.get(&alarm_doc).is_some());
    assert_eq!(report.received, 2);

    import(&pair, &bytes).unwrap();
    assert_eq!(
        pair.hub.attachment(&street_hash),
        Some(street),
        "the genuine bundle still brings it"
    );
}

/// Lets everything but one content be read.
struct AllButOne(ContentHash);

impl Policy for AllButOne {
    fn may_read(&self, _: &PeerId, _: &DocId, _: DocKind) -> bool {
        true
    }

    fn may_write(&self, _: &PeerId, _: &DocId, _: DocKind, _: &automerge::Automerge) -> bool {
        true
    }

    fn may_read_attachment(&self, _: &PeerId, hash: &ContentHash, _: &[(DocId, DocKind)]) -> bool {
        *hash != self.0
    }
}

#[test]
fn a_content_the_policy_forbids_the_recipient_is_not_put_in_the_bundle() {
    let pair = empty_pair();
    let secret = noise_bytes(4, CHUNK_SIZE / 2);
    let open = noise_bytes(5, CHUNK_SIZE / 3);
    let (secret_doc, secret_hash) = attach(&pair.phone, &secret);
    let (_, open_hash) = attach(&pair.phone, &open);
    let (bytes, written) = bundle_with_report(&pair, &AllButOne(secret_hash));
    assert_eq!(written.attachments_sent, 1);
    let plain = age::decrypt(&pair.hub_key, &bytes).unwrap();
    assert!(!plain.windows(64).any(|window| window == &secret[..64]));

    import(&pair, &bytes).unwrap();
    assert!(pair.hub.get(&secret_doc).is_some(), "the document travels");
    assert_eq!(pair.hub.attachment_bytes_held(&secret_hash), 0);
    assert_eq!(pair.hub.attachment(&open_hash), Some(open));
}

/// Lets every document be read, and none written.
struct ReadOnly;

impl Policy for ReadOnly {
    fn may_read(&self, _: &PeerId, _: &DocId, _: DocKind) -> bool {
        true
    }

    fn may_write(&self, _: &PeerId, _: &DocId, _: DocKind, _: &automerge::Automerge) -> bool {
        false
    }
}

#[test]
fn a_content_no_accepted_document_references_is_not_kept() {
    let pair = empty_pair();
    let (_, hash) = attach(&pair.phone, &noise_bytes(6, 1000));
    let (bytes, _) = bundle_with_report(&pair, &AllowAll);
    let report = import_bundle(
        &pair.hub,
        &peer("hub"),
        &pair.hub_key,
        &bytes,
        Arc::new(ReadOnly),
    )
    .unwrap();
    assert_eq!(report.refused.len(), 1, "the document is not writable");
    assert_eq!(
        report.attachments_refused,
        vec![(hash, AttachmentRefusal::Unreferenced)]
    );
    assert_eq!(pair.hub.attachment_bytes_held(&hash), 0);
}

#[test]
fn a_bundle_cut_inside_its_contents_is_damaged_and_applies_no_document() {
    let pair = empty_pair();
    attach(&pair.phone, &noise_bytes(7, 3 * CHUNK_SIZE));
    let (bytes, _) = bundle_with_report(&pair, &AllowAll);
    for cut in [bytes.len() - 1, bytes.len() / 2] {
        assert!(
            matches!(import(&pair, &bytes[..cut]), Err(BundleError::Damaged)),
            "cut at {cut}"
        );
    }
    assert!(pair.hub.is_empty());
}

#[test]
fn a_bundle_of_the_first_format_still_imports() {
    // Written by the bundle writer before bundles carried attachments (frame type 0x10): two
    // submissions from "phone" to "tablet", here encrypted to a fresh key.
    let plain = include_bytes!("data/bundle-format-1.plain");
    let key = BundleIdentity::generate();
    let sealed = age::encrypt(&key.to_public(), plain).unwrap();
    let tablet = MemoryStore::new();
    let report =
        import_bundle(&tablet, &peer("tablet"), &key, &sealed, Arc::new(AllowAll)).unwrap();
    assert_eq!((report.received, tablet.len()), (2, 2));
    assert!(report.refused.is_empty());
}

#[test]
fn a_bundle_without_contents_is_still_written_in_the_first_format() {
    let pair = pair();
    let bytes = bundle_for_hub(&pair, BundleScope::Everything);
    let plain = age::decrypt(&pair.hub_key, &bytes).unwrap();
    assert_eq!(
        &plain[..6],
        b"MSYN\x04\x10",
        "readable by apps that predate contents"
    );
}
