//! Whether an answer fits its form: the one checker the store, the hub and its console call, a
//! pure function of the form version and the submission's answers. It refuses a question the
//! form does not have, a value of another type than the question's, and a choice outside the
//! question's list or outside what its `choice_filter` leaves given the other answers; and it
//! lists what blocks completing (required answers missing, broken constraints).

use crate::answers::{AnswerKeys, Answers};
use crate::eval::{compile, Context, FormSession, Issue, ItemPath};
use crate::model::{Form, Item, Question, QuestionType};
use crate::value::Value;
use std::collections::HashMap;
use std::sync::Arc;

mod submission;
pub use submission::{decode_reasons, encode_reasons, CheckerCache, FormChecker};

/// Why an answer does not fit its form, naming the question (its answer key) and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[error("{question}: {reason}")]
pub struct InvalidAnswer {
    pub question: String,
    pub reason: String,
}

/// Checks `value` as the answer at `path` of a submission of `form` whose answers are
/// `answers` (only read for a question with a `choice_filter`: see [`needs_answers`]).
/// Cost: one walk over the form; with a `choice_filter`, compiling the form and evaluating
/// the answers once.
pub fn check_answer(
    form: &Form,
    answers: &Answers,
    path: &ItemPath,
    value: &Value,
) -> Result<(), InvalidAnswer> {
    let refuse = |reason: String| InvalidAnswer {
        question: path.name.clone(),
        reason,
    };
    let question = locate(form, &index(form), path).map_err(refuse)?;
    fits(form, question, value).map_err(refuse)?;
    if !filter_checked(question) {
        return Ok(());
    }
    let left = filtered_choices(form, answers, path).unwrap_or_default();
    among_left(value, &left).map_err(refuse)
}

/// The question `path` names, inside the repeats its instances name (what a caller needs of
/// it before storing an answer, such as a photo's `max-pixels`). Cost: one walk over the form.
pub fn question_at<'f>(form: &'f Form, path: &ItemPath) -> Result<&'f Question, InvalidAnswer> {
    locate(form, &index(form), path).map_err(|reason| InvalidAnswer {
        question: path.name.clone(),
        reason,
    })
}

/// Whether checking an answer at `path` reads the other answers (its question has a
/// `choice_filter`), so that a caller reads them only then. Cost: one walk over the form.
pub fn needs_answers(form: &Form, path: &ItemPath) -> bool {
    locate(form, &index(form), path).is_ok_and(filter_checked)
}

/// What blocks completing a submission of `form` with `answers`: every shown required question
/// without an answer and every shown answer that breaks its constraint, each as
/// `InvalidAnswer`; empty when it may be completed. Cost: compiling the form and evaluating
/// the answers once.
pub fn completion_blockers(form: &Form, answers: &Answers, context: Context) -> Vec<InvalidAnswer> {
    session(form, answers, context)
        .map(|session| blockers(&session))
        .unwrap_or_default()
}

/// What blocks completing, as the session over the answers sees it.
fn blockers(session: &FormSession) -> Vec<InvalidAnswer> {
    session
        .problems()
        .into_iter()
        .map(|issue| match issue {
            Issue::Missing { path, message } => InvalidAnswer {
                question: path.to_string(),
                reason: format!("required: {message}"),
            },
            Issue::Constraint { path, message } => InvalidAnswer {
                question: path.to_string(),
                reason: format!("constraint: {message}"),
            },
        })
        .collect()
}

/// Every item of a form by its answer key, with the keys of the repeats it is inside
/// (outermost first). Cost: one walk over the form.
type Index<'f> = HashMap<String, (&'f Item, Vec<String>)>;

fn index(form: &Form) -> Index<'_> {
    fn walk<'f>(
        items: &'f [Item],
        keys: &AnswerKeys,
        parents: &mut Vec<&'f str>,
        repeats: &mut Vec<String>,
        found: &mut Index<'f>,
    ) {
        for item in items {
            let (name, children, is_repeat) = match item {
                Item::Question(q) => (q.name.as_str(), None, false),
                Item::Group(g) => (g.name.as_str(), Some(&g.children), false),
                Item::Repeat(r) => (r.name.as_str(), Some(&r.children), true),
            };
            let key = keys.key(parents, name);
            // The first item keeps a key, as a form's own lookups do.
            found
                .entry(key.clone())
                .or_insert_with(|| (item, repeats.clone()));
            if let Some(children) = children {
                parents.push(name);
                if is_repeat {
                    repeats.push(key);
                }
                walk(children, keys, parents, repeats, found);
                if is_repeat {
                    repeats.pop();
                }
                parents.pop();
            }
        }
    }
    let mut found = HashMap::new();
    let keys = AnswerKeys::of(form);
    walk(
        &form.survey,
        &keys,
        &mut Vec::new(),
        &mut Vec::new(),
        &mut found,
    );
    found
}

/// The question `path` names, inside the repeats its instances name; `Err` says why there is
/// none.
fn locate<'f>(form: &Form, index: &Index<'f>, path: &ItemPath) -> Result<&'f Question, String> {
    let repeats: Vec<&str> = path.instances.iter().map(|s| s.repeat.as_str()).collect();
    match index.get(&path.name) {
        None => Err(format!(
            "form {} version {} has no question {}",
            form.id, form.version, path.name
        )),
        Some((Item::Question(q), chain)) if *chain == repeats => Ok(q),
        Some((Item::Question(_), chain)) => Err(format!(
            "the question is inside the repeats [{}], not [{}]",
            chain.join(", "),
            repeats.join(", ")
        )),
        Some(_) => Err("a group or a repeat holds no value".into()),
    }
}

/// Whether `value` fits `question` without looking at other answers: a sound value, of the
/// question's type, and a choice (or every choice of several) in its list.
fn fits(form: &Form, question: &Question, value: &Value) -> Result<(), String> {
    value.check().map_err(|problem| problem.reason)?;
    if !type_fits(&question.kind, value) {
        return Err(format!(
            "a {} question cannot hold {}",
            type_name(&question.kind),
            describe(value)
        ));
    }
    in_list(form, question, value)
}

/// Whether a question of type `kind` can hold `value`. Types whose value Minga does not model
/// closely (calculations, hidden values, geotraces kept as text) take any value.
fn type_fits(kind: &QuestionType, value: &Value) -> bool {
    use QuestionType as Q;
    match kind {
        Q::Text | Q::Barcode | Q::Acknowledge | Q::Trigger | Q::Note => {
            matches!(value, Value::Text(_))
        }
        Q::DeviceId | Q::Username | Q::SubscriberId | Q::SimSerial | Q::PhoneNumber | Q::Email => {
            matches!(value, Value::Text(_))
        }
        Q::Integer => matches!(value, Value::Integer(_)),
        Q::Decimal | Q::Range => matches!(value, Value::Integer(_) | Value::Decimal(_)),
        Q::SelectOne(_) | Q::SelectOneFromFile(_) | Q::SelectOneExternal(_) => {
            matches!(value, Value::Choice(_))
        }
        Q::SelectMultiple(_) | Q::SelectMultipleFromFile(_) | Q::Rank(_) => {
            matches!(value, Value::Choices(_))
        }
        Q::Date | Q::Today => matches!(value, Value::Date(_)),
        Q::Time => matches!(value, Value::Time(_)),
        Q::DateTime | Q::Start | Q::End => matches!(value, Value::DateTime(_)),
        Q::GeoPoint | Q::StartGeopoint => matches!(value, Value::GeoPoint(_)),
        Q::Image | Q::Audio | Q::Video | Q::File | Q::Audit | Q::BackgroundAudio => {
            matches!(value, Value::Attachment(_))
        }
        Q::XmlExternal | Q::CsvExternal => false,
        Q::Calculate | Q::Hidden | Q::GeoTrace | Q::GeoShape | Q::Osm(_) => true,
        Q::BackgroundGeopoint => true,
    }
}

/// A choice (or every choice of several) must be in the question's list. Lists from files
/// are not held by the form: not checked here.
fn in_list(form: &Form, question: &Question, value: &Value) -> Result<(), String> {
    let list = match &question.kind {
        QuestionType::SelectOne(list)
        | QuestionType::SelectMultiple(list)
        | QuestionType::Rank(list) => list,
        _ => return Ok(()),
    };
    let options = form.choices.get(list).map(Vec::as_slice).unwrap_or(&[]);
    match chosen(value)
        .into_iter()
        .find(|name| !options.iter().any(|c| c.name.as_str() == name.as_str()))
    {
        Some(stray) => Err(format!("{stray} is not a choice of the list {list}")),
        None => Ok(()),
    }
}

/// Whether what `question`'s `choice_filter` leaves is checked: only over a list the form
/// holds. A list from a file (`select_one_from_file`, external) is the form version's media,
/// which a checker is not given (the hub compiles forms without it), so neither its options
/// nor its filter are checked here, as [`in_list`] does not check its options.
fn filter_checked(question: &Question) -> bool {
    question.choice_filter.is_some()
        && matches!(
            question.kind,
            QuestionType::SelectOne(_) | QuestionType::SelectMultiple(_) | QuestionType::Rank(_)
        )
}

/// A choice (or every choice of several) must be among `left`, what the question's
/// `choice_filter` leaves.
fn among_left(value: &Value, left: &[String]) -> Result<(), String> {
    match chosen(value).into_iter().find(|name| !left.contains(*name)) {
        Some(stray) => Err(format!(
            "{stray} is not among the choices its filter leaves ({})",
            left.join(", ")
        )),
        None => Ok(()),
    }
}

/// The choices a value names: one, several, or none for a value that is no choice.
fn chosen(value: &Value) -> Vec<&String> {
    match value {
        Value::Choice(name) => vec![name],
        Value::Choices(names) => names.iter().collect(),
        _ => Vec::new(),
    }
}

/// The choices the question at `path` offers given `answers`, after its `choice_filter`.
fn filtered_choices(form: &Form, answers: &Answers, path: &ItemPath) -> Option<Vec<String>> {
    let session = session(form, answers, checking_context())?;
    session.item(path)?.choices.clone()
}

/// A session over `answers`, or `None` for a form that does not compile (published forms do).
fn session(form: &Form, answers: &Answers, context: Context) -> Option<FormSession> {
    let compiled = Arc::new(compile(form).ok()?);
    Some(FormSession::new(compiled, answers.clone(), context))
}

/// A context for checking: the time is now; labels and device do not matter to a check.
pub fn checking_context() -> Context {
    Context {
        language: None,
        now: chrono::Utc::now().fixed_offset(),
        device_id: String::new(),
        user_name: String::new(),
    }
}

fn type_name(kind: &QuestionType) -> String {
    let json = serde_json::to_value(kind).unwrap_or_default();
    json.get("base")
        .and_then(|b| b.as_str())
        .unwrap_or("?")
        .to_string()
}

fn describe(value: &Value) -> String {
    let json = serde_json::to_value(value).unwrap_or_default();
    let kind = json.get("type").and_then(|t| t.as_str()).unwrap_or("?");
    match json.get("value") {
        Some(inner) => format!("the {kind} {inner}"),
        None => format!("a {kind}"),
    }
}

#[cfg(test)]
mod tests;
