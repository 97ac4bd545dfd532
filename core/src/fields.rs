//! Field readers: what an automerge map holds under a key, as the store's types. They take any
//! automerge document (`AutoCommit` in the store, `Automerge` where sync or a hub holds one),
//! never fail (a missing or differently typed field is `None`), and know nothing of what a
//! submission, review or form looks like: the documents layer above says which fields to read.

use crate::error::Result;
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ReadDoc, ScalarValue, Value as AmValue};

/// The object under `prop`, if there is one.
pub(crate) fn object_at<D: ReadDoc>(
    doc: &D,
    parent: &ObjId,
    prop: impl Into<automerge::Prop>,
) -> Option<ObjId> {
    match doc.get(parent, prop).ok()?? {
        (AmValue::Object(_), id) => Some(id),
        _ => None,
    }
}

/// The string under `prop`, if it holds one: a scalar string, or a Text object (what the
/// JavaScript library writes for a plain string assignment).
pub(crate) fn string_at<D: ReadDoc>(
    doc: &D,
    parent: &ObjId,
    prop: impl Into<automerge::Prop>,
) -> Option<String> {
    match doc.get(parent, prop).ok()?? {
        (AmValue::Scalar(s), _) => match s.as_ref() {
            ScalarValue::Str(text) => Some(text.to_string()),
            _ => None,
        },
        (AmValue::Object(ObjType::Text), text) => doc.text(&text).ok(),
        _ => None,
    }
}

/// The number under `key`, if it holds one (integers read as decimals).
pub(crate) fn number_at<D: ReadDoc>(doc: &D, map: &ObjId, key: &str) -> Option<f64> {
    match doc.get(map, key).ok()?? {
        (AmValue::Scalar(s), _) => match s.as_ref() {
            ScalarValue::F64(n) => Some(*n),
            ScalarValue::Int(n) => Some(*n as f64),
            ScalarValue::Uint(n) => Some(*n as f64),
            _ => None,
        },
        _ => None,
    }
}

/// The timestamp (or integer milliseconds) under `prop`, in ms since the epoch.
pub(crate) fn millis_at<D: ReadDoc>(
    doc: &D,
    parent: &ObjId,
    prop: impl Into<automerge::Prop>,
) -> Option<i64> {
    match doc.get(parent, prop).ok()?? {
        (AmValue::Scalar(s), _) => match s.as_ref() {
            ScalarValue::Timestamp(ms) | ScalarValue::Int(ms) => Some(*ms),
            _ => None,
        },
        _ => None,
    }
}

/// The time under `prop`, if it holds a timestamp.
pub(crate) fn timestamp_at<D: ReadDoc>(
    doc: &D,
    parent: &ObjId,
    prop: impl Into<automerge::Prop>,
) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp_millis(millis_at(doc, parent, prop)?)
}

/// The map under `key`, created if a document from elsewhere lacks it.
pub(crate) fn map_at(doc: &mut AutoCommit, parent: &ObjId, key: &str) -> Result<ObjId> {
    match object_at(doc, parent, key) {
        Some(map) => Ok(map),
        None => Ok(doc.put_object(parent, key, ObjType::Map)?),
    }
}
