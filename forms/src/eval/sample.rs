//! Filling a submission with plausible answers: every shown, unanswered question gets the first
//! candidate value that its constraint accepts, and repeats get instances. For demos, tests and
//! benchmarks ("can this form be completed at all?").

use super::compiled::ItemKind;
use super::session::FormSession;
use super::state::{ItemPath, ItemState};
use crate::model::QuestionType;
use crate::value::{Attachment, GeoPoint, Value};
use chrono::Duration;

/// Instances given to a repeat without a `repeat_count`.
const SAMPLE_INSTANCES: usize = 2;
/// Rounds of filling; each round may reveal questions the previous one's answers showed.
const MAX_ROUNDS: usize = 20;

/// Answers every shown, unanswered, writable question and fills repeats, round after round,
/// until nothing more can be filled. Returns how many answers and instances were added (a
/// repeat with a `repeat_count` gets what its count says). Questions whose candidates all
/// break the constraint are left unanswered (and show in `problems()`).
pub fn fill_sample(session: &mut FormSession) -> usize {
    let mut answered = 0;
    for _ in 0..MAX_ROUNDS {
        let before = answered;
        answered += session.follow_repeat_counts().edits.len();
        let snapshot: Vec<(ItemPath, ItemState)> = session
            .state()
            .into_iter()
            .map(|(p, s)| (p, s.clone()))
            .collect();
        for (path, state) in snapshot {
            answered += fill_item(session, &path, &state);
        }
        if answered == before {
            break;
        }
    }
    answered
}

/// Fills one item if it wants filling; returns how many answers or instances were added.
fn fill_item(session: &mut FormSession, path: &ItemPath, state: &ItemState) -> usize {
    let Some(kind) = session.item_kind(&path.name) else {
        return 0;
    };
    let current = session.item(path).cloned().unwrap_or_default();
    if !current.relevant || current.read_only {
        return 0;
    }
    match kind {
        ItemKind::Repeat { .. } if state.repeat_count.is_none() => {
            add_instances(session, path, SAMPLE_INSTANCES)
        }
        ItemKind::Question(question)
            if current.value.is_empty() && !session.is_calculated(&path.name) =>
        {
            let choices = current
                .choices
                .clone()
                .unwrap_or_else(|| session.choice_names(&path.name));
            for candidate in candidates(&question, &choices, session) {
                let accepted = session.set(path, Some(candidate)).is_ok()
                    && session.item(path).is_some_and(|s| s.violation.is_none());
                if accepted {
                    return 1;
                }
            }
            let _ = session.set(path, None);
            0
        }
        _ => 0,
    }
}

fn add_instances(session: &mut FormSession, repeat: &ItemPath, wanted: usize) -> usize {
    let have = session.instance_ids(repeat).map_or(0, |ids| ids.len());
    let mut added = 0;
    for n in have..wanted {
        let id = format!("{}-{}", repeat.name, n + 1);
        if session.add_instance(repeat, &id).is_ok() {
            added += 1;
        }
    }
    added
}

/// Values to try, most ordinary first.
fn candidates(kind: &QuestionType, choices: &[String], session: &FormSession) -> Vec<Value> {
    let today = session.context().now.date_naive();
    let numbers = [1, 0, 2, 3, 5, 10, 18, 25, 30, 45, 60, 100];
    match kind {
        QuestionType::Text | QuestionType::Barcode | QuestionType::Hidden => {
            ["Ana", "1", "0991234567", "ana@example.org"]
                .map(|s| Value::Text(s.into()))
                .to_vec()
        }
        QuestionType::Acknowledge => vec![Value::Text("OK".into())],
        QuestionType::Integer | QuestionType::Range => numbers.map(Value::Integer).to_vec(),
        QuestionType::Decimal => numbers.map(|n| Value::Decimal(n as f64)).to_vec(),
        QuestionType::SelectOne(_) | QuestionType::SelectOneFromFile(_) => {
            choices.iter().map(|c| Value::Choice(c.clone())).collect()
        }
        QuestionType::SelectMultiple(_) | QuestionType::SelectMultipleFromFile(_) => {
            let singles = choices.iter().map(|c| Value::Choices([c.clone()].into()));
            let pair = (choices.len() >= 2)
                .then(|| Value::Choices(choices[..2].iter().cloned().collect()));
            singles.chain(pair).collect()
        }
        QuestionType::Date => [0, 1, 30, 365 * 30]
            .map(|days| Value::Date(today - Duration::days(days)))
            .to_vec(),
        QuestionType::Time => chrono::NaiveTime::from_hms_opt(10, 0, 0)
            .map(Value::Time)
            .into_iter()
            .collect(),
        QuestionType::DateTime => vec![Value::DateTime(session.context().now)],
        QuestionType::GeoPoint => {
            vec![Value::GeoPoint(GeoPoint {
                latitude: 0.9592,
                longitude: -79.6539,
                altitude: Some(10.0),
                accuracy: Some(5.0),
            })]
        }
        QuestionType::Image | QuestionType::Audio | QuestionType::Video | QuestionType::File => {
            vec![Value::Attachment(Attachment {
                sha256: "0".repeat(64),
                media_type: "application/octet-stream".into(),
                file_name: "sample.bin".into(),
            })]
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::{compile, testing::context};
    use crate::templates;
    use std::sync::Arc;

    #[test]
    fn both_built_in_forms_can_be_completed() {
        for form in templates::all() {
            let compiled =
                Arc::new(compile(&form).unwrap_or_else(|e| panic!("{}: {e:?}", form.id)));
            let mut session = FormSession::new(compiled, Default::default(), context());
            assert!(
                !session.problems().is_empty(),
                "{}: an empty submission is incomplete",
                form.id
            );
            let answered = fill_sample(&mut session);
            assert!(answered > 10, "{}: only {answered} answers", form.id);
            assert_eq!(session.problems(), vec![], "{}", form.id);
        }
    }
}
