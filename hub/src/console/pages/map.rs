//! The map page: a project's located submissions as points over the country outline the hub
//! serves itself (Natural Earth, `hub/assets/map/`; no tile server, no internet), drawn by the
//! server as SVG (no script): coloured by a select_one question's answer, gathered into one
//! circle with its count where several fall in one cell of a grid over the view, each single
//! point a link to its submission and each gathered circle a link to the map zoomed onto it.

use super::indicators::{choices, PALETTE};
use super::questions::{offered, Asked as Kind, Offered};
use super::submissions::Choice;
use super::{audit_entry, csrf_refused, field, fields, message, Client, ProjectPage};
use crate::console::csrf;
use crate::console::{html, url_escape, Chrome};
use crate::server::state::AppState;
use crate::storage::{Bounds, LocatedPoint, LocatedQuery};
use askama::Template;
use axum::extract::{Multipart, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// The outline drawn under the points, embedded from the repository (see its README).
const COUNTRY_GEOJSON: &str = include_str!("../../../assets/map/country.geojson");

/// The outline's rings (longitude, latitude), read once. A file that does not parse draws no
/// outline: the points are still shown.
static COUNTRY: LazyLock<Vec<Vec<(f64, f64)>>> = LazyLock::new(|| rings(COUNTRY_GEOJSON));

/// The rings of every polygon of a GeoJSON text (a FeatureCollection, a Feature or a bare
/// geometry; Polygon and MultiPolygon). Cost: parsing the text once.
pub fn rings(geojson: &str) -> Vec<Vec<(f64, f64)>> {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(geojson) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    collect_rings(&value, &mut found);
    found
}

fn collect_rings(value: &serde_json::Value, into: &mut Vec<Vec<(f64, f64)>>) {
    let ring = |ring: &serde_json::Value| -> Vec<(f64, f64)> {
        ring.as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| Some((p.get(0)?.as_f64()?, p.get(1)?.as_f64()?)))
            .collect()
    };
    let polygon = |polygon: &serde_json::Value| -> Vec<Vec<(f64, f64)>> {
        polygon.as_array().into_iter().flatten().map(ring).collect()
    };
    match value["type"].as_str() {
        Some("FeatureCollection") => {
            for feature in value["features"].as_array().into_iter().flatten() {
                collect_rings(feature, into);
            }
        }
        Some("Feature") => collect_rings(&value["geometry"], into),
        Some("Polygon") => into.extend(polygon(&value["coordinates"])),
        Some("MultiPolygon") => {
            for each in value["coordinates"].as_array().into_iter().flatten() {
                into.extend(polygon(each));
            }
        }
        _ => {}
    }
}

/// The drawing's width in pixels, the grid's columns over it, and the least span of a view
/// in degrees (a single point still shows its surroundings).
const WIDTH: f64 = 800.0;
const GRID_COLUMNS: f64 = 40.0;
const LEAST_SPAN: f64 = 0.05;

/// How the view's degrees become the drawing's pixels: an equirectangular projection with
/// longitudes shrunk by the cosine of the middle latitude, so that shapes keep their look.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Projection {
    view: Bounds,
    scale: f64,
    shrink: f64,
}

impl Projection {
    fn of(view: Bounds) -> Projection {
        let middle = ((view.north + view.south) / 2.0).to_radians();
        let shrink = middle.cos().max(0.1);
        let span = ((view.east - view.west) * shrink).max(LEAST_SPAN);
        Projection {
            view,
            scale: WIDTH / span,
            shrink,
        }
    }

    fn x(&self, longitude: f64) -> f64 {
        (longitude - self.view.west) * self.shrink * self.scale
    }

    fn y(&self, latitude: f64) -> f64 {
        (self.view.north - latitude) * self.scale
    }

    fn height(&self) -> f64 {
        self.y(self.view.south).max(1.0)
    }
}

/// `view` widened to at least [`LEAST_SPAN`] each way and by a tenth on each side.
fn padded(view: Bounds) -> Bounds {
    let pad = |low: f64, high: f64| {
        let margin = ((high - low) / 10.0).max(LEAST_SPAN / 2.0);
        (low - margin, high + margin)
    };
    let (west, east) = pad(view.west, view.east);
    let (south, north) = pad(view.south, view.north);
    Bounds {
        west,
        south,
        east,
        north,
    }
}

/// One circle of the drawing: a point or a gathering of several.
#[derive(Debug, Clone, PartialEq)]
struct Mark {
    x: String,
    y: String,
    radius: u32,
    fill: &'static str,
    count: usize,
    /// Where it links: the submission, or the map zoomed onto the gathering's cell.
    href: String,
    title: String,
}

/// Gathers `points` into the cells of a grid over the view: a cell holding one point is that
/// point; several are one circle with their count (titled with it and `gathered`), coloured
/// by their most frequent answer.
/// Cost: linear in the points.
fn marks(
    points: &[LocatedPoint],
    projection: &Projection,
    colours: &BTreeMap<String, &'static str>,
    zoom: &dyn Fn(Bounds) -> String,
    submission: &dyn Fn(&str) -> String,
    gathered: &str,
) -> Vec<Mark> {
    let cell = WIDTH / GRID_COLUMNS;
    let mut cells: BTreeMap<(i64, i64), Vec<&LocatedPoint>> = BTreeMap::new();
    for point in points {
        let (x, y) = (projection.x(point.longitude), projection.y(point.latitude));
        let key = ((x / cell).floor() as i64, (y / cell).floor() as i64);
        cells.entry(key).or_default().push(point);
    }
    let fill_of = |value: &Option<String>| {
        value
            .as_ref()
            .and_then(|v| colours.get(v).copied())
            .unwrap_or("#6b6b6b")
    };
    cells
        .into_values()
        .map(|members| {
            let count = members.len();
            let x = members
                .iter()
                .map(|p| projection.x(p.longitude))
                .sum::<f64>()
                / count as f64;
            let y = members
                .iter()
                .map(|p| projection.y(p.latitude))
                .sum::<f64>()
                / count as f64;
            let mut tally: BTreeMap<&Option<String>, usize> = BTreeMap::new();
            for member in &members {
                *tally.entry(&member.value).or_default() += 1;
            }
            let most = tally.iter().max_by_key(|(_, n)| **n).map(|(v, _)| *v);
            let (href, title) = match members.as_slice() {
                [one] => (
                    submission(&one.id),
                    one.name.clone().unwrap_or_else(|| one.id.clone()),
                ),
                _ => (
                    zoom(padded(
                        Bounds::around(members.iter().map(|p| (p.longitude, p.latitude)))
                            .expect("a cell holds a point"),
                    )),
                    format!("{count} · {}", gathered),
                ),
            };
            Mark {
                x: format!("{x:.1}"),
                y: format!("{y:.1}"),
                radius: if count == 1 {
                    5
                } else {
                    8 + (count as f64).log10() as u32 * 4
                },
                fill: most.map_or("#6b6b6b", fill_of),
                count,
                href,
                title,
            }
        })
        .collect()
}

/// The outline's rings as SVG path data in `projection`.
fn outline_path(rings: &[Vec<(f64, f64)>], projection: &Projection) -> String {
    let mut path = String::new();
    for ring in rings {
        for (n, (lon, lat)) in ring.iter().enumerate() {
            let command = if n == 0 { 'M' } else { 'L' };
            path.push_str(&format!(
                "{command}{:.1} {:.1}",
                projection.x(*lon),
                projection.y(*lat)
            ));
        }
        path.push('Z');
    }
    path
}

/// A colour's legend entry.
struct LegendEntry {
    label: String,
    fill: &'static str,
}

#[derive(Template)]
#[template(path = "console/map.html")]
struct MapPage {
    chrome: Chrome,
    project: String,
    forms: Vec<Choice>,
    colours: Vec<Choice>,
    width: u32,
    height: u32,
    outline: String,
    marks: Vec<Mark>,
    legend: Vec<LegendEntry>,
    located: usize,
    zoomed: bool,
    /// The page without the zoom (same form and colour).
    whole: String,
}

/// What the page is asked for: form, colouring question, zoom.
#[derive(Debug, Clone, Default)]
struct Asked {
    form: Option<String>,
    colour: Option<String>,
    within: Option<Bounds>,
}

impl Asked {
    fn parse(query: &str) -> Asked {
        let sent = fields(query.as_bytes());
        let within = field(&sent, "bbox").and_then(|text| {
            let n: Vec<f64> = text.split(',').filter_map(|v| v.parse().ok()).collect();
            match n.as_slice() {
                [west, south, east, north] if west < east && south < north => Some(Bounds {
                    west: *west,
                    south: *south,
                    east: *east,
                    north: *north,
                }),
                _ => None,
            }
        });
        Asked {
            form: field(&sent, "form").map(String::from),
            colour: field(&sent, "colour").map(String::from),
            within,
        }
    }

    /// This page's query string with another zoom (none for the whole view).
    fn with_zoom(&self, within: Option<Bounds>) -> String {
        let mut pairs = Vec::new();
        if let Some(form) = &self.form {
            pairs.push(format!("form={}", url_escape(form)));
        }
        if let Some(colour) = &self.colour {
            pairs.push(format!("colour={}", url_escape(colour)));
        }
        if let Some(b) = within {
            pairs.push(format!(
                "bbox={:.5},{:.5},{:.5},{:.5}",
                b.west, b.south, b.east, b.north
            ));
        }
        pairs.join("&")
    }
}

/// `GET /console/p/{project}/map?form=F&colour=Q&bbox=W,S,E,N`.
pub async fn page(
    State(state): State<AppState>,
    ProjectPage {
        signed,
        project,
        lang,
    }: ProjectPage,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    let asked = Asked::parse(&query);
    let (name, wanted) = (project.clone(), asked.clone());
    let read = state
        .blocking(move |storage| {
            let published = storage.forms(&name)?;
            let mut forms: Vec<String> = published.iter().map(|f| f.id.clone()).collect();
            forms.sort();
            forms.dedup();
            let selects: Vec<Offered> = offered(&published, wanted.form.as_deref(), lang)
                .into_iter()
                .filter(|o| o.asked == Kind::One)
                .collect();
            let colour = wanted
                .colour
                .clone()
                .filter(|c| selects.iter().any(|o| o.name == *c));
            let located = LocatedQuery {
                form_id: wanted.form.clone(),
                colour,
                within: wanted.within,
            };
            let outline = storage.map_outline(&name)?;
            Ok((forms, selects, storage.located(&name, &located)?, outline))
        })
        .await;
    let (forms, selects, points, outline) = match read {
        Ok(read) => read,
        Err(error) => return error.into_response(),
    };
    let chosen = selects
        .iter()
        .find(|o| Some(&o.name) == asked.colour.as_ref());
    let colours: BTreeMap<String, &'static str> = chosen
        .map(|o| {
            o.options
                .iter()
                .enumerate()
                .map(|(n, (value, _))| (value.clone(), PALETTE[n % PALETTE.len()]))
                .collect()
        })
        .unwrap_or_default();
    let legend = chosen
        .map(|o| {
            o.options
                .iter()
                .map(|(value, label)| LegendEntry {
                    label: label.clone(),
                    fill: colours[value],
                })
                .collect()
        })
        .unwrap_or_default();
    // The office's own outline when it uploaded one that draws, else the country's.
    let uploaded = outline.map(|text| rings(&text)).filter(|r| !r.is_empty());
    let drawn: &[Vec<(f64, f64)>] = uploaded.as_deref().unwrap_or(&COUNTRY);
    let view = asked
        .within
        .or_else(|| Bounds::around(points.iter().map(|p| (p.longitude, p.latitude))).map(padded))
        .or_else(|| Bounds::around(drawn.iter().flatten().copied()))
        .unwrap_or(Bounds {
            west: -180.0,
            south: -85.0,
            east: 180.0,
            north: 85.0,
        });
    let projection = Projection::of(view);
    let map_path = format!("/console/p/{project}/map");
    let zoom = |b: Bounds| format!("{map_path}?{}", asked.with_zoom(Some(b)));
    let submission = |id: &str| format!("/console/p/{project}/submissions/{id}");
    let gathered = lang.texts().submissions;
    let marks = marks(&points, &projection, &colours, &zoom, &submission, gathered);
    let here = format!("{map_path}?{query}");
    let page = MapPage {
        chrome: Chrome::signed(lang, &here, &signed, Some(&project)),
        forms: choices(forms.into_iter().map(|f| (f.clone(), f)), &asked.form),
        colours: choices(
            selects.iter().map(|o| (o.name.clone(), o.label.clone())),
            &asked.colour,
        ),
        width: WIDTH as u32,
        height: projection.height().ceil() as u32,
        outline: outline_path(drawn, &projection),
        located: points.len(),
        marks,
        legend,
        zoomed: asked.within.is_some(),
        whole: format!("{map_path}?{}", asked.with_zoom(None)),
        project,
    };
    html(StatusCode::OK, &page)
}

/// `POST …/map/outline` (multipart: `csrf`, `file`): keeps an uploaded GeoJSON (an office's
/// provinces or cantons) as the project's outline, drawn instead of the country's; a file
/// that holds no polygon is refused and nothing changes. Audited.
pub async fn upload_outline(
    State(state): State<AppState>,
    ProjectPage {
        signed,
        project,
        lang,
    }: ProjectPage,
    client: Client,
    multipart: Multipart,
) -> Response {
    let super::forms::Upload { token, file, .. } = super::forms::read_upload(multipart).await;
    if !csrf::token_matches(&token, &signed.session.csrf_secret) {
        return csrf_refused(lang);
    }
    let here = format!("/console/p/{project}/map");
    let t = lang.texts();
    let text = file.and_then(|(_, bytes)| String::from_utf8(bytes).ok());
    let Some(text) = text.filter(|text| !rings(text).is_empty()) else {
        let chrome = Chrome::signed(lang, &here, &signed, Some(&project));
        return message(StatusCode::UNPROCESSABLE_ENTITY, chrome, t.not_geojson);
    };
    let (who, at) = (signed.user.name.clone(), project.clone());
    let kept = state
        .blocking(move |storage| {
            storage.set_map_outline(&at, &text)?;
            let entry = audit_entry(&who, "upload map outline", Some(&at), None, client.0);
            storage.record_audit(&entry)
        })
        .await;
    match kept {
        Ok(()) => Redirect::to(&here).into_response(),
        Err(error) => error.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(id: &str, longitude: f64, latitude: f64, value: Option<&str>) -> LocatedPoint {
        LocatedPoint {
            id: id.into(),
            name: None,
            latitude,
            longitude,
            value: value.map(String::from),
        }
    }

    #[test]
    fn the_embedded_outline_is_the_countrys_and_parses() {
        let bounds = Bounds::around(COUNTRY.iter().flatten().copied()).unwrap();
        assert!(bounds.west < -80.0 && bounds.east > -76.0, "{bounds:?}");
        assert!(bounds.south < -4.0 && bounds.north > 1.0, "{bounds:?}");
    }

    #[test]
    fn near_points_gather_into_one_circle_with_their_count_and_lone_ones_link_their_record() {
        let points = [
            point("a", -78.50, -0.20, Some("no")),
            point("b", -78.5001, -0.2001, Some("no")),
            point("c", -78.5002, -0.2002, Some("yes")),
            point("d", -77.0, -2.0, Some("yes")),
        ];
        let view =
            padded(Bounds::around(points.iter().map(|p| (p.longitude, p.latitude))).unwrap());
        let projection = Projection::of(view);
        let colours = BTreeMap::from([
            ("yes".to_string(), "#0072B2"),
            ("no".to_string(), "#E69F00"),
        ]);
        let zoom = |_: Bounds| "zoom".to_string();
        let submission = |id: &str| format!("s/{id}");
        let marks = marks(
            &points,
            &projection,
            &colours,
            &zoom,
            &submission,
            "submissions",
        );
        let mut counts: Vec<(usize, &str, &str)> = marks
            .iter()
            .map(|m| (m.count, m.fill, m.href.as_str()))
            .collect();
        counts.sort();
        assert_eq!(counts, [(1, "#0072B2", "s/d"), (3, "#E69F00", "zoom")]);
    }

    #[test]
    fn a_geojson_of_provinces_gives_every_polygons_rings() {
        let text = r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}},
            {"type":"Feature","geometry":{"type":"MultiPolygon","coordinates":[[[[2,2],[3,2],[3,3],[2,2]]],[[[4,4],[5,4],[5,5],[4,4]]]]}}
        ]}"#;
        assert_eq!(rings(text).len(), 3);
        assert!(rings("not json").is_empty());
    }
}
