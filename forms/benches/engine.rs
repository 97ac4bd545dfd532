//! Form engine benchmarks: one answer changed in a form with 1,000 repeat instances (budget:
//! one frame, 16 ms), and a household survey and the two built-in forms evaluated from empty to
//! complete.
//!
//! Run with `cargo bench -p minga-forms --bench engine`.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use minga_forms::eval::{compile, fill_sample, Context, FormSession, ItemPath};
use minga_forms::templates;
use minga_forms::{Answer, Answers, Form, RepeatInstance, Value};
use serde_json::json;
use std::hint::black_box;
use std::sync::Arc;

const INSTANCES: usize = 1_000;

/// A household survey: consent gates a group; a repeat of people with a constraint, a
/// calculation reading a top-level answer, a relevance on that calculation and a cascading
/// select; totals over the repeat at the top level.
fn household() -> Form {
    let q = |name: &str, kind: serde_json::Value, extra: serde_json::Value| {
        let mut item = json!({"kind": "question", "name": name, "type": kind});
        item.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        item
    };
    let form = json!({
        "id": "household", "version": "1", "title": {"default": "Household"},
        "default_language": "English (en)", "languages": ["English (en)"], "instance_name": "concat('Household ', ${village})",
        "choices": {
            "yn": [{"name": "yes"}, {"name": "no"}],
            "provinces": [{"name": "p1"}, {"name": "p2"}],
            "cantons": [{"name": "c1", "extra": {"province": "p1"}}, {"name": "c2", "extra": {"province": "p1"}}, {"name": "c3", "extra": {"province": "p2"}}],
        },
        "survey": [
            q("consent", json!({"base": "select_one", "list": "yn"}), json!({"required": "yes"})),
            {"kind": "group", "name": "about", "relevant": "${consent} = 'yes'", "children": [
                q("village", json!({"base": "text"}), json!({"required": "yes"})),
                q("adult_age", json!({"base": "integer"}), json!({"required": "yes", "constraint": ". >= 14 and . <= 21"})),
                {"kind": "repeat", "name": "people", "children": [
                    q("pname", json!({"base": "text"}), json!({"required": "yes", "constraint": "string-length(.) <= 40"})),
                    q("age", json!({"base": "integer"}), json!({"required": "yes", "constraint": ". >= 0 and . <= 120", "constraint_message": {"English (en)": "0 to 120"}})),
                    q("adult", json!({"base": "calculate"}), json!({"calculation": "if(${age} >= ${adult_age}, 1, 0)"})),
                    q("guardian", json!({"base": "text"}), json!({"required": "yes", "relevant": "${adult} = 0", "label": {"English (en)": "Guardian of ${pname} (${age})"}})),
                    q("province", json!({"base": "select_one", "list": "provinces"}), json!({"required": "yes"})),
                    q("canton", json!({"base": "select_one", "list": "cantons"}), json!({"required": "yes", "choice_filter": "province = ${province}"})),
                    q("label", json!({"base": "calculate"}), json!({"calculation": "concat(position(..), ': ', ${pname})"})),
                ]},
            ]},
            q("adults", json!({"base": "calculate"}), json!({"calculation": "sum(${adult})"})),
            q("oldest", json!({"base": "calculate"}), json!({"calculation": "max(${age})"})),
            q("summary", json!({"base": "note"}), json!({"relevant": "${adults} > 0", "label": {"English (en)": "${adults} adults; the oldest is ${oldest}"}})),
        ],
    });
    serde_json::from_value(form).expect("the benchmark form")
}

fn context() -> Context {
    Context {
        language: Some("English (en)".into()),
        now: chrono::DateTime::parse_from_rfc3339("2024-03-15T10:30:00-05:00").unwrap(),
        device_id: "bench".into(),
        user_name: "bench".into(),
    }
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

/// A complete household of `count` people.
fn full_answers(count: usize) -> Answers {
    let mut answers = Answers::default();
    let set = |a: &mut Answers, name: &str, value: Value| {
        a.fields.insert(name.into(), Answer::Value(value));
    };
    set(&mut answers, "consent", Value::Choice("yes".into()));
    set(&mut answers, "village", text("San Lorenzo"));
    set(&mut answers, "adult_age", Value::Integer(18));
    let people = (0..count)
        .map(|i| {
            let mut person = Answers::default();
            set(&mut person, "pname", text(&format!("Person {i}")));
            set(&mut person, "age", Value::Integer((i % 90) as i64));
            set(&mut person, "guardian", text("Ana"));
            set(&mut person, "province", Value::Choice("p1".into()));
            set(&mut person, "canton", Value::Choice("c2".into()));
            RepeatInstance {
                id: format!("i{i}"),
                answers: person,
            }
        })
        .collect();
    answers
        .fields
        .insert("people".into(), Answer::Repeat(people));
    answers
}

fn person(i: usize, name: &str) -> ItemPath {
    ItemPath::top("").inside("people", &format!("i{i}"), name)
}

fn one_answer_with_a_thousand_instances(c: &mut Criterion) {
    let compiled = Arc::new(compile(&household()).expect("the benchmark form compiles"));
    let mut session = FormSession::new(Arc::clone(&compiled), full_answers(INSTANCES), context());
    assert!(
        session.problems().is_empty(),
        "{:?}",
        &session.problems()[..1]
    );
    let mut group = c.benchmark_group("1000 instances");

    let mut age = 0;
    group.bench_function("set one age in one instance", |b| {
        b.iter(|| {
            age = (age + 7) % 100;
            black_box(
                session
                    .set(&person(500, "age"), Some(Value::Integer(age)))
                    .unwrap(),
            );
        })
    });
    let mut province = false;
    group.bench_function("set one province (cascading select)", |b| {
        b.iter(|| {
            province = !province;
            let value = Value::Choice(if province { "p2" } else { "p1" }.into());
            black_box(session.set(&person(500, "province"), Some(value)).unwrap());
        })
    });
    let mut threshold = 18;
    group.bench_function("set a top-level answer every instance reads", |b| {
        b.iter(|| {
            threshold = if threshold == 18 { 21 } else { 18 };
            black_box(
                session
                    .set(&ItemPath::top("adult_age"), Some(Value::Integer(threshold)))
                    .unwrap(),
            );
        })
    });
    let mut consent = false;
    group.bench_function("hide and show the group around the repeat", |b| {
        b.iter(|| {
            consent = !consent;
            let value = Value::Choice(if consent { "no" } else { "yes" }.into());
            black_box(session.set(&ItemPath::top("consent"), Some(value)).unwrap());
        })
    });
    group.bench_function("open a session (full evaluation)", |b| {
        b.iter_batched(
            || full_answers(INSTANCES),
            |answers| FormSession::new(Arc::clone(&compiled), answers, context()),
            BatchSize::LargeInput,
        )
    });
    // What a stored session does on opening: evaluate, then store every calculation that
    // differs (here all 2,002 of them, as for a submission stored before calculations were).
    group.bench_function("open a stored submission and store its calculations", |b| {
        b.iter_batched(
            || full_answers(INSTANCES),
            |answers| {
                let mut session = FormSession::new(Arc::clone(&compiled), answers, context());
                session.follow_repeat_counts()
            },
            BatchSize::LargeInput,
        )
    });
    // What an export does per submission: recompute every calculation from the answers.
    group.bench_function("recalculate for an export", |b| {
        b.iter_batched(
            || full_answers(INSTANCES),
            |answers| FormSession::recalculated(Arc::clone(&compiled), answers, context()),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

/// Opens an empty submission, answers every question in order (adding 10 people), and
/// checks that nothing blocks completion.
fn empty_to_complete(c: &mut Criterion) {
    let compiled = Arc::new(compile(&household()).expect("the benchmark form compiles"));
    c.bench_function("household from empty to complete (10 people)", |b| {
        b.iter(|| {
            let mut session =
                FormSession::new(Arc::clone(&compiled), Answers::default(), context());
            session
                .set(&ItemPath::top("consent"), Some(Value::Choice("yes".into())))
                .unwrap();
            session
                .set(&ItemPath::top("village"), Some(text("San Lorenzo")))
                .unwrap();
            session
                .set(&ItemPath::top("adult_age"), Some(Value::Integer(18)))
                .unwrap();
            for i in 0..10 {
                session
                    .add_instance(&ItemPath::top("people"), &format!("i{i}"))
                    .unwrap();
                session
                    .set(&person(i, "pname"), Some(text("Rosa")))
                    .unwrap();
                session
                    .set(&person(i, "age"), Some(Value::Integer(10 + i as i64 * 5)))
                    .unwrap();
                if session
                    .item(&person(i, "guardian"))
                    .is_some_and(|s| s.relevant)
                {
                    session
                        .set(&person(i, "guardian"), Some(text("Ana")))
                        .unwrap();
                }
                session
                    .set(&person(i, "province"), Some(Value::Choice("p2".into())))
                    .unwrap();
                session
                    .set(&person(i, "canton"), Some(Value::Choice("c3".into())))
                    .unwrap();
            }
            assert!(session.problems().is_empty());
            black_box(session)
        })
    });
}

/// Each built-in form: compiled once, then an empty submission filled with sample answers
/// (every shown question, round after round) until nothing blocks completion.
fn built_in_forms(c: &mut Criterion) {
    for form in templates::all() {
        c.bench_function(&format!("{}: compile", form.id), |b| {
            b.iter(|| black_box(compile(&form).unwrap()))
        });
        let compiled = Arc::new(compile(&form).expect("the built-in form compiles"));
        c.bench_function(&format!("{}: empty to complete", form.id), |b| {
            b.iter(|| {
                let mut session =
                    FormSession::new(Arc::clone(&compiled), Answers::default(), context());
                fill_sample(&mut session);
                assert!(session.problems().is_empty());
                black_box(session)
            })
        });
    }
}

criterion_group!(
    benches,
    one_answer_with_a_thousand_instances,
    empty_to_complete,
    built_in_forms
);
criterion_main!(benches);
