//! A project's forms: its published versions with their submission counts, and publishing a
//! new version by uploading an XLSForm (or a Minga form's JSON), every mistake shown at its
//! sheet, row and column, nothing published unless the whole form imports.

use super::ProjectPage;
use super::{audit_entry, csrf_refused, shown_time, Client};
use crate::admin;
use crate::console::auth::Signed;
use crate::console::i18n::{Lang, Texts};
use crate::console::{csrf, html, Chrome};
use crate::error::HubError;
use crate::server::state::AppState;
use askama::Template;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use minga_core::MediaUpload;
use minga_forms::xlsform::ImportErrors;
use minga_forms::Form;

struct VersionView {
    form: String,
    version: String,
    published: String,
    submissions: i64,
}

/// One mistake of an uploaded form, where a person would look for it.
struct MistakeView {
    sheet: String,
    row: String,
    column: String,
    problem: String,
}

#[derive(Template)]
#[template(path = "console/forms.html")]
struct FormsPage {
    chrome: Chrome,
    project: String,
    versions: Vec<VersionView>,
    /// Why the last upload was refused, if it was.
    refusal: Option<String>,
    mistakes: Vec<MistakeView>,
}

/// The page, with what the last upload came to.
async fn forms_page(
    state: &AppState,
    signed: &Signed,
    project: String,
    lang: Lang,
    (status, refusal, mistakes): (StatusCode, Option<String>, Vec<MistakeView>),
) -> Response {
    let name = project.clone();
    // Cost: one index count per published version (the submissions of each).
    let versions = match state
        .blocking(move |storage| storage.form_versions(&name))
        .await
    {
        Ok(versions) => versions,
        Err(error) => return error.into_response(),
    };
    let here = format!("/console/p/{project}/forms");
    let page = FormsPage {
        chrome: Chrome::signed(lang, &here, signed, Some(&project)),
        versions: versions
            .into_iter()
            .map(|v| VersionView {
                form: v.form_id,
                version: v.version,
                published: shown_time(&v.published_at),
                submissions: v.submissions,
            })
            .collect(),
        project,
        refusal,
        mistakes,
    };
    html(status, &page)
}

pub async fn list(
    State(state): State<AppState>,
    ProjectPage {
        signed,
        project,
        lang,
    }: ProjectPage,
) -> Response {
    forms_page(
        &state,
        &signed,
        project,
        lang,
        (StatusCode::OK, None, Vec::new()),
    )
    .await
}

/// An upload: its CSRF field, its file (name and bytes), and the media files given with a
/// form (`media`, any number, each named by its own file name).
pub(super) struct Upload {
    pub token: String,
    pub file: Option<(String, Vec<u8>)>,
    pub media: Vec<MediaUpload>,
}

/// The uploaded parts; a part that does not read is left out (the upload is then refused for
/// what it lacks).
pub(super) async fn read_upload(mut multipart: Multipart) -> Upload {
    let mut upload = Upload {
        token: String::new(),
        file: None,
        media: Vec::new(),
    };
    while let Ok(Some(field)) = multipart.next_field().await {
        let field_name = field.name().map(str::to_string);
        let file_name = field.file_name().map(str::to_string);
        match field_name.as_deref() {
            Some("csrf") => upload.token = field.text().await.unwrap_or_default(),
            Some("file") => {
                let name = file_name.unwrap_or_else(|| "form.xlsx".into());
                if let Ok(bytes) = field.bytes().await {
                    upload.file = Some((name, bytes.to_vec()));
                }
            }
            // A browser sends an empty part when no media file is chosen.
            Some("media") => {
                let file_name = file_name.filter(|name| !name.is_empty());
                if let (Some(name), Ok(bytes)) = (file_name, field.bytes().await) {
                    upload.media.push(MediaUpload {
                        name,
                        bytes: bytes.to_vec(),
                    });
                }
            }
            _ => {}
        }
    }
    upload
}

/// The form in an uploaded file: a Minga form's JSON (`.json`), else an XLSForm workbook.
fn import(name: &str, bytes: &[u8]) -> Result<Form, ImportErrors> {
    if name.to_ascii_lowercase().ends_with(".json") {
        return serde_json::from_slice(bytes).map_err(|e| {
            let problem =
                minga_forms::xlsform::Problem::UnreadableWorkbook(format!("not a Minga form: {e}"));
            ImportErrors(vec![minga_forms::xlsform::ImportError {
                location: None,
                problem,
            }])
        });
    }
    minga_forms::xlsform::import(bytes, name)
}

fn mistakes(errors: ImportErrors) -> Vec<MistakeView> {
    errors
        .0
        .into_iter()
        .map(|error| {
            let at = error.location.as_ref();
            MistakeView {
                sheet: at.map(|l| l.sheet.clone()).unwrap_or_default(),
                row: at.map(|l| l.row.to_string()).unwrap_or_default(),
                column: at
                    .and_then(|l| l.column.as_ref())
                    .map(|c| format!("{} ({})", c.letter, c.header))
                    .unwrap_or_default(),
                problem: error.problem.to_string(),
            }
        })
        .collect()
}

/// What refusing a form that imported says, in the page's language.
fn refused_text(error: &HubError, t: &Texts) -> String {
    match error {
        HubError::DuplicateFormVersion { id, version, .. } => {
            format!("{} ({id} {version})", t.already_published)
        }
        other => other.to_string(),
    }
}

/// `POST …/forms` (multipart: `csrf`, `file`, any number of `media`): publishes the uploaded
/// form as a new version, with its media files.
pub async fn publish(
    State(state): State<AppState>,
    ProjectPage {
        signed,
        project,
        lang,
    }: ProjectPage,
    client: Client,
    multipart: Multipart,
) -> Response {
    let Upload { token, file, media } = read_upload(multipart).await;
    if !csrf::token_matches(&token, &signed.session.csrf_secret) {
        return csrf_refused(lang);
    }
    let t = lang.texts();
    let Some((name, bytes)) = file else {
        let refusal = Some(t.no_file.to_string());
        let outcome = (StatusCode::UNPROCESSABLE_ENTITY, refusal, Vec::new());
        return forms_page(&state, &signed, project, lang, outcome).await;
    };
    let form = match import(&name, &bytes) {
        Ok(form) => form,
        Err(errors) => {
            let refusal = Some(format!("{} {name}", t.form_mistakes));
            let outcome = (StatusCode::UNPROCESSABLE_ENTITY, refusal, mistakes(errors));
            return forms_page(&state, &signed, project, lang, outcome).await;
        }
    };
    let (who, at) = (signed.user.name.clone(), project.clone());
    let published = state
        .blocking(move |storage| {
            let form = match admin::publish_with_media(storage, &at, form, &media, Utc::now()) {
                Ok(form) => form,
                Err(refused) => return Ok(Err(refused)),
            };
            let action = format!("publish form {} version {}", form.id, form.version);
            storage.record_audit(&audit_entry(&who, &action, Some(&at), None, client.0))?;
            Ok(Ok(()))
        })
        .await;
    match published {
        Ok(Ok(())) => Redirect::to(&format!("/console/p/{project}/forms")).into_response(),
        Ok(Err(refused)) => {
            let outcome = (
                StatusCode::CONFLICT,
                Some(refused_text(&refused, t)),
                Vec::new(),
            );
            forms_page(&state, &signed, project, lang, outcome).await
        }
        Err(error) => error.into_response(),
    }
}
