//! The typed answer as apps see it: one variant per kind of question, mapping one to one onto
//! [`minga_forms::Value`]. Dates and times cross the boundary as ISO 8601 strings, which Kotlin
//! reads as `java.time` types and Python as `datetime` ones (see `uniffi.toml`).

use crate::error::MingaError;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime};
use minga_forms as forms;
use minga_forms::{Attachment, GeoPoint};

/// A calendar date, `2026-11-29` on the wire.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IsoDate(pub NaiveDate);

/// A time of day, `14:05:00` (or `14:05`, `14:05:00.250`) on the wire.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IsoTime(pub NaiveTime);

/// A moment with the device's offset, RFC 3339 on the wire: `2026-11-29T14:05:00-05:00`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IsoDateTime(pub DateTime<FixedOffset>);

fn not_iso(kind: &str, text: &str) -> uniffi::deps::anyhow::Error {
    let shown: String = text.chars().take(40).collect();
    MingaError::invalid_argument(format!("{shown:?} is not an ISO 8601 {kind}")).into()
}

uniffi::custom_type!(IsoDate, String, {
    lower: |date| date.0.format("%Y-%m-%d").to_string(),
    try_lift: |text| NaiveDate::parse_from_str(&text, "%Y-%m-%d")
        .map(IsoDate)
        .map_err(|_| not_iso("date", &text)),
});

uniffi::custom_type!(IsoTime, String, {
    lower: |time| time.0.format("%H:%M:%S%.f").to_string(),
    try_lift: |text| NaiveTime::parse_from_str(&text, "%H:%M:%S%.f")
        .or_else(|_| NaiveTime::parse_from_str(&text, "%H:%M"))
        .map(IsoTime)
        .map_err(|_| not_iso("time", &text)),
});

uniffi::custom_type!(IsoDateTime, String, {
    lower: |moment| moment.0.to_rfc3339(),
    try_lift: |text| DateTime::parse_from_rfc3339(&text)
        .map(IsoDateTime)
        .map_err(|_| not_iso("datetime", &text)),
});

/// One answer to one question.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum Value {
    /// `text`.
    Text { text: String },
    /// `integer`.
    Integer { value: i64 },
    /// `decimal`.
    Decimal { value: f64 },
    /// `select_one`: the chosen option's name.
    Choice { name: String },
    /// `select_multiple`: the chosen options' names (order does not matter, duplicates count once).
    Choices { names: Vec<String> },
    /// `date`.
    Date { date: IsoDate },
    /// `time`.
    Time { time: IsoTime },
    /// `dateTime`, with the device's offset.
    DateTime { datetime: IsoDateTime },
    /// `geopoint`.
    GeoPoint { point: forms::GeoPoint },
    /// `image`, `audio`: a reference to a blob kept beside the submission.
    Attachment { attachment: forms::Attachment },
}

/// A location as the phone's GPS gives it.
#[uniffi::remote(Record)]
pub struct GeoPoint {
    pub latitude: f64,
    pub longitude: f64,
    pub altitude: Option<f64>,
    pub accuracy: Option<f64>,
}

/// A file answer: the content's SHA-256 (lowercase hex), its MIME type and file name.
#[uniffi::remote(Record)]
pub struct Attachment {
    pub sha256: String,
    pub media_type: String,
    pub file_name: String,
}

impl From<Value> for forms::Value {
    fn from(value: Value) -> Self {
        match value {
            Value::Text { text } => Self::Text(text),
            Value::Integer { value } => Self::Integer(value),
            Value::Decimal { value } => Self::Decimal(value),
            Value::Choice { name } => Self::Choice(name),
            Value::Choices { names } => Self::Choices(names.into_iter().collect()),
            Value::Date { date } => Self::Date(date.0),
            Value::Time { time } => Self::Time(time.0),
            Value::DateTime { datetime } => Self::DateTime(datetime.0),
            Value::GeoPoint { point } => Self::GeoPoint(point),
            Value::Attachment { attachment } => Self::Attachment(attachment),
        }
    }
}

impl From<forms::Value> for Value {
    fn from(value: forms::Value) -> Self {
        match value {
            forms::Value::Text(text) => Self::Text { text },
            forms::Value::Integer(value) => Self::Integer { value },
            forms::Value::Decimal(value) => Self::Decimal { value },
            forms::Value::Choice(name) => Self::Choice { name },
            forms::Value::Choices(names) => Self::Choices {
                names: names.into_iter().collect(),
            },
            forms::Value::Date(date) => Self::Date {
                date: IsoDate(date),
            },
            forms::Value::Time(time) => Self::Time {
                time: IsoTime(time),
            },
            forms::Value::DateTime(moment) => Self::DateTime {
                datetime: IsoDateTime(moment),
            },
            forms::Value::GeoPoint(point) => Self::GeoPoint { point },
            forms::Value::Attachment(attachment) => Self::Attachment { attachment },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uniffi::{FfiConverter, RustBuffer};

    /// Lifts `text` as the foreign side would send it for the custom type `T`.
    fn lift<T: FfiConverter<crate::UniFfiTag, FfiType = RustBuffer>>(
        text: &str,
    ) -> uniffi::Result<T> {
        T::try_lift(<String as FfiConverter<crate::UniFfiTag>>::lower(
            text.to_string(),
        ))
    }

    #[test]
    fn every_value_round_trips_through_the_core_type() {
        let values = [
            forms::Value::Text("ñandú".into()),
            forms::Value::Integer(-4),
            forms::Value::Decimal(2.5),
            forms::Value::Choice("yes".into()),
            forms::Value::Choices(["a".to_string(), "b".to_string()].into()),
            forms::Value::Date(NaiveDate::from_ymd_opt(2026, 11, 29).unwrap()),
            forms::Value::Time(NaiveTime::from_hms_milli_opt(14, 5, 0, 250).unwrap()),
            forms::Value::DateTime(
                DateTime::parse_from_rfc3339("2026-11-29T14:05:00-05:00").unwrap(),
            ),
            forms::Value::GeoPoint(forms::GeoPoint {
                latitude: -0.18,
                longitude: -78.47,
                altitude: Some(2850.0),
                accuracy: None,
            }),
        ];
        for core in values {
            assert_eq!(forms::Value::from(Value::from(core.clone())), core);
        }
    }

    #[test]
    fn choices_given_twice_count_once() {
        let names = vec!["a".to_string(), "a".to_string(), "b".to_string()];
        let forms::Value::Choices(set) = forms::Value::from(Value::Choices { names }) else {
            panic!("not choices")
        };
        assert_eq!(set.len(), 2);
    }

    #[test]
    fn iso_strings_lift_and_a_malformed_one_is_a_typed_error() {
        let date: IsoDate = lift("2026-02-28").unwrap();
        assert_eq!(date.0, NaiveDate::from_ymd_opt(2026, 2, 28).unwrap());
        let time: IsoTime = lift("09:30").unwrap();
        assert_eq!(time.0, NaiveTime::from_hms_opt(9, 30, 0).unwrap());
        let moment: IsoDateTime = lift("2026-11-29T14:05:00Z").unwrap();
        assert_eq!(moment.0.offset().local_minus_utc(), 0);

        let error = lift::<IsoDate>("2026-02-30").unwrap_err();
        match error.downcast::<MingaError>() {
            Ok(MingaError::InvalidArgument { reason }) => {
                assert!(
                    reason.contains("2026-02-30") && reason.contains("date"),
                    "{reason}"
                );
            }
            other => panic!("expected InvalidArgument, got {other:?}"),
        }
        assert!(
            lift::<IsoDateTime>("2026-11-29T14:05:00").is_err(),
            "an offset is required"
        );
    }

    #[test]
    fn times_lower_to_strings_that_lift_back() {
        let time = IsoTime(NaiveTime::from_hms_opt(7, 0, 0).unwrap());
        let text = <IsoTime as FfiConverter<crate::UniFfiTag>>::lower(time);
        let back: IsoTime = <IsoTime as FfiConverter<crate::UniFfiTag>>::try_lift(text).unwrap();
        assert_eq!(back, time);
    }
}
