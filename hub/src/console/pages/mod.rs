//! The console's pages, one module per topic, and what they share: the home page (the
//! projects a user supervises), the language switch, the message page (not found, refused),
//! form fields, the client's address, the audit entry of an action and how times are shown.

pub mod audit;
pub mod conflicts;
pub mod devices;
pub mod export;
pub mod forms;
pub mod indicators;
pub mod map;
pub mod media;
pub mod questions;
pub mod sign_in;
pub mod submission;
pub mod submissions;

use super::auth::{self, Signed};
use super::i18n::Lang;
use super::{html, Chrome};
use crate::server::state::AppState;
use crate::storage::AuditEntry;
use askama::Template;
use axum::extract::{ConnectInfo, Path, Query};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::net::SocketAddr;

/// A short message as a whole page: not found, refused.
#[derive(Template)]
#[template(path = "console/message.html")]
pub struct MessagePage {
    pub chrome: Chrome,
    pub title: &'static str,
    pub message: &'static str,
}

/// A message page with `status`.
pub fn message(status: StatusCode, chrome: Chrome, text: &'static str) -> Response {
    let page = MessagePage {
        title: text,
        message: text,
        chrome,
    };
    html(status, &page)
}

/// The 404 of anything a user may not see, the same as of what does not exist.
pub fn not_found(lang: Lang) -> Response {
    message(
        StatusCode::NOT_FOUND,
        Chrome::new(lang, "/console"),
        lang.texts().not_found,
    )
}

/// The CSRF refusal: the form did not carry the session's token.
pub fn csrf_refused(lang: Lang) -> Response {
    message(
        StatusCode::FORBIDDEN,
        Chrome::new(lang, "/console"),
        lang.texts().request_refused,
    )
}

#[derive(Template)]
#[template(path = "console/home.html")]
struct HomePage {
    chrome: Chrome,
    projects: Vec<String>,
}

/// `/console`: the projects the signed-in user supervises.
pub async fn home(signed: Signed, headers: HeaderMap) -> Response {
    let lang = Lang::of_request(&headers);
    let page = HomePage {
        chrome: Chrome::signed(lang, "/console", &signed, None),
        projects: signed.user.projects.clone(),
    };
    html(StatusCode::OK, &page)
}

/// `/console/lang/{es|en}?back=PATH`: remembers the language in a cookie and goes back to
/// `PATH` (a console path only, so that the switch cannot send anyone elsewhere).
pub async fn switch_language(
    axum::extract::State(state): axum::extract::State<AppState>,
    Path(code): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let back = query
        .get("back")
        .filter(|path| path.starts_with("/console") && !path.contains("//"))
        .cloned()
        .unwrap_or_else(|| "/console".into());
    let Some(lang) = Lang::parse(&code) else {
        return Redirect::to(&back).into_response();
    };
    let cookie = auth::set_cookie(
        auth::LANG_COOKIE,
        lang.code(),
        365 * 86_400,
        state.console.tls,
    );
    ([(header::SET_COOKIE, cookie)], Redirect::to(&back)).into_response()
}

/// The fields of a form body or query string (`a=1&b=2`, repeated names kept in order).
pub fn fields(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// The first value of field `name`, if it is there and not empty.
pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(key, value)| key == name && !value.is_empty())
        .map(|(_, value)| value.as_str())
}

/// A refusal answered instead of the page (boxed: a response is large).
pub type Refused = Box<Response>;

/// The language of a page of `project`, or the 404 when the user does not supervise it.
pub fn project_page(
    signed: &Signed,
    project: &str,
    headers: &HeaderMap,
) -> std::result::Result<Lang, Refused> {
    let lang = Lang::of_request(headers);
    match signed.supervises(project) {
        true => Ok(lang),
        false => Err(Box::new(not_found(lang))),
    }
}

/// A page of a project the signed-in user supervises (`/console/p/{project}/…`): who she is,
/// the project, the page's language. Rejected with the sign-in redirect, or the 404 when she
/// does not supervise the project.
pub struct ProjectPage {
    pub signed: Signed,
    pub project: String,
    pub lang: Lang,
}

impl axum::extract::FromRequestParts<AppState> for ProjectPage {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> std::result::Result<Self, Response> {
        let signed = Signed::from_request_parts(parts, state).await?;
        // By name, so that routes with a second parameter (`…/submissions/{id}`) use it too.
        let Path(mut params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let project = params.remove("project").unwrap_or_default();
        let lang = project_page(&signed, &project, &parts.headers).map_err(|r| *r)?;
        Ok(ProjectPage {
            signed,
            project,
            lang,
        })
    }
}

/// A POST to a page of `project`: its language and form fields, or the 404 when the user does
/// not supervise the project, or the refusal when the form lacks the session's CSRF token.
pub fn project_post(
    signed: &Signed,
    project: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> std::result::Result<(Lang, Vec<(String, String)>), Refused> {
    let lang = project_page(signed, project, headers)?;
    let sent = fields(body);
    match csrf_sent(&sent, signed) {
        true => Ok((lang, sent)),
        false => Err(Box::new(csrf_refused(lang))),
    }
}

/// A POST to a submission (`/console/p/{project}/submissions/{id}/…`), checked: the user
/// supervises the project and the form carries the session's CSRF token; with its fields.
/// Rejected with the sign-in redirect, the 404 or the CSRF refusal.
pub struct AskedWrite(pub SubmissionWrite, pub Vec<(String, String)>);

impl axum::extract::FromRequest<AppState> for AskedWrite {
    type Rejection = Response;

    async fn from_request(
        request: axum::extract::Request,
        state: &AppState,
    ) -> std::result::Result<Self, Response> {
        use axum::extract::FromRequestParts;
        let (mut parts, body) = request.into_parts();
        let signed = Signed::from_request_parts(&mut parts, state).await?;
        let client = Client::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let Path((project, id)) = Path::<(String, String)>::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let body = axum::body::to_bytes(body, 1 << 20)
            .await
            .map_err(|e| (StatusCode::PAYLOAD_TOO_LARGE, e.to_string()).into_response())?;
        let (lang, sent) =
            project_post(&signed, &project, &parts.headers, &body).map_err(|r| *r)?;
        let asked = SubmissionWrite {
            signed,
            client,
            lang,
            project,
            id,
        };
        Ok(AskedWrite(asked, sent))
    }
}

/// Where a write to submission `id` of `project` was asked from, and who asked.
pub struct SubmissionWrite {
    pub signed: Signed,
    pub client: Client,
    pub lang: Lang,
    pub project: String,
    pub id: String,
}

impl SubmissionWrite {
    /// Runs `write` (storage, the user) on a blocking thread; it returns the audit action of
    /// what it did, or `None` when there was nothing left to do. Then back to the submission's
    /// page, or the 404 when the project has no such submission.
    pub async fn run<F>(self, state: &AppState, write: F) -> Response
    where
        F: FnOnce(
                &dyn crate::storage::HubStorage,
                &crate::storage::ConsoleUser,
            ) -> crate::Result<Option<String>>
            + Send
            + 'static,
    {
        let back = format!("/console/p/{}/submissions/{}", self.project, self.id);
        let SubmissionWrite {
            signed,
            client,
            lang,
            project,
            id,
        } = self;
        let written = state
            .blocking(move |storage| {
                let done = submission::unless_unknown(write(storage, &signed.user))?;
                if let Some(Some(action)) = &done {
                    let entry = audit_entry(
                        &signed.user.name,
                        action,
                        Some(&project),
                        Some(&id),
                        client.0,
                    );
                    storage.record_audit(&entry)?;
                }
                Ok(done.is_some())
            })
            .await;
        match written {
            Ok(true) => Redirect::to(&back).into_response(),
            Ok(false) => not_found(lang),
            Err(error) => error.into_response(),
        }
    }
}

/// Whether the form carried the session's CSRF token.
pub fn csrf_sent(fields: &[(String, String)], signed: &Signed) -> bool {
    super::csrf::token_matches(
        field(fields, "csrf").unwrap_or_default(),
        &signed.session.csrf_secret,
    )
}

/// An audit entry by `who` now, from `client`.
pub fn audit_entry(
    who: &str,
    action: &str,
    project: Option<&str>,
    subject: Option<&str>,
    client: SocketAddr,
) -> AuditEntry {
    AuditEntry {
        at: Utc::now(),
        who: who.into(),
        action: action.into(),
        project: project.map(String::from),
        subject: subject.map(String::from),
        address: Some(client.ip().to_string()),
    }
}

/// The client's address, as the hub's connection loop records it.
pub type Client = ConnectInfo<SocketAddr>;

/// A time as the console shows it: to the minute, in UTC, said so.
pub fn shown_time(time: &DateTime<Utc>) -> String {
    time.format("%Y-%m-%d %H:%M UTC").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_fields_are_all_kept_and_decoded() {
        let parsed = fields(b"id=a&id=b&comment=%3Cscript%3E+x&empty=");
        let ids: Vec<&str> = parsed
            .iter()
            .filter(|(k, _)| k == "id")
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(field(&parsed, "comment"), Some("<script> x"));
        assert_eq!(field(&parsed, "empty"), None);
    }
}
