//! What an export tells its caller besides the files: the documents it left out and why, and
//! the geopoints it could not write as locations. A bad document is skipped, never the export;
//! a bad point keeps its submission's row and loses only its location.

use super::ExportSubmission;
use minga_forms::{Answer, Answers, GeoPoint, Value};
use std::fmt;
use std::path::PathBuf;

/// What one export did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExportReport {
    /// The files written, in the order written.
    pub files: Vec<PathBuf>,
    /// How many submissions the files hold.
    pub written: u64,
    /// Documents left out, each with why.
    pub skipped: Vec<Skipped>,
    /// Geopoints of written submissions that are no place on Earth: written as no location
    /// (GeoJSON `"geometry": null`, empty CSV cells); JSON keeps the values as stored.
    pub bad_points: Vec<BadPoint>,
}

/// A document left out of an export.
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    /// The document's id: the one it is stored under, or for a submission that could be read,
    /// its own (`meta.id`, which a hub stores it under).
    pub document: String,
    pub reason: SkipReason,
}

/// Why a document was left out.
#[derive(Debug, Clone, PartialEq)]
pub enum SkipReason {
    /// The bytes are not an automerge document.
    Unreadable(String),
    /// An automerge document, but not shaped as a submission (no `meta.id`, another meta).
    NotASubmission(String),
    /// A submission of a form none of whose versions the export was given (on a hub: none is
    /// published), so there is no layout to write it in.
    FormNotPublished {
        form_id: String,
        form_version: String,
    },
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Unreadable(why) => write!(f, "unreadable bytes: {why}"),
            SkipReason::NotASubmission(why) => write!(f, "not a submission: {why}"),
            SkipReason::FormNotPublished {
                form_id,
                form_version,
            } => write!(
                f,
                "a submission of form `{form_id}` version `{form_version}`, and no version of \
                 that form is published"
            ),
        }
    }
}

/// A geopoint answer that is no place on Earth.
#[derive(Debug, Clone, PartialEq)]
pub struct BadPoint {
    /// The submission's id.
    pub submission: String,
    /// Where the answer is: its question's name, below its repeat instances
    /// (`household[2]/home`, counted from 1 as ODK does).
    pub field: String,
    pub fault: PointFault,
}

impl fmt::Display for BadPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.submission, self.field, self.fault)
    }
}

/// What is wrong with a geopoint: the first part found wrong, in the order latitude,
/// longitude, altitude, accuracy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PointFault {
    /// NaN or infinite: `part` names which of the four.
    NotFinite {
        part: &'static str,
        value: f64,
    },
    LatitudeOutOfRange(f64),
    LongitudeOutOfRange(f64),
    NegativeAccuracy(f64),
}

impl fmt::Display for PointFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PointFault::NotFinite { part, value } => write!(f, "{part} is {value}"),
            PointFault::LatitudeOutOfRange(x) => write!(f, "latitude {x} is outside -90..90"),
            PointFault::LongitudeOutOfRange(x) => write!(f, "longitude {x} is outside -180..180"),
            PointFault::NegativeAccuracy(x) => write!(f, "accuracy {x} is negative"),
        }
    }
}

/// What is wrong with `point` as a place, if anything: the check every writer applies before
/// writing a location.
pub fn point_fault(point: &GeoPoint) -> Option<PointFault> {
    let parts = [
        ("latitude", Some(point.latitude)),
        ("longitude", Some(point.longitude)),
        ("altitude", point.altitude),
        ("accuracy", point.accuracy),
    ];
    if let Some((part, value)) = parts
        .into_iter()
        .find_map(|(part, value)| value.filter(|x| !x.is_finite()).map(|x| (part, x)))
    {
        return Some(PointFault::NotFinite { part, value });
    }
    if !(-90.0..=90.0).contains(&point.latitude) {
        return Some(PointFault::LatitudeOutOfRange(point.latitude));
    }
    if !(-180.0..=180.0).contains(&point.longitude) {
        return Some(PointFault::LongitudeOutOfRange(point.longitude));
    }
    match point.accuracy {
        Some(accuracy) if accuracy < 0.0 => Some(PointFault::NegativeAccuracy(accuracy)),
        _ => None,
    }
}

/// Every bad geopoint among a submission's answers, repeats included.
pub(super) fn bad_points(submission: &ExportSubmission) -> Vec<BadPoint> {
    let mut found = Vec::new();
    collect_bad_points(&submission.id, &submission.answers, "", &mut found);
    found
}

fn collect_bad_points(submission: &str, answers: &Answers, prefix: &str, out: &mut Vec<BadPoint>) {
    for (name, answer) in &answers.fields {
        match answer {
            Answer::Value(Value::GeoPoint(point)) => {
                if let Some(fault) = point_fault(point) {
                    out.push(BadPoint {
                        submission: submission.to_string(),
                        field: format!("{prefix}{name}"),
                        fault,
                    });
                }
            }
            Answer::Value(_) => {}
            Answer::Repeat(instances) => {
                for (n, instance) in instances.iter().enumerate() {
                    let prefix = format!("{prefix}{name}[{}]/", n + 1);
                    collect_bad_points(submission, &instance.answers, &prefix, out);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(
        latitude: f64,
        longitude: f64,
        altitude: Option<f64>,
        accuracy: Option<f64>,
    ) -> GeoPoint {
        GeoPoint {
            latitude,
            longitude,
            altitude,
            accuracy,
        }
    }

    #[test]
    fn places_on_earth_pass_including_the_edges_and_the_dead_sea() {
        for good in [
            point(-0.2299, -78.5249, Some(2850.0), Some(4.5)),
            point(90.0, 180.0, None, None),
            point(-90.0, -180.0, Some(-430.0), Some(0.0)),
        ] {
            assert_eq!(point_fault(&good), None, "{good:?}");
        }
    }

    #[test]
    fn impossible_points_are_named_by_their_first_wrong_part() {
        let cases = [
            (
                point(1000.0, 0.0, None, None),
                PointFault::LatitudeOutOfRange(1000.0),
            ),
            (
                point(0.0, -500.0, None, None),
                PointFault::LongitudeOutOfRange(-500.0),
            ),
            (
                point(0.0, 0.0, None, Some(-3.0)),
                PointFault::NegativeAccuracy(-3.0),
            ),
            (
                point(0.0, f64::INFINITY, None, None),
                PointFault::NotFinite {
                    part: "longitude",
                    value: f64::INFINITY,
                },
            ),
        ];
        for (bad, fault) in cases {
            assert_eq!(point_fault(&bad), Some(fault), "{bad:?}");
        }
        let nan = point_fault(&point(0.0, 0.0, Some(f64::NAN), None)).unwrap();
        assert_eq!(nan.to_string(), "altitude is NaN");
    }
}
