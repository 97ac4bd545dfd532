//! Calculations stored in the submission, as ODK stores them: each item with a `calculation`
//! keeps its value in the answers (in a repeat, per instance), so that an export, any other
//! reader of the document, and `once()` (which reads the stored value) see it.
//!
//! The session is the one writer of these values. After each of its changes it compares the
//! value each recomputed calculation gives with the value stored, and writes only those that
//! differ, as [`SessionEdit::Calculated`] edits for the store to follow: one answer changed in
//! one instance of a repeat of 1,000 rewrites that instance's calculations, not the others'.
//! What a calculation stores is its value as the session shows it: nothing while it is hidden
//! (ODK leaves non-relevant nodes out of a submission) or empty, text for a `calculate`
//! (ODK's type for it), the question's own type for a question with a `calculation`.
//!
//! Readers that must not show a stale value (an exporter, after a merge or an edit made
//! outside any session) recompute with [`FormSession::recalculated`].
//!
//! A calculation that calls `once()` is written once: once it holds a value, the session never
//! writes it again, not when it is hidden, not when an instance comes or goes, not when the
//! submission is opened again.

use super::fill::typed;
use super::{answers_at, FormSession};
use crate::answers::{Answer, Answers};
use crate::eval::cexpr::CExpr;
use crate::eval::compiled::CompiledForm;
use crate::eval::compiled::ItemKind;
use crate::eval::functions::Function;
use crate::eval::graph::{node, VALUE};
use crate::eval::scalar::Scalar;
use crate::eval::state::Context;
use crate::eval::state::{ItemPath, SessionEdit};
use crate::eval::tree::chain_of;
use crate::model::QuestionType;
use crate::value::Value;
use std::sync::Arc;

/// Which stored calculations a refresh leaves as they are.
#[derive(Clone, Copy, PartialEq)]
enum Kept {
    /// None: every calculation is written as it computes.
    None,
    /// A value already stored by a calculation that calls `once()` (the session's rule).
    Once,
    /// Whatever is stored (even nothing) by a calculation that calls `once()`, `now()`,
    /// `today()` or `uuid()`: what only the device knew when it stored it (an exporter's rule).
    Moment,
}

impl FormSession {
    /// Stores the value of every calculation of every instance that differs from what is
    /// stored. Cost: one comparison per calculation per instance.
    pub(super) fn store_all_calculations(&mut self, edits: &mut Vec<SessionEdit>) {
        self.store_every_calculation(Kept::Once, edits);
    }

    /// `answers` (a stored submission of `form`) with each calculation's stored value as the
    /// other answers compute it, for a reader that must not show a value gone stale (answers
    /// changed by a merge or an edit outside a session, which recompute nothing): an
    /// exporter. A calculation that calls `once()`, `now()`, `today()` or `uuid()` keeps what
    /// is stored (a moment or a random id only the filling device knew); a hidden one stores
    /// nothing. Repeat counts are not followed. Cost: one evaluation of the whole form per
    /// instance, as opening a session.
    pub fn recalculated(form: Arc<CompiledForm>, answers: Answers, context: Context) -> Answers {
        let mut session = FormSession::new(form, answers, context);
        session.store_every_calculation(Kept::Moment, &mut Vec::new());
        session.into_answers()
    }

    fn store_every_calculation(&mut self, kept: Kept, edits: &mut Vec<SessionEdit>) {
        let calculated: Vec<usize> = (0..self.form.items.len())
            .filter(|&item| self.is_calculation(item))
            .collect();
        for item in calculated {
            let fixed = self.fixed(item, kept);
            for positions in self.cells_of(node(item, VALUE), &[]) {
                self.store_calculation(item, &positions, fixed, edits);
            }
        }
    }

    /// Stores the calculations among `changed` (what one change recomputed) whose value
    /// differs from what is stored. Cost: one lookup per changed item.
    pub(super) fn store_changed_calculations(
        &mut self,
        changed: &[ItemPath],
        edits: &mut Vec<SessionEdit>,
    ) {
        for path in changed {
            let Ok((item, positions)) = self.locate(path) else {
                continue;
            };
            if self.is_calculation(item) {
                let fixed = self.fixed(item, Kept::Once);
                self.store_calculation(item, &positions, fixed, edits);
            }
        }
    }

    /// Whether `item` is a question whose value comes from a `calculation`.
    fn is_calculation(&self, item: usize) -> bool {
        let info = &self.form.items[item];
        info.is_question() && info.columns.calculation.is_some()
    }

    /// Which of `item`'s stored values `kept` leaves as they are: `Kept::None` if its
    /// calculation calls none of the functions `kept` names.
    fn fixed(&self, item: usize, kept: Kept) -> Kept {
        let mut calls = false;
        if let Some(calculation) = &self.form.items[item].columns.calculation {
            calculation.visit(false, &mut |e, _| {
                calls |= matches!(
                    (e, kept),
                    (CExpr::Call(Function::Once, _), Kept::Once | Kept::Moment)
                        | (
                            CExpr::Call(Function::Now | Function::Today | Function::Uuid, _),
                            Kept::Moment,
                        )
                );
            });
        }
        if calls {
            kept
        } else {
            Kept::None
        }
    }

    /// Writes `item`'s value at `positions` into the answers, and into `edits`, if it differs
    /// from what is stored there and `fixed` does not keep what is stored.
    fn store_calculation(
        &mut self,
        item: usize,
        positions: &[usize],
        fixed: Kept,
        edits: &mut Vec<SessionEdit>,
    ) {
        let form = self.form.clone();
        let info = &form.items[item];
        let ItemKind::Question(kind) = &info.kind else {
            return;
        };
        let Some(instance) = self
            .root
            .descend_mut(&form, chain_of(&form, item), positions)
        else {
            return;
        };
        let stored = &mut instance.answers[info.slot];
        let wanted = stored_form(kind, &instance.cells[info.slot].value);
        let keep = match fixed {
            Kept::None => false,
            Kept::Once => stored.is_some(),
            Kept::Moment => true,
        };
        if *stored == wanted || keep {
            return;
        }
        stored.clone_from(&wanted);
        let path = self.path_of(item, positions);
        if let Some(answers) = answers_at(&mut self.answers, &path.instances) {
            match &wanted {
                Some(value) => answers
                    .fields
                    .insert(path.name.clone(), Answer::Value(value.clone())),
                None => answers.fields.remove(&path.name),
            };
        }
        edits.push(SessionEdit::Calculated {
            path,
            value: wanted,
        });
    }
}

/// What a calculation's value stores as: nothing when empty, text for a `calculate`, else the
/// question's type (nothing when the value does not fit it).
fn stored_form(kind: &QuestionType, value: &Scalar) -> Option<Value> {
    match kind {
        _ if value.is_empty() => None,
        QuestionType::Calculate => Some(Value::Text(value.to_text())),
        other => typed(other, value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answers::RepeatInstance;
    use crate::eval::compile;
    use crate::eval::testing::{context, form, question, repeat};
    use serde_json::json;

    fn top(name: &str) -> ItemPath {
        ItemPath::top(name)
    }

    /// `rate` (decimal), the calculations `doubled` (`${rate} * 2`, a `calculate`), `whole`
    /// (an integer question computing `round(${rate})`), `shown_only` (hidden while `rate` is
    /// 0) and `uid` (`once(uuid())`); the repeat `plot` holding `area` (decimal), `weight`
    /// (`${area} * ${rate}`) and `plot_uid` (`once(uuid())`); and `total` (`sum` of the
    /// weights).
    fn farm() -> Arc<CompiledForm> {
        let calculate = |name: &str, calculation: &str| {
            question(name, "calculate", json!({"calculation": calculation}))
        };
        let survey = vec![
            question("rate", "decimal", json!({})),
            calculate("doubled", "${rate} * 2"),
            question("whole", "integer", json!({"calculation": "round(${rate})"})),
            question(
                "shown_only",
                "calculate",
                json!({"calculation": "'yes'", "relevant": "${rate} != 0"}),
            ),
            calculate("uid", "once(uuid())"),
            repeat(
                "plot",
                json!({}),
                vec![
                    question("area", "decimal", json!({})),
                    calculate("weight", "${area} * ${rate}"),
                    calculate("plot_uid", "once(uuid())"),
                ],
            ),
            calculate("total", "sum(${weight})"),
        ];
        Arc::new(compile(&form(survey, json!({}))).unwrap())
    }

    /// The calculated values among `edits`, by path.
    fn calculated(edits: &[SessionEdit]) -> Vec<(String, Option<Value>)> {
        edits
            .iter()
            .filter_map(|edit| match edit {
                SessionEdit::Calculated { path, value } => Some((path.to_string(), value.clone())),
                _ => None,
            })
            .collect()
    }

    fn text(s: &str) -> Option<Value> {
        Some(Value::Text(s.into()))
    }

    /// `farm()` opened over `plots` instances, each with an area of 1, and every calculation
    /// stored.
    fn with_plots(plots: usize) -> FormSession {
        let instances = (0..plots)
            .map(|i| {
                let mut answers = Answers::default();
                answers
                    .fields
                    .insert("area".into(), Answer::Value(Value::Decimal(1.0)));
                RepeatInstance {
                    id: format!("p{i}"),
                    answers,
                }
            })
            .collect();
        let mut answers = Answers::default();
        answers
            .fields
            .insert("rate".into(), Answer::Value(Value::Decimal(2.0)));
        answers
            .fields
            .insert("plot".into(), Answer::Repeat(instances));
        let mut session = FormSession::new(farm(), answers, context());
        session.follow_repeat_counts();
        session
    }

    fn plot(i: usize, name: &str) -> ItemPath {
        top("").inside("plot", &format!("p{i}"), name)
    }

    #[test]
    fn a_new_submission_stores_its_calculations_each_in_its_own_type() {
        let (session, edits) = FormSession::start(farm(), context());
        let stored = calculated(&edits);
        let names: Vec<&str> = stored.iter().map(|(path, _)| path.as_str()).collect();
        // With no rate, `${rate} * 2` is NaN and `'' != 0` holds, as in ODK; `round(NaN)` is
        // no integer, so `whole` stores nothing.
        assert_eq!(
            names,
            ["doubled", "shown_only", "uid", "total"],
            "{stored:?}"
        );
        assert_eq!(stored[0].1, text("NaN"));
        let mut session = session;
        let delta = session
            .set(&top("rate"), Some(Value::Decimal(2.6)))
            .unwrap();
        assert_eq!(
            calculated(&delta.edits),
            vec![
                ("doubled".into(), text("5.2")),
                ("whole".into(), Some(Value::Integer(3))),
            ],
            "what did not change is not written again"
        );
        assert_eq!(session.answers().value("doubled"), text("5.2").as_ref());
        let delta = session
            .set(&top("rate"), Some(Value::Decimal(0.0)))
            .unwrap();
        let hidden = calculated(&delta.edits);
        assert!(
            hidden.contains(&("shown_only".into(), None)),
            "a hidden calculation stores nothing: {hidden:?}"
        );
        assert_eq!(session.answers().value("shown_only"), None);
    }

    #[test]
    fn one_answer_changed_among_a_thousand_instances_rewrites_only_what_it_changed() {
        let mut session = with_plots(1_000);
        let delta = session
            .set(&plot(500, "area"), Some(Value::Decimal(3.0)))
            .unwrap();
        assert_eq!(
            calculated(&delta.edits),
            vec![
                ("plot[p500]/weight".into(), text("6")),
                ("total".into(), text("2004")),
            ]
        );
        let delta = session.set(&plot(500, "area"), None).unwrap();
        assert_eq!(
            calculated(&delta.edits),
            vec![
                ("plot[p500]/weight".into(), text("NaN")),
                ("total".into(), text("NaN")),
            ],
            "an empty area is NaN in arithmetic, as in ODK"
        );
    }

    #[test]
    fn a_change_every_instance_reads_rewrites_every_instance_once() {
        let mut session = with_plots(1_000);
        let delta = session
            .set(&top("rate"), Some(Value::Decimal(3.0)))
            .unwrap();
        let weights = calculated(&delta.edits)
            .into_iter()
            .filter(|(path, _)| path.ends_with("/weight"))
            .count();
        assert_eq!(weights, 1_000);
    }

    #[test]
    fn a_once_value_is_written_once_and_never_again() {
        let (mut session, _) = FormSession::start(farm(), context());
        let uid = session.answers().value("uid").cloned();
        assert!(uid.is_some());
        session.add_instance(&top("plot"), "a").unwrap();
        let plot_uid = |s: &FormSession| {
            s.answers().instances("plot")[0]
                .answers
                .value("plot_uid")
                .cloned()
        };
        let first = plot_uid(&session);
        assert!(first.is_some());
        let delta = session.add_instance(&top("plot"), "b").unwrap();
        let written = calculated(&delta.edits);
        let uids: Vec<&str> = written
            .iter()
            .map(|(p, _)| p.as_str())
            .filter(|p| p.ends_with("uid"))
            .collect();
        assert_eq!(
            uids,
            ["plot[b]/plot_uid"],
            "only the new instance's once() is written"
        );
        session.remove_instance(&top("plot"), "b").unwrap();
        session
            .set(&top("rate"), Some(Value::Decimal(0.0)))
            .unwrap();
        assert_eq!(session.answers().value("uid").cloned(), uid);
        assert_eq!(plot_uid(&session), first);

        let mut reopened = FormSession::new(farm(), session.answers().clone(), context());
        assert_eq!(calculated(&reopened.follow_repeat_counts().edits), vec![]);
        assert_eq!(reopened.answers().value("uid").cloned(), uid);
        assert_eq!(plot_uid(&reopened), first);
    }

    #[test]
    fn opening_answers_changed_outside_a_session_rewrites_only_the_stale_calculations() {
        let mut session = with_plots(3);
        let mut answers = session.answers().clone();
        // As a merge or a supervisor's edit outside a session leaves them: an area changed,
        // its weight and the total not.
        if let Some(Answer::Repeat(plots)) = answers.fields.get_mut("plot") {
            plots[1]
                .answers
                .fields
                .insert("area".into(), Answer::Value(Value::Decimal(5.0)));
        }
        let mut reopened = FormSession::new(farm(), answers, context());
        assert_eq!(
            calculated(&reopened.follow_repeat_counts().edits),
            vec![
                ("plot[p1]/weight".into(), text("10")),
                ("total".into(), text("14")),
            ]
        );
        assert_eq!(calculated(&session.follow_repeat_counts().edits), vec![]);
    }

    #[test]
    fn recalculating_for_a_reader_refreshes_what_the_answers_give_and_keeps_the_moments() {
        let session = with_plots(2);
        let mut answers = session.answers().clone();
        if let Some(Answer::Repeat(plots)) = answers.fields.get_mut("plot") {
            plots[0]
                .answers
                .fields
                .insert("area".into(), Answer::Value(Value::Decimal(4.0)));
        }
        answers.fields.remove("uid");
        let fresh = FormSession::recalculated(farm(), answers, context());
        assert_eq!(
            fresh.instances("plot")[0].answers.value("weight"),
            text("8").as_ref()
        );
        assert_eq!(fresh.value("total"), text("10").as_ref());
        assert_eq!(
            fresh.value("uid"),
            None,
            "a once() value never stored is not made up"
        );
        assert_eq!(
            fresh.instances("plot")[1].answers.value("plot_uid"),
            session.answers().instances("plot")[1]
                .answers
                .value("plot_uid"),
        );
    }
}
