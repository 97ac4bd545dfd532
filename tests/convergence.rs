//! Convergence through the real hub: two facilitators' phones and a supervisor's tablet (core
//! stores) make random offline edits (submissions, answers, repeat instances added, moved and
//! removed, deletions, reviews) and sync with one hub over HTTP in a random order. Once everyone has
//! synced twice in turn, every replica holds the hub's documents, every answer is one that was
//! written (and, where one device alone wrote it, the last value that device wrote), and every
//! repeat instance added and not removed is there exactly once.

use minga_core::{AnswerPath, DocId, ReviewState, Store, Value};
use minga_hub::access::Role;
use minga_scenarios::hub::TestHub;
use minga_scenarios::phone::{safety_walk, store_documents, Phone};
use minga_sync::SyncOptions;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

/// One step of the story: who acts, what they do, and two numbers that pick the target.
#[derive(Clone, Debug)]
enum Step {
    Create {
        facilitator: usize,
    },
    Answer {
        device: usize,
        pick: usize,
        question: usize,
    },
    AddInstance {
        device: usize,
        pick: usize,
    },
    RemoveInstance {
        device: usize,
        pick: usize,
        instance: usize,
    },
    MoveInstance {
        device: usize,
        pick: usize,
        instance: usize,
        to: usize,
    },
    Delete {
        device: usize,
        pick: usize,
    },
    Review {
        pick: usize,
        approve: bool,
    },
    Sync {
        device: usize,
    },
}

const DEVICES: usize = 3; // two facilitators, then the supervisor
const SUPERVISOR: usize = 2;
const REPEAT: &str = "household";

/// One of three of the form's questions (answers are checked against the form), with a value
/// that tells who wrote it and when.
fn answer_to(question: usize, device: usize, counter: usize) -> (String, Value) {
    let at = counter as i64;
    match question {
        0 => (
            "respondent".into(),
            Value::Text(format!("{device}:{counter}")),
        ),
        1 => ("age".into(), Value::Integer(at * 10 + device as i64)),
        _ => {
            let year = 2000 + (at * 3 + device as i64) % 7000;
            let day = format!("{year:04}-01-01").parse().expect("a date");
            ("visit_date".into(), Value::Date(day))
        }
    }
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        2 => (0..2usize).prop_map(|facilitator| Step::Create { facilitator }),
        4 => (0..DEVICES, any::<usize>(), 0..3usize)
            .prop_map(|(device, pick, question)| Step::Answer { device, pick, question }),
        2 => (0..DEVICES, any::<usize>()).prop_map(|(device, pick)| Step::AddInstance { device, pick }),
        1 => (0..DEVICES, any::<usize>(), any::<usize>())
            .prop_map(|(device, pick, instance)| Step::RemoveInstance { device, pick, instance }),
        1 => (0..DEVICES, any::<usize>(), any::<usize>(), any::<usize>())
            .prop_map(|(device, pick, instance, to)| Step::MoveInstance { device, pick, instance, to }),
        1 => (0..DEVICES, any::<usize>()).prop_map(|(device, pick)| Step::Delete { device, pick }),
        1 => (any::<usize>(), any::<bool>()).prop_map(|(pick, approve)| Step::Review { pick, approve }),
        3 => (0..DEVICES).prop_map(|device| Step::Sync { device }),
    ]
}

/// What was written, to judge the end state by.
#[derive(Default)]
struct Written {
    /// Per (submission, question): every value written, and by which device, in order.
    answers: BTreeMap<(DocId, String), Vec<(usize, Value)>>,
    added: BTreeMap<DocId, BTreeSet<String>>,
    removed: BTreeSet<String>,
    counter: usize,
}

fn submissions(store: &Store) -> Vec<DocId> {
    let page = store
        .list_submissions(&Default::default(), None, 10_000)
        .unwrap();
    page.items.iter().map(|item| item.id).collect()
}

fn pick(store: &Store, pick: usize) -> Option<DocId> {
    let ids = submissions(store);
    (!ids.is_empty()).then(|| ids[pick % ids.len()])
}

/// A submission the store holds, one of its repeat instances, and how many it has.
fn pick_instance(store: &Store, at: usize, instance: usize) -> Option<(DocId, String, usize)> {
    let id = pick(store, at)?;
    let answers = store.answers(&id).unwrap();
    let instances = answers.instances(REPEAT);
    let count = instances.len();
    (count > 0).then(|| (id, instances[instance % count].id.clone(), count))
}

fn apply(step: &Step, phones: &[Phone], hub: &TestHub, written: &mut Written) {
    written.counter += 1;
    match *step {
        Step::Create { facilitator } => {
            phones[facilitator]
                .store
                .create_submission(&safety_walk())
                .unwrap();
        }
        Step::Answer {
            device,
            pick: at,
            question,
        } => {
            let store = &phones[device].store;
            let Some(id) = pick(store, at) else { return };
            let (name, value) = answer_to(question, device, written.counter);
            store
                .set_answer(&id, &AnswerPath::new(&name), &value)
                .unwrap();
            written
                .answers
                .entry((id, name))
                .or_default()
                .push((device, value));
        }
        Step::AddInstance { device, pick: at } => {
            let store = &phones[device].store;
            let Some(id) = pick(store, at) else { return };
            let instance = store
                .add_repeat_instance(&id, &AnswerPath::new(REPEAT), None)
                .unwrap();
            written.added.entry(id).or_default().insert(instance);
        }
        Step::RemoveInstance {
            device,
            pick: at,
            instance,
        } => {
            let store = &phones[device].store;
            let Some((id, gone, _)) = pick_instance(store, at, instance) else {
                return;
            };
            store
                .remove_repeat_instance(&id, &AnswerPath::new(REPEAT), &gone)
                .unwrap();
            written.removed.insert(gone);
        }
        Step::MoveInstance {
            device,
            pick: at,
            instance,
            to,
        } => {
            let store = &phones[device].store;
            let Some((id, moved, count)) = pick_instance(store, at, instance) else {
                return;
            };
            store
                .move_repeat_instance(&id, &AnswerPath::new(REPEAT), &moved, to % count)
                .unwrap();
        }
        Step::Delete { device, pick: at } => {
            let store = &phones[device].store;
            if let Some(id) = pick(store, at) {
                store.delete_submission(&id).unwrap();
            }
        }
        Step::Review { pick: at, approve } => {
            let store = &phones[SUPERVISOR].store;
            let state = if approve {
                ReviewState::Approved
            } else {
                ReviewState::HasIssues
            };
            if let Some(id) = pick(store, at) {
                store.set_review_state(&id, state).unwrap();
            }
        }
        Step::Sync { device } => {
            phones[device]
                .sync(&hub.url(), SyncOptions::default())
                .unwrap();
        }
    }
}

fn check(phones: &[Phone], hub: &TestHub, written: &Written) -> Result<(), TestCaseError> {
    let on_hub = hub.documents();
    let supervisor = &phones[SUPERVISOR];
    prop_assert_eq!(&store_documents(&supervisor.store), &on_hub);
    for facilitator in &phones[..SUPERVISOR] {
        for (id, heads) in store_documents(&facilitator.store) {
            prop_assert_eq!(Some(&heads), on_hub.get(&id), "{}", id);
        }
    }
    for ((id, name), values) in &written.answers {
        let shown = supervisor
            .store
            .answer_values(id, &AnswerPath::new(name))
            .unwrap();
        for candidate in &shown {
            let value = candidate.value.as_ref();
            prop_assert!(
                values.iter().any(|(_, v)| Some(v) == value),
                "{id} {name}: {value:?} was never written"
            );
        }
        let writers: BTreeSet<usize> = values.iter().map(|(device, _)| *device).collect();
        if writers.len() == 1 {
            let last = &values.last().unwrap().1;
            let answers = supervisor.store.answers(id).unwrap();
            prop_assert_eq!(answers.value(name), Some(last), "{} {}", id, name);
        }
    }
    for (id, added) in &written.added {
        let answers = supervisor.store.answers(id).unwrap();
        let found: Vec<String> = answers
            .instances(REPEAT)
            .iter()
            .map(|i| i.id.clone())
            .collect();
        let unique: BTreeSet<String> = found.iter().cloned().collect();
        prop_assert_eq!(found.len(), unique.len(), "{}: an instance twice", id);
        let expected: BTreeSet<String> = added.difference(&written.removed).cloned().collect();
        prop_assert_eq!(unique, expected, "{}", id);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: minga_scenarios::scale(12, 200) as u32,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn phones_a_supervisor_and_the_hub_converge(steps in prop::collection::vec(step(), 5..40)) {
        let hub = TestHub::start();
        let phones = [
            Phone::new(hub.enrol(Role::Facilitator, "Ana")),
            Phone::new(hub.enrol(Role::Facilitator, "Ben")),
            Phone::new(hub.enrol(Role::Supervisor, "Sara")),
        ];
        let mut written = Written::default();
        for step in &steps {
            apply(step, &phones, &hub, &mut written);
        }
        for _ in 0..2 {
            for phone in &phones {
                phone.sync(&hub.url(), SyncOptions::default()).unwrap();
            }
        }
        check(&phones, &hub, &written)?;
    }
}

/// Two devices each add the first instance of a repeat to the same submission while offline.
/// Both instances are answers someone typed; both should survive the merge.
#[test]
fn concurrent_first_instances_of_a_repeat_both_survive() {
    let hub = TestHub::start();
    let ana = Phone::new(hub.enrol(Role::Facilitator, "Ana"));
    let sara = Phone::new(hub.enrol(Role::Supervisor, "Sara"));
    let id = ana.store.create_submission(&safety_walk()).unwrap();
    ana.sync(&hub.url(), SyncOptions::default()).unwrap();
    sara.sync(&hub.url(), SyncOptions::default()).unwrap();
    let repeat = AnswerPath::new(REPEAT);
    let hers = ana.store.add_repeat_instance(&id, &repeat, None).unwrap();
    let theirs = sara.store.add_repeat_instance(&id, &repeat, None).unwrap();
    for phone in [&ana, &sara, &ana] {
        phone.sync(&hub.url(), SyncOptions::default()).unwrap();
    }
    let answers = ana.store.answers(&id).unwrap();
    let found: BTreeSet<String> = answers
        .instances(REPEAT)
        .iter()
        .map(|i| i.id.clone())
        .collect();
    assert_eq!(found, BTreeSet::from([hers, theirs]));
}

/// A supervisor moves a participant (a repeat instance) while the facilitator corrects an
/// answer inside it: the correction is an acknowledged answer and should survive the move.
#[test]
fn an_answer_edited_while_its_instance_is_moved_survives() {
    let hub = TestHub::start();
    let ana = Phone::new(hub.enrol(Role::Facilitator, "Ana"));
    let sara = Phone::new(hub.enrol(Role::Supervisor, "Sara"));
    let id = ana.store.create_submission(&safety_walk()).unwrap();
    let repeat = AnswerPath::new(REPEAT);
    let moved = ana.store.add_repeat_instance(&id, &repeat, None).unwrap();
    ana.store.add_repeat_instance(&id, &repeat, None).unwrap();
    let name = AnswerPath::new("member_name").inside(REPEAT, &moved);
    let typed = |text: &str| Value::Text(text.into());
    ana.store.set_answer(&id, &name, &typed("Rosa")).unwrap();
    ana.sync(&hub.url(), SyncOptions::default()).unwrap();
    sara.sync(&hub.url(), SyncOptions::default()).unwrap();
    ana.store
        .set_answer(&id, &name, &typed("Rosa María"))
        .unwrap();
    sara.store
        .move_repeat_instance(&id, &repeat, &moved, 1)
        .unwrap();
    for phone in [&ana, &sara, &ana] {
        phone.sync(&hub.url(), SyncOptions::default()).unwrap();
    }
    let answers = ana.store.answers(&id).unwrap();
    let instances = answers.instances(REPEAT);
    let copies: Vec<_> = instances.iter().filter(|i| i.id == moved).collect();
    assert_eq!(copies.len(), 1, "{instances:?}");
    assert_eq!(
        copies[0].answers.value("member_name"),
        Some(&typed("Rosa María"))
    );
}
