//! The console's pages at scale: a hub holding many submissions of the safety walk (seeded
//! straight into its storage through the one write path, not through syncs), served on
//! loopback; the time of each page as the client sees it (p50, p99 over repeated requests:
//! server time plus a loopback round trip) and the bytes it weighs.
//! Run: `cargo bench -p minga-hub --bench console` (100,000 submissions; `-- --quick` for
//! 10,000; `-- --postgres` seeds a PostgreSQL hub instead, in a fresh schema of the server
//! `MINGA_TEST_POSTGRES_URL` names: `eval "$(scripts/postgres-test-cluster $$)"` starts one).

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjType, ROOT};
use minga_hub::access::DocKind;
use minga_hub::admin;
use minga_hub::console::users::{add_user, Password};
use minga_hub::server::RunningHub;
use minga_hub::storage::postgres::testing::TestDatabase;
use minga_hub::storage::{DocumentWrite, HubStorage, SqliteStorage};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const PROJECT: &str = "bench";
const PASSWORD: &str = "benchmark password";
/// Devices the submissions come from (the device filter picks one: a twentieth).
const DEVICES: usize = 20;
/// Requests per page, for the percentiles.
const REQUESTS: usize = 40;
/// Submissions per seeding transaction.
const BATCH: usize = 1_000;

/// Submission `n` of the safety walk as a phone would send it: whole `meta`, a respondent,
/// an age, whether she feels safe at night (no for every third) and her concerns (the options
/// whose bit is set in `n`), an instance name, complete.
fn submission(n: usize) -> (String, Vec<u8>) {
    let id = uuid::Uuid::now_v7().to_string();
    let mut doc = AutoCommit::new();
    let meta = doc.put_object(ROOT, "meta", ObjType::Map).unwrap();
    for (key, value) in [
        ("id", id.as_str()),
        ("form_id", "safety_walk"),
        ("form_version", "2026-11-01"),
        ("created_by", "Ana"),
        ("device_id", "phone"),
        ("instance_name", &format!("visit-{n:06}")),
    ] {
        doc.put(&meta, key, value).unwrap();
    }
    let at = automerge::ScalarValue::Timestamp(1_773_480_000_000 + n as i64);
    doc.put(&meta, "created_at", at).unwrap();
    let answers = doc.put_object(ROOT, "answers", ObjType::Map).unwrap();
    doc.put(&answers, "respondent", format!("Persona {n}"))
        .unwrap();
    doc.put(&answers, "age", (n % 90) as i64).unwrap();
    let types = doc.put_object(ROOT, "types", ObjType::Map).unwrap();
    let feels = if n.is_multiple_of(3) { "no" } else { "yes" };
    doc.put(&answers, "feels_safe", feels).unwrap();
    doc.put(&types, "feels_safe", "select_one").unwrap();
    let concerns = doc.put_object(&answers, "concerns", ObjType::Map).unwrap();
    for (bit, option) in ["theft", "extortion", "gangs"].iter().enumerate() {
        if (n >> bit) & 1 == 1 {
            doc.put(&concerns, *option, true).unwrap();
        }
    }
    doc.put(&types, "concerns", "select_multiple").unwrap();
    doc.put(ROOT, "status", "complete").unwrap();
    (id, doc.save())
}

/// Seeds `count` submissions; returns one of their ids.
fn seed(storage: &dyn HubStorage, count: usize) -> String {
    let started = Instant::now();
    let mut last = String::new();
    for first in (0..count).step_by(BATCH) {
        let writes: Vec<DocumentWrite> = (first..(first + BATCH).min(count))
            .map(|n| {
                let (id, changes) = submission(n);
                last = id.clone();
                DocumentWrite {
                    id,
                    kind: DocKind::Submission,
                    author: Some(format!("dev-{}", n % DEVICES)),
                    subject: None,
                    changes,
                    decoded: None,
                    signatures: Default::default(),
                }
            })
            .collect();
        storage.write_documents(PROJECT, &writes, None).unwrap();
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "seeded {count} submissions in {seconds:.1} s ({:.0}/s)",
        count as f64 / seconds
    );
    last
}

/// A signed-in client: the session cookie to send.
fn sign_in(agent: &ureq::Agent, base: &str) -> String {
    let mut form = agent
        .get(&format!("{base}/console/sign-in"))
        .call()
        .unwrap();
    let cookie = form.headers().get("set-cookie").unwrap().to_str().unwrap();
    let signin = cookie.split(';').next().unwrap().to_string();
    let body = form.body_mut().read_to_string().unwrap();
    let start = body.find(r#"name="csrf" value=""#).unwrap() + 19;
    let csrf = &body[start..start + body[start..].find('"').unwrap()];
    let signed = agent
        .post(&format!("{base}/console/sign-in"))
        .header("Cookie", &signin)
        .send_form([("name", "sara"), ("password", PASSWORD), ("csrf", csrf)])
        .unwrap();
    let session = signed
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with("minga_session="))
        .unwrap();
    session.split(';').next().unwrap().to_string()
}

/// Requests `path` [`REQUESTS`] times; prints p50, p99 and the page's bytes.
fn measure(agent: &ureq::Agent, base: &str, cookie: &str, what: &str, path: &str) {
    let mut times = Vec::with_capacity(REQUESTS);
    let mut bytes = 0;
    for _ in 0..REQUESTS {
        let started = Instant::now();
        let mut response = agent
            .get(&format!("{base}{path}"))
            .header("Cookie", cookie)
            .call()
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        bytes = response.body_mut().read_to_vec().unwrap().len();
        times.push(started.elapsed());
    }
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "| {what} | {:.1} ms | {:.1} ms | {:.1} KB |",
        ms(at(0.5)),
        ms(at(0.99)),
        bytes as f64 / 1024.0
    );
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let count = if quick { 10_000 } else { 100_000 };
    let dir = tempfile::tempdir().unwrap();
    // The PostgreSQL schema lives as long as its guard.
    let postgres = std::env::args()
        .any(|a| a == "--postgres")
        .then(|| TestDatabase::for_test("console_bench").expect("a PostgreSQL server"));
    let storage: Arc<dyn HubStorage> = match &postgres {
        Some(database) => Arc::new(database.open().unwrap()),
        None => Arc::new(SqliteStorage::open(dir.path()).unwrap()),
    };
    admin::create_project(storage.as_ref(), PROJECT, None).unwrap();
    let form = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/safety_walk.json");
    admin::publish_form(storage.as_ref(), PROJECT, &form).unwrap();
    add_user(
        storage.as_ref(),
        "sara",
        &[PROJECT.into()],
        &Password::Given(PASSWORD.into()),
    )
    .unwrap();
    let one = seed(storage.as_ref(), count);
    let hub = RunningHub::start(storage.clone(), "127.0.0.1:0").unwrap();
    let base = hub.url();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .build()
        .into();
    let cookie = sign_in(&agent, &base);
    let table = format!("/console/p/{PROJECT}/submissions");
    let half = minga_hub::storage::SubmissionQuery {
        limit: count / 2,
        ..Default::default()
    };
    let rows = storage.submissions(PROJECT, &half).unwrap();
    let middle = rows.last().expect("seeded rows");
    println!("\n{count} submissions, {REQUESTS} requests per page\n");
    println!("| page | p50 | p99 | weight |\n| --- | --- | --- | --- |");
    measure(&agent, &base, &cookie, "table, first page", &table);
    let after = format!("{}~{}", middle.updated_at.timestamp_micros(), middle.id);
    measure(
        &agent,
        &base,
        &cookie,
        "table, a later page",
        &format!("{table}?after={after}"),
    );
    let filtered = format!("{table}?form=safety_walk&review=received&device=dev-3");
    measure(
        &agent,
        &base,
        &cookie,
        "table, filtered (form, review, device)",
        &filtered,
    );
    let oldest = format!("{table}?sort=oldest&device=dev-7");
    measure(
        &agent,
        &base,
        &cookie,
        "table, one device, oldest first",
        &oldest,
    );
    let common = format!("{table}?q=visit-0");
    measure(
        &agent,
        &base,
        &cookie,
        "table, text search matching many",
        &common,
    );
    let rare = format!("{table}?q=visit-{:06}", count - 1);
    measure(
        &agent,
        &base,
        &cookie,
        "table, text search matching one (walks all)",
        &rare,
    );
    let answered = format!("{table}?form=safety_walk&a.feels_safe=no&a.concerns=gangs");
    measure(
        &agent,
        &base,
        &cookie,
        "table, filtered by two answers (a select, a ticked option)",
        &answered,
    );
    let indicators = format!("/console/p/{PROJECT}/indicators?form=safety_walk&group=feels_safe");
    measure(
        &agent,
        &base,
        &cookie,
        "indicators, concerns per answer to feels_safe",
        &format!("{indicators}&question=concerns"),
    );
    measure(
        &agent,
        &base,
        &cookie,
        "indicators, age (a number) per answer to feels_safe",
        &format!("{indicators}&question=age"),
    );
    measure(
        &agent,
        &base,
        &cookie,
        "a submission",
        &format!("{table}/{one}"),
    );
    measure(
        &agent,
        &base,
        &cookie,
        "audit log",
        &format!("/console/p/{PROJECT}/audit"),
    );
    hub.stop().unwrap();
}
