//! The supervisor's side of sync at scale: a hub holding a whole project of submissions (seeded
//! straight into its storage through the one write path, not through syncs) runs as the real
//! `minga-hub serve` process; a fresh supervisor's device, a real SQLCipher store in a process of
//! its own, enrols and pulls them all over HTTP on loopback. Reported: the pull's time, and the
//! peak resident memory (VmHWM) of the hub process and of the device's process, each beside its
//! resident memory before the pull, so that "flat in the number of documents" can be read off two
//! runs of different sizes.
//! Run: `cargo bench -p minga-scenarios --bench supervisor_pull` (100,000 submissions;
//! `-- --count 10000` for another size).

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjType, ROOT};
use minga_core::{Store, SubmissionFilter};
use minga_hub::access::{DocKind, Role};
use minga_hub::admin;
use minga_hub::storage::{DocumentWrite, HubStorage};
use minga_scenarios::hub::{prepare_data, HubProcess, PROJECT};
use minga_scenarios::phone::{open_store, sync_store};
use minga_scenarios::usage::{mb, usage_of};
use minga_sync::SyncOptions;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

/// Set in the device's process: the hub's URL, the enrolment code and the store's folder.
const DEVICE_VAR: &str = "MINGA_BENCH_PULL_DEVICE";
/// Submissions per seeding transaction.
const BATCH: usize = 1_000;
/// Facilitators the seeded submissions are credited to.
const AUTHORS: usize = 20;

fn main() {
    if let Ok(job) = std::env::var(DEVICE_VAR) {
        return pull_as_device(&job);
    }
    let count = count_from_args();
    let data = tempfile::tempdir().unwrap();
    let code = seed_hub(data.path(), count);
    let hub = HubProcess::start(
        env!("CARGO_BIN_EXE_minga-hub-under-test"),
        data.path(),
        "info",
    );
    let hub_before = usage_of(hub.pid());
    let device_dir = tempfile::tempdir().unwrap();
    let device = run_device(&hub.url, &code, device_dir.path());
    let hub_after = usage_of(hub.pid());
    hub.stop();
    println!(
        "fresh supervisor device pulled {} of {count} submissions in {:.2} s ({} round trips, {} bytes received)",
        device.received, device.seconds, device.round_trips, device.bytes
    );
    println!(
        "hub process: resident {:.0} MB before the pull, peak {:.0} MB, {:.2} s of CPU serving it",
        mb(hub_before.resident_kb),
        mb(hub_after.peak_kb),
        hub_after.cpu_seconds - hub_before.cpu_seconds
    );
    println!(
        "device process: resident {:.0} MB before the pull, peak {:.0} MB, {:.2} s of CPU pulling",
        mb(device.resident_before_kb),
        mb(device.peak_kb),
        device.cpu_seconds
    );
    assert_eq!(device.received, count, "the device holds every submission");
}

fn count_from_args() -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == "--count")
        .and_then(|i| args.get(i + 1))
        .map(|n| n.parse().expect("--count takes a number"))
        .unwrap_or(100_000)
}

/// Makes the hub's data folder with `count` submissions in [`PROJECT`]; returns a supervisor's
/// enrolment code.
fn seed_hub(data: &Path, count: usize) -> String {
    let storage = prepare_data(data);
    let started = Instant::now();
    for first in (0..count).step_by(BATCH) {
        let writes: Vec<DocumentWrite> = (first..(first + BATCH).min(count))
            .map(submission)
            .collect();
        storage.write_documents(PROJECT, &writes, None).unwrap();
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "seeded {count} submissions in {seconds:.1} s ({:.0}/s)",
        count as f64 / seconds
    );
    let issued = admin::enrol_device(storage.as_ref(), PROJECT, Role::Supervisor, "sara").unwrap();
    issued.code.to_string()
}

/// Submission `n` of the safety walk as a phone sends it: whole `meta`, a few answers, a
/// place, complete.
fn submission(n: usize) -> DocumentWrite {
    let id = uuid::Uuid::now_v7().to_string();
    let mut doc = AutoCommit::new();
    let meta = doc.put_object(ROOT, "meta", ObjType::Map).unwrap();
    let author = format!("facilitator-{}", n % AUTHORS);
    for (key, value) in [
        ("id", id.as_str()),
        ("form_id", "safety_walk"),
        ("form_version", "2026-11-01"),
        ("created_by", author.as_str()),
        ("device_id", author.as_str()),
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
    doc.put(&answers, "location", format!("0.{n:05} -78.{n:05} 2800 5"))
        .unwrap();
    doc.put(ROOT, "status", "complete").unwrap();
    DocumentWrite {
        id,
        kind: DocKind::Submission,
        author: Some(author),
        subject: None,
        changes: doc.save(),
        decoded: None,
        signatures: Default::default(),
    }
}

/// What the device's process reports on its one line of output.
struct DeviceRun {
    received: usize,
    seconds: f64,
    round_trips: u64,
    bytes: u64,
    resident_before_kb: u64,
    peak_kb: u64,
    cpu_seconds: f64,
}

/// Runs this benchmark's binary again as the device and reads its report.
fn run_device(url: &str, code: &str, folder: &Path) -> DeviceRun {
    let job = format!("{url} {code} {}", folder.display());
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(DEVICE_VAR, job)
        .stdout(Stdio::piped())
        .spawn()
        .expect("the device's process starts");
    let line = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .find(|l| l.starts_with("pulled "))
        .expect("the device reports its pull");
    assert!(
        child.wait().unwrap().success(),
        "the device's process failed"
    );
    let n: Vec<f64> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    DeviceRun {
        received: n[0] as usize,
        seconds: n[1],
        round_trips: n[2] as u64,
        bytes: n[3] as u64,
        resident_before_kb: n[4] as u64,
        peak_kb: n[5] as u64,
        cpu_seconds: n[6],
    }
}

/// The device's side: open a fresh store, enrol with its key, pull everything, report one line
/// "pulled <documents> <seconds> <round trips> <bytes> <resident kB before> <peak kB> <CPU s>".
fn pull_as_device(job: &str) {
    let mut parts = job.splitn(3, ' ');
    let (url, code, folder) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let store = open_store(&Path::new(folder).join("supervisor.db"), "sara");
    let answer =
        minga_hub::client::enrol_with_key(url, code, Some(&store.public_key()), None).unwrap();
    store.adopt_device_id(&answer.device_id).unwrap();
    let enrolled = minga_scenarios::hub::Enrolled {
        device_id: answer.device_id,
        token: answer.token,
        hub_id: answer.hub_id,
        project: answer.project,
    };
    let before = usage_of(std::process::id());
    let started = Instant::now();
    let options = SyncOptions::default();
    let report = sync_store(&store, url, &enrolled, options, 3, &mut |_| {}).unwrap();
    let seconds = started.elapsed().as_secs_f64();
    let submissions = count_submissions(&store);
    let after = usage_of(std::process::id());
    println!(
        "pulled {submissions} {seconds:.3} {} {} {} {} {:.2}",
        report.round_trips,
        report.bytes_received,
        before.resident_kb,
        after.peak_kb,
        after.cpu_seconds - before.cpu_seconds
    );
}

/// The submissions `store` lists, page by page.
fn count_submissions(store: &Store) -> usize {
    let (mut count, mut after) = (0, None);
    loop {
        let page = store
            .list_submissions(&SubmissionFilter::default(), after, 10_000)
            .unwrap();
        count += page.items.len();
        match page.next {
            Some(next) => after = Some(next),
            None => return count,
        }
    }
}
