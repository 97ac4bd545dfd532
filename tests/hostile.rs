//! Hostile input, a bounded fuzzing run of every target in CI: the sync message decoder (and
//! both sides of a session behind it), the bundle reader, the XLSForm importer, the expression
//! parser, and the hub's HTTP request bodies (enrol, sync, documents). Each target gets every
//! corpus file in `tests/corpus/<target>/`, mutations of them, and arbitrary bytes; each input
//! runs under a time limit, so a hang fails like a panic does. `MINGA_LONG=1` runs 50 times as
//! many cases; `fuzz/` holds the same targets for cargo-fuzz.

use minga_hub::access::Role;
use minga_hub::storage::HubStorage;
use minga_scenarios::hub::{Enrolled, TestHub, PROJECT};
use minga_scenarios::{targets, workbooks};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, RecvTimeoutError};
use std::sync::OnceLock;
use std::time::Duration;

/// Longest one input may take before it counts as a hang (debug builds, a loaded machine).
const PER_INPUT: Duration = Duration::from_secs(20);

type Target = fn(&[u8]) -> Result<(), String>;

/// Runs `target` on `input` in its own thread: `Err` on a panic, a hang or a broken invariant.
fn guarded(name: &str, target: Target, input: &[u8]) -> Result<(), String> {
    let (done, outcome) = channel();
    let bytes = input.to_vec();
    let worker = std::thread::spawn(move || {
        let _ = done.send(target(&bytes));
    });
    match outcome.recv_timeout(PER_INPUT) {
        Ok(result) => {
            let _ = worker.join();
            result.map_err(|e| format!("{name}: {e} (input {})", hex(input)))
        }
        Err(RecvTimeoutError::Disconnected) => Err(format!("{name} panicked on {}", hex(input))),
        Err(RecvTimeoutError::Timeout) => Err(format!("{name} hung on {}", hex(input))),
    }
}

fn hex(bytes: &[u8]) -> String {
    let shown: String = bytes.iter().take(256).map(|b| format!("{b:02x}")).collect();
    format!(
        "{shown}{} ({} bytes)",
        if bytes.len() > 256 { "…" } else { "" },
        bytes.len()
    )
}

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target)
}

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir(target))
        .unwrap_or_else(|e| panic!("corpus of {target}: {e}"))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|path| std::fs::read(path).unwrap())
        .collect()
}

/// A mutation of a corpus entry, as a fuzzer makes them.
#[derive(Clone, Debug)]
enum Mutation {
    Flip(prop::sample::Index, u8),
    Set(prop::sample::Index, u8),
    Insert(prop::sample::Index, Vec<u8>),
    Remove(prop::sample::Index, prop::sample::Index),
    Truncate(prop::sample::Index),
    Duplicate(prop::sample::Index, prop::sample::Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    use prop::sample::Index;
    prop_oneof![
        (any::<Index>(), 0..8u8).prop_map(|(at, bit)| Mutation::Flip(at, bit)),
        (any::<Index>(), any::<u8>()).prop_map(|(at, v)| Mutation::Set(at, v)),
        (any::<Index>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(at, v)| Mutation::Insert(at, v)),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::Remove(a, b)),
        any::<Index>().prop_map(Mutation::Truncate),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::Duplicate(a, b)),
    ]
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for mutation in mutations {
        let len = bytes.len().max(1);
        match mutation {
            Mutation::Flip(at, bit) if !bytes.is_empty() => bytes[at.index(len)] ^= 1 << bit,
            Mutation::Set(at, v) if !bytes.is_empty() => bytes[at.index(len)] = *v,
            Mutation::Insert(at, v) => {
                let at = at.index(bytes.len() + 1);
                bytes.splice(at..at, v.iter().copied());
            }
            Mutation::Remove(a, b) if !bytes.is_empty() => {
                let (a, b) = (a.index(len), b.index(len));
                bytes.drain(a.min(b)..a.max(b));
            }
            Mutation::Truncate(at) => bytes.truncate(at.index(bytes.len() + 1)),
            Mutation::Duplicate(a, b) if !bytes.is_empty() => {
                let (a, b) = (a.index(len), b.index(len));
                let part = bytes[a.min(b)..a.max(b)].to_vec();
                bytes.splice(a.max(b)..a.max(b), part);
            }
            _ => {}
        }
    }
    bytes
}

fn cases(short: u32) -> u32 {
    short * if minga_scenarios::long_run() { 50 } else { 1 }
}

/// Replays the corpus, then fuzzes `target` with corpus mutations and arbitrary bytes.
fn fuzz(name: &str, target: Target, mutated: u32, arbitrary: u32, max_len: usize) {
    let entries = corpus(name);
    assert!(!entries.is_empty(), "the corpus of {name} is empty");
    for entry in &entries {
        guarded(name, target, entry).unwrap();
    }
    let mut runner = TestRunner::new(Config {
        cases: cases(mutated),
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        prop::sample::select(entries.clone()),
        prop::collection::vec(mutation(), 1..6),
    );
    runner
        .run(&strategy, |(entry, mutations)| {
            guarded(name, target, &mutate(entry, &mutations)).map_err(TestCaseError::fail)
        })
        .unwrap();
    let mut runner = TestRunner::new(Config {
        cases: cases(arbitrary),
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&prop::collection::vec(any::<u8>(), 0..max_len), |bytes| {
            guarded(name, target, &bytes).map_err(TestCaseError::fail)
        })
        .unwrap();
    println!(
        "{name}: {} corpus files, {} mutations, {} arbitrary inputs: no panic, no hang",
        entries.len(),
        cases(mutated),
        cases(arbitrary)
    );
}

#[test]
fn sync_messages() {
    fuzz("sync_message", targets::sync_message, 1500, 1000, 512);
}

#[test]
fn bundles() {
    fuzz("bundle", targets::bundle, 600, 300, 512);
}

#[test]
fn xlsform_workbooks() {
    fuzz("xlsform", targets::xlsform, 300, 200, 2048);
}

/// Workbooks whose declared dimensions, cell places, shared-string counts and inflated sizes are
/// hostile (`support/workbooks.rs`): no panic or hang, and each refused past the bound it goes
/// past, naming it.
#[test]
fn xlsform_hostile_workbooks() {
    let mut runner = TestRunner::new(Config {
        cases: cases(24),
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&workbooks::hostile(), |workbook| {
            guarded("xlsform", targets::xlsform, &workbook.to_bytes())
                .and_then(|()| workbooks::check_hostile(&workbook))
                .map_err(TestCaseError::fail)
        })
        .unwrap();
}

#[test]
fn expressions() {
    fuzz("expression", targets::expression, 3000, 2000, 128);
}

// ---------------------------------------------------------------------------------------------
// The hub's HTTP request bodies, against one hub on loopback shared by the three targets.

struct Fixture {
    hub: TestHub,
    device: Enrolled,
    submission: String,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let hub = TestHub::start();
        let device = hub.enrol(Role::Supervisor, "fuzzer");
        let phone = minga_scenarios::phone::Phone::new(device.clone());
        let submission = phone.fill(1, 0)[0].to_string();
        phone.sync(&hub.url(), Default::default()).unwrap();
        Fixture {
            hub,
            device,
            submission,
        }
    })
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// Posts or puts `body` and checks the hub's answer: never a server error, and afterwards the
/// hub still answers. Returns the answer's status and body.
fn hub_body(method: &str, path: &str, body: &[u8], token: bool) -> Result<(u16, String), String> {
    let fixture = fixture();
    let url = format!("{}{path}", fixture.hub.url());
    let auth = format!("Bearer {}", fixture.device.token);
    let agent = agent();
    let reply = match (method, token) {
        ("POST", false) => agent
            .post(&url)
            .header("content-type", "application/json")
            .send(body),
        ("POST", true) => agent.post(&url).header("Authorization", &auth).send(body),
        _ => agent.put(&url).header("Authorization", &auth).send(body),
    }
    .map_err(|e| format!("no answer: {e}"))?;
    let status = reply.status();
    if status.is_server_error() {
        return Err(format!("{method} {path}: {status}"));
    }
    let answer = reply.into_body().read_to_string().unwrap_or_default();
    // A new connection: the hub may close this one after refusing a request whose body it did
    // not read (a path it could not decode), which is its right.
    let health = self::agent()
        .get(&format!("{}/health", fixture.hub.url()))
        .call()
        .map_err(|e| e.to_string())?;
    (health.status() == 200)
        .then_some((status.as_u16(), answer))
        .ok_or_else(|| "the hub stopped answering".into())
}

fn enrol_body(bytes: &[u8]) -> Result<(), String> {
    hub_body("POST", "/v1/enrol", bytes, false).map(|_| ())
}

/// Sync bodies as they are, and with their frame's checksum made right (see
/// [`targets::reframed`]).
fn sync_body(bytes: &[u8]) -> Result<(), String> {
    let path = format!("/v1/sync/{PROJECT}");
    hub_body("POST", &path, bytes, true)?;
    hub_body("POST", &path, &targets::reframed(bytes), true).map(|_| ())
}

/// A document route whose kind, id and body all come from the input: its first byte picks the
/// route (even: submissions, odd: reviews), the id runs to the first newline (`@` stands for
/// the fixture's submission), the body is the rest. Whatever the hub stores must have the
/// structure of its kind and id.
fn document_body(bytes: &[u8]) -> Result<(), String> {
    let fixture = fixture();
    let (route, rest) = bytes.split_first().unwrap_or((&0, &[]));
    let (id, body) = match rest.iter().position(|&b| b == b'\n') {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (rest, &[][..]),
    };
    let id = match id {
        b"@" => fixture.submission.clone(),
        other => percent_encoded(other),
    };
    let route = if route % 2 == 0 {
        "submissions"
    } else {
        "reviews"
    };
    let path = format!("/v1/projects/{PROJECT}/{route}/{id}");
    let (status, answer) = hub_body("PUT", &path, body, true)?;
    if status == 200 {
        stored_document_is_well_formed(&answer)?;
    }
    Ok(())
}

/// Every byte but letters, digits and `-_~` as `%XX`, so that any id reaches the route.
fn percent_encoded(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// The document a write answered with (its header), as the hub stored it, passes the core's
/// structural check for its kind and id.
fn stored_document_is_well_formed(header: &str) -> Result<(), String> {
    let header: serde_json::Value = serde_json::from_str(header).map_err(|e| e.to_string())?;
    let (Some(id), Some(kind)) = (header["id"].as_str(), header["kind"].as_str()) else {
        return Err(format!("a write answered 200 without a header: {header}"));
    };
    let kind: minga_sync::DocKind = kind.parse().map_err(|e| format!("{e}"))?;
    let stored = fixture()
        .hub
        .storage
        .document(PROJECT, id)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("{id} answered stored but is not"))?;
    let doc = automerge::Automerge::load(&stored.bytes).map_err(|e| e.to_string())?;
    minga_core::check_structure(id, kind, &doc)
        .map(|_| ())
        .map_err(|e| format!("the hub stored a malformed document: {e}"))
}

#[test]
fn hub_request_bodies() {
    fuzz("hub_enrol", enrol_body, 200, 100, 256);
    fuzz("hub_sync", sync_body, 300, 100, 512);
    fuzz("hub_document", document_body, 200, 100, 512);
}

// ---------------------------------------------------------------------------------------------
// The corpora: `cargo test -p minga-scenarios --test hostile write_the_corpora -- --ignored`
// writes them again from real sessions, bundles and forms.

/// Every request and reply of one real session between two stores with a few documents.
fn recorded_session() -> Vec<Vec<u8>> {
    use minga_sync::{
        run_session, AllowAll, Initiator, MemoryTransport, PeerId, SyncOptions, Transport,
        TransportError,
    };
    struct Recording<'a>(&'a dyn Transport, std::cell::RefCell<Vec<Vec<u8>>>);
    impl Transport for Recording<'_> {
        fn exchange(&self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
            let reply = self.0.exchange(request)?;
            self.1
                .borrow_mut()
                .extend([request.to_vec(), reply.clone()]);
            Ok(reply)
        }
    }
    let (phone, hub) = (small_store(3, "phone"), small_store(2, "hub"));
    let options = SyncOptions {
        page_docs: 2,
        ..SyncOptions::default()
    };
    let responder = MemoryTransport::new(
        &hub,
        PeerId::new("hub").unwrap(),
        options,
        Arc::new(AllowAll),
    );
    let recording = Recording(&responder, Default::default());
    let mut initiator = Initiator::new(
        PeerId::new("phone").unwrap(),
        PeerId::new("hub").unwrap(),
        options,
        Arc::new(AllowAll),
    );
    run_session(&phone, &recording, &mut initiator, &options, &mut |_| {}).unwrap();
    recording.1.into_inner()
}

use std::sync::Arc;

/// A memory store with `count` submissions written by the core.
fn small_store(count: usize, name: &str) -> minga_sync::MemoryStore {
    let dir = tempfile::tempdir().unwrap();
    let core = minga_scenarios::phone::open_store(&dir.path().join("s.db"), name);
    let store = minga_sync::MemoryStore::new();
    let mut commit = minga_sync::Commit::new(minga_sync::PeerId::new("app").unwrap());
    for n in 0..count {
        let id = minga_scenarios::phone::fill_one(&core, n, 0);
        commit.docs.push(minga_sync::IncomingDoc {
            id: id.into(),
            kind: minga_sync::DocKind::Submission,
            changes: core.export_submission(&id).unwrap(),
            loaded: None,
        });
    }
    minga_sync::DocumentStore::commit(&store, commit).unwrap();
    store
}

/// Keeps `bytes` as an attachment of `store` and adds a submission whose photo references it.
fn attach_photo(store: &minga_sync::MemoryStore, bytes: &[u8]) {
    use automerge::transaction::Transactable;
    let hash = store.add_attachment(bytes);
    let id = minga_sync::DocId::random();
    store.edit(&id, minga_sync::DocKind::Submission, |tx| {
        let photo = tx
            .put_object(automerge::ROOT, "photo", automerge::ObjType::Map)
            .unwrap();
        tx.put(&photo, "sha256", hash.to_hex()).unwrap();
    });
}

fn write_corpus(target: &str, entries: &[(String, Vec<u8>)]) {
    let dir = corpus_dir(target);
    std::fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in entries {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

#[test]
#[ignore = "writes the corpora; run by hand"]
fn write_the_corpora() {
    use minga_sync::wire::{Frame, DEFAULT_MAX_FRAME};
    let session = recorded_session();
    let frames: Vec<(String, Vec<u8>)> = session
        .iter()
        .enumerate()
        .map(|(n, bytes)| {
            (
                format!("{n:02}-{}", if n % 2 == 0 { "request" } else { "reply" }),
                bytes.clone(),
            )
        })
        .chain([(
            "abort".to_string(),
            Frame::Abort {
                message: "stop".into(),
            }
            .encode(),
        )])
        .collect();
    // Bodies travel compressed; plain copies let mutations reach the body's fields.
    let plain: Vec<(String, Vec<u8>)> = frames
        .iter()
        .map(|(name, bytes)| {
            let frame = Frame::decode(bytes, DEFAULT_MAX_FRAME).unwrap();
            (format!("plain-{name}"), frame.encode_uncompressed())
        })
        .collect();
    let frames = [frames, plain].concat();
    write_corpus("sync_message", &frames);
    // The hub takes a hello addressed to any responder.
    let hub_frames: Vec<(String, Vec<u8>)> = frames
        .iter()
        .map(
            |(name, bytes)| match Frame::decode(bytes, DEFAULT_MAX_FRAME).unwrap() {
                Frame::Hello(mut hello) => {
                    hello.to = None;
                    let hello = Frame::Hello(hello);
                    let bytes = if name.starts_with("plain-") {
                        hello.encode_uncompressed()
                    } else {
                        hello.encode()
                    };
                    (name.clone(), bytes)
                }
                _ => (name.clone(), bytes.clone()),
            },
        )
        .collect();
    write_corpus("hub_sync", &hub_frames);

    let store = small_store(3, "writer");
    let identity = targets::bundle_identity();
    let (from, to) = (
        minga_sync::PeerId::new("writer").unwrap(),
        minga_sync::PeerId::new(targets::BUNDLE_PEER).unwrap(),
    );
    let sealed = minga_sync::bundle::write_bundle(
        &store,
        &from,
        &to,
        &identity.to_public(),
        minga_sync::bundle::BundleScope::Everything,
        &minga_sync::AllowAll,
    )
    .unwrap();
    let plaintext = age::decrypt(&identity, &sealed).unwrap();
    // Format 2: the same documents and one referencing a small attachment, whose bytes follow.
    attach_photo(&store, &[7; 300]);
    let with_contents = minga_sync::bundle::write_bundle(
        &store,
        &from,
        &to,
        &identity.to_public(),
        minga_sync::bundle::BundleScope::Everything,
        &minga_sync::AllowAll,
    )
    .unwrap();
    let contents_plaintext = age::decrypt(&identity, &with_contents).unwrap();
    write_corpus(
        "bundle",
        &[
            ("sealed".into(), sealed),
            ("plaintext".into(), plaintext),
            ("sealed-with-contents".into(), with_contents),
            ("plaintext-with-contents".into(), contents_plaintext),
        ],
    );

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let workbooks = [
        "forms/templates/stakeholder_dialogue.xlsx",
        "forms/templates/community_safety_assessment.xlsx",
        "forms/tests/fixtures/mistakes.xlsx",
        "forms/tests/fixtures/cycle.xlsx",
    ];
    let workbooks: Vec<(String, Vec<u8>)> = workbooks
        .iter()
        .map(|path| {
            (
                path.rsplit('/').next().unwrap().to_string(),
                std::fs::read(root.join(path)).unwrap(),
            )
        })
        .collect();
    write_corpus("xlsform", &workbooks);

    let expressions = [
        "${age} >= 18 and ${age} < 120",
        "selected(${topics}, 'extortion') or count-selected(${topics}) > 2",
        "if(${consent} = 'yes', concat(${first}, ' ', ${last}), '')",
        "string-length(.) <= 200 and regex(., '^[A-Za-z ]+$')",
        "sum(${participants}) div count(${rounds}) mod 3",
        "round(number(${score}) * 1.5, 2) - -4",
        "format-date(today(), '%Y-%m-%d') != ''",
        "indexed-repeat(${name}, ${people}, position(..))",
        "coalesce(${nickname}, substr(${name}, 0, 3))",
        "jr:choice-name(${canton}, '${canton}')",
        "/data/group/q = ../q and current()/../x",
        "once(uuid())",
        "instance('cantons')/root/item[province = ${province}]/name",
    ];
    let expressions: Vec<(String, Vec<u8>)> = expressions
        .iter()
        .enumerate()
        .map(|(n, e)| (format!("{n:02}"), e.as_bytes().to_vec()))
        .collect();
    write_corpus("expression", &expressions);

    let enrol = [
        r#"{"code":"ABCD-EFGH-JKMN"}"#,
        r#"{"code":""}"#,
        r#"{"code":12}"#,
        "{}",
        "[]",
        r#"{"code":"ABCD-EFGH-JKMN","extra":[1,2,{"x":null}]}"#,
    ];
    let enrol: Vec<(String, Vec<u8>)> = enrol
        .iter()
        .enumerate()
        .map(|(n, e)| (format!("{n:02}"), e.as_bytes().to_vec()))
        .collect();
    write_corpus("hub_enrol", &enrol);

    write_the_document_corpus();
}

/// The corpus of [`document_body`]: a submission and its review as a phone makes them, and
/// each structural attack on the document routes (issue 12).
#[test]
#[ignore = "writes the document routes' corpus; run by hand"]
fn write_the_document_corpus() {
    let dir = tempfile::tempdir().unwrap();
    let core = minga_scenarios::phone::open_store(&dir.path().join("d.db"), "writer");
    let id = minga_scenarios::phone::fill_one(&core, 0, 64);
    let other = minga_scenarios::phone::fill_one(&core, 1, 0).to_string();
    core.set_review_state(&id, minga_core::ReviewState::HasIssues)
        .unwrap();
    let review_id = minga_core::review_id(&id);
    let review = minga_sync::DocumentStore::export(&core, &review_id.into())
        .unwrap()
        .unwrap();
    let submission = core.export_submission(&id).unwrap();
    let form_id = minga_core::form_document_id("safety_walk", "2099-01-01").to_string();
    let entry = |route: u8, id: &str, body: &[u8]| [&[route], id.as_bytes(), b"\n", body].concat();
    let (submissions, reviews) = (b'0', b'1');
    let id = id.to_string();
    write_corpus(
        "hub_document",
        &[
            ("00-submission".into(), entry(submissions, &id, &submission)),
            ("01-review".into(), entry(reviews, &id, &review)),
            (
                "02-review-id-as-submission".into(),
                entry(submissions, &review_id.to_string(), &submission),
            ),
            (
                "03-form-id-as-submission".into(),
                entry(submissions, &form_id, &submission),
            ),
            (
                "04-meta-id-of-another".into(),
                entry(submissions, &other, &submission),
            ),
            (
                "05-path".into(),
                entry(submissions, "../../etc/passwd", &submission),
            ),
            ("06-nul".into(), entry(submissions, "a\0b", &submission)),
            ("07-review-of-another".into(), entry(reviews, "@", &review)),
            ("08-empty".into(), entry(submissions, "@", b"")),
            (
                "09-review-as-submission".into(),
                entry(submissions, &other, &review),
            ),
        ],
    );
}
