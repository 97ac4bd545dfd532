//! A form's list files read into choices: CSV (a header row, then one choice per row), XML
//! (`<root><item><name>…</name><label>…</label>…</item></root>`, as ODK's secondary instances)
//! and GeoJSON (a `FeatureCollection`, one choice per feature), the engine's external lists.
//! Each row's `name` is the choice's name, `label` (or `label::<language>`) its label, and
//! every other column a column a `choice_filter`, `instance()` path or `pulldata()` reads.

use super::csv;
use crate::model::{Choice, LocalizedText};
use quick_xml::events::Event;
use std::collections::BTreeMap;

/// The lists a form session reads beside the form's own, by list name (the file's name
/// without its extension: `UCL_regions.csv` is the list `UCL_regions`).
pub type ExternalLists = BTreeMap<String, Vec<Choice>>;

/// A list file that cannot be read, named, with why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the list file {file} cannot be read: {reason}")]
pub struct ListError {
    pub file: String,
    pub reason: String,
}

/// The list a file holds, when its name says it holds one (`.csv`, `.xml`, `.geojson`, in any
/// case): its name without the extension.
pub fn list_name(file: &str) -> Option<&str> {
    let (stem, extension) = file.rsplit_once('.')?;
    let is_list = ["csv", "xml", "geojson"]
        .iter()
        .any(|e| extension.eq_ignore_ascii_case(e));
    (is_list && !stem.is_empty()).then_some(stem)
}

/// The choices of the list file `file` (its name says its format). Cost: one pass over the
/// bytes; the choices hold every field once.
pub fn read_list(file: &str, bytes: &[u8]) -> Result<Vec<Choice>, ListError> {
    let error = |reason: String| ListError {
        file: file.to_string(),
        reason,
    };
    let text = std::str::from_utf8(bytes).map_err(|e| error(format!("not UTF-8 text ({e})")))?;
    let extension = file.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match extension.as_deref() {
        Some("csv") => Ok(csv_list(text)),
        Some("xml") => xml_list(text).map_err(error),
        Some("geojson") => geojson_list(text).map_err(error),
        _ => Err(error(
            "only .csv, .xml and .geojson files hold lists".into(),
        )),
    }
}

/// One choice from its columns (header, value), as every format names them.
fn choice(columns: impl IntoIterator<Item = (String, String)>) -> Choice {
    let mut choice = Choice {
        name: String::new(),
        label: LocalizedText::default(),
        extra: BTreeMap::new(),
        media: BTreeMap::new(),
    };
    for (header, value) in columns {
        let header = header.trim();
        if header == "name" {
            choice.name = value;
        } else if header == "label" {
            choice
                .label
                .0
                .insert(LocalizedText::NO_LANGUAGE.into(), value);
        } else if let Some(language) = header.strip_prefix("label::") {
            choice.label.0.insert(language.trim().to_string(), value);
        } else if !header.is_empty() {
            choice.extra.insert(header.to_string(), value);
        }
    }
    choice
}

fn csv_list(text: &str) -> Vec<Choice> {
    let mut records = csv::records(text).into_iter();
    let Some(header) = records.next() else {
        return Vec::new();
    };
    records
        .map(|record| choice(header.iter().cloned().zip(record)))
        .collect()
}

/// Each child of the root element is a choice; each of its children a column.
fn xml_list(text: &str) -> Result<Vec<Choice>, String> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut choices = Vec::new();
    let mut columns: Vec<(String, String)> = Vec::new();
    let mut depth = 0usize;
    loop {
        let event = reader.read_event().map_err(|e| format!("not XML ({e})"))?;
        match event {
            Event::Start(start) => {
                depth += 1;
                if depth == 3 {
                    let name = start.local_name().as_ref().to_string();
                    columns.push((name, String::new()));
                }
            }
            Event::Empty(start) if depth == 2 => {
                let name = start.local_name().as_ref().to_string();
                columns.push((name, String::new()));
            }
            Event::Text(text) if depth == 3 => push_text(&mut columns, &text.xml10_content()),
            Event::CData(text) if depth == 3 => push_text(&mut columns, &text.xml10_content()),
            Event::GeneralRef(reference) if depth == 3 => {
                let name = reference.xml10_content();
                let resolved = match reference.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    _ => quick_xml::escape::resolve_predefined_entity(&name)
                        .ok_or_else(|| format!("the entity &{name}; is not XML's"))?
                        .to_string(),
                };
                push_text(&mut columns, &resolved);
            }
            Event::End(_) => {
                if depth == 2 {
                    choices.push(choice(std::mem::take(&mut columns)));
                }
                depth = depth.saturating_sub(1);
            }
            Event::Eof if depth > 0 => return Err("it ends inside an element".into()),
            Event::Eof => return Ok(choices),
            _ => {}
        }
    }
}

fn push_text(columns: &mut [(String, String)], text: &str) {
    if let Some((_, value)) = columns.last_mut() {
        value.push_str(text);
    }
}

/// Each feature of a `FeatureCollection` is a choice: its `id` property (or the feature's
/// id) the name, `title` the label, the other properties columns, and a point's location the
/// column `geometry` (`lat lon 0 0`, as ODK gives it).
fn geojson_list(text: &str) -> Result<Vec<Choice>, String> {
    let json: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not JSON ({e})"))?;
    let features = json
        .get("features")
        .and_then(|f| f.as_array())
        .ok_or("no \"features\" list: not a GeoJSON FeatureCollection")?;
    Ok(features.iter().map(feature_choice).collect())
}

fn feature_choice(feature: &serde_json::Value) -> Choice {
    let properties = feature.get("properties").and_then(|p| p.as_object());
    let mut columns: Vec<(String, String)> = properties
        .into_iter()
        .flatten()
        .map(|(key, value)| {
            let key = match key.as_str() {
                "id" => "name",
                "title" => "label",
                other => other,
            };
            (key.to_string(), json_text(value))
        })
        .collect();
    if !columns.iter().any(|(key, _)| key == "name") {
        if let Some(id) = feature.get("id") {
            columns.push(("name".into(), json_text(id)));
        }
    }
    if let Some(point) = point_of(feature) {
        columns.push(("geometry".into(), point));
    }
    choice(columns)
}

fn json_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn point_of(feature: &serde_json::Value) -> Option<String> {
    let geometry = feature.get("geometry")?;
    if geometry.get("type")?.as_str()? != "Point" {
        return None;
    }
    let coordinates = geometry.get("coordinates")?.as_array()?;
    let (longitude, latitude) = (coordinates.first()?, coordinates.get(1)?);
    Some(format!("{latitude} {longitude} 0 0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_labels_and(choices: &[Choice], column: &str) -> Vec<(String, String, String)> {
        choices
            .iter()
            .map(|c| {
                let label = c.label.get(None, None).unwrap_or_default().to_string();
                let extra = c.extra.get(column).cloned().unwrap_or_default();
                (c.name.clone(), label, extra)
            })
            .collect()
    }

    fn triples(list: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
        list.iter()
            .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
            .collect()
    }

    #[test]
    fn a_csv_list_gives_a_choice_per_row_with_its_other_columns() {
        let csv = "name,label::English (en),province\nq1,Quito,pichincha\nib,Ibarra,imbabura\n";
        let choices = read_list("cantons.csv", csv.as_bytes()).unwrap();
        assert_eq!(
            names_labels_and(&choices, "province"),
            triples(&[("q1", "Quito", "pichincha"), ("ib", "Ibarra", "imbabura")])
        );
        assert_eq!(choices[0].label.0.keys().next().unwrap(), "English (en)");
    }

    #[test]
    fn an_xml_list_gives_a_choice_per_item_with_entities_resolved() {
        let xml = "<?xml version=\"1.0\"?><root><item><name>a</name><label>A &amp; B</label>\
                   <zone>n&#233;</zone></item><item><name>b</name><label>B</label><zone/></item></root>";
        let choices = read_list("zones.xml", xml.as_bytes()).unwrap();
        assert_eq!(
            names_labels_and(&choices, "zone"),
            triples(&[("a", "A & B", "né"), ("b", "B", "")])
        );
    }

    #[test]
    fn a_geojson_list_names_each_feature_by_its_id_and_keeps_its_point() {
        let geojson = r#"{"type": "FeatureCollection", "features": [
            {"type": "Feature", "id": "w1", "geometry": {"type": "Point", "coordinates": [-78.5, -0.2]},
             "properties": {"title": "Well", "depth": 12}}]}"#;
        let choices = read_list("wells.geojson", geojson.as_bytes()).unwrap();
        assert_eq!(
            names_labels_and(&choices, "depth"),
            triples(&[("w1", "Well", "12")])
        );
        assert_eq!(choices[0].extra["geometry"], "-0.2 -78.5 0 0");
    }

    #[test]
    fn a_list_file_that_does_not_parse_is_named_with_why() {
        let error = read_list("zones.xml", b"<root><item>").unwrap_err();
        assert_eq!(error.file, "zones.xml");
        let error = read_list("wells.geojson", b"{}").unwrap_err();
        assert!(error.reason.contains("FeatureCollection"), "{error}");
        assert!(read_list("photo.jpg", b"").is_err());
    }

    #[test]
    fn only_list_files_name_a_list() {
        assert_eq!(list_name("UCL_regions.csv"), Some("UCL_regions"));
        assert_eq!(list_name("towns.XML"), Some("towns"));
        assert_eq!(list_name("house.jpg"), None);
        assert_eq!(list_name(".csv"), None);
    }
}
