//! The located submissions the console's map draws: each one's place from the projection and,
//! when asked, its answer to a select_one question (from the answer rows) to colour it by.

use super::projection::SqlArg;

/// A rectangle of longitudes and latitudes, in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    pub west: f64,
    pub south: f64,
    pub east: f64,
    pub north: f64,
}

impl Bounds {
    /// The smallest rectangle holding every point (longitude, latitude); `None` for none.
    pub fn around(points: impl Iterator<Item = (f64, f64)>) -> Option<Bounds> {
        points.fold(None, |bounds: Option<Bounds>, (lon, lat)| {
            Some(match bounds {
                None => Bounds {
                    west: lon,
                    south: lat,
                    east: lon,
                    north: lat,
                },
                Some(b) => Bounds {
                    west: b.west.min(lon),
                    south: b.south.min(lat),
                    east: b.east.max(lon),
                    north: b.north.max(lat),
                },
            })
        })
    }
}

/// Which located submissions the map shows: not deleted, of `form_id` when given, within
/// `within` when given, with their answer to `colour` when given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LocatedQuery {
    pub form_id: Option<String>,
    pub colour: Option<String>,
    pub within: Option<Bounds>,
}

/// One located submission.
#[derive(Debug, Clone, PartialEq)]
pub struct LocatedPoint {
    pub id: String,
    pub name: Option<String>,
    pub latitude: f64,
    pub longitude: f64,
    /// Its answer to the colouring question, if asked and answered.
    pub value: Option<String>,
}

/// The SELECT of the located submissions (id, instance name, latitude, longitude, colouring
/// answer), with its arguments. Cost: a walk of the project's (or form's) rows through their
/// index, one key probe per row for the colouring answer; no document is loaded.
pub fn located_sql(
    project: &str,
    query: &LocatedQuery,
    placeholder: fn(usize) -> String,
) -> (String, Vec<SqlArg>) {
    let mut args = vec![
        SqlArg::Text(project.into()),
        SqlArg::Text(query.colour.clone().unwrap_or_default()),
    ];
    let mut conditions = vec![
        format!("s.project = {}", placeholder(1)),
        "NOT s.deleted".into(),
        "s.latitude IS NOT NULL AND s.longitude IS NOT NULL".into(),
    ];
    if let Some(form) = &query.form_id {
        args.push(SqlArg::Text(form.clone()));
        conditions.push(format!("s.form_id = {}", placeholder(args.len())));
    }
    if let Some(b) = query.within {
        for (column, operator, value) in [
            ("longitude", ">=", b.west),
            ("longitude", "<=", b.east),
            ("latitude", ">=", b.south),
            ("latitude", "<=", b.north),
        ] {
            args.push(SqlArg::Float(value));
            conditions.push(format!("s.{column} {operator} {}", placeholder(args.len())));
        }
    }
    let sql = format!(
        "SELECT s.id, s.instance_name, s.latitude, s.longitude, a.value
         FROM submissions s LEFT JOIN submission_answers a
             ON a.project = s.project AND a.id = s.id AND a.question = {}
         WHERE {}",
        placeholder(2),
        conditions.join(" AND ")
    );
    (sql, args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_hold_every_point_and_none_has_none() {
        let points = [(-78.5, -0.2), (-79.0, 0.35), (-77.9, -1.0)];
        let bounds = Bounds::around(points.into_iter()).unwrap();
        assert_eq!(
            bounds,
            Bounds {
                west: -79.0,
                south: -1.0,
                east: -77.9,
                north: 0.35
            }
        );
        assert_eq!(Bounds::around(std::iter::empty()), None);
    }
}
