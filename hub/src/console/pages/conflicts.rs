//! A submission's conflicts on its page, each answer's concurrent values side by side with who
//! wrote each, and the one-click settling of one (`console::settle`).

use super::field;
use crate::console::settle::{settle, Settled};
use crate::error::{HubError, Result};
use crate::server::state::AppState;
use crate::show::{value_shown, ShownAnswer};
use crate::storage::HubStorage;
use axum::extract::State;
use axum::response::Response;
use minga_core::{DocId, SubmissionDocument};
use minga_forms::Form;

/// One conflicted answer as the page shows it.
pub struct ConflictView {
    pub label: String,
    /// The answer's path as `AnswerPath` displays it, which the settle form sends back.
    pub path: String,
    pub values: Vec<ValueView>,
}

/// One of its values.
pub struct ValueView {
    pub text: String,
    /// Who wrote it: the person and device the document's `authors` map names.
    pub who: String,
    /// The actor that wrote it (hex), which the settle form sends back.
    pub actor: String,
}

/// The label of answer `name` among the shown answers (repeats' instances included).
fn label_among(answers: &[ShownAnswer], name: &str) -> Option<String> {
    answers.iter().find_map(|answer| {
        if answer.name == name {
            return answer.label.clone();
        }
        answer
            .instances
            .iter()
            .find_map(|instance| label_among(instance, name))
    })
}

/// The conflicts of submission `id`, labelled with `answers`' labels and `form`'s choices in
/// `language`, each value's writer by name and device name. Cost: loading the submission and
/// reading every answer, and the project's devices.
pub fn views(
    storage: &dyn HubStorage,
    project: &str,
    id: &str,
    form: Option<&Form>,
    language: Option<&str>,
    answers: &[ShownAnswer],
) -> Result<Vec<ConflictView>> {
    let Some(stored) = storage.document(project, id)? else {
        return Ok(Vec::new());
    };
    let doc_id: DocId = id
        .parse()
        .map_err(|_| HubError::Corrupt(format!("{id} is no submission id")))?;
    let doc = SubmissionDocument::load(&doc_id, &stored.bytes)
        .map_err(|e| HubError::Corrupt(format!("submission {id}: {e}")))?;
    let devices: std::collections::HashMap<String, String> = storage
        .devices(Some(project))?
        .into_iter()
        .map(|device| (device.id, device.name))
        .collect();
    Ok(doc
        .conflicts()
        .into_iter()
        .map(|conflict| ConflictView {
            label: label_among(answers, &conflict.path.name)
                .unwrap_or_else(|| conflict.path.name.clone()),
            path: conflict.path.to_string(),
            values: conflict
                .values
                .into_iter()
                .filter_map(|value| {
                    let text =
                        value_shown(form, language, &conflict.path.name, value.value.as_ref()?);
                    let who = value
                        .author
                        .map(|a| {
                            let device = devices.get(&a.device_id).unwrap_or(&a.device_id);
                            format!("{} ({device})", a.user_name)
                        })
                        .unwrap_or_else(|| value.actor.clone());
                    Some(ValueView {
                        text,
                        who,
                        actor: value.actor,
                    })
                })
                .collect(),
        })
        .collect())
}

/// `POST …/submissions/{id}/settle`: keeps the value `actor` wrote for the answer at `path`.
pub async fn settle_one(
    State(state): State<AppState>,
    super::AskedWrite(asked, sent): super::AskedWrite,
) -> Response {
    let path = field(&sent, "path").unwrap_or_default().to_string();
    let actor = field(&sent, "actor").unwrap_or_default().to_string();
    let (project, id) = (asked.project.clone(), asked.id.clone());
    asked
        .run(&state, move |storage, user| {
            let settled = settle(storage, &project, &id, user, &path, &actor)?;
            Ok((settled == Settled::Done).then(|| format!("settle {path}")))
        })
        .await
}
