//! The storage contract every backend passes: test bodies over `&dyn HubStorage`, run on each
//! backend by [`contract_tests!`] with that backend's opener.

use super::{
    DocumentWrite, HubStorage, NewEnrolment, PeerUpdate, Redemption, WriteOutcome, WriteRefusal,
};
use crate::access::{DocKind, Role};
use crate::auth::{EnrolDecision, EnrolmentState};
use crate::error::HubError;
use automerge::transaction::Transactable;
use chrono::Utc;

pub mod attachments;
pub mod console;
pub mod invalid;
pub mod projection;
pub mod signatures;
pub use attachments::*;
pub use console::*;
pub use invalid::*;
pub use projection::*;
pub use signatures::*;

/// Defines one `#[test]` per contract body. `$open` is called with the test's name and returns
/// `Option<(guard, storage)>`: a storage holding one project, `p` (the guard keeps what it lives
/// in), or `None` when the backend is not available here (the opener says so).
macro_rules! contract_tests {
    ($open:expr) => {
        $crate::storage::contract::contract_tests!(@each $open;
            writes_merge_bump_the_sequence_and_refuse_bad_input_alone,
            writes_that_are_structurally_wrong_are_refused_and_change_nothing,
            peer_state_is_written_with_the_documents,
            a_peer_reset_drops_its_state_and_records_its_epoch,
            the_hub_epoch_is_kept_until_renewed,
            revoking_an_unknown_device_says_so,
            a_code_enrols_once_and_wrong_guesses_leave_it_as_it_was,
            a_form_version_is_published_once_with_its_document,
            projects_are_unique_and_the_hub_keeps_one_id,
            concurrent_writers_lose_no_merge_and_never_share_a_sequence_number,
            a_review_stored_before_its_submission_takes_its_author_when_it_arrives,
            the_projection_follows_submissions_and_their_reviews,
            a_conflict_between_two_phones_is_flagged_until_settled,
            a_submission_breaking_its_form_is_kept_flagged_and_cleared_by_a_fix,
            listings_page_by_the_last_change,
            a_device_keeps_its_last_sync,
            the_listing_filters_by_a_select_answer_kept_as_answers_change,
            an_indicator_counts_answers_per_group_over_a_date_range,
            the_map_reads_located_submissions_with_their_colouring_answer,
            signed_writes_keep_their_signatures,
            forged_changes_are_refused_and_the_rest_of_the_batch_is_stored,
            a_device_key_names_its_device_and_follows_its_store_to_a_new_enrolment,
            the_hub_signing_key_is_made_once_and_kept,
            a_referenced_content_is_wanted_until_stored_whole_once_per_project,
            a_content_that_is_not_its_hash_or_too_large_is_refused_and_nothing_kept,
        );
    };
    (@each $open:expr; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                if let Some((_guard, storage)) = $open(stringify!($name)) {
                    $crate::storage::contract::$name(&storage);
                }
            }
        )*
    };
}
pub(crate) use contract_tests;

/// The submission id the tests call `name`: a UUID v7 ending in `name`'s bytes.
pub fn named(name: &str) -> String {
    let tail: String = name.bytes().take(6).map(|b| format!("{b:02x}")).collect();
    format!("0192f1a0-7c3e-7000-8000-{tail:0>12}")
}

/// A one-change submission `id` (its `meta` as a submission's) with `key` set.
pub fn doc_bytes(id: &str, key: &str) -> Vec<u8> {
    let mut doc = automerge::AutoCommit::new();
    let meta = doc
        .put_object(automerge::ROOT, "meta", automerge::ObjType::Map)
        .unwrap();
    doc.put(&meta, "id", id).unwrap();
    doc.put(&meta, "form_id", "f").unwrap();
    doc.put(&meta, "form_version", "1").unwrap();
    doc.put(automerge::ROOT, key, "v").unwrap();
    doc.save()
}

/// A one-change review of `submission` with `key` set.
fn review_bytes(submission: &str, key: &str) -> Vec<u8> {
    let mut doc = automerge::AutoCommit::new();
    doc.put(automerge::ROOT, "submission", submission).unwrap();
    doc.put(automerge::ROOT, key, "v").unwrap();
    doc.save()
}

pub fn write(id: &str, kind: DocKind, changes: Vec<u8>) -> DocumentWrite {
    DocumentWrite {
        id: id.into(),
        kind,
        author: Some("dev".into()),
        subject: None,
        changes,
        decoded: None,
        signatures: Default::default(),
    }
}

fn stored(outcome: &WriteOutcome) -> &super::DocumentHeader {
    match outcome {
        WriteOutcome::Stored(header) => header,
        other => panic!("expected stored, got {other:?}"),
    }
}

pub fn a_review_stored_before_its_submission_takes_its_author_when_it_arrives(
    storage: &dyn HubStorage,
) {
    let submission: minga_core::DocId = "0192f1a0-7c3e-7000-8000-00000000a11a".parse().unwrap();
    let review = minga_core::review_id(&submission).to_string();
    let waiting = DocumentWrite {
        author: None,
        subject: Some(submission.to_string()),
        ..write(
            &review,
            DocKind::Review,
            review_bytes(&submission.to_string(), "state"),
        )
    };
    let before = stored(&storage.write_documents("p", &[waiting], None).unwrap()[0]).clone();
    assert_eq!(before.author, None);

    let submission = submission.to_string();
    let arrived = write(
        &submission,
        DocKind::Submission,
        doc_bytes(&submission, "q"),
    );
    let header = stored(&storage.write_documents("p", &[arrived], None).unwrap()[0]).clone();
    let after = storage.document_header("p", &review).unwrap().unwrap();
    assert_eq!(
        after.author.as_deref(),
        Some("dev"),
        "the submission's author"
    );
    assert!(
        after.seq > header.seq,
        "announced again after the submission"
    );
    assert_eq!(after.heads, before.heads, "the review itself is unchanged");

    // Later writes never change an author once set.
    let other = DocumentWrite {
        author: Some("someone-else".into()),
        ..write(
            &review,
            DocKind::Review,
            review_bytes(&submission, "comment"),
        )
    };
    storage.write_documents("p", &[other], None).unwrap();
    let last = storage.document_header("p", &review).unwrap().unwrap();
    assert_eq!(last.author.as_deref(), Some("dev"));
}

pub fn writes_merge_bump_the_sequence_and_refuse_bad_input_alone(storage: &dyn HubStorage) {
    let (a, b, c) = (named("a"), named("b"), named("c"));
    let first = storage
        .write_documents(
            "p",
            &[write(&a, DocKind::Submission, doc_bytes(&a, "x"))],
            None,
        )
        .unwrap();
    let a1 = stored(&first[0]);
    let outcomes = storage
        .write_documents(
            "p",
            &[
                write(&a, DocKind::Submission, doc_bytes(&a, "y")),
                write(&a, DocKind::Review, doc_bytes(&a, "z")),
                write(&b, DocKind::Submission, b"junk".to_vec()),
                write(&c, DocKind::Submission, doc_bytes(&c, "w")),
            ],
            None,
        )
        .unwrap();
    let a2 = stored(&outcomes[0]);
    assert!(
        a2.seq > a1.seq && a2.heads.len() == 2,
        "concurrent changes merge: {a2:?}"
    );
    assert!(
        matches!(
            &outcomes[1],
            WriteOutcome::Refused(WriteRefusal::Malformed(_))
        ),
        "a submission's id is no review's: {:?}",
        outcomes[1]
    );
    assert!(matches!(
        outcomes[2],
        WriteOutcome::Refused(WriteRefusal::NotAutomerge { .. })
    ));
    assert!(storage.document("p", &b).unwrap().is_none());
    let order: Vec<String> = storage
        .documents_since("p", 0, 10)
        .unwrap()
        .into_iter()
        .map(|h| h.id)
        .collect();
    assert_eq!(order, [a.clone(), c.clone()]);
    let again = storage
        .write_documents(
            "p",
            &[write(&c, DocKind::Submission, doc_bytes(&c, "w"))],
            None,
        )
        .unwrap();
    let c = stored(&again[0]);
    assert_eq!(storage.max_seq("p").unwrap(), c.seq.max(a2.seq));
    let a_now = storage.document("p", &a).unwrap().unwrap();
    assert_eq!(&a_now.header, a2);
    assert_eq!(storage.document_header("p", &a).unwrap().as_ref(), Some(a2));
}

/// Whatever the route, nothing structurally wrong is stored, and a refusal leaves the
/// document it names as it was: ids of other kinds or of no kind, a `meta.id` naming another
/// document, changes that bend a stored submission out of shape, a form from a device.
pub fn writes_that_are_structurally_wrong_are_refused_and_change_nothing(storage: &dyn HubStorage) {
    let mine = named("mine");
    let colleague = named("theirs");
    let review = minga_core::review_id(&mine.parse().unwrap()).to_string();
    let form = minga_core::form_document_id("f", "9").to_string();
    let original = doc_bytes(&mine, "x");
    let first = write(&mine, DocKind::Submission, original.clone());
    let kept = stored(&storage.write_documents("p", &[first], None).unwrap()[0]).clone();
    let mut bent = automerge::AutoCommit::load(&original).unwrap();
    let meta = match automerge::ReadDoc::get(&bent, automerge::ROOT, "meta").unwrap() {
        Some((_, meta)) => meta,
        None => unreachable!("the document has meta"),
    };
    let before = bent.get_heads();
    bent.put(&meta, "id", colleague.as_str()).unwrap();
    let bending_change = bent.save_after(&before);
    let cases = [
        write(&review, DocKind::Submission, doc_bytes(&review, "x")),
        write(&form, DocKind::Submission, doc_bytes(&form, "x")),
        write(
            &named("new"),
            DocKind::Submission,
            doc_bytes(&colleague, "x"),
        ),
        write(
            "../../etc/passwd",
            DocKind::Submission,
            doc_bytes("../../etc/passwd", "x"),
        ),
        write(&mine, DocKind::Submission, bending_change),
        write(&review, DocKind::Review, review_bytes(&colleague, "x")),
        write(&form, DocKind::Form, doc_bytes(&form, "x")),
    ];
    let outcomes = storage.write_documents("p", &cases, None).unwrap();
    for (case, outcome) in cases.iter().zip(&outcomes) {
        assert!(
            matches!(outcome, WriteOutcome::Refused(_)),
            "{}: {outcome:?}",
            case.id
        );
    }
    let headers = storage.documents_since("p", 0, 10).unwrap();
    assert_eq!(headers, [kept], "only the first submission, unchanged");
}

pub fn peer_state_is_written_with_the_documents(storage: &dyn HubStorage) {
    let a = named("a");
    let peer = PeerUpdate {
        peer: "dev".into(),
        shared_heads: vec![(a.clone(), vec![automerge::ChangeHash([0xff; 32])])],
        cursor: Some((7, 3)),
        reset: None,
    };
    storage
        .write_documents(
            "p",
            &[write(&a, DocKind::Submission, doc_bytes(&a, "x"))],
            Some(&peer),
        )
        .unwrap();
    assert_eq!(storage.peer_cursor("p", "dev").unwrap(), (7, 3));
    assert_eq!(
        storage.peer_heads("p", "dev", &a).unwrap(),
        Some(vec![automerge::ChangeHash([0xff; 32])])
    );
    assert_eq!(storage.peer_cursor("p", "other").unwrap(), (0, 0));
    let failed = storage.write_documents(
        "nowhere",
        &[],
        Some(&PeerUpdate {
            peer: "x".into(),
            cursor: Some((1, 1)),
            ..Default::default()
        }),
    );
    assert!(matches!(failed, Err(HubError::UnknownProject(_))));
    assert_eq!(
        storage.peer_cursor("nowhere", "x").unwrap(),
        (0, 0),
        "nothing of a failed commit stays"
    );
}

/// What an upgrade that rewrites how kinds and heads are stored must keep: every header of
/// project `p` and the heads device `dev` shares of one submission, as stored before it.
pub struct KindsAndHeads {
    headers: Vec<super::DocumentHeader>,
    shared: (String, Vec<automerge::ChangeHash>),
}

/// Stores a document of every kind in project `p` (a submission and its review, a published
/// form, a submission merged from two devices' changes, so with two heads) and the heads
/// device `dev` shares of the merged one.
pub fn store_kinds_and_shared_heads(storage: &dyn HubStorage) -> KindsAndHeads {
    store_before_upgrade(storage);
    let form = minga_forms::templates::stakeholder_dialogue();
    storage.publish_form("p", &form).unwrap();
    let merged = named("merged");
    for key in ["x", "y"] {
        let sent = write(&merged, DocKind::Submission, doc_bytes(&merged, key));
        storage.write_documents("p", &[sent], None).unwrap();
    }
    let headers = storage.documents_since("p", 0, 100).unwrap();
    let two_heads = headers
        .iter()
        .find(|h| h.id == merged)
        .unwrap()
        .heads
        .clone();
    assert_eq!(two_heads.len(), 2, "concurrent changes merge");
    let kinds: std::collections::BTreeSet<&str> = headers.iter().map(|h| h.kind.as_str()).collect();
    assert_eq!(kinds.len(), DocKind::ALL.len(), "a document of every kind");
    let peer = PeerUpdate {
        peer: "dev".into(),
        shared_heads: vec![(merged.clone(), two_heads.clone())],
        ..PeerUpdate::default()
    };
    storage.write_documents("p", &[], Some(&peer)).unwrap();
    KindsAndHeads {
        headers,
        shared: (merged, two_heads),
    }
}

/// The documents and shared heads [`store_kinds_and_shared_heads`] stored read back the same.
pub fn check_kinds_and_shared_heads(storage: &dyn HubStorage, before: &KindsAndHeads) {
    assert_eq!(
        storage.documents_since("p", 0, 100).unwrap(),
        before.headers
    );
    let (doc, heads) = &before.shared;
    assert_eq!(
        storage.peer_heads("p", "dev", doc).unwrap().as_ref(),
        Some(heads)
    );
}

pub fn a_peer_reset_drops_its_state_and_records_its_epoch(storage: &dyn HubStorage) {
    let (a, b) = (named("a"), named("b"));
    let learnt = |doc: &str, reset: Option<&str>| PeerUpdate {
        peer: "dev".into(),
        shared_heads: vec![(doc.to_string(), vec![automerge::ChangeHash([0xff; 32])])],
        cursor: Some((7, 3)),
        reset: reset.map(String::from),
    };
    storage
        .write_documents("p", &[], Some(&learnt(&a, Some("first"))))
        .unwrap();
    storage
        .write_documents("p", &[], Some(&learnt(&b, Some("second"))))
        .unwrap();
    assert_eq!(storage.peer_heads("p", "dev", &a).unwrap(), None, "dropped");
    assert!(storage.peer_heads("p", "dev", &b).unwrap().is_some());
    assert_eq!(storage.peer_cursor("p", "dev").unwrap(), (7, 3));
    assert_eq!(
        storage.peer_epoch("p", "dev").unwrap().as_deref(),
        Some("second")
    );
    assert_eq!(storage.peer_epoch("p", "other").unwrap(), None);
}

pub fn the_hub_epoch_is_kept_until_renewed(storage: &dyn HubStorage) {
    let first = storage.hub_epoch().unwrap();
    assert_eq!(storage.hub_epoch().unwrap(), first);
    let renewed = storage.renew_hub_epoch().unwrap();
    assert_ne!(renewed, first);
    assert_eq!(storage.hub_epoch().unwrap(), renewed);
}

pub fn revoking_an_unknown_device_says_so(storage: &dyn HubStorage) {
    assert!(matches!(
        storage.revoke_device("ghost"),
        Err(HubError::UnknownDevice(_))
    ));
}

fn enrolment(lookup: &str) -> NewEnrolment {
    NewEnrolment {
        lookup: lookup.into(),
        secret_hash: "right".into(),
        project: "p".into(),
        role: Role::Supervisor,
        device_name: "Ana".into(),
        expires_at: Utc::now() + chrono::Duration::minutes(5),
    }
}

/// Accepts the right secret on a live, unused code; anything else is a wrong guess.
fn decide(state: &EnrolmentState) -> EnrolDecision {
    match (state.used, state.secret_hash.as_str()) {
        (true, _) => EnrolDecision::Used,
        (false, "right") => EnrolDecision::Accept,
        _ => EnrolDecision::WrongSecret,
    }
}

pub fn a_code_enrols_once_and_wrong_guesses_leave_it_as_it_was(storage: &dyn HubStorage) {
    storage.create_enrolment(&enrolment("ABCD")).unwrap();
    assert!(matches!(
        storage.create_enrolment(&enrolment("ABCD")),
        Err(HubError::LookupTaken(lookup)) if lookup == "ABCD"
    ));
    let seen = std::cell::RefCell::new(Vec::new());
    let wrong = |state: &EnrolmentState| {
        seen.borrow_mut().push(state.clone());
        EnrolDecision::WrongSecret
    };
    for _ in 0..10 {
        let refused = storage.redeem_enrolment("ABCD", &wrong, "x", "x").unwrap();
        assert!(matches!(
            refused,
            Redemption::Decided {
                decision: EnrolDecision::WrongSecret,
                device: None
            }
        ));
    }
    let seen = seen.into_inner();
    assert!(
        seen.iter().all(|state| state == &seen[0] && !state.used),
        "wrong guesses leave the code as it was: {seen:?}"
    );
    let accepted = storage
        .redeem_enrolment("ABCD", &decide, "dev-1", "token-hash")
        .unwrap();
    let Redemption::Decided {
        decision: EnrolDecision::Accept,
        device: Some(device),
    } = accepted
    else {
        panic!("{accepted:?}")
    };
    assert_eq!(
        (device.project.as_str(), device.role),
        ("p", Role::Supervisor)
    );
    assert_eq!(
        storage.device_by_token_hash("token-hash").unwrap(),
        Some(device.clone())
    );
    let again = storage
        .redeem_enrolment("ABCD", &decide, "dev-2", "other-hash")
        .unwrap();
    assert!(matches!(
        again,
        Redemption::Decided {
            decision: EnrolDecision::Used,
            device: None
        }
    ));
    assert_eq!(
        storage.devices(Some("p")).unwrap(),
        std::slice::from_ref(&device)
    );
    assert_eq!(
        storage.redeem_enrolment("ZZZZ", &decide, "d", "h").unwrap(),
        Redemption::UnknownCode
    );
    let revoked = storage.revoke_device(&device.id).unwrap();
    assert!(revoked.revoked_at.is_some());
    assert_eq!(
        storage.revoke_device(&device.id).unwrap(),
        revoked,
        "revoking twice is harmless"
    );
}

pub fn a_form_version_is_published_once_with_its_document(storage: &dyn HubStorage) {
    let form = minga_forms::templates::stakeholder_dialogue();
    storage.publish_form("p", &form).unwrap();
    assert!(matches!(
        storage.publish_form("p", &form),
        Err(HubError::DuplicateFormVersion { .. })
    ));
    assert!(matches!(
        storage.publish_form("nowhere", &form),
        Err(HubError::UnknownProject(_))
    ));
    assert_eq!(storage.forms("p").unwrap(), std::slice::from_ref(&form));
    let id = minga_core::form_document_id(&form.id, &form.version);
    let document = storage.document("p", &id.to_string()).unwrap().unwrap();
    assert_eq!(document.header.kind, DocKind::Form);
    assert_eq!(
        minga_core::read_form_document(&id, &document.bytes).unwrap(),
        form
    );
}

pub fn projects_are_unique_and_the_hub_keeps_one_id(storage: &dyn HubStorage) {
    assert!(matches!(
        storage.create_project("p", "again"),
        Err(HubError::DuplicateProject(_))
    ));
    storage.create_project("a", "A").unwrap();
    let names: Vec<String> = storage
        .projects()
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["a", "p"]);
    assert_eq!(storage.project("a").unwrap().unwrap().title, "A");
    assert!(storage.project("zz").unwrap().is_none());
    let id = storage.hub_id().unwrap();
    assert!(id.starts_with("hub-"));
    assert_eq!(storage.hub_id().unwrap(), id);
}

/// Several writers at once (request handlers; for PostgreSQL, as several hub processes would):
/// every concurrent change to one document is kept, and sequence numbers are distinct.
pub fn concurrent_writers_lose_no_merge_and_never_share_a_sequence_number(
    storage: &dyn HubStorage,
) {
    const WRITERS: usize = 4;
    const EACH: usize = 5;
    std::thread::scope(|scope| {
        for writer in 0..WRITERS {
            scope.spawn(move || {
                for n in 0..EACH {
                    // The shared document first: read before anything else is written.
                    let (shared, own) = (named("shared"), named(&format!("w{writer}-{n}")));
                    let writes = [
                        write(
                            &shared,
                            DocKind::Submission,
                            doc_bytes(&shared, &format!("{writer}-{n}")),
                        ),
                        write(&own, DocKind::Submission, doc_bytes(&own, "x")),
                    ];
                    storage.write_documents("p", &writes, None).unwrap();
                }
            });
        }
    });
    let shared = storage
        .document_header("p", &named("shared"))
        .unwrap()
        .unwrap();
    assert_eq!(shared.heads.len(), WRITERS * EACH, "no merge was lost");
    let seqs: Vec<i64> = storage
        .documents_since("p", 0, 1000)
        .unwrap()
        .iter()
        .map(|h| h.seq)
        .collect();
    assert_eq!(seqs.len(), WRITERS * EACH + 1);
    assert!(seqs.windows(2).all(|pair| pair[0] < pair[1]), "{seqs:?}");
    assert_eq!(storage.max_seq("p").unwrap(), *seqs.last().unwrap());
}
