//! The indicators page: for a form, a select or numeric question counted per value of a
//! grouping question (province, canton, any select question), over a range of creation dates,
//! as a table, a bar chart drawn in SVG by the server (no script), and a CSV download. Read from
//! the hub's answer rows ([`crate::storage::answers`]), never from documents; labels are the
//! form's own, in its language matching the console's.

use super::questions::{offered, Offered};
use super::submissions::Choice;
use super::{audit_entry, field, fields, Client, ProjectPage};
use crate::console::i18n::{Lang, Texts};
use crate::console::{html, url_escape, Chrome};
use crate::server::state::AppState;
use crate::storage::{HubStorage, Indicator, IndicatorQuery};
use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;

/// What the page is asked for, from its query string.
#[derive(Debug, Clone, Default, PartialEq)]
struct Asked {
    form: Option<String>,
    question: Option<String>,
    group: Option<String>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
}

impl Asked {
    fn parse(query: &str) -> Asked {
        let sent = fields(query.as_bytes());
        let text = |name| field(&sent, name).map(String::from);
        let date = |name| field(&sent, name).and_then(|d| d.parse::<NaiveDate>().ok());
        Asked {
            form: text("form"),
            question: text("question"),
            group: text("group"),
            from: date("from"),
            to: date("to"),
        }
    }

    /// The query string asking for this again (for the CSV link).
    fn query_string(&self) -> String {
        let pairs = [
            ("form", self.form.clone()),
            ("question", self.question.clone()),
            ("group", self.group.clone()),
            ("from", self.from.map(|d| d.to_string())),
            ("to", self.to.map(|d| d.to_string())),
        ];
        pairs
            .iter()
            .filter_map(|(key, value)| Some(format!("{key}={}", url_escape(value.as_ref()?))))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// One group's row: its value, label, submissions, and one cell per column.
#[derive(Debug, Clone, PartialEq)]
struct GroupRow {
    value: String,
    label: String,
    total: i64,
    cells: Vec<Cell>,
}

/// A cell: a count and its share of the group's submissions, or a number (a mean, least,
/// greatest or sum).
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Count { count: i64, share: f64 },
    Number(Option<f64>),
}

impl Cell {
    fn shown(&self) -> String {
        match self {
            Cell::Count { count, share } => format!("{count} ({:.1} %)", share * 100.0),
            Cell::Number(Some(number)) => format!("{number:.2}"),
            Cell::Number(None) => String::new(),
        }
    }
}

/// An indicator laid out: the columns after the group and its total, and the rows.
#[derive(Debug, Clone, PartialEq)]
struct Table {
    /// (value or measure name, label) of each column.
    columns: Vec<(String, String)>,
    rows: Vec<GroupRow>,
    /// Whether the question is a number (columns are measures, not options).
    numeric: bool,
}

/// Lays out `indicator` of `question` grouped by `group`. A select's columns are its options
/// in the form's order, then any value answered that the form does not list.
fn table(indicator: &Indicator, question: &Offered, group: &Offered, t: &Texts) -> Table {
    let numeric = !question.is_select();
    let columns: Vec<(String, String)> = match numeric {
        true => [
            ("answered", t.answered),
            ("mean", t.mean),
            ("min", t.least),
            ("max", t.greatest),
            ("sum", t.sum),
        ]
        .iter()
        .map(|(name, label)| (name.to_string(), label.to_string()))
        .collect(),
        false => {
            let mut columns = question.options.clone();
            for cell in &indicator.cells {
                let value = cell.value.clone().unwrap_or_default();
                if !columns.iter().any(|(name, _)| *name == value) {
                    columns.push((value.clone(), value));
                }
            }
            columns
        }
    };
    let rows = indicator
        .groups
        .iter()
        .map(|(value, total)| {
            let cells = indicator.cells.iter().filter(|c| c.group == *value);
            let share = |count: i64| count as f64 / (*total).max(1) as f64;
            let cells = match numeric {
                true => {
                    let found = cells.clone().next();
                    let count = found.map_or(0, |c| c.count);
                    let mean = found.and_then(|c| Some(c.sum? / c.count.max(1) as f64));
                    vec![
                        Cell::Count {
                            count,
                            share: share(count),
                        },
                        Cell::Number(mean),
                        Cell::Number(found.and_then(|c| c.min)),
                        Cell::Number(found.and_then(|c| c.max)),
                        Cell::Number(found.and_then(|c| c.sum)),
                    ]
                }
                false => columns
                    .iter()
                    .map(|(option, _)| {
                        let count = cells
                            .clone()
                            .find(|c| c.value.as_deref() == Some(option))
                            .map_or(0, |c| c.count);
                        Cell::Count {
                            count,
                            share: share(count),
                        }
                    })
                    .collect(),
            };
            GroupRow {
                label: group.option_label(value),
                value: value.clone(),
                total: *total,
                cells,
            }
        })
        .collect();
    Table {
        columns,
        rows,
        numeric,
    }
}

/// The CSV of `table`: one line per group and column (group, its label, the column's value
/// or measure, its label, the group's submissions, the count or number, the share).
fn csv(table: &Table) -> String {
    let mut out = String::from(minga_core::export::csv::BYTE_ORDER_MARK);
    let header = [
        "group",
        "group_label",
        "value",
        "value_label",
        "submissions",
        "count",
        "proportion",
        "number",
    ];
    out.push_str(&header.join(","));
    out.push_str("\r\n");
    for row in &table.rows {
        for ((value, label), cell) in table.columns.iter().zip(&row.cells) {
            let (count, share, number) = match cell {
                Cell::Count { count, share } => {
                    (count.to_string(), format!("{share:.4}"), String::new())
                }
                Cell::Number(number) => (
                    String::new(),
                    String::new(),
                    number.map(|n| n.to_string()).unwrap_or_default(),
                ),
            };
            let line = [
                csv_text(&row.value),
                csv_text(&row.label),
                csv_text(value),
                csv_text(label),
                row.total.to_string(),
                count,
                share,
                number,
            ];
            out.push_str(&line.join(","));
            out.push_str("\r\n");
        }
    }
    out
}

/// A text cell as a spreadsheet reads it safely: a `'` before what would start a formula
/// (as the export's CSV does, OWASP's list), quoted when it holds a comma, quote or line break.
fn csv_text(text: &str) -> String {
    let text = match text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        true => format!("'{text}"),
        false => text.to_string(),
    };
    match text.contains([',', '"', '\n', '\r']) {
        true => format!("\"{}\"", text.replace('"', "\"\"")),
        false => text,
    }
}

/// The bar chart's geometry: one horizontal bar per group, split by option (a select, each
/// segment its share of the group) or as long as the group's mean (a number) against the
/// greatest mean.
#[derive(Debug, Clone, PartialEq)]
struct Chart {
    width: u32,
    height: u32,
    rows: Vec<ChartRow>,
    legend: Vec<LegendEntry>,
}

#[derive(Debug, Clone, PartialEq)]
struct ChartRow {
    label: String,
    /// The label's baseline and the bar's top.
    text_y: u32,
    bar_y: u32,
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq)]
struct Segment {
    x: String,
    width: String,
    fill: &'static str,
    title: String,
}

#[derive(Debug, Clone, PartialEq)]
struct LegendEntry {
    label: String,
    fill: &'static str,
}

/// Colours told apart by most colour-blind readers (Okabe and Ito's palette), then repeated.
pub const PALETTE: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
];

/// Where bars start (after the group's label) and how long a whole bar is.
const LABEL_WIDTH: f64 = 180.0;
const BAR_WIDTH: f64 = 420.0;
const ROW_HEIGHT: u32 = 28;

fn chart(table: &Table) -> Chart {
    let greatest_mean = table
        .rows
        .iter()
        .filter_map(|row| match row.cells.get(1) {
            Some(Cell::Number(Some(mean))) => Some(*mean),
            _ => None,
        })
        .fold(0.0_f64, f64::max);
    let rows = table
        .rows
        .iter()
        .enumerate()
        .map(|(n, row)| {
            let top = n as u32 * ROW_HEIGHT;
            let segments = match table.numeric {
                true => mean_bar(row, greatest_mean),
                false => share_bars(row, &table.columns),
            };
            ChartRow {
                label: row.label.clone(),
                text_y: top + 18,
                bar_y: top + 4,
                segments,
            }
        })
        .collect();
    let legend = match table.numeric {
        true => Vec::new(),
        false => table
            .columns
            .iter()
            .enumerate()
            .map(|(n, (_, label))| LegendEntry {
                label: label.clone(),
                fill: PALETTE[n % PALETTE.len()],
            })
            .collect(),
    };
    Chart {
        width: (LABEL_WIDTH + BAR_WIDTH) as u32 + 80,
        height: (table.rows.len() as u32 * ROW_HEIGHT).max(ROW_HEIGHT),
        rows,
        legend,
    }
}

fn share_bars(row: &GroupRow, columns: &[(String, String)]) -> Vec<Segment> {
    let mut x = LABEL_WIDTH;
    let mut segments = Vec::new();
    for (n, (cell, (_, label))) in row.cells.iter().zip(columns).enumerate() {
        let Cell::Count { count, share } = cell else {
            continue;
        };
        // A select_multiple's shares can add up to more than one: the bar is then split by
        // the shares of the ticks, not of the submissions.
        let ticks: i64 = row
            .cells
            .iter()
            .map(|c| match c {
                Cell::Count { count, .. } => *count,
                Cell::Number(_) => 0,
            })
            .sum();
        let width = BAR_WIDTH * *count as f64 / ticks.max(1) as f64;
        if width > 0.0 {
            segments.push(Segment {
                x: format!("{x:.1}"),
                width: format!("{width:.1}"),
                fill: PALETTE[n % PALETTE.len()],
                title: format!("{label}: {count} ({:.1} %)", share * 100.0),
            });
        }
        x += width;
    }
    segments
}

fn mean_bar(row: &GroupRow, greatest: f64) -> Vec<Segment> {
    let Some(Cell::Number(Some(mean))) = row.cells.get(1) else {
        return Vec::new();
    };
    let width = match greatest > 0.0 {
        true => BAR_WIDTH * mean.max(0.0) / greatest,
        false => 0.0,
    };
    vec![Segment {
        x: format!("{LABEL_WIDTH:.1}"),
        width: format!("{width:.1}"),
        fill: PALETTE[0],
        title: format!("{}: {mean:.2}", row.label),
    }]
}

/// What the page shows once form, question and group are chosen.
struct Shown {
    question: String,
    group: String,
    table: Table,
    chart: Chart,
    csv_link: String,
}

#[derive(Template)]
#[template(path = "console/indicators.html")]
struct IndicatorsPage {
    chrome: Chrome,
    project: String,
    forms: Vec<Choice>,
    questions: Vec<Choice>,
    groups: Vec<Choice>,
    from: String,
    to: String,
    shown: Option<Shown>,
}

/// What is read for a page: the forms' ids, the offered questions, and the indicator when
/// the form, question and group name questions the form has.
struct Read {
    forms: Vec<String>,
    offered: Vec<Offered>,
    found: Option<(Offered, Offered, Indicator)>,
}

/// Reads the page's data. Cost: the published forms, and the indicator's two index scans.
fn read(storage: &dyn HubStorage, project: &str, asked: &Asked, lang: Lang) -> crate::Result<Read> {
    let published = storage.forms(project)?;
    let mut forms: Vec<String> = published.iter().map(|f| f.id.clone()).collect();
    forms.sort();
    forms.dedup();
    let offered = match &asked.form {
        Some(form) => offered(&published, Some(form), lang),
        None => Vec::new(),
    };
    let find = |name: &Option<String>| offered.iter().find(|o| Some(&o.name) == name.as_ref());
    let found = match (&asked.form, find(&asked.question), find(&asked.group)) {
        (Some(form), Some(question), Some(group)) if group.is_select() => {
            let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
            let query = IndicatorQuery {
                form_id: form.clone(),
                question: question.name.clone(),
                group: group.name.clone(),
                from: asked.from.and_then(midnight),
                before: asked.to.and_then(|d| d.succ_opt()).and_then(midnight),
                by_value: question.is_select(),
            };
            let indicator = storage.indicator(project, &query)?;
            Some((question.clone(), group.clone(), indicator))
        }
        _ => None,
    };
    Ok(Read {
        forms,
        offered,
        found,
    })
}

/// The choices of a list: (value, label) pairs, the `chosen` one marked.
pub(super) fn choices(
    values: impl Iterator<Item = (String, String)>,
    chosen: &Option<String>,
) -> Vec<Choice> {
    values
        .map(|(value, label)| Choice {
            chosen: chosen.as_ref() == Some(&value),
            value,
            label,
        })
        .collect()
}

/// `GET /console/p/{project}/indicators?form=F&question=Q&group=G[&from=D&to=D]`.
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
        .blocking(move |storage| read(storage, &name, &wanted, lang))
        .await;
    let Read {
        forms,
        offered,
        found,
    } = match read {
        Ok(read) => read,
        Err(error) => return error.into_response(),
    };
    let t = lang.texts();
    let shown = found.map(|(question, group, indicator)| {
        let table = table(&indicator, &question, &group, t);
        Shown {
            chart: chart(&table),
            table,
            question: question.label,
            group: group.label,
            csv_link: format!(
                "/console/p/{project}/indicators/csv?{}",
                asked.query_string()
            ),
        }
    });
    let labelled = |o: &Offered| (o.name.clone(), o.label.clone());
    let here = format!("/console/p/{project}/indicators?{query}");
    let page = IndicatorsPage {
        chrome: Chrome::signed(lang, &here, &signed, Some(&project)),
        forms: choices(forms.into_iter().map(|f| (f.clone(), f)), &asked.form),
        questions: choices(offered.iter().map(labelled), &asked.question),
        groups: choices(
            offered.iter().filter(|o| o.is_select()).map(labelled),
            &asked.group,
        ),
        from: asked.from.map(|d| d.to_string()).unwrap_or_default(),
        to: asked.to.map(|d| d.to_string()).unwrap_or_default(),
        shown,
        project,
    };
    html(StatusCode::OK, &page)
}

/// `GET /console/p/{project}/indicators/csv?…`: the same indicator as CSV, audited as an
/// export; 404 when the form, question or group is not one the project has.
pub async fn download(
    State(state): State<AppState>,
    ProjectPage {
        signed,
        project,
        lang,
    }: ProjectPage,
    client: Client,
    RawQuery(query): RawQuery,
) -> Response {
    let asked = Asked::parse(&query.unwrap_or_default());
    let (name, who) = (project.clone(), signed.user.name.clone());
    let read = state
        .blocking(move |storage| {
            let read = read(storage, &name, &asked, lang)?;
            if read.found.is_some() {
                let entry = audit_entry(&who, "export indicators csv", Some(&name), None, client.0);
                storage.record_audit(&entry)?;
            }
            Ok(read.found)
        })
        .await;
    match read {
        Ok(Some((question, group, indicator))) => {
            let t = lang.texts();
            let body = csv(&table(&indicator, &question, &group, t));
            let disposition = format!(
                "attachment; filename=\"minga-{project}-{}-by-{}.csv\"",
                question.name, group.name
            );
            (
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                    (header::CONTENT_DISPOSITION, disposition),
                ],
                body,
            )
                .into_response()
        }
        Ok(None) => super::not_found(lang),
        Err(error) => error.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::pages::questions::Asked as Kind;
    use crate::storage::IndicatorCell;

    fn province() -> Offered {
        Offered {
            name: "province".into(),
            label: "Province".into(),
            asked: Kind::One,
            options: vec![
                ("imb".into(), "Imbabura".into()),
                ("pich".into(), "Pichincha".into()),
            ],
        }
    }

    fn safety() -> Offered {
        Offered {
            name: "safety".into(),
            label: "Safety".into(),
            asked: Kind::One,
            options: vec![
                ("safe".into(), "Safe".into()),
                ("unsafe".into(), "Unsafe".into()),
            ],
        }
    }

    fn cell(group: &str, value: Option<&str>, count: i64, sum: Option<f64>) -> IndicatorCell {
        IndicatorCell {
            group: group.into(),
            value: value.map(String::from),
            count,
            sum,
            min: sum,
            max: sum,
        }
    }

    #[test]
    fn a_select_is_counted_per_option_with_its_share_of_the_group() {
        let indicator = Indicator {
            groups: vec![("imb".into(), 4), ("pich".into(), 1)],
            cells: vec![
                cell("imb", Some("safe"), 1, None),
                cell("imb", Some("unsafe"), 3, None),
                cell("pich", Some("=odd"), 1, None),
            ],
        };
        let table = table(&indicator, &safety(), &province(), Lang::En.texts());
        let labels: Vec<&str> = table.columns.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(labels, ["Safe", "Unsafe", "=odd"], "an unlisted value last");
        assert_eq!(table.rows[0].label, "Imbabura");
        assert_eq!(
            table.rows[0].cells[1],
            Cell::Count {
                count: 3,
                share: 0.75
            }
        );
        assert_eq!(table.rows[1].cells[2].shown(), "1 (100.0 %)");
        let csv = csv(&table);
        assert!(
            csv.contains("\r\nimb,Imbabura,unsafe,Unsafe,4,3,0.7500,\r\n"),
            "{csv}"
        );
        assert!(
            csv.contains("pich,Pichincha,'=odd,'=odd,1,1,1.0000,"),
            "{csv}"
        );
        let chart = chart(&table);
        let widths: Vec<&str> = chart.rows[0]
            .segments
            .iter()
            .map(|s| s.width.as_str())
            .collect();
        assert_eq!(widths, ["105.0", "315.0"]);
        assert_eq!(chart.legend.len(), 3);
    }

    #[test]
    fn a_number_is_summed_up_per_group_and_charted_by_its_mean() {
        let age = Offered {
            name: "age".into(),
            label: "Age".into(),
            asked: Kind::Number,
            options: Vec::new(),
        };
        let indicator = Indicator {
            groups: vec![("imb".into(), 4), ("pich".into(), 2)],
            cells: vec![
                cell("imb", None, 2, Some(60.0)),
                cell("pich", None, 2, Some(30.0)),
            ],
        };
        let table = table(&indicator, &age, &province(), Lang::En.texts());
        assert!(table.numeric);
        assert_eq!(
            table.rows[0].cells[0],
            Cell::Count {
                count: 2,
                share: 0.5
            }
        );
        assert_eq!(table.rows[0].cells[1], Cell::Number(Some(30.0)));
        let chart = chart(&table);
        assert_eq!(chart.rows[0].segments[0].width, "420.0");
        assert_eq!(chart.rows[1].segments[0].width, "210.0");
    }
}
