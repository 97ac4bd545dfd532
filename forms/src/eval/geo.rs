//! ODK's geometry functions: `area()` of a geoshape, `distance()` along a geotrace or between
//! points, and `geofence()` (is a point inside a shape). The formulas are the ones ODK Collect
//! uses (JavaRosa's `GeoUtils`), so that a plot's area is the same number in Minga: distances
//! on a sphere of radius 6,378,100 m by the spherical law of cosines, areas on a plane projected
//! around the shape's first point, inclusion by ray crossing.

use super::scalar::{Scalar, XValue};

/// The sphere ODK measures on: the equatorial radius, in metres.
const EARTH_RADIUS: f64 = 6_378_100.0;

/// One point: latitude and longitude in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Point {
    latitude: f64,
    longitude: f64,
}

/// A geopoint's text (`lat lon [alt [accuracy]]`), if it is one on Earth.
fn point(text: &str) -> Option<Point> {
    let mut parts = text.split_whitespace().map(str::parse::<f64>);
    let (latitude, longitude) = (parts.next()?.ok()?, parts.next()?.ok()?);
    let on_earth = (-90.0..=90.0).contains(&latitude) && (-180.0..=180.0).contains(&longitude);
    on_earth.then_some(Point {
        latitude,
        longitude,
    })
}

/// The points of a geoshape or geotrace (`p;p;…`), or of each node of a node-set (a repeat of
/// geopoints); empty if any piece is not a point.
fn points(values: &[XValue]) -> Vec<Point> {
    let pieces: Vec<String> = values
        .iter()
        .flat_map(XValue::items)
        .flat_map(|item| {
            let text = item.to_text();
            text.split(';')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    pieces
        .iter()
        .map(|piece| point(piece))
        .collect::<Option<Vec<_>>>()
        .unwrap_or_default()
}

/// `area(shape)`: square metres enclosed; 0 for fewer than three points. Cost: O(points).
pub(crate) fn area(values: &[XValue]) -> f64 {
    let shape = points(values);
    let Some(origin) = shape.first() else {
        return 0.0;
    };
    if shape.len() < 3 {
        return 0.0;
    }
    // Metres east and north of the first point, each longitude scaled at its own latitude.
    let metres_per_degree = 2.0 * std::f64::consts::PI * EARTH_RADIUS / 360.0;
    let projected: Vec<(f64, f64)> = shape
        .iter()
        .map(|p| {
            let east = (p.longitude - origin.longitude) * p.latitude.to_radians().cos();
            let north = p.latitude - origin.latitude;
            (east * metres_per_degree, north * metres_per_degree)
        })
        .collect();
    // The shoelace formula over the ring as given (the first point is the origin, so its terms
    // vanish).
    let twice: f64 = projected
        .windows(2)
        .map(|w| w[0].1 * w[1].0 - w[0].0 * w[1].1)
        .sum();
    (twice / 2.0).abs()
}

/// `distance(trace)` or `distance(p1, p2, …)`: metres along the points in order. Cost:
/// O(points).
pub(crate) fn distance(values: &[XValue]) -> f64 {
    points(values)
        .windows(2)
        .map(|w| great_circle(w[0], w[1]))
        .sum()
}

/// Metres between two points on ODK's sphere (the spherical law of cosines).
fn great_circle(a: Point, b: Point) -> f64 {
    let (phi_a, phi_b) = (a.latitude.to_radians(), b.latitude.to_radians());
    let delta = (a.longitude - b.longitude).to_radians();
    let cosine = phi_a.sin() * phi_b.sin() + phi_a.cos() * phi_b.cos() * delta.cos();
    // Rounding can push the cosine of a zero angle just past 1.
    cosine.clamp(-1.0, 1.0).acos() * EARTH_RADIUS
}

/// `geofence(point, shape)`: whether the point lies inside the closed shape (its last point
/// repeating its first, as a geoshape's does); false for a shape that is not closed. Cost:
/// O(points).
pub(crate) fn geofence(at: &Scalar, shape: &[XValue]) -> bool {
    let (Some(at), ring) = (point(&at.to_text()), points(shape)) else {
        return false;
    };
    if ring.len() < 4 || ring.first() != ring.last() {
        return false;
    }
    // A ray from the point towards growing longitude crosses an edge an odd number of times
    // if and only if the point is inside.
    ring.windows(2)
        .filter(|w| {
            let (a, b) = (w[0], w[1]);
            let spans = (a.latitude > at.latitude) != (b.latitude > at.latitude);
            spans && {
                let t = (at.latitude - b.latitude) / (a.latitude - b.latitude);
                at.longitude < b.longitude + t * (a.longitude - b.longitude)
            }
        })
        .count()
        % 2
        == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(text: &str) -> Vec<XValue> {
        vec![XValue::One(Scalar::Text(text.into()))]
    }

    const UNIT_SQUARE: &str = "0 0 0 0;0 1 0 0;1 1 0 0;1 0 0 0;0 0 0 0";

    #[test]
    fn one_degree_along_the_equator_is_a_three_hundred_sixtieth_of_odks_circumference() {
        let metres = distance(&shape("0 0;0 1"));
        assert!((metres - 2.0 * std::f64::consts::PI * EARTH_RADIUS / 360.0).abs() < 1e-6);
        assert_eq!(distance(&shape("90 0;90 1")), 0.0, "at the pole");
        let points = [
            XValue::One(Scalar::Text("0 0".into())),
            XValue::One(Scalar::Text("0 1".into())),
        ];
        assert_eq!(distance(&points), metres, "points as separate arguments");
    }

    #[test]
    fn a_shape_of_one_degree_near_the_equator_has_the_area_of_its_projection() {
        let side = 2.0 * std::f64::consts::PI * EARTH_RADIUS / 360.0;
        let square = area(&shape(UNIT_SQUARE));
        // The eastern sides sit at latitudes 0 and 1, scaled by their cosine.
        assert!((square / (side * side) - 1.0).abs() < 1e-3, "{square}");
        assert_eq!(area(&shape("0 0;0 1")), 0.0, "two points enclose nothing");
        assert_eq!(area(&shape("a")), 0.0);
        assert_eq!(area(&shape("")), 0.0);
    }

    #[test]
    fn geofence_tells_inside_from_outside_of_a_closed_shape() {
        let inside = Scalar::Text("0.5 0.5 0 0".into());
        let outside = Scalar::Text("2 0.5 0 0".into());
        assert!(geofence(&inside, &shape(UNIT_SQUARE)));
        assert!(!geofence(&outside, &shape(UNIT_SQUARE)));
        let open = "0 0 0 0;0 1 0 0;1 1 0 0;1 0 0 0;2 0 0 0";
        assert!(
            !geofence(&inside, &shape(open)),
            "a shape that is not closed"
        );
        assert!(!geofence(&inside, &shape("")));
    }
}
