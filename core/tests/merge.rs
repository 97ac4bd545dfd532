//! Two stores edit the same submission apart (fork, edit both, merge): both people's work
//! survives, and the same question edited on both sides shows as a conflict with both values.

mod common;

use common::*;
use minga_core::{AnswerPath, Store, Value};
use std::collections::BTreeSet;

fn text(value: &str) -> Value {
    Value::Text(value.into())
}

fn choices(options: &[&str]) -> Value {
    Value::Choices(
        options
            .iter()
            .map(|o| o.to_string())
            .collect::<BTreeSet<_>>(),
    )
}

#[test]
fn fork_edit_both_merge_keeps_both_and_shows_the_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let a = open(&dir.path().join("ana.db"), 1, ana());
    let b = open(&dir.path().join("luis.db"), 2, luis());

    let id = a.create_submission(&dialogue()).unwrap();
    a.set_answer(&id, &AnswerPath::new("village"), &text("Tumbaco"))
        .unwrap();
    a.set_answer(&id, &AnswerPath::new("topics"), &choices(&[]))
        .unwrap();
    assert_eq!(
        b.import_submission(&a.export_submission(&id).unwrap())
            .unwrap(),
        id
    );

    a.set_answer(&id, &AnswerPath::new("age"), &Value::Integer(34))
        .unwrap();
    b.set_answer(&id, &AnswerPath::new("household"), &Value::Integer(5))
        .unwrap();
    a.set_answer(&id, &AnswerPath::new("village"), &text("Tumbaco Alto"))
        .unwrap();
    b.set_answer(&id, &AnswerPath::new("village"), &text("Pifo"))
        .unwrap();
    a.set_answer(&id, &AnswerPath::new("topics"), &choices(&["robbery"]))
        .unwrap();
    b.set_answer(&id, &AnswerPath::new("topics"), &choices(&["extortion"]))
        .unwrap();

    exchange(&a, &b, &id);

    let merged = a.answers(&id).unwrap();
    assert_eq!(merged, b.answers(&id).unwrap(), "both stores converge");
    assert_eq!(merged.value("age"), Some(&Value::Integer(34)));
    assert_eq!(merged.value("household"), Some(&Value::Integer(5)));
    assert_eq!(
        merged.value("topics"),
        Some(&choices(&["extortion", "robbery"]))
    );

    let conflicts = a.conflicts(&id).unwrap();
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert_eq!(conflicts[0].path, AnswerPath::new("village"));
    let mut written: Vec<(String, Value)> = conflicts[0]
        .values
        .iter()
        .map(|v| {
            (
                v.author.clone().unwrap().user_name,
                v.value.clone().unwrap(),
            )
        })
        .collect();
    written.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(
        written,
        vec![
            ("ana".into(), text("Tumbaco Alto")),
            ("luis".into(), text("Pifo"))
        ]
    );
    assert_eq!(conflicts[0].values.iter().filter(|v| v.shown).count(), 1);

    // The supervisor settles it on one side; the other side learns it by merging.
    a.resolve_conflict(&id, &AnswerPath::new("village"), &text("Pifo"))
        .unwrap();
    assert!(a.conflicts(&id).unwrap().is_empty());
    exchange(&a, &b, &id);
    assert!(b.conflicts(&id).unwrap().is_empty());
    assert_eq!(
        b.answers(&id).unwrap().value("village"),
        Some(&text("Pifo"))
    );

    // History names who did what.
    let history = b.history(&id).unwrap();
    let by = |user: &str, answer: &str| {
        history.iter().any(|entry| {
            entry.author.as_ref().map(|a| a.user_name.as_str()) == Some(user)
                && entry.answers.iter().any(|a| a == answer)
        })
    };
    assert!(
        by("ana", "age")
            && by("luis", "household")
            && by("luis", "village")
            && by("ana", "village")
    );
    assert!(!by("luis", "age"));
}

#[test]
fn repeat_edits_follow_the_instance_after_a_concurrent_insert() {
    let dir = tempfile::tempdir().unwrap();
    let a = open(&dir.path().join("ana.db"), 1, ana());
    let b = open(&dir.path().join("luis.db"), 2, luis());
    let id = a.create_submission(&dialogue()).unwrap();
    let participants = AnswerPath::new("participants");
    let rosa = a.add_repeat_instance(&id, &participants, None).unwrap();
    b.import_submission(&a.export_submission(&id).unwrap())
        .unwrap();

    // Luis inserts someone before Rosa while Ana fills in Rosa's age.
    let first = b.add_repeat_instance(&id, &participants, Some(0)).unwrap();
    b.set_answer(
        &id,
        &AnswerPath::new("name").inside("participants", &first),
        &text("Jorge"),
    )
    .unwrap();
    a.set_answer(
        &id,
        &AnswerPath::new("age").inside("participants", &rosa),
        &Value::Integer(41),
    )
    .unwrap();
    exchange(&a, &b, &id);

    let answers = b.answers(&id).unwrap();
    let instances = answers.instances("participants");
    assert_eq!(instances.len(), 2);
    assert_eq!(
        (instances[0].id.as_str(), instances[1].id.as_str()),
        (first.as_str(), rosa.as_str())
    );
    assert_eq!(instances[1].answers.value("age"), Some(&Value::Integer(41)));
    assert_eq!(instances[0].answers.value("name"), Some(&text("Jorge")));
}

#[test]
fn long_text_merges_character_by_character() {
    let dir = tempfile::tempdir().unwrap();
    let a = open(&dir.path().join("ana.db"), 1, ana());
    let b = open(&dir.path().join("luis.db"), 2, luis());
    let id = a.create_submission(&dialogue()).unwrap();
    let notes = AnswerPath::new("notes");
    a.set_long_text(&id, &notes, "The assembly met at noon.")
        .unwrap();
    b.import_submission(&a.export_submission(&id).unwrap())
        .unwrap();
    a.set_long_text(&id, &notes, "The parish assembly met at noon.")
        .unwrap();
    b.set_long_text(&id, &notes, "The assembly met at noon. Forty people came.")
        .unwrap();
    exchange(&a, &b, &id);
    assert_eq!(
        a.answers(&id).unwrap().value("notes"),
        Some(&text("The parish assembly met at noon. Forty people came."))
    );
    assert!(a.conflicts(&id).unwrap().is_empty());
}

/// Ana and Luis each add the first participant offline, so each creates the repeat's list;
/// after the merge (either way round) both participants and their answers read on both sides,
/// in one order, and no conflict is reported for the repeat itself.
#[test]
fn concurrent_first_repeat_instances_both_survive_either_way_round() {
    for ana_first in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let a = open(&dir.path().join("ana.db"), 1, ana());
        let b = open(&dir.path().join("luis.db"), 2, luis());
        let id = a.create_submission(&dialogue()).unwrap();
        b.import_submission(&a.export_submission(&id).unwrap())
            .unwrap();
        let participants = AnswerPath::new("participants");
        let name = |instance: &str| AnswerPath::new("name").inside("participants", instance);
        let rosa = a.add_repeat_instance(&id, &participants, None).unwrap();
        a.set_answer(&id, &name(&rosa), &text("Rosa")).unwrap();
        let jorge = b.add_repeat_instance(&id, &participants, None).unwrap();
        b.set_answer(&id, &name(&jorge), &text("Jorge")).unwrap();
        if ana_first {
            exchange(&a, &b, &id);
        } else {
            exchange(&b, &a, &id);
        }

        let read = |store: &Store| {
            let answers = store.answers(&id).unwrap();
            answers
                .instances("participants")
                .iter()
                .map(|i| (i.id.clone(), i.answers.value("name").cloned()))
                .collect::<Vec<_>>()
        };
        let on_a = read(&a);
        assert_eq!(on_a, read(&b));
        let mut found = on_a;
        found.sort_by(|x, y| x.0.cmp(&y.0));
        let mut expected = vec![
            (rosa.clone(), Some(text("Rosa"))),
            (jorge.clone(), Some(text("Jorge"))),
        ];
        expected.sort_by(|x, y| x.0.cmp(&y.0));
        assert_eq!(found, expected);
        assert_eq!(a.conflicts(&id).unwrap(), vec![]);

        // Both instances stay editable and removable wherever their list is.
        b.set_answer(&id, &name(&rosa), &text("Rosa María"))
            .unwrap();
        b.remove_repeat_instance(&id, &participants, &jorge)
            .unwrap();
        let answers = b.answers(&id).unwrap();
        let left = answers.instances("participants");
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].answers.value("name"), Some(&text("Rosa María")));
    }
}

/// Luis moves Rosa below Jorge while Ana corrects Rosa's name: the instance is not copied, so
/// the correction survives and Rosa reads once, in her new place.
#[test]
fn an_answer_edited_while_its_instance_is_moved_survives() {
    let dir = tempfile::tempdir().unwrap();
    let a = open(&dir.path().join("ana.db"), 1, ana());
    let b = open(&dir.path().join("luis.db"), 2, luis());
    let id = a.create_submission(&dialogue()).unwrap();
    let participants = AnswerPath::new("participants");
    let rosa = a.add_repeat_instance(&id, &participants, None).unwrap();
    let jorge = a.add_repeat_instance(&id, &participants, None).unwrap();
    let name = AnswerPath::new("name").inside("participants", &rosa);
    a.set_answer(&id, &name, &text("Rosa")).unwrap();
    b.import_submission(&a.export_submission(&id).unwrap())
        .unwrap();

    a.set_answer(&id, &name, &text("Rosa María")).unwrap();
    b.move_repeat_instance(&id, &participants, &rosa, 1)
        .unwrap();
    exchange(&a, &b, &id);

    for store in [&a, &b] {
        let answers = store.answers(&id).unwrap();
        let instances = answers.instances("participants");
        let order: Vec<&str> = instances.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(order, [jorge.as_str(), rosa.as_str()]);
        assert_eq!(
            instances[1].answers.value("name"),
            Some(&text("Rosa María"))
        );
    }
}

/// A hub settles a conflict in a submission held outside any store (`SubmissionDocument`), as
/// a named writer: the stores that import the change hold the one value, and the settling
/// change is attributed to that writer. A review edited the same way names her too.
#[test]
fn a_conflict_settled_outside_a_store_reaches_both_stores_under_the_settlers_name() {
    let dir = tempfile::tempdir().unwrap();
    let a = open(&dir.path().join("ana.db"), 1, ana());
    let b = open(&dir.path().join("luis.db"), 2, luis());
    let id = a.create_submission(&dialogue()).unwrap();
    let village = AnswerPath::new("village");
    a.set_answer(&id, &village, &text("Tumbaco")).unwrap();
    exchange(&a, &b, &id);
    a.set_answer(&id, &village, &text("Pifo")).unwrap();
    b.set_answer(&id, &village, &text("Puembo")).unwrap();
    exchange(&a, &b, &id);

    let mut doc =
        minga_core::SubmissionDocument::load(&id, &a.document_bytes(&id).unwrap()).unwrap();
    let conflicts = doc.conflicts();
    assert_eq!(conflicts.len(), 1);
    let sara = minga_core::DeviceIdentity::new("console:sara", "sara");
    let actor = minga_core::automerge::ActorId::from(vec![7u8; 24]);
    doc.act_as(actor.clone(), &sara).unwrap();
    doc.resolve_conflict(&village, &text("Pifo")).unwrap();
    let settled = doc.save();
    for store in [&a, &b] {
        store.import_submission(&settled).unwrap();
        let values = store.answer_values(&id, &village).unwrap();
        assert_eq!(values.len(), 1, "settled");
        assert_eq!(values[0].value, Some(text("Pifo")));
        assert_eq!(values[0].author.as_ref(), Some(&sara), "her change");
        assert_eq!(values[0].actor, actor.to_hex_string());
    }

    let mut review = minga_core::ReviewDocument::start(&id).unwrap();
    review.act_as(actor.clone(), &sara).unwrap();
    review
        .set_state(minga_core::ReviewState::Approved, &[], "sara")
        .unwrap();
    let saved = review.save();
    let mut loaded = minga_core::automerge::AutoCommit::load(&saved).unwrap();
    let actors: Vec<String> = loaded
        .get_changes(&[])
        .iter()
        .map(|c| c.actor_id().to_hex_string())
        .collect();
    assert!(actors.contains(&actor.to_hex_string()), "{actors:?}");
}
