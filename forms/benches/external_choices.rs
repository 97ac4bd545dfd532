//! External choices: a `select_one_from_file` over a list file of 5,000 communities (every
//! community of a province), narrowed by a `choice_filter` on the parish chosen before it.
//! Budget: one frame (16 ms) for opening a session and for one filter change.
//!
//! Run with `cargo bench -p minga-forms --bench external_choices`.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use minga_forms::eval::{compile_with_lists, FormSession, ItemPath};
use minga_forms::media::{read_list, ExternalLists};
use minga_forms::{Answers, Form, Value};
use serde_json::json;
use std::hint::black_box;
use std::sync::Arc;

const COMMUNITIES: usize = 5_000;
const PARISHES: usize = 50;

/// `communities.csv`: 5,000 rows, 100 per parish, each with a label and a parish column.
fn communities_csv() -> String {
    let mut csv = String::from("name,label,parish\n");
    for i in 0..COMMUNITIES {
        let parish = i % PARISHES;
        csv.push_str(&format!("c{i},Community {i},p{parish}\n"));
    }
    csv
}

fn form() -> Form {
    serde_json::from_value(json!({
        "id": "communities", "version": "1", "title": {"default": "Communities"},
        "default_language": null, "languages": [], "instance_name": null, "choices": {},
        "survey": [
            {"kind": "question", "name": "parish", "type": {"base": "text"}},
            {"kind": "question", "name": "community",
             "type": {"base": "select_one_from_file", "list": "communities.csv"},
             "choice_filter": "parish = ${parish}"},
            {"kind": "question", "name": "community_label", "type": {"base": "calculate"},
             "calculation": "instance('communities')/root/item[name = ${community}]/label"},
        ],
    }))
    .expect("a well-formed form")
}

fn context() -> minga_forms::eval::Context {
    minga_forms::eval::Context {
        language: None,
        now: chrono::DateTime::parse_from_rfc3339("2026-03-14T09:00:00-05:00").unwrap(),
        device_id: "phone-1".into(),
        user_name: "ana".into(),
    }
}

fn answered(parish: &str) -> Answers {
    let mut answers = Answers::default();
    answers.fields.insert(
        "parish".into(),
        minga_forms::Answer::Value(Value::Text(parish.into())),
    );
    answers
}

fn five_thousand_choices(c: &mut Criterion) {
    let csv = communities_csv();
    let form = form();
    let lists = || -> ExternalLists {
        let choices = read_list("communities.csv", csv.as_bytes()).expect("the list reads");
        [("communities".to_string(), choices)].into()
    };
    let compiled = Arc::new(compile_with_lists(&form, lists()).expect("the form compiles"));
    let mut group = c.benchmark_group("select_one_from_file, 5000 choices");
    group.bench_function("read the list file and compile the form", |b| {
        b.iter(|| compile_with_lists(black_box(&form), lists()).unwrap())
    });
    group.bench_function("open a session (parish answered)", |b| {
        b.iter(|| FormSession::new(compiled.clone(), answered("p7"), context()))
    });
    let parish = ItemPath::top("parish");
    group.bench_function("one filter change (another parish)", |b| {
        b.iter_batched(
            || FormSession::new(compiled.clone(), answered("p7"), context()),
            |mut session| {
                session
                    .set(&parish, Some(Value::Text("p8".into())))
                    .unwrap();
                session
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, five_thousand_choices);
criterion_main!(benches);
