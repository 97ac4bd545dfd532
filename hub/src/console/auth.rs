//! Who is signed in: Argon2id password hashes, random session tokens kept in an `HttpOnly`,
//! `SameSite=Strict` cookie (and `Secure` over TLS) whose SHA-256 alone is stored, sessions
//! that expire, and the growing wait after repeated wrong passwords for one account from one
//! address (never a lock-out, which would let anyone lock a supervisor out).

use crate::error::{HubError, Result};
use crate::server::state::AppState;
use crate::storage::{ConsoleSession, ConsoleUser};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Duration, Utc};
use sha2::{Digest, Sha256};

/// The cookie holding a signed-in session's token.
pub const SESSION_COOKIE: &str = "minga_session";
/// The cookie the sign-in form's CSRF token is checked against (no session exists yet).
pub const SIGNIN_COOKIE: &str = "minga_signin";
/// The cookie remembering the language chosen with the switch.
pub const LANG_COOKIE: &str = "minga_lang";

/// How long a session lasts from its sign-in, however busy: a working day.
pub const SESSION_LIFETIME: Duration = Duration::hours(8);

/// Wrong passwords allowed without waiting (typing mistakes).
const FREE_FAILURES: u32 = 3;
/// The wait after the first failure past the free ones; each further failure doubles it ...
const FIRST_WAIT_SECONDS: i64 = 5;
/// ... up to this.
const LONGEST_WAIT_SECONDS: i64 = 15 * 60;

/// How long an account must wait, from its last failure at one address, before that address
/// may try again: nothing for the first [`FREE_FAILURES`], then 5 s doubling to 15 min.
pub fn wait_after(failures: u32) -> Duration {
    if failures < FREE_FAILURES {
        return Duration::zero();
    }
    let doublings = (failures - FREE_FAILURES).min(20);
    Duration::seconds((FIRST_WAIT_SECONDS << doublings).min(LONGEST_WAIT_SECONDS))
}

/// The address sign-in failures are counted for: an IPv4 address whole, an IPv6 address by
/// its /64 network (one machine commonly holds a whole /64, and could otherwise try from a new
/// address each time).
pub fn address_key(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        std::net::IpAddr::V6(v6) => v6.to_canonical().to_string(),
        v4 => v4.to_string(),
    }
}

/// `bytes` random bytes as hex (tokens, CSRF secrets, generated passwords, actors).
pub fn random_hex(bytes: usize) -> Result<String> {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer)
        .map_err(|e| HubError::Corrupt(format!("no randomness from the system: {e}")))?;
    Ok(hex::encode(buffer))
}

/// What storage keeps of a session token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Argon2id (the crate's default parameters: 19 MiB, 2 passes) of `password`, with a fresh
/// salt, in the PHC string format. Cost: tens of milliseconds, on purpose.
pub fn hash_password(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt)
        .map_err(|e| HubError::Corrupt(format!("no randomness from the system: {e}")))?;
    let salt = SaltString::encode_b64(&salt)
        .map_err(|e| HubError::Corrupt(format!("a password salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| HubError::Corrupt(format!("hashing a password: {e}")))
}

/// Whether `password` is the one `hash` was made from; a hash that does not parse matches
/// nothing.
pub fn password_matches(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A hash no password matches, verified against when the name is unknown, so that a wrong
/// name takes as long as a wrong password and does not reveal which names exist.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("no account has this password").unwrap_or_default())
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_string())
}

/// A `Set-Cookie` value for the console's paths: `HttpOnly`, `SameSite=Strict`, `Secure` when
/// the hub serves TLS; `max_age` seconds (0 deletes it).
pub fn set_cookie(name: &str, value: &str, max_age: i64, tls: bool) -> HeaderValue {
    let secure = if tls { "; Secure" } else { "" };
    let text = format!(
        "{name}={value}; Path=/console; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("invalid=1"))
}

/// A request from a signed-in console user: her session and account.
#[derive(Debug, Clone)]
pub struct Signed {
    pub session: ConsoleSession,
    pub user: ConsoleUser,
}

impl Signed {
    /// Whether she supervises `project`: every project page checks it, and answers 404
    /// otherwise, so that a guessed URL reveals nothing.
    pub fn supervises(&self, project: &str) -> bool {
        self.user.projects.iter().any(|p| p == project)
    }
}

/// No live session: the browser is sent to the sign-in page.
pub struct SignInFirst;

impl IntoResponse for SignInFirst {
    fn into_response(self) -> Response {
        Redirect::to("/console/sign-in").into_response()
    }
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> std::result::Result<Self, Self::Rejection> {
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(SignInFirst.into_response());
        };
        let hash = token_hash(&token);
        let found = state
            .blocking(move |storage| {
                let Some(session) = storage.console_session(&hash, Utc::now())? else {
                    return Ok(None);
                };
                let user = storage.console_user(&session.user)?;
                Ok(user.map(|user| Signed { session, user }))
            })
            .await
            .map_err(IntoResponse::into_response)?;
        found.ok_or_else(|| SignInFirst.into_response())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_matches_its_hash_and_no_other() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(password_matches("correct horse", &hash));
        assert!(!password_matches("correct horse ", &hash));
        assert!(!password_matches("correct horse", "not a hash"));
        assert_ne!(hash, hash_password("correct horse").unwrap(), "salted");
        assert!(!password_matches("", decoy_hash()));
    }

    #[test]
    fn waits_grow_after_the_free_failures_and_stop_growing() {
        assert_eq!(wait_after(0), Duration::zero());
        assert_eq!(wait_after(2), Duration::zero());
        assert_eq!(wait_after(3), Duration::seconds(5));
        assert_eq!(wait_after(4), Duration::seconds(10));
        assert_eq!(wait_after(1000), Duration::minutes(15));
    }

    #[test]
    fn failures_are_counted_per_ipv4_address_and_per_ipv6_network() {
        let key = |text: &str| address_key(text.parse().unwrap());
        assert_eq!(key("192.168.1.20"), "192.168.1.20");
        assert_eq!(key("2001:db8:1:2::7"), "2001:db8:1:2::/64");
        assert_eq!(
            key("2001:db8:1:2:ffff::9"),
            key("2001:db8:1:2::7"),
            "one network"
        );
        assert_ne!(key("2001:db8:1:3::7"), key("2001:db8:1:2::7"));
        assert_eq!(
            key("::ffff:10.0.0.1"),
            "10.0.0.1",
            "an IPv4 client of a dual stack"
        );
    }

    #[test]
    fn cookies_are_read_by_name_and_set_strictly() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; minga_session=tok; b=2"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE).as_deref(), Some("tok"));
        assert_eq!(cookie(&headers, "minga"), None);
        let plain = set_cookie(SESSION_COOKIE, "t", 60, false);
        let plain = plain.to_str().unwrap();
        assert!(plain.contains("HttpOnly") && plain.contains("SameSite=Strict"));
        assert!(!plain.contains("Secure"));
        assert!(set_cookie(SESSION_COOKIE, "t", 60, true)
            .to_str()
            .unwrap()
            .ends_with("; Secure"));
    }
}
