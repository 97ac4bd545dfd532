//! Real XLSForms behave as they do in ODK Collect: `or_other` offers "other" and asks to
//! specify it, labels show the answers they name, and names repeated in different groups import
//! and fill. Forms built in `fixtures/generate.py`, and the corpus forms that exercise the same.

mod common;

use common::{questions, shared::xlsform_corpus};
use minga_forms::eval::{compile, Context, FormSession, ItemPath};
use minga_forms::{xlsform, Answers, Form, Question, QuestionType, Value};
use std::sync::Arc;

fn import_fixture(name: &str) -> Result<Form, xlsform::ImportErrors> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    xlsform::import(&std::fs::read(&path).unwrap(), name)
}

fn fixture(name: &str) -> Form {
    import_fixture(name).unwrap_or_else(|e| panic!("{e}"))
}

fn context(language: &str) -> Context {
    Context {
        language: Some(language.into()),
        now: chrono::DateTime::parse_from_rfc3339("2026-03-14T09:00:00-05:00").unwrap(),
        device_id: "phone-1".into(),
        user_name: "ana".into(),
    }
}

fn session(form: &Form, language: &str) -> FormSession {
    let compiled = compile(form).unwrap_or_else(|e| panic!("{e:?}"));
    FormSession::new(Arc::new(compiled), Answers::default(), context(language))
}

fn shown(session: &FormSession, name: &str) -> bool {
    session.item(&ItemPath::top(name)).unwrap().relevant
}

#[test]
fn or_other_adds_the_other_choice_and_the_question_that_specifies_it() {
    let form = fixture("or_other_translated.xlsx");
    let names: Vec<&str> = questions(&form.survey)
        .iter()
        .map(|q| q.name.as_str())
        .collect();
    assert_eq!(names, ["water", "water_other", "crops", "crops_other"]);
    for list in ["water", "crops"] {
        let other = form.choices[list].last().unwrap();
        assert_eq!(other.name, "other");
        assert_eq!(other.label.get(Some("Español (es)"), None), Some("Other"));
        assert_eq!(other.label.0.len(), 2, "in each language of the list");
    }
    let specify = questions(&form.survey)[1];
    assert_eq!(specify.kind, QuestionType::Text);
    assert_eq!(specify.label.get(None, None), Some("Specify other."));
    assert_eq!(
        specify.logic.relevant.as_deref(),
        Some("selected(../water, 'other')")
    );
}

#[test]
fn choosing_other_shows_its_question_and_the_answer_is_stored_like_any_other() {
    let form = fixture("or_other_translated.xlsx");
    let mut session = session(&form, "English (en)");
    assert!(!shown(&session, "water_other"));
    let water = ItemPath::top("water");
    session
        .set(&water, Some(Value::Text("well".into())))
        .unwrap();
    assert!(!shown(&session, "water_other"));
    let delta = session
        .set(&water, Some(Value::Text("other".into())))
        .unwrap();
    assert!(delta.changed.contains(&ItemPath::top("water_other")));
    assert!(shown(&session, "water_other"));
    let crops = ItemPath::top("crops");
    let both = Value::Choices(["maize".to_string(), "other".to_string()].into());
    session.set(&crops, Some(both)).unwrap();
    assert!(shown(&session, "crops_other"));
    let specified = Value::Text("rain tank".into());
    session
        .set(&ItemPath::top("water_other"), Some(specified.clone()))
        .unwrap();
    assert_eq!(session.answers().value("water_other"), Some(&specified));
}

#[test]
fn the_corpus_or_other_form_offers_other_and_asks_to_specify_it() {
    let Some(corpus) =
        xlsform_corpus("the_corpus_or_other_form_offers_other_and_asks_to_specify_it")
    else {
        return;
    };
    let bytes = std::fs::read(corpus.join("pyxform/or_other.xlsx")).unwrap();
    let form = xlsform::import(&bytes, "or_other.xlsx").unwrap();
    let selects: Vec<&Question> = questions(&form.survey)
        .into_iter()
        .filter(|q| q.or_other)
        .collect();
    assert!(!selects.is_empty());
    let mut session = session(&form, "English (en)");
    for select in selects {
        let (QuestionType::SelectOne(list) | QuestionType::SelectMultiple(list)) = &select.kind
        else {
            panic!("or_other on a select")
        };
        assert!(form.choices[list].iter().any(|c| c.name == "other"));
        let other = match select.kind {
            QuestionType::SelectOne(_) => Value::Text("other".into()),
            _ => Value::Choices(["other".to_string()].into()),
        };
        let specify = format!("{}_other", select.name);
        assert!(!shown(&session, &specify));
        session
            .set(&ItemPath::top(&select.name), Some(other))
            .unwrap();
        assert!(shown(&session, &specify), "{specify}");
    }
}

#[test]
fn a_label_naming_a_calculation_with_jr_choice_name_shows_the_choice_label_in_the_language() {
    let form = fixture("rendered_labels.xlsx");
    let mut session = session(&form, "Español (es)");
    let summary = ItemPath::top("summary");
    let label = |session: &FormSession, name: &str| {
        session.item(&ItemPath::top(name)).unwrap().label.clone()
    };
    assert_eq!(
        label(&session, "summary").as_deref(),
        Some("Edad : riesgo Bajo")
    );
    let delta = session
        .set(&ItemPath::top("age"), Some(Value::Integer(72)))
        .unwrap();
    assert!(delta.changed.contains(&summary));
    assert_eq!(
        label(&session, "summary").as_deref(),
        Some("Edad 72: riesgo Alto")
    );
    assert_eq!(
        label(&session, "risk").as_deref(),
        Some("Riesgo (sugerido: Alto)")
    );
    // The hint is given in English only: Minga shows it in English (pyxform writes `-`).
    let risk = session.item(&ItemPath::top("risk")).unwrap();
    assert_eq!(risk.hint.as_deref(), Some("At 72, the risk is high."));
    let english = Context {
        language: Some("English (en)".into()),
        ..context("English (en)")
    };
    session.set_context(english);
    assert_eq!(
        label(&session, "summary").as_deref(),
        Some("Age 72: High risk")
    );
}

#[test]
fn names_repeated_in_different_groups_import_and_fill_under_their_paths() {
    let form = fixture("duplicate_names.xlsx");
    let mut session = session(&form, "English (en)");
    let answers = [
        ("permission/permission", Value::Text("yes".into())),
        ("site/name", Value::Text("Río Verde school".into())),
        ("visits", Value::Integer(2)),
        ("owner/name", Value::Text("Parroquia".into())),
    ];
    assert!(
        !shown(&session, "owner/name"),
        "owner/name waits for visits"
    );
    for (key, value) in &answers {
        session
            .set(&ItemPath::top(key), Some(value.clone()))
            .unwrap();
    }
    assert!(shown(&session, "owner/name"));
    for (key, value) in &answers {
        assert_eq!(session.answers().value(key), Some(value), "{key}");
    }
    assert_eq!(session.answers().value("name"), None);
    let keys: Vec<String> = session.state().into_iter().map(|(p, _)| p.name).collect();
    assert_eq!(
        keys,
        [
            "permission",
            "permission/permission",
            "site",
            "site/name",
            "visits",
            "owner",
            "owner/name"
        ]
    );
}

#[test]
fn a_reference_to_a_name_in_several_groups_is_refused_with_every_row_that_gives_it() {
    let errors = import_fixture("ambiguous_reference.xlsx").expect_err("pyxform refuses it too");
    let found: Vec<_> = errors.iter().collect();
    assert_eq!(found.len(), 1, "{errors}");
    let at = found[0].location.as_ref().unwrap();
    assert_eq!(
        (at.row, at.column.as_ref().unwrap().letter.as_str()),
        (5, "D")
    );
    assert_eq!(
        found[0].problem,
        xlsform::Problem::AmbiguousReference {
            name: "permission".into(),
            rows: vec![2, 3]
        }
    );
    assert!(errors.to_string().contains("rows 2 and 3"), "{errors}");
}

#[test]
fn one_name_twice_in_a_group_and_two_repeats_of_one_name_are_refused_at_their_rows() {
    let errors = import_fixture("names_refused.xlsx").expect_err("pyxform refuses it too");
    let found: Vec<(u32, &xlsform::Problem)> = errors
        .iter()
        .map(|e| (e.location.as_ref().unwrap().row, &e.problem))
        .collect();
    assert_eq!(
        found,
        [
            (
                7,
                &xlsform::Problem::DuplicateName {
                    name: "y".into(),
                    first_row: 6
                }
            ),
            (
                10,
                &xlsform::Problem::DuplicateRepeatName {
                    name: "visit".into(),
                    first_row: 3
                }
            ),
        ]
    );
}

#[test]
fn a_photos_max_pixels_is_read_and_a_size_that_is_no_number_is_refused_at_its_cell() {
    let errors = import_fixture("photo_parameters.xlsx").expect_err("max-pixels=big is no size");
    let found: Vec<_> = errors.iter().collect();
    assert_eq!(found.len(), 1, "{errors}");
    let at = found[0].location.as_ref().unwrap();
    assert_eq!(
        (at.row, at.column.as_ref().unwrap().letter.as_str()),
        (3, "D")
    );
    assert!(errors.to_string().contains("max-pixels=big"), "{errors}");

    let mut house = Question::new("house", QuestionType::Image);
    house.parameters = Some("max-pixels=1024".into());
    assert_eq!(house.max_pixels(), Some(1024));
    house.parameters = Some("quality=high;max-pixels=640".into());
    assert_eq!(
        (house.max_pixels(), house.parameter("quality")),
        (Some(640), Some("high"))
    );
    house.parameters = Some("max-pixels=0".into());
    assert_eq!(house.max_pixels(), None);
}
