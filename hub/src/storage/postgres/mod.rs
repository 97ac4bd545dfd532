//! The PostgreSQL backend, for a programme that runs several stateless hub processes over one
//! database: a small pool of synchronous connections (storage calls already run on blocking
//! threads), the schema created or upgraded on open, and every call one transaction.
//!
//! Sequence numbers: a project's writes lock its `projects` row first (`FOR NO KEY UPDATE`) and take
//! the next number from its `last_seq`, so writers to one project, in any process, commit one at
//! a time and in number order. A database sequence would not do: a number taken by a
//! transaction that commits after a later number's would be skipped by a device that had
//! already read past it.

mod attachments;
mod console;
mod portal;
mod schema;
pub mod testing;

use super::answers::{self, AnswerRow, Indicator, IndicatorQuery, TimedAnswer};
use super::located::{self, LocatedPoint, LocatedQuery};
use super::merge::Merged;
use super::projection::{
    self, FormVersionRow, SqlArg, SubmissionFacts, SubmissionQuery, SubmissionRow,
};
use super::txn::{self, DocumentTx, EnrolmentTx, StoredEnrolment};
use super::{keys, signatures};
use super::{
    peer_epoch_key, Device, DocumentHeader, DocumentWrite, HubStorage, NewEnrolment, PeerUpdate,
    Project, ReceivedChunk, Redemption, StoredDocument, WriteOutcome, HUB_EPOCH_KEY,
};
use super::{AttachmentRow, Referrer};
use crate::access::DocKind;
use crate::auth::{EnrolDecision, EnrolmentState};
use crate::error::{postgres_detail, HubError, Result};
use automerge::ChangeHash;
use chrono::{DateTime, Utc};
use minga_forms::check::decode_reasons;
use minga_forms::Form;
use minga_sync::signatures::{DeviceKey, PublicKey, SignedChange};
use minga_sync::ChunkOutcome;
use portal::PortalRows;
use postgres::{GenericClient, NoTls, Row};
use r2d2_postgres::r2d2::{Pool, PooledConnection};
use r2d2_postgres::PostgresConnectionManager;
use std::cell::RefCell;

type Manager = PostgresConnectionManager<NoTls>;

/// Connections per hub process: storage calls are short, and PostgreSQL's default allows 100
/// connections in all.
const POOL_SIZE: u32 = 8;

/// How long a call waits for a free connection, and opening waits for the first one.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

pub struct PostgresStorage {
    pool: Pool<Manager>,
}

impl PostgresStorage {
    /// Connects to the database at `url` (`postgres://user:password@host/database`, or with
    /// `?host=/run/postgresql` for a unix socket), creating or upgrading the hub's schema.
    pub fn open(url: &str) -> Result<Self> {
        let config = url
            .parse()
            .map_err(|e: postgres::Error| HubError::BadDatabaseUrl {
                url: redacted(&without_password(url), url),
                reason: redacted(&e.to_string(), url),
            })?;
        Self::open_config(config)
    }

    /// Like [`PostgresStorage::open`], with a parsed configuration.
    pub fn open_config(config: postgres::Config) -> Result<Self> {
        // One connection first, to report a server that cannot be reached with its own reason
        // (the pool would only say it timed out) and to bring the schema up to date.
        let mut first = config
            .connect(NoTls)
            .map_err(|e| HubError::PostgresConnect {
                target: describe(&config),
                reason: postgres_detail(&e),
            })?;
        schema::upgrade(&mut first)?;
        drop(first);
        let pool = Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(1))
            .connection_timeout(CONNECT_TIMEOUT)
            .build(Manager::new(config, NoTls))?;
        Ok(PostgresStorage { pool })
    }

    fn client(&self) -> Result<PooledConnection<Manager>> {
        Ok(self.pool.get()?)
    }
}

/// Where `config` connects: its hosts and database, for error messages.
fn describe(config: &postgres::Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|host| match host {
            postgres::config::Host::Tcp(name) => name.clone(),
            postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    format!(
        "{} (database {})",
        hosts.join(", "),
        config.get_dbname().unwrap_or("of the user's name")
    )
}

/// `url` with any password replaced, for error messages.
fn without_password(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let user_info = &url[scheme + 3..at];
            let user = user_info.split(':').next().unwrap_or_default();
            format!("{}{user}:…{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

/// `text` with the password of `url` (URL form `user:password@`, or `password=` in the
/// key-value form) blanked out, for errors that quote what they could not parse.
fn redacted(text: &str, url: &str) -> String {
    let from_url = match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            url[scheme + 3..at].split_once(':').map(|(_, p)| p)
        }
        _ => None,
    };
    let from_keyword = url
        .split_whitespace()
        .find_map(|pair| pair.strip_prefix("password="));
    [from_url, from_keyword]
        .into_iter()
        .flatten()
        .filter(|password| !password.is_empty())
        .fold(text.to_string(), |text, password| {
            text.replace(password, "…")
        })
}

/// Locks the project's row for the rest of the transaction (see the module's note); an unknown
/// project is an error.
fn lock_project(client: &mut impl GenericClient, project: &str) -> Result<()> {
    client
        .query_opt(
            // NO KEY: enrolments inserting devices of the project (a foreign key to this row)
            // need not wait behind a whole batch of document writes.
            "SELECT 1 FROM projects WHERE name = $1 FOR NO KEY UPDATE",
            &[&project],
        )?
        .map(|_| ())
        .ok_or_else(|| HubError::UnknownProject(project.into()))
}

fn project_from_row(row: &Row) -> Result<Project> {
    Ok(Project {
        name: row.try_get(0)?,
        title: row.try_get(1)?,
        created_at: row.try_get(2)?,
    })
}

const DEVICE_COLUMNS: &str = "id, project, role, name, enrolled_at, revoked_at, last_sync_at";

fn device_from_row(row: &Row) -> Result<Device> {
    Ok(Device {
        id: row.try_get(0)?,
        project: row.try_get(1)?,
        role: row.try_get::<_, &str>(2)?.parse()?,
        name: row.try_get(3)?,
        enrolled_at: row.try_get(4)?,
        revoked_at: row.try_get(5)?,
        last_sync_at: row.try_get(6)?,
    })
}

fn submission_from_row(row: &Row) -> Result<SubmissionRow> {
    let reasons: Option<&str> = row.try_get(15)?;
    Ok(SubmissionRow {
        id: row.try_get(0)?,
        form_id: row.try_get(1)?,
        form_version: row.try_get(2)?,
        author: row.try_get(3)?,
        author_name: row.try_get(4)?,
        submitter: row.try_get(5)?,
        created_at: row.try_get(6)?,
        updated_at: row.try_get(7)?,
        status: row.try_get(8)?,
        review_state: row.try_get(9)?,
        instance_name: row.try_get(10)?,
        deleted: row.try_get(11)?,
        latitude: row.try_get(12)?,
        longitude: row.try_get(13)?,
        has_conflicts: row.try_get(14)?,
        invalid: reasons.is_some(),
        invalid_reasons: decode_reasons(reasons),
    })
}

fn form_version_from_row(row: &Row) -> Result<FormVersionRow> {
    Ok(FormVersionRow {
        form_id: row.try_get(0)?,
        version: row.try_get(1)?,
        published_at: row.try_get(2)?,
        submissions: row.try_get(3)?,
    })
}

/// The projection's upsert in PostgreSQL's placeholders, built once.
static UPSERT: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| projection::upsert_sql(dollar));

/// The answer rows' statements in PostgreSQL's placeholders, built once.
static ANSWERS_DELETE: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| answers::delete_sql(dollar));
static ANSWERS_INSERT: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| answers::insert_sql(dollar));

fn dollar(n: usize) -> String {
    format!("${n}")
}

const HEADER_COLUMNS: &str = "project, id, kind, author, subject, seq, heads, updated_at";

fn header_from_row(row: &Row) -> Result<DocumentHeader> {
    let kind: i16 = row.try_get(2)?;
    Ok(DocumentHeader {
        project: row.try_get(0)?,
        id: row.try_get(1)?,
        kind: DocKind::from_code(kind)
            .map_err(|unknown| HubError::Corrupt(format!("a stored document: {unknown}")))?,
        author: row.try_get(3)?,
        subject: row.try_get(4)?,
        seq: row.try_get(5)?,
        heads: heads_at(row, 6)?,
        updated_at: row.try_get(7)?,
    })
}

/// The heads in column `index`, stored as bytes ([`minga_sync::heads_to_bytes`]).
fn heads_at(row: &Row, index: usize) -> Result<Vec<ChangeHash>> {
    minga_sync::heads_from_bytes(row.try_get(index)?)
        .map_err(|not_heads| HubError::Corrupt(format!("a stored document: {not_heads}")))
}

/// A kind as its column keeps it (`SMALLINT`).
fn kind_code(kind: DocKind) -> i16 {
    i16::from(kind.code())
}

/// The values a shared SELECT binds, as PostgreSQL parameters.
fn boxed(args: Vec<SqlArg>) -> Vec<Box<dyn postgres::types::ToSql + Sync>> {
    args.into_iter()
        .map(|arg| -> Box<dyn postgres::types::ToSql + Sync> {
            match arg {
                SqlArg::Text(text) => Box::new(text),
                SqlArg::Time(time) => Box::new(time),
                SqlArg::Int(number) => Box::new(number),
                SqlArg::Float(number) => Box::new(number),
            }
        })
        .collect()
}

fn param_refs(
    params: &[Box<dyn postgres::types::ToSql + Sync>],
) -> Vec<&(dyn postgres::types::ToSql + Sync)> {
    params.iter().map(|p| p.as_ref()).collect()
}

/// An answer row of an indicator's question ([`answers::question_rows_sql`]).
fn timed_answer(row: &Row) -> Result<TimedAnswer<DateTime<Utc>>> {
    Ok(TimedAnswer {
        created: row.try_get(0)?,
        id: row.try_get(1)?,
        value: row.try_get(2)?,
    })
}

fn collect<T>(rows: Vec<Row>, from_row: fn(&Row) -> Result<T>) -> Result<Vec<T>> {
    rows.iter().map(from_row).collect()
}

impl HubStorage for PostgresStorage {
    fn create_project(&self, name: &str, title: &str) -> Result<Project> {
        let row = self.client()?.query_opt(
            "INSERT INTO projects (name, title, created_at) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING RETURNING name, title, created_at",
            &[&name, &title, &Utc::now()],
        )?;
        let row = row.ok_or_else(|| HubError::DuplicateProject(name.into()))?;
        project_from_row(&row)
    }

    fn project(&self, name: &str) -> Result<Option<Project>> {
        let sql = "SELECT name, title, created_at FROM projects WHERE name = $1";
        let row = self.client()?.query_opt(sql, &[&name])?;
        row.as_ref().map(project_from_row).transpose()
    }

    fn projects(&self) -> Result<Vec<Project>> {
        let sql = "SELECT name, title, created_at FROM projects ORDER BY name";
        collect(self.client()?.query(sql, &[])?, project_from_row)
    }

    fn publish_form(&self, project: &str, form: &Form) -> Result<()> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        lock_project(&mut tx, project)?;
        txn::publish_form(&mut tx, project, form)?;
        tx.commit()?;
        Ok(())
    }

    fn forms(&self, project: &str) -> Result<Vec<Form>> {
        let sql = "SELECT definition FROM forms WHERE project = $1 ORDER BY position";
        let rows = self.client()?.query(sql, &[&project])?;
        rows.iter()
            .map(|row| {
                serde_json::from_str(row.try_get(0)?)
                    .map_err(|e| HubError::Corrupt(format!("a stored form: {e}")))
            })
            .collect()
    }

    fn create_enrolment(&self, e: &NewEnrolment) -> Result<()> {
        let mut client = self.client()?;
        if client
            .query_opt("SELECT 1 FROM projects WHERE name = $1", &[&e.project])?
            .is_none()
        {
            return Err(HubError::UnknownProject(e.project.clone()));
        }
        let inserted = client.execute(
            "INSERT INTO enrolments (lookup, secret_hash, project, role, device_name, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (lookup) DO NOTHING",
            &[
                &e.lookup,
                &e.secret_hash,
                &e.project,
                &e.role.as_str(),
                &e.device_name,
                &e.expires_at,
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
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        let redemption = txn::redeem(&mut tx, lookup, decide, device_id, token_hash)?;
        tx.commit()?;
        Ok(redemption)
    }

    fn device_by_token_hash(&self, token_hash: &str) -> Result<Option<Device>> {
        let sql = format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE token_hash = $1");
        let row = self.client()?.query_opt(&sql, &[&token_hash])?;
        row.as_ref().map(device_from_row).transpose()
    }

    fn devices(&self, project: Option<&str>) -> Result<Vec<Device>> {
        let sql = format!(
            "SELECT {DEVICE_COLUMNS} FROM devices WHERE $1::TEXT IS NULL OR project = $1
             ORDER BY project, enrolled_at"
        );
        collect(self.client()?.query(&sql, &[&project])?, device_from_row)
    }

    fn revoke_device(&self, id: &str) -> Result<Device> {
        let mut client = self.client()?;
        client.execute(
            "UPDATE devices SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
            &[&id, &Utc::now()],
        )?;
        let sql = format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE id = $1");
        let row = client.query_opt(&sql, &[&id])?;
        let row = row.ok_or_else(|| HubError::UnknownDevice(id.into()))?;
        device_from_row(&row)
    }

    /// Without waiting for the server's disk (`synchronous_commit = off` for this one
    /// transaction): a last sync lost to a crash costs nothing.
    fn record_sync(&self, device: &str, at: DateTime<Utc>) -> Result<()> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        tx.batch_execute("SET LOCAL synchronous_commit = off")?;
        tx.execute(
            "UPDATE devices SET last_sync_at = $2 WHERE id = $1",
            &[&device, &at],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn submissions(&self, project: &str, query: &SubmissionQuery) -> Result<Vec<SubmissionRow>> {
        let (sql, args) = projection::listing_sql(project, query, dollar);
        let params = boxed(args);
        collect(
            self.client()?.query(&sql, &param_refs(&params))?,
            submission_from_row,
        )
    }

    /// The two question's rows walked together through portals of one read-only transaction
    /// (one snapshot for both), a batch at a time.
    fn indicator(&self, project: &str, query: &IndicatorQuery) -> Result<Indicator> {
        let (sql, group_args) = answers::question_rows_sql(project, query, &query.group, dollar);
        let (_, answer_args) = answers::question_rows_sql(project, query, &query.question, dollar);
        let (group_args, answer_args) = (boxed(group_args), boxed(answer_args));
        let mut client = self.client()?;
        let tx = RefCell::new(client.build_transaction().read_only(true).start()?);
        let groups = PortalRows::bind(&tx, &sql, &param_refs(&group_args), timed_answer)?;
        let answers = PortalRows::bind(&tx, &sql, &param_refs(&answer_args), timed_answer)?;
        let indicator = answers::count_indicator(groups, answers, query.by_value)?;
        tx.into_inner().commit()?;
        Ok(indicator)
    }

    fn submission_row(&self, project: &str, id: &str) -> Result<Option<SubmissionRow>> {
        let sql = projection::row_by_id_sql(dollar);
        let row = self.client()?.query_opt(&sql, &[&project, &id])?;
        row.as_ref().map(submission_from_row).transpose()
    }

    fn located(&self, project: &str, query: &LocatedQuery) -> Result<Vec<LocatedPoint>> {
        let (sql, args) = located::located_sql(project, query, dollar);
        let params = boxed(args);
        let rows = self.client()?.query(&sql, &param_refs(&params))?;
        rows.iter()
            .map(|row| {
                Ok(LocatedPoint {
                    id: row.try_get(0)?,
                    name: row.try_get(1)?,
                    latitude: row.try_get(2)?,
                    longitude: row.try_get(3)?,
                    value: row.try_get(4)?,
                })
            })
            .collect()
    }

    fn map_outline(&self, project: &str) -> Result<Option<String>> {
        let row = self.client()?.query_opt(
            "SELECT value FROM hub_meta WHERE key = $1",
            &[&super::map_outline_key(project)],
        )?;
        Ok(row.map(|row| row.try_get(0)).transpose()?)
    }

    fn set_map_outline(&self, project: &str, geojson: &str) -> Result<()> {
        self.client()?.execute(
            "INSERT INTO hub_meta (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            &[&super::map_outline_key(project), &geojson],
        )?;
        Ok(())
    }

    fn form_versions(&self, project: &str) -> Result<Vec<FormVersionRow>> {
        let sql = "SELECT f.form_id, f.version, f.published_at,
                (SELECT COUNT(*) FROM submissions s
                 WHERE s.project = f.project AND s.form_id = f.form_id
                   AND s.form_version = f.version)
             FROM forms f WHERE f.project = $1 ORDER BY f.form_id, f.position";
        collect(
            self.client()?.query(sql, &[&project])?,
            form_version_from_row,
        )
    }

    fn write_documents(
        &self,
        project: &str,
        writes: &[DocumentWrite],
        peer: Option<&PeerUpdate>,
    ) -> Result<Vec<WriteOutcome>> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        lock_project(&mut tx, project)?;
        let outcomes = writes
            .iter()
            .map(|write| txn::write_one(&mut tx, project, write))
            .collect::<Result<Vec<_>>>()?;
        if let Some(peer) = peer {
            write_peer_state(&mut tx, project, peer)?;
        }
        tx.commit()?;
        Ok(outcomes)
    }

    fn document(&self, project: &str, id: &str) -> Result<Option<StoredDocument>> {
        stored_document(&mut *self.client()?, project, id)
    }

    fn change_signatures(
        &self,
        project: &str,
        id: &str,
        only: Option<&[ChangeHash]>,
    ) -> Result<Vec<SignedChange>> {
        signatures::of_document_postgres(&mut *self.client()?, project, id, only)
    }

    fn bind_device_key(&self, project: &str, device_id: &str, key: &PublicKey) -> Result<()> {
        keys::bind_postgres(&mut *self.client()?, project, device_id, key)
    }

    fn device_of_key(&self, project: &str, key: &PublicKey) -> Result<Option<String>> {
        keys::device_postgres(&mut *self.client()?, project, key)
    }

    fn hub_signing_key(&self) -> Result<DeviceKey> {
        keys::hub_key_postgres(&mut *self.client()?)
    }

    fn document_header(&self, project: &str, id: &str) -> Result<Option<DocumentHeader>> {
        let sql = format!("SELECT {HEADER_COLUMNS} FROM documents WHERE project = $1 AND id = $2");
        let row = self.client()?.query_opt(&sql, &[&project, &id])?;
        row.as_ref().map(header_from_row).transpose()
    }

    fn max_seq(&self, project: &str) -> Result<i64> {
        let sql = "SELECT COALESCE(MAX(seq), 0) FROM documents WHERE project = $1";
        Ok(self.client()?.query_one(sql, &[&project])?.try_get(0)?)
    }

    fn peer_cursor(&self, project: &str, peer: &str) -> Result<(i64, i64)> {
        let sql = "SELECT theirs, ours FROM peer_cursors WHERE project = $1 AND peer = $2";
        let row = self.client()?.query_opt(sql, &[&project, &peer])?;
        match row {
            Some(row) => Ok((row.try_get(0)?, row.try_get(1)?)),
            None => Ok((0, 0)),
        }
    }

    fn peer_heads(&self, project: &str, peer: &str, id: &str) -> Result<Option<Vec<ChangeHash>>> {
        let sql = "SELECT heads FROM peer_heads WHERE project = $1 AND peer = $2 AND doc = $3";
        let row = self.client()?.query_opt(sql, &[&project, &peer, &id])?;
        row.map(|row| heads_at(&row, 0)).transpose()
    }

    /// One id for the database, whichever process asks first: the hub processes over it are one
    /// hub to the devices.
    fn hub_id(&self) -> Result<String> {
        let mut client = self.client()?;
        let fresh = format!("hub-{}", uuid::Uuid::new_v4());
        client.execute(
            "INSERT INTO hub_meta (key, value) VALUES ('hub_id', $1) ON CONFLICT DO NOTHING",
            &[&fresh],
        )?;
        let row = client.query_one("SELECT value FROM hub_meta WHERE key = 'hub_id'", &[])?;
        Ok(row.try_get(0)?)
    }

    fn hub_epoch(&self) -> Result<String> {
        let mut client = self.client()?;
        let fresh = uuid::Uuid::new_v4().to_string();
        client.execute(
            "INSERT INTO hub_meta (key, value) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&HUB_EPOCH_KEY, &fresh],
        )?;
        let row = client.query_one(
            "SELECT value FROM hub_meta WHERE key = $1",
            &[&HUB_EPOCH_KEY],
        )?;
        Ok(row.try_get(0)?)
    }

    fn renew_hub_epoch(&self) -> Result<String> {
        let fresh = uuid::Uuid::new_v4().to_string();
        self.client()?.execute(
            "INSERT INTO hub_meta (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = $2",
            &[&HUB_EPOCH_KEY, &fresh],
        )?;
        Ok(fresh)
    }

    fn peer_epoch(&self, project: &str, peer: &str) -> Result<Option<String>> {
        let row = self.client()?.query_opt(
            "SELECT value FROM hub_meta WHERE key = $1",
            &[&peer_epoch_key(project, peer)],
        )?;
        Ok(row.map(|row| row.try_get(0)).transpose()?)
    }

    fn documents_since(
        &self,
        project: &str,
        since: i64,
        limit: usize,
    ) -> Result<Vec<DocumentHeader>> {
        let sql = format!(
            "SELECT {HEADER_COLUMNS} FROM documents WHERE project = $1 AND seq > $2
             ORDER BY seq LIMIT $3"
        );
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.client()?.query(&sql, &[&project, &since, &limit])?;
        collect(rows, header_from_row)
    }

    fn attachment(&self, project: &str, hash: &str) -> Result<Option<AttachmentRow>> {
        attachments::row(&mut *self.client()?, project, hash)
    }

    fn attachment_chunk(&self, project: &str, hash: &str, index: u64) -> Result<Option<Vec<u8>>> {
        attachments::whole_chunk(&mut *self.client()?, project, hash, index)
    }

    /// Locks the project's row first, as document writes do, so that two processes receiving
    /// one content take turns.
    fn receive_attachment_chunk(
        &self,
        project: &str,
        chunk: &ReceivedChunk<'_>,
        uploader: &str,
    ) -> Result<ChunkOutcome> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        lock_project(&mut tx, project)?;
        let outcome =
            crate::storage::attachments::receive_chunk(&mut tx, project, chunk, uploader)?;
        tx.commit()?;
        Ok(outcome)
    }

    fn attachments_wanted(&self, project: &str, limit: usize) -> Result<Vec<(String, u64)>> {
        attachments::wanted(&mut *self.client()?, project, limit)
    }

    fn attachment_referrers(&self, project: &str, hash: &str) -> Result<Vec<Referrer>> {
        attachments::referrers(&mut *self.client()?, project, hash)
    }
}

fn stored_document(
    client: &mut impl GenericClient,
    project: &str,
    id: &str,
) -> Result<Option<StoredDocument>> {
    let sql =
        format!("SELECT {HEADER_COLUMNS}, bytes FROM documents WHERE project = $1 AND id = $2");
    let Some(row) = client.query_opt(&sql, &[&project, &id])? else {
        return Ok(None);
    };
    Ok(Some(StoredDocument {
        header: header_from_row(&row)?,
        bytes: row.try_get(8)?,
    }))
}

impl DocumentTx for postgres::Transaction<'_> {
    fn stored(&mut self, project: &str, id: &str) -> Result<Option<StoredDocument>> {
        stored_document(self, project, id)
    }

    fn insert_form(&mut self, project: &str, form: &Form, definition: &str) -> Result<bool> {
        let inserted = self.execute(
            "INSERT INTO forms (project, form_id, version, published_at, definition)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            &[&project, &form.id, &form.version, &Utc::now(), &definition],
        )?;
        Ok(inserted > 0)
    }

    /// The next number of the project whose row the transaction has locked.
    fn put(
        &mut self,
        project: &str,
        write: &DocumentWrite,
        merged: &Merged,
    ) -> Result<DocumentHeader> {
        let seq: i64 = self
            .query_one(
                "UPDATE projects SET last_seq = last_seq + 1 WHERE name = $1 RETURNING last_seq",
                &[&project],
            )?
            .try_get(0)?;
        let sql = format!(
            "INSERT INTO documents (project, id, kind, author, subject, seq, heads, updated_at, bytes)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (project, id) DO UPDATE SET seq = $6, heads = $7, updated_at = $8, bytes = $9,
                 author = COALESCE(documents.author, EXCLUDED.author)
             RETURNING {HEADER_COLUMNS}"
        );
        let row = self.query_one(
            &sql,
            &[
                &project,
                &write.id,
                &kind_code(write.kind),
                &write.author,
                &write.subject,
                &seq,
                &minga_sync::heads_to_bytes(&merged.heads),
                &Utc::now(),
                &merged.bytes,
            ],
        )?;
        header_from_row(&row)
    }

    fn form_definition(
        &mut self,
        project: &str,
        form_id: &str,
        version: &str,
    ) -> Result<Option<String>> {
        let sql =
            "SELECT definition FROM forms WHERE project = $1 AND form_id = $2 AND version = $3";
        let row = self.query_opt(sql, &[&project, &form_id, &version])?;
        Ok(row.map(|row| row.try_get(0)).transpose()?)
    }

    fn projected_conflicts(&mut self, project: &str, id: &str) -> Result<Option<bool>> {
        let sql = "SELECT has_conflicts FROM submissions WHERE project = $1 AND id = $2";
        let row = self.query_opt(sql, &[&project, &id])?;
        Ok(row.map(|row| row.try_get(0)).transpose()?)
    }

    fn project_submission(
        &mut self,
        project: &str,
        header: &DocumentHeader,
        facts: &SubmissionFacts,
        review_state: &str,
    ) -> Result<()> {
        let (latitude, longitude) = facts.location.unzip();
        self.execute(
            UPSERT.as_str(),
            &[
                &project,
                &header.id,
                &facts.form_id,
                &facts.form_version,
                &header.author,
                &facts.submitter,
                &facts.created_at,
                &header.updated_at,
                &facts.status,
                &review_state,
                &facts.instance_name,
                &facts.deleted,
                &latitude,
                &longitude,
                &facts.has_conflicts,
                &facts.invalid_reasons,
            ],
        )?;
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
            self.execute(ANSWERS_DELETE.as_str(), &[&project, &id])?;
        }
        if rows.is_empty() {
            return Ok(());
        }
        let insert = self.prepare(ANSWERS_INSERT.as_str())?;
        for row in rows {
            self.execute(
                &insert,
                &[
                    &project,
                    &id,
                    &row.question,
                    &row.value,
                    &row.number,
                    &facts.form_id,
                    &facts.created_at,
                ],
            )?;
        }
        Ok(())
    }

    fn keep_signatures(&mut self, project: &str, id: &str, signed: &[SignedChange]) -> Result<()> {
        signatures::keep_postgres(self, project, id, signed)
    }

    fn project_review(&mut self, project: &str, submission: &str, state: &str) -> Result<()> {
        self.execute(
            "UPDATE submissions SET review_state = $3 WHERE project = $1 AND id = $2",
            &[&project, &submission, &state],
        )?;
        Ok(())
    }

    fn record_attachment_refs(&mut self, project: &str, id: &str, hashes: &[String]) -> Result<()> {
        attachments::record_refs(self, project, id, hashes)
    }
}

/// The attachment references of every document stored before they were recorded (schema
/// version 3).
fn backfill_attachment_refs(tx: &mut postgres::Transaction<'_>) -> Result<()> {
    let documents: Vec<(String, String)> = tx
        .query("SELECT project, id FROM documents", &[])?
        .iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .collect::<Result<_>>()?;
    txn::backfill_attachment_refs(tx, &documents)
}

/// The answer rows of every submission stored before they were kept (schema version 7).
fn backfill_answers(tx: &mut postgres::Transaction<'_>) -> Result<()> {
    let documents = projected_submissions(tx)?;
    txn::backfill_answers(tx, &documents)
}

/// Why each submission stored before the check existed breaks its form version (schema
/// version 8): its row written again, whole, from its document.
fn backfill_invalid_flags(tx: &mut postgres::Transaction<'_>) -> Result<()> {
    let documents = projected_submissions(tx)?;
    txn::backfill_projection(tx, &documents)
}

/// Every submission with a projection row, by project and id. Cost: a scan of the rows.
fn projected_submissions(tx: &mut postgres::Transaction<'_>) -> Result<Vec<(String, String)>> {
    tx.query("SELECT project, id FROM submissions", &[])?
        .iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .collect()
}

/// The projection of every submission and review stored before it existed (schema version 2).
fn backfill_projection(tx: &mut postgres::Transaction<'_>) -> Result<()> {
    let documents: Vec<(String, String)> = tx
        .query(
            "SELECT project, id FROM documents WHERE kind IN ($1, $2)",
            &[&kind_code(DocKind::Submission), &kind_code(DocKind::Review)],
        )?
        .iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .collect::<Result<_>>()?;
    txn::backfill_projection(tx, &documents)
}

impl EnrolmentTx for postgres::Transaction<'_> {
    /// Locks the enrolment's row, so that two hub processes cannot both redeem one code.
    fn enrolment(&mut self, lookup: &str) -> Result<Option<StoredEnrolment>> {
        let sql = "SELECT secret_hash, expires_at, used_at IS NOT NULL, project, role, device_name
                   FROM enrolments WHERE lookup = $1 FOR UPDATE";
        let Some(row) = self.query_opt(sql, &[&lookup])? else {
            return Ok(None);
        };
        Ok(Some(StoredEnrolment {
            state: EnrolmentState {
                secret_hash: row.try_get(0)?,
                expires_at: row.try_get(1)?,
                used: row.try_get(2)?,
            },
            project: row.try_get(3)?,
            role: row.try_get::<_, &str>(4)?.parse()?,
            device_name: row.try_get(5)?,
        }))
    }

    fn enrol(
        &mut self,
        lookup: &str,
        now: DateTime<Utc>,
        device: &Device,
        token_hash: &str,
    ) -> Result<()> {
        self.execute(
            "UPDATE enrolments SET used_at = $2 WHERE lookup = $1",
            &[&lookup, &now],
        )?;
        self.execute(
            "INSERT INTO devices (id, project, role, name, token_hash, enrolled_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &device.id,
                &device.project,
                &device.role.as_str(),
                &device.name,
                &token_hash,
                &now,
            ],
        )?;
        Ok(())
    }
}

/// Records a peer's shared heads and cursor inside the caller's transaction.
fn write_peer_state(
    tx: &mut postgres::Transaction<'_>,
    project: &str,
    peer: &PeerUpdate,
) -> Result<()> {
    if let Some(epoch) = &peer.reset {
        let key = super::peer_epoch_key(project, &peer.peer);
        tx.execute(
            "DELETE FROM peer_heads WHERE project = $1 AND peer = $2",
            &[&project, &peer.peer],
        )?;
        tx.execute(
            "DELETE FROM peer_cursors WHERE project = $1 AND peer = $2",
            &[&project, &peer.peer],
        )?;
        tx.execute(
            "INSERT INTO hub_meta (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = $2",
            &[&key, epoch],
        )?;
    }
    for (doc, heads) in &peer.shared_heads {
        tx.execute(
            "INSERT INTO peer_heads (project, peer, doc, heads) VALUES ($1, $2, $3, $4)
             ON CONFLICT (project, peer, doc) DO UPDATE SET heads = $4",
            &[
                &project,
                &peer.peer,
                doc,
                &minga_sync::heads_to_bytes(heads),
            ],
        )?;
    }
    if let Some((theirs, ours)) = peer.cursor {
        tx.execute(
            "INSERT INTO peer_cursors (project, peer, theirs, ours) VALUES ($1, $2, $3, $4)
             ON CONFLICT (project, peer) DO UPDATE SET theirs = $3, ours = $4",
            &[&project, &peer.peer, &theirs, &ours],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::testing::TestDatabase;
    use super::*;
    use crate::storage::contract::contract_tests;
    use crate::storage::HubStorage;

    /// The contract's fixture: a schema holding project `p`.
    fn open(test: &str) -> Option<(TestDatabase, PostgresStorage)> {
        let database = TestDatabase::for_test(test)?;
        let storage = database.open().unwrap();
        storage.create_project("p", "P").unwrap();
        Some((database, storage))
    }

    contract_tests!(open);
    crate::storage::contract::console_contract_tests!(open);

    /// What version 8 added, taken away again: a version 7 database.
    const TO_VERSION_7: &str = "DROP INDEX submissions_flagged_invalid;
        ALTER TABLE submissions DROP COLUMN invalid_reasons;";

    #[test]
    fn opening_a_version_7_database_flags_the_stored_submissions_that_break_their_form() {
        let Some((database, storage)) = open("upgrade_from_7") else {
            return;
        };
        let flagged = crate::storage::contract::store_flagged(&storage);
        storage
            .client()
            .unwrap()
            .batch_execute(&format!(
                "{TO_VERSION_7} UPDATE minga_hub_schema SET version = 7;"
            ))
            .unwrap();
        drop(storage);
        let upgraded = database.open().unwrap();
        crate::storage::contract::check_flagged_after_upgrade(&upgraded, &flagged);
    }

    /// What version 7 added, taken away again (after [`TO_VERSION_7`]): a version 6 database.
    const TO_VERSION_6: &str = "DROP TABLE submission_answers;";

    #[test]
    fn opening_a_version_6_database_keeps_the_answers_of_the_submissions_it_stored() {
        let Some((database, storage)) = open("upgrade_from_6") else {
            return;
        };
        let id = crate::storage::contract::store_answered(&storage);
        storage
            .client()
            .unwrap()
            .batch_execute(&format!(
                "{TO_VERSION_7} {TO_VERSION_6} UPDATE minga_hub_schema SET version = 6;"
            ))
            .unwrap();
        drop(storage);
        let upgraded = database.open().unwrap();
        crate::storage::contract::check_answers_after_upgrade(&upgraded, &id);
    }

    /// Version 6 undone: kinds as names and heads as space-joined lowercase hex in `documents`
    /// and `peer_heads`, as versions 1 to 5 kept them: a version 5 database.
    const TO_VERSION_5: &str = "
        CREATE OR REPLACE FUNCTION pg_temp.hex_heads(heads BYTEA) RETURNS TEXT LANGUAGE SQL AS $$
            SELECT coalesce(string_agg(encode(substring(heads FROM i FOR 32), 'hex'), ' '
                ORDER BY i), '')
            FROM generate_series(1, length(heads), 32) AS i $$;
        ALTER TABLE documents
            ALTER COLUMN kind TYPE TEXT USING (CASE kind WHEN 1 THEN 'submission'
                WHEN 2 THEN 'form' WHEN 3 THEN 'review' END),
            ALTER COLUMN heads TYPE TEXT USING pg_temp.hex_heads(heads);
        ALTER TABLE peer_heads ALTER COLUMN heads TYPE TEXT USING pg_temp.hex_heads(heads);";

    #[test]
    fn opening_a_version_5_database_keeps_its_kinds_and_heads_as_numbers_and_bytes() {
        let Some((database, storage)) = open("upgrade_from_5") else {
            return;
        };
        let stored = crate::storage::contract::store_kinds_and_shared_heads(&storage);
        let downgrade = format!(
            "{TO_VERSION_7} {TO_VERSION_6} {TO_VERSION_5} UPDATE minga_hub_schema SET version = 5;"
        );
        storage.client().unwrap().batch_execute(&downgrade).unwrap();
        let as_text = storage
            .client()
            .unwrap()
            .query_one("SELECT heads FROM documents LIMIT 1", &[])
            .unwrap();
        let as_text: String = as_text.get(0);
        assert!(as_text.len() >= 64, "the old form: {as_text}");
        drop(storage);
        let upgraded = database.open().unwrap();
        crate::storage::contract::check_kinds_and_shared_heads(&upgraded, &stored);
    }

    /// What version 5 added, taken away again (after [`TO_VERSION_5`]): a version 4 database.
    const TO_VERSION_4: &str =
        "DROP TABLE attachments; DROP TABLE attachment_chunks; DROP TABLE attachment_refs;";

    /// What version 4 added, taken away again (after [`TO_VERSION_4`]): a version 3 database.
    const TO_VERSION_3: &str = "DROP TABLE change_signatures; DROP TABLE device_keys;";

    /// What version 3 added, taken away again (after [`TO_VERSION_3`]): a version 2 database.
    const TO_VERSION_2: &str = "DROP TABLE console_sessions; DROP TABLE console_user_projects;
        DROP TABLE console_users; DROP TABLE console_signin_failures; DROP TABLE audit_log;";

    /// Stores a submission with its review, runs `downgrade` (SQL taking the schema back to
    /// an earlier version), reopens, and checks the upgraded database still holds them.
    fn upgraded_after(test: &str, downgrade: &str) -> Option<(TestDatabase, PostgresStorage)> {
        let (database, storage) = open(test)?;
        let id = crate::storage::contract::store_before_upgrade(&storage);
        storage.client().unwrap().batch_execute(downgrade).unwrap();
        drop(storage);
        let upgraded = database.open().unwrap();
        crate::storage::contract::check_after_upgrade(&upgraded, &id);
        Some((database, upgraded))
    }

    #[test]
    fn opening_a_version_2_database_adds_the_console_tables_and_keeps_its_data() {
        let downgrade = format!(
            "{TO_VERSION_7} {TO_VERSION_6} {TO_VERSION_5} {TO_VERSION_4} {TO_VERSION_3} {TO_VERSION_2} UPDATE minga_hub_schema SET version = 2;"
        );
        if let Some((_database, upgraded)) = upgraded_after("upgrade_from_2", &downgrade) {
            crate::storage::contract::console_users_are_unique_and_supervise_only_known_projects(
                &upgraded,
            );
        }
    }

    #[test]
    fn a_second_process_finds_the_schema_and_a_newer_one_is_refused() {
        let Some((database, first)) = open("schema_versions") else {
            return;
        };
        let second = database.open().unwrap();
        assert_eq!(second.projects().unwrap().len(), 1, "the same data");
        assert_eq!(second.hub_id().unwrap(), first.hub_id().unwrap());
        first
            .client()
            .unwrap()
            .execute("UPDATE minga_hub_schema SET version = version + 1", &[])
            .unwrap();
        match database.open() {
            Err(crate::HubError::Corrupt(reason)) => assert!(reason.contains("newer"), "{reason}"),
            other => panic!("expected a newer schema refused, got {:?}", other.err()),
        }
    }

    #[test]
    fn opening_a_version_1_database_projects_the_submissions_and_reviews_it_stored() {
        let downgrade = format!(
            "{TO_VERSION_7} {TO_VERSION_6} {TO_VERSION_5} {TO_VERSION_4} {TO_VERSION_3} {TO_VERSION_2} DROP TABLE submissions;
             ALTER TABLE devices DROP COLUMN last_sync_at;
             UPDATE minga_hub_schema SET version = 1;"
        );
        upgraded_after("upgrade_from_1", &downgrade);
    }

    #[test]
    fn opening_a_version_3_database_keeps_the_signatures_of_what_arrives_from_then_on() {
        let downgrade = format!(
            "{TO_VERSION_7} {TO_VERSION_6} {TO_VERSION_5} {TO_VERSION_4} {TO_VERSION_3} UPDATE minga_hub_schema SET version = 3;"
        );
        if let Some((_database, upgraded)) = upgraded_after("upgrade_from_3", &downgrade) {
            crate::storage::contract::signed_writes_keep_their_signatures(&upgraded);
        }
    }

    #[test]
    fn opening_a_version_4_database_records_the_attachments_its_documents_reference() {
        let Some((database, storage)) = open("upgrade_from_4") else {
            return;
        };
        let hash = minga_sync::ContentHash::of(b"a photo");
        crate::storage::contract::store_photographed(&storage, &hash);
        storage
            .client()
            .unwrap()
            .batch_execute(&format!(
                "{TO_VERSION_7} {TO_VERSION_6} {TO_VERSION_5} {TO_VERSION_4} UPDATE minga_hub_schema SET version = 4;"
            ))
            .unwrap();
        drop(storage);
        let upgraded = database.open().unwrap();
        assert_eq!(
            upgraded.attachments_wanted("p", 10).unwrap(),
            vec![(hash.to_hex(), 0)]
        );
    }

    #[test]
    fn a_bad_url_or_an_unreachable_server_is_named_without_the_password() {
        for bad in [
            "postgres://ana:secret@host:notaport/db",
            "host=h user=ana password=secret port=notaport",
        ] {
            match PostgresStorage::open(bad) {
                Err(crate::HubError::BadDatabaseUrl { url, reason }) => {
                    let shown = format!("{url} {reason}");
                    assert!(
                        !shown.contains("secret") && !shown.contains("cret"),
                        "{shown}"
                    );
                }
                other => panic!("expected a bad URL for {bad}, got {:?}", other.err()),
            }
        }
        let nowhere = "postgresql:///hub?host=/nonexistent/minga-socket-dir";
        match PostgresStorage::open(nowhere) {
            Err(crate::HubError::PostgresConnect { target, reason }) => {
                assert_eq!(target, "/nonexistent/minga-socket-dir (database hub)");
                assert!(reason.contains("error connecting"), "{reason}");
            }
            other => panic!("expected no connection, got {:?}", other.err()),
        }
    }
}
