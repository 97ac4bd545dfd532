//! Secrets: device tokens (32 random bytes, shown once, stored as a SHA-256 hash) and one-time
//! enrolment codes (short-lived, single use, stored hashed). A wrong guess is not held against
//! the code (that would let anyone who guesses lock a colleague's code) but against the address
//! that guessed: see `server::guessers`. The decisions are plain functions; storage applies them
//! atomically.

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use std::fmt;

/// How long an enrolment code stays valid after it is printed.
pub const ENROLMENT_LIFETIME: Duration = Duration::minutes(15);

/// Crockford's base32 alphabet: no I, L, O or U, so a code read aloud or typed is unambiguous.
const CODE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const LOOKUP_LEN: usize = 4;
const SECRET_LEN: usize = 8;

/// Fills a buffer from the operating system's random source.
fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    // Without an OS random source the hub cannot issue secrets at all; there is no fallback.
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    bytes
}

/// Lowercase hex SHA-256 of a secret: what the hub stores instead of the secret.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Compares two hashes without stopping at the first difference.
fn same_hash(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A new device token: 32 random bytes as 64 hex characters. Only its hash is stored.
pub fn new_token() -> String {
    hex::encode(random_bytes::<32>())
}

/// Whether `text` has the shape of a token (before any lookup is spent on it).
pub fn is_well_formed_token(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// A one-time enrolment code, `LOOK-SECR-ETXX`: a lookup part naming the enrolment (so that the
/// hub finds it by index) and a 40-bit secret part. The hub answers a wrong secret as it answers
/// an unknown lookup, so guessing learns nothing about which lookups exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrolmentCode {
    pub lookup: String,
    pub secret: String,
}

impl EnrolmentCode {
    /// A fresh random code.
    pub fn generate() -> Self {
        let bytes = random_bytes::<{ LOOKUP_LEN + SECRET_LEN }>();
        let text: String = bytes
            .iter()
            .map(|b| CODE_ALPHABET[(b & 31) as usize] as char)
            .collect();
        EnrolmentCode {
            lookup: text[..LOOKUP_LEN].into(),
            secret: text[LOOKUP_LEN..].into(),
        }
    }

    /// Reads a code as a person typed it: case, spaces and dashes do not matter, and the letters
    /// Crockford's base32 treats as look-alikes (O, I, L) read as digits.
    pub fn parse(typed: &str) -> Option<Self> {
        let mut text = String::with_capacity(LOOKUP_LEN + SECRET_LEN);
        for c in typed.chars().filter(|c| !matches!(c, '-' | ' ')) {
            let c = match c.to_ascii_uppercase() {
                'O' => '0',
                'I' | 'L' => '1',
                c => c,
            };
            if !c.is_ascii() || !CODE_ALPHABET.contains(&(c as u8)) {
                return None;
            }
            text.push(c);
        }
        (text.len() == LOOKUP_LEN + SECRET_LEN).then(|| EnrolmentCode {
            lookup: text[..LOOKUP_LEN].into(),
            secret: text[LOOKUP_LEN..].into(),
        })
    }

    pub fn secret_hash(&self) -> String {
        hash_secret(&self.secret)
    }
}

impl fmt::Display for EnrolmentCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}-{}",
            self.lookup,
            &self.secret[..4],
            &self.secret[4..]
        )
    }
}

/// What the hub remembers of an enrolment code.
#[derive(Debug, Clone, PartialEq)]
pub struct EnrolmentState {
    pub secret_hash: String,
    pub expires_at: DateTime<Utc>,
    pub used: bool,
}

/// The verdict on one attempt to redeem a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnrolDecision {
    /// The secret matches and the code is live: issue a token and mark the code used.
    Accept,
    /// The secret is wrong: refused as an unknown code is, whatever state the code is in.
    WrongSecret,
    /// The secret is right but the code is spent or expired: only its holder learns this.
    Used,
    Expired,
}

/// Decides an attempt. The secret is checked first, so that whether a code was used or has
/// expired is told only to someone who holds the whole code.
pub fn decide_enrolment(
    state: &EnrolmentState,
    secret_hash: &str,
    now: DateTime<Utc>,
) -> EnrolDecision {
    if !same_hash(&state.secret_hash, secret_hash) {
        EnrolDecision::WrongSecret
    } else if state.used {
        EnrolDecision::Used
    } else if now >= state.expires_at {
        EnrolDecision::Expired
    } else {
        EnrolDecision::Accept
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live_state(code: &EnrolmentCode) -> EnrolmentState {
        EnrolmentState {
            secret_hash: code.secret_hash(),
            expires_at: Utc::now() + ENROLMENT_LIFETIME,
            used: false,
        }
    }

    #[test]
    fn tokens_are_64_hex_characters_and_differ() {
        let (a, b) = (new_token(), new_token());
        assert!(is_well_formed_token(&a) && is_well_formed_token(&b));
        assert_ne!(a, b);
        assert!(!is_well_formed_token("not-a-token"));
        assert!(!is_well_formed_token(&a.to_uppercase()));
    }

    #[test]
    fn the_stored_hash_is_not_the_token() {
        let token = new_token();
        let hash = hash_secret(&token);
        assert_ne!(hash, token);
        assert_eq!(hash, hash_secret(&token));
        assert_eq!(hash.len(), 64);
    }

    #[test]
    fn a_code_survives_being_typed_sloppily() {
        let code = EnrolmentCode::generate();
        let shown = code.to_string();
        assert_eq!(shown.len(), 14);
        assert_eq!(EnrolmentCode::parse(&shown), Some(code.clone()));
        let sloppy = shown.to_lowercase().replace('-', " ").replace('0', "o");
        assert_eq!(EnrolmentCode::parse(&sloppy), Some(code));
        assert_eq!(EnrolmentCode::parse("ABCD-EFGH"), None);
        assert_eq!(EnrolmentCode::parse("ABCD-EFGH-JKU!"), None);
    }

    #[test]
    fn a_live_code_with_the_right_secret_is_accepted() {
        let code = EnrolmentCode::generate();
        assert_eq!(
            decide_enrolment(&live_state(&code), &code.secret_hash(), Utc::now()),
            EnrolDecision::Accept
        );
        assert_eq!(
            decide_enrolment(&live_state(&code), &hash_secret("WRONG000"), Utc::now()),
            EnrolDecision::WrongSecret
        );
    }

    #[test]
    fn used_and_expired_codes_are_refused_even_with_the_right_secret() {
        let code = EnrolmentCode::generate();
        let hash = code.secret_hash();
        let used = EnrolmentState {
            used: true,
            ..live_state(&code)
        };
        assert_eq!(
            decide_enrolment(&used, &hash, Utc::now()),
            EnrolDecision::Used
        );
        let later = Utc::now() + ENROLMENT_LIFETIME + Duration::seconds(1);
        assert_eq!(
            decide_enrolment(&live_state(&code), &hash, later),
            EnrolDecision::Expired
        );
    }

    #[test]
    fn a_wrong_secret_learns_nothing_of_the_codes_state() {
        let code = EnrolmentCode::generate();
        let wrong = hash_secret("WRONG000");
        let used = EnrolmentState {
            used: true,
            ..live_state(&code)
        };
        let later = Utc::now() + ENROLMENT_LIFETIME + Duration::seconds(1);
        assert_eq!(
            decide_enrolment(&used, &wrong, Utc::now()),
            EnrolDecision::WrongSecret
        );
        assert_eq!(
            decide_enrolment(&live_state(&code), &wrong, later),
            EnrolDecision::WrongSecret
        );
    }
}
