//! A project's table of submissions, read from the hub's projection (the one `submissions
//! list` reads): filtered by form, review state, device, a date range of the last change,
//! conflicts, "flagged as invalid on arrival" and text, newest or oldest first, paged by the last row shown (an index range
//! scan per page, never a count or an offset), with the selected rows approved at once.

use super::questions::{offered, Offered};
use super::ProjectPage;
use super::{audit_entry, field, fields, shown_time, Client};
use crate::console::auth::Signed;
use crate::console::i18n::Lang;
use crate::console::review::{write_review, ReviewEdit};
use crate::console::{html, url_escape, Chrome};
use crate::server::state::AppState;
use crate::storage::{HubStorage, SubmissionQuery, SubmissionRow};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, NaiveDate, Utc};
use minga_core::ReviewState;

/// Rows per page.
pub const PAGE_ROWS: usize = 50;

/// One row as the table shows it.
struct TableRow {
    id: String,
    name: String,
    form: String,
    version: String,
    submitter: String,
    device: String,
    created: String,
    updated: String,
    status: String,
    review: &'static str,
    place: String,
    conflicts: bool,
    /// Flagged as invalid on arrival (its answers break its form version).
    invalid: bool,
}

/// A choice of a filter's list: its value, its label, whether it is chosen.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub chosen: bool,
}

/// The filter by a select question's answer: its query name (`a.` and the question's name),
/// label and options.
struct AnswerFilter {
    field: String,
    label: String,
    options: Vec<Choice>,
}

#[derive(Template)]
#[template(path = "console/submissions.html")]
struct TablePage {
    chrome: Chrome,
    project: String,
    forms: Vec<Choice>,
    reviews: Vec<Choice>,
    devices: Vec<Choice>,
    answer_filters: Vec<AnswerFilter>,
    /// Whether an answer filter is in use (their section is then shown open).
    answers_chosen: bool,
    from: String,
    to: String,
    text: String,
    conflicts: bool,
    invalid: bool,
    oldest_first: bool,
    rows: Vec<TableRow>,
    /// The next page's URL, when there are more rows.
    next: Option<String>,
    /// Whether this is a later page (a link back to the first is shown).
    paged: bool,
}

/// The filters as the query string gives them.
#[derive(Debug, Clone, Default, PartialEq)]
struct Filters {
    form: Option<String>,
    review: Option<String>,
    device: Option<String>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    text: Option<String>,
    conflicts: bool,
    /// Only those flagged as invalid on arrival.
    invalid: bool,
    oldest_first: bool,
    /// Where the page starts: after (`updated_at` in microseconds, id).
    after: Option<(DateTime<Utc>, String)>,
    /// Answers asked for: (question, option), from the fields `a.QUESTION=OPTION`.
    answers: Vec<(String, String)>,
}

/// The prefix of an answer filter's field in the query string.
const ANSWER_FIELD: &str = "a.";

impl Filters {
    fn parse(query: &str) -> Filters {
        let sent = fields(query.as_bytes());
        let text = |name| field(&sent, name).map(String::from);
        let date = |name| field(&sent, name).and_then(|d| d.parse::<NaiveDate>().ok());
        Filters {
            form: text("form"),
            review: text("review"),
            device: text("device"),
            from: date("from"),
            to: date("to"),
            text: text("q")
                .map(|q| q.trim().to_string())
                .filter(|q| !q.is_empty()),
            conflicts: field(&sent, "conflicts").is_some(),
            invalid: field(&sent, "invalid").is_some(),
            oldest_first: field(&sent, "sort") == Some("oldest"),
            after: field(&sent, "after").and_then(parse_after),
            answers: sent
                .iter()
                .filter(|(_, value)| !value.is_empty())
                .filter_map(|(key, value)| {
                    let question = key.strip_prefix(ANSWER_FIELD)?;
                    Some((question.to_string(), value.clone()))
                })
                .collect(),
        }
    }

    /// The projection query of one page (one row more than shown, to know if more follow).
    fn query(&self) -> SubmissionQuery {
        let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
        SubmissionQuery {
            form_id: self.form.clone(),
            review_state: self.review.clone(),
            author: self.device.clone(),
            updated_from: self.from.and_then(midnight),
            updated_before: self.to.and_then(|d| d.succ_opt()).and_then(midnight),
            text: self.text.clone(),
            conflicted_only: self.conflicts,
            invalid_only: self.invalid,
            oldest_first: self.oldest_first,
            after: self.after.clone(),
            answers: self.answers.clone(),
            limit: PAGE_ROWS + 1,
            ..SubmissionQuery::default()
        }
    }

    /// The query string of these filters starting after `last`.
    fn next_page(&self, last: &SubmissionRow) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        let mut add = |key, value: &Option<String>| {
            if let Some(value) = value {
                pairs.push((key, value.clone()));
            }
        };
        add("form", &self.form);
        add("review", &self.review);
        add("device", &self.device);
        add("from", &self.from.map(|d| d.to_string()));
        add("to", &self.to.map(|d| d.to_string()));
        add("q", &self.text);
        let answers: Vec<(String, String)> = self
            .answers
            .iter()
            .map(|(question, value)| (format!("{ANSWER_FIELD}{question}"), value.clone()))
            .collect();
        if self.conflicts {
            pairs.push(("conflicts", "1".into()));
        }
        if self.invalid {
            pairs.push(("invalid", "1".into()));
        }
        if self.oldest_first {
            pairs.push(("sort", "oldest".into()));
        }
        let after = format!("{}~{}", last.updated_at.timestamp_micros(), last.id);
        pairs.push(("after", after));
        pairs.extend(
            answers
                .iter()
                .map(|(key, value)| (key.as_str(), value.clone())),
        );
        pairs
            .iter()
            .map(|(key, value)| format!("{key}={}", url_escape(value)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

fn parse_after(text: &str) -> Option<(DateTime<Utc>, String)> {
    let (micros, id) = text.split_once('~')?;
    let time = DateTime::from_timestamp_micros(micros.parse().ok()?)?;
    Some((time, id.to_string()))
}

fn table_row(row: SubmissionRow, lang: Lang) -> TableRow {
    TableRow {
        name: row.instance_name.clone().unwrap_or_else(|| row.id.clone()),
        form: row.form_id,
        version: row.form_version,
        submitter: row.submitter,
        device: row.author_name.or(row.author).unwrap_or_default(),
        created: shown_time(&row.created_at),
        updated: shown_time(&row.updated_at),
        status: lang.texts().status(&row.status).to_string(),
        review: lang.texts().review_state(&row.review_state),
        place: match (row.latitude, row.longitude) {
            (Some(lat), Some(lon)) => format!("{lat:.5}, {lon:.5}"),
            _ => String::new(),
        },
        conflicts: row.has_conflicts,
        invalid: row.invalid,
        id: row.id,
    }
}

/// The filters' lists: forms, devices, and the answer filters of the chosen form's select
/// questions (of every form's when none is chosen).
struct Lists {
    forms: Vec<Choice>,
    devices: Vec<Choice>,
    answers: Vec<AnswerFilter>,
}

/// The answer filters of the select questions `offered`, with the filters' choices marked.
fn answer_filters(offered: Vec<Offered>, filters: &Filters) -> Vec<AnswerFilter> {
    offered
        .into_iter()
        .filter(Offered::is_select)
        .map(|question| {
            let chosen = |value: &str| {
                filters
                    .answers
                    .iter()
                    .any(|(q, v)| *q == question.name && v == value)
            };
            AnswerFilter {
                field: format!("{ANSWER_FIELD}{}", question.name),
                options: question
                    .options
                    .iter()
                    .map(|(value, label)| Choice {
                        chosen: chosen(value),
                        value: value.clone(),
                        label: label.clone(),
                    })
                    .collect(),
                label: question.label,
            }
        })
        .collect()
}

/// The choices of the filters' lists, from the project's forms and devices. Cost: reading
/// the published forms and the project's devices, whatever the number of submissions.
fn choices(
    storage: &dyn HubStorage,
    project: &str,
    filters: &Filters,
    lang: Lang,
) -> crate::Result<Lists> {
    // The published forms, not `form_versions`: that counts each version's submissions, a
    // scan of the whole project on every page.
    let published = storage.forms(project)?;
    let answers = answer_filters(offered(&published, filters.form.as_deref(), lang), filters);
    let mut forms: Vec<String> = published.into_iter().map(|f| f.id).collect();
    forms.sort();
    forms.dedup();
    let forms = forms
        .into_iter()
        .map(|form| Choice {
            chosen: filters.form.as_deref() == Some(form.as_str()),
            label: form.clone(),
            value: form,
        })
        .collect();
    let devices = storage
        .devices(Some(project))?
        .into_iter()
        .map(|device| Choice {
            chosen: filters.device.as_deref() == Some(device.id.as_str()),
            label: device.name,
            value: device.id,
        })
        .collect();
    Ok(Lists {
        forms,
        devices,
        answers,
    })
}

pub async fn table(
    State(state): State<AppState>,
    ProjectPage {
        signed,
        project,
        lang,
    }: ProjectPage,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    let filters = Filters::parse(&query);
    let (name, wanted) = (project.clone(), filters.clone());
    let read = state
        .blocking(move |storage| {
            let rows = storage.submissions(&name, &wanted.query())?;
            Ok((rows, choices(storage, &name, &wanted, lang)?))
        })
        .await;
    let (mut rows, lists) = match read {
        Ok(read) => read,
        Err(error) => return error.into_response(),
    };
    let more = rows.len() > PAGE_ROWS;
    rows.truncate(PAGE_ROWS);
    let next = rows.last().filter(|_| more).map(|last| {
        format!(
            "/console/p/{project}/submissions?{}",
            filters.next_page(last)
        )
    });
    let here = format!("/console/p/{project}/submissions?{query}");
    let t = lang.texts();
    let page = TablePage {
        chrome: Chrome::signed(lang, &here, &signed, Some(&project)),
        forms: lists.forms,
        reviews: t
            .review_states()
            .into_iter()
            .map(|(value, label)| Choice {
                chosen: filters.review.as_deref() == Some(value),
                value: value.into(),
                label: label.into(),
            })
            .collect(),
        devices: lists.devices,
        answer_filters: lists.answers,
        answers_chosen: !filters.answers.is_empty(),
        from: filters.from.map(|d| d.to_string()).unwrap_or_default(),
        to: filters.to.map(|d| d.to_string()).unwrap_or_default(),
        text: filters.text.clone().unwrap_or_default(),
        conflicts: filters.conflicts,
        invalid: filters.invalid,
        oldest_first: filters.oldest_first,
        rows: rows.into_iter().map(|row| table_row(row, lang)).collect(),
        next,
        paged: filters.after.is_some(),
        project,
    };
    html(StatusCode::OK, &page)
}

/// Approves every selected submission (`id` fields) of the project, each one audited.
pub async fn approve_selected(
    State(state): State<AppState>,
    signed: Signed,
    client: Client,
    Path(project): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let sent = match super::project_post(&signed, &project, &headers, &body) {
        Ok((_, sent)) => sent,
        Err(refused) => return *refused,
    };
    let ids: Vec<String> = sent
        .into_iter()
        .filter(|(key, _)| key == "id")
        .map(|(_, id)| id)
        .collect();
    let (name, user) = (project.clone(), signed.user.clone());
    let approve = ReviewEdit {
        state: Some(ReviewState::Approved),
        comment: None,
    };
    let written = state
        .blocking(move |storage| {
            for id in &ids {
                // A submission of another project, or none, is skipped: nothing to approve.
                let written = write_review(storage, &name, id, &user, &approve);
                if super::submission::unless_unknown(written)?.is_none() {
                    continue;
                }
                let entry = audit_entry(&user.name, "approve", Some(&name), Some(id), client.0);
                storage.record_audit(&entry)?;
            }
            Ok(())
        })
        .await;
    match written {
        Ok(()) => Redirect::to(&format!("/console/p/{project}/submissions")).into_response(),
        Err(error) => error.into_response(),
    }
}
