//! The responder's policy: refused writes are refused per document, reported, and nothing else
//! in the batch is lost; documents a peer may not read are never sent to it.

mod common;

use std::sync::Arc;

use automerge::transaction::Transactable;
use automerge::{Automerge, ReadDoc, ROOT};
use common::*;
use minga_sync::wire::Refusal;
use minga_sync::{
    run_session, AllowAll, DocId, DocKind, Initiator, MemoryStore, MemoryTransport, PeerId, Policy,
    SyncOptions, SyncReport,
};

/// A facilitator's rights on the hub: no reviews, no forms marked secret, and submissions only
/// of its own project.
struct Facilitator {
    secret: DocId,
}

impl Policy for Facilitator {
    fn may_read(&self, _: &PeerId, doc: &DocId, _: DocKind) -> bool {
        *doc != self.secret
    }

    fn may_write(&self, _: &PeerId, _: &DocId, kind: DocKind, proposed: &Automerge) -> bool {
        let project = proposed
            .get(ROOT, "project")
            .ok()
            .flatten()
            .map(|(value, _)| value.as_str().unwrap_or_default().to_owned());
        kind == DocKind::Submission && project.as_deref() == Some("north")
    }
}

/// One session of the phone with the hub behind `transport`, the phone allowing everything.
fn phone_session(phone: &MemoryStore, transport: &MemoryTransport<MemoryStore>) -> SyncReport {
    let options = SyncOptions::default();
    let mut initiator = Initiator::new(peer("phone"), peer("hub"), options, Arc::new(AllowAll));
    run_session(phone, transport, &mut initiator, &options, &mut |_| {}).unwrap()
}

#[test]
fn refused_documents_are_reported_and_the_rest_lands() {
    let phone = MemoryStore::new();
    let hub = MemoryStore::new();
    let own: Vec<DocId> = (0..3).map(|_| DocId::random()).collect();
    for id in &own {
        phone.edit(id, DocKind::Submission, |tx| {
            tx.put(ROOT, "project", "north").unwrap()
        });
    }
    let other_project = DocId::random();
    phone.edit(&other_project, DocKind::Submission, |tx| {
        tx.put(ROOT, "project", "south").unwrap()
    });
    let review = DocId::random();
    phone.edit(&review, DocKind::Review, |tx| {
        tx.put(ROOT, "verdict", "approved").unwrap()
    });
    let (public, secret) = (DocId::random(), DocId::random());
    hub.edit(&public, DocKind::Form, |tx| {
        tx.put(ROOT, "title", "safety").unwrap()
    });
    hub.edit(&secret, DocKind::Form, |tx| {
        tx.put(ROOT, "title", "internal").unwrap()
    });

    let options = SyncOptions::default();
    let policy = Arc::new(Facilitator {
        secret: secret.clone(),
    });
    let transport = MemoryTransport::new(&hub, peer("hub"), options, policy);
    let report = phone_session(&phone, &transport);

    let mut refused = report.refused.clone();
    refused.sort_by(|a, b| a.0.cmp(&b.0));
    let mut expected = vec![
        (other_project.clone(), Refusal::NotWritable),
        (review, Refusal::NotWritable),
    ];
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(refused, expected);
    assert_eq!(report.sent, 3);
    let mut landed = own.clone();
    landed.push(public.clone());
    landed.push(secret.clone());
    landed.sort();
    assert_eq!(hub.ids(), landed);
    assert!(phone.get(&public).is_some());
    assert!(
        phone.get(&secret).is_none(),
        "a secret form never reaches the phone"
    );

    // the refused documents change again: still refused, still nothing lost on the phone
    answer(&phone, &other_project, "q", 1);
    let again = phone_session(&phone, &transport);
    assert_eq!(
        again.refused,
        vec![(other_project.clone(), Refusal::NotWritable)]
    );
    assert!(phone.get(&other_project).is_some());
}

#[test]
fn a_document_offered_to_a_peer_met_for_the_first_time_is_refused_once() {
    let (phone, hub) = (MemoryStore::new(), MemoryStore::new());
    // A colleague's submission the hub holds, which this phone writes to under the same id.
    let unreadable = DocId::random();
    for store in [&hub, &phone] {
        store.edit(&unreadable, DocKind::Submission, |tx| {
            tx.put(ROOT, "project", "north").unwrap()
        });
    }
    let options = SyncOptions::default();
    let policy = Arc::new(Facilitator {
        secret: unreadable.clone(),
    });
    let transport = MemoryTransport::new(&hub, peer("hub"), options, policy);
    let report = phone_session(&phone, &transport);
    assert_eq!(report.refused, vec![(unreadable, Refusal::NotReadable)]);
}
