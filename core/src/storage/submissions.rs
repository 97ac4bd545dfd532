//! The `submissions` table, the list projection: one row per submission with what lists and
//! filters need (form, status, author, times, instance name, location, whether answers
//! conflict, why its answers break its form version), so that a list never
//! decodes a document; read joined with `review_states` for each row's verdict. Every
//! statement on the table is here; `projection` derives a row from a document.

use crate::document::{DocId, FormRef, ReviewState, Status};
use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, Connection, OptionalExtension};

/// One row of a submission list.
#[derive(Debug, Clone, PartialEq)]
pub struct SubmissionSummary {
    pub id: DocId,
    pub form: FormRef,
    pub status: Status,
    /// The user who created the submission.
    pub author: String,
    pub created_at: DateTime<Utc>,
    /// When this store last saw the submission change (an edit here, or one received).
    pub updated_at: DateTime<Utc>,
    pub instance_name: Option<String>,
    /// Latitude and longitude of the submission's first top-level geopoint (by name).
    pub location: Option<(f64, f64)>,
    pub deleted: bool,
    /// The verdict of the submission's review; `None` when no review document exists yet.
    pub review_state: Option<ReviewState>,
    /// Whether some answer holds concurrent values that a person must settle.
    pub has_conflicts: bool,
    /// Whether its answers break its form version, as they arrived: flagged, not refused
    /// (`Store::invalid_reasons` says why).
    pub invalid: bool,
}

/// Which submissions a list shows. The default shows every submission not deleted.
#[derive(Debug, Clone, Default)]
pub struct SubmissionFilter {
    pub form_id: Option<String>,
    pub form_version: Option<String>,
    pub status: Option<Status>,
    pub author: Option<String>,
    /// Only submissions whose review is in this state; `Received` also matches submissions
    /// without a review yet (both await a verdict).
    pub review_state: Option<ReviewState>,
    pub include_deleted: bool,
    /// Only submissions with (`true`) or without (`false`) conflicting answers. Listing those
    /// with conflicts reads only them (a partial index holds them).
    pub has_conflicts: Option<bool>,
    /// Only submissions flagged (`true`) or not (`false`) as breaking their form version.
    /// Listing the flagged ones reads only them (a partial index holds them).
    pub invalid: Option<bool>,
}

/// Where a page starts: the position after the last row of the previous page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageCursor {
    updated_at: i64,
    id: DocId,
}

/// A cursor travels as text (`<updated ms>.<id>`), so that an app can keep it or pass it
/// through bindings.
impl std::fmt::Display for PageCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.updated_at, self.id)
    }
}

impl std::str::FromStr for PageCursor {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self> {
        let invalid = || Error::InvalidArgument(format!("{text:?} is not a page cursor"));
        let (time, id) = text.split_once('.').ok_or_else(invalid)?;
        Ok(PageCursor {
            updated_at: time.parse().map_err(|_| invalid())?,
            id: id.parse().map_err(|_| invalid())?,
        })
    }
}

/// One page of a list, newest change first, and the cursor for the next page if any.
#[derive(Debug, Clone)]
pub struct SubmissionPage {
    pub items: Vec<SubmissionSummary>,
    pub next: Option<PageCursor>,
}

/// A submission's list row as written: what [`SubmissionSummary`] reads back, in the table's
/// own units (milliseconds since the epoch).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SubmissionRow {
    pub(crate) form_id: String,
    pub(crate) form_version: String,
    pub(crate) status: Status,
    pub(crate) author: String,
    pub(crate) created_ms: i64,
    pub(crate) updated_ms: i64,
    pub(crate) instance_name: Option<String>,
    pub(crate) location: Option<(f64, f64)>,
    pub(crate) deleted_ms: Option<i64>,
    /// Whether some answer holds concurrent values.
    pub(crate) has_conflicts: bool,
    /// Why the answers break the form version (`storage::invalid`), `None` when they fit.
    pub(crate) invalid_reasons: Option<String>,
}

/// The table's columns besides `doc_id`, in the order [`SubmissionRow::columns`] gives them.
const COLUMNS: [&str; 12] = [
    "form_id",
    "form_version",
    "status",
    "author",
    "created_at",
    "updated_at",
    "instance_name",
    "latitude",
    "longitude",
    "deleted_at",
    "has_conflicts",
    "invalid_reasons",
];

impl SubmissionRow {
    /// The row's values, in the order of [`COLUMNS`].
    fn columns(&self) -> [SqlValue; 12] {
        let optional_real = |value: Option<f64>| value.map_or(SqlValue::Null, SqlValue::Real);
        [
            SqlValue::Text(self.form_id.clone()),
            SqlValue::Text(self.form_version.clone()),
            SqlValue::Text(self.status.as_str().to_owned()),
            SqlValue::Text(self.author.clone()),
            SqlValue::Integer(self.created_ms),
            SqlValue::Integer(self.updated_ms),
            self.instance_name
                .clone()
                .map_or(SqlValue::Null, SqlValue::Text),
            optional_real(self.location.map(|(latitude, _)| latitude)),
            optional_real(self.location.map(|(_, longitude)| longitude)),
            self.deleted_ms.map_or(SqlValue::Null, SqlValue::Integer),
            SqlValue::Integer(i64::from(self.has_conflicts)),
            self.invalid_reasons
                .clone()
                .map_or(SqlValue::Null, SqlValue::Text),
        ]
    }
}

/// Writes the row of submission `id` whole, replacing any. Cost: one primary-key upsert and
/// every index entry of the row.
pub(crate) fn write(conn: &Connection, id: &DocId, row: &SubmissionRow) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO submissions (doc_id, form_id, form_version, status, author,
             created_at, updated_at, instance_name, latitude, longitude, deleted_at,
             has_conflicts, invalid_reasons)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?
    .execute(rusqlite::params_from_iter(
        std::iter::once(SqlValue::Blob(id.as_bytes().to_vec())).chain(row.columns()),
    ))?;
    Ok(())
}

/// Rewrites only the columns in which `new` differs from `old`, the row as stored: an index
/// whose columns did not change keeps its pages untouched (an answer's edit moves
/// `updated_at` only). Nothing is written when nothing differs. Cost: one primary-key update
/// and the entries of the indexes on the changed columns.
pub(crate) fn update(
    conn: &Connection,
    id: &DocId,
    old: &SubmissionRow,
    new: &SubmissionRow,
) -> Result<()> {
    let changed: Vec<(&str, SqlValue)> = COLUMNS
        .into_iter()
        .zip(old.columns().into_iter().zip(new.columns()))
        .filter(|(_, (before, after))| before != after)
        .map(|(column, (_, after))| (column, after))
        .collect();
    if changed.is_empty() {
        return Ok(());
    }
    let assignments: Vec<String> = changed
        .iter()
        .enumerate()
        .map(|(n, (column, _))| format!("{column} = ?{}", n + 2))
        .collect();
    let sql = format!(
        "UPDATE submissions SET {} WHERE doc_id = ?1",
        assignments.join(", ")
    );
    let values = changed.into_iter().map(|(_, value)| value);
    conn.prepare_cached(&sql)?
        .execute(rusqlite::params_from_iter(
            std::iter::once(SqlValue::Blob(id.as_bytes().to_vec())).chain(values),
        ))?;
    Ok(())
}

/// The row of submission `id` as stored; `None` if it has none. Cost: one primary-key lookup.
pub(crate) fn read(conn: &Connection, id: &DocId) -> Result<Option<SubmissionRow>> {
    let row = conn
        .prepare_cached(
            "SELECT form_id, form_version, status, author, created_at, updated_at,
                    instance_name, latitude, longitude, deleted_at, has_conflicts,
                    invalid_reasons
             FROM submissions WHERE doc_id = ?1",
        )?
        .query_row([id.as_bytes()], |row| {
            let status: String = row.get(2)?;
            let (latitude, longitude): (Option<f64>, Option<f64>) = (row.get(7)?, row.get(8)?);
            Ok(SubmissionRow {
                form_id: row.get(0)?,
                form_version: row.get(1)?,
                status: Status::parse(&status).unwrap_or(Status::Draft),
                author: row.get(3)?,
                created_ms: row.get(4)?,
                updated_ms: row.get(5)?,
                instance_name: row.get(6)?,
                location: latitude.zip(longitude),
                deleted_ms: row.get(9)?,
                has_conflicts: row.get(10)?,
                invalid_reasons: row.get(11)?,
            })
        })
        .optional()?;
    Ok(row)
}

/// Sets the conflict flag of submission `id`'s row, leaving its other columns (`updated_at`
/// included) as they are; no row, no change. Cost: one primary-key update.
pub(crate) fn write_conflict_flag(
    conn: &Connection,
    id: &DocId,
    has_conflicts: bool,
) -> Result<()> {
    conn.prepare_cached("UPDATE submissions SET has_conflicts = ?1 WHERE doc_id = ?2")?
        .execute(params![has_conflicts, id.as_bytes()])?;
    Ok(())
}

/// Sets the reasons submission `id` breaks its form version (`None`: it fits), leaving the
/// row's other columns as they are; no row, no change. Cost: one primary-key update.
pub(crate) fn write_invalid_reasons(
    conn: &Connection,
    id: &DocId,
    reasons: Option<String>,
) -> Result<()> {
    conn.prepare_cached("UPDATE submissions SET invalid_reasons = ?1 WHERE doc_id = ?2")?
        .execute(params![reasons, id.as_bytes()])?;
    Ok(())
}

/// The reasons submission `id` breaks its form version as stored; `None` if it has no row or
/// fits. Cost: one primary-key lookup.
pub(crate) fn invalid_reasons(conn: &Connection, id: &DocId) -> Result<Option<String>> {
    let found = conn
        .prepare_cached("SELECT invalid_reasons FROM submissions WHERE doc_id = ?1")?
        .query_row([id.as_bytes()], |row| row.get(0))
        .optional()?;
    Ok(found.flatten())
}

/// The submissions of one form version, deleted ones included. Cost: a scan of every row
/// (no index on the form: see `schema::ONE_PROJECTION_INDEX`).
pub(crate) fn ids_of_version(
    conn: &Connection,
    form_id: &str,
    version: &str,
) -> Result<Vec<DocId>> {
    let mut statement = conn.prepare_cached(
        "SELECT doc_id FROM submissions WHERE form_id = ?1 AND form_version = ?2",
    )?;
    let ids = statement
        .query_map(params![form_id, version], |row| row.get::<_, Vec<u8>>(0))?
        .map(|id| DocId::from_bytes(&id?))
        .collect::<Result<Vec<_>>>()?;
    Ok(ids)
}

/// A page of submissions matching `filter`, newest change first, starting after `after`.
/// Cost: an index scan of `limit` rows (plus the rows a filter skips, other forms' included);
/// no document is decoded.
pub(crate) fn page(
    conn: &Connection,
    filter: &SubmissionFilter,
    after: Option<PageCursor>,
    limit: u32,
) -> Result<SubmissionPage> {
    let (sql, arguments) = list_query(filter, after, limit);
    let mut statement = conn.prepare_cached(&sql)?;
    let rows = statement.query_map(rusqlite::params_from_iter(arguments), summary_from_row)?;
    let items = rows.map(|row| row?).collect::<Result<Vec<_>>>()?;
    let next = match items.last() {
        Some(last) if items.len() == limit as usize => Some(PageCursor {
            updated_at: last.updated_at.timestamp_millis(),
            id: last.id,
        }),
        _ => None,
    };
    Ok(SubmissionPage { items, next })
}

/// The list query for a filter: conditions only for what is asked. SQLite walks the time
/// index newest first (or the partial index of flagged rows, when only those are asked for),
/// skipping the rows a condition refuses: a list of one form among many reads the rows of the
/// others it passes.
pub(crate) fn list_query(
    filter: &SubmissionFilter,
    after: Option<PageCursor>,
    limit: u32,
) -> (String, Vec<SqlValue>) {
    let mut conditions: Vec<String> = Vec::new();
    let mut arguments: Vec<SqlValue> = Vec::new();
    let mut bind = |value: SqlValue| {
        arguments.push(value);
        arguments.len()
    };
    let equal_to = [
        ("form_id", filter.form_id.clone()),
        ("form_version", filter.form_version.clone()),
        (
            "status",
            filter.status.map(|status| status.as_str().to_owned()),
        ),
        ("author", filter.author.clone()),
    ];
    for (column, wanted) in equal_to {
        if let Some(wanted) = wanted {
            conditions.push(format!("{column} = ?{}", bind(SqlValue::Text(wanted))));
        }
    }
    if let Some(cursor) = after {
        let time = bind(SqlValue::Integer(cursor.updated_at));
        let id = bind(SqlValue::Blob(cursor.id.as_bytes().to_vec()));
        conditions.push(format!(
            "(updated_at < ?{time} OR (updated_at = ?{time} AND doc_id < ?{id}))"
        ));
    }
    match filter.review_state {
        None => {}
        Some(ReviewState::Received) => {
            conditions.push("(state IS NULL OR state = 'received')".into());
        }
        Some(state) => conditions.push(format!(
            "state = ?{}",
            bind(SqlValue::Text(state.as_str().into()))
        )),
    }
    if !filter.include_deleted {
        conditions.push("deleted_at IS NULL".into());
    }
    // Literal values, so that SQLite sees that the partial index of flagged rows applies.
    match filter.has_conflicts {
        Some(true) => conditions.push("has_conflicts = 1".into()),
        Some(false) => conditions.push("has_conflicts = 0".into()),
        None => {}
    }
    match filter.invalid {
        Some(true) => conditions.push("invalid_reasons IS NOT NULL".into()),
        Some(false) => conditions.push("invalid_reasons IS NULL".into()),
        None => {}
    }
    let where_clause = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let sql = format!(
        "SELECT doc_id, form_id, form_version, status, author, created_at, updated_at,
                instance_name, latitude, longitude, deleted_at, state, has_conflicts,
                invalid_reasons IS NOT NULL
         FROM submissions LEFT JOIN review_states ON submission_id = doc_id {where_clause}
         ORDER BY updated_at DESC, doc_id DESC LIMIT {limit}"
    );
    (sql, arguments)
}

fn summary_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Result<SubmissionSummary>> {
    let id: Vec<u8> = row.get(0)?;
    let form = FormRef {
        form_id: row.get(1)?,
        form_version: row.get(2)?,
        project_id: None,
    };
    let status: String = row.get(3)?;
    let author: String = row.get(4)?;
    let (created, updated): (i64, i64) = (row.get(5)?, row.get(6)?);
    let instance_name: Option<String> = row.get(7)?;
    let (latitude, longitude): (Option<f64>, Option<f64>) = (row.get(8)?, row.get(9)?);
    let deleted_at: Option<i64> = row.get(10)?;
    let review_state: Option<String> = row.get(11)?;
    let has_conflicts: bool = row.get(12)?;
    let invalid: bool = row.get(13)?;
    Ok(DocId::from_bytes(&id).map(|id| SubmissionSummary {
        id,
        form,
        status: Status::parse(&status).unwrap_or(Status::Draft),
        author,
        created_at: from_millis(created),
        updated_at: from_millis(updated),
        instance_name,
        location: latitude.zip(longitude),
        deleted: deleted_at.is_some(),
        review_state: review_state.as_deref().and_then(ReviewState::parse),
        has_conflicts,
        invalid,
    }))
}

fn from_millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}
