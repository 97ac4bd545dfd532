//! What the form's logic writes into the answers by itself: a question's `default` (and a
//! metadata question's `start`, `today`, `deviceid`, `username`) when its
//! submission or repeat instance is new, and the instances a `repeat_count` asks for. Each
//! such write is returned as a [`SessionEdit`] so that the store makes the same one.
//!
//! A repeat follows its count only while it is shown: a hidden repeat keeps its instances (as a
//! hidden question keeps its answer), and catches up when it shows again. A count that drops
//! removes the last instances with their answers, as ODK Collect does (the store's history
//! still holds them): an app should set a count question when the person leaves it, not on
//! every keystroke.

use super::{repeat_instances, FormSession};
use crate::answers::{Answers, RepeatInstance};
use crate::eval::compiled::ItemKind;
use crate::eval::scalar::{parse_date_like, Scalar};
use crate::eval::state::{InstanceStep, ItemPath, SessionEdit};
use crate::model::QuestionType;
use crate::value::{GeoPoint, Value};
use chrono::NaiveTime;
use std::collections::HashSet;

/// The most instances a `repeat_count` creates, whatever it evaluates to: a mistyped count
/// must not fill a phone's memory.
pub(super) const MAX_COUNTED_INSTANCES: usize = 10_000;

impl FormSession {
    /// Gives every unanswered question of one instance (`instances` leads to it; empty for the
    /// top level) that has a `default` its value, in form order, so a default may read an
    /// earlier one. A default that does not fit the question's type is left out. Counts the
    /// defaults change are followed by the caller, once all are in.
    pub(super) fn fill_defaults(
        &mut self,
        instances: &[InstanceStep],
        scope: usize,
        edits: &mut Vec<SessionEdit>,
    ) {
        let items = self.form.scopes[scope].items.clone();
        for item in items {
            let info = &self.form.items[item];
            let ItemKind::Question(kind) = &info.kind else {
                continue;
            };
            if info.columns.calculation.is_some() {
                continue;
            }
            let metadata = self.started_metadata(kind);
            if info.columns.default.is_none() && metadata.is_none() {
                continue;
            }
            let kind = kind.clone();
            let path = ItemPath {
                instances: instances.to_vec(),
                name: info.key.clone(),
            };
            let default = self.item(&path).and_then(|state| state.default.clone());
            let Some(value) = metadata.or_else(|| default.and_then(|d| typed(&kind, &d))) else {
                continue;
            };
            if self.set_without_counts(&path, Some(value.clone())).is_ok() {
                edits.push(SessionEdit::SetAnswer { path, value });
            }
        }
    }

    /// The value a metadata question stores when the submission starts, as ODK does: `start`
    /// and `today` the moment, `deviceid` and `username` the context's (`end` is stored when
    /// the submission is completed).
    fn started_metadata(&self, kind: &QuestionType) -> Option<Value> {
        let now = self.context.now;
        match kind {
            QuestionType::Start => Some(Value::DateTime(now)),
            QuestionType::Today => Some(Value::Date(now.date_naive())),
            QuestionType::DeviceId => Some(Value::Text(self.context.device_id.clone())),
            QuestionType::Username => Some(Value::Text(self.context.user_name.clone())),
            _ => None,
        }
    }

    /// Brings every shown repeat with a `repeat_count` to that many instances, new instances
    /// getting their defaults; returns whether any instance came or went. Each repeat is
    /// resized at most once per call, so a count that reads its own instances cannot loop.
    pub(super) fn follow_counts(&mut self, edits: &mut Vec<SessionEdit>) -> bool {
        if !self.has_counts() {
            return false;
        }
        let mut resized = HashSet::new();
        while let Some((repeat, wanted)) = self.next_unmet_count(&resized) {
            resized.insert(repeat.clone());
            self.resize(&repeat, wanted, edits);
        }
        !resized.is_empty()
    }

    /// Whether the item `name` is a repeat with a `repeat_count`.
    pub(super) fn is_counted(&self, name: &str) -> bool {
        self.form.by_key.get(name).is_some_and(|&item| {
            let info = &self.form.items[item];
            matches!(info.kind, ItemKind::Repeat { .. }) && info.columns.repeat_count.is_some()
        })
    }

    fn has_counts(&self) -> bool {
        self.form
            .items
            .iter()
            .any(|info| info.columns.repeat_count.is_some())
    }

    /// The first shown counted repeat whose instances differ from its count.
    fn next_unmet_count(&self, resized: &HashSet<ItemPath>) -> Option<(ItemPath, usize)> {
        self.state().into_iter().find_map(|(path, state)| {
            let wanted = state.repeat_count?.min(MAX_COUNTED_INSTANCES);
            if !state.relevant || resized.contains(&path) {
                return None;
            }
            let have = self.instance_ids(&path).ok()?.len();
            (have != wanted).then_some((path, wanted))
        })
    }

    /// Adds instances at the end of `repeat`, or removes its last ones, until it has `wanted`.
    fn resize(&mut self, repeat: &ItemPath, wanted: usize, edits: &mut Vec<SessionEdit>) {
        let Some(ItemKind::Repeat { scope, .. }) = self.item_kind(&repeat.name) else {
            return;
        };
        let Some(instances) = repeat_instances(&mut self.answers, repeat) else {
            return;
        };
        let mut added = Vec::new();
        while instances.len() < wanted {
            let id = uuid::Uuid::now_v7().simple().to_string();
            instances.push(RepeatInstance {
                id: id.clone(),
                answers: Answers::default(),
            });
            added.push(id);
        }
        let removed = instances.split_off(wanted.min(instances.len()));
        for id in &added {
            edits.push(SessionEdit::AddInstance {
                repeat: repeat.clone(),
                id: id.clone(),
            });
        }
        // The last instance goes first, so that each removal leaves the others in place.
        for instance in removed.into_iter().rev() {
            edits.push(SessionEdit::RemoveInstance {
                repeat: repeat.clone(),
                id: instance.id,
            });
        }
        self.rebuild();
        for id in added {
            let inside = repeat.inside(&repeat.name, &id, "");
            self.fill_defaults(&inside.instances, scope, edits);
        }
    }
}

/// A default as the answer its question stores; `None` when it does not fit the type (a
/// default of `abc` for an integer) or the type takes no default (files, metadata).
pub(super) fn typed(kind: &QuestionType, default: &Scalar) -> Option<Value> {
    if default.is_empty() {
        return None;
    }
    let text = default.to_text();
    let number = default.to_number();
    match kind {
        QuestionType::Text
        | QuestionType::Barcode
        | QuestionType::Hidden
        | QuestionType::Acknowledge => Some(Value::Text(text)),
        QuestionType::Integer => whole(number).map(Value::Integer),
        QuestionType::Range => whole(number)
            .map(Value::Integer)
            .or_else(|| number.is_finite().then_some(Value::Decimal(number))),
        QuestionType::Decimal => number.is_finite().then_some(Value::Decimal(number)),
        QuestionType::SelectOne(_) => Some(Value::Choice(text.trim().to_string())),
        QuestionType::SelectMultiple(_) => Some(Value::Choices(
            text.split_whitespace().map(str::to_string).collect(),
        )),
        QuestionType::Date => match date_like(default)? {
            Scalar::Date(date) => Some(Value::Date(date)),
            Scalar::DateTime(at) => Some(Value::Date(at.date_naive())),
            _ => None,
        },
        QuestionType::DateTime => match date_like(default)? {
            Scalar::DateTime(at) => Some(Value::DateTime(at)),
            _ => None,
        },
        QuestionType::Time => ["%H:%M:%S%.f", "%H:%M"]
            .iter()
            .find_map(|format| NaiveTime::parse_from_str(text.trim(), format).ok())
            .map(Value::Time),
        QuestionType::GeoPoint => geopoint(&text)
            .filter(|point| point.check().is_ok())
            .map(Value::GeoPoint),
        _ => None,
    }
}

fn whole(number: f64) -> Option<i64> {
    let fits = number.is_finite() && number.fract() == 0.0 && number.abs() < i64::MAX as f64;
    fits.then_some(number as i64)
}

fn date_like(default: &Scalar) -> Option<Scalar> {
    match default {
        Scalar::Date(_) | Scalar::DateTime(_) => Some(default.clone()),
        other => parse_date_like(&other.to_text()),
    }
}

/// `latitude longitude [altitude [accuracy]]`, as XLSForm writes a geopoint.
fn geopoint(text: &str) -> Option<GeoPoint> {
    let numbers: Vec<f64> = text
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    match numbers.as_slice() {
        [latitude, longitude, rest @ ..] if rest.len() <= 2 => Some(GeoPoint {
            latitude: *latitude,
            longitude: *longitude,
            altitude: rest.first().copied(),
            accuracy: rest.get(1).copied(),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::compile;
    use crate::eval::state::SessionError;
    use crate::eval::testing::{context, form, question, repeat};
    use chrono::NaiveDate;
    use serde_json::json;
    use std::sync::Arc;

    fn top(name: &str) -> ItemPath {
        ItemPath::top(name)
    }

    /// `visitor` (default `anon`), `visit_day` (default `today()`), `show`, `how_many`
    /// (default 2), and the repeat `child` (shown while `show` is not `no`, counted by
    /// `how_many`) holding `cname` (default `sin nombre`) and `age` (a default that is no
    /// integer).
    fn counted() -> Arc<crate::eval::CompiledForm> {
        let survey = vec![
            question("visitor", "text", json!({"default": "anon"})),
            question("visit_day", "date", json!({"default": "today()"})),
            question("show", "text", json!({})),
            question("how_many", "integer", json!({"default": "2"})),
            repeat(
                "child",
                json!({"repeat_count": "${how_many}", "relevant": "${show} != 'no'"}),
                vec![
                    question("cname", "text", json!({"default": "sin nombre"})),
                    question("age", "integer", json!({"default": "abc"})),
                ],
            ),
        ];
        Arc::new(compile(&form(survey, json!({}))).unwrap())
    }

    fn set(path: ItemPath, value: Value) -> SessionEdit {
        SessionEdit::SetAnswer { path, value }
    }

    fn added(edits: &[SessionEdit]) -> Vec<String> {
        edits
            .iter()
            .filter_map(|edit| match edit {
                SessionEdit::AddInstance { id, .. } => Some(id.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_new_submission_gets_its_defaults_and_its_counted_instances() {
        let (session, edits) = FormSession::start(counted(), context());
        let ids = added(&edits);
        assert_eq!(ids.len(), 2);
        assert_eq!(session.instance_ids(&top("child")).unwrap(), ids);
        assert!(ids.iter().all(|id| id.len() == 32), "{ids:?}");
        let name_in = |id: &str| top("").inside("child", id, "cname");
        let text = |s: &str| Value::Text(s.into());
        let day = NaiveDate::from_ymd_opt(2024, 3, 15).unwrap();
        let expected = vec![
            set(top("visitor"), text("anon")),
            set(top("visit_day"), Value::Date(day)),
            set(top("how_many"), Value::Integer(2)),
            SessionEdit::AddInstance {
                repeat: top("child"),
                id: ids[0].clone(),
            },
            SessionEdit::AddInstance {
                repeat: top("child"),
                id: ids[1].clone(),
            },
            set(name_in(&ids[0]), text("sin nombre")),
            set(name_in(&ids[1]), text("sin nombre")),
        ];
        assert_eq!(edits, expected, "the integer default `abc` is left out");
        assert_eq!(session.answers().value("visitor"), Some(&text("anon")));
        let instance = &session.answers().instances("child")[1];
        assert_eq!(instance.answers.value("cname"), Some(&text("sin nombre")));
        assert_eq!(instance.answers.value("age"), None);
    }

    #[test]
    fn a_default_never_overrides_an_answer_and_does_not_come_back_when_cleared() {
        let (mut session, _) = FormSession::start(counted(), context());
        let mut stored = session.answers().clone();
        stored.fields.insert(
            "visitor".into(),
            crate::answers::Answer::Value(Value::Text("Rosa".into())),
        );
        let mut reopened = FormSession::new(counted(), stored, context());
        let delta = reopened.follow_repeat_counts();
        assert_eq!(delta.edits, vec![]);
        assert_eq!(
            reopened.item(&top("visitor")).unwrap().value,
            Scalar::Text("Rosa".into())
        );
        let delta = session.set(&top("visitor"), None).unwrap();
        assert_eq!(delta.edits, vec![]);
        assert_eq!(session.answers().value("visitor"), None);
        assert_eq!(
            session.item(&top("visitor")).unwrap().default,
            Some(Scalar::Text("anon".into())),
            "the state still offers the default to a UI that wants to show it"
        );
    }

    #[test]
    fn a_shown_counted_repeat_follows_its_count_and_a_hidden_one_keeps_its_instances() {
        let (mut session, edits) = FormSession::start(counted(), context());
        let first = added(&edits);
        let delta = session
            .set(&top("how_many"), Some(Value::Integer(3)))
            .unwrap();
        let third = added(&delta.edits);
        assert!(delta.everything);
        assert_eq!(third.len(), 1);
        assert_eq!(delta.edits.len(), 2, "the new instance gets its default");
        assert_eq!(
            session.instance_ids(&top("child")).unwrap(),
            [first.clone(), third].concat()
        );

        session
            .set(&top("show"), Some(Value::Text("no".into())))
            .unwrap();
        let delta = session
            .set(&top("how_many"), Some(Value::Integer(0)))
            .unwrap();
        assert_eq!(delta.edits, vec![]);
        assert_eq!(session.instance_ids(&top("child")).unwrap().len(), 3);
        let delta = session.set(&top("show"), None).unwrap();
        let removed: Vec<SessionEdit> = session_ids_removed(&delta.edits);
        assert_eq!(removed.len(), 3, "{:?}", delta.edits);
        assert!(session.instance_ids(&top("child")).unwrap().is_empty());

        assert_eq!(
            session.add_instance(&top("child"), "mine"),
            Err(SessionError::CountedRepeat("child".into()))
        );
        assert_eq!(
            session.remove_instance(&top("child"), &first[0]),
            Err(SessionError::CountedRepeat("child".into()))
        );
    }

    fn session_ids_removed(edits: &[SessionEdit]) -> Vec<SessionEdit> {
        edits
            .iter()
            .filter(|edit| matches!(edit, SessionEdit::RemoveInstance { .. }))
            .cloned()
            .collect()
    }

    #[test]
    fn an_added_instance_gets_its_defaults() {
        let survey = vec![repeat(
            "people",
            json!({}),
            vec![question(
                "role",
                "select_one:roles",
                json!({"default": "member"}),
            )],
        )];
        let compiled =
            Arc::new(compile(&form(survey, json!({"roles": [{"name": "member"}]}))).unwrap());
        let mut session = FormSession::new(compiled, Answers::default(), context());
        let delta = session.add_instance(&top("people"), "p1").unwrap();
        assert_eq!(
            delta.edits,
            vec![set(
                top("").inside("people", "p1", "role"),
                Value::Choice("member".into())
            )]
        );
    }

    #[test]
    fn defaults_take_the_type_of_their_question() {
        let number = Scalar::Number(3.0);
        assert_eq!(
            typed(&QuestionType::Integer, &number),
            Some(Value::Integer(3))
        );
        assert_eq!(typed(&QuestionType::Integer, &Scalar::Number(2.5)), None);
        assert_eq!(
            typed(&QuestionType::Decimal, &Scalar::Text("2.5".into())),
            Some(Value::Decimal(2.5))
        );
        assert_eq!(
            typed(
                &QuestionType::SelectMultiple("l".into()),
                &Scalar::Text("a  b".into())
            ),
            Some(Value::Choices(["a".into(), "b".into()].into()))
        );
        let at = chrono::DateTime::parse_from_rfc3339("2024-03-15T22:30:00-05:00").unwrap();
        assert_eq!(
            typed(&QuestionType::Date, &Scalar::DateTime(at)),
            Some(Value::Date(at.date_naive()))
        );
        assert_eq!(
            typed(&QuestionType::Time, &Scalar::Text("07:45".into())),
            NaiveTime::from_hms_opt(7, 45, 0).map(Value::Time)
        );
        assert_eq!(
            typed(
                &QuestionType::GeoPoint,
                &Scalar::Text("0.35 -78.12 2800".into())
            ),
            Some(Value::GeoPoint(GeoPoint {
                latitude: 0.35,
                longitude: -78.12,
                altitude: Some(2800.0),
                accuracy: None,
            }))
        );
        assert_eq!(
            typed(&QuestionType::GeoPoint, &Scalar::Text("north".into())),
            None
        );
        assert_eq!(
            typed(&QuestionType::GeoPoint, &Scalar::Text("1000 -500".into())),
            None,
            "a default off the globe is left out"
        );
        assert_eq!(
            typed(&QuestionType::Image, &Scalar::Text("a.jpg".into())),
            None
        );
    }
}

/// Where the corpus is (the rule the integration tests follow too).
#[cfg(test)]
#[path = "../../../tests/common/shared.rs"]
mod shared_folder;

/// The corpus's real forms (`../shared/corpus/xlsform`, SKIPPED where a clone has none),
/// started as new submissions.
#[cfg(test)]
mod corpus {
    use super::shared_folder as shared;
    use super::*;
    use crate::eval::{compile, testing::context};
    use std::sync::Arc;

    /// Every corpus form that imports and compiles, by file name; `None` once `test` has said
    /// SKIPPED.
    fn compiled_corpus(test: &str) -> Option<Vec<(String, Arc<crate::eval::CompiledForm>)>> {
        let dir = shared::xlsform_corpus(test)?;
        let mut forms = Vec::new();
        for folder in ["pyxform", "webforms"] {
            for entry in std::fs::read_dir(dir.join(folder)).expect("the corpus is there") {
                let path = entry.expect("a readable entry").path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                let Ok(form) = crate::xlsform::import(&std::fs::read(&path).unwrap(), &name) else {
                    continue;
                };
                if let Ok(compiled) = compile(&form) {
                    forms.push((name, Arc::new(compiled)));
                }
            }
        }
        forms.sort_by(|a, b| a.0.cmp(&b.0));
        Some(forms)
    }

    /// The stored answer at `path`.
    fn answer<'a>(answers: &'a Answers, path: &ItemPath) -> Option<&'a Value> {
        let mut level = answers;
        for step in &path.instances {
            let instances = level.instances(&step.repeat);
            level = &instances.iter().find(|i| i.id == step.id)?.answers;
        }
        level.value(&path.name)
    }

    #[test]
    fn corpus_forms_start_with_their_defaults_and_counted_instances() {
        let Some(corpus) =
            compiled_corpus("corpus_forms_start_with_their_defaults_and_counted_instances")
        else {
            return;
        };
        let (mut defaults, mut instances) = (Vec::new(), Vec::new());
        for (name, compiled) in corpus {
            let (session, edits) = FormSession::start(compiled, context());
            for (path, state) in session.state() {
                if let (true, Some(count)) = (state.relevant, state.repeat_count) {
                    let have = session.instance_ids(&path).unwrap().len();
                    assert_eq!(have, count.min(MAX_COUNTED_INSTANCES), "{name}: {path}");
                }
            }
            for edit in &edits {
                match edit {
                    SessionEdit::SetAnswer { path, value } => {
                        let stored = answer(session.answers(), path);
                        assert_eq!(stored, Some(value), "{name}: {path}");
                        defaults.push(format!("{name}: {path}"));
                    }
                    SessionEdit::AddInstance { repeat, .. } => {
                        instances.push(format!("{name}: {repeat}"))
                    }
                    SessionEdit::RemoveInstance { .. } => {
                        panic!("{name}: a new submission lost an instance")
                    }
                    SessionEdit::Calculated { path, value } => {
                        assert_eq!(
                            answer(session.answers(), path),
                            value.as_ref(),
                            "{name}: {path}"
                        );
                    }
                }
            }
        }
        // widgets.xls gives defaults to a decimal, a date and selects; xlsform_spec_test.xlsx
        // counts a repeat to two instances.
        assert!(
            defaults.iter().any(|d| d == "widgets.xls: my_date"),
            "{defaults:?}"
        );
        assert_eq!(
            instances,
            vec!["xlsform_spec_test.xlsx: repeat_test"; 2],
            "{instances:?}"
        );
    }
}
