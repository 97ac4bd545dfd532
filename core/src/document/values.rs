//! Typed answers to automerge values and back. Scalars stay single values (concurrent edits
//! keep one winner and the rest as a conflict); a `select_multiple` answer is a map of option
//! to `true` edited key by key, so two people ticking different boxes both count; geopoints and
//! attachments are small maps replaced whole, so one reading never mixes with another.

use super::repeats;
use crate::error::{Error, Result};
use crate::fields::{map_at, number_at, object_at, string_at};
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ReadDoc, ScalarValue, Value as AmValue, ROOT};
use chrono::{DateTime, NaiveDate, NaiveTime};
use minga_forms::{Answer, Answers, Attachment, GeoPoint, RepeatInstance, Value};
use std::collections::{BTreeSet, HashMap};

const DATE_FORMAT: &str = "%Y-%m-%d";
const TIME_FORMAT: &str = "%H:%M:%S%.f";

/// Whether a write merges with what is there (ticking boxes) or replaces every concurrent
/// value (settling a conflict).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriteMode {
    Merge,
    Replace,
}

/// The `types` entry a value needs to be read back as itself; `None` for what reads back
/// unaided (text, integers, decimals).
fn type_tag(value: &Value) -> Option<&'static str> {
    match value {
        Value::Text(_) | Value::Integer(_) | Value::Decimal(_) => None,
        Value::Choice(_) => Some("select_one"),
        Value::Choices(_) => Some("select_multiple"),
        Value::Date(_) => Some("date"),
        Value::Time(_) => Some("time"),
        Value::DateTime(_) => Some("dateTime"),
        Value::GeoPoint(_) => Some(GEOPOINT),
        Value::Attachment(_) => Some("attachment"),
    }
}

/// Writes `value` under `name` in the map `level`. Every local write of an answer comes here,
/// so a value no question can hold ([`Value::check`]) is refused here, before anything is
/// written; sync merges automerge changes and never passes through.
pub(crate) fn write_value(
    doc: &mut AutoCommit,
    level: &ObjId,
    name: &str,
    value: &Value,
    mode: WriteMode,
) -> Result<()> {
    value.check().map_err(|problem| Error::InvalidAnswer {
        question: name.to_string(),
        reason: problem.reason,
    })?;
    write_type_tag(doc, name, type_tag(value))?;
    match value {
        Value::Text(text) => doc.put(level, name, text.as_str())?,
        Value::Integer(number) => doc.put(level, name, *number)?,
        Value::Decimal(number) => doc.put(level, name, *number)?,
        Value::Choice(option) => doc.put(level, name, option.as_str())?,
        Value::Date(date) => doc.put(level, name, date.format(DATE_FORMAT).to_string())?,
        Value::Time(time) => doc.put(level, name, time.format(TIME_FORMAT).to_string())?,
        Value::DateTime(moment) => doc.put(level, name, moment.to_rfc3339())?,
        Value::Choices(options) => write_choices(doc, level, name, options, mode)?,
        Value::GeoPoint(point) => write_geopoint(doc, level, name, point)?,
        Value::Attachment(file) => write_attachment(doc, level, name, file)?,
    }
    Ok(())
}

/// Writes long text as an automerge Text object, edited as a diff against what is there so
/// that two people editing notes merge character by character. Costs far more than a string.
pub(crate) fn write_long_text(
    doc: &mut AutoCommit,
    level: &ObjId,
    name: &str,
    text: &str,
) -> Result<()> {
    write_type_tag(doc, name, None)?;
    let existing =
        object_at(doc, level, name).filter(|obj| matches!(doc.object_type(obj), Ok(ObjType::Text)));
    let target = match existing {
        Some(text_obj) => text_obj,
        None => doc.put_object(level, name, ObjType::Text)?,
    };
    doc.update_text(&target, text)?;
    Ok(())
}

/// Records (or removes) the type tag for `name`, writing only when it changes. A tag is never
/// removed on clearing an answer: the type of a name is fixed by its form.
fn write_type_tag(doc: &mut AutoCommit, name: &str, tag: Option<&str>) -> Result<()> {
    let types = map_at(doc, &ROOT, "types")?;
    let current = string_at(doc, &types, name);
    match (current.as_deref(), tag) {
        (current, Some(tag)) if current != Some(tag) => doc.put(&types, name, tag)?,
        (Some(_), None) => doc.delete(&types, name)?,
        _ => {}
    }
    Ok(())
}

fn write_choices(
    doc: &mut AutoCommit,
    level: &ObjId,
    name: &str,
    options: &BTreeSet<String>,
    mode: WriteMode,
) -> Result<()> {
    let existing =
        object_at(doc, level, name).filter(|obj| matches!(doc.object_type(obj), Ok(ObjType::Map)));
    let map = match (existing, mode) {
        (Some(map), WriteMode::Merge) => map,
        _ => doc.put_object(level, name, ObjType::Map)?,
    };
    let ticked: Vec<String> = doc.keys(&map).collect();
    for option in ticked.iter().filter(|option| !options.contains(*option)) {
        doc.delete(&map, option.as_str())?;
    }
    for option in options.iter().filter(|option| !ticked.contains(option)) {
        doc.put(&map, option.as_str(), true)?;
    }
    Ok(())
}

fn write_geopoint(doc: &mut AutoCommit, level: &ObjId, name: &str, point: &GeoPoint) -> Result<()> {
    let map = doc.put_object(level, name, ObjType::Map)?;
    doc.put(&map, "latitude", point.latitude)?;
    doc.put(&map, "longitude", point.longitude)?;
    if let Some(altitude) = point.altitude {
        doc.put(&map, "altitude", altitude)?;
    }
    if let Some(accuracy) = point.accuracy {
        doc.put(&map, "accuracy", accuracy)?;
    }
    Ok(())
}

fn write_attachment(
    doc: &mut AutoCommit,
    level: &ObjId,
    name: &str,
    file: &Attachment,
) -> Result<()> {
    let map = doc.put_object(level, name, ObjType::Map)?;
    doc.put(&map, "sha256", file.sha256.as_str())?;
    doc.put(&map, "media_type", file.media_type.as_str())?;
    doc.put(&map, "file_name", file.file_name.as_str())?;
    Ok(())
}

/// The type tag of geopoint answers, which the list projection's location is read from.
pub(crate) const GEOPOINT: &str = "geopoint";

/// Whether answers named `name` are tagged as geopoints. Cost: two map lookups.
pub(crate) fn is_geopoint(doc: &AutoCommit, name: &str) -> bool {
    object_at(doc, &ROOT, "types")
        .and_then(|types| string_at(doc, &types, name))
        .is_some_and(|tag| tag == GEOPOINT)
}

/// Whether the answer `name` at `level` holds an attachment's reference. Cost: two map
/// lookups.
pub(crate) fn holds_attachment(doc: &AutoCommit, level: &ObjId, name: &str) -> bool {
    object_at(doc, level, name).is_some_and(|answer| string_at(doc, &answer, "sha256").is_some())
}

/// The `types` map, read once per call that reads many answers.
pub(crate) fn type_tags<D: ReadDoc>(doc: &D) -> HashMap<String, String> {
    let Some(types) = object_at(doc, &ROOT, "types") else {
        return HashMap::new();
    };
    doc.keys(&types)
        .filter_map(|name| {
            let tag = string_at(doc, &types, name.as_str())?;
            Some((name, tag))
        })
        .collect()
}

/// Every answer at one level (the top, or one repeat instance), repeats included.
pub(crate) fn read_level<D: ReadDoc>(
    doc: &D,
    level: &ObjId,
    tags: &HashMap<String, String>,
) -> Answers {
    let mut answers = Answers::default();
    let names: Vec<String> = doc
        .keys(level)
        .filter(|key| !repeats::is_bookkeeping(key))
        .collect();
    for name in names {
        if repeats::is_repeat(doc, level, &name) {
            let instances = read_instances(doc, level, &name, tags);
            answers.fields.insert(name, Answer::Repeat(instances));
            continue;
        }
        let Ok(Some(found)) = doc.get(level, name.as_str()) else {
            continue;
        };
        if let Some(value) = read_value(doc, found, tags.get(&name).map(String::as_str)) {
            answers.fields.insert(name, Answer::Value(value));
        }
    }
    answers
}

fn read_instances<D: ReadDoc>(
    doc: &D,
    level: &ObjId,
    name: &str,
    tags: &HashMap<String, String>,
) -> Vec<RepeatInstance> {
    repeats::instances(doc, level, name)
        .into_iter()
        .map(|instance| RepeatInstance {
            answers: read_level(doc, &instance.object, tags),
            id: instance.id,
        })
        .collect()
}

/// One stored value as a typed answer. A value that does not parse as its tag says (written by
/// another tool) is read as text rather than dropped; `None` only for what is not an answer
/// at all (null, booleans, bytes).
pub(crate) fn read_value<D: ReadDoc>(
    doc: &D,
    found: (AmValue<'_>, ObjId),
    tag: Option<&str>,
) -> Option<Value> {
    match found {
        (AmValue::Object(ObjType::Text), text) => {
            // Tagged strings written by JavaScript arrive as Text objects.
            doc.text(&text)
                .ok()
                .map(|text| read_tagged_string(&text, tag))
        }
        (AmValue::Object(ObjType::Map), map) => read_map_value(doc, &map, tag),
        (AmValue::Object(_), _) => None,
        (AmValue::Scalar(scalar), _) => read_scalar(scalar.as_ref(), tag),
    }
}

fn read_scalar(scalar: &ScalarValue, tag: Option<&str>) -> Option<Value> {
    match scalar {
        ScalarValue::Str(text) => Some(read_tagged_string(text, tag)),
        ScalarValue::Int(number) => Some(Value::Integer(*number)),
        ScalarValue::Uint(number) => i64::try_from(*number).ok().map(Value::Integer),
        ScalarValue::F64(number) => Some(Value::Decimal(*number)),
        ScalarValue::Timestamp(ms) => {
            DateTime::from_timestamp_millis(*ms).map(|t| Value::DateTime(t.fixed_offset()))
        }
        _ => None,
    }
}

fn read_tagged_string(text: &str, tag: Option<&str>) -> Value {
    let parsed = match tag {
        Some("select_one") => Some(Value::Choice(text.to_owned())),
        Some("date") => NaiveDate::parse_from_str(text, DATE_FORMAT)
            .ok()
            .map(Value::Date),
        Some("time") => NaiveTime::parse_from_str(text, TIME_FORMAT)
            .ok()
            .map(Value::Time),
        Some("dateTime") => DateTime::parse_from_rfc3339(text).ok().map(Value::DateTime),
        _ => None,
    };
    parsed.unwrap_or_else(|| Value::Text(text.to_owned()))
}

/// A map answer: by its tag, or (for documents written elsewhere) by its keys.
fn read_map_value<D: ReadDoc>(doc: &D, map: &ObjId, tag: Option<&str>) -> Option<Value> {
    let has = |key: &str| doc.get(map, key).ok().flatten().is_some();
    match tag {
        Some(GEOPOINT) => read_geopoint(doc, map),
        Some("attachment") => read_attachment(doc, map),
        Some("select_multiple") => Some(read_choices(doc, map)),
        _ if has("sha256") => read_attachment(doc, map),
        _ if has("latitude") && has("longitude") => read_geopoint(doc, map),
        _ => Some(read_choices(doc, map)),
    }
}

fn read_choices<D: ReadDoc>(doc: &D, map: &ObjId) -> Value {
    let unticked = |option: &String| match doc.get(map, option.as_str()) {
        Ok(Some((AmValue::Scalar(s), _))) => {
            matches!(s.as_ref(), ScalarValue::Boolean(false) | ScalarValue::Null)
        }
        _ => false,
    };
    let chosen = doc.keys(map).filter(|option| !unticked(option)).collect();
    Value::Choices(chosen)
}

fn read_geopoint<D: ReadDoc>(doc: &D, map: &ObjId) -> Option<Value> {
    Some(Value::GeoPoint(GeoPoint {
        latitude: number_at(doc, map, "latitude")?,
        longitude: number_at(doc, map, "longitude")?,
        altitude: number_at(doc, map, "altitude"),
        accuracy: number_at(doc, map, "accuracy"),
    }))
}

fn read_attachment<D: ReadDoc>(doc: &D, map: &ObjId) -> Option<Value> {
    let text = |key| string_at(doc, map, key);
    Some(Value::Attachment(Attachment {
        sha256: text("sha256")?,
        media_type: text("media_type").unwrap_or_default(),
        file_name: text("file_name").unwrap_or_default(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn any_value() -> impl Strategy<Value = Value> {
        let name = "[a-z_]{1,12}";
        prop_oneof![
            ".{0,40}".prop_map(Value::Text),
            any::<i64>().prop_map(Value::Integer),
            (-1.0e12f64..1.0e12).prop_map(Value::Decimal),
            name.prop_map(Value::Choice),
            proptest::collection::btree_set(name, 0..5).prop_map(Value::Choices),
            (1i32..9999, 1u32..13, 1u32..29)
                .prop_map(|(y, m, d)| Value::Date(NaiveDate::from_ymd_opt(y, m, d).unwrap())),
            (0u32..24, 0u32..60, 0u32..60, 0u32..1000).prop_map(|(h, m, s, ms)| Value::Time(
                NaiveTime::from_hms_milli_opt(h, m, s, ms).unwrap()
            )),
            (
                -90.0f64..90.0,
                -180.0f64..180.0,
                proptest::option::of(0.0f64..100.0)
            )
                .prop_map(|(latitude, longitude, accuracy)| {
                    Value::GeoPoint(GeoPoint {
                        latitude,
                        longitude,
                        altitude: None,
                        accuracy,
                    })
                }),
        ]
    }

    proptest! {
        /// Whatever is written reads back as the same typed value, also after the document
        /// went through bytes, and also when it replaces a value of another kind.
        #[test]
        fn a_written_value_reads_back_as_itself(first in any_value(), second in any_value()) {
            let mut doc = AutoCommit::new();
            let answers = doc.put_object(ROOT, "answers", ObjType::Map).unwrap();
            for value in [&first, &second] {
                write_value(&mut doc, &answers, "q", value, WriteMode::Merge).unwrap();
                doc.commit();
                let mut reloaded = AutoCommit::load(&doc.save()).unwrap();
                let answers = object_at(&reloaded, &ROOT, "answers").unwrap();
                let found = reloaded.get(&answers, "q").unwrap().unwrap();
                let tags = type_tags(&reloaded);
                prop_assert_eq!(read_value(&reloaded, found, tags.get("q").map(String::as_str)), Some(value.clone()));
                prop_assert!(reloaded.get_heads() == doc.get_heads());
            }
        }
    }
}
