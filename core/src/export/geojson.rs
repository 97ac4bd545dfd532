//! GeoJSON: a FeatureCollection with one Point per located submission (its first answered
//! geopoint, in form order), the answers and facts of the submission as properties.

use super::{plain_answers, submission_meta, ExportSubmission};
use minga_forms::{Form, GeoPoint, Item, QuestionType, Value};
use serde_json::{json, Value as Json};

/// Names of the form's top-level geopoint questions (inside groups too, not in repeats).
fn geopoint_questions(items: &[Item], out: &mut Vec<String>) {
    for item in items {
        match item {
            Item::Question(q) if q.kind == QuestionType::GeoPoint => out.push(q.name.clone()),
            Item::Group(group) => geopoint_questions(&group.children, out),
            _ => {}
        }
    }
}

fn location(questions: &[String], submission: &ExportSubmission) -> Option<(String, GeoPoint)> {
    questions
        .iter()
        .find_map(|name| match submission.answers.value(name) {
            Some(Value::GeoPoint(point)) => Some((name.clone(), *point)),
            _ => None,
        })
}

/// The FeatureCollection of `submissions` that have a location.
pub fn feature_collection(form: &Form, submissions: &[ExportSubmission]) -> Json {
    let mut questions = Vec::new();
    geopoint_questions(&form.survey, &mut questions);
    let features: Vec<Json> = submissions
        .iter()
        .filter_map(|submission| {
            let (field, point) = location(&questions, submission)?;
            // GeoJSON orders coordinates longitude, latitude, then altitude when known.
            let mut coordinates = vec![point.longitude, point.latitude];
            coordinates.extend(point.altitude);
            let mut properties = submission_meta(form, submission);
            properties.insert("location_field".into(), json!(field));
            properties.insert("accuracy".into(), json!(point.accuracy));
            properties.insert("answers".into(), plain_answers(&submission.answers));
            Some(json!({
                "type": "Feature",
                "id": submission.key(),
                "geometry": { "type": "Point", "coordinates": coordinates },
                "properties": properties,
            }))
        })
        .collect();
    json!({ "type": "FeatureCollection", "features": features })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::fixtures;

    #[test]
    fn only_located_submissions_become_points_in_lon_lat_order() {
        let collection = feature_collection(&fixtures::form(), &fixtures::submissions());
        assert_eq!(collection["type"], "FeatureCollection");
        let features = collection["features"].as_array().unwrap();
        assert_eq!(features.len(), 1, "the second submission has no location");
        let feature = &features[0];
        assert_eq!(
            feature["geometry"]["coordinates"],
            json!([-78.5249, -0.2299, 2850.0])
        );
        assert_eq!(feature["id"], "uuid:0b6f3a52-0000-4000-8000-000000000001");
        assert_eq!(feature["properties"]["location_field"], "location");
        assert_eq!(feature["properties"]["accuracy"], 4.5);
        assert_eq!(
            feature["properties"]["answers"]["who"],
            Json::Null,
            "groups do not nest the data"
        );
        assert_eq!(feature["properties"]["answers"]["age"], 47);
    }
}
