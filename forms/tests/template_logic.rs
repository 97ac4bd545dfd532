//! The built-in forms' logic, run by the engine on answer sets a facilitator would give: consent
//! gates the assessment, counts follow the incidents ticked, cantons follow the province, and the
//! checks (ages, dates, counts, priorities) refuse what they should and accept the rest.

use chrono::{DateTime, NaiveDate};
use minga_forms::eval::{compile, Context, FormSession, Issue, ItemPath};
use minga_forms::{templates, Answers, Form, Value};
use std::sync::Arc;

fn session(form: &Form) -> FormSession {
    let compiled = compile(form).unwrap_or_else(|e| panic!("{} compiles: {e:?}", form.id));
    let context = Context {
        language: Some("English (en)".into()),
        now: DateTime::parse_from_rfc3339("2026-11-29T10:00:00-05:00").unwrap(),
        device_id: "phone-1".into(),
        user_name: "facilitator".into(),
    };
    FormSession::new(Arc::new(compiled), Answers::default(), context)
}

fn set(session: &mut FormSession, name: &str, value: Value) {
    session
        .set(&ItemPath::top(name), Some(value))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
}

fn choice(name: &str) -> Value {
    Value::Choice(name.into())
}

fn choices(names: &[&str]) -> Value {
    Value::Choices(names.iter().map(|n| n.to_string()).collect())
}

fn date(text: &str) -> Value {
    Value::Date(NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap())
}

fn shown(session: &FormSession, name: &str) -> bool {
    session
        .item(&ItemPath::top(name))
        .unwrap_or_else(|| panic!("{name}"))
        .relevant
}

fn violation(session: &FormSession, name: &str) -> Option<String> {
    session
        .item(&ItemPath::top(name))
        .unwrap_or_else(|| panic!("{name}"))
        .violation
        .clone()
}

fn missing(session: &FormSession) -> Vec<String> {
    session
        .problems()
        .into_iter()
        .filter_map(|issue| match issue {
            Issue::Missing { path, .. } => Some(path.name),
            Issue::Constraint { .. } => None,
        })
        .collect()
}

#[test]
fn without_consent_the_assessment_ends_and_can_be_completed() {
    let form = templates::community_safety_assessment();
    let mut s = session(&form);
    assert!(missing(&s).contains(&"consent".to_string()));
    set(&mut s, "consent", choice("no"));
    assert!(shown(&s, "no_consent"));
    for hidden in [
        "assessment",
        "interview_date",
        "respondent_age",
        "safety_night",
        "priority_1",
    ] {
        assert!(!shown(&s, hidden), "{hidden} is hidden without consent");
    }
    assert_eq!(s.problems(), vec![], "nothing else is asked");
}

#[test]
fn with_consent_the_assessment_is_asked_and_required() {
    let form = templates::community_safety_assessment();
    let mut s = session(&form);
    set(&mut s, "consent", choice("yes"));
    assert!(!shown(&s, "no_consent"));
    assert!(shown(&s, "interview_date"));
    let missing = missing(&s);
    for required in [
        "interview_date",
        "province",
        "canton",
        "respondent_age",
        "safety_day",
        "safety_night",
        "incidents",
        "priority_1",
        "priority_3",
    ] {
        assert!(
            missing.contains(&required.to_string()),
            "{required} is required: {missing:?}"
        );
    }
    assert!(
        !missing.contains(&"alarm_works".to_string()),
        "asked only if there is an alarm"
    );
}

#[test]
fn ages_dates_and_priorities_are_checked() {
    let form = templates::community_safety_assessment();
    let mut s = session(&form);
    set(&mut s, "consent", choice("yes"));

    set(&mut s, "respondent_age", Value::Integer(15));
    assert_eq!(
        violation(&s, "respondent_age").as_deref(),
        Some("Age must be between 18 and 110.")
    );
    set(&mut s, "respondent_age", Value::Integer(42));
    assert_eq!(violation(&s, "respondent_age"), None);
    set(&mut s, "years_in_community", Value::Integer(50));
    assert!(
        violation(&s, "years_in_community").is_some(),
        "longer than the respondent's life"
    );
    set(&mut s, "years_in_community", Value::Integer(12));
    assert_eq!(violation(&s, "years_in_community"), None);

    set(&mut s, "interview_date", date("2026-12-25"));
    assert_eq!(
        violation(&s, "interview_date").as_deref(),
        Some("The date cannot be in the future.")
    );
    set(&mut s, "interview_date", date("2026-11-29"));
    assert_eq!(violation(&s, "interview_date"), None);

    set(&mut s, "priority_1", choice("lighting"));
    set(&mut s, "priority_2", choice("lighting"));
    assert_eq!(
        violation(&s, "priority_2").as_deref(),
        Some("You already chose this priority.")
    );
    set(&mut s, "priority_2", choice("employment"));
    set(&mut s, "priority_3", choice("employment"));
    assert!(violation(&s, "priority_3").is_some());
    set(&mut s, "priority_3", choice("justice_access"));
    assert_eq!(
        (violation(&s, "priority_2"), violation(&s, "priority_3")),
        (None, None)
    );
}

#[test]
fn a_count_is_asked_for_each_incident_ticked_and_is_never_negative() {
    let form = templates::community_safety_assessment();
    let mut s = session(&form);
    set(&mut s, "consent", choice("yes"));
    set(&mut s, "incidents", choices(&["robbery", "extortion"]));
    assert!(shown(&s, "times_robbery") && shown(&s, "times_extortion"));
    assert!(!shown(&s, "times_homicide"));
    assert!(missing(&s).contains(&"times_robbery".to_string()));
    set(&mut s, "times_robbery", Value::Integer(-1));
    assert!(violation(&s, "times_robbery").is_some());
    set(&mut s, "times_robbery", Value::Integer(3));
    assert_eq!(violation(&s, "times_robbery"), None);

    set(&mut s, "incidents", choices(&["none", "robbery"]));
    assert!(
        violation(&s, "incidents").is_some(),
        "'none' with another incident"
    );
    set(&mut s, "incidents", choices(&["none"]));
    assert_eq!(violation(&s, "incidents"), None);
    assert!(!shown(&s, "times_robbery"));
}

#[test]
fn the_alarm_is_rated_only_where_there_is_one() {
    let form = templates::community_safety_assessment();
    let mut s = session(&form);
    set(&mut s, "consent", choice("yes"));
    set(&mut s, "alarm_exists", choice("no"));
    assert!(!shown(&s, "alarm_works"));
    set(&mut s, "alarm_exists", choice("yes"));
    assert!(shown(&s, "alarm_works"));
}

#[test]
fn the_cantons_offered_are_those_of_the_province_chosen() {
    let form = templates::stakeholder_dialogue();
    let mut s = session(&form);
    set(&mut s, "province", choice("esmeraldas"));
    let offered = s
        .item(&ItemPath::top("canton"))
        .unwrap()
        .choices
        .clone()
        .unwrap();
    assert_eq!(
        offered,
        [
            "esm_esmeraldas",
            "esm_atacames",
            "esm_eloy_alfaro",
            "esm_muisne",
            "esm_quininde",
            "esm_rioverde",
            "esm_san_lorenzo"
        ]
    );
    set(&mut s, "province", choice("sucumbios"));
    let offered = s
        .item(&ItemPath::top("canton"))
        .unwrap()
        .choices
        .clone()
        .unwrap();
    assert_eq!(offered.len(), 7);
    assert!(offered.iter().all(|c| c.starts_with("suc_")));
}

#[test]
fn follow_up_and_agreement_dates_cannot_precede_the_dialogue() {
    let form = templates::stakeholder_dialogue();
    let mut s = session(&form);
    set(&mut s, "dialogue_date", date("2026-11-20"));
    assert!(!shown(&s, "follow_up_date"));
    set(&mut s, "follow_up", choice("yes"));
    assert!(shown(&s, "follow_up_date"));
    set(&mut s, "follow_up_date", date("2026-11-01"));
    assert!(violation(&s, "follow_up_date").is_some());
    set(&mut s, "follow_up_date", date("2026-12-05"));
    assert_eq!(violation(&s, "follow_up_date"), None);

    let agreements = ItemPath::top("agreements");
    s.add_instance(&agreements, "a1").unwrap();
    let due = ItemPath::top("").inside("agreements", "a1", "agreement_due");
    s.set(&due, Some(date("2026-11-10"))).unwrap();
    assert_eq!(
        s.item(&due).unwrap().violation.as_deref(),
        Some("The deadline cannot be before the dialogue.")
    );
    s.set(&due, Some(date("2026-12-15"))).unwrap();
    assert_eq!(s.item(&due).unwrap().violation, None);

    set(&mut s, "dialogue_type", choice("other"));
    assert!(shown(&s, "dialogue_type_other"));
    set(&mut s, "concerns", choices(&["extortion", "none"]));
    assert!(violation(&s, "concerns").is_some());
}
