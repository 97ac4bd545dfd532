//! Checking a whole submission at once, as it arrived from elsewhere (by sync, a bundle or an
//! import): every stored answer against its form version, with the same rules a typed answer
//! meets ([`super::check_answer`]), and, for a submission marked complete, what would block
//! completing it. Nothing is refused here: the caller keeps the submission and flags it with
//! the reasons.

use super::{among_left, blockers, fits, index, locate, Index, InvalidAnswer};
use crate::answers::{Answer, Answers};
use crate::eval::{compile, CompiledForm, Context, FormSession, InstanceStep, ItemPath};
use crate::model::{Form, Item};
use crate::value::Value;
use std::sync::Arc;

/// One form version, ready to check many submissions: the form and, compiled once, what
/// evaluates it (`None` for a form that does not compile, whose filters and completion are
/// then not checked; published forms compile). Build one per form version and keep it.
#[derive(Debug, Clone)]
pub struct FormChecker {
    form: Form,
    compiled: Option<Arc<CompiledForm>>,
}

impl FormChecker {
    /// Compiles `form` once. Cost: compiling the form.
    pub fn new(form: Form) -> FormChecker {
        let compiled = compile(&form).ok().map(Arc::new);
        FormChecker { form, compiled }
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
    /// submission is complete.
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
        if complete {
            if let Some(session) = check.session() {
                let blocking = blockers(session);
                check.found.extend(blocking);
            }
        }
        check.found
    }
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
        if question.choice_filter.is_none() {
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
