//! Stored calculations brought up to date before they are exported. A session stores each
//! calculation as it changes, but a merge of two devices' answers, or an edit made outside any
//! session (a supervisor's `set_answer`, the console settling a conflict), changes answers
//! without recomputing what reads them; so the export recomputes every calculation from the
//! submission's answers with the form version it was filled with
//! ([`minga_forms::eval::FormSession::recalculated`]), and an analyst never reads a stale one.
//! What only the filling device knew (`once()`, `now()`, `today()`, `uuid()`) is exported as
//! stored. A submission whose form version the exporter was not given is exported as stored.

use super::ExportSubmission;
use chrono::Utc;
use minga_forms::eval::{compile, CompiledForm, Context, FormSession};
use minga_forms::Form;
use std::collections::HashMap;
use std::sync::Arc;

/// Compiles each form version once for the export and recomputes submissions with it.
pub(super) struct Recalculation<'a> {
    forms: &'a [Form],
    compiled: HashMap<(String, String), Option<Arc<CompiledForm>>>,
}

impl<'a> Recalculation<'a> {
    pub(super) fn new(forms: &'a [Form]) -> Self {
        Recalculation {
            forms,
            compiled: HashMap::new(),
        }
    }

    /// `submission` with its calculations recomputed, when its form version is among the
    /// forms and compiles. Cost: one evaluation of the form per repeat instance; compiling a
    /// version the first time it is met.
    pub(super) fn apply(&mut self, mut submission: ExportSubmission) -> ExportSubmission {
        let Some(form) = self.compiled(&submission.form_id, &submission.form_version) else {
            return submission;
        };
        // Time-reading calculations keep what is stored; the rest read the last change's time,
        // as the device that made it would have.
        let context = Context {
            language: None,
            now: submission.updated_at.with_timezone(&Utc).fixed_offset(),
            device_id: submission.author.clone(),
            user_name: submission.author_name.clone(),
        };
        let answers = std::mem::take(&mut submission.answers);
        submission.answers = FormSession::recalculated(form, answers, context);
        submission
    }

    fn compiled(&mut self, form_id: &str, version: &str) -> Option<Arc<CompiledForm>> {
        let forms = self.forms;
        self.compiled
            .entry((form_id.to_owned(), version.to_owned()))
            .or_insert_with(|| {
                let form = forms
                    .iter()
                    .find(|f| f.id == form_id && f.version == version)?;
                compile(form).ok().map(Arc::new)
            })
            .clone()
    }
}
