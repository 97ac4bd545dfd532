//! The embedded SQLite backend: one SQLCipher-encrypted database file in the hub's data folder,
//! WAL, one connection behind a mutex (SQLite has one writer at a time anyway; calls are short).

mod attachments;
mod console;

pub(crate) use console::console_tables;

use super::answers::{self, AnswerRow, Indicator, IndicatorQuery, TimedAnswer};
use super::cipher::{self, FileState};
use super::keyfile::{default_key_file, HubKey};
use super::located::{self, LocatedPoint, LocatedQuery};
use super::merge::Merged;
use super::projection::{
    self, FormVersionRow, SqlArg, SubmissionFacts, SubmissionQuery, SubmissionRow,
};
use super::schema;
use super::txn::{self, DocumentTx, EnrolmentTx, StoredEnrolment};
use super::{keys, signatures};
use super::{
    peer_epoch_key, Device, DocumentHeader, DocumentWrite, HubStorage, NewEnrolment, PeerUpdate,
    Project, ReceivedChunk, Redemption, StoredDocument, WriteOutcome, HUB_EPOCH_KEY,
};
use super::{AttachmentRow, Referrer};
use crate::access::{DocKind, Role};
use crate::auth::{EnrolDecision, EnrolmentState};
use crate::error::{HubError, Result};
use automerge::ChangeHash;
use chrono::{DateTime, Utc};
use minga_forms::check::decode_reasons;
use minga_forms::Form;
use minga_sync::signatures::{DeviceKey, PublicKey, SignedChange};
use minga_sync::ChunkOutcome;
use rusqlite::types::Type;
use rusqlite::{params, Connection, OptionalExtension, Row};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// The file name of the hub's database inside its data folder.
pub const DATABASE_FILE: &str = "hub.sqlite3";

pub struct SqliteStorage {
    conn: Mutex<Connection>,
}

impl SqliteStorage {
    /// Opens (creating if needed) the hub database in `data_dir` with the key file beside it
    /// ([`SqliteStorage::default_key_file`]), upgrading its schema.
    pub fn open(data_dir: &Path) -> Result<Self> {
        Self::open_with_key_file(data_dir, &Self::default_key_file(data_dir))
    }

    /// Opens the hub database in `data_dir` only if a hub is there: every command but `serve`
    /// and `project create` uses this, so that a mistyped folder is reported rather than
    /// silently becoming a new, empty hub with a new key. `HubError::NoHub` names the folder.
    pub fn open_existing(data_dir: &Path, key_file: &Path) -> Result<Self> {
        let database = data_dir.join(DATABASE_FILE);
        let holds_data = std::fs::metadata(&database).is_ok_and(|m| m.len() > 0);
        if !holds_data {
            return Err(HubError::NoHub {
                data: data_dir.display().to_string(),
                database: database.display().to_string(),
            });
        }
        Self::open_with_key_file(data_dir, key_file)
    }

    /// The key file a hub uses when none is named: `hub.sqlite3.key` in the data folder.
    pub fn default_key_file(data_dir: &Path) -> PathBuf {
        default_key_file(&data_dir.join(DATABASE_FILE))
    }

    /// Opens (creating if needed) the hub database in `data_dir`, encrypted with the key in
    /// `key_file`. A new database gets a new key file when there is none; a database an earlier
    /// hub left unencrypted is encrypted in place first.
    pub fn open_with_key_file(data_dir: &Path, key_file: &Path) -> Result<Self> {
        std::fs::create_dir_all(data_dir).map_err(|e| HubError::io(data_dir, e))?;
        let database = data_dir.join(DATABASE_FILE);
        let read_only = |reason| HubError::ReadOnlyDatabase {
            path: database.display().to_string(),
            reason,
        };
        match minga_core::writable::unwritable_reason(&database) {
            Ok(None) => {}
            Ok(Some(reason)) => return Err(read_only(reason)),
            Err(e) => return Err(HubError::io(&database, e)),
        }
        Self::open_writable(&database, key_file).map_err(|error| match error {
            HubError::Storage(e) if minga_core::writable::is_journal_refusal(&e) => {
                read_only(minga_core::writable::journal_refusal_reason(&database, &e))
            }
            other => other,
        })
    }

    /// [`SqliteStorage::open_with_key_file`] on a database file that can be written.
    fn open_writable(database: &Path, key_file: &Path) -> Result<Self> {
        let _opening = cipher::lock_for_opening(database)?;
        let mut conn = Self::open_keyed(database, key_file)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        // Pages are decrypted as they enter SQLite's cache: SQLite's default (2 MiB) holds
        // less than the index of 100,000 submissions' answers, so the console's reads
        // decrypted their pages again on every request.
        conn.pragma_update(None, "cache_size", -PAGE_CACHE_KIB)?;
        let found: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        if found > schema::CURRENT_VERSION {
            return Err(HubError::Corrupt(format!(
                "the database has schema version {found}, newer than this hub ({}); upgrade minga-hub",
                schema::CURRENT_VERSION
            )));
        }
        schema::upgrade(&mut conn)?;
        Ok(SqliteStorage {
            conn: Mutex::new(conn),
        })
    }

    /// The keyed connection, after reading (or creating) the key and encrypting a plain file.
    fn open_keyed(database: &Path, key_file: &Path) -> Result<Connection> {
        let key = match cipher::file_state(database)? {
            FileState::Encrypted => HubKey::load(key_file)?,
            FileState::New => HubKey::load_or_create(key_file)?,
            FileState::Plain => {
                let key = HubKey::load_or_create(key_file)?;
                cipher::encrypt_in_place(database, &key, key_file)?;
                key
            }
        };
        cipher::open_keyed(database, &key, key_file)
    }

    /// The database in `data_dir` opened directly with its default key file, for tests that
    /// read or tamper with what is stored.
    #[cfg(test)]
    pub(crate) fn keyed_connection(data_dir: &Path) -> Result<Connection> {
        let key_file = Self::default_key_file(data_dir);
        Self::open_keyed(&data_dir.join(DATABASE_FILE), &key_file)
    }

    /// Writes a consistent copy of the database to `target` (a new file), encrypted with the
    /// same key, and returns its schema version: `VACUUM INTO` reads one snapshot, so another
    /// process writing meanwhile (a running `serve`) neither waits for the copy nor tears it.
    /// Cost: reads the whole database once.
    pub fn copy_into(&self, target: &Path) -> Result<i64> {
        let text = target
            .to_str()
            .ok_or_else(|| HubError::Backup(format!("{} is not UTF-8", target.display())))?;
        let conn = self.conn();
        conn.execute("VACUUM INTO ?1", [text])?;
        Ok(conn.query_row("PRAGMA user_version", [], |row| row.get(0))?)
    }

    /// SQLite's own check of the whole database: `["ok"]` when sound.
    pub fn integrity_check(&self) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut statement = conn.prepare("PRAGMA integrity_check")?;
        let rows = statement.query_map([], |row| row.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written (transactions roll
        // back), so a poisoned lock is still safe to use.
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn require_project(conn: &Connection, name: &str) -> Result<()> {
        let found: Option<i64> = conn
            .query_row("SELECT 1 FROM projects WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()?;
        found
            .map(|_| ())
            .ok_or_else(|| HubError::UnknownProject(name.into()))
    }
}

fn parse_time(text: String) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(&text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
        })
}

fn parse_role(text: String) -> rusqlite::Result<Role> {
    text.parse().map_err(|e: crate::access::UnknownRole| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e.into())
    })
}

fn project_from_row(row: &Row<'_>) -> rusqlite::Result<Project> {
    Ok(Project {
        name: row.get(0)?,
        title: row.get(1)?,
        created_at: parse_time(row.get(2)?)?,
    })
}

const DEVICE_COLUMNS: &str = "id, project, role, name, enrolled_at, revoked_at, last_sync_at";

fn optional_time(row: &Row<'_>, index: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
    row.get::<_, Option<String>>(index)?
        .map(parse_time)
        .transpose()
}

fn device_from_row(row: &Row<'_>) -> rusqlite::Result<Device> {
    Ok(Device {
        id: row.get(0)?,
        project: row.get(1)?,
        role: parse_role(row.get(2)?)?,
        name: row.get(3)?,
        enrolled_at: parse_time(row.get(4)?)?,
        revoked_at: optional_time(row, 5)?,
        last_sync_at: optional_time(row, 6)?,
    })
}

/// The projection keeps times as microseconds since the epoch, so that they sort as numbers.
fn micros(time: &DateTime<Utc>) -> i64 {
    time.timestamp_micros()
}

fn from_micros(row: &Row<'_>, index: usize) -> rusqlite::Result<DateTime<Utc>> {
    let value: i64 = row.get(index)?;
    DateTime::from_timestamp_micros(value).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            index,
            rusqlite::types::Type::Integer,
            format!("time {value} out of range").into(),
        )
    })
}

fn submission_from_row(row: &Row<'_>) -> rusqlite::Result<SubmissionRow> {
    let reasons: Option<String> = row.get(15)?;
    Ok(SubmissionRow {
        id: row.get(0)?,
        form_id: row.get(1)?,
        form_version: row.get(2)?,
        author: row.get(3)?,
        author_name: row.get(4)?,
        submitter: row.get(5)?,
        created_at: from_micros(row, 6)?,
        updated_at: from_micros(row, 7)?,
        status: row.get(8)?,
        review_state: row.get(9)?,
        instance_name: row.get(10)?,
        deleted: row.get(11)?,
        latitude: row.get(12)?,
        longitude: row.get(13)?,
        has_conflicts: row.get(14)?,
        invalid: reasons.is_some(),
        invalid_reasons: decode_reasons(reasons.as_deref()),
    })
}

/// The projection's upsert in SQLite's placeholders, built once.
static UPSERT: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| projection::upsert_sql(question));

/// The most memory the connection's page cache may take, in KiB (64 MiB).
const PAGE_CACHE_KIB: i64 = 64 * 1024;

/// The answer rows' statements in SQLite's placeholders, built once.
static ANSWERS_DELETE: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| answers::delete_sql(question));
static ANSWERS_INSERT: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| answers::insert_sql(question));

/// SQLite's numbered placeholder.
fn question(n: usize) -> String {
    format!("?{n}")
}

fn sql_value(arg: SqlArg) -> rusqlite::types::Value {
    match arg {
        SqlArg::Text(text) => text.into(),
        SqlArg::Time(time) => micros(&time).into(),
        SqlArg::Int(number) => number.into(),
        SqlArg::Float(number) => number.into(),
    }
}

const HEADER_COLUMNS: &str = "project, id, kind, author, subject, seq, heads, updated_at";

fn header_from_row(row: &Row<'_>) -> rusqlite::Result<DocumentHeader> {
    Ok(DocumentHeader {
        project: row.get(0)?,
        id: row.get(1)?,
        kind: kind_at(row, 2)?,
        author: row.get(3)?,
        subject: row.get(4)?,
        seq: row.get(5)?,
        heads: heads_at(row, 6)?,
        updated_at: parse_time(row.get(7)?)?,
    })
}

/// The kind in column `index`, stored as its number ([`DocKind::code`]).
fn kind_at(row: &Row<'_>, index: usize) -> rusqlite::Result<DocKind> {
    DocKind::from_code(row.get::<_, i64>(index)?).map_err(|unknown| {
        rusqlite::Error::FromSqlConversionFailure(index, Type::Integer, unknown.into())
    })
}

/// The heads in column `index`, stored as bytes ([`minga_sync::heads_to_bytes`]).
fn heads_at(row: &Row<'_>, index: usize) -> rusqlite::Result<Vec<ChangeHash>> {
    minga_sync::heads_from_bytes(&row.get::<_, Vec<u8>>(index)?).map_err(|not_heads| {
        rusqlite::Error::FromSqlConversionFailure(index, Type::Blob, not_heads.into())
    })
}

impl HubStorage for SqliteStorage {
    fn create_project(&self, name: &str, title: &str) -> Result<Project> {
        let project = Project {
            name: name.into(),
            title: title.into(),
            created_at: Utc::now(),
        };
        let conn = self.conn();
        let inserted = conn.execute(
            "INSERT INTO projects (name, title, created_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            params![project.name, project.title, project.created_at.to_rfc3339()],
        )?;
        if inserted == 0 {
            return Err(HubError::DuplicateProject(name.into()));
        }
        Ok(project)
    }

    fn project(&self, name: &str) -> Result<Option<Project>> {
        let conn = self.conn();
        let sql = "SELECT name, title, created_at FROM projects WHERE name = ?1";
        Ok(conn.query_row(sql, [name], project_from_row).optional()?)
    }

    fn projects(&self) -> Result<Vec<Project>> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare("SELECT name, title, created_at FROM projects ORDER BY name")?;
        let rows = stmt.query_map([], project_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The form's row and its form document (the bytes every Minga store writes for it, see
    /// `minga_core::form_document`) in one transaction, so that devices receive it by sync.
    fn publish_form(&self, project: &str, form: &Form) -> Result<()> {
        let mut conn = self.conn();
        let mut tx = conn.transaction()?;
        Self::require_project(&tx, project)?;
        txn::publish_form(&mut tx, project, form)?;
        tx.commit()?;
        Ok(())
    }

    fn forms(&self, project: &str) -> Result<Vec<Form>> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare("SELECT definition FROM forms WHERE project = ?1 ORDER BY rowid")?;
        let definitions = stmt.query_map([project], |row| row.get::<_, String>(0))?;
        definitions
            .map(|definition| {
                serde_json::from_str(&definition?)
                    .map_err(|e| HubError::Corrupt(format!("a stored form: {e}")))
            })
            .collect()
    }

    fn create_enrolment(&self, e: &NewEnrolment) -> Result<()> {
        let conn = self.conn();
        Self::require_project(&conn, &e.project)?;
        let inserted = conn.execute(
            "INSERT INTO enrolments (lookup, secret_hash, project, role, device_name, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (lookup) DO NOTHING",
            params![
                e.lookup,
                e.secret_hash,
                e.project,
                e.role.as_str(),
                e.device_name,
                e.expires_at.to_rfc3339()
            ],
        )?;
        match inserted {
            0 => Err(HubError::LookupTaken(e.lookup.clone())),
            _ => Ok(()),
        }
    }

    fn redeem_enrolment(
        &self,
        lookup: &str,
        decide: &dyn Fn(&EnrolmentState) -> EnrolDecision,
        device_id: &str,
        token_hash: &str,
    ) -> Result<Redemption> {
        let mut conn = self.conn();
        let mut tx = conn.transaction()?;
        let redemption = txn::redeem(&mut tx, lookup, decide, device_id, token_hash)?;
        tx.commit()?;
        Ok(redemption)
    }

    fn device_by_token_hash(&self, token_hash: &str) -> Result<Option<Device>> {
        let conn = self.conn();
        let sql = format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE token_hash = ?1");
        Ok(conn
            .query_row(&sql, [token_hash], device_from_row)
            .optional()?)
    }

    fn devices(&self, project: Option<&str>) -> Result<Vec<Device>> {
        let conn = self.conn();
        let sql = format!(
            "SELECT {DEVICE_COLUMNS} FROM devices WHERE ?1 IS NULL OR project = ?1 ORDER BY project, enrolled_at"
        );
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map([project], device_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn revoke_device(&self, id: &str) -> Result<Device> {
        let conn = self.conn();
        conn.execute(
            "UPDATE devices SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
            params![id, Utc::now().to_rfc3339()],
        )?;
        let sql = format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE id = ?1");
        conn.query_row(&sql, [id], device_from_row)
            .optional()?
            .ok_or_else(|| HubError::UnknownDevice(id.into()))
    }

    /// Without waiting for the disk (`synchronous = NORMAL` for this one commit): a last sync
    /// lost to a power cut costs nothing, and a flush per device would cost ingest. The next
    /// commit that does flush takes it along (WAL is written in order).
    fn record_sync(&self, device: &str, at: DateTime<Utc>) -> Result<()> {
        let conn = self.conn();
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let updated = conn.execute(
            "UPDATE devices SET last_sync_at = ?2 WHERE id = ?1",
            params![device, at.to_rfc3339()],
        );
        conn.pragma_update(None, "synchronous", "FULL")?;
        updated?;
        Ok(())
    }

    fn submissions(&self, project: &str, query: &SubmissionQuery) -> Result<Vec<SubmissionRow>> {
        let (sql, args) = projection::listing_sql(project, query, question);
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&sql)?;
        let values = args.into_iter().map(sql_value);
        let rows = stmt.query_map(rusqlite::params_from_iter(values), submission_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn submission_row(&self, project: &str, id: &str) -> Result<Option<SubmissionRow>> {
        let sql = projection::row_by_id_sql(question);
        let conn = self.conn();
        Ok(conn
            .query_row(&sql, params![project, id], submission_from_row)
            .optional()?)
    }

    fn indicator(&self, project: &str, query: &IndicatorQuery) -> Result<Indicator> {
        let conn = self.conn();
        let (sql, group_args) = answers::question_rows_sql(project, query, &query.group, question);
        let (_, answer_args) =
            answers::question_rows_sql(project, query, &query.question, question);
        // Two statements of the same SQL stepped together: the cache lends out one at a time.
        let (mut grouped, mut answered) = (conn.prepare_cached(&sql)?, conn.prepare(&sql)?);
        let timed = |row: &Row| {
            Ok(TimedAnswer {
                created: row.get::<_, i64>(0)?,
                id: row.get(1)?,
                value: row.get(2)?,
            })
        };
        let params =
            |args: Vec<SqlArg>| rusqlite::params_from_iter(args.into_iter().map(sql_value));
        let groups = grouped.query_map(params(group_args), timed)?;
        let answers = answered.query_map(params(answer_args), timed)?;
        Ok(answers::count_indicator(groups, answers, query.by_value)?)
    }

    fn located(&self, project: &str, query: &LocatedQuery) -> Result<Vec<LocatedPoint>> {
        let (sql, args) = located::located_sql(project, query, question);
        let conn = self.conn();
        let mut statement = conn.prepare_cached(&sql)?;
        let rows = statement.query_map(
            rusqlite::params_from_iter(args.into_iter().map(sql_value)),
            |row| {
                Ok(LocatedPoint {
                    id: row.get(0)?,
                    name: row.get(1)?,
                    latitude: row.get(2)?,
                    longitude: row.get(3)?,
                    value: row.get(4)?,
                })
            },
        )?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn map_outline(&self, project: &str) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT value FROM hub_meta WHERE key = ?1",
                [super::map_outline_key(project)],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn set_map_outline(&self, project: &str, geojson: &str) -> Result<()> {
        self.conn().execute(
            "INSERT INTO hub_meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = ?2",
            params![super::map_outline_key(project), geojson],
        )?;
        Ok(())
    }

    fn form_versions(&self, project: &str) -> Result<Vec<FormVersionRow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(FORM_VERSIONS_SQL)?;
        let rows = stmt.query_map([project], |row| {
            Ok(FormVersionRow {
                form_id: row.get(0)?,
                version: row.get(1)?,
                published_at: parse_time(row.get(2)?)?,
                submissions: row.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn write_documents(
        &self,
        project: &str,
        writes: &[DocumentWrite],
        peer: Option<&PeerUpdate>,
    ) -> Result<Vec<WriteOutcome>> {
        let mut conn = self.conn();
        let mut tx = conn.transaction()?;
        Self::require_project(&tx, project)?;
        let outcomes = writes
            .iter()
            .map(|write| txn::write_one(&mut tx, project, write))
            .collect::<Result<Vec<_>>>()?;
        if let Some(peer) = peer {
            write_peer_state(&tx, project, peer)?;
        }
        tx.commit()?;
        Ok(outcomes)
    }

    fn document_header(&self, project: &str, id: &str) -> Result<Option<DocumentHeader>> {
        let conn = self.conn();
        // Sync asks this twice for every document a device sends (its kind, its author).
        let sql = "SELECT project, id, kind, author, subject, seq, heads, updated_at
                   FROM documents WHERE project = ?1 AND id = ?2";
        let header = conn
            .prepare_cached(sql)?
            .query_row(params![project, id], header_from_row)
            .optional()?;
        Ok(header)
    }

    fn max_seq(&self, project: &str) -> Result<i64> {
        let conn = self.conn();
        Ok(conn.query_row(
            "SELECT COALESCE(MAX(seq), 0) FROM documents WHERE project = ?1",
            [project],
            |r| r.get(0),
        )?)
    }

    fn peer_cursor(&self, project: &str, peer: &str) -> Result<(i64, i64)> {
        let conn = self.conn();
        let sql = "SELECT theirs, ours FROM peer_cursors WHERE project = ?1 AND peer = ?2";
        let found = conn
            .query_row(sql, params![project, peer], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        Ok(found.unwrap_or((0, 0)))
    }

    fn peer_heads(&self, project: &str, peer: &str, id: &str) -> Result<Option<Vec<ChangeHash>>> {
        let conn = self.conn();
        let sql = "SELECT heads FROM peer_heads WHERE project = ?1 AND peer = ?2 AND doc = ?3";
        Ok(conn
            .query_row(sql, params![project, peer, id], |r| heads_at(r, 0))
            .optional()?)
    }

    fn hub_id(&self) -> Result<String> {
        let conn = self.conn();
        let fresh = format!("hub-{}", uuid::Uuid::new_v4());
        conn.execute(
            "INSERT INTO hub_meta (key, value) VALUES ('hub_id', ?1) ON CONFLICT DO NOTHING",
            [fresh],
        )?;
        Ok(
            conn.query_row("SELECT value FROM hub_meta WHERE key = 'hub_id'", [], |r| {
                r.get(0)
            })?,
        )
    }

    fn hub_epoch(&self) -> Result<String> {
        let conn = self.conn();
        let stored: Option<String> = conn
            .query_row(
                "SELECT value FROM hub_meta WHERE key = ?1",
                [HUB_EPOCH_KEY],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(epoch) = stored {
            return Ok(epoch); // the common case: no write
        }
        conn.execute(
            "INSERT INTO hub_meta (key, value) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            params![HUB_EPOCH_KEY, uuid::Uuid::new_v4().to_string()],
        )?;
        Ok(conn.query_row(
            "SELECT value FROM hub_meta WHERE key = ?1",
            [HUB_EPOCH_KEY],
            |r| r.get(0),
        )?)
    }

    fn renew_hub_epoch(&self) -> Result<String> {
        let fresh = uuid::Uuid::new_v4().to_string();
        self.conn().execute(
            "INSERT INTO hub_meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = ?2",
            params![HUB_EPOCH_KEY, fresh],
        )?;
        Ok(fresh)
    }

    fn peer_epoch(&self, project: &str, peer: &str) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT value FROM hub_meta WHERE key = ?1",
                [peer_epoch_key(project, peer)],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn change_signatures(
        &self,
        project: &str,
        id: &str,
        only: Option<&[ChangeHash]>,
    ) -> Result<Vec<SignedChange>> {
        signatures::of_document_sqlite(&self.conn(), project, id, only)
    }

    fn bind_device_key(&self, project: &str, device_id: &str, key: &PublicKey) -> Result<()> {
        keys::bind_sqlite(&self.conn(), project, device_id, key)
    }

    fn device_of_key(&self, project: &str, key: &PublicKey) -> Result<Option<String>> {
        keys::device_sqlite(&self.conn(), project, key)
    }

    fn hub_signing_key(&self) -> Result<DeviceKey> {
        keys::hub_key_sqlite(&self.conn())
    }

    fn document(&self, project: &str, id: &str) -> Result<Option<StoredDocument>> {
        let conn = self.conn();
        Ok(conn
            .query_row(DOCUMENT_SQL, params![project, id], document_from_row)
            .optional()?)
    }

    fn documents_since(
        &self,
        project: &str,
        since: i64,
        limit: usize,
    ) -> Result<Vec<DocumentHeader>> {
        let conn = self.conn();
        let sql = format!(
            "SELECT {HEADER_COLUMNS} FROM documents WHERE project = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3"
        );
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(params![project, since, limit as i64], header_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn attachment(&self, project: &str, hash: &str) -> Result<Option<AttachmentRow>> {
        attachments::row(&self.conn(), project, hash)
    }

    fn attachment_chunk(&self, project: &str, hash: &str, index: u64) -> Result<Option<Vec<u8>>> {
        attachments::whole_chunk(&self.conn(), project, hash, index)
    }

    fn receive_attachment_chunk(
        &self,
        project: &str,
        chunk: &ReceivedChunk<'_>,
        uploader: &str,
    ) -> Result<ChunkOutcome> {
        let mut conn = self.conn();
        let mut tx = conn.transaction()?;
        let outcome = super::attachments::receive_chunk(&mut tx, project, chunk, uploader)?;
        tx.commit()?;
        Ok(outcome)
    }

    fn attachments_wanted(&self, project: &str, limit: usize) -> Result<Vec<(String, u64)>> {
        attachments::wanted(&self.conn(), project, limit)
    }

    fn attachment_referrers(&self, project: &str, hash: &str) -> Result<Vec<Referrer>> {
        attachments::referrers(&self.conn(), project, hash)
    }
}

/// Each published version with its submissions counted through `submissions_by_form`.
const FORM_VERSIONS_SQL: &str = "SELECT f.form_id, f.version, f.published_at,
        (SELECT COUNT(*) FROM submissions s
         WHERE s.project = f.project AND s.form_id = f.form_id AND s.form_version = f.version)
     FROM forms f WHERE f.project = ?1 ORDER BY f.form_id, f.rowid";

const DOCUMENT_SQL: &str =
    "SELECT project, id, kind, author, subject, seq, heads, updated_at, bytes
     FROM documents WHERE project = ?1 AND id = ?2";

fn document_from_row(row: &Row<'_>) -> rusqlite::Result<StoredDocument> {
    Ok(StoredDocument {
        header: header_from_row(row)?,
        bytes: row.get(8)?,
    })
}

impl DocumentTx for rusqlite::Transaction<'_> {
    fn stored(&mut self, project: &str, id: &str) -> Result<Option<StoredDocument>> {
        Ok(self
            .prepare_cached(DOCUMENT_SQL)?
            .query_row(params![project, id], document_from_row)
            .optional()?)
    }

    fn insert_form(&mut self, project: &str, form: &Form, definition: &str) -> Result<bool> {
        let inserted = self.execute(
            "INSERT INTO forms (project, form_id, version, published_at, definition)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
            params![
                project,
                form.id,
                form.version,
                Utc::now().to_rfc3339(),
                definition
            ],
        )?;
        Ok(inserted > 0)
    }

    /// Sequence numbers are unique across the database (one writer at a time in SQLite).
    fn put(
        &mut self,
        project: &str,
        write: &DocumentWrite,
        merged: &Merged,
    ) -> Result<DocumentHeader> {
        let seq: i64 = self
            .prepare_cached("SELECT COALESCE(MAX(seq), 0) + 1 FROM documents")?
            .query_row([], |r| r.get(0))?;
        // The row as stored comes back from the write itself (no second lookup).
        let mut upsert = self.prepare_cached(
            "INSERT INTO documents (project, id, kind, author, subject, seq, heads, updated_at, bytes)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (project, id) DO UPDATE SET seq = ?6, heads = ?7, updated_at = ?8, bytes = ?9,
                 author = COALESCE(author, ?4)
             RETURNING project, id, kind, author, subject, seq, heads, updated_at",
        )?;
        Ok(upsert.query_row(
            params![
                project,
                write.id,
                write.kind.code(),
                write.author,
                write.subject,
                seq,
                minga_sync::heads_to_bytes(&merged.heads),
                Utc::now().to_rfc3339(),
                merged.bytes
            ],
            header_from_row,
        )?)
    }

    fn form_definition(
        &mut self,
        project: &str,
        form_id: &str,
        version: &str,
    ) -> Result<Option<String>> {
        let sql =
            "SELECT definition FROM forms WHERE project = ?1 AND form_id = ?2 AND version = ?3";
        Ok(self
            .prepare_cached(sql)?
            .query_row(params![project, form_id, version], |row| row.get(0))
            .optional()?)
    }

    fn projected_conflicts(&mut self, project: &str, id: &str) -> Result<Option<bool>> {
        let sql = "SELECT has_conflicts FROM submissions WHERE project = ?1 AND id = ?2";
        Ok(self
            .prepare_cached(sql)?
            .query_row(params![project, id], |r| r.get(0))
            .optional()?)
    }

    fn project_submission(
        &mut self,
        project: &str,
        header: &DocumentHeader,
        facts: &SubmissionFacts,
        review_state: &str,
    ) -> Result<()> {
        let (latitude, longitude) = facts.location.unzip();
        self.prepare_cached(&UPSERT)?.execute(params![
            project,
            header.id,
            facts.form_id,
            facts.form_version,
            header.author,
            facts.submitter,
            micros(&facts.created_at),
            micros(&header.updated_at),
            facts.status,
            review_state,
            facts.instance_name,
            facts.deleted,
            latitude,
            longitude,
            facts.has_conflicts,
            facts.invalid_reasons,
        ])?;
        Ok(())
    }

    fn project_answers(
        &mut self,
        project: &str,
        id: &str,
        facts: &SubmissionFacts,
        rows: &[AnswerRow],
        known: bool,
    ) -> Result<()> {
        if known {
            self.prepare_cached(&ANSWERS_DELETE)?
                .execute(params![project, id])?;
        }
        let mut insert = self.prepare_cached(&ANSWERS_INSERT)?;
        for row in rows {
            insert.execute(params![
                project,
                id,
                row.question,
                row.value,
                row.number,
                facts.form_id,
                micros(&facts.created_at),
            ])?;
        }
        Ok(())
    }

    fn keep_signatures(&mut self, project: &str, id: &str, signed: &[SignedChange]) -> Result<()> {
        signatures::keep_sqlite(self, project, id, signed)
    }

    fn project_review(&mut self, project: &str, submission: &str, state: &str) -> Result<()> {
        self.prepare_cached(
            "UPDATE submissions SET review_state = ?3 WHERE project = ?1 AND id = ?2",
        )?
        .execute(params![project, submission, state])?;
        Ok(())
    }

    fn record_attachment_refs(&mut self, project: &str, id: &str, hashes: &[String]) -> Result<()> {
        attachments::record_refs(self, project, id, hashes)
    }
}

impl EnrolmentTx for rusqlite::Transaction<'_> {
    fn enrolment(&mut self, lookup: &str) -> Result<Option<StoredEnrolment>> {
        let sql = "SELECT secret_hash, expires_at, used_at IS NOT NULL, project, role, device_name
                   FROM enrolments WHERE lookup = ?1";
        let found = self.query_row(sql, [lookup], |row| {
            Ok(StoredEnrolment {
                state: EnrolmentState {
                    secret_hash: row.get(0)?,
                    expires_at: parse_time(row.get(1)?)?,
                    used: row.get(2)?,
                },
                project: row.get(3)?,
                role: parse_role(row.get(4)?)?,
                device_name: row.get(5)?,
            })
        });
        Ok(found.optional()?)
    }

    fn enrol(
        &mut self,
        lookup: &str,
        now: DateTime<Utc>,
        device: &Device,
        token_hash: &str,
    ) -> Result<()> {
        let now = now.to_rfc3339();
        self.execute(
            "UPDATE enrolments SET used_at = ?2 WHERE lookup = ?1",
            params![lookup, now],
        )?;
        self.execute(
            "INSERT INTO devices (id, project, role, name, token_hash, enrolled_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![device.id, device.project, device.role.as_str(), device.name, token_hash, now],
        )?;
        Ok(())
    }
}

/// The form documents of every form published before hubs stored them (schema version 2).
pub(super) fn store_missing_form_documents(tx: &mut rusqlite::Transaction<'_>) -> Result<()> {
    let published: Vec<(String, String)> = tx
        .prepare("SELECT project, definition FROM forms ORDER BY rowid")?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (project, definition) in published {
        let form: Form = serde_json::from_str(&definition)
            .map_err(|e| HubError::Corrupt(format!("a stored form: {e}")))?;
        txn::store_form_document(tx, &project, &form)?;
    }
    Ok(())
}

/// The projection of every submission and review stored before it existed (schema version 3).
pub(super) fn backfill_projection(tx: &mut rusqlite::Transaction<'_>) -> Result<()> {
    let documents: Vec<(String, String)> = tx
        .prepare("SELECT project, id FROM documents WHERE kind IN (?1, ?2)")?
        .query_map(
            [DocKind::Submission.code(), DocKind::Review.code()],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?
        .collect::<rusqlite::Result<_>>()?;
    txn::backfill_projection(tx, &documents)
}

/// The answer rows of every submission stored before they were kept (schema version 8).
pub(super) fn backfill_answers(tx: &mut rusqlite::Transaction<'_>) -> Result<()> {
    let documents = projected_submissions(tx)?;
    txn::backfill_answers(tx, &documents)
}

/// Why each submission stored before the check existed breaks its form version (schema
/// version 9): its row written again, whole, from its document.
pub(super) fn backfill_invalid_flags(tx: &mut rusqlite::Transaction<'_>) -> Result<()> {
    let documents = projected_submissions(tx)?;
    txn::backfill_projection(tx, &documents)
}

/// Every submission with a projection row, by project and id. Cost: a scan of the rows.
fn projected_submissions(tx: &rusqlite::Transaction<'_>) -> Result<Vec<(String, String)>> {
    Ok(tx
        .prepare("SELECT project, id FROM submissions")?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?)
}

/// The attachment references of every document stored before they were recorded (schema
/// version 4).
pub(super) fn backfill_attachment_refs(tx: &mut rusqlite::Transaction<'_>) -> Result<()> {
    let documents: Vec<(String, String)> = tx
        .prepare("SELECT project, id FROM documents")?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    txn::backfill_attachment_refs(tx, &documents)
}

/// Records a peer's shared heads and cursor inside the caller's transaction.
fn write_peer_state(
    tx: &rusqlite::Transaction<'_>,
    project: &str,
    peer: &PeerUpdate,
) -> Result<()> {
    if let Some(epoch) = &peer.reset {
        let key = super::peer_epoch_key(project, &peer.peer);
        tx.execute(
            "DELETE FROM peer_heads WHERE project = ?1 AND peer = ?2",
            params![project, peer.peer],
        )?;
        tx.execute(
            "DELETE FROM peer_cursors WHERE project = ?1 AND peer = ?2",
            params![project, peer.peer],
        )?;
        tx.execute(
            "INSERT INTO hub_meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = ?2",
            params![key, epoch],
        )?;
    }
    for (doc, heads) in &peer.shared_heads {
        tx.execute(
            "INSERT INTO peer_heads (project, peer, doc, heads) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (project, peer, doc) DO UPDATE SET heads = ?4",
            params![project, peer.peer, doc, minga_sync::heads_to_bytes(heads)],
        )?;
    }
    if let Some((theirs, ours)) = peer.cursor {
        tx.execute(
            "INSERT INTO peer_cursors (project, peer, theirs, ours) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (project, peer) DO UPDATE SET theirs = ?3, ours = ?4",
            params![project, peer.peer, theirs, ours],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::contract::{contract_tests, doc_bytes, named, write};

    fn open() -> (tempfile::TempDir, SqliteStorage) {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(dir.path()).unwrap();
        storage.create_project("p", "P").unwrap();
        (dir, storage)
    }

    contract_tests!(|_test: &str| Some(open()));
    crate::storage::contract::console_contract_tests!(|_test: &str| Some(open()));

    #[test]
    fn opening_a_version_3_hub_adds_the_console_tables_and_keeps_its_data() {
        let (dir, storage) = open();
        let id = crate::storage::contract::store_before_upgrade(&storage);
        drop(storage);
        let conn = SqliteStorage::keyed_connection(dir.path()).unwrap();
        conn.execute_batch(&format!(
            "{TO_VERSION_8} {TO_VERSION_7} {TO_VERSION_6} {TO_VERSION_5} {TO_VERSION_4} {TO_VERSION_3} PRAGMA user_version = 3;"
        ))
        .unwrap();
        drop(conn);
        let reopened = SqliteStorage::open(dir.path()).unwrap();
        crate::storage::contract::check_after_upgrade(&reopened, &id);
        crate::storage::contract::console_users_are_unique_and_supervise_only_known_projects(
            &reopened,
        );
    }

    /// What version 9 added, taken away again: a version 8 database.
    const TO_VERSION_8: &str = "DROP INDEX submissions_flagged_invalid;
        ALTER TABLE submissions DROP COLUMN invalid_reasons;";

    #[test]
    fn opening_a_version_8_hub_flags_the_stored_submissions_that_break_their_form() {
        let (dir, storage) = open();
        let flagged = crate::storage::contract::store_flagged(&storage);
        drop(storage);
        let conn = SqliteStorage::keyed_connection(dir.path()).unwrap();
        conn.execute_batch(&format!("{TO_VERSION_8} PRAGMA user_version = 8;"))
            .unwrap();
        drop(conn);
        let reopened = SqliteStorage::open(dir.path()).unwrap();
        crate::storage::contract::check_flagged_after_upgrade(&reopened, &flagged);
    }

    /// What version 8 added, taken away again (after [`TO_VERSION_8`]): a version 7 database.
    const TO_VERSION_7: &str = "DROP TABLE submission_answers;";

    #[test]
    fn opening_a_version_7_hub_keeps_the_answers_of_the_submissions_it_stored() {
        let (dir, storage) = open();
        let id = crate::storage::contract::store_answered(&storage);
        drop(storage);
        let conn = SqliteStorage::keyed_connection(dir.path()).unwrap();
        conn.execute_batch(&format!(
            "{TO_VERSION_8} {TO_VERSION_7} PRAGMA user_version = 7;"
        ))
        .unwrap();
        drop(conn);
        let reopened = SqliteStorage::open(dir.path()).unwrap();
        crate::storage::contract::check_answers_after_upgrade(&reopened, &id);
    }

    /// Version 7 undone: `documents` and `peer_heads` rebuilt with kinds as names and heads as
    /// space-joined lowercase hex, as versions 1 to 6 kept them (at most three heads a
    /// document, which is more than the tests' documents have): a version 6 database.
    const TO_VERSION_6: &str = "
        CREATE TABLE documents_v6 (
            project TEXT NOT NULL REFERENCES projects(name), id TEXT NOT NULL,
            kind TEXT NOT NULL, author TEXT, subject TEXT, seq INTEGER NOT NULL UNIQUE,
            heads TEXT NOT NULL, updated_at TEXT NOT NULL, bytes BLOB NOT NULL,
            PRIMARY KEY (project, id));
        INSERT INTO documents_v6 SELECT project, id,
            CASE kind WHEN 1 THEN 'submission' WHEN 2 THEN 'form' WHEN 3 THEN 'review' END,
            author, subject, seq,
            trim(lower(hex(substr(heads, 1, 32))) || ' ' || lower(hex(substr(heads, 33, 32)))
                || ' ' || lower(hex(substr(heads, 65, 32)))),
            updated_at, bytes FROM documents;
        DROP TABLE documents;
        ALTER TABLE documents_v6 RENAME TO documents;
        CREATE INDEX documents_by_seq ON documents (project, seq);
        CREATE TABLE peer_heads_v6 (project TEXT NOT NULL, peer TEXT NOT NULL,
            doc TEXT NOT NULL, heads TEXT NOT NULL, PRIMARY KEY (project, peer, doc));
        INSERT INTO peer_heads_v6 SELECT project, peer, doc,
            trim(lower(hex(substr(heads, 1, 32))) || ' ' || lower(hex(substr(heads, 33, 32)))
                || ' ' || lower(hex(substr(heads, 65, 32))))
            FROM peer_heads;
        DROP TABLE peer_heads;
        ALTER TABLE peer_heads_v6 RENAME TO peer_heads;";

    #[test]
    fn opening_a_version_6_hub_keeps_its_kinds_and_heads_as_numbers_and_bytes() {
        let (dir, storage) = open();
        let stored = crate::storage::contract::store_kinds_and_shared_heads(&storage);
        drop(storage);
        let conn = SqliteStorage::keyed_connection(dir.path()).unwrap();
        conn.execute_batch(&format!(
            "{TO_VERSION_8} {TO_VERSION_7} {TO_VERSION_6} PRAGMA user_version = 6;"
        ))
        .unwrap();
        let as_text: (String, String) = conn
            .query_row("SELECT kind, heads FROM documents LIMIT 1", [], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .unwrap();
        assert!(as_text.1.len() >= 64, "the old form: {as_text:?}");
        drop(conn);
        let reopened = SqliteStorage::open(dir.path()).unwrap();
        crate::storage::contract::check_kinds_and_shared_heads(&reopened, &stored);
        let conn = SqliteStorage::keyed_connection(dir.path()).unwrap();
        let types: (String, String) = conn
            .query_row(
                "SELECT typeof(kind), typeof(heads) FROM documents LIMIT 1",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap();
        assert_eq!(types, ("integer".to_string(), "blob".to_string()));
    }

    /// What version 6 added, taken away again (after [`TO_VERSION_6`]): a version 5 database.
    const TO_VERSION_5: &str =
        "DROP TABLE attachments; DROP TABLE attachment_chunks; DROP TABLE attachment_refs;";

    /// What version 5 added, taken away again (after [`TO_VERSION_5`]): a version 4 database.
    const TO_VERSION_4: &str = "DROP TABLE change_signatures; DROP TABLE device_keys;";

    /// What version 4 added, taken away again (after [`TO_VERSION_4`]): a version 3 database.
    const TO_VERSION_3: &str = "DROP TABLE console_sessions; DROP TABLE console_user_projects;
        DROP TABLE console_users; DROP TABLE console_signin_failures; DROP TABLE audit_log;";

    #[test]
    fn data_survives_reopening_and_a_newer_schema_is_refused() {
        let (dir, storage) = open();
        let hub_id = storage.hub_id().unwrap();
        drop(storage);
        let reopened = SqliteStorage::open(dir.path()).unwrap();
        assert_eq!(reopened.projects().unwrap().len(), 1);
        assert_eq!(
            reopened.hub_id().unwrap(),
            hub_id,
            "the hub keeps its peer id"
        );
        drop(reopened);
        let conn = SqliteStorage::keyed_connection(dir.path()).unwrap();
        conn.pragma_update(None, "user_version", schema::CURRENT_VERSION + 1)
            .unwrap();
        drop(conn);
        assert!(matches!(
            SqliteStorage::open(dir.path()),
            Err(HubError::Corrupt(_))
        ));
        assert!(
            dir.path().join(DATABASE_FILE).exists(),
            "a refused file is left in place"
        );
    }

    #[test]
    fn opening_a_version_1_hub_stores_the_form_documents_of_its_published_forms() {
        let (dir, storage) = open();
        let form = minga_forms::templates::stakeholder_dialogue();
        storage.publish_form("p", &form).unwrap();
        drop(storage);
        let conn = SqliteStorage::keyed_connection(dir.path()).unwrap();
        conn.execute_batch(&format!(
            "DELETE FROM documents; {} PRAGMA user_version = 1;",
            to_version_2()
        ))
        .unwrap();
        drop(conn);
        let reopened = SqliteStorage::open(dir.path()).unwrap();
        let id = minga_core::form_document_id(&form.id, &form.version);
        let stored = reopened.document("p", &id.to_string()).unwrap().unwrap();
        assert_eq!(stored.header.kind, DocKind::Form);
        assert_eq!(
            minga_core::read_form_document(&id, &stored.bytes).unwrap(),
            form
        );
    }

    /// What version 3 added, taken away again (after [`TO_VERSION_3`]): a version 2 database.
    const TO_VERSION_2: &str = "DROP TABLE submissions;
        ALTER TABLE devices DROP COLUMN last_sync_at;";

    #[test]
    fn opening_a_version_4_hub_keeps_its_documents_and_the_signatures_of_what_arrives() {
        let (dir, storage) = open();
        let id = crate::storage::contract::store_before_upgrade(&storage);
        drop(storage);
        let conn = SqliteStorage::keyed_connection(dir.path()).unwrap();
        conn.execute_batch(&format!(
            "{TO_VERSION_8} {TO_VERSION_7} {TO_VERSION_6} {TO_VERSION_5} {TO_VERSION_4} PRAGMA user_version = 4;"
        ))
        .unwrap();
        drop(conn);
        let reopened = SqliteStorage::open(dir.path()).unwrap();
        crate::storage::contract::check_after_upgrade(&reopened, &id);
        crate::storage::contract::signed_writes_keep_their_signatures(&reopened);
    }

    #[test]
    fn opening_a_version_5_hub_records_the_attachments_its_documents_reference() {
        let (dir, storage) = open();
        let hash = minga_sync::ContentHash::of(b"a photo");
        crate::storage::contract::store_photographed(&storage, &hash);
        drop(storage);
        let conn = SqliteStorage::keyed_connection(dir.path()).unwrap();
        conn.execute_batch(&format!(
            "{TO_VERSION_8} {TO_VERSION_7} {TO_VERSION_6} {TO_VERSION_5} PRAGMA user_version = 5;"
        ))
        .unwrap();
        drop(conn);
        let reopened = SqliteStorage::open(dir.path()).unwrap();
        assert_eq!(
            reopened.attachments_wanted("p", 10).unwrap(),
            vec![(hash.to_hex(), 0)]
        );
    }

    /// Down to version 2 from this build's schema: through versions 6, 5, 4 and 3 first.
    fn to_version_2() -> String {
        format!("{TO_VERSION_8} {TO_VERSION_7} {TO_VERSION_6} {TO_VERSION_5} {TO_VERSION_4} {TO_VERSION_3} {TO_VERSION_2}")
    }

    #[test]
    fn opening_a_version_2_hub_projects_the_submissions_and_reviews_it_stored() {
        let (dir, storage) = open();
        let id = crate::storage::contract::store_before_upgrade(&storage);
        drop(storage);
        let conn = SqliteStorage::keyed_connection(dir.path()).unwrap();
        conn.execute_batch(&format!("{} PRAGMA user_version = 2;", to_version_2()))
            .unwrap();
        drop(conn);
        let reopened = SqliteStorage::open(dir.path()).unwrap();
        crate::storage::contract::check_after_upgrade(&reopened, &id);
    }

    #[test]
    fn every_listing_filter_reads_an_index_in_order_never_the_whole_table() {
        let (dir, _storage) = open();
        let conn = SqliteStorage::keyed_connection(dir.path()).unwrap();
        let text = |value: &str| Some(value.to_string());
        let after = Some((Utc::now(), "x".to_string()));
        let queries = [
            SubmissionQuery::default(),
            SubmissionQuery {
                form_id: text("safety"),
                after: after.clone(),
                ..Default::default()
            },
            SubmissionQuery {
                status: text("complete"),
                ..Default::default()
            },
            SubmissionQuery {
                review_state: text("approved"),
                ..Default::default()
            },
            SubmissionQuery {
                answers: vec![("province".into(), "imbabura".into())],
                form_id: text("safety"),
                ..Default::default()
            },
            SubmissionQuery {
                conflicted_only: true,
                after: after.clone(),
                ..Default::default()
            },
            SubmissionQuery {
                author: text("dev-a"),
                updated_from: Some(Utc::now()),
                updated_before: Some(Utc::now()),
                oldest_first: true,
                after,
                ..Default::default()
            },
        ];
        for query in queries {
            let (sql, args) = projection::listing_sql("p", &query, question);
            let plan = plan_of(&conn, &sql, args);
            assert!(
                plan.contains("SEARCH s USING INDEX submissions_"),
                "{query:?}: {plan}"
            );
            assert!(!plan.contains("TEMP B-TREE"), "{query:?} sorts: {plan}");
        }
    }

    /// The steps of SQLite's plan for `sql` bound to `args`, joined.
    fn plan_of(conn: &Connection, sql: &str, args: Vec<SqlArg>) -> String {
        let mut plan = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let values = args.into_iter().map(sql_value);
        let steps: Vec<String> = plan
            .query_map(rusqlite::params_from_iter(values), |row| row.get(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        steps.join("; ")
    }

    #[test]
    fn an_indicator_reads_each_question_in_creation_order_from_its_index_alone() {
        let (dir, _storage) = open();
        let conn = SqliteStorage::keyed_connection(dir.path()).unwrap();
        let query = IndicatorQuery {
            form_id: "safety".into(),
            question: "fears".into(),
            group: "province".into(),
            from: Some(Utc::now()),
            before: Some(Utc::now()),
            by_value: true,
        };
        let (sql, args) = answers::question_rows_sql("p", &query, &query.group, question);
        let plan = plan_of(&conn, &sql, args);
        assert!(
            plan.contains(
                "SEARCH submission_answers USING COVERING INDEX submission_answers_by_question"
            ),
            "{plan}"
        );
        assert!(!plan.contains("TEMP B-TREE"), "sorts: {plan}");
    }

    #[test]
    fn an_administration_command_never_creates_a_hub() {
        let dir = tempfile::tempdir().unwrap();
        let key_file = SqliteStorage::default_key_file(dir.path());
        match SqliteStorage::open_existing(dir.path(), &key_file) {
            Err(HubError::NoHub { data, database }) => {
                assert_eq!(data, dir.path().display().to_string());
                assert!(database.ends_with(DATABASE_FILE), "{database}");
            }
            other => panic!("expected no hub, got {:?}", other.err()),
        }
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "nothing written"
        );
        drop(SqliteStorage::open(dir.path()).unwrap());
        assert!(SqliteStorage::open_existing(dir.path(), &key_file).is_ok());
    }

    /// Every byte the hub's database holds on disk: the file and its write-ahead log.
    fn bytes_on_disk(dir: &Path) -> Vec<u8> {
        let mut bytes = std::fs::read(dir.join(DATABASE_FILE)).unwrap();
        bytes.extend(std::fs::read(dir.join(format!("{DATABASE_FILE}-wal"))).unwrap_or_default());
        bytes
    }

    fn contains(haystack: &[u8], needle: &str) -> bool {
        haystack
            .windows(needle.len())
            .any(|window| window == needle.as_bytes())
    }

    /// A submission answering `answer`, and a device named `device`, stored in `storage`.
    fn store_secrets(storage: &SqliteStorage, answer: &str, device: &str) {
        let id = named("s");
        let bytes = doc_bytes(&id, answer);
        assert!(contains(&bytes, answer), "automerge keeps short text as is");
        let outcomes = storage
            .write_documents("p", &[write(&id, DocKind::Submission, bytes)], None)
            .unwrap();
        assert!(matches!(outcomes[0], WriteOutcome::Stored(_)));
        storage
            .create_enrolment(&NewEnrolment {
                lookup: "ABCD".into(),
                secret_hash: "hash".into(),
                project: "p".into(),
                role: Role::Facilitator,
                device_name: device.into(),
                expires_at: Utc::now(),
            })
            .unwrap();
    }

    #[test]
    fn the_database_on_disk_reveals_neither_answers_nor_device_names() {
        let (dir, storage) = open();
        store_secrets(&storage, "threatened-by-Ruiz", "Phone-of-Marisol");
        let on_disk = bytes_on_disk(dir.path());
        assert!(on_disk.len() > 4096, "the database was written");
        for secret in ["threatened-by-Ruiz", "Phone-of-Marisol", "SQLite format 3"] {
            assert!(
                !contains(&on_disk, secret),
                "`{secret}` is readable on disk"
            );
        }
        assert!(storage.document("p", &named("s")).unwrap().is_some());
    }

    #[test]
    fn another_key_or_no_key_is_refused_naming_the_files() {
        let (dir, storage) = open();
        drop(storage);
        let other_key = dir.path().join("other.key");
        HubKey::load_or_create(&other_key).unwrap();
        match SqliteStorage::open_with_key_file(dir.path(), &other_key) {
            Err(HubError::WrongKey { database, key_file }) => {
                assert!(database.ends_with(DATABASE_FILE), "{database}");
                assert_eq!(key_file, other_key.display().to_string());
            }
            other => panic!("expected a wrong key, got {:?}", other.err()),
        }
        std::fs::remove_file(SqliteStorage::default_key_file(dir.path())).unwrap();
        match SqliteStorage::open(dir.path()) {
            Err(HubError::KeyFile { path, reason }) => {
                assert!(path.ends_with("hub.sqlite3.key"), "{path}");
                assert!(reason.contains("missing"), "{reason}");
            }
            other => panic!("expected a missing key file, got {:?}", other.err()),
        }
    }

    #[test]
    fn a_database_an_earlier_hub_left_plain_is_encrypted_in_place() {
        let (dir, storage) = open();
        drop(storage);
        let plain_dir = tempfile::tempdir().unwrap();
        let plain = plain_dir.path().join(DATABASE_FILE);
        // An earlier hub's database: the same schema, unencrypted, in WAL.
        let conn = SqliteStorage::keyed_connection(dir.path()).unwrap();
        conn.execute(
            "ATTACH DATABASE ?1 AS plain KEY ''",
            [plain.to_str().unwrap()],
        )
        .unwrap();
        conn.query_row("SELECT sqlcipher_export('plain')", [], |_| Ok(()))
            .unwrap();
        conn.pragma_update(Some("plain"), "user_version", schema::CURRENT_VERSION)
            .unwrap();
        drop(conn);
        let earlier = Connection::open(&plain).unwrap();
        earlier.pragma_update(None, "journal_mode", "WAL").unwrap();
        earlier
            .execute(
                "INSERT INTO devices (id, project, role, name, token_hash, enrolled_at)
                 VALUES ('d1', 'p', 'facilitator', 'Phone-of-Marisol', 'h', ?1)",
                [Utc::now().to_rfc3339()],
            )
            .unwrap();
        drop(earlier);
        assert_eq!(cipher::file_state(&plain).unwrap(), FileState::Plain);
        // Two hubs (serve and an admin command) opening it at once: one encrypts, the other
        // waits and finds it encrypted; neither loses anything.
        let opened: Vec<_> = std::thread::scope(|scope| {
            let opening: Vec<_> = (0..2)
                .map(|_| scope.spawn(|| SqliteStorage::open(plain_dir.path()).map(drop)))
                .collect();
            opening.into_iter().map(|t| t.join().unwrap()).collect()
        });
        assert!(opened.iter().all(Result::is_ok), "{opened:?}");
        let migrated = SqliteStorage::open(plain_dir.path()).unwrap();
        assert_eq!(migrated.projects().unwrap().len(), 1);
        assert_eq!(migrated.devices(None).unwrap()[0].name, "Phone-of-Marisol");
        assert_eq!(cipher::file_state(&plain).unwrap(), FileState::Encrypted);
        assert!(!contains(
            &bytes_on_disk(plain_dir.path()),
            "Phone-of-Marisol"
        ));
    }
}
