//! `submissions show`: one submission as a supervisor reads it. Its projection row (form,
//! status, review state, submitter, times), its answers with the labels of the form version it
//! was filled against (choices by their labels, repeats as numbered instances), its review
//! (verdict and comments) and a summary of its history (who changed it, how often, when, and
//! who signed it).

use crate::error::{HubError, Result};
use crate::signers::{Signer, Signers};
use crate::storage::projection::{object_at, string_at};
use crate::storage::{HubStorage, SubmissionRow};
use automerge::{Automerge, ROOT};
use chrono::{DateTime, Utc};
use minga_forms::{Answer, Answers, Form, Item, QuestionType, Value};
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};

/// Everything `submissions show` prints.
#[derive(Debug, Clone, Serialize)]
pub struct SubmissionDetail {
    #[serde(flatten)]
    pub row: SubmissionRow,
    /// The form version's title, when the hub has that version.
    pub form_title: Option<String>,
    pub answers: Vec<ShownAnswer>,
    pub review: Option<ShownReview>,
    /// Who changed it: one entry per device and person, in order of their first change.
    pub history: Vec<AuthorChanges>,
}

/// One answer, with its question's label.
#[derive(Debug, Clone, Serialize)]
pub struct ShownAnswer {
    pub name: String,
    /// The question's label in the chosen language; `None` for a name the form lacks.
    pub label: Option<String>,
    /// The answer as text (a choice by its label); `None` for a repeat.
    pub text: Option<String>,
    /// The typed value, for scripts; `None` for a repeat.
    pub value: Option<Value>,
    /// A repeat's instances, each its own answers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub instances: Vec<Vec<ShownAnswer>>,
}

/// The review's verdict and comments.
#[derive(Debug, Clone, Serialize)]
pub struct ShownReview {
    pub state: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub comments: Vec<ShownComment>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ShownComment {
    pub text: String,
    /// The question it is about, by name; `None` for the whole submission.
    pub question: Option<String>,
    pub by: String,
    pub at: DateTime<Utc>,
}

/// The changes one device and person made.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuthorChanges {
    /// The device id and person the document names for the changes' actor.
    pub device_id: Option<String>,
    pub user_name: Option<String>,
    /// The hub's name for that device, when it is enrolled here.
    pub device_name: Option<String>,
    /// Who signed them, by the key the hub bound (the `authors` map above is only what the
    /// writer recorded; this is what the signatures prove).
    pub signer: Signer,
    pub changes: usize,
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
}

/// Reads submission `id` of `project` for showing, labels in `language` (else the form's
/// default). Cost: loading the submission and its review once.
pub fn submission_detail(
    storage: &dyn HubStorage,
    project: &str,
    id: &str,
    language: Option<&str>,
) -> Result<SubmissionDetail> {
    let unknown = || HubError::UnknownSubmission {
        project: project.into(),
        id: id.into(),
    };
    let row = storage.submission_row(project, id)?.ok_or_else(unknown)?;
    let bytes = storage.document(project, id)?.ok_or_else(unknown)?.bytes;
    let submission = minga_core::Submission::from_bytes(&bytes)
        .map_err(|e| HubError::Corrupt(format!("submission {id}: {e}")))?;
    let form = storage
        .forms(project)?
        .into_iter()
        .find(|f| f.id == row.form_id && f.version == row.form_version);
    let labels = Labels::new(form.as_ref(), language);
    let devices: BTreeMap<String, String> = storage
        .devices(Some(project))?
        .into_iter()
        .map(|d| (d.id, d.name))
        .collect();
    let doc = Automerge::load(&bytes).map_err(|e| HubError::Corrupt(format!("{id}: {e}")))?;
    Ok(SubmissionDetail {
        form_title: form.as_ref().and_then(|f| labels.text(&f.title)),
        answers: labels.answers(
            form.as_ref().map(|f| f.survey.as_slice()),
            &submission.answers,
        ),
        review: review_of(storage, project, id)?,
        history: history_summary(&doc, &devices, &Signers::of(storage, project)?)?,
        row,
    })
}

/// The review of submission `id`, if a supervisor has started one.
fn review_of(storage: &dyn HubStorage, project: &str, id: &str) -> Result<Option<ShownReview>> {
    let Some(review_id) = crate::server::sync::review_of(id) else {
        return Ok(None);
    };
    let Some(stored) = storage.document(project, &review_id)? else {
        return Ok(None);
    };
    let review = minga_core::ReviewDocument::load(&stored.bytes)
        .map_err(|e| HubError::Corrupt(format!("review {review_id}: {e}")))?
        .review();
    Ok(Some(ShownReview {
        state: review.state.as_str().into(),
        decided_by: review.decided_by,
        decided_at: review.decided_at,
        comments: review
            .comments
            .into_iter()
            .map(|c| ShownComment {
                text: c.text,
                question: c.question,
                by: c.by,
                at: c.at,
            })
            .collect(),
    }))
}

/// A value of question `name` as `submissions show` prints it: a choice by its label in
/// `language` (else the form's default), a place as coordinates. Cost: a walk of the form's
/// questions to find `name`.
pub fn value_shown(
    form: Option<&Form>,
    language: Option<&str>,
    name: &str,
    value: &Value,
) -> String {
    let kind = form
        .and_then(|f| question_kind(&f.survey, name))
        .unwrap_or(QuestionType::Text);
    Labels::new(form, language).value_text(&kind, value)
}

/// The type of question `name`, wherever it stands among `items` (groups and repeats too).
fn question_kind(items: &[Item], name: &str) -> Option<QuestionType> {
    items.iter().find_map(|item| match item {
        Item::Question(question) if question.name == name => Some(question.kind.clone()),
        Item::Question(_) => None,
        Item::Group(group) => question_kind(&group.children, name),
        Item::Repeat(repeat) => question_kind(&repeat.children, name),
    })
}

/// The form's labels and choice lists in one language.
struct Labels<'a> {
    form: Option<&'a Form>,
    language: Option<&'a str>,
}

impl<'a> Labels<'a> {
    fn new(form: Option<&'a Form>, language: Option<&'a str>) -> Self {
        let language = language.or(form.and_then(|f| f.default_language.as_deref()));
        Labels { form, language }
    }

    fn text(&self, text: &minga_forms::LocalizedText) -> Option<String> {
        let fallback = self.form.and_then(|f| f.default_language.as_deref());
        text.get(self.language, fallback).map(String::from)
    }

    /// The answers at one level in the form's order (groups flattened, repeats nested), then
    /// any answer the form does not name, by name.
    fn answers(&self, items: Option<&[Item]>, answers: &Answers) -> Vec<ShownAnswer> {
        let mut shown = Vec::new();
        let mut named = HashSet::new();
        self.walk(items.unwrap_or_default(), answers, &mut shown, &mut named);
        for (name, answer) in &answers.fields {
            if !named.contains(name.as_str()) {
                shown.push(self.unlabelled(name, answer));
            }
        }
        shown
    }

    fn walk<'i>(
        &self,
        items: &'i [Item],
        answers: &Answers,
        shown: &mut Vec<ShownAnswer>,
        named: &mut HashSet<&'i str>,
    ) {
        for item in items {
            match item {
                Item::Group(group) => self.walk(&group.children, answers, shown, named),
                Item::Question(question) => {
                    named.insert(&question.name);
                    if let Some(value) = answers.value(&question.name) {
                        shown.push(ShownAnswer {
                            name: question.name.clone(),
                            label: self.text(&question.label),
                            text: Some(self.value_text(&question.kind, value)),
                            value: Some(value.clone()),
                            instances: Vec::new(),
                        });
                    }
                }
                Item::Repeat(repeat) => {
                    named.insert(&repeat.name);
                    let instances = answers.instances(&repeat.name);
                    if instances.is_empty() {
                        continue;
                    }
                    shown.push(ShownAnswer {
                        name: repeat.name.clone(),
                        label: self.text(&repeat.label),
                        text: None,
                        value: None,
                        instances: instances
                            .iter()
                            .map(|i| self.answers(Some(&repeat.children), &i.answers))
                            .collect(),
                    });
                }
            }
        }
    }

    fn unlabelled(&self, name: &str, answer: &Answer) -> ShownAnswer {
        let (text, value, instances) = match answer {
            Answer::Value(value) => (
                Some(self.value_text(&QuestionType::Text, value)),
                Some(value.clone()),
                Vec::new(),
            ),
            Answer::Repeat(instances) => (
                None,
                None,
                instances
                    .iter()
                    .map(|i| self.answers(None, &i.answers))
                    .collect(),
            ),
        };
        ShownAnswer {
            name: name.into(),
            label: None,
            text,
            value,
            instances,
        }
    }

    /// A value as a supervisor reads it: a choice by its label, a place as coordinates.
    fn value_text(&self, kind: &QuestionType, value: &Value) -> String {
        match value {
            Value::Text(text) => text.clone(),
            Value::Integer(number) => number.to_string(),
            Value::Decimal(number) => number.to_string(),
            Value::Choice(name) => self.choice_label(kind, name),
            Value::Choices(names) => names
                .iter()
                .map(|name| self.choice_label(kind, name))
                .collect::<Vec<_>>()
                .join(", "),
            Value::Date(date) => date.format("%Y-%m-%d").to_string(),
            Value::Time(time) => time.format("%H:%M:%S").to_string(),
            Value::DateTime(time) => time.format("%Y-%m-%d %H:%M:%S %:z").to_string(),
            Value::GeoPoint(point) => match point.accuracy {
                Some(metres) => format!("{}, {} (±{metres} m)", point.latitude, point.longitude),
                None => format!("{}, {}", point.latitude, point.longitude),
            },
            Value::Attachment(file) => format!("{} ({})", file.file_name, file.media_type),
        }
    }

    /// The option's label in its list, else its name.
    fn choice_label(&self, kind: &QuestionType, name: &str) -> String {
        let list = match kind {
            QuestionType::SelectOne(list) | QuestionType::SelectMultiple(list) => list,
            _ => return name.into(),
        };
        self.form
            .and_then(|form| form.choices.get(list))
            .and_then(|choices| choices.iter().find(|c| c.name == name))
            .and_then(|choice| self.text(&choice.label))
            .unwrap_or_else(|| name.into())
    }
}

/// Who changed the document: its changes grouped by actor (each named through the document's
/// `authors` map, and by who signed it), in order of first change. Cost: reading the changes'
/// metadata, and one signer lookup per actor.
pub fn history_summary(
    doc: &Automerge,
    devices: &BTreeMap<String, String>,
    signers: &Signers<'_>,
) -> Result<Vec<AuthorChanges>> {
    let authors = object_at(doc, &ROOT, "authors");
    let mut summary: Vec<(String, AuthorChanges)> = Vec::new();
    for change in doc.get_changes_meta(&[]) {
        let actor = change.actor.to_hex_string();
        let at = DateTime::from_timestamp(change.timestamp, 0).unwrap_or_default();
        if let Some((_, entry)) = summary.iter_mut().find(|(a, _)| *a == actor) {
            entry.changes += 1;
            entry.first = entry.first.min(at);
            entry.last = entry.last.max(at);
            continue;
        }
        let entry = authors.as_ref().and_then(|map| object_at(doc, map, &actor));
        let read = |key: &str| entry.as_ref().and_then(|e| string_at(doc, e, key));
        let device_id = read("device_id");
        summary.push((
            actor,
            AuthorChanges {
                signer: signers.signer(&change.actor)?,
                device_name: device_id.as_ref().and_then(|d| devices.get(d).cloned()),
                device_id,
                user_name: read("user_name"),
                changes: 1,
                first: at,
                last: at,
            },
        ));
    }
    Ok(summary.into_iter().map(|(_, entry)| entry).collect())
}
