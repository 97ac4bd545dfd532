//! One submission: its facts, its answers with the labels of the form version it was filled
//! against in the console's language (repeats as tables), its review (verdict and comments,
//! which the form below adds to), and who changed it. Read through `show::submission_detail`,
//! the reading `submissions show` prints.

use super::conflicts::{self, ConflictView};
use super::media::{self, Shown};
use super::ProjectPage;
use super::{field, not_found, shown_time};
use crate::console::i18n::{Lang, Texts, REVIEW_STATES};
use crate::console::review::{write_review, ReviewEdit};
use crate::console::{html, Chrome};
use crate::error::HubError;
use crate::server::state::AppState;
use crate::show::{
    history_summary, submission_detail, AuthorChanges, ShownAnswer, SubmissionDetail,
};
use crate::signers::Signers;
use crate::storage::HubStorage;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minga_core::ReviewState;
use minga_forms::check::InvalidAnswer;
use minga_forms::Value;

/// An answer as the page shows it: text, or a repeat's table.
struct AnswerView {
    name: String,
    label: String,
    text: String,
    repeat: Option<RepeatTable>,
    media: Option<MediaView>,
}

/// An attachment answered: where its bytes are and how the page shows them.
struct MediaView {
    url: String,
    shown: Shown,
    file_name: String,
}

impl MediaView {
    fn of(answer: &ShownAnswer, project: &str) -> Option<MediaView> {
        let Some(Value::Attachment(file)) = &answer.value else {
            return None;
        };
        Some(MediaView {
            url: media::url(project, &file.sha256, &file.media_type),
            shown: Shown::of(&file.media_type),
            file_name: file.file_name.clone(),
        })
    }

    fn is_image(&self) -> bool {
        self.shown == Shown::Image
    }

    fn is_audio(&self) -> bool {
        self.shown == Shown::Audio
    }

    fn is_video(&self) -> bool {
        self.shown == Shown::Video
    }
}

/// A repeat: one column per question its instances answer, one row per instance.
struct RepeatTable {
    columns: Vec<String>,
    rows: Vec<Vec<String>>,
}

struct CommentView {
    text: String,
    question: String,
    by: String,
    at: String,
}

struct HistoryView {
    who: String,
    device: String,
    signed: String,
    changes: usize,
    first: String,
    last: String,
}

#[derive(Template)]
#[template(path = "console/submission.html")]
struct SubmissionPage {
    chrome: Chrome,
    project: String,
    id: String,
    title: String,
    form: String,
    version: String,
    submitter: String,
    device: String,
    created: String,
    updated: String,
    status: String,
    review_state: &'static str,
    decided_by: String,
    answers: Vec<AnswerView>,
    comments: Vec<CommentView>,
    history: Vec<HistoryView>,
    review_history: Vec<HistoryView>,
    verdicts: Vec<(&'static str, &'static str)>,
    conflicts: Vec<ConflictView>,
    /// Why it was flagged as invalid on arrival (question, reason as the checker words it).
    invalid_reasons: Vec<InvalidAnswer>,
}

/// The text of a one-level answer; a nested repeat is summarised by its count.
fn answer_text(answer: &ShownAnswer) -> String {
    match &answer.text {
        Some(text) => text.clone(),
        None => format!("({})", answer.instances.len()),
    }
}

fn label_of(answer: &ShownAnswer) -> String {
    answer.label.clone().unwrap_or_else(|| answer.name.clone())
}

fn repeat_table(instances: &[Vec<ShownAnswer>]) -> RepeatTable {
    let mut names: Vec<(String, String)> = Vec::new();
    for answer in instances.iter().flatten() {
        if !names.iter().any(|(name, _)| *name == answer.name) {
            names.push((answer.name.clone(), label_of(answer)));
        }
    }
    let rows = instances
        .iter()
        .map(|instance| {
            names
                .iter()
                .map(|(name, _)| {
                    instance
                        .iter()
                        .find(|a| a.name == *name)
                        .map(answer_text)
                        .unwrap_or_default()
                })
                .collect()
        })
        .collect();
    RepeatTable {
        columns: names.into_iter().map(|(_, label)| label).collect(),
        rows,
    }
}

fn answer_view(answer: &ShownAnswer, project: &str) -> AnswerView {
    AnswerView {
        media: MediaView::of(answer, project),
        name: answer.name.clone(),
        label: label_of(answer),
        text: answer_text(answer),
        repeat: (answer.text.is_none()).then(|| repeat_table(&answer.instances)),
    }
}

/// The form language matching the console's: named by its code in brackets (`Español (es)`),
/// or the code alone.
pub(super) fn form_language(languages: &[String], lang: Lang) -> Option<String> {
    let code = lang.code();
    let bracketed = format!("({code})");
    languages
        .iter()
        .find(|l| l.ends_with(&bracketed) || l.eq_ignore_ascii_case(code))
        .cloned()
}

/// `result`, with an unknown submission as `None` (the page answers 404 for it).
pub fn unless_unknown<T>(result: crate::Result<T>) -> crate::Result<Option<T>> {
    match result {
        Err(HubError::UnknownSubmission { .. }) => Ok(None),
        other => other.map(Some),
    }
}

/// What the page reads: the submission's detail, its conflicts, and who changed its review.
struct Read {
    detail: SubmissionDetail,
    conflicts: Vec<ConflictView>,
    review_history: Vec<AuthorChanges>,
}

/// Who changed the review of submission `id` (none if no one started one). Cost: loading the
/// review document.
fn review_history(
    storage: &dyn HubStorage,
    project: &str,
    id: &str,
) -> crate::Result<Vec<AuthorChanges>> {
    let Some(review) = crate::server::sync::review_of(id) else {
        return Ok(Vec::new());
    };
    let Some(stored) = storage.document(project, &review)? else {
        return Ok(Vec::new());
    };
    let doc = automerge::Automerge::load(&stored.bytes)
        .map_err(|e| HubError::Corrupt(format!("review {review}: {e}")))?;
    let devices = storage
        .devices(Some(project))?
        .into_iter()
        .map(|d| (d.id, d.name))
        .collect();
    history_summary(&doc, &devices, &Signers::of(storage, project)?)
}

fn history_view(changes: AuthorChanges, t: &Texts) -> HistoryView {
    HistoryView {
        signed: t.signed_by(&changes.signer),
        who: changes.user_name.unwrap_or_default(),
        device: changes
            .device_name
            .or(changes.device_id)
            .unwrap_or_default(),
        changes: changes.changes,
        first: shown_time(&changes.first),
        last: shown_time(&changes.last),
    }
}

/// The submission's detail with labels in `lang` when its form has that language, its
/// conflicts when the projection says it has some, and its review's history.
fn read_detail(
    storage: &dyn HubStorage,
    project: &str,
    id: &str,
    lang: Lang,
) -> crate::Result<Read> {
    let form = match storage.submission_row(project, id)? {
        Some(row) => storage
            .forms(project)?
            .into_iter()
            .find(|f| f.id == row.form_id && f.version == row.form_version),
        None => None,
    };
    let language = form
        .as_ref()
        .and_then(|f| form_language(&f.languages, lang));
    let detail = submission_detail(storage, project, id, language.as_deref())?;
    let conflicts = match detail.row.has_conflicts {
        true => conflicts::views(
            storage,
            project,
            id,
            form.as_ref(),
            language.as_deref(),
            &detail.answers,
        )?,
        false => Vec::new(),
    };
    Ok(Read {
        review_history: review_history(storage, project, id)?,
        detail,
        conflicts,
    })
}

fn page_of(
    Read {
        detail,
        conflicts,
        review_history,
    }: Read,
    lang: Lang,
    chrome: Chrome,
    project: String,
) -> SubmissionPage {
    let t = lang.texts();
    let row = detail.row;
    let review = detail.review;
    let answers = detail
        .answers
        .iter()
        .map(|answer| answer_view(answer, &project))
        .collect();
    SubmissionPage {
        chrome,
        project,
        title: row.instance_name.clone().unwrap_or_else(|| row.id.clone()),
        form: detail.form_title.unwrap_or_else(|| row.form_id.clone()),
        version: row.form_version,
        submitter: row.submitter,
        device: row.author_name.or(row.author).unwrap_or_default(),
        created: shown_time(&row.created_at),
        updated: shown_time(&row.updated_at),
        status: t.status(&row.status).to_string(),
        review_state: t.review_state(&row.review_state),
        decided_by: review
            .as_ref()
            .and_then(|r| r.decided_by.clone())
            .unwrap_or_default(),
        answers,
        comments: review
            .map(|r| r.comments)
            .unwrap_or_default()
            .into_iter()
            .map(|c| CommentView {
                text: c.text,
                question: c.question.unwrap_or_default(),
                by: c.by,
                at: shown_time(&c.at),
            })
            .collect(),
        history: detail
            .history
            .into_iter()
            .map(|c| history_view(c, t))
            .collect(),
        review_history: review_history
            .into_iter()
            .map(|c| history_view(c, t))
            .collect(),
        verdicts: t.review_states()[1..].to_vec(),
        conflicts,
        invalid_reasons: row.invalid_reasons,
        id: row.id,
    }
}

pub async fn page(
    State(state): State<AppState>,
    ProjectPage {
        signed,
        project,
        lang,
    }: ProjectPage,
    Path((_, id)): Path<(String, String)>,
) -> Response {
    let (name, wanted) = (project.clone(), id.clone());
    let read = state
        .blocking(move |storage| unless_unknown(read_detail(storage, &name, &wanted, lang)))
        .await;
    let detail = match read {
        Ok(Some(detail)) => detail,
        Ok(None) => return not_found(lang),
        Err(error) => return error.into_response(),
    };
    let here = format!("/console/p/{project}/submissions/{id}");
    let chrome = Chrome::signed(lang, &here, &signed, Some(&project));
    html(StatusCode::OK, &page_of(detail, lang, chrome, project))
}

/// The edit the review form asks for: a verdict (`state`), a comment (`comment`, on the
/// question named by `question`, else the whole), or both.
fn review_edit(sent: &[(String, String)]) -> ReviewEdit {
    let state = field(sent, "state")
        .filter(|s| REVIEW_STATES.contains(s))
        .and_then(ReviewState::parse);
    let comment = field(sent, "comment")
        .map(str::trim)
        .filter(|text| !text.is_empty())
        .map(|text| (text.to_string(), field(sent, "question").map(String::from)));
    ReviewEdit { state, comment }
}

/// What the audit log calls an edit.
fn audit_action(edit: &ReviewEdit) -> String {
    let verdict = edit.state.map(|s| match s {
        ReviewState::Approved => "approve".to_string(),
        ReviewState::Rejected => "reject".to_string(),
        other => format!("review: {}", other.as_str()),
    });
    let comment = edit.comment.as_ref().map(|(_, question)| match question {
        Some(question) => format!("flag answer {question}"),
        None => "comment".to_string(),
    });
    [verdict, comment]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ")
}

pub async fn review(
    State(state): State<AppState>,
    super::AskedWrite(asked, sent): super::AskedWrite,
) -> Response {
    let edit = review_edit(&sent);
    let (project, id) = (asked.project.clone(), asked.id.clone());
    if edit == ReviewEdit::default() {
        return Redirect::to(&format!("/console/p/{project}/submissions/{id}")).into_response();
    }
    asked
        .run(&state, move |storage, user| {
            write_review(storage, &project, &id, user, &edit)?;
            Ok(Some(audit_action(&edit)))
        })
        .await
}
