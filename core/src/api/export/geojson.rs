//! GeoJSON: a FeatureCollection with one Point per located submission (its first answered
//! geopoint, in form order), the facts of the submission and its answers as properties. The
//! answers are flat, one property per column of the CSV's form table, named by its header
//! (`who-age`, `location-Latitude`, `concerns/theft`), so that QGIS shows each as a field;
//! numbers stay numbers. An answer whose header is also a fact's name (`key`, `author`…) is
//! written as `<header>-answer`. Repeats are not properties: they are in the CSV's repeat
//! tables and in the JSON export. When that
//! geopoint is no place on Earth (`GeoPoint::check` refuses it: latitude 1000, NaN…) the feature stays with
//! `"geometry": null`, as GeoJSON allows for a feature without a location, and
//! `location_field` still names the question.

use super::csv::AnswerColumns;
use super::{submission_meta, ExportSubmission};
use minga_forms::{AnswerKeys, Form, GeoPoint, Item, QuestionType, Value};
use serde_json::{json, Value as Json};

/// The answer keys ([`AnswerKeys`]: the name, or the path of a name used in several groups)
/// of the form's top-level geopoint questions (inside groups too, not in repeats).
fn geopoint_questions<'a>(
    keys: &AnswerKeys,
    items: &'a [Item],
    groups: &mut Vec<&'a str>,
    out: &mut Vec<String>,
) {
    for item in items {
        match item {
            Item::Question(q) if q.kind == QuestionType::GeoPoint => {
                out.push(keys.key(groups, &q.name))
            }
            Item::Group(group) => {
                groups.push(&group.name);
                geopoint_questions(keys, &group.children, groups, out);
                groups.pop();
            }
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

/// A Point: GeoJSON orders coordinates longitude, latitude, then altitude when known.
fn point_geometry(point: GeoPoint) -> Json {
    let mut coordinates = vec![point.longitude, point.latitude];
    coordinates.extend(point.altitude);
    json!({ "type": "Point", "coordinates": coordinates })
}

/// The FeatureCollection of `submissions` that have a location.
pub fn feature_collection(form: &Form, submissions: &[ExportSubmission]) -> Json {
    let mut questions = Vec::new();
    let keys = AnswerKeys::of(form);
    geopoint_questions(&keys, &form.survey, &mut Vec::new(), &mut questions);
    let columns = AnswerColumns::of(form);
    let features: Vec<Json> = submissions
        .iter()
        .filter_map(|submission| {
            let (field, point) = location(&questions, submission)?;
            let place = point.check().is_ok().then_some(point);
            let mut properties = submission_meta(form, submission);
            properties.insert("location_field".into(), json!(field));
            properties.insert("accuracy".into(), json!(place.and_then(|p| p.accuracy)));
            for (header, value) in columns.typed(form, &submission.answers) {
                let name = if properties.contains_key(&header) {
                    format!("{header}-answer")
                } else {
                    header
                };
                properties.insert(name, value);
            }
            Some(json!({
                "type": "Feature",
                "id": submission.key(),
                "geometry": place.map(point_geometry),
                "properties": properties,
            }))
        })
        .collect();
    json!({ "type": "FeatureCollection", "features": features })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::export::fixtures;

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
        let properties = feature["properties"].as_object().unwrap();
        assert!(
            properties
                .values()
                .all(|value| !value.is_object() && !value.is_array()),
            "flat: {properties:?}"
        );
        assert_eq!(properties["who-age"], 47);
        assert_eq!(properties["who-respondent"], "Rosa, \"la tía\"");
        assert_eq!(properties["who-visit_date"], "2026-11-03");
        assert_eq!(properties["location-Longitude"], -78.5249);
        assert_eq!(properties["location-Altitude"], 2850);
        assert_eq!(properties["concerns"], "theft gangs");
        assert_eq!(properties["concerns/theft"], 1);
        assert_eq!(properties["concerns/extortion"], 0);
        assert_eq!(properties["start"], Json::Null, "no answer");
        assert!(
            !properties.contains_key("household"),
            "repeats are not fields"
        );
    }

    #[test]
    fn an_answer_named_like_a_fact_keeps_both() {
        let form = fixtures::form_replacing("\"name\": \"feels_safe\"", "\"name\": \"author\"");
        let mut submissions = fixtures::submissions();
        let answer = submissions[0].answers.fields.remove("feels_safe").unwrap();
        submissions[0]
            .answers
            .fields
            .insert("author".into(), answer);
        let collection = feature_collection(&form, &submissions);
        let properties = &collection["features"][0]["properties"];
        assert_eq!(properties["author"], "dev-ana", "the fact");
        assert_eq!(properties["author-answer"], "no", "the answer");
    }

    #[test]
    fn a_geopoint_whose_name_is_used_in_two_groups_is_found_under_its_path() {
        let form = fixtures::one_name_in_groups(&["gate", "well"], "point", "geo_point");
        let mut submission = fixtures::impossibly_located().remove(0);
        let point = submission.answers.fields.remove("location").unwrap();
        submission.answers.fields.insert("well/point".into(), point);
        let collection = feature_collection(&form, &[submission]);
        let feature = &collection["features"][0];
        assert_eq!(feature["properties"]["location_field"], "well/point");
    }

    #[test]
    fn a_point_that_is_no_place_gets_a_null_geometry_and_keeps_its_feature() {
        let submissions = fixtures::impossibly_located();
        let written =
            serde_json::to_string(&feature_collection(&fixtures::form(), &submissions)).unwrap();
        let collection: Json = serde_json::from_str(&written).unwrap();
        let features = collection["features"].as_array().unwrap();
        assert_eq!(features.len(), submissions.len(), "every feature stays");
        for feature in features {
            assert_eq!(feature["geometry"], Json::Null, "{feature}");
            assert_eq!(feature["properties"]["location_field"], "location");
            assert_eq!(feature["properties"]["accuracy"], Json::Null);
        }
        assert!(
            !written.contains("NaN") && !written.contains("inf"),
            "{written}"
        );
    }
}
