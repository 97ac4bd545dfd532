//! Cross-site request forgery: every form that changes something carries a token that a page of
//! another site cannot read, and the POST is refused unless the token is the session's (or,
//! on the sign-in form, before there is a session, the `minga_signin` cookie's). The cookies'
//! `SameSite=Strict` is a second guard, not the only one.

/// Whether `sent` (the form's field) is `expected`, compared in time independent of where they
/// differ. An empty expectation matches nothing.
pub fn token_matches(sent: &str, expected: &str) -> bool {
    if expected.is_empty() || sent.len() != expected.len() {
        return false;
    }
    sent.bytes()
        .zip(expected.bytes())
        .fold(0u8, |differs, (a, b)| differs | (a ^ b))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_token_matches() {
        assert!(token_matches("abc123", "abc123"));
        assert!(!token_matches("abc124", "abc123"));
        assert!(!token_matches("abc12", "abc123"));
        assert!(!token_matches("", ""), "no token is never a token");
    }
}
