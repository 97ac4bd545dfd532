//! The hub's projection of submissions: what a listing, a filter or the console reads of each
//! submission (form, version, submitter, times, status, review state, instance name, deletion,
//! place, conflicts, why it breaks its form version) without loading its document. Written by the one write path
//! (`txn::write_one`) from the merged document it already holds, in the write's transaction.
//!
//! Conflicts are judged from what a write changed, not by walking every answer on every write
//! (a walk cost ingest about a third of its throughput): a new document written by one actor
//! cannot hold one; a stored document without one gains one only where the merge's diff shows
//! a conflicted slot, and only then (or when it had one) is the document walked.

use automerge::{
    Automerge, ChangeHash, ObjId, ObjType, Patch, PatchAction, ReadDoc, ScalarValue, ROOT,
};
use chrono::{DateTime, Utc};
use minga_forms::check::InvalidAnswer;
use serde::Serialize;

/// The review state of a submission no supervisor has judged yet (the core's
/// `ReviewState::Received`, which a new review document starts in).
pub const AWAITING_REVIEW: &str = "received";

/// What the projection keeps of one submission, read from its document.
#[derive(Debug, Clone, PartialEq)]
pub struct SubmissionFacts {
    pub form_id: String,
    pub form_version: String,
    /// `meta.created_by`: the person who started it, as the device named her.
    pub submitter: String,
    pub created_at: DateTime<Utc>,
    pub status: String,
    pub instance_name: Option<String>,
    pub deleted: bool,
    /// Latitude and longitude of the first top-level geopoint answer (by name).
    pub location: Option<(f64, f64)>,
    pub has_conflicts: bool,
    /// Why its answers break its form version, as kept ([`minga_forms::check::encode_reasons`],
    /// checked at ingest by `storage::invalid`); `None` when they fit or the version is not
    /// published here.
    pub invalid_reasons: Option<String>,
}

/// One row of the projection as listings read it, with the author device's name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubmissionRow {
    pub id: String,
    pub form_id: String,
    pub form_version: String,
    /// The device that first sent it to the hub.
    pub author: Option<String>,
    /// That device's name, when it is enrolled here.
    pub author_name: Option<String>,
    pub submitter: String,
    pub created_at: DateTime<Utc>,
    /// When the hub last stored a change to it.
    pub updated_at: DateTime<Utc>,
    pub status: String,
    pub review_state: String,
    pub instance_name: Option<String>,
    pub deleted: bool,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub has_conflicts: bool,
    /// Flagged as invalid on arrival: its answers break its form version (kept, not refused).
    pub invalid: bool,
    /// Why, each naming the question and the reason; empty when not flagged.
    pub invalid_reasons: Vec<InvalidAnswer>,
}

/// Which rows a listing shows, newest change first. The default: every submission not deleted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SubmissionQuery {
    pub form_id: Option<String>,
    pub status: Option<String>,
    pub review_state: Option<String>,
    /// Only submissions holding a conflict.
    pub conflicted_only: bool,
    /// Only submissions flagged as invalid on arrival (a partial index holds them).
    pub invalid_only: bool,
    pub include_deleted: bool,
    /// Start after this row (`updated_at`, `id`) of the previous page.
    pub after: Option<(DateTime<Utc>, String)>,
    pub limit: usize,
    /// Only submissions first sent by this device (by id).
    pub author: Option<String>,
    /// Only submissions last changed at or after this time ...
    pub updated_from: Option<DateTime<Utc>>,
    /// ... and before this one.
    pub updated_before: Option<DateTime<Utc>>,
    /// Only submissions whose instance name or submitter holds this text (any case). No index
    /// serves it: it filters the rows the walk of the other filters' index reads.
    pub text: Option<String>,
    /// Oldest change first (the same index, walked the other way).
    pub oldest_first: bool,
    /// Only submissions answering each of these questions with its value (a select's option):
    /// one primary-key probe of the answer rows per row the walk reads
    /// ([`answers::answered_condition`](super::answers::answered_condition)).
    pub answers: Vec<(String, String)>,
}

/// A published form version with how many submissions of it the hub holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FormVersionRow {
    pub form_id: String,
    pub version: String,
    pub published_at: DateTime<Utc>,
    /// Submissions of this version, deleted ones included.
    pub submissions: i64,
}

/// A value the listing SQL binds: each backend writes times its own way.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlArg {
    Text(String),
    Time(DateTime<Utc>),
    Int(i64),
    Float(f64),
}

/// The SELECT of a listing page for `query` in `project`, with placeholders written by
/// `placeholder` (SQLite `?N`, PostgreSQL `$N`) and the values to bind in order. Each filter
/// is an equality on an indexed column, so a page is an index range scan of `limit` rows.
pub fn listing_sql(
    project: &str,
    query: &SubmissionQuery,
    placeholder: fn(usize) -> String,
) -> (String, Vec<SqlArg>) {
    let mut args = vec![SqlArg::Text(project.into())];
    let mut conditions = vec![format!("s.project = {}", placeholder(1))];
    let mut equal = |column: &str, value: &Option<String>, args: &mut Vec<SqlArg>| {
        if let Some(value) = value {
            args.push(SqlArg::Text(value.clone()));
            conditions.push(format!("s.{column} = {}", placeholder(args.len())));
        }
    };
    equal("form_id", &query.form_id, &mut args);
    equal("status", &query.status, &mut args);
    equal("review_state", &query.review_state, &mut args);
    equal("author", &query.author, &mut args);
    let mut bound = |operator: &str, time: &Option<DateTime<Utc>>, args: &mut Vec<SqlArg>| {
        if let Some(time) = time {
            args.push(SqlArg::Time(*time));
            conditions.push(format!(
                "s.updated_at {operator} {}",
                placeholder(args.len())
            ));
        }
    };
    bound(">=", &query.updated_from, &mut args);
    bound("<", &query.updated_before, &mut args);
    if let Some(text) = &query.text {
        args.push(SqlArg::Text(like_pattern(text)));
        let pattern = placeholder(args.len());
        conditions.push(format!(
            "(LOWER(COALESCE(s.instance_name, '')) LIKE {pattern} ESCAPE '\\' \
             OR LOWER(s.submitter) LIKE {pattern} ESCAPE '\\')"
        ));
    }
    for (question, value) in &query.answers {
        args.push(SqlArg::Text(question.clone()));
        args.push(SqlArg::Text(value.clone()));
        let first = args.len() - 1;
        conditions.push(super::answers::answered_condition(placeholder, first));
    }
    if query.conflicted_only {
        conditions.push("s.has_conflicts".into());
    }
    if query.invalid_only {
        conditions.push("s.invalid_reasons IS NOT NULL".into());
    }
    if !query.include_deleted {
        conditions.push("NOT s.deleted".into());
    }
    let (past, order) = match query.oldest_first {
        false => ("<", "DESC"),
        true => (">", "ASC"),
    };
    if let Some((updated_at, id)) = &query.after {
        args.push(SqlArg::Time(*updated_at));
        let time = placeholder(args.len());
        args.push(SqlArg::Text(id.clone()));
        let id = placeholder(args.len());
        conditions.push(format!(
            "(s.updated_at {past} {time} OR (s.updated_at = {time} AND s.id {past} {id}))"
        ));
    }
    args.push(SqlArg::Int(i64::try_from(query.limit).unwrap_or(i64::MAX)));
    let sql = format!(
        "{ROWS} WHERE {} ORDER BY s.updated_at {order}, s.id {order} LIMIT {}",
        conditions.join(" AND "),
        placeholder(args.len())
    );
    (sql, args)
}

/// `text` lower-cased as a LIKE pattern matching it anywhere, its own `%`, `_` and `\\`
/// escaped.
fn like_pattern(text: &str) -> String {
    let mut pattern = String::from("%");
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// The SELECT of [`SubmissionRow`]s, columns in its fields' order; the caller adds the WHERE.
const ROWS: &str = "SELECT s.id, s.form_id, s.form_version, s.author, d.name, s.submitter,
    s.created_at, s.updated_at, s.status, s.review_state, s.instance_name, s.deleted,
    s.latitude, s.longitude, s.has_conflicts, s.invalid_reasons
    FROM submissions s LEFT JOIN devices d ON d.id = s.author";

/// The projection's indexes, the same on both backends: one per filter, each ending with the
/// listing's order (last change, then id), so that a filtered page newest first is an index
/// range scan with no sort. Each costs every ingested submission one more B-tree insert, so
/// there is none for what only the command line asks (`form list` counts a version's rows
/// through `submissions_by_form`).
pub const INDEXES: &str = "
CREATE INDEX submissions_by_update ON submissions (project, updated_at, id);
CREATE INDEX submissions_by_form ON submissions (project, form_id, updated_at, id);
CREATE INDEX submissions_by_status ON submissions (project, status, updated_at, id);
CREATE INDEX submissions_by_review ON submissions (project, review_state, updated_at, id);
CREATE INDEX submissions_by_author ON submissions (project, author, updated_at, id);
CREATE INDEX submissions_with_conflicts ON submissions (project, updated_at, id)
    WHERE has_conflicts;
";

/// The statement that writes a row (new, or replacing all but its review state) from 16
/// values in this order: project, id, form id, form version, author, submitter, created,
/// updated, status, review state, instance name, deleted, latitude, longitude, has conflicts,
/// invalid reasons. Built once per backend (see the backends' `UPSERT`).
pub fn upsert_sql(placeholder: fn(usize) -> String) -> String {
    let p: Vec<String> = (1..=16).map(placeholder).collect();
    format!(
        "INSERT INTO submissions (project, id, form_id, form_version, author, submitter,
             created_at, updated_at, status, review_state, instance_name, deleted, latitude,
             longitude, has_conflicts, invalid_reasons)
         VALUES ({})
         ON CONFLICT (project, id) DO UPDATE SET form_id = {}, form_version = {}, author = {},
             submitter = {}, created_at = {}, updated_at = {}, status = {}, instance_name = {},
             deleted = {}, latitude = {}, longitude = {}, has_conflicts = {},
             invalid_reasons = {}",
        p.join(", "),
        p[2],
        p[3],
        p[4],
        p[5],
        p[6],
        p[7],
        p[8],
        p[10],
        p[11],
        p[12],
        p[13],
        p[14],
        p[15]
    )
}

/// Version 9 of the SQLite schema, 8 of PostgreSQL's (issue "Form fidelity"): why a
/// submission breaks its form version, checked at ingest (`storage::invalid`) ...
pub const INVALID_COLUMN: &str = "ALTER TABLE submissions ADD COLUMN invalid_reasons TEXT;";

/// ... and the partial index of the flagged rows that the console's "flagged as invalid on
/// arrival" filter walks. Both backends' steps add the column only where it is missing: the
/// projection's first step, which fills rows in this build's shape, adds them too.
pub const INVALID_INDEX: &str = "
CREATE INDEX IF NOT EXISTS submissions_flagged_invalid ON submissions (project, updated_at, id)
    WHERE invalid_reasons IS NOT NULL;
";

/// The SELECT of one submission's row by project (first placeholder) and id (second).
pub fn row_by_id_sql(placeholder: fn(usize) -> String) -> String {
    format!(
        "{ROWS} WHERE s.project = {} AND s.id = {}",
        placeholder(1),
        placeholder(2)
    )
}

/// The projection's facts of a submission document; `None` when it is not (yet) a whole
/// submission (no `meta` with form, version, creator and time). Cost: a few map lookups, and
/// the conflict judgement of [`has_conflicts`].
pub fn submission_facts(doc: &Automerge, has_conflicts: bool) -> Option<SubmissionFacts> {
    let meta = object_at(doc, &ROOT, "meta")?;
    Some(SubmissionFacts {
        form_id: string_at(doc, &meta, "form_id")?,
        form_version: string_at(doc, &meta, "form_version")?,
        submitter: string_at(doc, &meta, "created_by")?,
        created_at: time_at(doc, &meta, "created_at")?,
        status: string_at(doc, &ROOT, "status").unwrap_or_else(|| "draft".into()),
        instance_name: string_at(doc, &meta, "instance_name"),
        deleted: time_at(doc, &ROOT, "deleted_at").is_some(),
        location: first_location(doc),
        has_conflicts,
        invalid_reasons: None,
    })
}

/// The state a review document holds (`received` when unset or unknown to this hub).
pub fn review_state(doc: &Automerge) -> String {
    match string_at(doc, &ROOT, "state") {
        Some(state) if minga_core::ReviewState::parse(&state).is_some() => state,
        _ => AWAITING_REVIEW.into(),
    }
}

/// What a write changed of a submission: the patches from the stored document to the merged
/// one (none for a new document), and whether the projection holds a row of it.
pub struct WriteChanges {
    patches: Option<Vec<Patch>>,
    known: bool,
}

impl WriteChanges {
    /// The changes of a write that moved `doc` from `before` (its heads when stored; empty for
    /// a new document), `known` saying whether the projection holds a row of it. Cost: the
    /// diff of what the write added, for a stored document.
    pub fn of(doc: &Automerge, before: &[ChangeHash], known: bool) -> WriteChanges {
        WriteChanges {
            patches: (!before.is_empty()).then(|| doc.diff(before, &doc.get_heads())),
            known,
        }
    }

    /// Whether the submission's answer rows must be written again: it is new to the
    /// projection, or the write touched its answers, their types or its deletion.
    pub fn touch_answers(&self) -> bool {
        match (&self.patches, self.known) {
            (Some(patches), true) => patches.iter().any(super::answers::touches_answers),
            _ => true,
        }
    }
}

/// Whether the submission `doc` holds a conflict after a write of `changes`, given whether it
/// held one before. Cost: for the common write (one actor, or a diff showing no conflicted
/// slot) nothing more than the diff; a walk of the answers only when a conflict was or may be
/// there.
pub fn has_conflicts(doc: &Automerge, changes: &WriteChanges, had_conflicts: bool) -> bool {
    let walk = || minga_core::document_has_conflicts(minga_core::DocKind::Submission, doc);
    if had_conflicts {
        return walk();
    }
    let Some(patches) = &changes.patches else {
        return !one_actor(doc) && walk();
    };
    let touched_conflict = patches.iter().any(|patch| {
        matches!(
            patch.action,
            PatchAction::PutMap { conflict: true, .. }
                | PatchAction::PutSeq { conflict: true, .. }
                | PatchAction::Conflict { .. }
        )
    });
    touched_conflict && walk()
}

/// Whether every change of `doc` comes from one actor, whose changes are ordered and so can
/// never be concurrent. Cost: reading the changes' metadata, not their operations.
fn one_actor(doc: &Automerge) -> bool {
    let changes = doc.get_changes_meta(&[]);
    let mut actors = changes.iter().map(|change| &change.actor);
    let first = actors.next();
    actors.all(|actor| Some(actor) == first)
}

/// The first top-level geopoint answer by name, as `types` marks them; `None` if there is none
/// or it lacks a number.
fn first_location(doc: &Automerge) -> Option<(f64, f64)> {
    let types = object_at(doc, &ROOT, "types")?;
    let answers = object_at(doc, &ROOT, "answers")?;
    let mut geopoints: Vec<String> = doc
        .keys(&types)
        .filter(|name| string_at(doc, &types, name.as_str()).as_deref() == Some("geopoint"))
        .collect();
    geopoints.sort();
    geopoints.iter().find_map(|name| {
        let point = object_at(doc, &answers, name.as_str())?;
        Some((
            number_at(doc, &point, "latitude")?,
            number_at(doc, &point, "longitude")?,
        ))
    })
}

pub fn object_at(doc: &Automerge, parent: &ObjId, key: &str) -> Option<ObjId> {
    match doc.get(parent, key).ok()?? {
        (automerge::Value::Object(_), id) => Some(id),
        _ => None,
    }
}

/// A string scalar, or a Text object (what JavaScript writes for a plain string).
pub fn string_at(doc: &Automerge, parent: &ObjId, key: &str) -> Option<String> {
    match doc.get(parent, key).ok()?? {
        (automerge::Value::Scalar(s), _) => match s.as_ref() {
            ScalarValue::Str(text) => Some(text.to_string()),
            _ => None,
        },
        (automerge::Value::Object(ObjType::Text), text) => doc.text(&text).ok(),
        _ => None,
    }
}

fn scalar_at(doc: &Automerge, parent: &ObjId, key: &str) -> Option<ScalarValue> {
    match doc.get(parent, key).ok()?? {
        (automerge::Value::Scalar(s), _) => Some(s.into_owned()),
        _ => None,
    }
}

fn time_at(doc: &Automerge, parent: &ObjId, key: &str) -> Option<DateTime<Utc>> {
    match scalar_at(doc, parent, key)? {
        ScalarValue::Timestamp(ms) | ScalarValue::Int(ms) => DateTime::from_timestamp_millis(ms),
        _ => None,
    }
}

fn number_at(doc: &Automerge, parent: &ObjId, key: &str) -> Option<f64> {
    match scalar_at(doc, parent, key)? {
        ScalarValue::F64(number) => Some(number),
        ScalarValue::Int(number) => Some(number as f64),
        ScalarValue::Uint(number) => Some(number as f64),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use minga_core::{
        AnswerPath, DeviceIdentity, Encryption, FormRef, GeoPoint, Status, Store, Value,
    };

    fn store(dir: &tempfile::TempDir, device: &str, user: &str) -> Store {
        let path = dir.path().join(format!("{device}.db"));
        Store::open(
            path,
            Encryption::PlainFile,
            DeviceIdentity::new(device, user),
        )
        .unwrap()
    }

    fn loaded(store: &Store, id: &minga_core::DocId) -> Automerge {
        Automerge::load(&store.document_bytes(id).unwrap()).unwrap()
    }

    fn point(latitude: f64, longitude: f64) -> Value {
        Value::GeoPoint(GeoPoint {
            latitude,
            longitude,
            altitude: None,
            accuracy: None,
        })
    }

    #[test]
    fn the_facts_are_read_from_the_submission_as_a_phone_wrote_it() {
        let dir = tempfile::tempdir().unwrap();
        let phone = store(&dir, "phone-1", "ana");
        let id = phone
            .create_submission(&FormRef::new("safety", "2"))
            .unwrap();
        phone
            .set_answer(&id, &AnswerPath::new("z_place"), &point(9.0, 9.0))
            .unwrap();
        phone
            .set_answer(&id, &AnswerPath::new("a_place"), &point(0.35, -78.12))
            .unwrap();
        phone.set_status(&id, Status::Complete).unwrap();
        phone.set_instance_name(&id, Some("Rosa, Ibarra")).unwrap();
        let facts = submission_facts(&loaded(&phone, &id), false).unwrap();
        assert_eq!(
            (facts.form_id.as_str(), facts.form_version.as_str()),
            ("safety", "2")
        );
        assert_eq!(facts.submitter, "ana");
        assert_eq!(facts.status, "complete");
        assert_eq!(facts.instance_name.as_deref(), Some("Rosa, Ibarra"));
        assert_eq!(facts.location, Some((0.35, -78.12)), "the first by name");
        assert!(!facts.deleted);
        phone.delete_submission(&id).unwrap();
        assert!(
            submission_facts(&loaded(&phone, &id), false)
                .unwrap()
                .deleted
        );
    }

    #[test]
    fn a_document_without_meta_has_no_facts() {
        let mut doc = automerge::AutoCommit::new();
        automerge::transaction::Transactable::put(&mut doc, ROOT, "status", "draft").unwrap();
        assert_eq!(submission_facts(doc.document(), false), None);
    }

    #[test]
    fn a_conflict_is_seen_when_it_arrives_and_gone_when_settled() {
        let dir = tempfile::tempdir().unwrap();
        let (ana, ben) = (store(&dir, "phone-1", "ana"), store(&dir, "phone-2", "ben"));
        let id = ana.create_submission(&FormRef::new("f", "1")).unwrap();
        let name = AnswerPath::new("name");
        ana.set_answer(&id, &name, &Value::Text("Rosa".into()))
            .unwrap();
        let first = loaded(&ana, &id);
        assert!(
            !has_conflicts(&first, &WriteChanges::of(&first, &[], false), false),
            "one actor"
        );
        ben.import_submission(&ana.export_submission(&id).unwrap())
            .unwrap();
        ben.set_answer(&id, &name, &Value::Text("Rosa María".into()))
            .unwrap();
        ana.set_answer(&id, &AnswerPath::new("age"), &Value::Integer(40))
            .unwrap();
        let mut merged = loaded(&ana, &id);
        let before = merged.get_heads();
        assert!(
            !has_conflicts(&merged, &WriteChanges::of(&merged, &before, true), false),
            "no new change"
        );
        merged
            .load_incremental(&ben.document_bytes(&id).unwrap())
            .unwrap();
        assert!(
            !has_conflicts(&merged, &WriteChanges::of(&merged, &before, true), false),
            "different answers do not conflict"
        );
        ana.set_answer(&id, &name, &Value::Text("Rosa Q.".into()))
            .unwrap();
        let ana_doc = loaded(&ana, &id);
        let before = merged.get_heads();
        merged.load_incremental(&ana_doc.save()).unwrap();
        assert!(
            has_conflicts(&merged, &WriteChanges::of(&merged, &before, true), false),
            "both edited name"
        );
        assert!(
            has_conflicts(&merged, &WriteChanges::of(&merged, &[], false), false),
            "new, from two actors"
        );
        let signed = ana.change_signatures(&id).unwrap();
        ben.import_submission(&minga_sync::wire::seal_signed_document(
            &merged.save(),
            &signed,
        ))
        .unwrap();
        ben.resolve_conflict(&id, &name, &Value::Text("Rosa".into()))
            .unwrap();
        let before = merged.get_heads();
        merged
            .load_incremental(&ben.document_bytes(&id).unwrap())
            .unwrap();
        assert!(
            !has_conflicts(&merged, &WriteChanges::of(&merged, &before, true), true),
            "settled"
        );
    }
}
