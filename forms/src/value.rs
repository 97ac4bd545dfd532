//! The typed value of one answer, shared by the form engine, the store and the bindings.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// One answer to one question. Each variant matches an XLSForm question type (or a family of
/// them); the store keeps each in the automerge shape the design brief gives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Value {
    /// `text` (and the metadata fields that are strings).
    Text(String),
    /// `integer`.
    Integer(i64),
    /// `decimal`.
    Decimal(f64),
    /// `select_one`: the chosen option's name.
    Choice(String),
    /// `select_multiple`: the chosen options' names, as a set.
    Choices(BTreeSet<String>),
    /// `date`.
    Date(NaiveDate),
    /// `time`.
    Time(NaiveTime),
    /// `dateTime`, with the offset the device had when it was taken.
    DateTime(DateTime<FixedOffset>),
    /// `geopoint`.
    GeoPoint(GeoPoint),
    /// `image`, `audio` and other files: a reference to a blob kept beside the document.
    Attachment(Attachment),
}

/// A location as a phone's GPS gives it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GeoPoint {
    pub latitude: f64,
    pub longitude: f64,
    pub altitude: Option<f64>,
    /// Accuracy radius in metres, as the GPS reported it.
    pub accuracy: Option<f64>,
}

/// A file answer: the document holds the content hash; the bytes live in the blob store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// Lowercase hex SHA-256 of the content.
    pub sha256: String,
    /// MIME type, such as `image/jpeg`.
    pub media_type: String,
    /// The file name the device gave it.
    pub file_name: String,
}
