//! An acknowledged answer survives SIGKILL at any instant. The test re-runs its own binary as
//! a child that writes answers and prints each one after its call returns; the parent kills
//! the child at a random instant, reopens the store, and checks that every printed answer is
//! there and that SQLite finds the file sound. At least 100 kills per run.

mod common;

use common::*;
use minga_core::{AnswerPath, DocId, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "MINGA_CRASH_CHILD_STORE";
const KILLS: usize = 100;
const STORE_KEY: u8 = 42;

/// The child's work: runs only when the parent sets `CHILD_ENV`. Writes forever: a new
/// submission every 25 answers, each answer under a fresh name, so an answer's presence
/// proves exactly that write survived. Each line is printed after the call returned.
#[test]
fn child_writer() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let round: u64 = std::env::var("MINGA_CRASH_ROUND").unwrap().parse().unwrap();
    let store = open(Path::new(&path), STORE_KEY, ana());
    let mut submission = None;
    for n in 0u64.. {
        if n % 25 == 0 {
            let id = store.create_submission(&dialogue()).unwrap();
            println!("created {id}");
            submission = Some(id);
        }
        let id = submission.unwrap();
        let name = format!("q_{round}_{n}");
        let value = if n % 2 == 0 {
            Value::Integer((round * 1000 + n) as i64)
        } else {
            Value::Text(format!("answer {round}/{n}"))
        };
        store
            .set_answer(&id, &AnswerPath::new(name.clone()), &value)
            .unwrap();
        println!("ack {id} {name} {}", serde_json::to_string(&value).unwrap());
    }
}

struct Acknowledged {
    answers: HashMap<(DocId, String), Value>,
    created: Vec<DocId>,
}

/// When to kill a child: during start-up (while it opens the store), or a while after it
/// acknowledged its first write.
enum KillAt {
    AfterSpawn(Duration),
    AfterFirstWrite(Duration),
}

/// Runs one child, kills it with SIGKILL at `kill_at`, and returns what it acknowledged.
fn run_and_kill(store_path: &Path, round: usize, kill_at: KillAt) -> Acknowledged {
    let child = ChildRun::spawn(
        "child_writer",
        &[
            (CHILD_ENV, store_path.display().to_string()),
            ("MINGA_CRASH_ROUND", round.to_string()),
        ],
    );
    let mut seen = Vec::new();
    let delay = match kill_at {
        KillAt::AfterSpawn(delay) => delay,
        KillAt::AfterFirstWrite(delay) => {
            let deadline = Instant::now() + Duration::from_secs(20);
            while !seen.iter().any(|line: &String| line.starts_with("ack ")) {
                let wait = deadline.saturating_duration_since(Instant::now());
                let line = child
                    .lines
                    .recv_timeout(wait)
                    .unwrap_or_else(|_| panic!("round {round}: the child wrote nothing"));
                seen.push(line);
            }
            delay
        }
    };
    std::thread::sleep(delay);
    seen.extend(child.kill(&format!("the child writer, round {round}")));
    parse_acknowledged(&seen)
}

fn parse_acknowledged(lines: &[String]) -> Acknowledged {
    let mut acknowledged = Acknowledged {
        answers: HashMap::new(),
        created: Vec::new(),
    };
    for line in lines {
        let mut parts = line.splitn(4, ' ');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some("ack"), Some(id), Some(name), Some(value)) => {
                let value: Value = serde_json::from_str(value).unwrap();
                acknowledged
                    .answers
                    .insert((id.parse().unwrap(), name.to_owned()), value);
            }
            (Some("created"), Some(id), None, None) => {
                acknowledged.created.push(id.parse().unwrap())
            }
            _ => {} // the test harness's own lines, or a line cut by the kill
        }
    }
    acknowledged
}

#[test]
fn acknowledged_answers_survive_sigkill() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let store_path: PathBuf = dir.path().join("crash.db");
    let seed = crash_seed();
    let mut instants = Instants(seed);
    let mut all_acknowledged = 0;
    for round in 0..KILLS {
        // One kill in five lands while the child starts and opens the store.
        let kill_at = if round % 5 == 0 {
            KillAt::AfterSpawn(Duration::from_micros(instants.next_micros(40_000)))
        } else {
            KillAt::AfterFirstWrite(Duration::from_micros(instants.next_micros(30_000)))
        };
        let acknowledged = run_and_kill(&store_path, round, kill_at);
        all_acknowledged += acknowledged.answers.len();
        let store = open(&store_path, STORE_KEY, ana());
        assert_eq!(
            store.integrity_check().unwrap(),
            vec!["ok".to_string()],
            "round {round}, seed {seed}"
        );
        for id in &acknowledged.created {
            store
                .submission(id)
                .unwrap_or_else(|e| panic!("round {round}: created {id} lost: {e}"));
        }
        for ((id, name), value) in &acknowledged.answers {
            let answers = store
                .answers(id)
                .unwrap_or_else(|e| panic!("round {round}: {id} lost: {e}"));
            assert_eq!(
                answers.value(name),
                Some(value),
                "round {round}: {name} lost (seed {seed})"
            );
        }
    }
    println!("{KILLS} kills, {all_acknowledged} acknowledged answers all found");
    assert!(
        all_acknowledged > KILLS,
        "the children should have written answers before dying"
    );
}
