//! Session tests: relevance cascades, required and constraints with their messages, cascading
//! selects, repeats, and incremental recomputation agreeing with a full one.

use super::*;
use crate::eval::testing::{context, form, group, question, repeat, session};
use crate::eval::{compile, Issue, Scalar};
use proptest::prelude::*;
use serde_json::json;

fn top(name: &str) -> ItemPath {
    ItemPath::top(name)
}

fn text(s: &str) -> Option<Value> {
    Some(Value::Text(s.into()))
}

fn choice(s: &str) -> Option<Value> {
    Some(Value::Choice(s.into()))
}

fn shown(session: &FormSession, path: &ItemPath) -> bool {
    session
        .item(path)
        .unwrap_or_else(|| panic!("no item {path}"))
        .relevant
}

/// consent → group `about` → repeat `people` → `pname`, `age` (constraint), `adult` (calc).
fn household() -> crate::model::Form {
    form(
        vec![
            question("consent", "select_one:yn", json!({"required": "yes"})),
            group(
                "about",
                json!({"relevant": "${consent} = 'yes'"}),
                vec![
                    question(
                        "village",
                        "text",
                        json!({"required": "yes", "required_message": {"Español (es)": "Falta el pueblo"}}),
                    ),
                    repeat(
                        "people",
                        json!({"relevant": "${village} != 'nowhere'"}),
                        vec![
                            question("pname", "text", json!({"required": "yes"})),
                            question(
                                "age",
                                "integer",
                                json!({
                                    "constraint": ". >= 0 and . <= 120",
                                    "constraint_message": {"English (en)": "Age must be 0 to 120", "Español (es)": "Edad de 0 a 120"},
                                }),
                            ),
                            question(
                                "adult",
                                "calculate",
                                json!({"calculation": "if(${age} >= 18, 1, 0)"}),
                            ),
                            question(
                                "guardian",
                                "text",
                                json!({"relevant": "${adult} = 0 and ${age} != ''"}),
                            ),
                        ],
                    ),
                ],
            ),
            question(
                "adults",
                "calculate",
                json!({"calculation": "sum(${adult})"}),
            ),
            question(
                "people_count",
                "calculate",
                json!({"calculation": "count(${people})"}),
            ),
        ],
        json!({"yn": [{"name": "yes"}, {"name": "no"}]}),
    )
}

fn person(id: &str, name: &str) -> ItemPath {
    top("").inside("people", id, name)
}

fn household_session() -> FormSession {
    let mut session = session(&household(), &[]);
    session.add_instance(&top("people"), "p1").unwrap();
    session.add_instance(&top("people"), "p2").unwrap();
    session
}

#[test]
fn a_hidden_group_hides_its_children_and_their_repeats() {
    let mut session = household_session();
    assert!(!shown(&session, &top("village")));
    assert!(!shown(&session, &person("p1", "age")));
    let delta = session.set(&top("consent"), choice("yes")).unwrap();
    assert!(delta.changed.contains(&top("about")));
    assert!(delta.changed.contains(&person("p2", "pname")));
    assert!(shown(&session, &person("p1", "age")));
    session.set(&top("village"), text("nowhere")).unwrap();
    assert!(shown(&session, &top("village")));
    assert!(
        !shown(&session, &person("p1", "age")),
        "the repeat's own relevant hides its instances"
    );
}

#[test]
fn calculations_read_their_own_instance_and_totals_read_all() {
    let mut session = household_session();
    session.set(&top("consent"), choice("yes")).unwrap();
    session
        .set(&person("p1", "age"), Some(Value::Integer(30)))
        .unwrap();
    session
        .set(&person("p2", "age"), Some(Value::Integer(7)))
        .unwrap();
    assert_eq!(
        session.item(&person("p1", "adult")).unwrap().value,
        Scalar::Number(1.0)
    );
    assert_eq!(
        session.item(&person("p2", "adult")).unwrap().value,
        Scalar::Number(0.0)
    );
    assert!(shown(&session, &person("p2", "guardian")));
    assert!(!shown(&session, &person("p1", "guardian")));
    assert_eq!(
        session.item(&top("adults")).unwrap().value,
        Scalar::Number(1.0)
    );
    assert_eq!(
        session.item(&top("people_count")).unwrap().value,
        Scalar::Number(2.0)
    );
    let delta = session
        .set(&person("p2", "age"), Some(Value::Integer(40)))
        .unwrap();
    assert_eq!(
        session.item(&top("adults")).unwrap().value,
        Scalar::Number(2.0)
    );
    assert!(delta.changed.contains(&top("adults")));
    assert!(
        !delta.changed.contains(&person("p1", "adult")),
        "the other instance is untouched"
    );
}

#[test]
fn hidden_answers_are_kept_but_count_for_nothing() {
    let mut session = household_session();
    session.set(&top("consent"), choice("yes")).unwrap();
    session
        .set(&person("p1", "age"), Some(Value::Integer(300)))
        .unwrap();
    assert!(session
        .problems()
        .iter()
        .any(|i| matches!(i, Issue::Constraint { path, .. } if *path == person("p1", "age"))));
    session.set(&top("consent"), choice("no")).unwrap();
    assert_eq!(
        session.problems(),
        vec![],
        "hidden questions neither miss nor break"
    );
    assert_eq!(
        session.item(&person("p1", "age")).unwrap().value,
        Scalar::default()
    );
    let stored = &session.answers().instances("people")[0].answers;
    assert_eq!(stored.value("age"), Some(&Value::Integer(300)));
}

#[test]
fn problems_list_missing_answers_and_broken_constraints_in_the_language() {
    let mut session = household_session();
    assert_eq!(
        session.problems(),
        vec![Issue::Missing {
            path: top("consent"),
            message: "This question is required.".into()
        }]
    );
    session.set(&top("consent"), choice("yes")).unwrap();
    session
        .set(&person("p1", "age"), Some(Value::Integer(-1)))
        .unwrap();
    let problems = session.problems();
    assert!(
        problems.contains(&Issue::Missing {
            path: top("village"),
            message: "Falta el pueblo".into()
        }),
        "falls back to any language given"
    );
    assert!(problems.contains(&Issue::Missing {
        path: person("p2", "pname"),
        message: "This question is required.".into()
    }));
    assert!(problems.contains(&Issue::Constraint {
        path: person("p1", "age"),
        message: "Age must be 0 to 120".into()
    }));
    assert_eq!(problems.len(), 4, "{problems:?}");

    session.set_context(Context {
        language: Some("Español (es)".into()),
        ..context()
    });
    let problems = session.problems();
    assert!(problems.contains(&Issue::Constraint {
        path: person("p1", "age"),
        message: "Edad de 0 a 120".into()
    }));
    assert!(problems.contains(&Issue::Missing {
        path: person("p2", "pname"),
        message: "Esta pregunta es obligatoria.".into()
    }));
    session.set_context(Context {
        language: Some("Kichwa (qu)".into()),
        ..context()
    });
    assert!(
        session.problems().contains(&Issue::Constraint {
            path: person("p1", "age"),
            message: "Age must be 0 to 120".into()
        }),
        "the default language"
    );
}

#[test]
fn a_constraint_without_a_message_gets_a_default_one() {
    let f = form(
        vec![question("n", "integer", json!({"constraint": ". < 10"}))],
        json!({}),
    );
    let mut session = session(&f, &[]);
    assert_eq!(
        session.item(&top("n")).unwrap().violation,
        None,
        "unanswered breaks nothing"
    );
    session.set(&top("n"), Some(Value::Integer(12))).unwrap();
    assert_eq!(
        session.item(&top("n")).unwrap().violation.as_deref(),
        Some("The answer is not valid.")
    );
    session.set(&top("n"), None).unwrap();
    assert_eq!(session.item(&top("n")).unwrap().violation, None);
}

#[test]
fn a_cascading_select_filters_by_an_extra_column() {
    let f = form(
        vec![
            question("province", "select_one:provinces", json!({})),
            question(
                "canton",
                "select_one:cantons",
                json!({"choice_filter": "province = ${province}"}),
            ),
            question(
                "near",
                "select_one:cantons",
                json!({"choice_filter": "name != 'quininde' and selected(${province}, province)"}),
            ),
        ],
        json!({
            "provinces": [{"name": "esmeraldas"}, {"name": "guayas"}],
            "cantons": [
                {"name": "esmeraldas_c", "extra": {"province": "esmeraldas"}},
                {"name": "quininde", "extra": {"province": "esmeraldas"}},
                {"name": "guayaquil", "extra": {"province": "guayas"}},
                {"name": "duran", "extra": {"province": "guayas"}},
            ],
        }),
    );
    let mut session = session(&f, &[]);
    assert_eq!(session.item(&top("canton")).unwrap().choices, Some(vec![]));
    let delta = session.set(&top("province"), choice("esmeraldas")).unwrap();
    assert!(delta.changed.contains(&top("canton")));
    assert_eq!(
        session.item(&top("canton")).unwrap().choices,
        Some(vec!["esmeraldas_c".into(), "quininde".into()])
    );
    assert_eq!(
        session.item(&top("near")).unwrap().choices,
        Some(vec!["esmeraldas_c".into()])
    );
    session.set(&top("province"), choice("guayas")).unwrap();
    assert_eq!(
        session.item(&top("canton")).unwrap().choices,
        Some(vec!["guayaquil".into(), "duran".into()])
    );
    assert_eq!(
        session.item(&top("province")).unwrap().choices,
        None,
        "no filter, no list"
    );
}

#[test]
fn repeat_count_position_and_indexed_repeat() {
    let f = form(
        vec![
            question("how_many", "integer", json!({})),
            repeat(
                "child",
                json!({"repeat_count": "${how_many}"}),
                vec![
                    question("cname", "text", json!({})),
                    question(
                        "number",
                        "calculate",
                        json!({"calculation": "position(..)"}),
                    ),
                    question(
                        "previous",
                        "calculate",
                        json!({"calculation": "if(position(..) > 1, indexed-repeat(${cname}, ${child}, position(..) - 1), '')"}),
                    ),
                ],
            ),
            question(
                "first",
                "calculate",
                json!({"calculation": "indexed-repeat(${cname}, ${child}, 1)"}),
            ),
        ],
        json!({}),
    );
    let mut stored = Answers::default();
    stored
        .fields
        .insert("how_many".into(), Answer::Value(Value::Integer(3)));
    let instances = ["a", "b", "c"].map(|id| RepeatInstance {
        id: id.into(),
        answers: Answers::default(),
    });
    stored
        .fields
        .insert("child".into(), Answer::Repeat(instances.to_vec()));
    let compiled = Arc::new(compile(&f).unwrap());
    let mut session = FormSession::new(compiled, stored, context());
    assert_eq!(session.item(&top("child")).unwrap().repeat_count, Some(3));
    assert_eq!(
        session.instance_ids(&top("child")).unwrap(),
        vec!["a", "b", "c"]
    );
    let child = |id: &str, name: &str| top("").inside("child", id, name);
    session.set(&child("a", "cname"), text("Ana")).unwrap();
    session.set(&child("b", "cname"), text("Beto")).unwrap();
    assert_eq!(
        session.item(&child("c", "number")).unwrap().value,
        Scalar::Number(3.0)
    );
    assert_eq!(
        session.item(&child("c", "previous")).unwrap().value,
        Scalar::Text("Beto".into())
    );
    assert_eq!(
        session.item(&child("b", "previous")).unwrap().value,
        Scalar::Text("Ana".into())
    );
    assert_eq!(
        session.item(&top("first")).unwrap().value,
        Scalar::Text("Ana".into())
    );
    let delta = session
        .set(&top("how_many"), Some(Value::Integer(1)))
        .unwrap();
    assert_eq!(session.item(&top("child")).unwrap().repeat_count, Some(1));
    assert_eq!(session.instance_ids(&top("child")).unwrap(), vec!["a"]);
    let removed = |id: &str| SessionEdit::RemoveInstance {
        repeat: top("child"),
        id: id.into(),
    };
    assert!(delta.everything);
    let instances: Vec<SessionEdit> = delta
        .edits
        .iter()
        .filter(|edit| !matches!(edit, SessionEdit::Calculated { .. }))
        .cloned()
        .collect();
    assert_eq!(instances, vec![removed("c"), removed("b")]);
    assert_eq!(
        session.item(&top("first")).unwrap().value,
        Scalar::Text("Ana".into())
    );
}

#[test]
fn read_only_default_and_instance_name() {
    let mut f = form(
        vec![
            question(
                "name",
                "text",
                json!({"default": "anon", "read_only": "${locked} = 'yes'"}),
            ),
            question("locked", "text", json!({})),
            question("when", "date", json!({"default": "today()"})),
        ],
        json!({}),
    );
    f.instance_name = Some("concat('Visit: ', ${name})".into());
    let mut session = session(&f, &[]);
    assert_eq!(
        session.item(&top("name")).unwrap().default,
        Some(Scalar::Text("anon".into()))
    );
    assert_eq!(
        session
            .item(&top("when"))
            .unwrap()
            .default
            .as_ref()
            .map(Scalar::to_text)
            .as_deref(),
        Some("2024-03-15")
    );
    session.set(&top("name"), text("Rosa")).unwrap();
    assert_eq!(session.item(&top("name")).unwrap().default, None);
    assert_eq!(session.instance_name(), Some("Visit: Rosa"));
    assert!(!session.item(&top("name")).unwrap().read_only);
    session.set(&top("locked"), text("yes")).unwrap();
    assert!(session.item(&top("name")).unwrap().read_only);
}

#[test]
fn bad_paths_are_typed_errors() {
    let mut session = household_session();
    assert_eq!(
        session.set(&top("nope"), text("x")),
        Err(SessionError::UnknownItem("nope".into()))
    );
    assert_eq!(
        session.set(&top("about"), text("x")),
        Err(SessionError::NotAQuestion("about".into()))
    );
    assert_eq!(
        session.set(&top("age"), text("x")),
        Err(SessionError::WrongNesting("age".into()))
    );
    assert_eq!(
        session.set(&person("p9", "age"), text("x")),
        Err(SessionError::UnknownInstance {
            repeat: "people".into(),
            id: "p9".into()
        })
    );
    assert_eq!(
        session.add_instance(&top("consent"), "x"),
        Err(SessionError::NotARepeat("consent".into()))
    );
    assert_eq!(
        session.add_instance(&top("people"), "p1"),
        Err(SessionError::DuplicateInstance {
            repeat: "people".into(),
            id: "p1".into()
        })
    );
}

#[test]
fn setting_the_same_answer_changes_nothing() {
    let mut session = household_session();
    session.set(&top("consent"), choice("yes")).unwrap();
    assert_eq!(
        session.set(&top("consent"), choice("yes")).unwrap(),
        Delta::default()
    );
}

#[test]
fn a_point_off_the_globe_is_refused_and_the_answer_before_it_stays() {
    let mut session = session(
        &form(vec![question("where", "geo_point", json!({}))], json!({})),
        &[],
    );
    let at = |latitude, longitude| {
        Some(Value::GeoPoint(crate::GeoPoint {
            latitude,
            longitude,
            altitude: None,
            accuracy: None,
        }))
    };
    session.set(&top("where"), at(0.35, -78.12)).unwrap();
    let refused = session.set(&top("where"), at(1000.0, -500.0));
    assert_eq!(
        refused,
        Err(SessionError::ImpossibleAnswer {
            question: "where".into(),
            problem: crate::ImpossibleValue {
                reason: "latitude 1000 is outside -90..=90".into()
            },
        })
    );
    assert_eq!(session.answers().value("where"), at(0.35, -78.12).as_ref());
}

/// One step of a random filling-in of the household form.
#[derive(Debug, Clone)]
enum Step {
    Consent(bool),
    Village(u8),
    Age(usize, Option<i64>),
    Name(usize, Option<u8>),
    /// Adds the instance if it is missing, else removes it.
    Toggle(usize),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        any::<bool>().prop_map(Step::Consent),
        (0u8..3).prop_map(Step::Village),
        (0usize..4, proptest::option::of(-5i64..130)).prop_map(|(i, a)| Step::Age(i, a)),
        (0usize..4, proptest::option::of(0u8..3)).prop_map(|(i, n)| Step::Name(i, n)),
        (0usize..4).prop_map(Step::Toggle),
    ]
}

fn apply(session: &mut FormSession, step: &Step) {
    let ids = ["p1", "p2", "p3", "p4"];
    let present = |session: &FormSession, i: usize| {
        session
            .instance_ids(&top("people"))
            .unwrap()
            .contains(&ids[i])
    };
    let result = match step {
        Step::Consent(yes) => session.set(&top("consent"), choice(if *yes { "yes" } else { "no" })),
        Step::Village(v) => {
            session.set(&top("village"), text(["home", "nowhere", ""][*v as usize]))
        }
        Step::Age(i, _) | Step::Name(i, _) if !present(session, *i) => return,
        Step::Age(i, age) => session.set(&person(ids[*i], "age"), age.map(Value::Integer)),
        Step::Name(i, name) => session.set(
            &person(ids[*i], "pname"),
            name.map(|n| Value::Text(format!("n{n}"))),
        ),
        Step::Toggle(i) if present(session, *i) => session.remove_instance(&top("people"), ids[*i]),
        Step::Toggle(i) => session.add_instance(&top("people"), ids[*i]),
    };
    result.expect("every step addresses an existing question");
}

proptest! {
    #[test]
    fn incremental_recomputation_matches_a_full_one(steps in proptest::collection::vec(step(), 1..30)) {
        let compiled = Arc::new(compile(&household()).unwrap());
        let mut incremental = FormSession::new(Arc::clone(&compiled), Answers::default(), context());
        for id in ["p1", "p2", "p3", "p4"] {
            incremental.add_instance(&top("people"), id).unwrap();
        }
        for step in &steps {
            apply(&mut incremental, step);
            let full = FormSession::new(Arc::clone(&compiled), incremental.answers().clone(), context());
            prop_assert_eq!(incremental.state(), full.state(), "after {:?}", step);
            prop_assert_eq!(incremental.problems(), full.problems());
        }
    }
}

#[test]
fn metadata_questions_hold_the_context_until_answered() {
    let f = form(
        vec![
            question("device", "device_id", json!({})),
            question("who", "username", json!({})),
            question("day", "today", json!({})),
            question(
                "tag",
                "calculate",
                json!({"calculation": "concat(${who}, '@', ${device}, ' ', ${day})"}),
            ),
        ],
        json!({}),
    );
    let mut session = session(&f, &[]);
    assert_eq!(
        session.item(&top("tag")).unwrap().value,
        Scalar::Text("ana@device-1 2024-03-15".into())
    );
    session.set(&top("who"), text("luis")).unwrap();
    assert_eq!(
        session.item(&top("tag")).unwrap().value,
        Scalar::Text("luis@device-1 2024-03-15".into())
    );
}

#[test]
fn a_change_that_reaches_most_of_a_large_form_takes_one_full_pass() {
    let compiled = Arc::new(compile(&household()).unwrap());
    let mut answers = Answers::default();
    answers
        .fields
        .insert("consent".into(), Answer::Value(Value::Choice("yes".into())));
    let people = (0..400)
        .map(|i| {
            let mut person = Answers::default();
            person
                .fields
                .insert("age".into(), Answer::Value(Value::Integer(i % 40)));
            RepeatInstance {
                id: format!("p{i}"),
                answers: person,
            }
        })
        .collect();
    answers
        .fields
        .insert("people".into(), Answer::Repeat(people));
    let mut session = FormSession::new(Arc::clone(&compiled), answers, context());

    let small = session
        .set(&person("p7", "age"), Some(Value::Integer(50)))
        .unwrap();
    assert!(!small.everything && small.changed.contains(&person("p7", "adult")));
    let large = session.set(&top("consent"), choice("no")).unwrap();
    assert!(large.everything && large.changed.is_empty());
    let full = FormSession::new(Arc::clone(&compiled), session.answers().clone(), context());
    assert_eq!(session.state(), full.state());
    session.set(&top("consent"), choice("yes")).unwrap();
    session
        .set(&person("p8", "age"), Some(Value::Integer(50)))
        .unwrap();
    let full = FormSession::new(compiled, session.answers().clone(), context());
    assert_eq!(
        session.state(),
        full.state(),
        "the flags were cleared: later changes still propagate"
    );
}

#[test]
fn nested_repeats_read_their_own_instances_and_roll_up() {
    let f = form(
        vec![
            repeat(
                "family",
                json!({}),
                vec![
                    question("surname", "text", json!({})),
                    repeat(
                        "kid",
                        json!({}),
                        vec![
                            question("kname", "text", json!({})),
                            question("toys", "integer", json!({})),
                            question(
                                "full",
                                "calculate",
                                json!({"calculation": "concat(${kname}, ' ', ${surname})"}),
                            ),
                        ],
                    ),
                    question(
                        "family_toys",
                        "calculate",
                        json!({"calculation": "sum(${toys})"}),
                    ),
                    question("kids", "calculate", json!({"calculation": "count(${kid})"})),
                ],
            ),
            question(
                "all_toys",
                "calculate",
                json!({"calculation": "sum(${toys})"}),
            ),
        ],
        json!({}),
    );
    let mut session = session(&f, &[]);
    for family in ["a", "b"] {
        session.add_instance(&top("family"), family).unwrap();
        for kid in ["1", "2"] {
            session
                .add_instance(&top("").inside("family", family, "kid"), kid)
                .unwrap();
        }
    }
    let kid = |family: &str, kid: &str, name: &str| {
        top("")
            .inside("family", family, "")
            .inside("kid", kid, name)
    };
    let family = |id: &str, name: &str| top("").inside("family", id, name);
    session
        .set(&family("a", "surname"), text("Quispe"))
        .unwrap();
    session.set(&kid("a", "2", "kname"), text("Nina")).unwrap();
    for (f, k, n) in [("a", "1", 1), ("a", "2", 2), ("b", "1", 4), ("b", "2", 8)] {
        session
            .set(&kid(f, k, "toys"), Some(Value::Integer(n)))
            .unwrap();
    }
    let value =
        |session: &FormSession, path: &ItemPath| session.item(path).unwrap().value.to_text();
    assert_eq!(value(&session, &kid("a", "2", "full")), "Nina Quispe");
    assert_eq!(value(&session, &kid("b", "2", "full")), " ");
    assert_eq!(value(&session, &family("a", "family_toys")), "3");
    assert_eq!(value(&session, &family("b", "family_toys")), "12");
    assert_eq!(value(&session, &family("b", "kids")), "2");
    assert_eq!(value(&session, &top("all_toys")), "15");
    let delta = session
        .set(&kid("b", "1", "toys"), Some(Value::Integer(0)))
        .unwrap();
    assert_eq!(value(&session, &top("all_toys")), "11");
    assert!(delta.changed.contains(&family("b", "family_toys")));
    assert!(!delta.changed.contains(&family("a", "family_toys")));
    let full = FormSession::new(
        Arc::new(compile(&f).unwrap()),
        session.answers().clone(),
        context(),
    );
    assert_eq!(session.state(), full.state());
}

#[test]
fn starting_a_submission_stores_start_today_deviceid_and_username_once() {
    let f = form(
        vec![
            question("start", "start", json!({})),
            question("today", "today", json!({})),
            question("deviceid", "device_id", json!({})),
            question("username", "username", json!({})),
            question("end", "end", json!({})),
        ],
        json!({}),
    );
    let compiled = Arc::new(compile(&f).unwrap());
    let (session, edits) = FormSession::start(compiled.clone(), context());
    let now = context().now;
    let answers = session.answers();
    assert_eq!(answers.value("start"), Some(&Value::DateTime(now)));
    assert_eq!(answers.value("today"), Some(&Value::Date(now.date_naive())));
    assert_eq!(
        answers.value("deviceid"),
        Some(&Value::Text("device-1".into()))
    );
    assert_eq!(answers.value("username"), Some(&Value::Text("ana".into())));
    assert_eq!(answers.value("end"), None, "end is stored on completion");
    assert_eq!(edits.len(), 4);
    let mut later = context();
    later.now += chrono::Duration::hours(2);
    let reopened = FormSession::new(compiled, answers.clone(), later);
    assert_eq!(
        reopened.answers().value("start"),
        Some(&Value::DateTime(now))
    );
}
