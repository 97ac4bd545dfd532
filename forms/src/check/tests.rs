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

fn with_people(weights: &[(&str, Value)]) -> Answer {
    Answer::Repeat(
        weights
            .iter()
            .map(|(id, weight)| crate::answers::RepeatInstance {
                id: id.to_string(),
                answers: answered(&[("weight", weight.clone())]),
            })
            .collect(),
    )
}

#[test]
fn a_whole_submission_lists_every_answer_that_does_not_fit_with_its_place() {
    let mut answers = answered(&[
        ("colour", Value::Text("red".into())),
        ("age", Value::Text("ten".into())),
        ("province", choice("esmeraldas")),
        ("canton", choice("duran")),
        ("weight", Value::Decimal(2.0)),
    ]);
    let people = with_people(&[("p1", Value::Decimal(3.5)), ("p2", Value::Text("x".into()))]);
    answers.fields.insert("people".into(), people);
    let found = FormChecker::new(cantons()).problems(&answers, false, context());
    let named: Vec<(&str, &str)> = found
        .iter()
        .map(|p| (p.question.as_str(), p.reason.as_str()))
        .collect();
    let expected = [
        ("age", "integer question"),
        ("canton", "its filter leaves (quininde)"),
        ("colour", "has no question colour"),
        ("people[p2]/weight", "decimal question"),
        ("weight", "inside the repeats [people]"),
    ];
    assert_eq!(found.len(), expected.len(), "{named:?}");
    for ((question, reason), (wanted, because)) in named.iter().zip(expected) {
        assert_eq!(*question, wanted);
        assert!(reason.contains(because), "{question}: {reason}");
    }
}

#[test]
fn a_whole_submission_that_fits_has_no_problems_until_it_claims_to_be_complete() {
    let answers = answered(&[
        ("province", choice("esmeraldas")),
        ("canton", choice("quininde")),
    ]);
    let checker = FormChecker::new(cantons());
    assert!(checker.problems(&answers, false, context()).is_empty());
    let complete = checker.problems(&answers, true, context());
    assert_eq!(complete.len(), 1, "{complete:?}");
    assert_eq!(complete[0].question, "age");
    assert!(complete[0].reason.starts_with("required"));
}

#[test]
fn repeat_instances_under_a_question_or_an_unknown_name_are_flagged() {
    let mut answers = Answers::default();
    answers
        .fields
        .insert("age".into(), with_people(&[("p1", Value::Decimal(1.0))]));
    answers
        .fields
        .insert("pets".into(), with_people(&[("p1", Value::Decimal(1.0))]));
    let found = FormChecker::new(cantons()).problems(&answers, false, context());
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found[0].reason.contains("no repeat"), "{found:?}");
    assert!(found[1].reason.contains("has no repeat pets"), "{found:?}");
}

#[test]
fn a_filtered_choice_from_a_list_file_is_not_judged_without_the_file() {
    // The list is the form version's media, which a checker is not given: judging it against
    // the empty list a form compiles to without it would refuse every answer.
    let communities = form(
        vec![
            question("parish", "text", json!({})),
            question(
                "community",
                "select_one_from_file:communities.csv",
                json!({"choice_filter": "parish = ${parish}"}),
            ),
        ],
        json!({}),
    );
    let answers = answered(&[("parish", Value::Text("tumbaco".into()))]);
    let path = top("community");
    assert!(!needs_answers(&communities, &path));
    assert_eq!(
        check_answer(&communities, &answers, &path, &choice("la_morita")),
        Ok(())
    );
    let mut whole = answers.clone();
    whole
        .fields
        .insert("community".into(), Answer::Value(choice("la_morita")));
    let checker = FormChecker::new(communities);
    assert!(checker.problems(&whole, true, context()).is_empty());
}
