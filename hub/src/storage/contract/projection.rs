//! The contract of the submissions projection and the devices' last sync, on every backend:
//! the write path keeps each submission's row (facts, review state, conflicts), listings filter
//! and page it, and an upgraded hub gets rows for what it stored before.

use super::write;
use crate::access::DocKind;
use crate::auth::{EnrolDecision, EnrolmentState};
use crate::storage::{
    Bounds, DocumentWrite, HubStorage, Indicator, IndicatorQuery, LocatedQuery, NewEnrolment,
    SubmissionQuery, SubmissionRow,
};
use chrono::Utc;
use minga_core::{
    AnswerPath, DeviceIdentity, DocId, Encryption, FormRef, GeoPoint, ReviewDocument, ReviewState,
    Status, Store, Value,
};

/// A phone's store, as the app keeps it, in a folder of its own.
pub struct Phone {
    _dir: tempfile::TempDir,
    pub store: Store,
}

impl Phone {
    pub fn new(device: &str, user: &str) -> Phone {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(
            dir.path().join("phone.db"),
            Encryption::PlainFile,
            DeviceIdentity::new(device, user),
        )
        .unwrap();
        Phone { _dir: dir, store }
    }

    /// A submission of `form` version 1 named `name`, at a place, complete.
    pub fn fill(&self, form: &str, name: &str) -> DocId {
        let id = self
            .store
            .create_submission(&FormRef::new(form, "1"))
            .unwrap();
        let place = Value::GeoPoint(GeoPoint {
            latitude: 0.35,
            longitude: -78.12,
            altitude: None,
            accuracy: Some(5.0),
        });
        self.store
            .set_answer(&id, &AnswerPath::new("place"), &place)
            .unwrap();
        self.store.set_instance_name(&id, Some(name)).unwrap();
        self.store.set_status(&id, Status::Complete).unwrap();
        id
    }

    /// A submission of `form` named `name` (as [`Phone::fill`]) answering `province` (a
    /// select_one), `fears` (a select_multiple) and `age` (an integer).
    pub fn fill_answers(
        &self,
        form: &str,
        name: &str,
        province: &str,
        fears: &[&str],
        age: i64,
    ) -> DocId {
        let id = self.fill(form, name);
        let set = |question: &str, value: Value| {
            self.store
                .set_answer(&id, &AnswerPath::new(question), &value)
                .unwrap()
        };
        set("province", Value::Choice(province.into()));
        set(
            "fears",
            Value::Choices(fears.iter().map(|f| f.to_string()).collect()),
        );
        set("age", Value::Integer(age));
        id
    }

    /// The submission as the phone would send it, authored by `device`.
    pub fn write(&self, id: &DocId) -> DocumentWrite {
        let bytes = self.store.export_submission(id).unwrap();
        write(&id.to_string(), DocKind::Submission, bytes)
    }
}

/// A supervisor's review of `submission` in `state`, as a write.
pub fn review_write(submission: &DocId, state: ReviewState) -> DocumentWrite {
    let mut review = ReviewDocument::start(submission).unwrap();
    review.set_state(state, &[], "sara").unwrap();
    DocumentWrite {
        subject: Some(submission.to_string()),
        ..write(&review.id().to_string(), DocKind::Review, review.save())
    }
}

pub(super) fn all(storage: &dyn HubStorage, query: SubmissionQuery) -> Vec<SubmissionRow> {
    let query = SubmissionQuery {
        limit: 100,
        ..query
    };
    storage.submissions("p", &query).unwrap()
}

pub(super) fn ids(rows: &[SubmissionRow]) -> Vec<String> {
    rows.iter().map(|r| r.id.clone()).collect()
}

pub fn the_projection_follows_submissions_and_their_reviews(storage: &dyn HubStorage) {
    let phone = Phone::new("dev", "ana");
    let (rosa, luis) = (phone.fill("safety", "Rosa"), phone.fill("dialogue", "Luis"));
    // Luis's review arrives first (from a supervisor's tablet): his row takes it on arrival.
    storage
        .write_documents("p", &[review_write(&luis, ReviewState::Approved)], None)
        .unwrap();
    storage
        .write_documents("p", &[phone.write(&rosa), phone.write(&luis)], None)
        .unwrap();
    let rows = all(storage, SubmissionQuery::default());
    assert_eq!(
        ids(&rows),
        [luis.to_string(), rosa.to_string()],
        "newest first"
    );
    let row = &rows[1];
    assert_eq!(
        (row.form_id.as_str(), row.form_version.as_str()),
        ("safety", "1")
    );
    assert_eq!(row.instance_name.as_deref(), Some("Rosa"));
    assert_eq!(
        (row.status.as_str(), row.submitter.as_str()),
        ("complete", "ana")
    );
    assert_eq!((row.latitude, row.longitude), (Some(0.35), Some(-78.12)));
    assert_eq!(row.author.as_deref(), Some("dev"));
    assert_eq!(row.review_state, "received");
    assert!(!row.has_conflicts && !row.deleted);
    assert_eq!(
        rows[0].review_state, "approved",
        "the review that came first"
    );

    storage
        .write_documents("p", &[review_write(&rosa, ReviewState::HasIssues)], None)
        .unwrap();
    let has_issues = SubmissionQuery {
        review_state: Some("has_issues".into()),
        ..SubmissionQuery::default()
    };
    assert_eq!(ids(&all(storage, has_issues)), [rosa.to_string()]);
    let safety = SubmissionQuery {
        form_id: Some("safety".into()),
        ..SubmissionQuery::default()
    };
    assert_eq!(ids(&all(storage, safety)), [rosa.to_string()]);

    phone.store.delete_submission(&rosa).unwrap();
    storage
        .write_documents("p", &[phone.write(&rosa)], None)
        .unwrap();
    assert_eq!(
        ids(&all(storage, SubmissionQuery::default())),
        [luis.to_string()]
    );
    let with_deleted = all(
        storage,
        SubmissionQuery {
            include_deleted: true,
            ..SubmissionQuery::default()
        },
    );
    assert_eq!(with_deleted.len(), 2);
    assert_eq!(
        with_deleted[0].id,
        rosa.to_string(),
        "the deletion is its newest change"
    );
    assert_eq!(
        with_deleted[0].review_state, "has_issues",
        "kept across writes"
    );
    assert_eq!(
        storage
            .submission_row("p", &rosa.to_string())
            .unwrap()
            .as_ref(),
        Some(&with_deleted[0])
    );
}

pub fn a_conflict_between_two_phones_is_flagged_until_settled(storage: &dyn HubStorage) {
    let (ana, ben) = (Phone::new("dev", "ana"), Phone::new("dev-2", "ben"));
    let id = ana.fill("safety", "Rosa");
    storage
        .write_documents("p", &[ana.write(&id)], None)
        .unwrap();
    ben.store
        .import_submission(&ana.store.export_submission(&id).unwrap())
        .unwrap();
    let name = AnswerPath::new("who");
    ana.store
        .set_answer(&id, &name, &Value::Text("Rosa".into()))
        .unwrap();
    ben.store
        .set_answer(&id, &name, &Value::Text("Rosa María".into()))
        .unwrap();
    storage
        .write_documents("p", &[ana.write(&id), ben.write(&id)], None)
        .unwrap();
    let conflicted = SubmissionQuery {
        conflicted_only: true,
        ..SubmissionQuery::default()
    };
    assert_eq!(ids(&all(storage, conflicted.clone())), [id.to_string()]);
    let merged = storage
        .document("p", &id.to_string())
        .unwrap()
        .unwrap()
        .bytes;
    let signed = storage
        .change_signatures("p", &id.to_string(), None)
        .unwrap();
    let merged = minga_sync::wire::seal_signed_document(&merged, &signed);
    ben.store.import_submission(&merged).unwrap();
    ben.store
        .resolve_conflict(&id, &name, &Value::Text("Rosa".into()))
        .unwrap();
    storage
        .write_documents("p", &[ben.write(&id)], None)
        .unwrap();
    assert!(all(storage, conflicted).is_empty(), "settled");
}

pub fn listings_page_by_the_last_change(storage: &dyn HubStorage) {
    let phone = Phone::new("dev", "ana");
    for n in 0..5 {
        let id = phone.fill("safety", &format!("n{n}"));
        storage
            .write_documents("p", &[phone.write(&id)], None)
            .unwrap();
    }
    let everything = ids(&all(storage, SubmissionQuery::default()));
    let mut paged = Vec::new();
    let mut query = SubmissionQuery {
        limit: 2,
        ..SubmissionQuery::default()
    };
    loop {
        let page = storage.submissions("p", &query).unwrap();
        query.after = page.last().map(|r| (r.updated_at, r.id.clone()));
        paged.extend(ids(&page));
        if page.len() < 2 {
            break;
        }
    }
    assert_eq!(paged, everything);
    assert_eq!(everything.len(), 5);
    let versions = {
        storage
            .publish_form("p", &minga_forms::templates::stakeholder_dialogue())
            .unwrap();
        storage.form_versions("p").unwrap()
    };
    assert_eq!(versions.len(), 1);
    assert_eq!(versions[0].submissions, 0, "no submission of that form");
}

pub fn a_device_keeps_its_last_sync(storage: &dyn HubStorage) {
    storage
        .create_enrolment(&NewEnrolment {
            lookup: "LAST".into(),
            secret_hash: "h".into(),
            project: "p".into(),
            role: crate::access::Role::Facilitator,
            device_name: "Ana".into(),
            expires_at: Utc::now() + chrono::Duration::minutes(5),
        })
        .unwrap();
    let accept = |_: &EnrolmentState| EnrolDecision::Accept;
    storage
        .redeem_enrolment("LAST", &accept, "dev-9", "t")
        .unwrap();
    assert_eq!(storage.devices(Some("p")).unwrap()[0].last_sync_at, None);
    let at = chrono::DateTime::parse_from_rfc3339("2026-03-14T09:26:53Z")
        .unwrap()
        .to_utc();
    storage.record_sync("dev-9", at).unwrap();
    assert_eq!(
        storage.devices(Some("p")).unwrap()[0].last_sync_at,
        Some(at)
    );
}

fn province_is(province: &str) -> SubmissionQuery {
    SubmissionQuery {
        answers: vec![("province".into(), province.into())],
        ..SubmissionQuery::default()
    }
}

pub fn the_listing_filters_by_a_select_answer_kept_as_answers_change(storage: &dyn HubStorage) {
    let phone = Phone::new("dev", "ana");
    let rosa = phone.fill_answers("safety", "Rosa", "imbabura", &["dark"], 40);
    let luis = phone.fill_answers("safety", "Luis", "pichincha", &["dark", "robbery"], 30);
    storage
        .write_documents("p", &[phone.write(&rosa), phone.write(&luis)], None)
        .unwrap();
    assert_eq!(
        ids(&all(storage, province_is("imbabura"))),
        [rosa.to_string()]
    );
    let robbery = SubmissionQuery {
        answers: vec![("fears".into(), "robbery".into())],
        ..SubmissionQuery::default()
    };
    assert_eq!(
        ids(&all(storage, robbery)),
        [luis.to_string()],
        "a ticked option"
    );
    let both = SubmissionQuery {
        answers: vec![
            ("province".into(), "pichincha".into()),
            ("fears".into(), "dark".into()),
        ],
        ..SubmissionQuery::default()
    };
    assert_eq!(ids(&all(storage, both)), [luis.to_string()]);

    // Rosa moves to Pichincha: her rows follow; a change elsewhere leaves them as they are.
    phone
        .store
        .set_answer(
            &rosa,
            &AnswerPath::new("province"),
            &Value::Choice("pichincha".into()),
        )
        .unwrap();
    phone
        .store
        .set_instance_name(&rosa, Some("Rosa Q."))
        .unwrap();
    storage
        .write_documents("p", &[phone.write(&rosa)], None)
        .unwrap();
    assert!(all(storage, province_is("imbabura")).is_empty());
    assert_eq!(
        ids(&all(storage, province_is("pichincha"))),
        [rosa.to_string(), luis.to_string()]
    );
    phone.store.set_instance_name(&rosa, Some("Rosa")).unwrap();
    storage
        .write_documents("p", &[phone.write(&rosa)], None)
        .unwrap();
    assert_eq!(all(storage, province_is("pichincha")).len(), 2, "kept");

    // A deleted submission matches no answer filter and counts in no indicator.
    phone.store.delete_submission(&luis).unwrap();
    storage
        .write_documents("p", &[phone.write(&luis)], None)
        .unwrap();
    let with_deleted = SubmissionQuery {
        include_deleted: true,
        ..province_is("pichincha")
    };
    assert_eq!(ids(&all(storage, with_deleted)), [rosa.to_string()]);
}

pub fn an_indicator_counts_answers_per_group_over_a_date_range(storage: &dyn HubStorage) {
    let phone = Phone::new("dev", "ana");
    let writes: Vec<DocumentWrite> = [
        ("imbabura", &["dark"][..], 40),
        ("imbabura", &["dark", "robbery"][..], 20),
        ("pichincha", &["robbery"][..], 33),
        ("pichincha", &[][..], 51),
    ]
    .iter()
    .enumerate()
    .map(|(n, (province, fears, age))| {
        let id = phone.fill_answers("safety", &format!("n{n}"), province, fears, *age);
        phone.write(&id)
    })
    .collect();
    let other_form = phone.fill_answers("dialogue", "x", "imbabura", &["dark"], 9);
    storage.write_documents("p", &writes, None).unwrap();
    storage
        .write_documents("p", &[phone.write(&other_form)], None)
        .unwrap();
    let fears = IndicatorQuery {
        form_id: "safety".into(),
        question: "fears".into(),
        group: "province".into(),
        by_value: true,
        ..IndicatorQuery::default()
    };
    let indicator = storage.indicator("p", &fears).unwrap();
    let groups = [("imbabura".to_string(), 2), ("pichincha".to_string(), 2)];
    assert_eq!(indicator.groups, groups);
    let cells: Vec<(&str, Option<&str>, i64)> = indicator
        .cells
        .iter()
        .map(|c| (c.group.as_str(), c.value.as_deref(), c.count))
        .collect();
    assert_eq!(
        cells,
        [
            ("imbabura", Some("dark"), 2),
            ("imbabura", Some("robbery"), 1),
            ("pichincha", Some("robbery"), 1),
        ]
    );
    let ages = storage
        .indicator(
            "p",
            &IndicatorQuery {
                question: "age".into(),
                by_value: false,
                ..fears.clone()
            },
        )
        .unwrap();
    /// Group, answered, sum, least, greatest.
    type Summed<'a> = (&'a str, i64, Option<f64>, Option<f64>, Option<f64>);
    let sums: Vec<Summed> = ages
        .cells
        .iter()
        .map(|c| (c.group.as_str(), c.count, c.sum, c.min, c.max))
        .collect();
    assert_eq!(
        sums,
        [
            ("imbabura", 2, Some(60.0), Some(20.0), Some(40.0)),
            ("pichincha", 2, Some(84.0), Some(33.0), Some(51.0)),
        ]
    );
    let tomorrow = Utc::now() + chrono::Duration::days(1);
    let around_now = IndicatorQuery {
        from: Some(Utc::now() - chrono::Duration::days(1)),
        before: Some(tomorrow),
        ..fears.clone()
    };
    assert_eq!(storage.indicator("p", &around_now).unwrap(), indicator);
    let later = IndicatorQuery {
        from: Some(tomorrow),
        ..fears
    };
    assert_eq!(
        storage.indicator("p", &later).unwrap(),
        Indicator::default()
    );
}

pub fn the_map_reads_located_submissions_with_their_colouring_answer(storage: &dyn HubStorage) {
    let phone = Phone::new("dev", "ana");
    let rosa = phone.fill_answers("safety", "Rosa", "imbabura", &["dark"], 40);
    let luis = phone.fill("dialogue", "Luis");
    storage
        .write_documents("p", &[phone.write(&rosa), phone.write(&luis)], None)
        .unwrap();
    let coloured = LocatedQuery {
        colour: Some("province".into()),
        ..LocatedQuery::default()
    };
    let mut points = storage.located("p", &coloured).unwrap();
    points.sort_by(|a, b| a.name.cmp(&b.name));
    let seen: Vec<(Option<&str>, f64, f64, Option<&str>)> = points
        .iter()
        .map(|p| {
            (
                p.name.as_deref(),
                p.latitude,
                p.longitude,
                p.value.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (Some("Luis"), 0.35, -78.12, None),
            (Some("Rosa"), 0.35, -78.12, Some("imbabura")),
        ]
    );
    let safety = LocatedQuery {
        form_id: Some("safety".into()),
        ..coloured.clone()
    };
    assert_eq!(storage.located("p", &safety).unwrap().len(), 1);
    let elsewhere = LocatedQuery {
        within: Some(Bounds {
            west: -80.0,
            south: -3.0,
            east: -79.0,
            north: -2.0,
        }),
        ..coloured
    };
    assert!(storage.located("p", &elsewhere).unwrap().is_empty());

    assert_eq!(storage.map_outline("p").unwrap(), None);
    storage
        .set_map_outline("p", "{\"type\":\"Polygon\"}")
        .unwrap();
    storage.set_map_outline("p", "{}").unwrap();
    assert_eq!(
        storage.map_outline("p").unwrap().as_deref(),
        Some("{}"),
        "replaced"
    );
}

/// What an upgrade test stores before taking the database back to the earlier schema: a
/// submission with a review. Returns the submission.
pub fn store_before_upgrade(storage: &dyn HubStorage) -> DocId {
    let phone = Phone::new("dev", "ana");
    let id = phone.fill("safety", "Rosa");
    storage
        .write_documents(
            "p",
            &[phone.write(&id), review_write(&id, ReviewState::Rejected)],
            None,
        )
        .unwrap();
    id
}

/// What an answers upgrade test stores before taking the database back: a submission in
/// Imbabura. Returns it.
pub fn store_answered(storage: &dyn HubStorage) -> DocId {
    let phone = Phone::new("dev", "ana");
    let id = phone.fill_answers("safety", "Rosa", "imbabura", &["dark"], 40);
    storage
        .write_documents("p", &[phone.write(&id)], None)
        .unwrap();
    id
}

/// After the upgrade: the submission's answers are there for the filters.
pub fn check_answers_after_upgrade(storage: &dyn HubStorage, id: &DocId) {
    assert_eq!(
        ids(&all(storage, province_is("imbabura"))),
        [id.to_string()]
    );
}

/// After the upgrade: the submission has its row, with its review's state.
pub fn check_after_upgrade(storage: &dyn HubStorage, id: &DocId) {
    let rows = all(storage, SubmissionQuery::default());
    assert_eq!(ids(&rows), [id.to_string()]);
    assert_eq!(rows[0].instance_name.as_deref(), Some("Rosa"));
    assert_eq!(rows[0].review_state, "rejected");
    assert_eq!(storage.devices(None).unwrap().len(), 0);
}
