//! The answer checker's tests: each refusal, and what it lets through.

use super::*;
use crate::answers::Answer;
use crate::eval::testing::{context, form, group, question, repeat};
use serde_json::json;

fn top(name: &str) -> ItemPath {
    ItemPath::top(name)
}

fn choice(name: &str) -> Value {
    Value::Choice(name.into())
}

fn cantons() -> Form {
    form(
        vec![
            question(
                "age",
                "integer",
                json!({"required": "true()", "constraint": ". < 120"}),
            ),
            question("province", "select_one:provinces", json!({})),
            question(
                "canton",
                "select_one:cantons",
                json!({"choice_filter": "province = ${province}"}),
            ),
            group("site", json!({}), vec![question("name", "text", json!({}))]),
            group(
                "owner",
                json!({}),
                vec![question("name", "text", json!({}))],
            ),
            repeat(
                "people",
                json!({}),
                vec![question("weight", "decimal", json!({}))],
            ),
        ],
        json!({
            "provinces": [{"name": "esmeraldas"}, {"name": "guayas"}],
            "cantons": [
                {"name": "quininde", "extra": {"province": "esmeraldas"}},
                {"name": "duran", "extra": {"province": "guayas"}},
            ],
        }),
    )
}

fn answered(pairs: &[(&str, Value)]) -> Answers {
    let mut answers = Answers::default();
    for (name, value) in pairs {
        answers
            .fields
            .insert(name.to_string(), Answer::Value(value.clone()));
    }
    answers
}

fn refusal(answers: &Answers, path: &ItemPath, value: Value) -> InvalidAnswer {
    check_answer(&cantons(), answers, path, &value).expect_err("refused")
}

#[test]
fn a_question_the_form_does_not_have_is_refused_naming_it() {
    let refused = refusal(
        &Answers::default(),
        &top("colour"),
        Value::Text("red".into()),
    );
    assert_eq!(refused.question, "colour");
    assert!(
        refused.reason.contains("has no question colour"),
        "{refused}"
    );
}

#[test]
fn text_in_an_integer_question_is_refused() {
    let refused = refusal(&Answers::default(), &top("age"), Value::Text("ten".into()));
    assert_eq!(refused.question, "age");
    assert!(refused.reason.contains("integer question"), "{refused}");
    check_answer(
        &cantons(),
        &Answers::default(),
        &top("age"),
        &Value::Integer(10),
    )
    .unwrap();
}

#[test]
fn a_choice_outside_its_list_is_refused() {
    let refused = refusal(&Answers::default(), &top("province"), choice("pichincha"));
    assert!(
        refused
            .reason
            .contains("not a choice of the list provinces"),
        "{refused}"
    );
}

#[test]
fn a_choice_its_filter_leaves_out_is_refused_given_the_other_answers() {
    let answers = answered(&[("province", choice("esmeraldas"))]);
    let refused = refusal(&answers, &top("canton"), choice("duran"));
    assert!(
        refused.reason.contains("its filter leaves (quininde)"),
        "{refused}"
    );
    check_answer(&cantons(), &answers, &top("canton"), &choice("quininde")).unwrap();
    assert!(needs_answers(&cantons(), &top("canton")));
    assert!(!needs_answers(&cantons(), &top("province")));
}

#[test]
fn a_name_repeated_in_groups_is_answered_by_its_path_only() {
    let text = Value::Text("Ana".into());
    check_answer(&cantons(), &Answers::default(), &top("site/name"), &text).unwrap();
    let refused = refusal(&Answers::default(), &top("name"), text);
    assert!(refused.reason.contains("has no question name"), "{refused}");
}

#[test]
fn a_question_inside_a_repeat_is_refused_outside_it() {
    let refused = refusal(&Answers::default(), &top("weight"), Value::Decimal(3.5));
    assert!(
        refused.reason.contains("inside the repeats [people]"),
        "{refused}"
    );
    let inside = top("").inside("people", "p1", "weight");
    let mut answers = Answers::default();
    answers.fields.insert(
        "people".into(),
        Answer::Repeat(vec![crate::answers::RepeatInstance {
            id: "p1".into(),
            answers: Answers::default(),
        }]),
    );
    check_answer(&cantons(), &answers, &inside, &Value::Integer(3)).unwrap();
}

#[test]
fn a_group_holds_no_value() {
    let refused = refusal(&Answers::default(), &top("site"), Value::Text("x".into()));
    assert!(refused.reason.contains("holds no value"), "{refused}");
}

#[test]
fn completing_lists_missing_answers_and_broken_constraints() {
    let blockers = completion_blockers(&cantons(), &Answers::default(), context());
    assert_eq!(blockers.len(), 1, "{blockers:?}");
    assert_eq!(blockers[0].question, "age");
    assert!(blockers[0].reason.starts_with("required"));
    let broken = answered(&[("age", Value::Integer(130))]);
    let blockers = completion_blockers(&cantons(), &broken, context());
    assert!(blockers[0].reason.starts_with("constraint"), "{blockers:?}");
    let fine = answered(&[("age", Value::Integer(30))]);
    assert!(completion_blockers(&cantons(), &fine, context()).is_empty());
}
