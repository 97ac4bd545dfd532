//! What the supervisor's console keeps in the hub's storage: its users (the projects each
//! supervises, an Argon2 password hash, the automerge actor her reviews are written under), their
//! sign-in sessions (only a hash of each token), the sign-in failures per account and address
//! that slow down guessing, and the audit log. Both backends implement [`ConsoleStorage`]; the
//! policy (hashing, delays, expiry) is the console's (`crate::console`).

use crate::error::Result;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// A console user as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConsoleUser {
    pub name: String,
    /// The projects she supervises, by name, sorted.
    pub projects: Vec<String>,
    /// Argon2id in the PHC string format; never shown.
    #[serde(skip)]
    pub password_hash: String,
    /// Her account's fixed id (hex), from which her signing key is derived
    /// (`console::signer`), so that a document's history names her rather than the hub.
    pub actor: String,
    pub created_at: DateTime<Utc>,
}

/// A console user to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewConsoleUser {
    pub name: String,
    pub projects: Vec<String>,
    pub password_hash: String,
    pub actor: String,
}

/// A signed-in session: the cookie holds the token, storage only its SHA-256.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsoleSession {
    pub token_hash: String,
    pub user: String,
    /// The value every form that changes something must send back (hex, random).
    pub csrf_secret: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Wrong passwords given for one account from one address since the last success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SigninFailures {
    pub failures: u32,
    pub last_failure_at: DateTime<Utc>,
}

/// One audit entry: who did what, when, from where.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    /// A console user's name, or `command line` for an administrator at the hub's machine.
    pub who: String,
    /// What happened, e.g. `sign-in`, `sign-in refused`, `approve`, `user add`.
    pub action: String,
    pub project: Option<String>,
    /// What it was done to: a submission id, a user name.
    pub subject: Option<String>,
    /// The client's address, for what came over HTTP.
    pub address: Option<String>,
}

/// A stored audit entry with its number (entries are numbered in the order they were kept).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRecord {
    pub id: i64,
    #[serde(flatten)]
    pub entry: AuditEntry,
}

/// The console's tables (the schema step that adds them: SQLite's version 4, PostgreSQL's 3),
/// with times as `time` (SQLite: INTEGER microseconds; PostgreSQL: TIMESTAMPTZ) and the audit
/// log's numbering column as `numbered` (an auto-incrementing primary key).
pub fn console_tables(time: &str, numbered: &str) -> String {
    format!(
        "
CREATE TABLE console_users (
    name TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    actor TEXT NOT NULL,
    created_at {time} NOT NULL
);
CREATE TABLE console_user_projects (
    user_name TEXT NOT NULL REFERENCES console_users(name),
    project TEXT NOT NULL REFERENCES projects(name),
    PRIMARY KEY (user_name, project)
);
CREATE INDEX console_users_by_project ON console_user_projects (project, user_name);
CREATE TABLE console_sessions (
    token_hash TEXT PRIMARY KEY,
    user_name TEXT NOT NULL REFERENCES console_users(name),
    csrf_secret TEXT NOT NULL,
    created_at {time} NOT NULL,
    expires_at {time} NOT NULL
);
CREATE INDEX console_sessions_by_expiry ON console_sessions (expires_at);
CREATE TABLE console_signin_failures (
    user_name TEXT NOT NULL,
    address TEXT NOT NULL,
    failures INTEGER NOT NULL,
    last_failure_at {time} NOT NULL,
    PRIMARY KEY (user_name, address)
);
CREATE TABLE audit_log (
    id {numbered},
    at {time} NOT NULL,
    who TEXT NOT NULL,
    action TEXT NOT NULL,
    project TEXT,
    subject TEXT,
    address TEXT
);
CREATE INDEX audit_by_project ON audit_log (project, id);
"
    )
}

/// Who an audit entry names for what an administrator did from the command line.
pub const COMMAND_LINE: &str = "command line";

/// The console's part of the hub's storage. Every call is one short transaction.
pub trait ConsoleStorage {
    /// Creates a user supervising `user.projects`; refuses a taken name
    /// (`DuplicateConsoleUser`) and an unknown project (`UnknownProject`), storing nothing.
    fn create_console_user(&self, user: &NewConsoleUser) -> Result<()>;
    fn console_user(&self, name: &str) -> Result<Option<ConsoleUser>>;
    /// Every user, by name. Cost: one row per user and supervised project.
    fn console_users(&self) -> Result<Vec<ConsoleUser>>;
    /// Replaces a user's password hash and ends all her sessions (`UnknownConsoleUser` if none).
    fn set_console_password(&self, name: &str, password_hash: &str) -> Result<()>;

    /// Keeps a new session, dropping the sessions that have expired by its creation.
    fn create_console_session(&self, session: &ConsoleSession) -> Result<()>;
    /// The session with this token hash, if it has not expired by `now`.
    fn console_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<ConsoleSession>>;
    /// Ends a session (signing out); ending one that is gone is harmless.
    fn end_console_session(&self, token_hash: &str) -> Result<()>;

    fn signin_failures(&self, user: &str, address: &str) -> Result<Option<SigninFailures>>;
    /// Counts one more wrong password for `user` from `address` at `at`; returns the count.
    fn record_signin_failure(
        &self,
        user: &str,
        address: &str,
        at: DateTime<Utc>,
    ) -> Result<SigninFailures>;
    /// Forgets the failures of `user` from `address` (after a right password).
    fn clear_signin_failures(&self, user: &str, address: &str) -> Result<()>;

    fn record_audit(&self, entry: &AuditEntry) -> Result<()>;
    /// Audit entries newest first, before entry number `before` (all when `None`), at most
    /// `limit`: those of `project`, and those of no project (signing in and out) by a user who
    /// supervises it; every entry when `project` is `None`. Cost: a walk of the entries
    /// newest first (the primary key) until `limit` match.
    fn audit_log(
        &self,
        project: Option<&str>,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<AuditRecord>>;
}
