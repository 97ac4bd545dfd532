//! The `submissions` projection: what lists and filters need (form, status, author, times,
//! instance name, location, whether answers conflict, and the review's verdict from
//! `review_states`), kept beside each
//! document and refreshed in the same transaction as its chunks, so that a list never decodes a
//! document.

use crate::conflicts::answers_conflict;
use crate::document::{self, DocId, DocKind, FormRef, Status};
use crate::error::Result;
use crate::review::{self, ReviewState};
use crate::store::Store;
use crate::values;
use automerge::{AutoCommit, ReadDoc, ROOT};
use chrono::{DateTime, Utc};
use minga_forms::Value;
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, Connection};

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
    type Err = crate::error::Error;
    fn from_str(text: &str) -> Result<Self> {
        let invalid =
            || crate::error::Error::InvalidArgument(format!("{text:?} is not a page cursor"));
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

/// Rewrites the projection row of submission `id` from its document. A document that is not
/// (yet) a whole submission, such as the first half of a sync, has no row until it is.
/// Cost: reads the metadata, the geopoints and every answer (for conflicts), no history.
pub(crate) fn refresh(
    conn: &Connection,
    id: &DocId,
    doc: &AutoCommit,
    updated_ms: i64,
) -> Result<()> {
    let Some(meta) = document::read_meta(doc) else {
        return Ok(());
    };
    let location = location(doc);
    conn.prepare_cached(
        "INSERT OR REPLACE INTO submissions (doc_id, form_id, form_version, status, author,
             created_at, updated_at, instance_name, latitude, longitude, deleted_at,
             has_conflicts)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        id.as_bytes(),
        meta.form.form_id,
        meta.form.form_version,
        document::read_status(doc).as_str(),
        meta.created_by,
        meta.created_at.timestamp_millis(),
        updated_ms,
        meta.instance_name,
        location.map(|(latitude, _)| latitude),
        location.map(|(_, longitude)| longitude),
        document::read_deleted_at(doc),
        answers_conflict(doc),
    ])?;
    Ok(())
}

/// Records the state of review document `id` against the submission it judges, inside the
/// caller's transaction. A document whose id does not derive from a submission's records
/// nothing. Cost: two map lookups.
pub(crate) fn refresh_review_state(conn: &Connection, id: &DocId, doc: &AutoCommit) -> Result<()> {
    let Some(submission) = review::reviewed_submission(id, doc) else {
        return Ok(());
    };
    conn.prepare_cached(
        "INSERT OR REPLACE INTO review_states (submission_id, state) VALUES (?1, ?2)",
    )?
    .execute(params![
        submission.as_bytes(),
        review::state_of(doc).as_str()
    ])?;
    Ok(())
}

/// Rewrites every submission's projection row from its document, inside the caller's
/// transaction: for a store upgraded from before projections existed. Cost: decodes every
/// submission once.
pub(crate) fn rebuild_all(conn: &Connection) -> Result<()> {
    rebuild(conn, DocKind::Submission, &|conn, id, doc| {
        refresh(conn, id, doc, crate::changes::now_ms())
    })
}

/// Records every review's state, inside the caller's transaction: for a store upgraded from
/// before review states were kept. Cost: decodes every review once.
pub(crate) fn rebuild_review_states(conn: &Connection) -> Result<()> {
    rebuild(conn, DocKind::Review, &refresh_review_state)
}

/// Flags every submission whose answers conflict, inside the caller's transaction: for a
/// store upgraded from before the flag was kept (other columns and `updated_at` stay).
/// Cost: decodes every submission once.
pub(crate) fn rebuild_conflict_flags(conn: &Connection) -> Result<()> {
    rebuild(conn, DocKind::Submission, &|conn, id, doc| {
        conn.prepare_cached("UPDATE submissions SET has_conflicts = ?1 WHERE doc_id = ?2")?
            .execute(params![answers_conflict(doc), id.as_bytes()])?;
        Ok(())
    })
}

fn rebuild(
    conn: &Connection,
    kind: DocKind,
    refresh: &dyn Fn(&Connection, &DocId, &AutoCommit) -> Result<()>,
) -> Result<()> {
    let ids: Vec<Vec<u8>> = conn
        .prepare("SELECT doc_id FROM documents WHERE kind = ?1")?
        .query_map([kind.code()], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    let reader = automerge::ActorId::random();
    for id in ids {
        let id = DocId::from_bytes(&id)?;
        if let Some(loaded) = crate::chunks::load(conn, &id, &reader)? {
            refresh(conn, &id, &loaded.doc)?;
        }
    }
    Ok(())
}

/// The first top-level geopoint answer, by name.
fn location(doc: &AutoCommit) -> Option<(f64, f64)> {
    let answers = document::object_at(doc, &ROOT, "answers")?;
    let tags = values::type_tags(doc);
    let mut geopoints: Vec<&String> = tags
        .iter()
        .filter(|(_, tag)| *tag == "geopoint")
        .map(|(name, _)| name)
        .collect();
    geopoints.sort();
    geopoints.into_iter().find_map(|name| {
        let found = doc.get(&answers, name.as_str()).ok()??;
        match values::read_value(doc, found, Some("geopoint"))? {
            Value::GeoPoint(point) => Some((point.latitude, point.longitude)),
            _ => None,
        }
    })
}

impl Store {
    /// A page of submissions matching `filter`, newest change first, starting after `after`.
    /// Cost: an index scan of `limit` rows (plus the rows a filter skips); no document is
    /// decoded.
    pub fn list_submissions(
        &self,
        filter: &SubmissionFilter,
        after: Option<PageCursor>,
        limit: u32,
    ) -> Result<SubmissionPage> {
        let (sql, arguments) = list_query(filter, after, limit);
        let inner = self.lock();
        let mut statement = inner.conn.prepare_cached(&sql)?;
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
}

/// The list query for a filter: conditions only for what is asked, so that SQLite can use the
/// form index when a form is given and the time index otherwise.
fn list_query(
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
    let where_clause = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let sql = format!(
        "SELECT doc_id, form_id, form_version, status, author, created_at, updated_at,
                instance_name, latitude, longitude, deleted_at, state, has_conflicts
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
    }))
}

fn from_millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::AnswerPath;
    use crate::test_support::plain_store;
    use minga_forms::GeoPoint;
    use std::collections::HashSet;

    fn store(dir: &tempfile::TempDir, user: &str) -> Store {
        plain_store(dir, "s.db", "d1", user)
    }

    /// Every row that matches, page by page.
    fn all_pages(store: &Store, filter: &SubmissionFilter, limit: u32) -> Vec<SubmissionSummary> {
        let mut rows = Vec::new();
        let mut after = None;
        loop {
            let page = store.list_submissions(filter, after, limit).unwrap();
            rows.extend(page.items);
            match page.next {
                Some(next) => after = Some(next),
                None => return rows,
            }
        }
    }

    #[test]
    fn pages_cover_every_match_once_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir, "ana");
        let mut made = Vec::new();
        for n in 0..45 {
            let form = FormRef::new(if n % 3 == 0 { "safety" } else { "dialogue" }, "1");
            let id = store.create_submission(&form).unwrap();
            if n % 5 == 0 {
                store.set_status(&id, Status::Complete).unwrap();
            }
            made.push((id, form.form_id, n % 5 == 0));
        }
        let rows = all_pages(&store, &SubmissionFilter::default(), 7);
        let first = store
            .list_submissions(&SubmissionFilter::default(), None, 7)
            .unwrap()
            .next
            .unwrap();
        assert_eq!(first.to_string().parse::<PageCursor>().unwrap(), first);
        assert!("7.not-an-id".parse::<PageCursor>().is_err());
        assert_eq!(rows.len(), 45);
        assert_eq!(
            rows.iter().map(|r| r.id).collect::<HashSet<_>>().len(),
            45,
            "no row twice"
        );
        assert!(rows
            .windows(2)
            .all(|w| (w[0].updated_at, w[0].id) > (w[1].updated_at, w[1].id)));

        let filter = SubmissionFilter {
            form_id: Some("dialogue".into()),
            status: Some(Status::Complete),
            ..Default::default()
        };
        let expected: HashSet<DocId> = made
            .iter()
            .filter(|(_, form, done)| form == "dialogue" && *done)
            .map(|(id, _, _)| *id)
            .collect();
        let found: HashSet<DocId> = all_pages(&store, &filter, 2).iter().map(|r| r.id).collect();
        assert_eq!(found, expected);
        assert!(!expected.is_empty());
    }

    #[test]
    fn rows_carry_the_review_state_and_filter_by_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir, "rosa");
        let form = FormRef::new("dialogue", "3");
        let ids: Vec<DocId> = (0..3)
            .map(|_| store.create_submission(&form).unwrap())
            .collect();
        store
            .set_review_state(&ids[0], ReviewState::Approved)
            .unwrap();
        store
            .set_review_state(&ids[1], ReviewState::HasIssues)
            .unwrap();
        let state_of = |rows: &[SubmissionSummary], id: &DocId| {
            rows.iter().find(|row| row.id == *id).unwrap().review_state
        };
        let rows = all_pages(&store, &SubmissionFilter::default(), 2);
        assert_eq!(state_of(&rows, &ids[0]), Some(ReviewState::Approved));
        assert_eq!(state_of(&rows, &ids[1]), Some(ReviewState::HasIssues));
        assert_eq!(state_of(&rows, &ids[2]), None);

        let only = |state| {
            let filter = SubmissionFilter {
                review_state: Some(state),
                ..Default::default()
            };
            let rows = all_pages(&store, &filter, 2);
            rows.into_iter().map(|row| row.id).collect::<Vec<_>>()
        };
        assert_eq!(only(ReviewState::Approved), vec![ids[0]]);
        assert_eq!(
            only(ReviewState::Received),
            vec![ids[2]],
            "awaiting a verdict"
        );
        store
            .set_review_state(&ids[0], ReviewState::Received)
            .unwrap();
        let mut waiting = only(ReviewState::Received);
        waiting.sort();
        let mut expected = vec![ids[0], ids[2]];
        expected.sort();
        assert_eq!(waiting, expected, "set back to received");
        assert!(only(ReviewState::Rejected).is_empty());
    }

    /// A review can arrive by sync before its submission: the list shows the verdict as soon as
    /// the submission is there.
    #[test]
    fn a_review_received_before_its_submission_shows_once_it_arrives() {
        let dir = tempfile::tempdir().unwrap();
        let office = plain_store(&dir, "office.db", "d1", "luis");
        let phone = store(&dir, "rosa");
        let id = phone
            .create_submission(&FormRef::new("dialogue", "3"))
            .unwrap();
        office
            .import_submission(&phone.export_submission(&id).unwrap())
            .unwrap();
        office.set_review_state(&id, ReviewState::Rejected).unwrap();

        let fresh = plain_store(&dir, "fresh.db", "d2", "ana");
        let review_id = review::review_id(&id);
        fresh
            .apply_changes(&[crate::changes::ReceivedChanges {
                id: review_id,
                kind: DocKind::Review,
                bytes: office.document_bytes(&review_id).unwrap(),
            }])
            .unwrap();
        fresh
            .import_submission(&phone.export_submission(&id).unwrap())
            .unwrap();
        let rows = all_pages(&fresh, &SubmissionFilter::default(), 10);
        assert_eq!(rows[0].review_state, Some(ReviewState::Rejected));
    }

    #[test]
    fn the_submissions_with_conflicts_list_from_the_flag_until_settled() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir, "rosa");
        let calm = store
            .create_submission(&FormRef::new("dialogue", "1"))
            .unwrap();
        let conflicted = crate::test_support::conflicted_submission(&dir, &store);
        let listed = |has_conflicts| {
            let filter = SubmissionFilter {
                has_conflicts: Some(has_conflicts),
                ..Default::default()
            };
            let rows = all_pages(&store, &filter, 10);
            rows.iter().map(|row| row.id).collect::<Vec<_>>()
        };
        assert_eq!(listed(true), vec![conflicted]);
        assert_eq!(listed(false), vec![calm]);
        let rows = all_pages(&store, &SubmissionFilter::default(), 10);
        assert!(rows
            .iter()
            .any(|row| row.id == conflicted && row.has_conflicts));

        store
            .resolve_conflict(
                &conflicted,
                &AnswerPath::new("q"),
                &minga_forms::Value::Integer(3),
            )
            .unwrap();
        assert!(listed(true).is_empty(), "settled: no longer listed");
    }

    /// Listing the submissions with conflicts reads the partial index of flagged rows, not
    /// every row.
    #[test]
    fn the_conflict_filter_reads_only_the_flagged_rows() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir, "rosa");
        let filter = SubmissionFilter {
            has_conflicts: Some(true),
            ..Default::default()
        };
        let (sql, arguments) = list_query(&filter, None, 20);
        let inner = store.lock();
        let plan: Vec<String> = inner
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap()
            .query_map(rusqlite::params_from_iter(arguments), |row| row.get(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(
            plan.iter()
                .any(|step| step.contains("submissions_with_conflicts")),
            "{plan:?}"
        );
    }

    #[test]
    fn rows_carry_author_name_location_and_deletion() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir, "rosa");
        let id = store
            .create_submission(&FormRef::new("dialogue", "3"))
            .unwrap();
        let point = GeoPoint {
            latitude: -1.5,
            longitude: -78.0,
            altitude: None,
            accuracy: None,
        };
        store
            .set_answer(
                &id,
                &AnswerPath::new("where"),
                &minga_forms::Value::GeoPoint(point),
            )
            .unwrap();
        store.set_instance_name(&id, Some("Ambato")).unwrap();
        let row = &store
            .list_submissions(&SubmissionFilter::default(), None, 10)
            .unwrap()
            .items[0];
        assert_eq!(
            (
                row.author.as_str(),
                row.instance_name.as_deref(),
                row.location
            ),
            ("rosa", Some("Ambato"), Some((-1.5, -78.0)))
        );
        assert_eq!(row.form, FormRef::new("dialogue", "3"));

        store.delete_submission(&id).unwrap();
        assert!(store
            .list_submissions(&SubmissionFilter::default(), None, 10)
            .unwrap()
            .items
            .is_empty());
        let with_deleted = SubmissionFilter {
            include_deleted: true,
            ..Default::default()
        };
        assert!(
            store
                .list_submissions(&with_deleted, None, 10)
                .unwrap()
                .items[0]
                .deleted
        );
        let by_someone_else = SubmissionFilter {
            author: Some("ana".into()),
            include_deleted: true,
            ..Default::default()
        };
        assert!(store
            .list_submissions(&by_someone_else, None, 10)
            .unwrap()
            .items
            .is_empty());
    }
}
