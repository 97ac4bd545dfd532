//! The supervisor's console: the hub's own web pages under `/console`, served by `minga-hub
//! serve` on the same port. Server-rendered HTML (askama templates in `hub/templates/console`,
//! HTML-escaped by default) with no JavaScript at all, one stylesheet served from the binary,
//! and a Content-Security-Policy that allows nothing else. Sign-in and sessions are `auth`,
//! the CSRF check `csrf`, the two languages `i18n`, the pages `pages`.

mod assets;
pub mod auth;
pub mod csrf;
pub mod i18n;
mod pages;
pub mod review;
pub mod settle;
pub mod signer;
pub mod users;

use crate::server::state::AppState;
pub use crate::server::state::ConsoleConfig;
use axum::extract::Request;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use i18n::{Lang, Texts};

/// What every page allows the browser to load: its own stylesheet, images and media (the
/// submission page's photos and recordings), forms posted to itself, nothing else (no script
/// at all, no frame, no other origin).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     media-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The console's routes, merged into the hub's router.
pub fn routes() -> Router<AppState> {
    let project = "/console/p/{project}";
    Router::new()
        .route("/console", get(pages::home))
        .route("/console/", get(pages::home))
        .route(
            "/console/sign-in",
            get(pages::sign_in::form).post(pages::sign_in::submit),
        )
        .route("/console/sign-out", post(pages::sign_in::sign_out))
        .route("/console/lang/{code}", get(pages::switch_language))
        .route("/console/assets/console.css", get(assets::stylesheet))
        .route(
            &format!("{project}/submissions"),
            get(pages::submissions::table),
        )
        .route(
            &format!("{project}/submissions/approve"),
            post(pages::submissions::approve_selected),
        )
        .route(
            &format!("{project}/submissions/{{id}}"),
            get(pages::submission::page),
        )
        .route(
            &format!("{project}/submissions/{{id}}/review"),
            post(pages::submission::review),
        )
        .route(
            &format!("{project}/submissions/{{id}}/settle"),
            post(pages::conflicts::settle_one),
        )
        .route(
            &format!("{project}/media/{{hash}}"),
            get(pages::media::content),
        )
        .route(&format!("{project}/audit"), get(pages::audit::page))
        .route(
            &format!("{project}/indicators"),
            get(pages::indicators::page),
        )
        .route(&format!("{project}/map"), get(pages::map::page))
        .route(
            &format!("{project}/map/outline"),
            post(pages::map::upload_outline),
        )
        .route(
            &format!("{project}/indicators/csv"),
            get(pages::indicators::download),
        )
        .route(&format!("{project}/devices"), get(pages::devices::list))
        .route(&format!("{project}/export"), get(pages::export::page))
        .route(
            &format!("{project}/export/download"),
            get(pages::export::download),
        )
        .route(
            &format!("{project}/forms"),
            get(pages::forms::list).post(pages::forms::publish),
        )
        .route(
            &format!("{project}/devices/enrol"),
            post(pages::devices::enrol),
        )
        .route(
            &format!("{project}/devices/{{id}}/revoke"),
            post(pages::devices::revoke),
        )
        .layer(middleware::from_fn(security_headers))
}

/// The headers every console answer carries: the policy above, no sniffing, no referrer, no
/// caching of pages (answers are private), no framing.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let set = |headers: &mut axum::http::HeaderMap, name: HeaderName, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        CONTENT_SECURITY_POLICY,
    );
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    if !headers.contains_key(header::CACHE_CONTROL) {
        set(headers, header::CACHE_CONTROL, "no-store");
    }
    response
}

/// What the frame of every page shows: language, the signed-in user, the project, and the
/// CSRF token its forms send.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub t: &'static Texts,
    pub lang: &'static str,
    pub other_lang: &'static str,
    pub other_lang_name: &'static str,
    pub user: Option<String>,
    pub csrf: String,
    pub project: Option<String>,
    /// The page's own path, where the language switch comes back to.
    pub here: String,
}

impl Chrome {
    pub fn new(lang: Lang, here: &str) -> Chrome {
        Chrome {
            t: lang.texts(),
            lang: lang.code(),
            other_lang: lang.other().code(),
            other_lang_name: lang.texts().switch_to,
            user: None,
            csrf: String::new(),
            project: None,
            here: url_escape(here),
        }
    }

    /// The frame for a signed-in user's page in `project`.
    pub fn signed(lang: Lang, here: &str, signed: &auth::Signed, project: Option<&str>) -> Chrome {
        Chrome {
            user: Some(signed.user.name.clone()),
            csrf: signed.session.csrf_secret.clone(),
            project: project.map(String::from),
            ..Chrome::new(lang, here)
        }
    }
}

/// `text` percent-encoded for a query value.
pub fn url_escape(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// A rendered template as an HTML answer with `status`; a template that fails to render is a
/// 500 naming it (templates are checked at compile time, so this is not expected).
pub fn html(status: StatusCode, page: &impl askama::Template) -> Response {
    match page.render() {
        Ok(body) => (status, Html(body)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a console page failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page failed to render",
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_value_is_percent_encoded_but_a_path_stays_readable() {
        assert_eq!(
            url_escape("/console/p/x?q=a b&c"),
            "/console/p/x%3Fq%3Da%20b%26c"
        );
    }
}
