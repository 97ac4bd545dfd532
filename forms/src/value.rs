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

/// Why a value cannot be anyone's answer: a coordinate off the globe, a number that is not a
/// number. One rule for every place that takes answers: refused where a person types it (the
/// store's local writes, a form session, the hub's own editing), kept and flagged when it
/// arrives by sync (it is someone's data).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct ImpossibleValue {
    /// What is wrong, in words that name the part ("latitude 1000 is outside -90..=90").
    pub reason: String,
}

impl Value {
    /// Whether the value is possible at all, whatever the question. Cost: constant.
    pub fn check(&self) -> Result<(), ImpossibleValue> {
        match self {
            Value::Decimal(number) => finite("a decimal", *number),
            Value::GeoPoint(point) => point.check(),
            _ => Ok(()),
        }
    }
}

impl GeoPoint {
    /// Whether this is a point on the globe: latitude in -90..=90 and longitude in
    /// -180..=180 degrees, a finite altitude and a finite, non-negative accuracy (when given).
    pub fn check(&self) -> Result<(), ImpossibleValue> {
        within("latitude", self.latitude, 90.0)?;
        within("longitude", self.longitude, 180.0)?;
        if let Some(altitude) = self.altitude {
            finite("altitude", altitude)?;
        }
        if let Some(accuracy) = self.accuracy {
            finite("accuracy", accuracy)?;
            if accuracy < 0.0 {
                return Err(impossible(format!("accuracy {accuracy} is negative")));
            }
        }
        Ok(())
    }
}

fn within(part: &str, degrees: f64, bound: f64) -> Result<(), ImpossibleValue> {
    finite(part, degrees)?;
    if degrees.abs() > bound {
        return Err(impossible(format!(
            "{part} {degrees} is outside -{bound}..={bound}"
        )));
    }
    Ok(())
}

fn finite(part: &str, number: f64) -> Result<(), ImpossibleValue> {
    if number.is_finite() {
        Ok(())
    } else {
        Err(impossible(format!(
            "{part} {number} is not a finite number"
        )))
    }
}

fn impossible(reason: String) -> ImpossibleValue {
    ImpossibleValue { reason }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn point(latitude: f64, longitude: f64) -> GeoPoint {
        GeoPoint {
            latitude,
            longitude,
            altitude: None,
            accuracy: None,
        }
    }

    fn reason(point: GeoPoint) -> String {
        point.check().expect_err("an impossible point").reason
    }

    #[test]
    fn points_on_the_globe_pass_up_to_its_poles_and_date_line() {
        for (latitude, longitude) in [(0.0, 0.0), (-0.18, -78.47), (90.0, 180.0), (-90.0, -180.0)] {
            assert_eq!(point(latitude, longitude).check(), Ok(()));
        }
        let full = GeoPoint {
            altitude: Some(-30.0),
            accuracy: Some(0.0),
            ..point(1.0, 2.0)
        };
        assert_eq!(Value::GeoPoint(full).check(), Ok(()));
    }

    #[test]
    fn a_point_off_the_globe_is_impossible_and_the_reason_names_the_part() {
        assert_eq!(
            reason(point(1000.0, 0.0)),
            "latitude 1000 is outside -90..=90"
        );
        assert_eq!(
            reason(point(0.0, -500.0)),
            "longitude -500 is outside -180..=180"
        );
        assert!(reason(point(f64::NAN, 0.0)).starts_with("latitude NaN is not a finite"));
        assert!(reason(point(0.0, f64::INFINITY)).starts_with("longitude inf is not a finite"));
        let high = GeoPoint {
            altitude: Some(f64::NEG_INFINITY),
            ..point(0.0, 0.0)
        };
        assert!(reason(high).starts_with("altitude -inf"));
        let negative = GeoPoint {
            accuracy: Some(-5.0),
            ..point(0.0, 0.0)
        };
        assert_eq!(reason(negative), "accuracy -5 is negative");
        let unknown = GeoPoint {
            accuracy: Some(f64::NAN),
            ..point(0.0, 0.0)
        };
        assert!(reason(unknown).starts_with("accuracy NaN"));
    }

    #[test]
    fn a_decimal_must_be_finite_and_other_values_are_always_possible() {
        assert!(Value::Decimal(f64::NAN).check().is_err());
        assert!(Value::Decimal(f64::INFINITY).check().is_err());
        assert_eq!(Value::Decimal(-2.5).check(), Ok(()));
        assert_eq!(Value::Text("=1+1".into()).check(), Ok(()));
    }
}
