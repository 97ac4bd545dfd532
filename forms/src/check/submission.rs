//! Checking a whole submission at once, as it arrived from elsewhere (by sync, a bundle or an
//! import): every stored answer against its form version, with the same rules a typed answer
//! meets ([`super::check_answer`]), and, for a submission marked complete, what would block
//! completing it. Nothing is refused here: the caller keeps the submission and flags it with
//! the reasons.

use super::{among_left, blockers, filter_checked, fits, index, locate, Index, InvalidAnswer};
use crate::answers::{Answer, Answers};
use crate::eval::{compile, CompiledForm, Context, FormSession, InstanceStep, ItemPath};
use crate::model::{Form, Item};
use crate::value::Value;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

/// One form version, ready to check many submissions: the form and, compiled once, what
/// evaluates it (`None` for a form that does not compile, whose filters and completion are
/// then not checked; published forms compile). Build one per form version and keep it.
#[derive(Debug, Clone)]
pub struct FormChecker {
    form: Form,
    compiled: Option<Arc<CompiledForm>>,
    /// Whether some question is required or constrained: only then can completing be blocked,
    /// so only then is a complete submission evaluated.
    can_block: bool,
}

impl FormChecker {
    /// Compiles `form` once. Cost: compiling the form.
    pub fn new(form: Form) -> FormChecker {
        let compiled = compile(&form).ok().map(Arc::new);
        let can_block = any_question(&form.survey, &|q| {
            q.logic.required.is_some() || q.logic.constraint.is_some()
        });
        FormChecker {
            form,
            compiled,
            can_block,
        }
    }

    /// The form version this checker checks against.
    pub fn form(&self) -> &Form {
        &self.form
    }

    /// Everything in `answers` that does not fit the form, each naming the answer's place
    /// (`people[p1]/weight` inside a repeat) and why: a question the form lacks or a value in
    /// the wrong place, a value of another type, a choice outside its list or what its
    /// `choice_filter` leaves; and if `complete`, every required answer missing and every
    /// constraint broken. Empty when the submission fits. Cost: one walk over the form and one
    /// over the answers; evaluating the answers once if a filtered question is answered or the
    /// submission is complete and some question of the form is required or constrained.
    pub fn problems(
        &self,
        answers: &Answers,
        complete: bool,
        context: Context,
    ) -> Vec<InvalidAnswer> {
        let mut check = Check {
            form: &self.form,
            index: index(&self.form),
            compiled: self.compiled.as_ref(),
            root: answers,
            context,
            session: None,
            found: Vec::new(),
        };
        check.walk(answers, &mut Vec::new());
        if complete && self.can_block {
            if let Some(session) = check.session() {
                let blocking = blockers(session);
                check.found.extend(blocking);
            }
        }
        check.found
    }
}

/// Whether some question of `items`, inside groups and repeats too, satisfies `holds`.
fn any_question(items: &[Item], holds: &dyn Fn(&crate::model::Question) -> bool) -> bool {
    items.iter().any(|item| match item {
        Item::Question(q) => holds(q),
        Item::Group(g) => any_question(&g.children, holds),
        Item::Repeat(r) => any_question(&r.children, holds),
    })
}

/// One submission being checked: what was found so far, and the session over its answers once
/// something needed it.
struct Check<'f> {
    form: &'f Form,
    index: Index<'f>,
    compiled: Option<&'f Arc<CompiledForm>>,
    root: &'f Answers,
    context: Context,
    session: Option<FormSession>,
    found: Vec<InvalidAnswer>,
}

impl Check<'_> {
    /// Checks every answer at `answers`, inside the repeat instances `steps`.
    fn walk(&mut self, answers: &Answers, steps: &mut Vec<InstanceStep>) {
        for (key, answer) in &answers.fields {
            let path = ItemPath {
                instances: steps.clone(),
                name: key.clone(),
            };
            let checked = match answer {
                Answer::Value(value) => self.value(&path, value),
                Answer::Repeat(instances) => self.repeat(&path, instances, steps),
            };
            if let Err(reason) = checked {
                self.found.push(InvalidAnswer {
                    question: path.to_string(),
                    reason,
                });
            }
        }
    }

    /// A value must fit its question and, for a filtered choice, what the filter leaves.
    fn value(&mut self, path: &ItemPath, value: &Value) -> Result<(), String> {
        let question = locate(self.form, &self.index, path)?;
        fits(self.form, question, value)?;
        if !filter_checked(question) {
            return Ok(());
        }
        let left = self
            .session()
            .and_then(|session| session.item(path)?.choices.clone())
            .unwrap_or_default();
        among_left(value, &left)
    }

    /// Repeat instances must be under a repeat of the form, in the right place; their answers
    /// are checked in turn.
    fn repeat(
        &mut self,
        path: &ItemPath,
        instances: &[crate::answers::RepeatInstance],
        steps: &mut Vec<InstanceStep>,
    ) -> Result<(), String> {
        let around: Vec<&str> = steps.iter().map(|s| s.repeat.as_str()).collect();
        match self.index.get(&path.name) {
            Some((Item::Repeat(_), chain)) if *chain == around => {}
            Some((Item::Repeat(_), chain)) => {
                return Err(format!(
                    "the repeat is inside the repeats [{}], not [{}]",
                    chain.join(", "),
                    around.join(", ")
                ))
            }
            Some(_) => return Err("repeat instances under an item that is no repeat".into()),
            None => {
                return Err(format!(
                    "form {} version {} has no repeat {}",
                    self.form.id, self.form.version, path.name
                ))
            }
        }
        for instance in instances {
            steps.push(InstanceStep {
                repeat: path.name.clone(),
                id: instance.id.clone(),
            });
            self.walk(&instance.answers, steps);
            steps.pop();
        }
        Ok(())
    }

    /// The session over the whole submission, evaluated on first use.
    fn session(&mut self) -> Option<&FormSession> {
        if self.session.is_none() {
            let compiled = self.compiled?.clone();
            self.session = Some(FormSession::new(
                compiled,
                self.root.clone(),
                self.context.clone(),
            ));
        }
        self.session.as_ref()
    }
}

/// The reasons as a projection keeps them (the store's and the hub's): a JSON list of
/// `{question, reason}`, or `None` when there are none (the submission fits).
pub fn encode_reasons(found: &[InvalidAnswer]) -> Option<String> {
    if found.is_empty() {
        return None;
    }
    serde_json::to_string(found).ok()
}

/// The reasons [`encode_reasons`] kept, read back; none for `None` or for other text.
pub fn decode_reasons(kept: Option<&str>) -> Vec<InvalidAnswer> {
    kept.and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or_default()
}

/// Checkers of form versions by a caller's key (a form document's id and heads in a store; a
/// project, form id and version in a hub), built once and shared: what a process keeps so
/// that checking a received submission does not compile its form again. At most `capacity`
/// are kept; when full it starts over (a project has few form versions in use).
pub struct CheckerCache<K> {
    capacity: usize,
    kept: Mutex<Option<HashMap<K, Arc<FormChecker>>>>,
}

impl<K: Hash + Eq + Clone> CheckerCache<K> {
    /// An empty cache that keeps at most `capacity` checkers (usable as a `static`).
    pub const fn new(capacity: usize) -> Self {
        CheckerCache {
            capacity,
            kept: Mutex::new(None),
        }
    }

    /// The checker kept under `key`, or the one built from what `form` reads (kept from then
    /// on); `Ok(None)` when `form` finds none. `form` runs outside the cache's lock. Cost: a
    /// hash lookup; on a miss, `form` and compiling the form.
    pub fn get_or_build<E>(
        &self,
        key: &K,
        form: impl FnOnce() -> Result<Option<Form>, E>,
    ) -> Result<Option<Arc<FormChecker>>, E> {
        if let Some(found) = self.lock().as_ref().and_then(|kept| kept.get(key)) {
            return Ok(Some(found.clone()));
        }
        let Some(form) = form()? else {
            return Ok(None);
        };
        let built = Arc::new(FormChecker::new(form));
        let mut kept = self.lock();
        let kept = kept.get_or_insert_with(HashMap::new);
        if kept.len() >= self.capacity {
            kept.clear();
        }
        kept.insert(key.clone(), built.clone());
        Ok(Some(built))
    }

    /// The kept checkers, even after a panic elsewhere: they are only copies of forms.
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<HashMap<K, Arc<FormChecker>>>> {
        self.kept
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
