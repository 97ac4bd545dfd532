//! SIGKILL at random instants: of a phone applying the pages of a sync it receives, of a phone
//! compacting documents as it writes, and of the real `minga-hub` process ingesting a sync.
//! After each kill the store (or the hub database) passes SQLite's integrity check and holds
//! everything acknowledged; the next sync resumes with nothing lost and nothing duplicated.
//!
//! Each scenario prints its seed (`MINGA_CRASH_SEED=<seed>` replays it) and its counts. The
//! default run does a dozen trials each; `MINGA_LONG=1` does many more.

use minga_core::{AnswerPath, DocId, Value};
use minga_hub::access::Role;
use minga_hub::storage::SqliteStorage;
use minga_scenarios::child::{acknowledged, Child};
use minga_scenarios::hub::{
    hub_documents, hub_integrity, prepare_data_with_a_code, redeem, Enrolled, HubProcess, TestHub,
    PROJECT,
};
use minga_scenarios::phone::{
    hub_transport, noise, open_store, store_documents, sync_over, sync_store, Phone,
};
use minga_scenarios::scale;
use minga_scenarios::seed::{seed_from_env, Rng};
use minga_sync::http::HttpTransport;
use minga_sync::SyncOptions;
use minga_sync::{Transport, TransportError};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// The real `minga-hub` binary.
const HUB: &str = env!("CARGO_BIN_EXE_minga-hub-under-test");
const PULL_CHILD: &str = "MINGA_CRASH_PULL";
const COMPACT_CHILD: &str = "MINGA_CRASH_COMPACT";

fn is_child() -> bool {
    std::env::var(PULL_CHILD).is_ok() || std::env::var(COMPACT_CHILD).is_ok()
}

// ---------------------------------------------------------------------------------------------
// A phone killed while applying received sync pages.

/// The child's work: pull everything from the hub into the store named in `PULL_CHILD`,
/// printing `reply` when a reply has arrived (its page is then applied) and `ack <n>` once it
/// is committed, with the number of documents the store then holds.
#[test]
fn child_pulls_from_the_hub() {
    let Ok(setting) = std::env::var(PULL_CHILD) else {
        return;
    };
    let parts: Vec<&str> = setting.split('\t').collect();
    let [path, url, device_id, token, hub_id] = parts[..] else {
        panic!("bad child setting");
    };
    let enrolled = Enrolled {
        device_id: device_id.into(),
        token: token.into(),
        hub_id: hub_id.into(),
        project: PROJECT.into(),
    };
    println!(); // ends the test harness's own line
    let store = open_store(Path::new(path), device_id);
    println!("opened");
    let transport = Announcing(hub_transport(url, &enrolled, 0));
    sync_over(
        &store,
        &transport,
        &enrolled,
        SyncOptions::default(),
        &mut |_| {
            println!("ack {}", store_documents(&store).len());
        },
    )
    .unwrap();
    println!("done");
}

/// Says when each reply has arrived: from then until the next `ack`, the child applies it.
struct Announcing(HttpTransport);

impl Transport for Announcing {
    fn exchange(&self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
        let reply = self.0.exchange(request)?;
        println!("reply");
        Ok(reply)
    }
}

fn pull_setting(path: &Path, url: &str, device: &Enrolled) -> String {
    [
        path.to_str().unwrap(),
        url,
        &device.device_id,
        &device.token,
        &device.hub_id,
    ]
    .join("\t")
}

/// When to kill a pulling child: a while after it received its `reply`-th reply (while it
/// applies that page), or a while after it opened its store.
#[derive(Clone, Copy, Debug)]
enum KillAt {
    Applying { reply: usize, after: Duration },
    AfterOpening(Duration),
}

/// What one killed pull left: the documents acknowledged, and whether the child had finished.
struct PullTrial {
    acknowledged: usize,
    finished: bool,
}

fn pull_and_kill(path: &Path, hub: &TestHub, device: &Enrolled, kill_at: KillAt) -> PullTrial {
    let mut child = Child::spawn(
        "child_pulls_from_the_hub",
        &[(PULL_CHILD, pull_setting(path, &hub.url(), device))],
    );
    let limit = Duration::from_secs(60);
    assert!(
        child.wait_for("opened", limit),
        "the child never opened its store"
    );
    let delay = match kill_at {
        KillAt::AfterOpening(delay) => delay,
        KillAt::Applying { reply, after } => {
            for _ in 0..=reply {
                assert!(child.wait_for("reply", limit), "the child got no reply");
            }
            after
        }
    };
    let (_, lines) = child.kill_after(delay);
    PullTrial {
        acknowledged: acknowledged(&lines, "ack ")
            .filter_map(|n| n.parse().ok())
            .max()
            .unwrap_or(0),
        finished: lines.iter().any(|line| line == "done"),
    }
}

/// A whole pull by a child, timed: how long it takes from an opened store to done, and how
/// long it spends applying each reply (from `reply` to its `ack`).
fn time_a_whole_pull(hub: &TestHub, dir: &Path) -> (Duration, Vec<Duration>) {
    let device = hub.enrol(Role::Supervisor, "calibration");
    let path = dir.join("calibration.db");
    let mut child = Child::spawn(
        "child_pulls_from_the_hub",
        &[(PULL_CHILD, pull_setting(&path, &hub.url(), &device))],
    );
    let limit = Duration::from_secs(60);
    assert!(child.wait_for("opened", limit));
    let started = Instant::now();
    let mut applying = Vec::new();
    while child.wait_for("reply", limit) {
        let received = Instant::now();
        assert!(child.wait_for("ack", limit), "calibration pull");
        applying.push(received.elapsed());
    }
    let took = started.elapsed();
    let (succeeded, lines) = child.wait();
    assert!(succeeded && lines.iter().any(|line| line == "done"));
    (took, applying)
}

#[test]
fn a_phone_killed_while_applying_sync_pages_keeps_what_it_acknowledged_and_resumes() {
    if is_child() {
        return;
    }
    let seed = seed_from_env("MINGA_CRASH_SEED");
    let mut rng = Rng::new(seed);
    let hub = TestHub::start();
    // Documents large enough that the hub sends them in several pages (4 MiB each).
    let author = Phone::new(hub.enrol(Role::Facilitator, "author"));
    let total = 160;
    author.fill(total, 48 * 1024);
    author.sync(&hub.url(), SyncOptions::default()).unwrap();
    let on_hub = hub.documents();
    assert_eq!(
        on_hub.len(),
        total + 1,
        "the submissions and the published form"
    );

    let dir = tempfile::tempdir().unwrap();
    let (whole, applying) = time_a_whole_pull(&hub, dir.path());
    // The replies that carry pages of documents (the first one carries offers only).
    let pages: Vec<usize> = (1..applying.len()).collect();
    assert!(
        pages.len() >= 2,
        "the pull takes several pages: {applying:?}"
    );
    let trials = scale(8, 100);
    let (mut mid_sync, mut before_first_page, mut after_done) = (0, 0, 0);
    for trial in 0..trials {
        let device = hub.enrol(Role::Supervisor, &format!("puller {trial}"));
        let path = dir.path().join(format!("trial-{trial}.db"));
        // The first kill lands as the last page arrives, after the earlier pages' acks, so that
        // some kill falls between pages whatever the machine's load does to the drawn times;
        // then three kills in four while a page is applied, the others anywhere in the pull.
        let kill_at = if trial == 0 {
            KillAt::Applying {
                reply: pages[pages.len() - 1],
                after: Duration::ZERO,
            }
        } else if trial % 4 == 3 {
            KillAt::AfterOpening(Duration::from_micros(rng.below(whole.as_micros() as u64)))
        } else {
            let reply = pages[rng.below(pages.len() as u64) as usize];
            let after = Duration::from_micros(rng.below(applying[reply].as_micros() as u64 + 1));
            KillAt::Applying { reply, after }
        };
        let outcome = pull_and_kill(&path, &hub, &device, kill_at);
        let context = format!("trial {trial}, seed {seed}, kill at {kill_at:?}");

        let store = open_store(&path, &device.device_id);
        assert_eq!(store.integrity_check().unwrap(), ["ok"], "{context}");
        let kept = store_documents(&store);
        assert!(kept.len() >= outcome.acknowledged, "{context}: lost pages");
        for (id, heads) in &kept {
            assert_eq!(Some(heads), on_hub.get(id), "{context}: {id} half applied");
        }
        match (outcome.finished, kept.len()) {
            (true, _) => after_done += 1,
            (false, 0) => before_first_page += 1,
            (false, _) => mid_sync += 1,
        }
        let report = sync_store(
            &store,
            &hub.url(),
            &device,
            SyncOptions::default(),
            3,
            &mut |_| {},
        )
        .unwrap_or_else(|e| panic!("{context}: resume: {e}"));
        assert_eq!(store_documents(&store), on_hub, "{context}");
        assert_eq!(
            report.received,
            on_hub.len() - kept.len(),
            "{context}: what was kept is not received again"
        );
    }
    println!(
        "{trials} kills of a phone pulling {total} documents (a whole pull: {whole:?}, \
         applying its replies: {applying:?}): {mid_sync} with some pages kept, \
         {before_first_page} with none kept yet, {after_done} after it had finished; every \
         store sound and resumed exactly"
    );
    assert!(
        mid_sync > 0,
        "some kill must land between pages (seed {seed})"
    );
}

// ---------------------------------------------------------------------------------------------
// A phone killed while writing, in a workload where most writes compact a document.

/// Every document gets this many answers: with increments folded into a new snapshot whenever
/// they outgrow it, about one write in three compacts.
const WRITES_PER_DOCUMENT: u64 = 12;

fn compaction_answer(round: u64, doc: u64, write: u64) -> (String, Value) {
    let name = format!("q_{round}_{doc}_{write}");
    let seed = (round << 32) | (doc << 8) | write;
    (name, Value::Text(noise(seed, 1024)))
}

/// The child's work: writes answers of 1 KiB forever, a new submission every
/// `WRITES_PER_DOCUMENT`, printing each after its call returned.
#[test]
fn child_writes_and_compacts() {
    let Ok(setting) = std::env::var(COMPACT_CHILD) else {
        return;
    };
    let (path, round) = setting.split_once('\t').unwrap();
    let round: u64 = round.parse().unwrap();
    println!(); // ends the test harness's own line
    let store = open_store(Path::new(path), "compactor");
    for doc in 0u64.. {
        let id = store
            .create_submission(&minga_scenarios::phone::safety_walk())
            .unwrap();
        println!("created {id}");
        for write in 0..WRITES_PER_DOCUMENT {
            let (name, value) = compaction_answer(round, doc, write);
            store
                .set_answer(&id, &AnswerPath::new(&name), &value)
                .unwrap();
            println!("ack {id} {round} {doc} {write}");
        }
    }
}

/// Chunk rows in the store file: far fewer than the writes when compaction ran.
fn chunk_rows(path: &Path) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    let hex: String = std::iter::repeat_n("07", 32).collect();
    conn.execute_batch(&format!("PRAGMA key = \"x'{hex}'\";"))
        .unwrap();
    conn.query_row("SELECT count(*) FROM chunks", [], |row| row.get(0))
        .unwrap()
}

#[test]
fn a_phone_killed_while_compacting_keeps_every_acknowledged_answer() {
    if is_child() {
        return;
    }
    let seed = seed_from_env("MINGA_CRASH_SEED");
    let mut rng = Rng::new(seed);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("compacting.db");
    let trials = scale(15, 150);
    let mut writes = 0;
    for round in 0..trials as u64 {
        let mut child = Child::spawn(
            "child_writes_and_compacts",
            &[(COMPACT_CHILD, format!("{}\t{round}", path.display()))],
        );
        assert!(child.wait_for("ack ", Duration::from_secs(30)), "no write");
        let delay = Duration::from_micros(rng.below(200_000));
        let (running, lines) = child.kill_after(delay);
        assert!(running, "the writer never stops by itself");
        let context = format!("round {round}, seed {seed}, kill after {delay:?}");

        let store = open_store(&path, "compactor");
        assert_eq!(store.integrity_check().unwrap(), ["ok"], "{context}");
        for id in acknowledged(&lines, "created ") {
            let id: DocId = id.parse().unwrap();
            store
                .submission(&id)
                .unwrap_or_else(|e| panic!("{context}: {id}: {e}"));
        }
        for ack in acknowledged(&lines, "ack ") {
            let fields: Vec<&str> = ack.split(' ').collect();
            let id: DocId = fields[0].parse().unwrap();
            let numbers: Vec<u64> = fields[1..].iter().map(|n| n.parse().unwrap()).collect();
            let (name, value) = compaction_answer(numbers[0], numbers[1], numbers[2]);
            let answers = store.answers(&id).unwrap();
            assert_eq!(answers.value(&name), Some(&value), "{context}: {name} lost");
            writes += 1;
        }
    }
    let chunks = chunk_rows(&path);
    println!(
        "{trials} kills of a phone writing and compacting: {writes} acknowledged answers \
         of 1 KiB all found, {chunks} chunk rows left of at least {writes} writes"
    );
    assert!(
        writes > trials,
        "the children wrote before dying (seed {seed})"
    );
    assert!(
        chunks * 2 < writes as i64,
        "increments were compacted (seed {seed})"
    );
}

// ---------------------------------------------------------------------------------------------
// The real hub process killed while ingesting a sync.

#[test]
fn the_hub_killed_while_ingesting_keeps_a_sound_database_and_the_phone_resumes_exactly() {
    if is_child() {
        return;
    }
    let seed = seed_from_env("MINGA_CRASH_SEED");
    let mut rng = Rng::new(seed);
    let data = tempfile::tempdir().unwrap();
    let code = prepare_data_with_a_code(data.path(), "Ana");
    let hub = HubProcess::start(HUB, data.path(), "info");
    let phone = Phone::new(redeem(&hub.url, &code));
    // Small pages: a push takes many round trips, each committed by the hub on its own.
    let options = SyncOptions {
        page_docs: 8,
        page_bytes: 32 * 1024,
        max_in_flight: 16,
        ..SyncOptions::default()
    };
    let per_trial = 48;
    phone.fill(per_trial, 4096);
    let started = Instant::now();
    phone.sync(&hub.url, options).unwrap();
    let whole = started.elapsed();
    hub.kill();

    let trials = scale(10, 100);
    let (mut mid_ingest, mut none_landed) = (0, 0);
    for trial in 0..trials {
        phone.fill(per_trial, 4096);
        let hub = HubProcess::start(HUB, data.path(), "info");
        // Later syncs run faster than the first (a warm hub): kills fall in its first 60%.
        let delay = Duration::from_micros(rng.below(whole.as_micros() as u64 * 6 / 10 + 1));
        let context = format!("trial {trial}, seed {seed}, kill after {delay:?}");
        let url = hub.url.clone();
        let killer = std::thread::spawn(move || {
            std::thread::sleep(delay);
            hub.kill();
        });
        let cut = sync_store(&phone.store, &url, &phone.enrolled, options, 0, &mut |_| {});
        killer.join().unwrap();

        assert_eq!(hub_integrity(data.path()), ["ok"], "{context}");
        let before = on_hub(data.path());
        let mine = phone.documents();
        for (id, heads) in &before {
            if let Some(own) = mine.get(id) {
                assert_eq!(heads, own, "{context}: {id} half ingested");
            }
        }
        let missing = mine.keys().filter(|id| !before.contains_key(*id)).count();
        match (cut.is_ok(), missing) {
            (true, _) => {}
            (false, 0) => {}
            (false, m) if m == per_trial => none_landed += 1,
            (false, _) => mid_ingest += 1,
        }
        let hub = HubProcess::start(HUB, data.path(), "info");
        let report = phone
            .sync(&hub.url, options)
            .unwrap_or_else(|e| panic!("{context}: resume: {e}"));
        assert_eq!(
            report.sent, missing,
            "{context}: what landed is not sent again"
        );
        hub.stop();
        assert_eq!(
            on_hub(data.path()),
            phone.documents(),
            "{context}: the hub holds exactly the phone's documents"
        );
    }
    println!(
        "{trials} SIGKILLs of minga-hub ingesting {per_trial} submissions each (a whole sync: \
         {whole:?}): {mid_ingest} with part of the sync stored, {none_landed} before any of it; \
         database sound every time, every resumed sync sent exactly what was missing"
    );
    assert!(
        mid_ingest > 0,
        "some kill must land mid-ingest (seed {seed})"
    );
}

fn on_hub(data: &Path) -> BTreeMap<String, Vec<String>> {
    let storage = SqliteStorage::open(data).unwrap();
    hub_documents(&storage, PROJECT)
}
