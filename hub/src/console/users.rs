//! Console accounts as the command line manages them (`minga-hub user add|reset|list`): a
//! name, the projects she supervises, a password (given on standard input, or generated and
//! shown once), each change kept in the audit log.

use super::auth::{hash_password, random_hex};
use crate::error::{HubError, Result};
use crate::storage::console::COMMAND_LINE;
use crate::storage::{AuditEntry, ConsoleUser, HubStorage, NewConsoleUser};
use chrono::Utc;

/// The shortest password the hub accepts when one is given.
pub const SHORTEST_PASSWORD: usize = 10;

/// A password set for a user: the one given, or the one made, which must be shown once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Password {
    Given(String),
    Generated(String),
}

impl Password {
    /// `given`, checked, or a new random one (24 hex digits, 96 bits).
    pub fn given_or_generated(given: Option<String>) -> Result<Password> {
        match given {
            Some(text) if text.chars().count() < SHORTEST_PASSWORD => {
                Err(HubError::ShortConsolePassword(SHORTEST_PASSWORD))
            }
            Some(text) => Ok(Password::Given(text)),
            None => Ok(Password::Generated(random_hex(12)?)),
        }
    }

    fn text(&self) -> &str {
        match self {
            Password::Given(text) | Password::Generated(text) => text,
        }
    }
}

/// Refuses a name that is empty, longer than 64 characters, padded with spaces or holding a
/// control character (it is typed at sign-in and printed in listings and the audit log).
pub fn check_name(name: &str) -> Result<()> {
    let reason = if name.is_empty() || name.chars().count() > 64 {
        "it must have 1 to 64 characters"
    } else if name.trim() != name {
        "it must not begin or end with spaces"
    } else if name.chars().any(char::is_control) {
        "it must not hold control characters"
    } else {
        return Ok(());
    };
    Err(HubError::BadConsoleUserName {
        name: name.into(),
        reason: reason.into(),
    })
}

fn audit(storage: &dyn HubStorage, action: &str, project: Option<&str>, user: &str) -> Result<()> {
    storage.record_audit(&AuditEntry {
        at: Utc::now(),
        who: COMMAND_LINE.into(),
        action: action.into(),
        project: project.map(String::from),
        subject: Some(user.into()),
        address: None,
    })
}

/// Creates console user `name` supervising `projects` with `password`.
pub fn add_user(
    storage: &dyn HubStorage,
    name: &str,
    projects: &[String],
    password: &Password,
) -> Result<ConsoleUser> {
    check_name(name)?;
    storage.create_console_user(&NewConsoleUser {
        name: name.into(),
        projects: projects.to_vec(),
        password_hash: hash_password(password.text())?,
        actor: random_hex(16)?,
    })?;
    for project in projects {
        audit(storage, "user add", Some(project), name)?;
    }
    storage
        .console_user(name)?
        .ok_or_else(|| HubError::UnknownConsoleUser(name.into()))
}

/// Gives `name` a new password, signing her out everywhere.
pub fn reset_user(storage: &dyn HubStorage, name: &str, password: &Password) -> Result<()> {
    storage.set_console_password(name, &hash_password(password.text())?)?;
    let user = storage
        .console_user(name)?
        .ok_or_else(|| HubError::UnknownConsoleUser(name.into()))?;
    for project in &user.projects {
        audit(storage, "user reset", Some(project), name)?;
    }
    Ok(())
}
