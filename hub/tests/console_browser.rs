//! The console in a real browser: a real `minga-hub serve` process on loopback, phones (core
//! stores) syncing into it over HTTP, then `tests/console/console.mjs` driving Debian's
//! chromium with playwright-core through sign-in, waits, the table, a review, a conflict two
//! phones made, a broken XLSForm's mistakes, enrolling a device, another project's URLs, a
//! forged POST and sign-out (with axe-core on the main pages and screenshots
//! in `target/console-screenshots`); last, the phone syncs and must hold the review the
//! browser wrote. Without chromium or node it prints SKIPPED, unless CI=true, where it fails.

mod common;

use common::{Served, SyncingPhone as Phone};
use minga_core::{AnswerPath, ReviewState, Value};
use minga_hub::access::Role;
use minga_hub::admin;
use minga_hub::console::users::{add_user, Password};
use minga_hub::storage::SqliteStorage;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

const CHROMIUM: &str = "/usr/bin/chromium";
const PASSWORD: &str = "a long enough password";
const HOSTILE: &str = "<script>alert(1)</script>\"><img src=x onerror=alert(2)>";

fn js_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/console")
}

/// Why the browser test cannot run here, if it cannot: no chromium, no node, or its npm
/// packages would not install (`npm ci` from the committed lock file, run here when needed).
fn missing_prerequisite() -> Option<String> {
    if !Path::new(CHROMIUM).exists() {
        return Some(format!(
            "no {CHROMIUM} (scripts/system-deps installs Debian's chromium)"
        ));
    }
    if Command::new("node").arg("--version").output().is_err() {
        return Some("no node".into());
    }
    if !js_dir().join("node_modules/playwright-core").exists() {
        let installed = Command::new("npm")
            .args([
                "ci",
                "--ignore-scripts",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
            ])
            .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
            .current_dir(js_dir())
            .status();
        if !installed.is_ok_and(|s| s.success()) {
            return Some(format!("npm ci failed in {}", js_dir().display()));
        }
    }
    None
}

/// Visit `n` answers "feels safe at night" (no for every third) and its concerns (the options
/// whose bit is set in `n`), and every second visit is located near Ibarra. Returns 1 when it
/// answered no.
fn answer_the_selects(phone: &Phone, visit: &minga_core::DocId, n: usize) -> usize {
    let unsafe_at_night = n.is_multiple_of(3);
    let feels = Value::Choice(if unsafe_at_night { "no" } else { "yes" }.into());
    let set = |question: &str, value: &Value| {
        let path = AnswerPath::new(question);
        phone.store.set_answer(visit, &path, value).unwrap()
    };
    set("feels_safe", &feels);
    let ticked: std::collections::BTreeSet<String> = ["theft", "extortion", "gangs"]
        .iter()
        .enumerate()
        .filter(|(bit, _)| (n >> bit) & 1 == 1)
        .map(|(_, option)| option.to_string())
        .collect();
    if !ticked.is_empty() {
        set("concerns", &Value::Choices(ticked));
    }
    if n.is_multiple_of(2) {
        let place = minga_core::GeoPoint {
            latitude: 0.35 + n as f64 * 0.01,
            longitude: -78.12 + (n % 5) as f64 * 0.02,
            altitude: None,
            accuracy: Some(5.0),
        };
        set("location", &Value::GeoPoint(place));
    }
    usize::from(unsafe_at_night)
}

/// Per group: its submissions and each concern's count, zeroes left out.
type Counts = BTreeMap<String, (u64, BTreeMap<String, u64>)>;

/// The counts the browser read from the indicators table.
fn shown_counts(shown: &serde_json::Value) -> Counts {
    let rows = shown.as_array().unwrap();
    rows.iter()
        .map(|row| {
            let cells = row["cells"].as_object().unwrap();
            let counts = cells
                .iter()
                .map(|(value, count)| (value.clone(), count.as_u64().unwrap()))
                .filter(|(_, count)| *count > 0)
                .collect();
            let group = row["group"].as_str().unwrap().to_string();
            (group, (row["total"].as_u64().unwrap(), counts))
        })
        .collect()
}

/// The same counts from the JSON export the browser downloaded: per answer to `feels_safe`,
/// the submissions and the ticks of each concern.
fn counted_from_export(zip_file: &Path) -> Counts {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(zip_file).unwrap()).unwrap();
    let name = zip
        .file_names()
        .filter_map(Result::ok)
        .find(|name| name.ends_with("safety_walk.json"))
        .expect("the form's JSON in the zip")
        .to_string();
    let export: serde_json::Value = serde_json::from_reader(zip.by_name(&name).unwrap()).unwrap();
    let mut counts = Counts::new();
    for submission in export["submissions"].as_array().unwrap() {
        let answers = &submission["answers"];
        let Some(group) = answers["feels_safe"].as_str() else {
            continue;
        };
        let (total, cells) = counts.entry(group.to_string()).or_default();
        *total += 1;
        for concern in answers["concerns"].as_array().into_iter().flatten() {
            *cells
                .entry(concern.as_str().unwrap().to_string())
                .or_default() += 1;
        }
    }
    counts
}

#[test]
fn a_supervisor_reviews_in_a_real_browser_and_the_phone_receives_it() {
    if let Some(reason) = missing_prerequisite() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI runs the console's browser test, but: {reason}"
        );
        let _ = writeln!(std::io::stderr(), "SKIPPED console browser test: {reason}");
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let storage = SqliteStorage::open(data.path()).unwrap();
    let form = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/safety_walk.json");
    for project in ["imbabura", "carchi"] {
        admin::create_project(&storage, project, None).unwrap();
        admin::publish_form(&storage, project, &form).unwrap();
    }
    let password = Password::Given(PASSWORD.into());
    for name in ["sara", "tomas"] {
        add_user(&storage, name, &["imbabura".into()], &password).unwrap();
    }
    let served = Served::start(data.path(), &["--listen", "127.0.0.1:0"]);
    let base = format!("http://{}", served.addr);

    let ana = Phone::enrol(&storage, &base, "imbabura", "Ana");
    let rosa = ana.fill("Rosa");
    let hostile = ana.fill(HOSTILE);
    let mut feeling_unsafe = 0;
    for n in 0..55 {
        let visit = ana.fill(&format!("visit-{n:02}"));
        feeling_unsafe += answer_the_selects(&ana, &visit, n);
    }
    ana.sync();
    // Ana and the office's supervisor phone each change Marta's name offline: a conflict.
    let office = Phone::enrol_as(&storage, &base, "imbabura", "Oficina", Role::Supervisor);
    let marta = ana.fill("Marta");
    ana.sync();
    office.sync();
    let respondent = AnswerPath::new("respondent");
    for (phone, text) in [(&ana, "Marta Pérez"), (&office, "Marta Perez")] {
        let value = Value::Text(text.into());
        phone.store.set_answer(&marta, &respondent, &value).unwrap();
        phone.sync();
    }
    let ben = Phone::enrol(&storage, &base, "carchi", "Ben");
    let theirs = ben.fill("Luis");
    ben.sync();

    let artefacts = tempfile::tempdir().unwrap();
    let (export_zip, indicators_json) = (
        artefacts.path().join("export.zip"),
        artefacts.path().join("indicators.json"),
    );
    // An office's own outline: one square around Imbabura, drawn instead of the country.
    let outline = artefacts.path().join("imbabura.geojson");
    let square = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"Imbabura"},
        "geometry":{"type":"Polygon","coordinates":[[[-79.2,0.0],[-77.7,0.0],[-77.7,1.0],[-79.2,1.0],[-79.2,0.0]]]}}]}"#;
    std::fs::write(&outline, square).unwrap();
    let screenshots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/console-screenshots");
    let setup = serde_json::json!({
        "base": base,
        "project": "imbabura",
        "otherProject": "carchi",
        "user": "sara",
        "slowUser": "tomas",
        "password": PASSWORD,
        "rosa": rosa.to_string(),
        "hostile": hostile.to_string(),
        "hostileText": HOSTILE,
        "theirs": theirs.to_string(),
        "conflicted": marta.to_string(),
        "brokenForm": Path::new(env!("CARGO_MANIFEST_DIR")).join("../forms/tests/fixtures/mistakes.xlsx"),
        "screenshots": screenshots,
        "feelingUnsafe": feeling_unsafe,
        "exportZip": export_zip,
        "indicatorsJson": indicators_json,
        "located": (0..55usize).filter(|n| n.is_multiple_of(2)).count(),
        "outline": outline,
    });
    let browsed = Command::new("node")
        .arg(js_dir().join("console.mjs"))
        .env("MINGA_CONSOLE_TEST", setup.to_string())
        .current_dir(js_dir())
        .status()
        .unwrap();
    assert!(browsed.success(), "the browser test failed: {browsed}");
    let shown: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&indicators_json).unwrap()).unwrap();
    assert_eq!(
        shown_counts(&shown),
        counted_from_export(&export_zip),
        "the indicators table agrees with the export"
    );

    ana.sync();
    let review = ana
        .store
        .review(&rosa)
        .unwrap()
        .expect("the phone received the review");
    assert_eq!(review.state, ReviewState::Approved);
    assert_eq!(review.decided_by.as_deref(), Some("sara"));
    let flagged: Vec<(Option<&str>, &str)> = review
        .comments
        .iter()
        .map(|c| (c.question.as_deref(), c.text.as_str()))
        .collect();
    assert_eq!(
        flagged,
        [(Some("respondent"), "Check the surname with her")]
    );
    for phone in [&ana, &office] {
        phone.sync();
        let values = phone.store.answer_values(&marta, &respondent).unwrap();
        let kept: Vec<Option<Value>> = values.into_iter().map(|v| v.value).collect();
        assert_eq!(
            kept,
            [Some(Value::Text("Marta Pérez".into()))],
            "settled on both phones"
        );
    }
    let hostile_review = ana.store.review(&hostile).unwrap();
    assert!(hostile_review.is_none(), "the forged POST wrote nothing");
}
