//! Small builders for the engine's tests: forms written as compact JSON.

use crate::model::Form;
use serde_json::{json, Value as Json};

/// A question: `name`, its type (`integer`, `select_one:list`...), and extra columns.
pub(crate) fn question(name: &str, kind: &str, columns: Json) -> Json {
    let kind = match kind.split_once(':') {
        Some((base, list)) => json!({"base": base, "list": list}),
        None => json!({"base": kind}),
    };
    let mut item = json!({"kind": "question", "name": name, "type": kind});
    merge(&mut item, columns);
    item
}

pub(crate) fn group(name: &str, columns: Json, children: Vec<Json>) -> Json {
    let mut item = json!({"kind": "group", "name": name, "children": children});
    merge(&mut item, columns);
    item
}

pub(crate) fn repeat(name: &str, columns: Json, children: Vec<Json>) -> Json {
    let mut item = json!({"kind": "repeat", "name": name, "children": children});
    merge(&mut item, columns);
    item
}

fn merge(item: &mut Json, columns: Json) {
    if let (Some(item), Json::Object(columns)) = (item.as_object_mut(), columns) {
        item.extend(columns);
    }
}

/// A form with `survey` and the choice lists `choices` (`{"list": [{"name": …, "extra": {…}}]}`).
pub(crate) fn form(survey: Vec<Json>, choices: Json) -> Form {
    let form = json!({
        "id": "test", "version": "1", "title": {"default": "Test"},
        "default_language": "English (en)", "languages": ["English (en)", "Español (es)"],
        "instance_name": null, "survey": survey, "choices": choices,
    });
    serde_json::from_value(form).expect("a well-formed test form")
}

/// A fixed context: English, 2024-03-15 10:30 at UTC-5.
pub(crate) fn context() -> crate::eval::Context {
    crate::eval::Context {
        language: Some("English (en)".into()),
        now: chrono::DateTime::parse_from_rfc3339("2024-03-15T10:30:00-05:00")
            .expect("a valid date-time"),
        device_id: "device-1".into(),
        user_name: "ana".into(),
    }
}

/// Opens a session over `form` with the given top-level answers.
pub(crate) fn session(
    form: &Form,
    answers: &[(&str, crate::value::Value)],
) -> crate::eval::FormSession {
    let compiled = crate::eval::compile(form).unwrap_or_else(|e| panic!("{e:?}"));
    let mut stored = crate::answers::Answers::default();
    for (name, value) in answers {
        stored.fields.insert(
            name.to_string(),
            crate::answers::Answer::Value(value.clone()),
        );
    }
    crate::eval::FormSession::new(std::sync::Arc::new(compiled), stored, context())
}

/// The value of `expression` as a calculation, in a form with the questions `t` (text), `n`
/// (integer), `d` (decimal), `s` (select_multiple) and `day` (date), answered as given.
pub(crate) fn evaluate(
    expression: &str,
    answers: &[(&str, crate::value::Value)],
) -> crate::eval::Scalar {
    let survey = vec![
        question("t", "text", json!({})),
        question("n", "integer", json!({})),
        question("d", "decimal", json!({})),
        question("s", "select_multiple:colours", json!({})),
        question("day", "date", json!({})),
        question("result", "calculate", json!({"calculation": expression})),
    ];
    let choices = json!({"colours": [
        {"name": "red", "label": {"English (en)": "Red", "Español (es)": "Rojo"}},
        {"name": "blue", "label": {"English (en)": "Blue"}},
    ]});
    let session = session(&form(survey, choices), answers);
    session
        .item(&crate::eval::ItemPath::top("result"))
        .expect("the result item")
        .value
        .clone()
}
