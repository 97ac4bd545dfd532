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
use std::collections::{BTreeMap, HashMap};
use std::iter::Peekable;

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
/// submission S answer Q with V); the index serves indicators (a form's answers to Q over a
/// date range, in creation order), covering what they read of it (value, id) so that the walk
/// reads no row ([`question_rows_sql`]).
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

/// One answer row as an indicator reads it: the submission's creation time (as the backend
/// keeps it: SQLite's microseconds, PostgreSQL's `timestamptz`), its id and the value.
#[derive(Debug, Clone, PartialEq)]
pub struct TimedAnswer<T> {
    pub created: T,
    pub id: String,
    pub value: String,
}

/// The SELECT of one question's answer rows of the query's form created in its date range,
/// oldest first: (created, id, value). A range of `submission_answers_by_question` that
/// covers what it reads and already holds the order, so nothing is sorted or probed.
pub fn question_rows_sql(
    project: &str,
    query: &IndicatorQuery,
    question: &str,
    placeholder: fn(usize) -> String,
) -> (String, Vec<SqlArg>) {
    let mut args = vec![
        SqlArg::Text(project.into()),
        SqlArg::Text(query.form_id.clone()),
        SqlArg::Text(question.into()),
    ];
    let mut range = String::new();
    for (operator, time) in [(">=", query.from), ("<", query.before)] {
        if let Some(time) = time {
            args.push(SqlArg::Time(time));
            range.push_str(&format!(
                " AND created_at {operator} {}",
                placeholder(args.len())
            ));
        }
    }
    let sql = format!(
        "SELECT created_at, id, value FROM submission_answers \
         WHERE project = {} AND form_id = {} AND question = {}{range} ORDER BY created_at",
        placeholder(1),
        placeholder(2),
        placeholder(3)
    );
    (sql, args)
}

/// Counts an indicator from the rows of its group question and of its counted question, each
/// oldest first ([`question_rows_sql`]). The rows of one submission share its creation time,
/// so both are walked together one creation time at a time (mostly one submission) and joined
/// by id within it: the database reads two index ranges in order instead of probing the
/// counted answer of every submission by key (a probe per submission cost 757 ms at 100,000).
/// Cost: one pass over each; memory: one creation time's rows and the cells.
pub fn count_indicator<T: Ord + Clone, E>(
    groups: impl Iterator<Item = Result<TimedAnswer<T>, E>>,
    answers: impl Iterator<Item = Result<TimedAnswer<T>, E>>,
    by_value: bool,
) -> Result<Indicator, E> {
    let (mut groups, mut answers) = (groups.peekable(), answers.peekable());
    let mut tally = Tally::new(by_value);
    // One creation time's rows of each, the buffers kept from one time to the next.
    let (mut grouped, mut answered) = (Vec::new(), Vec::new());
    loop {
        let at = match (next_time(&mut groups)?, next_time(&mut answers)?) {
            (None, _) => break,
            (Some(group), None) => group,
            (Some(group), Some(answer)) => group.min(answer),
        };
        take_at(&mut groups, &at, &mut grouped)?;
        take_at(&mut answers, &at, &mut answered)?;
        tally.add(&grouped, &answered);
    }
    Ok(tally.into_indicator())
}

/// The creation time of the next row of `rows`; its error if it is one.
fn next_time<T: Clone, E, I>(rows: &mut Peekable<I>) -> Result<Option<T>, E>
where
    I: Iterator<Item = Result<TimedAnswer<T>, E>>,
{
    if let Some(Err(_)) = rows.peek() {
        if let Some(Err(error)) = rows.next() {
            return Err(error);
        }
    }
    Ok(rows
        .peek()
        .and_then(|row| row.as_ref().ok())
        .map(|row| row.created.clone()))
}

/// Puts into `taken` (emptied first) the rows at the front of `rows` created at `at`, taken
/// off it.
fn take_at<T: Ord, E, I>(
    rows: &mut Peekable<I>,
    at: &T,
    taken: &mut Vec<TimedAnswer<T>>,
) -> Result<(), E>
where
    I: Iterator<Item = Result<TimedAnswer<T>, E>>,
{
    taken.clear();
    while let Some(row) = rows.next_if(|row| row.as_ref().map_or(true, |r| r.created == *at)) {
        taken.push(row?);
    }
    Ok(())
}

/// An indicator being counted: each group's submissions, and per group and counted value (all
/// of a number's rows under one empty value) what its answers add up to. Values are numbered
/// as they are first met, so that counting a row is indexing, not a lookup by text.
struct Tally {
    by_value: bool,
    groups: Numbering,
    values: Numbering,
    /// Per group number: its submissions, and its cells by value number.
    sizes: Vec<i64>,
    cells: Vec<Vec<Sums>>,
}

/// What one cell's answers add up to: how many, and their numbers' sum, least and greatest.
#[derive(Debug, Default, Clone)]
struct Sums {
    count: i64,
    numbers: Option<(f64, f64, f64)>,
}

/// Texts numbered in the order they are met; the last one found is tried first (rows of one
/// value tend to come together).
#[derive(Default)]
struct Numbering {
    names: Vec<String>,
    numbers: BTreeMap<String, usize>,
    last: usize,
}

impl Numbering {
    fn number(&mut self, name: &str) -> usize {
        if self.names.get(self.last).is_some_and(|last| last == name) {
            return self.last;
        }
        self.last = match self.numbers.get(name) {
            Some(number) => *number,
            None => {
                self.names.push(name.to_string());
                self.numbers.insert(name.to_string(), self.names.len() - 1);
                self.names.len() - 1
            }
        };
        self.last
    }
}

impl Tally {
    fn new(by_value: bool) -> Tally {
        Tally {
            by_value,
            groups: Numbering::default(),
            values: Numbering::default(),
            sizes: Vec::new(),
            cells: Vec::new(),
        }
    }

    /// Counts the rows of one creation time: each group row, and under it each answer of the
    /// same submission.
    fn add<T>(&mut self, grouped: &[TimedAnswer<T>], answered: &[TimedAnswer<T>]) {
        for group in grouped {
            let g = self.groups.number(&group.value);
            if g == self.sizes.len() {
                self.sizes.push(0);
                self.cells.push(Vec::new());
            }
            self.sizes[g] += 1;
            for answer in answered.iter().filter(|a| a.id == group.id) {
                let value = if self.by_value { &answer.value } else { "" };
                let v = self.values.number(value);
                let cells = &mut self.cells[g];
                if v >= cells.len() {
                    cells.resize(v + 1, Sums::default());
                }
                cells[v].count += 1;
                if !self.by_value {
                    cells[v].add_number(&answer.value);
                }
            }
        }
    }

    /// The indicator, groups and cells ordered by group, then value.
    fn into_indicator(self) -> Indicator {
        let (groups, values) = (&self.groups.names, &self.values.names);
        let mut cells: Vec<IndicatorCell> = self
            .cells
            .iter()
            .enumerate()
            .flat_map(|(g, row)| {
                let counted = row.iter().enumerate().filter(|(_, sums)| sums.count > 0);
                counted.map(move |(v, sums)| IndicatorCell {
                    group: groups[g].clone(),
                    value: self.by_value.then(|| values[v].clone()),
                    count: sums.count,
                    sum: sums.numbers.map(|n| n.0),
                    min: sums.numbers.map(|n| n.1),
                    max: sums.numbers.map(|n| n.2),
                })
            })
            .collect();
        cells.sort_by(|a, b| (&a.group, &a.value).cmp(&(&b.group, &b.value)));
        let mut sized: Vec<(String, i64)> = groups.iter().cloned().zip(self.sizes).collect();
        sized.sort();
        Indicator {
            groups: sized,
            cells,
        }
    }
}

impl Sums {
    /// Adds a numeric answer, kept as text in its row ([`number_row`] writes Rust's shortest
    /// form of the number, which reads back as the same `f64`).
    fn add_number(&mut self, value: &str) {
        let Ok(number) = value.parse::<f64>() else {
            return;
        };
        self.numbers = Some(match self.numbers {
            None => (number, number, number),
            Some((sum, least, greatest)) => (sum + number, least.min(number), greatest.max(number)),
        });
    }
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

    fn timed(created: i64, id: &str, value: &str) -> Result<TimedAnswer<i64>, String> {
        Ok(TimedAnswer {
            created,
            id: id.into(),
            value: value.into(),
        })
    }

    fn summed(
        group: &str,
        value: Option<&str>,
        count: i64,
        sums: Option<(f64, f64, f64)>,
    ) -> IndicatorCell {
        IndicatorCell {
            group: group.into(),
            value: value.map(String::from),
            count,
            sum: sums.map(|s| s.0),
            min: sums.map(|s| s.1),
            max: sums.map(|s| s.2),
        }
    }

    #[test]
    fn answers_join_their_own_submission_even_where_creation_times_are_shared() {
        let groups = [
            timed(10, "a", "imbabura"),
            timed(10, "b", "pichincha"),
            timed(20, "c", "imbabura"),
        ];
        let answers = [
            timed(5, "z", "dark"),
            timed(10, "a", "dark"),
            timed(10, "a", "robbery"),
            timed(10, "b", "robbery"),
            timed(30, "d", "dark"),
        ];
        let indicator = count_indicator(groups.into_iter(), answers.into_iter(), true).unwrap();
        let sizes = [("imbabura".to_string(), 2), ("pichincha".to_string(), 1)];
        assert_eq!(indicator.groups, sizes, "c counts in its group unanswered");
        assert_eq!(
            indicator.cells,
            [
                summed("imbabura", Some("dark"), 1, None),
                summed("imbabura", Some("robbery"), 1, None),
                summed("pichincha", Some("robbery"), 1, None),
            ],
            "z and d have no group"
        );
    }

    #[test]
    fn a_number_is_summed_with_its_least_and_greatest_per_group() {
        let groups = [
            timed(1, "a", "imbabura"),
            timed(2, "b", "imbabura"),
            timed(3, "c", "pichincha"),
        ];
        let ages = [
            timed(1, "a", "40"),
            timed(2, "b", "2.5"),
            timed(3, "c", "7"),
        ];
        let indicator = count_indicator(groups.into_iter(), ages.into_iter(), false).unwrap();
        assert_eq!(
            indicator.cells,
            [
                summed("imbabura", None, 2, Some((42.5, 2.5, 40.0))),
                summed("pichincha", None, 1, Some((7.0, 7.0, 7.0))),
            ]
        );
    }

    #[test]
    fn a_failed_read_of_either_question_fails_the_indicator() {
        let broken = || [timed(1, "a", "imbabura"), Err("disk".to_string())];
        let fine = || [timed(1, "a", "dark")];
        let failed = count_indicator(broken().into_iter(), fine().into_iter(), true);
        assert_eq!(failed, Err("disk".to_string()));
        let failed = count_indicator(fine().into_iter(), broken().into_iter(), true);
        assert_eq!(failed, Err("disk".to_string()));
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
