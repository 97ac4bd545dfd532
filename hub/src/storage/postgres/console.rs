//! The console's tables in the PostgreSQL backend (see `storage::console`).

use super::{collect, PostgresStorage};
use crate::error::{HubError, Result};
use crate::storage::console::{
    AuditEntry, AuditRecord, ConsoleSession, ConsoleStorage, ConsoleUser, NewConsoleUser,
    SigninFailures,
};
use chrono::{DateTime, Utc};
use postgres::{GenericClient, Row};

/// Schema step 3 (SQLite's step 4): the console's users, sessions, sign-in failures and audit
/// log.
pub(super) fn console_tables() -> String {
    crate::storage::console::console_tables(
        "TIMESTAMPTZ",
        "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
    )
}

const USER_COLUMNS: &str = "name, password_hash, actor, created_at";

fn user_from_row(client: &mut impl GenericClient, row: &Row) -> Result<ConsoleUser> {
    let name: String = row.try_get(0)?;
    let projects = client
        .query(
            "SELECT project FROM console_user_projects WHERE user_name = $1 ORDER BY project",
            &[&name],
        )?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<std::result::Result<_, _>>()?;
    Ok(ConsoleUser {
        name,
        projects,
        password_hash: row.try_get(1)?,
        actor: row.try_get(2)?,
        created_at: row.try_get(3)?,
    })
}

fn session_from_row(row: &Row) -> Result<ConsoleSession> {
    Ok(ConsoleSession {
        token_hash: row.try_get(0)?,
        user: row.try_get(1)?,
        csrf_secret: row.try_get(2)?,
        created_at: row.try_get(3)?,
        expires_at: row.try_get(4)?,
    })
}

fn failures_from_row(row: &Row) -> Result<SigninFailures> {
    let failures: i32 = row.try_get(0)?;
    Ok(SigninFailures {
        failures: u32::try_from(failures).unwrap_or(0),
        last_failure_at: row.try_get(1)?,
    })
}

fn audit_from_row(row: &Row) -> Result<AuditRecord> {
    Ok(AuditRecord {
        id: row.try_get(0)?,
        entry: AuditEntry {
            at: row.try_get(1)?,
            who: row.try_get(2)?,
            action: row.try_get(3)?,
            project: row.try_get(4)?,
            subject: row.try_get(5)?,
            address: row.try_get(6)?,
        },
    })
}

impl ConsoleStorage for PostgresStorage {
    fn create_console_user(&self, user: &NewConsoleUser) -> Result<()> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        let inserted = tx.execute(
            "INSERT INTO console_users (name, password_hash, actor, created_at)
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            &[&user.name, &user.password_hash, &user.actor, &Utc::now()],
        )?;
        if inserted == 0 {
            return Err(HubError::DuplicateConsoleUser(user.name.clone()));
        }
        for project in &user.projects {
            if tx
                .query_opt("SELECT 1 FROM projects WHERE name = $1", &[project])?
                .is_none()
            {
                return Err(HubError::UnknownProject(project.clone()));
            }
            tx.execute(
                "INSERT INTO console_user_projects (user_name, project) VALUES ($1, $2)
                 ON CONFLICT DO NOTHING",
                &[&user.name, project],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn console_user(&self, name: &str) -> Result<Option<ConsoleUser>> {
        let mut client = self.client()?;
        let sql = format!("SELECT {USER_COLUMNS} FROM console_users WHERE name = $1");
        match client.query_opt(&sql, &[&name])? {
            Some(row) => Ok(Some(user_from_row(&mut *client, &row)?)),
            None => Ok(None),
        }
    }

    fn console_users(&self) -> Result<Vec<ConsoleUser>> {
        let mut client = self.client()?;
        let sql = format!("SELECT {USER_COLUMNS} FROM console_users ORDER BY name");
        let rows = client.query(&sql, &[])?;
        rows.iter()
            .map(|row| user_from_row(&mut *client, row))
            .collect()
    }

    fn set_console_password(&self, name: &str, password_hash: &str) -> Result<()> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        let changed = tx.execute(
            "UPDATE console_users SET password_hash = $2 WHERE name = $1",
            &[&name, &password_hash],
        )?;
        if changed == 0 {
            return Err(HubError::UnknownConsoleUser(name.into()));
        }
        tx.execute(
            "DELETE FROM console_sessions WHERE user_name = $1",
            &[&name],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn create_console_session(&self, session: &ConsoleSession) -> Result<()> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        tx.execute(
            "DELETE FROM console_sessions WHERE expires_at <= $1",
            &[&session.created_at],
        )?;
        tx.execute(
            "INSERT INTO console_sessions (token_hash, user_name, csrf_secret, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &session.token_hash,
                &session.user,
                &session.csrf_secret,
                &session.created_at,
                &session.expires_at,
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
        let row = self.client()?.query_opt(
            "SELECT token_hash, user_name, csrf_secret, created_at, expires_at
             FROM console_sessions WHERE token_hash = $1 AND expires_at > $2",
            &[&token_hash, &now],
        )?;
        row.as_ref().map(session_from_row).transpose()
    }

    fn end_console_session(&self, token_hash: &str) -> Result<()> {
        self.client()?.execute(
            "DELETE FROM console_sessions WHERE token_hash = $1",
            &[&token_hash],
        )?;
        Ok(())
    }

    fn signin_failures(&self, user: &str, address: &str) -> Result<Option<SigninFailures>> {
        let row = self.client()?.query_opt(
            "SELECT failures, last_failure_at FROM console_signin_failures
             WHERE user_name = $1 AND address = $2",
            &[&user, &address],
        )?;
        row.as_ref().map(failures_from_row).transpose()
    }

    fn record_signin_failure(
        &self,
        user: &str,
        address: &str,
        at: DateTime<Utc>,
    ) -> Result<SigninFailures> {
        let row = self.client()?.query_one(
            "INSERT INTO console_signin_failures (user_name, address, failures, last_failure_at)
             VALUES ($1, $2, 1, $3)
             ON CONFLICT (user_name, address) DO UPDATE
             SET failures = console_signin_failures.failures + 1, last_failure_at = $3
             RETURNING failures, last_failure_at",
            &[&user, &address, &at],
        )?;
        failures_from_row(&row)
    }

    fn clear_signin_failures(&self, user: &str, address: &str) -> Result<()> {
        self.client()?.execute(
            "DELETE FROM console_signin_failures WHERE user_name = $1 AND address = $2",
            &[&user, &address],
        )?;
        Ok(())
    }

    fn record_audit(&self, entry: &AuditEntry) -> Result<()> {
        self.client()?.execute(
            "INSERT INTO audit_log (at, who, action, project, subject, address)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &entry.at,
                &entry.who,
                &entry.action,
                &entry.project,
                &entry.subject,
                &entry.address,
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
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.client()?.query(
            "SELECT id, at, who, action, project, subject, address FROM audit_log
             WHERE id < $2 AND ($1::TEXT IS NULL OR project = $1 OR (project IS NULL AND who IN
                 (SELECT user_name FROM console_user_projects WHERE project = $1)))
             ORDER BY id DESC LIMIT $3",
            &[&project, &before.unwrap_or(i64::MAX), &limit],
        )?;
        collect(rows, audit_from_row)
    }
}
