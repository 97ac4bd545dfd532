//! Helpers shared by the integration tests: stores in temporary folders.
#![allow(dead_code)] // each test binary uses its own subset

use minga_core::{DeviceIdentity, Encryption, FormRef, Store, StoreKey};
use std::path::Path;

pub fn key(seed: u8) -> Encryption {
    Encryption::Key(StoreKey::new([seed; 32]))
}

pub fn ana() -> DeviceIdentity {
    DeviceIdentity::new("phone-ana", "ana")
}

pub fn luis() -> DeviceIdentity {
    DeviceIdentity::new("tablet-luis", "luis")
}

pub fn open(path: &Path, seed: u8, identity: DeviceIdentity) -> Store {
    Store::open(path, key(seed), identity).expect("open store")
}

/// Sends the submission both ways between the two stores, as two devices merging it.
pub fn exchange(a: &Store, b: &Store, id: &minga_core::DocId) {
    b.import_submission(&a.export_submission(id).unwrap())
        .unwrap();
    a.import_submission(&b.export_submission(id).unwrap())
        .unwrap();
}

pub fn dialogue() -> FormRef {
    FormRef::new("dialogue", "2026-03")
}

/// `len` bytes that differ for every `seed` and do not compress, as photos and recordings.
pub fn noise_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// A child process: this test binary run again with only `test` selected and `env` set, its
/// output lines arriving on `lines` as it prints them (for the crash tests to kill it at a
/// moment of their choosing).
pub struct ChildRun {
    pub process: std::process::Child,
    pub lines: std::sync::mpsc::Receiver<String>,
    reader: std::thread::JoinHandle<()>,
}

impl ChildRun {
    pub fn spawn(test: &str, env: &[(&str, String)]) -> ChildRun {
        use std::io::BufRead;
        let mut command = std::process::Command::new(std::env::current_exe().unwrap());
        command
            .args(["--exact", test, "--nocapture", "--test-threads=1"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut process = command.spawn().unwrap();
        let stdout = process.stdout.take().unwrap();
        let (send, lines) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        ChildRun {
            process,
            lines,
            reader,
        }
    }

    /// SIGKILLs the child (which must still be running) and returns the lines not read yet.
    pub fn kill(mut self, context: &str) -> Vec<String> {
        assert!(
            self.process.try_wait().unwrap().is_none(),
            "the child exited by itself ({context})"
        );
        self.process.kill().unwrap(); // SIGKILL on Unix
        self.process.wait().unwrap();
        self.reader.join().unwrap();
        self.lines.try_iter().collect()
    }
}

/// A tiny deterministic generator for the kill instants of the crash tests, seeded by
/// [`crash_seed`], so that a failing run can be replayed.
pub struct Instants(pub u64);

impl Instants {
    pub fn next_micros(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

/// The crash tests' seed: `MINGA_CRASH_SEED` when set (a replay), else the clock; printed.
pub fn crash_seed() -> u64 {
    let seed = std::env::var("MINGA_CRASH_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    println!("MINGA_CRASH_SEED={seed}");
    seed
}

/// Turns the store file at `path` (plain) back into what schema 5 wrote: the invalid flag of
/// version 9 and the tables of versions 7 (signatures) and 8 (attachments) gone, the form index
/// version 6 dropped back, the version number 5.
pub fn downgrade_to_schema_5(path: &Path) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(
        "DROP INDEX submissions_flagged_invalid;
         ALTER TABLE submissions DROP COLUMN invalid_reasons;
         DROP TABLE attachments; DROP TABLE attachment_chunks; DROP TABLE attachment_refs;
         DROP TABLE change_signatures;
         CREATE INDEX submissions_by_form ON submissions (form_id, updated_at, doc_id);
         PRAGMA user_version = 5;",
    )
    .unwrap();
}
