//! The store's budgets, measured side by side in one run (a plain `harness = false` bench:
//! the budgets are percentiles, p50 and p99, which criterion does not report).
//!
//! - set one answer durably in a store of 10,000 submissions, against a bare SQLite insert of
//!   the same number of bytes in the same kind of file (SQLCipher, WAL, synchronous=FULL),
//!   alternating one with the other so that both see the same disk;
//! - open that store and list its first page;
//! - disk bytes per submission against the same answers as JSON;
//! - what checking a received submission against its form version costs (issue 16: flagged on
//!   arrival): the same complete submissions received into a store without their form and
//!   into one holding it, alternating, and the checker alone.
//!
//! Run: `cargo bench -p minga-core --bench store` (figures go to BENCHMARKS.md); with
//! `-- --arrival-only`, only the last.

use minga_core::automerge::transaction::Transactable;
use minga_core::automerge::{AutoCommit, ReadDoc, ROOT};
use minga_core::minga_sync::signatures::SignedChange;
use minga_core::{
    AnswerPath, DeviceIdentity, DocId, DocKind, Encryption, FormRef, GeoPoint, ReceivedChanges,
    Store, StoreKey, Value,
};
use std::path::Path;
use std::time::{Duration, Instant};

const SUBMISSIONS: usize = 10_000;
const SAMPLES: usize = 2_000;
const KEY: [u8; 32] = [0x5a; 32];

fn main() {
    let dir = tempfile::tempdir_in(std::env::var("MINGA_BENCH_DIR").unwrap_or_else(|_| ".".into()))
        .unwrap();
    let identity = DeviceIdentity::new("bench-device", "ana");
    let template_answers = forty_answers(0);
    if std::env::args().any(|arg| arg == "--arrival-only") {
        received_with_and_without_the_form(dir.path(), &identity);
        return;
    }

    // A store of 10,000 submissions, received in batches the way sync brings them.
    let path = dir.path().join("store.db");
    let store = Store::open(&path, Encryption::Key(StoreKey::new(KEY)), identity.clone()).unwrap();
    let template = filled_template(&dir.path().join("template.db"), &identity);
    let started = Instant::now();
    let ids = fill_store(&store, &template);
    println!(
        "filled {SUBMISSIONS} submissions in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let bare = bare_table(&dir.path().join("bare.db"));
    set_answer_against_bare_insert(&store, &path, &ids, &bare, Target::Open);
    set_answer_against_bare_insert(&store, &path, &ids, &bare, Target::Random);
    drop(store);
    open_and_list(&path, &identity);
    disk_per_submission(
        &path,
        SUBMISSIONS,
        &template_answers,
        "10,000 received submissions (1 snapshot each)",
    );
    let filled_here = filled_through_the_api(dir.path(), &identity, 200);
    disk_per_submission(
        &filled_here,
        200,
        &template_answers,
        "200 submissions, 40 set_answer calls each",
    );
    received_with_and_without_the_form(dir.path(), &identity);
}

/// How many submissions each round of the arrival comparison receives.
const ARRIVING: usize = 2_000;

/// The cost of the check on arrival: rounds alternating a store that lacks the form (nothing
/// to check against) with one that holds it, each receiving the same `ARRIVING` complete
/// submissions in batches of 500; then the checker alone on one submission's answers.
fn received_with_and_without_the_form(dir: &Path, identity: &DeviceIdentity) {
    let template = filled_template(&dir.join("arriving.db"), identity);
    println!(
        "
receive {ARRIVING} complete submissions of 40 answers, batches of 500:"
    );
    let (mut without, mut with) = (Vec::new(), Vec::new());
    for round in 0..4 {
        // Each round in the other order, so that neither store always follows the other's
        // writes to the disk.
        let mut order = [(false, &mut without), (true, &mut with)];
        if round % 2 == 1 {
            order.reverse();
        }
        for (holds_form, times) in order {
            let path = dir.join(format!("arrival-{round}-{holds_form}.db"));
            let store =
                Store::open(&path, Encryption::Key(StoreKey::new(KEY)), identity.clone()).unwrap();
            if holds_form {
                store.publish_form(&dialogue_form()).unwrap();
            }
            let started = Instant::now();
            let ids = receive_copies(&store, &template, ARRIVING);
            times.push(started.elapsed() / ARRIVING as u32);
            let flagged = store.invalid_reasons(&ids[0]).unwrap();
            assert!(flagged.is_empty(), "the copies fit their form: {flagged:?}");
        }
    }
    report("  per submission, form not held (no check)", &mut without);
    report("  per submission, form held (checked)", &mut with);
    let answers = template_answers_of(&template);
    let doc = AutoCommit::load(&template.bytes).unwrap();
    let mut reads = Vec::new();
    for _ in 0..SAMPLES {
        let started = Instant::now();
        assert_eq!(minga_core::read_answers(&doc), answers);
        reads.push(started.elapsed());
    }
    report("  reading the answers out of the document", &mut reads);
    let checker = minga_forms::check::FormChecker::new(dialogue_form());
    for complete in [false, true] {
        let mut times = Vec::new();
        for _ in 0..SAMPLES {
            let started = Instant::now();
            let found =
                checker.problems(&answers, complete, minga_forms::check::checking_context());
            times.push(started.elapsed());
            assert!(found.is_empty(), "{found:?}");
        }
        report(
            &format!("  the checker alone, complete = {complete}"),
            &mut times,
        );
    }
}

/// The answers a template submission holds, as the checker reads them.
fn template_answers_of(template: &Template) -> minga_forms::Answers {
    let doc = AutoCommit::load(&template.bytes).unwrap();
    minga_core::read_answers(&doc)
}

/// The form the forty answers belong to (`dialogue` version `2026-03`), with a required date
/// and a constraint on a count, so that completing has something to evaluate.
fn dialogue_form() -> minga_forms::Form {
    use serde_json::json;
    let question = |name: String, kind: serde_json::Value| json!({"kind": "question", "name": name, "type": kind});
    let mut survey = Vec::new();
    for i in 0..15 {
        survey.push(question(
            format!("text_answer_{i:02}"),
            json!({"base": "text"}),
        ));
    }
    for i in 0..10 {
        let mut count = question(format!("count_answer_{i:02}"), json!({"base": "integer"}));
        count["constraint"] = json!(". < 100000");
        survey.push(count);
    }
    for i in 0..5 {
        survey.push(question(
            format!("decimal_answer_{i}"),
            json!({"base": "decimal"}),
        ));
    }
    for i in 0..5 {
        let kind = json!({"base": "select_one", "list": "yes_no"});
        survey.push(question(format!("choice_answer_{i}"), kind));
    }
    for i in 0..3 {
        let kind = json!({"base": "select_multiple", "list": "harms"});
        survey.push(question(format!("multi_answer_{i}"), kind));
    }
    let mut date = question("visit_date".into(), json!({"base": "date"}));
    date["required"] = json!("true()");
    survey.push(date);
    survey.push(question(
        "visit_location".into(),
        json!({"base": "geo_point"}),
    ));
    let names = |names: &[&str]| -> Vec<serde_json::Value> {
        names.iter().map(|name| json!({"name": name})).collect()
    };
    serde_json::from_value(json!({
        "id": "dialogue", "version": "2026-03", "title": {"default": "Dialogue"},
        "default_language": null, "languages": [], "instance_name": null,
        "survey": survey,
        "choices": {
            "yes_no": names(&["si", "no", "no_sabe"]),
            "harms": names(&["extorsion", "robo", "violencia_domestica", "reclutamiento"]),
        },
    }))
    .unwrap()
}

/// Forty answers of the kinds a dialogue record has.
fn forty_answers(variant: usize) -> Vec<(String, Value)> {
    let mut answers = Vec::new();
    for i in 0..15 {
        answers.push((
            format!("text_answer_{i:02}"),
            Value::Text(format!("respuesta número {i} del hogar {variant}")),
        ));
    }
    for i in 0..10 {
        answers.push((
            format!("count_answer_{i:02}"),
            Value::Integer((variant * 7 + i) as i64 % 90),
        ));
    }
    for i in 0..5 {
        answers.push((
            format!("decimal_answer_{i}"),
            Value::Decimal(12.5 * i as f64 + variant as f64 / 10.0),
        ));
    }
    for i in 0..5 {
        answers.push((
            format!("choice_answer_{i}"),
            Value::Choice(["si", "no", "no_sabe"][(i + variant) % 3].into()),
        ));
    }
    for i in 0..3 {
        let options = ["extorsion", "robo", "violencia_domestica", "reclutamiento"];
        answers.push((
            format!("multi_answer_{i}"),
            Value::Choices(
                options[..2 + (i + variant) % 3]
                    .iter()
                    .map(|o| o.to_string())
                    .collect(),
            ),
        ));
    }
    answers.push((
        "visit_date".into(),
        Value::Date("2026-03-14".parse().unwrap()),
    ));
    answers.push((
        "visit_location".into(),
        Value::GeoPoint(GeoPoint {
            latitude: -0.2105,
            longitude: -78.4036,
            altitude: Some(2355.0),
            accuracy: Some(4.0),
        }),
    ));
    answers
}

/// One submission filled through the real API, one `set_answer` per answer, exported.
fn filled_template(path: &Path, identity: &DeviceIdentity) -> Template {
    let store = Store::open(path, Encryption::PlainFile, identity.clone()).unwrap();
    let id = store
        .create_submission(&FormRef::new("dialogue", "2026-03"))
        .unwrap();
    for (name, value) in forty_answers(0) {
        store
            .set_answer(&id, &AnswerPath::new(name), &value)
            .unwrap();
    }
    // Complete, as what arrives from a phone mostly is: the check on arrival evaluates it.
    store.set_status(&id, minga_core::Status::Complete).unwrap();
    Template {
        bytes: store.document_bytes(&id).unwrap(),
        signatures: store.change_signatures(&id).unwrap(),
    }
}

/// A submission's automerge bytes and the signatures of its changes, which its copies share.
struct Template {
    bytes: Vec<u8>,
    signatures: Vec<SignedChange>,
}

/// 10,000 copies of the template, each with its own id and a different answer, as another
/// device would have made them; applied in batches of 500 (one transaction each), every change
/// verified as received changes are.
fn fill_store(store: &Store, template: &Template) -> Vec<DocId> {
    receive_copies(store, template, SUBMISSIONS)
}

/// `count` copies of the template received as `fill_store` receives them.
fn receive_copies(store: &Store, template: &Template, count: usize) -> Vec<DocId> {
    let mut ids = Vec::with_capacity(count);
    let mut batch = Vec::new();
    for n in 0..count {
        let mut doc = AutoCommit::load(&template.bytes).unwrap();
        let id: DocId = uuid::Uuid::now_v7().to_string().parse().unwrap();
        let meta = doc.get(ROOT, "meta").unwrap().unwrap().1;
        doc.put(&meta, "id", id.to_string()).unwrap();
        let answers = doc.get(ROOT, "answers").unwrap().unwrap().1;
        doc.put(&answers, "count_answer_00", n as i64).unwrap();
        batch.push(ReceivedChanges {
            id,
            kind: DocKind::Submission,
            bytes: doc.save(),
            signatures: template.signatures.clone(),
        });
        ids.push(id);
        if batch.len() == 500 {
            store.apply_changes(&batch).unwrap();
            batch.clear();
        }
    }
    store.apply_changes(&batch).unwrap();
    ids
}

/// Which submission each sample answers.
#[derive(Clone, Copy)]
enum Target {
    /// The one being filled in, in memory, as while a facilitator works through a form: the
    /// same submission for 100 answers, then the next one.
    Open,
    /// A random one of the 10,000: decoded from disk first, the worst case.
    Random,
}

fn set_answer_against_bare_insert(
    store: &Store,
    path: &Path,
    ids: &[DocId],
    bare: &rusqlite::Connection,
    target: Target,
) {
    let reader = open_reader(path);
    let mut state = 0x9e3779b97f4a7c15u64;
    let mut pick = move |below: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % below as u64) as usize
    };
    let (mut ours, mut theirs, mut sizes) = (Vec::new(), Vec::new(), Vec::new());
    let (mut our_cpu, mut their_cpu) = (0, 0);
    for sample in 0..SAMPLES {
        let id = match target {
            Target::Open => ids[sample / 100],
            Target::Random => ids[pick(ids.len())],
        };
        let name = format!("text_answer_{:02}", pick(15));
        let value = Value::Text(format!("corrección {sample} del supervisor"));
        let before = stored_sizes(&reader, &id);
        let (started, cpu) = (Instant::now(), cpu_ticks());
        store
            .set_answer(&id, &AnswerPath::new(name), &value)
            .unwrap();
        ours.push(started.elapsed());
        our_cpu += cpu_ticks() - cpu;
        let written = bytes_written(before, stored_sizes(&reader, &id));
        sizes.push(written);

        let bytes = vec![(sample % 251) as u8; written];
        let (started, cpu) = (Instant::now(), cpu_ticks());
        bare.execute("INSERT INTO bare (bytes) VALUES (?1)", [&bytes])
            .unwrap();
        theirs.push(started.elapsed());
        their_cpu += cpu_ticks() - cpu;
    }
    sizes.sort();
    let which = match target {
        Target::Open => "the submission being filled (in memory, 100 answers each)",
        Target::Random => "a random submission (decoded from disk first)",
    };
    println!("\nset one answer, durable (WAL, synchronous=FULL), store of {SUBMISSIONS}, {SAMPLES} samples, {which}:");
    report("  minga set_answer", &mut ours);
    report("  bare SQLite insert of the same bytes", &mut theirs);
    let per_call = |ticks: u64| Duration::from_millis(ticks * 10) / SAMPLES as u32;
    println!(
        "  CPU time per call (this thread, from 100 Hz ticks): minga {:?}, bare {:?}",
        per_call(our_cpu),
        per_call(their_cpu)
    );
    println!(
        "  bytes written per answer: median {}, p99 {} (compactions rewrite the snapshot)",
        sizes[sizes.len() / 2],
        sizes[sizes.len() * 99 / 100]
    );
}

/// A SQLCipher file with the store's settings and one table: what "a bare insert" means.
fn bare_table(path: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", hex(&KEY)))
        .unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", "FULL").unwrap();
    conn.execute_batch("CREATE TABLE bare (id INTEGER PRIMARY KEY, bytes BLOB NOT NULL)")
        .unwrap();
    conn
}

fn open_reader(path: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", hex(&KEY)))
        .unwrap();
    conn
}

/// A document's (snapshot, increments) byte counts, as its row records them.
fn stored_sizes(reader: &rusqlite::Connection, id: &DocId) -> (i64, i64) {
    let id = uuid::Uuid::parse_str(&id.to_string()).unwrap();
    reader
        .query_row(
            "SELECT snapshot_len, increments_len FROM documents WHERE doc_id = ?1",
            [id.as_bytes().as_slice()],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap()
}

/// What one write stored: an increment, or (when increments outgrew it) a new snapshot.
fn bytes_written(
    (snapshot, increments): (i64, i64),
    (new_snapshot, new_increments): (i64, i64),
) -> usize {
    if new_increments > increments && new_snapshot == snapshot {
        (new_increments - increments) as usize
    } else {
        new_snapshot as usize
    }
}

/// This thread's user+system CPU time in clock ticks (10 ms), from /proc.
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn open_and_list(path: &Path, identity: &DeviceIdentity) {
    let mut times = Vec::new();
    let mut listed = 0;
    for _ in 0..30 {
        let started = Instant::now();
        let store =
            Store::open(path, Encryption::Key(StoreKey::new(KEY)), identity.clone()).unwrap();
        let page = store
            .list_submissions(&Default::default(), None, 50)
            .unwrap();
        times.push(started.elapsed());
        listed = page.items.len();
    }
    println!("\nopen the store of {SUBMISSIONS} and list the first page ({listed} rows), 30 runs:");
    report("  open + list", &mut times);
}

fn filled_through_the_api(
    dir: &Path,
    identity: &DeviceIdentity,
    count: usize,
) -> std::path::PathBuf {
    let path = dir.join("filled.db");
    let store = Store::open(&path, Encryption::Key(StoreKey::new(KEY)), identity.clone()).unwrap();
    for n in 0..count {
        let id = store
            .create_submission(&FormRef::new("dialogue", "2026-03"))
            .unwrap();
        for (name, value) in forty_answers(n) {
            store
                .set_answer(&id, &AnswerPath::new(name), &value)
                .unwrap();
        }
    }
    path
}

/// File size (the WAL is checkpointed into it when the last connection closes) per
/// submission, against the answers as a plain JSON object.
fn disk_per_submission(path: &Path, count: usize, answers: &[(String, Value)], what: &str) {
    let bytes = std::fs::metadata(path).unwrap().len()
        + std::fs::metadata(path.with_extension("db-wal"))
            .map(|m| m.len())
            .unwrap_or(0);
    let json = plain_json(answers).len();
    let per = bytes as f64 / count as f64;
    println!(
        "\ndisk per submission, {what}: {per:.0} B against {json} B of JSON ({:.2}x)",
        per / json as f64
    );
}

/// The answers as an analyst's JSON export would hold them.
fn plain_json(answers: &[(String, Value)]) -> Vec<u8> {
    use serde_json::{json, Map, Value as Json};
    let mut object = Map::new();
    for (name, value) in answers {
        let plain = match value {
            Value::Text(text) | Value::Choice(text) => json!(text),
            Value::Integer(n) => json!(n),
            Value::Decimal(n) => json!(n),
            Value::Choices(options) => json!(options),
            Value::Date(date) => json!(date.to_string()),
            Value::Time(time) => json!(time.to_string()),
            Value::DateTime(moment) => json!(moment.to_rfc3339()),
            Value::GeoPoint(p) => json!([p.latitude, p.longitude, p.altitude, p.accuracy]),
            Value::Attachment(file) => json!(file.sha256),
        };
        object.insert(name.clone(), plain);
    }
    serde_json::to_vec(&Json::Object(object)).unwrap()
}

fn report(what: &str, times: &mut [Duration]) {
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    println!(
        "{what}: p50 {:?}, p99 {:?}, max {:?}",
        at(0.50),
        at(0.99),
        at(1.0)
    );
}
