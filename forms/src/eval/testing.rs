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
