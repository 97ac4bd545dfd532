//! Lists of submissions: a page of the list projection, filtered, newest change first, read
//! without decoding a document (see `storage::submissions`), and why a flagged one breaks its
//! form version.

use crate::document::DocId;
use crate::error::Result;
use crate::storage::submissions::{self, PageCursor, SubmissionFilter, SubmissionPage};
use crate::store::Store;
use minga_forms::check::{decode_reasons, InvalidAnswer};

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
        submissions::page(&self.lock().conn, filter, after, limit)
    }

    /// Why submission `id`'s answers break its form version, as they arrived (each naming the
    /// question, inside its repeat instance, and why); empty when it is not flagged: it fits,
    /// or this store lacks its form version. What arrives is kept and flagged, never refused
    /// for its content. Cost: one primary-key lookup; no document is decoded.
    pub fn invalid_reasons(&self, id: &DocId) -> Result<Vec<InvalidAnswer>> {
        let stored = submissions::invalid_reasons(&self.lock().conn, id)?;
        Ok(decode_reasons(stored.as_deref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::{review_id, AnswerPath, DocKind, FormRef, ReviewState, Status};
    use crate::storage::submissions::SubmissionSummary;
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
        let review_id = review_id(&id);
        fresh
            .apply_changes(&[crate::api::changes::ReceivedChanges {
                id: review_id,
                kind: DocKind::Review,
                bytes: office.document_bytes(&review_id).unwrap(),
                signatures: office.change_signatures(&review_id).unwrap(),
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
    fn the_conflict_and_invalid_filters_read_only_the_flagged_rows() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir, "rosa");
        let conflicts = SubmissionFilter {
            has_conflicts: Some(true),
            ..Default::default()
        };
        let invalid = SubmissionFilter {
            invalid: Some(true),
            ..Default::default()
        };
        for (filter, index) in [
            (conflicts, "submissions_with_conflicts"),
            (invalid, "submissions_flagged_invalid"),
        ] {
            let plan = query_plan(&store, &filter);
            assert!(plan.iter().any(|step| step.contains(index)), "{plan:?}");
        }
    }

    /// The steps SQLite plans for the list query of `filter`.
    fn query_plan(store: &Store, filter: &SubmissionFilter) -> Vec<String> {
        let (sql, arguments) = submissions::list_query(filter, None, 20);
        let inner = store.lock();
        let plan = inner
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap()
            .query_map(rusqlite::params_from_iter(arguments), |row| row.get(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        plan
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
