//! Signing in and out. A password is checked only over TLS, from this machine, or where the
//! configuration allows plain HTTP; repeated wrong passwords for one account from one address
//! make that address wait longer each time (`auth::wait_after`); every sign-in, refusal and
//! sign-out is audited.

use super::{audit_entry, field, fields, message, Client};
use crate::console::auth::{self, Signed};
use crate::console::i18n::Lang;
use crate::console::{csrf, html, Chrome};
use crate::server::state::AppState;
use crate::storage::{ConsoleSession, HubStorage};
use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use chrono::Utc;

#[derive(Template)]
#[template(path = "console/sign_in.html")]
struct SignInPage {
    chrome: Chrome,
    allowed: bool,
    /// The form's CSRF token, also in the `minga_signin` cookie.
    csrf: String,
    name: String,
    message: Option<String>,
}

/// The sign-in form, with a fresh CSRF token in a cookie and the form.
fn form_page(
    state: &AppState,
    lang: Lang,
    client: &Client,
    status: StatusCode,
    name: &str,
    text: Option<String>,
) -> Response {
    let allowed = state.console.sign_in_allowed_from(client.0.ip());
    let text = text.or_else(|| (!allowed).then(|| lang.texts().plain_http_refused.to_string()));
    let Ok(token) = auth::random_hex(16) else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "no randomness").into_response();
    };
    let page = SignInPage {
        chrome: Chrome::new(lang, "/console/sign-in"),
        allowed,
        csrf: token.clone(),
        name: name.into(),
        message: text,
    };
    let cookie = auth::set_cookie(auth::SIGNIN_COOKIE, &token, 3600, state.console.tls);
    let status = if allowed {
        status
    } else {
        StatusCode::FORBIDDEN
    };
    ([(header::SET_COOKIE, cookie)], html(status, &page)).into_response()
}

pub async fn form(State(state): State<AppState>, client: Client, headers: HeaderMap) -> Response {
    form_page(
        &state,
        Lang::of_request(&headers),
        &client,
        StatusCode::OK,
        "",
        None,
    )
}

/// What a sign-in attempt came to.
enum Attempt {
    /// Signed in: the new session's token for the cookie.
    Accepted(String),
    Wrong,
    /// Too many wrong passwords lately: try again after this many seconds.
    Wait(i64),
}

/// Checks `password` for `name` from `address` and, if right, opens a session. Runs on a
/// blocking thread (Argon2 takes tens of milliseconds, storage blocks).
fn attempt(
    storage: &dyn HubStorage,
    name: &str,
    password: &str,
    address: &str,
) -> crate::Result<Attempt> {
    let now = Utc::now();
    if let Some(failures) = storage.signin_failures(name, address)? {
        let ready = failures.last_failure_at + auth::wait_after(failures.failures);
        if ready > now {
            return Ok(Attempt::Wait((ready - now).num_seconds().max(1)));
        }
    }
    let user = storage.console_user(name)?;
    let hash = user
        .as_ref()
        .map_or(auth::decoy_hash(), |u| u.password_hash.as_str());
    let right = auth::password_matches(password, hash);
    let Some(user) = user.filter(|_| right) else {
        // Only a real account counts failures (and is audited): names an attacker makes up
        // must not grow the tables.
        if storage.console_user(name)?.is_some() {
            storage.record_signin_failure(name, address, now)?;
        }
        return Ok(Attempt::Wrong);
    };
    storage.clear_signin_failures(name, address)?;
    let token = auth::random_hex(32)?;
    storage.create_console_session(&ConsoleSession {
        token_hash: auth::token_hash(&token),
        user: user.name.clone(),
        csrf_secret: auth::random_hex(32)?,
        created_at: now,
        expires_at: now + auth::SESSION_LIFETIME,
    })?;
    Ok(Attempt::Accepted(token))
}

pub async fn submit(
    State(state): State<AppState>,
    client: Client,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let lang = Lang::of_request(&headers);
    let t = lang.texts();
    let sent = fields(&body);
    let name = field(&sent, "name").unwrap_or_default().to_string();
    if !state.console.sign_in_allowed_from(client.0.ip()) {
        return form_page(&state, lang, &client, StatusCode::FORBIDDEN, &name, None);
    }
    let expected = auth::cookie(&headers, auth::SIGNIN_COOKIE).unwrap_or_default();
    if !csrf::token_matches(field(&sent, "csrf").unwrap_or_default(), &expected) {
        return message(
            StatusCode::FORBIDDEN,
            Chrome::new(lang, "/console/sign-in"),
            t.request_refused,
        );
    }
    let password = field(&sent, "password").unwrap_or_default().to_string();
    let address = auth::address_key(client.0.ip());
    let (who, from) = (name.clone(), address.clone());
    let attempted = state
        .blocking(move |storage| {
            let result = attempt(storage, &who, &password, &from)?;
            let action = match result {
                Attempt::Accepted(_) => "sign-in",
                Attempt::Wrong => "sign-in refused: wrong password",
                Attempt::Wait(_) => "sign-in refused: waiting after wrong passwords",
            };
            if storage.console_user(&who)?.is_some() {
                storage.record_audit(&audit_entry(&who, action, None, None, client.0))?;
            }
            Ok(result)
        })
        .await;
    match attempted {
        Ok(Attempt::Accepted(token)) => {
            let session = auth::set_cookie(
                auth::SESSION_COOKIE,
                &token,
                auth::SESSION_LIFETIME.num_seconds(),
                state.console.tls,
            );
            let used = auth::set_cookie(auth::SIGNIN_COOKIE, "", 0, state.console.tls);
            // Appended: an array of pairs would keep only the last of two Set-Cookie headers.
            (
                AppendHeaders([(header::SET_COOKIE, session), (header::SET_COOKIE, used)]),
                Redirect::to("/console"),
            )
                .into_response()
        }
        Ok(Attempt::Wrong) => {
            let text = Some(t.wrong_password.to_string());
            form_page(&state, lang, &client, StatusCode::UNAUTHORIZED, &name, text)
        }
        Ok(Attempt::Wait(seconds)) => {
            let text = Some(format!("{} {seconds} s.", t.wait_seconds));
            let mut page = form_page(
                &state,
                lang,
                &client,
                StatusCode::TOO_MANY_REQUESTS,
                &name,
                text,
            );
            if let Ok(value) = seconds.to_string().parse() {
                page.headers_mut().insert(header::RETRY_AFTER, value);
            }
            page
        }
        Err(error) => error.into_response(),
    }
}

pub async fn sign_out(
    State(state): State<AppState>,
    signed: Signed,
    client: Client,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !super::csrf_sent(&fields(&body), &signed) {
        return super::csrf_refused(Lang::of_request(&headers));
    }
    let (hash, who) = (signed.session.token_hash.clone(), signed.user.name.clone());
    let ended = state
        .blocking(move |storage| {
            storage.end_console_session(&hash)?;
            storage.record_audit(&audit_entry(&who, "sign-out", None, None, client.0))
        })
        .await;
    if let Err(error) = ended {
        return error.into_response();
    }
    let gone = auth::set_cookie(auth::SESSION_COOKIE, "", 0, state.console.tls);
    (
        [(header::SET_COOKIE, gone)],
        Redirect::to("/console/sign-in"),
    )
        .into_response()
}
