//! The answers of each submission that the console's filters, indicators and map read, kept in
//! the hub's projection (table `submission_answers`) so that they are read through an index,
//! never by loading documents: every top-level select_one answer, every ticked option of a
//! top-level select_multiple answer (a row each), and every top-level number.
//!
//! Ingest stays cheap: a new submission's rows are written once; a stored one's are replaced
//! only when the merge's diff touched its answers, their types or its deletion (the diff the
//! conflict judgement reads already). A deleted submission keeps no rows: it counts in no
//! indicator and matches no answer filter. Each row carries the submission's form and creation
//! time (neither changes), so an indicator is a range scan of one index per question.

use super::projection::{object_at, SqlArg};
use automerge::{
    Automerge, ObjType, Patch, PatchAction, Prop, ReadDoc, ScalarValueRef, ValueRef, ROOT,
};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// One answer as the projection keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct AnswerRow {
    /// The question's name (top level of the form).
    pub question: String,
    /// The chosen option's name, or the number as text.
    pub value: String,
    /// The number, for a numeric answer.
    pub number: Option<f64>,
}

/// The root keys whose changes can change a submission's answer rows.
const WATCHED: [&str; 3] = ["answers", "types", "deleted_at"];

/// Whether `patch` changed a submission's answers, their types or its deletion.
pub fn touches_answers(patch: &Patch) -> bool {
    let watched = |prop: &Prop| matches!(prop, Prop::Map(key) if WATCHED.contains(&key.as_str()));
    if let Some((parent, prop)) = patch.path.first() {
        return *parent == ROOT && watched(prop);
    }
    match &patch.action {
        PatchAction::PutMap { key, .. } | PatchAction::DeleteMap { key } => {
            WATCHED.contains(&key.as_str())
        }
        _ => false,
    }
}

/// The rows of `doc`'s answers; none when it is deleted. Cost: one pass over the types map
/// and one over the top-level answers (reading each entry as the pass yields it: a lookup per
/// answer cost ingest a quarter of its throughput), and a pass over each ticked option map.
pub fn answer_rows(doc: &Automerge, deleted: bool) -> Vec<AnswerRow> {
    let Some(answers) = object_at(doc, &ROOT, "answers").filter(|_| !deleted) else {
        return Vec::new();
    };
    let tags = type_tags(doc);
    let mut rows = Vec::new();
    for item in doc.map_range(&answers, ..) {
        let question = item.key.as_ref();
        match (tags.get(question).map(String::as_str), &item.value) {
            (Some("select_one"), ValueRef::Scalar(ScalarValueRef::Str(value))) => {
                rows.push(AnswerRow {
                    question: question.to_string(),
                    value: value.to_string(),
                    number: None,
                })
            }
            (Some("select_one"), ValueRef::Object(ObjType::Text)) => {
                if let Ok(value) = doc.text(item.id()) {
                    rows.push(AnswerRow {
                        question: question.to_string(),
                        value,
                        number: None,
                    });
                }
            }
            (Some("select_multiple"), ValueRef::Object(ObjType::Map)) => {
                rows.extend(doc.keys(item.id()).map(|value| AnswerRow {
                    question: question.to_string(),
                    value,
                    number: None,
                }))
            }
            (None, ValueRef::Scalar(scalar)) => rows.extend(number_row(question, scalar)),
            _ => {}
        }
    }
    rows
}

/// The `types` map's entries (answer name to tag), read in one pass.
fn type_tags(doc: &Automerge) -> HashMap<String, String> {
    let Some(types) = object_at(doc, &ROOT, "types") else {
        return HashMap::new();
    };
    doc.map_range(&types, ..)
        .filter_map(|item| match item.value {
            ValueRef::Scalar(ScalarValueRef::Str(tag)) => {
                Some((item.key.into_owned(), tag.into_owned()))
            }
            _ => None,
        })
        .collect()
}

/// The row of a numeric answer (an integer or a decimal written as a number).
fn number_row(question: &str, scalar: &ScalarValueRef<'_>) -> Option<AnswerRow> {
    let (value, number) = match scalar {
        ScalarValueRef::Int(n) => (n.to_string(), *n as f64),
        ScalarValueRef::Uint(n) => (n.to_string(), *n as f64),
        ScalarValueRef::F64(n) if n.is_finite() => (n.to_string(), *n),
        _ => return None,
    };
    Some(AnswerRow {
        question: question.to_string(),
        value,
        number: Some(number),
    })
}

/// The table and its index, the same on both backends but for the creation time's and the
/// number's types (SQLite keeps microseconds as an integer, PostgreSQL a `timestamptz`) and
/// `table_options` (SQLite's `WITHOUT ROWID`: the primary key is then the table itself, so a
/// probe by key reads the row at once). The primary key serves the table's filter (does
/// submission S answer Q with V) and the indicators' probe of each submission's answer; the
/// index serves indicators (a form's answers to Q over a date range), covering what they read
/// of it (value, id) so that the walk reads no row.
pub fn table_sql(created_type: &str, number_type: &str, table_options: &str) -> String {
    format!(
        "CREATE TABLE submission_answers (
            project TEXT NOT NULL,
            id TEXT NOT NULL,
            question TEXT NOT NULL,
            value TEXT NOT NULL,
            number {number_type},
            form_id TEXT NOT NULL,
            created_at {created_type} NOT NULL,
            PRIMARY KEY (project, id, question, value)
        ){table_options};
        CREATE INDEX submission_answers_by_question
            ON submission_answers (project, form_id, question, created_at, value, id);"
    )
}

/// The statement that removes a submission's rows (project, id).
pub fn delete_sql(placeholder: fn(usize) -> String) -> String {
    format!(
        "DELETE FROM submission_answers WHERE project = {} AND id = {}",
        placeholder(1),
        placeholder(2)
    )
}

/// The statement that adds one row: project, id, question, value, number, form id, created.
pub fn insert_sql(placeholder: fn(usize) -> String) -> String {
    let p: Vec<String> = (1..=7).map(placeholder).collect();
    format!(
        "INSERT INTO submission_answers
             (project, id, question, value, number, form_id, created_at)
         VALUES ({}) ON CONFLICT DO NOTHING",
        p.join(", ")
    )
}

/// The condition a listing adds for "answers `question` with `value`", its two placeholders
/// numbered from `first`. Cost: one primary-key probe per row the listing's index walk reads.
pub fn answered_condition(placeholder: fn(usize) -> String, first: usize) -> String {
    format!(
        "EXISTS (SELECT 1 FROM submission_answers a WHERE a.project = s.project AND a.id = s.id \
         AND a.question = {} AND a.value = {})",
        placeholder(first),
        placeholder(first + 1)
    )
}

/// What an indicator counts: a form's answers to `question`, grouped by the answers to
/// `group` of the same submissions, created in [`from`, `before`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IndicatorQuery {
    pub form_id: String,
    pub question: String,
    pub group: String,
    pub from: Option<DateTime<Utc>>,
    pub before: Option<DateTime<Utc>>,
    /// Count per value of `question` (a select); otherwise sum up its numbers per group.
    pub by_value: bool,
}

/// One cell of an indicator: within group `group`, the submissions answering `value` (or,
/// for a number, all answering), with the sum, least and greatest of their numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct IndicatorCell {
    pub group: String,
    pub value: Option<String>,
    pub count: i64,
    pub sum: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// An indicator: the submissions of each group (answering the question or not), and the cells.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Indicator {
    pub groups: Vec<(String, i64)>,
    pub cells: Vec<IndicatorCell>,
}

/// The number columns of a select's cells: none, typed as numbers for PostgreSQL's sake.
const NO_NUMBERS: &str = "CAST(NULL AS DOUBLE PRECISION), CAST(NULL AS DOUBLE PRECISION), \
    CAST(NULL AS DOUBLE PRECISION)";

/// The two SELECTs of an indicator with their arguments: the groups' sizes (group, count),
/// then the cells (group, value or NULL, count, sum, min, max), both by group. Each reads the
/// index of the group question's rows over the date range; the cells probe each row's
/// submission for its answer to the question by primary key. Cost: linear in the form's
/// submissions in the range, no document loaded.
pub fn indicator_sql(
    project: &str,
    query: &IndicatorQuery,
    placeholder: fn(usize) -> String,
) -> ((String, Vec<SqlArg>), (String, Vec<SqlArg>)) {
    let mut args = vec![
        SqlArg::Text(project.into()),
        SqlArg::Text(query.form_id.clone()),
        SqlArg::Text(query.group.clone()),
    ];
    let mut range = String::new();
    for (operator, time) in [(">=", query.from), ("<", query.before)] {
        if let Some(time) = time {
            args.push(SqlArg::Time(time));
            range.push_str(&format!(
                " AND g.created_at {operator} {}",
                placeholder(args.len())
            ));
        }
    }
    let groups_where = format!(
        "g.project = {} AND g.form_id = {} AND g.question = {}{range}",
        placeholder(1),
        placeholder(2),
        placeholder(3)
    );
    let groups = format!(
        "SELECT g.value, COUNT(*) FROM submission_answers g WHERE {groups_where} \
         GROUP BY g.value ORDER BY g.value"
    );
    let mut cell_args = args.clone();
    cell_args.push(SqlArg::Text(query.question.clone()));
    let question = placeholder(cell_args.len());
    // A select's cells read only the key of each probed row; a number's read its number.
    let (value, numbers, by) = match query.by_value {
        true => ("q.value", NO_NUMBERS, "g.value, q.value"),
        false => (
            "NULL",
            "SUM(q.number), MIN(q.number), MAX(q.number)",
            "g.value",
        ),
    };
    let cells = format!(
        "SELECT g.value, {value}, COUNT(*), {numbers} \
         FROM submission_answers g JOIN submission_answers q \
         ON q.project = g.project AND q.id = g.id AND q.question = {question} \
         WHERE {groups_where} GROUP BY {by} ORDER BY {by}"
    );
    ((groups, args), (cells, cell_args))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::projection::WriteChanges;
    use minga_core::{AnswerPath, DeviceIdentity, Encryption, FormRef, Store, Value};

    fn phone(dir: &tempfile::TempDir) -> Store {
        Store::open(
            dir.path().join("phone.db"),
            Encryption::PlainFile,
            DeviceIdentity::new("phone-1", "ana"),
        )
        .unwrap()
    }

    fn loaded(store: &Store, id: &minga_core::DocId) -> Automerge {
        Automerge::load(&store.document_bytes(id).unwrap()).unwrap()
    }

    fn row(question: &str, value: &str, number: Option<f64>) -> AnswerRow {
        AnswerRow {
            question: question.into(),
            value: value.into(),
            number,
        }
    }

    #[test]
    fn selects_ticked_options_and_numbers_are_kept_and_text_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let store = phone(&dir);
        let id = store.create_submission(&FormRef::new("f", "1")).unwrap();
        let set = |name: &str, value: Value| {
            store
                .set_answer(&id, &AnswerPath::new(name), &value)
                .unwrap()
        };
        set("province", Value::Choice("imbabura".into()));
        set(
            "fears",
            Value::Choices(["dark".to_string(), "robbery".to_string()].into()),
        );
        set("age", Value::Integer(41));
        set("score", Value::Decimal(2.5));
        set("name", Value::Text("Rosa".into()));
        let mut rows = answer_rows(&loaded(&store, &id), false);
        rows.sort_by(|a, b| (&a.question, &a.value).cmp(&(&b.question, &b.value)));
        assert_eq!(
            rows,
            [
                row("age", "41", Some(41.0)),
                row("fears", "dark", None),
                row("fears", "robbery", None),
                row("province", "imbabura", None),
                row("score", "2.5", Some(2.5)),
            ]
        );
        assert!(answer_rows(&loaded(&store, &id), true).is_empty());
    }

    #[test]
    fn only_a_write_touching_answers_or_deletion_refreshes_the_rows() {
        let dir = tempfile::tempdir().unwrap();
        let store = phone(&dir);
        let id = store.create_submission(&FormRef::new("f", "1")).unwrap();
        let stored = loaded(&store, &id);
        let heads = stored.get_heads();
        assert!(
            WriteChanges::of(&stored, &heads, false).touch_answers(),
            "no row yet"
        );
        store.set_instance_name(&id, Some("Rosa")).unwrap();
        let renamed = loaded(&store, &id);
        assert!(!WriteChanges::of(&renamed, &heads, true).touch_answers());
        let heads = renamed.get_heads();
        store
            .set_answer(&id, &AnswerPath::new("age"), &Value::Integer(3))
            .unwrap();
        assert!(WriteChanges::of(&loaded(&store, &id), &heads, true).touch_answers());
        let heads = loaded(&store, &id).get_heads();
        store.delete_submission(&id).unwrap();
        assert!(WriteChanges::of(&loaded(&store, &id), &heads, true).touch_answers());
    }
}
