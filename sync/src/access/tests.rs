//! The access rules, read as sentences: reads, writes, and deliveries judged by signer.

use super::*;

fn device(id: &str, role: Role) -> Principal {
    Principal {
        device_id: id.into(),
        project: "p1".into(),
        role,
    }
}

fn doc(kind: DocKind, author: Option<&'static str>) -> DocAccess<'static> {
    DocAccess {
        project: "p1",
        kind,
        submission_author: author,
    }
}

#[test]
fn a_facilitator_reads_forms_and_its_own_work_only() {
    let ana = device("ana", Role::Facilitator);
    assert_eq!(may_read(&ana, &doc(DocKind::Form, None)), Ok(()));
    assert_eq!(
        may_read(&ana, &doc(DocKind::Submission, Some("ana"))),
        Ok(())
    );
    assert_eq!(may_read(&ana, &doc(DocKind::Review, Some("ana"))), Ok(()));
    assert_eq!(
        may_read(&ana, &doc(DocKind::Submission, Some("ben"))),
        Err(Refusal::NotTheAuthor)
    );
    assert_eq!(
        may_read(&ana, &doc(DocKind::Review, Some("ben"))),
        Err(Refusal::NotTheAuthor)
    );
}

#[test]
fn a_supervisor_reads_everything_in_its_project_and_nothing_outside() {
    let sara = device("sara", Role::Supervisor);
    assert_eq!(
        may_read(&sara, &doc(DocKind::Submission, Some("ben"))),
        Ok(())
    );
    assert_eq!(may_read(&sara, &doc(DocKind::Review, Some("ben"))), Ok(()));
    let elsewhere = DocAccess {
        project: "p2",
        kind: DocKind::Form,
        submission_author: None,
    };
    assert_eq!(may_read(&sara, &elsewhere), Err(Refusal::OtherProject));
    assert_eq!(may_write(&sara, &elsewhere), Err(Refusal::OtherProject));
}

#[test]
fn only_supervisors_write_reviews_and_nobody_writes_forms() {
    let ana = device("ana", Role::Facilitator);
    let sara = device("sara", Role::Supervisor);
    assert_eq!(
        may_write(&ana, &doc(DocKind::Review, Some("ana"))),
        Err(Refusal::ReviewsAreForSupervisors)
    );
    assert_eq!(may_write(&sara, &doc(DocKind::Review, Some("ana"))), Ok(()));
    assert_eq!(
        may_write(&sara, &doc(DocKind::Form, None)),
        Err(Refusal::FormsArePublished)
    );
    assert_eq!(
        may_write(&ana, &doc(DocKind::Form, None)),
        Err(Refusal::FormsArePublished)
    );
}

#[test]
fn a_facilitator_creates_submissions_and_edits_only_its_own() {
    let ana = device("ana", Role::Facilitator);
    assert_eq!(may_write(&ana, &doc(DocKind::Submission, None)), Ok(()));
    assert_eq!(
        may_write(&ana, &doc(DocKind::Submission, Some("ana"))),
        Ok(())
    );
    assert_eq!(
        may_write(&ana, &doc(DocKind::Submission, Some("ben"))),
        Err(Refusal::NotTheAuthor)
    );
    let sara = device("sara", Role::Supervisor);
    assert_eq!(
        may_write(&sara, &doc(DocKind::Submission, Some("ben"))),
        Ok(())
    );
}

const CHANGE: ChangeHash = ChangeHash([7; 32]);

fn submission_of(author: &'static str) -> DocAccess<'static> {
    doc(DocKind::Submission, Some(author))
}

#[test]
fn a_supervisor_relaying_a_colleagues_change_to_anothers_submission_is_refused_naming_it() {
    let tablet = device("sara", Role::Supervisor);
    let ben = SignedBy::Principal(device("ben", Role::Facilitator));
    let refused = judge_delivery(&tablet, ("s1", &submission_of("ana")), &[(CHANGE, ben)]);
    assert_eq!(
        refused,
        Err(DeliveryRefused::Signer {
            doc: "s1".into(),
            change: CHANGE,
            signer: "facilitator ben".into(),
            refusal: Refusal::NotTheAuthor,
        })
    );
    assert!(refused.unwrap_err().to_string().contains("s1"));
}

#[test]
fn a_facilitators_review_relayed_by_a_supervisor_is_refused() {
    let tablet = device("sara", Role::Supervisor);
    let ana = SignedBy::Principal(device("ana", Role::Facilitator));
    let review = doc(DocKind::Review, Some("ana"));
    let refused = judge_delivery(&tablet, ("r1", &review), &[(CHANGE, ana)]);
    assert_eq!(refused.unwrap_err().code(), "reviews_are_for_supervisors");
    let unknown = judge_delivery(&tablet, ("r1", &review), &[(CHANGE, SignedBy::Unknown)]);
    assert_eq!(
        unknown,
        Err(DeliveryRefused::UnknownSigner {
            doc: "r1".into(),
            change: CHANGE
        })
    );
}

#[test]
fn a_supervisor_relays_the_authors_own_edits_and_the_review_skeleton_needs_no_rights() {
    let tablet = device("sara", Role::Supervisor);
    let ana = SignedBy::Principal(device("ana", Role::Facilitator));
    let edits = [(CHANGE, ana), (ChangeHash([8; 32]), SignedBy::Skeleton)];
    assert_eq!(
        judge_delivery(&tablet, ("s1", &submission_of("ana")), &edits),
        Ok(())
    );
}

#[test]
fn a_facilitator_may_carry_only_what_it_may_read_and_its_own_changes_are_its_own() {
    let ben = device("ben", Role::Facilitator);
    let ana = SignedBy::Principal(device("ana", Role::Facilitator));
    let carried = judge_delivery(&ben, ("s1", &submission_of("ana")), &[(CHANGE, ana)]);
    assert!(matches!(
        carried,
        Err(DeliveryRefused::Carrier {
            refusal: Refusal::NotTheAuthor,
            ..
        })
    ));
    let own = [(CHANGE, SignedBy::Deliverer)];
    let unauthored = doc(DocKind::Submission, None);
    assert_eq!(
        judge_delivery(&ben, ("s3", &unauthored), &own),
        Ok(()),
        "a submission no one authored yet becomes its first deliverer's"
    );
    assert_eq!(
        judge_delivery(&ben, ("s2", &submission_of("ben")), &own),
        Ok(())
    );
    let sara = SignedBy::Principal(device("sara", Role::Supervisor));
    let review = doc(DocKind::Review, Some("ben"));
    assert_eq!(
        judge_delivery(&ben, ("r2", &review), &[(CHANGE, sara)]),
        Ok(()),
        "his phone carries his supervisor's review of his work"
    );
}

#[test]
fn new_changes_are_named_once_per_actor_by_the_newest_and_the_skeleton_actor_is_the_ids() {
    use automerge::transaction::Transactable;
    let id = "0190c7e4-0000-7000-8000-00000000abcd";
    let skeleton = ActorId::from(hex_bytes("0190c7e400007000800000000000abcd"));
    assert!(is_skeleton_actor(id, &skeleton));
    assert!(!is_skeleton_actor(id, &ActorId::random()));
    let mut doc = automerge::AutoCommit::new().with_actor(skeleton.clone());
    doc.put(automerge::ROOT, "a", 1).unwrap();
    doc.commit();
    let before = doc.get_heads();
    let mut doc = doc.with_actor(ActorId::random());
    for n in 0..3 {
        doc.put(automerge::ROOT, "n", n).unwrap();
        doc.commit();
    }
    let newest = doc.get_heads()[0];
    let actors = new_changes_by_actor(doc.document(), &before);
    assert_eq!(actors.len(), 1);
    assert_eq!(actors[0].1, newest);
    assert_eq!(new_changes_by_actor(doc.document(), &[]).len(), 2);
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&hex[at..at + 2], 16).unwrap())
        .collect()
}
