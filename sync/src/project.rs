//! Hub project names: the one rule that the hub applies when a project is created and that a
//! device applies before it puts the name into a sync URL (`…/v1/sync/<project>`), so that no
//! project exists that no device could sync with.

/// The longest project name, in bytes (all of them ASCII).
pub const MAX_PROJECT_NAME_LEN: usize = 64;

/// Why a text is not a project name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProjectNameError {
    #[error("a project name cannot be empty")]
    Empty,
    #[error("a project name is at most {MAX_PROJECT_NAME_LEN} characters; this one has {len}")]
    TooLong { len: usize },
    #[error("a project name holds only letters A-Z and a-z, digits, `-`, `_` and `.`; {found:?} is none of them")]
    BadCharacter { found: char },
    #[error("`.` and `..` name folders in a URL path, not projects")]
    DotsOnly,
}

/// Checks `name` against the rule: 1 to [`MAX_PROJECT_NAME_LEN`] of the characters a URL path
/// segment carries as they are (ASCII letters, digits, `-`, `_`, `.`), and not `.` or `..`
/// (which a URL would read as a folder).
pub fn check_project_name(name: &str) -> Result<(), ProjectNameError> {
    if name.is_empty() {
        return Err(ProjectNameError::Empty);
    }
    if let Some(found) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-_.".contains(*c)))
    {
        return Err(ProjectNameError::BadCharacter { found });
    }
    if name.len() > MAX_PROJECT_NAME_LEN {
        return Err(ProjectNameError::TooLong { len: name.len() });
    }
    if name == "." || name == ".." {
        return Err(ProjectNameError::DotsOnly);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_fit_in_a_url_path_segment_are_project_names() {
        for name in ["imbabura", "carchi-2026", "north_v2.1", "A", "...x"] {
            assert_eq!(check_project_name(name), Ok(()), "{name}");
        }
        let longest = "p".repeat(MAX_PROJECT_NAME_LEN);
        assert_eq!(check_project_name(&longest), Ok(()));
    }

    #[test]
    fn names_a_url_would_bend_or_a_terminal_would_run_are_refused() {
        use ProjectNameError::*;
        for (name, error) in [
            ("", Empty),
            ("a/b", BadCharacter { found: '/' }),
            ("../x", BadCharacter { found: '/' }),
            ("x\u{1b}[2J", BadCharacter { found: '\u{1b}' }),
            ("p?x=1", BadCharacter { found: '?' }),
            ("two words", BadCharacter { found: ' ' }),
            ("año", BadCharacter { found: 'ñ' }),
            (".", DotsOnly),
            ("..", DotsOnly),
        ] {
            assert_eq!(check_project_name(name), Err(error), "{name:?}");
        }
        let long = "p".repeat(MAX_PROJECT_NAME_LEN + 1);
        assert_eq!(
            check_project_name(&long),
            Err(TooLong {
                len: MAX_PROJECT_NAME_LEN + 1
            })
        );
    }

    #[test]
    fn the_refusal_shows_a_control_character_escaped() {
        let error = check_project_name("x\u{1b}[2J").unwrap_err().to_string();
        assert!(error.contains(r"'\u{1b}'"), "{error}");
        assert!(!error.contains('\u{1b}'));
    }
}
