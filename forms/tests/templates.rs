//! The two built-in forms: both import from the library alone, speak Spanish and English
//! throughout, cover the provinces and all their cantons, and carry the skip logic and checks
//! the programmes asked for.

mod common;

use common::questions;
use minga_forms::templates::{self, COMMUNITY_SAFETY_ASSESSMENT, STAKEHOLDER_DIALOGUE};
use minga_forms::{Form, Item, Question, QuestionType};
use std::collections::BTreeMap;

const LANGUAGES: [&str; 2] = ["Español (es)", "English (en)"];

fn question<'a>(form: &'a Form, name: &str) -> &'a Question {
    questions(&form.survey)
        .into_iter()
        .find(|q| q.name == name)
        .unwrap_or_else(|| panic!("{name}"))
}

#[test]
fn every_label_and_option_is_in_spanish_and_english() {
    for form in templates::all() {
        for q in questions(&form.survey) {
            let shown = !matches!(
                q.kind,
                QuestionType::Calculate
                    | QuestionType::Start
                    | QuestionType::End
                    | QuestionType::Today
                    | QuestionType::DeviceId
                    | QuestionType::Username
            );
            if shown {
                for language in LANGUAGES {
                    assert!(
                        q.label.0.contains_key(language),
                        "{}: {} lacks {language}",
                        form.id,
                        q.name
                    );
                }
            }
            for message in [&q.logic.constraint_message, &q.logic.required_message] {
                assert!(
                    message.is_empty() || LANGUAGES.iter().all(|l| message.0.contains_key(*l)),
                    "{}",
                    q.name
                );
            }
        }
        for (list, options) in &form.choices {
            for option in options {
                assert!(
                    LANGUAGES.iter().all(|l| option.label.0.contains_key(*l)),
                    "{list}/{}",
                    option.name
                );
            }
        }
    }
}

#[test]
fn cantons_cascade_from_the_province_and_cover_each_province_whole() {
    let form = templates::stakeholder_dialogue();
    assert_eq!(
        question(&form, "canton").choice_filter.as_deref(),
        Some("province=${province}")
    );
    let provinces: Vec<&str> = form.choices["province"]
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    let mut cantons_per_province: BTreeMap<&str, usize> = BTreeMap::new();
    for canton in &form.choices["canton"] {
        let province = canton
            .extra
            .get("province")
            .expect("each canton names its province");
        assert!(
            provinces.contains(&province.as_str()),
            "{}: {province}",
            canton.name
        );
        *cantons_per_province.entry(province.as_str()).or_default() += 1;
    }
    // Every canton of each province the programmes work in (INEC's political division).
    let expected = [
        ("esmeraldas", 7),
        ("guayas", 25),
        ("manabi", 22),
        ("el_oro", 14),
        ("los_rios", 13),
        ("sucumbios", 7),
    ];
    for (province, count) in expected {
        assert_eq!(
            cantons_per_province.get(province),
            Some(&count),
            "{province}"
        );
    }
    let labels: Vec<&str> = form.choices["canton"]
        .iter()
        .filter_map(|c| c.label.0.get("Español (es)").map(String::as_str))
        .collect();
    for canton in [
        "Quinindé",
        "Durán",
        "Manta",
        "Huaquillas",
        "Quevedo",
        "Lago Agrio (Nueva Loja)",
        "San Lorenzo",
    ] {
        assert!(labels.contains(&canton), "{canton}");
    }
}

#[test]
fn the_dialogue_records_participants_concerns_agreements_and_notes() {
    let form = templates::stakeholder_dialogue();
    let repeats: Vec<(&str, Vec<&str>)> = form
        .survey
        .iter()
        .filter_map(|item| match item {
            Item::Repeat(r) => Some((
                r.name.as_str(),
                questions(&r.children)
                    .iter()
                    .map(|q| q.name.as_str())
                    .collect(),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        repeats,
        [
            (
                "participants",
                vec!["sector", "organisation", "gender", "age_range", "role"]
            ),
            (
                "agreements",
                vec!["agreement_what", "agreement_responsible", "agreement_due"]
            ),
        ]
    );
    assert_eq!(question(&form, "location").kind, QuestionType::GeoPoint);
    assert_eq!(
        question(&form, "notes").appearance.as_deref(),
        Some("multiline")
    );
    let concerns: Vec<&str> = form.choices["concerns"]
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    for concern in [
        "extortion",
        "drug_trafficking",
        "recruitment_minors",
        "homicide",
        "domestic_gender_violence",
        "robbery",
        "prison_violence",
        "lighting_public_space",
    ] {
        assert!(concerns.contains(&concern), "{concern}");
    }
    let sectors: Vec<&str> = form.choices["sector"]
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    for sector in [
        "national_government",
        "local_government",
        "police",
        "justice",
        "civil_society",
        "private_sector",
        "community",
        "youth",
        "women",
    ] {
        assert!(sectors.contains(&sector), "{sector}");
    }
    assert_eq!(
        question(&form, "dialogue_date").logic.constraint.as_deref(),
        Some(". <= today()")
    );
}

#[test]
fn the_assessment_is_gated_by_consent_and_checks_its_answers() {
    let form = templates::community_safety_assessment();
    let gated = form.survey.iter().find_map(|item| match item {
        Item::Group(g) if g.name == "assessment" => Some(g),
        _ => None,
    });
    let gated = gated.expect("everything after consent is in one group");
    assert_eq!(gated.logic.relevant.as_deref(), Some("${consent} = 'yes'"));
    let outside: Vec<&str> = form
        .survey
        .iter()
        .filter_map(|item| match item {
            Item::Question(q) => Some(q.name.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        outside,
        [
            "start",
            "end",
            "today",
            "deviceid",
            "username",
            "introduction",
            "consent",
            "no_consent"
        ]
    );

    // One count per incident, asked only when that incident is ticked, never negative.
    for incident in form.choices["incidents"]
        .iter()
        .filter(|c| c.name != "none")
    {
        let count = question(&form, &format!("times_{}", incident.name));
        assert_eq!(count.kind, QuestionType::Integer);
        assert_eq!(
            count.logic.relevant,
            Some(format!("selected(${{incidents}}, '{}')", incident.name))
        );
        assert!(count
            .logic
            .constraint
            .as_deref()
            .is_some_and(|c| c.starts_with(". >= 0")));
    }
    assert_eq!(
        question(&form, "respondent_age")
            .logic
            .constraint
            .as_deref(),
        Some(". >= 18 and . <= 110")
    );
    assert_eq!(
        question(&form, "interview_date")
            .logic
            .constraint
            .as_deref(),
        Some(". <= today()")
    );
    assert_eq!(
        question(&form, "priority_2").logic.constraint.as_deref(),
        Some(". != ${priority_1}")
    );
    assert_eq!(
        question(&form, "priority_3").logic.constraint.as_deref(),
        Some(". != ${priority_1} and . != ${priority_2}")
    );
    for name in [
        "safety_day",
        "safety_night",
        "change_six_months",
        "trust_police",
        "trust_justice",
        "trust_local_government",
        "alarm_works",
        "organisation_works",
    ] {
        assert!(
            matches!(question(&form, name).kind, QuestionType::SelectOne(_)),
            "{name}"
        );
    }
}

#[test]
fn the_workbooks_are_available_as_bytes_for_programmes_to_adapt() {
    for template in [STAKEHOLDER_DIALOGUE, COMMUNITY_SAFETY_ASSESSMENT] {
        assert!(
            template.xlsx.starts_with(b"PK"),
            "an .xlsx is a zip archive"
        );
        assert!(template.file_name.ends_with(".xlsx"));
    }
}
