//! Computing one cell of an item's state: its value, whether it is shown, and what the UI reads
//! (required, constraint message, read-only, choices, repeat count, default).

use super::FormSession;
use crate::eval::cexpr::CExpr;
use crate::eval::compiled::{ItemInfo, ItemKind};
use crate::eval::evaluate::Evaluator;
use crate::eval::graph::{KINDS, OUTPUTS, RELEVANT, VALUE};
use crate::eval::labels::Template;
use crate::eval::scalar::Scalar;
use crate::eval::state::{default_message, ItemState};
use crate::eval::tree::chain_of;
use crate::model::{LocalizedText, QuestionType};
use crate::value::Value;

impl FormSession {
    /// Recomputes one cell; returns whether it changed.
    pub(super) fn compute(&mut self, n: usize, positions: &[usize]) -> bool {
        if n == self.form.instance_name_node() {
            let evaluator = self.evaluator(None, positions);
            let name = self
                .form
                .instance_name
                .as_ref()
                .map(|e| evaluator.eval(e).to_text());
            let changed = name != self.instance_name;
            self.instance_name = name;
            return changed;
        }
        let item = n / KINDS;
        let Some(current) = self.cell(item, positions) else {
            return false;
        };
        let update = match n % KINDS {
            VALUE => Update::Value(self.value_of(item, positions, current.relevant)),
            RELEVANT => Update::Relevant(self.relevance_of(item, positions)),
            OUTPUTS => Update::Outputs(self.outputs_of(item, positions, current)),
            _ => return false,
        };
        if update.matches(current) {
            return false;
        }
        let slot = self.form.items[item].slot;
        if let Some(instance) =
            self.root
                .descend_mut(&self.form, chain_of(&self.form, item), positions)
        {
            update.apply(&mut instance.cells[slot]);
        }
        true
    }

    fn evaluator<'a>(&'a self, item: Option<usize>, positions: &'a [usize]) -> Evaluator<'a> {
        Evaluator {
            form: &self.form,
            root: &self.root,
            context: &self.context,
            item,
            path: positions,
            choice: None,
        }
    }

    fn cell(&self, item: usize, positions: &[usize]) -> Option<&ItemState> {
        let instance = self
            .root
            .descend(&self.form, chain_of(&self.form, item), positions)?;
        instance.cells.get(self.form.items[item].slot)
    }

    fn stored(&self, item: usize, positions: &[usize]) -> Option<&Value> {
        let instance = self
            .root
            .descend(&self.form, chain_of(&self.form, item), positions)?;
        instance.answers.get(self.form.items[item].slot)?.as_ref()
    }

    /// The value expressions see: empty while hidden, else the calculation or the answer.
    fn value_of(&self, item: usize, positions: &[usize], relevant: bool) -> Scalar {
        let info = &self.form.items[item];
        if !relevant || !info.is_question() {
            return Scalar::default();
        }
        match (&info.columns.calculation, self.stored(item, positions)) {
            (Some(calculation), _) => self.evaluator(Some(item), positions).scalar(calculation),
            (None, Some(answer)) => Scalar::from_value(answer),
            (None, None) => self.metadata(&info.kind),
        }
    }

    /// What an unanswered metadata question holds: the device, the user, the time.
    fn metadata(&self, kind: &ItemKind) -> Scalar {
        match kind {
            ItemKind::Question(QuestionType::Start | QuestionType::End) => {
                Scalar::DateTime(self.context.now)
            }
            ItemKind::Question(QuestionType::Today) => Scalar::Date(self.context.now.date_naive()),
            ItemKind::Question(QuestionType::DeviceId) => {
                Scalar::Text(self.context.device_id.clone())
            }
            ItemKind::Question(QuestionType::Username) => {
                Scalar::Text(self.context.user_name.clone())
            }
            _ => Scalar::default(),
        }
    }

    /// Shown when the enclosing group or repeat is shown and the item's own `relevant` holds.
    fn relevance_of(&self, item: usize, positions: &[usize]) -> bool {
        let info = &self.form.items[item];
        let parent_shown = info.parent.is_none_or(|parent| {
            let depth = chain_of(&self.form, parent).len();
            self.cell(parent, &positions[..depth])
                .is_some_and(|p| p.relevant)
        });
        parent_shown
            && info
                .columns
                .relevant
                .as_ref()
                .is_none_or(|e| self.evaluator(Some(item), positions).eval(e).to_bool())
    }

    fn outputs_of(&self, item: usize, positions: &[usize], state: &ItemState) -> Outputs {
        let info = &self.form.items[item];
        let columns = &info.columns;
        let evaluator = self.evaluator(Some(item), positions);
        let holds = |e: &Option<_>| e.as_ref().is_some_and(|e| evaluator.eval(e).to_bool());
        let shown = state.relevant;
        let required = shown && holds(&columns.required);
        let broken = shown
            && !state.value.is_empty()
            && columns.constraint.is_some()
            && !holds(&columns.constraint);
        let unanswered = self.stored(item, positions).is_none();
        Outputs {
            required,
            missing: required && answerable(info) && state.value.is_empty(),
            violation: broken.then(|| self.message(&info.constraint_message, false)),
            read_only: holds(&columns.read_only),
            choices: columns
                .choice_filter
                .as_ref()
                .map(|filter| self.filtered_choices(info, item, positions, filter)),
            repeat_count: columns.repeat_count.as_ref().map(|count| {
                let n = evaluator.eval(count).to_number();
                if n.is_finite() && n > 0.0 {
                    n.min(u32::MAX as f64) as usize
                } else {
                    0
                }
            }),
            default: columns
                .default
                .as_ref()
                .filter(|_| unanswered)
                .map(|d| evaluator.scalar(d)),
            label: columns.label.as_ref().map(|t| self.render(t, &evaluator)),
            hint: columns.hint.as_ref().map(|t| self.render(t, &evaluator)),
            choice_labels: info
                .choice_list()
                .and_then(|list| self.form.choice_labels.get(list))
                .map(|labels| {
                    labels
                        .iter()
                        .map(|(name, label)| (name.clone(), self.render(label, &evaluator)))
                        .collect()
                }),
        }
    }

    /// `text` in the context's language (else the form's default language).
    fn render(&self, text: &Template, evaluator: &Evaluator<'_>) -> String {
        let language = self.context.language.as_deref();
        let fallback = self.form.form.default_language.as_deref();
        text.render(language, fallback, |value| evaluator.eval(value).to_text())
    }

    fn filtered_choices(
        &self,
        info: &ItemInfo,
        item: usize,
        positions: &[usize],
        filter: &CExpr,
    ) -> Vec<String> {
        let choices = info.choice_list().and_then(|list| self.form.list(list));
        choices
            .into_iter()
            .flatten()
            .filter(|choice| {
                let evaluator = Evaluator {
                    choice: Some(choice),
                    ..self.evaluator(Some(item), positions)
                };
                evaluator.eval(filter).to_bool()
            })
            .map(|choice| choice.name.clone())
            .collect()
    }

    /// The form's message in the context's language (or the default language), else ours.
    pub(super) fn message(&self, text: &LocalizedText, missing: bool) -> String {
        let language = self.context.language.as_deref();
        match text.get(language, self.form.form.default_language.as_deref()) {
            Some(message) if !message.is_empty() => message.to_string(),
            _ => default_message(language, missing),
        }
    }
}

/// A recomputed part of an item's state.
enum Update {
    Value(Scalar),
    Relevant(bool),
    Outputs(Outputs),
}

/// The parts of an item's state that nothing else reads.
struct Outputs {
    required: bool,
    missing: bool,
    violation: Option<String>,
    read_only: bool,
    choices: Option<Vec<String>>,
    repeat_count: Option<usize>,
    default: Option<Scalar>,
    label: Option<String>,
    hint: Option<String>,
    choice_labels: Option<Vec<(String, String)>>,
}

impl Update {
    fn matches(&self, state: &ItemState) -> bool {
        match self {
            Update::Value(value) => *value == state.value,
            Update::Relevant(relevant) => *relevant == state.relevant,
            Update::Outputs(o) => {
                o.required == state.required
                    && o.missing == state.missing
                    && o.violation == state.violation
                    && o.read_only == state.read_only
                    && o.choices == state.choices
                    && o.repeat_count == state.repeat_count
                    && o.default == state.default
                    && o.label == state.label
                    && o.hint == state.hint
                    && o.choice_labels == state.choice_labels
            }
        }
    }

    fn apply(self, state: &mut ItemState) {
        match self {
            Update::Value(value) => state.value = value,
            Update::Relevant(relevant) => state.relevant = relevant,
            Update::Outputs(o) => {
                state.required = o.required;
                state.missing = o.missing;
                state.violation = o.violation;
                state.read_only = o.read_only;
                state.choices = o.choices;
                state.repeat_count = o.repeat_count;
                state.default = o.default;
                state.label = o.label;
                state.hint = o.hint;
                state.choice_labels = o.choice_labels;
            }
        }
    }
}

/// Whether a question takes an answer from the person (and so can be missing).
fn answerable(info: &ItemInfo) -> bool {
    matches!(&info.kind, ItemKind::Question(kind) if !matches!(kind, QuestionType::Note | QuestionType::Calculate))
}
