//! The console's tables in the SQLite backend (see `storage::console`); times are microseconds
//! since the epoch, as in the projection, so that expiry compares numbers.

use super::{from_micros, micros, SqliteStorage};
use crate::error::{HubError, Result};
use crate::storage::console::{
    AuditEntry, AuditRecord, ConsoleSession, ConsoleStorage, ConsoleUser, NewConsoleUser,
    SigninFailures,
};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};

/// Schema step 4: the console's users, sessions, sign-in failures and audit log (times in
/// microseconds since the epoch).
pub(crate) fn console_tables() -> String {
    crate::storage::console::console_tables("INTEGER", "INTEGER PRIMARY KEY AUTOINCREMENT")
}

fn user_projects(conn: &Connection, name: &str) -> rusqlite::Result<Vec<String>> {
    let mut statement = conn.prepare_cached(
        "SELECT project FROM console_user_projects WHERE user_name = ?1 ORDER BY project",
    )?;
    let rows = statement.query_map([name], |row| row.get(0))?;
    rows.collect()
}

fn user_from_row(conn: &Connection, row: &Row<'_>) -> rusqlite::Result<ConsoleUser> {
    let name: String = row.get(0)?;
    Ok(ConsoleUser {
        projects: user_projects(conn, &name)?,
        name,
        password_hash: row.get(1)?,
        actor: row.get(2)?,
        created_at: from_micros(row, 3)?,
    })
}

const USER_COLUMNS: &str = "name, password_hash, actor, created_at";

fn session_from_row(row: &Row<'_>) -> rusqlite::Result<ConsoleSession> {
    Ok(ConsoleSession {
        token_hash: row.get(0)?,
        user: row.get(1)?,
        csrf_secret: row.get(2)?,
        created_at: from_micros(row, 3)?,
        expires_at: from_micros(row, 4)?,
    })
}

fn audit_from_row(row: &Row<'_>) -> rusqlite::Result<AuditRecord> {
    Ok(AuditRecord {
        id: row.get(0)?,
        entry: AuditEntry {
            at: from_micros(row, 1)?,
            who: row.get(2)?,
            action: row.get(3)?,
            project: row.get(4)?,
            subject: row.get(5)?,
            address: row.get(6)?,
        },
    })
}

impl ConsoleStorage for SqliteStorage {
    fn create_console_user(&self, user: &NewConsoleUser) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let taken: Option<i64> = tx
            .query_row(
                "SELECT 1 FROM console_users WHERE name = ?1",
                [&user.name],
                |r| r.get(0),
            )
            .optional()?;
        if taken.is_some() {
            return Err(HubError::DuplicateConsoleUser(user.name.clone()));
        }
        tx.execute(
            "INSERT INTO console_users (name, password_hash, actor, created_at)
             VALUES (?1, ?2, ?3, ?4)",
            params![
                user.name,
                user.password_hash,
                user.actor,
                micros(&Utc::now())
            ],
        )?;
        for project in &user.projects {
            SqliteStorage::require_project(&tx, project)?;
            tx.execute(
                "INSERT OR IGNORE INTO console_user_projects (user_name, project) VALUES (?1, ?2)",
                params![user.name, project],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn console_user(&self, name: &str) -> Result<Option<ConsoleUser>> {
        let conn = self.conn();
        let sql = format!("SELECT {USER_COLUMNS} FROM console_users WHERE name = ?1");
        Ok(conn
            .query_row(&sql, [name], |row| user_from_row(&conn, row))
            .optional()?)
    }

    fn console_users(&self) -> Result<Vec<ConsoleUser>> {
        let conn = self.conn();
        let sql = format!("SELECT {USER_COLUMNS} FROM console_users ORDER BY name");
        let mut statement = conn.prepare(&sql)?;
        let rows = statement.query_map([], |row| user_from_row(&conn, row))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn set_console_password(&self, name: &str, password_hash: &str) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let changed = tx.execute(
            "UPDATE console_users SET password_hash = ?2 WHERE name = ?1",
            params![name, password_hash],
        )?;
        if changed == 0 {
            return Err(HubError::UnknownConsoleUser(name.into()));
        }
        tx.execute("DELETE FROM console_sessions WHERE user_name = ?1", [name])?;
        tx.commit()?;
        Ok(())
    }

    fn create_console_session(&self, session: &ConsoleSession) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "DELETE FROM console_sessions WHERE expires_at <= ?1",
            [micros(&session.created_at)],
        )?;
        tx.execute(
            "INSERT INTO console_sessions (token_hash, user_name, csrf_secret, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                session.token_hash,
                session.user,
                session.csrf_secret,
                micros(&session.created_at),
                micros(&session.expires_at)
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn console_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<ConsoleSession>> {
        let conn = self.conn();
        Ok(conn
            .query_row(
                "SELECT token_hash, user_name, csrf_secret, created_at, expires_at
                 FROM console_sessions WHERE token_hash = ?1 AND expires_at > ?2",
                params![token_hash, micros(&now)],
                session_from_row,
            )
            .optional()?)
    }

    fn end_console_session(&self, token_hash: &str) -> Result<()> {
        self.conn().execute(
            "DELETE FROM console_sessions WHERE token_hash = ?1",
            [token_hash],
        )?;
        Ok(())
    }

    fn signin_failures(&self, user: &str, address: &str) -> Result<Option<SigninFailures>> {
        let conn = self.conn();
        Ok(conn
            .query_row(
                "SELECT failures, last_failure_at FROM console_signin_failures
                 WHERE user_name = ?1 AND address = ?2",
                params![user, address],
                |row| {
                    Ok(SigninFailures {
                        failures: row.get(0)?,
                        last_failure_at: from_micros(row, 1)?,
                    })
                },
            )
            .optional()?)
    }

    fn record_signin_failure(
        &self,
        user: &str,
        address: &str,
        at: DateTime<Utc>,
    ) -> Result<SigninFailures> {
        let failures: u32 = self.conn().query_row(
            "INSERT INTO console_signin_failures (user_name, address, failures, last_failure_at)
             VALUES (?1, ?2, 1, ?3)
             ON CONFLICT (user_name, address)
             DO UPDATE SET failures = failures + 1, last_failure_at = ?3
             RETURNING failures",
            params![user, address, micros(&at)],
            |row| row.get(0),
        )?;
        Ok(SigninFailures {
            failures,
            last_failure_at: at,
        })
    }

    fn clear_signin_failures(&self, user: &str, address: &str) -> Result<()> {
        self.conn().execute(
            "DELETE FROM console_signin_failures WHERE user_name = ?1 AND address = ?2",
            params![user, address],
        )?;
        Ok(())
    }

    fn record_audit(&self, entry: &AuditEntry) -> Result<()> {
        self.conn().execute(
            "INSERT INTO audit_log (at, who, action, project, subject, address)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                micros(&entry.at),
                entry.who,
                entry.action,
                entry.project,
                entry.subject,
                entry.address
            ],
        )?;
        Ok(())
    }

    fn audit_log(
        &self,
        project: Option<&str>,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<AuditRecord>> {
        let conn = self.conn();
        let mut statement = conn.prepare_cached(
            "SELECT id, at, who, action, project, subject, address FROM audit_log
             WHERE id < ?2 AND (?1 IS NULL OR project = ?1 OR (project IS NULL AND who IN
                 (SELECT user_name FROM console_user_projects WHERE project = ?1)))
             ORDER BY id DESC LIMIT ?3",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = statement.query_map(
            params![project, before.unwrap_or(i64::MAX), limit],
            audit_from_row,
        )?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
