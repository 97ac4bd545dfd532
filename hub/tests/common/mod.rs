//! A real hub on a loopback port over a real SQLite file, and a real HTTP client, shared by
//! the integration tests.
#![allow(dead_code)] // each test file uses its own part of this

pub mod browser;

use minga_core::{AnswerPath, DeviceIdentity, Encryption, FormRef, Store, Value};
use minga_hub::access::Role;
use minga_hub::admin;
use minga_hub::server::RunningHub;
use minga_hub::storage::SqliteStorage;
use serde_json::{json, Value as Json};
use std::path::Path;
use std::sync::Arc;

pub struct Hub {
    pub dir: tempfile::TempDir,
    pub storage: Arc<SqliteStorage>,
    pub running: RunningHub,
    agent: ureq::Agent,
}

/// An enrolled device: its id and its token.
pub struct Enrolled {
    pub id: String,
    pub token: String,
}

/// A reply: status and body.
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Json {
        serde_json::from_slice(&self.body).unwrap_or(Json::Null)
    }

    pub fn error(&self) -> String {
        self.json()["error"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

pub fn fixture_form() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/safety_walk.json"
    ))
}

impl Hub {
    /// A hub with projects `imbabura` and `carchi`, the fixture form published in both.
    pub fn start() -> Hub {
        let dir = tempfile::tempdir().unwrap();
        let storage = Arc::new(SqliteStorage::open(dir.path()).unwrap());
        for project in ["imbabura", "carchi"] {
            admin::create_project(storage.as_ref(), project, None).unwrap();
            admin::publish_form(storage.as_ref(), project, fixture_form()).unwrap();
        }
        let running = RunningHub::start(storage.clone(), "127.0.0.1:0").unwrap();
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        Hub {
            dir,
            storage,
            running,
            agent,
        }
    }

    fn reply(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
        let mut response = result.expect("the hub answers");
        let status = response.status().as_u16();
        let body = response.body_mut().read_to_vec().unwrap();
        Reply { status, body }
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> Reply {
        let mut request = self.agent.get(&format!("{}{path}", self.running.url()));
        if let Some(token) = token {
            request = request.header("Authorization", &format!("Bearer {token}"));
        }
        Self::reply(request.call())
    }

    pub fn get_with_header(&self, path: &str, authorization: &str) -> Reply {
        Self::reply(
            self.agent
                .get(&format!("{}{path}", self.running.url()))
                .header("Authorization", authorization)
                .call(),
        )
    }

    pub fn put(&self, path: &str, token: &str, bytes: &[u8]) -> Reply {
        let request = self
            .agent
            .put(&format!("{}{path}", self.running.url()))
            .header("Authorization", &format!("Bearer {token}"));
        Self::reply(request.send(bytes))
    }

    pub fn try_code(&self, code: &str) -> Reply {
        Self::reply(
            self.agent
                .post(&format!("{}/v1/enrol", self.running.url()))
                .send_json(json!({ "code": code })),
        )
    }

    /// Issues a code and trades it for a token over HTTP.
    pub fn enrol(&self, project: &str, role: Role, name: &str) -> Enrolled {
        let issued = admin::enrol_device(self.storage.as_ref(), project, role, name).unwrap();
        let reply = self.try_code(&issued.code.to_string());
        assert_eq!(
            reply.status,
            200,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
        let body = reply.json();
        Enrolled {
            id: body["device_id"].as_str().unwrap().into(),
            token: body["token"].as_str().unwrap().into(),
        }
    }
}

/// A device's own core store, in which submissions are filled offline.
pub struct Phone {
    pub dir: tempfile::TempDir,
    pub store: Store,
}

impl Phone {
    pub fn new(name: &str) -> Phone {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(
            dir.path().join("phone.sqlite3"),
            Encryption::PlainFile,
            DeviceIdentity::new(name, name),
        )
        .unwrap();
        Phone { dir, store }
    }

    /// Sets one answer and returns the submission's bytes.
    pub fn answer(&self, id: &str, name: &str, value: Value) -> Vec<u8> {
        let id = id.parse().unwrap();
        self.store
            .set_answer(&id, &AnswerPath::new(name), &value)
            .unwrap();
        self.store.export_submission(&id).unwrap()
    }

    /// Fills a submission of the fixture form and returns its id and automerge bytes.
    pub fn fill(&self, respondent: &str) -> (String, Vec<u8>) {
        let id = self
            .store
            .create_submission(&FormRef::new("safety_walk", "2026-11-01"))
            .unwrap();
        self.store
            .set_answer(
                &id,
                &AnswerPath::new("respondent"),
                &Value::Text(respondent.into()),
            )
            .unwrap();
        self.store
            .set_answer(&id, &AnswerPath::new("age"), &Value::Integer(40))
            .unwrap();
        (id.to_string(), self.store.export_submission(&id).unwrap())
    }
}

/// The bytes of the core's review document of `submission`, with a verdict `state`.
pub fn review_bytes(submission: &str, state: minga_core::ReviewState) -> Vec<u8> {
    let submission: minga_core::DocId = submission.parse().unwrap();
    let mut review = minga_core::ReviewDocument::start(&submission).unwrap();
    review.set_state(state, &[], "test").unwrap();
    review.save()
}

/// A phone that syncs for real: a core store enrolled in a project over HTTP (a facilitator),
/// syncing with the hub at `base` as the app does.
pub struct SyncingPhone {
    _dir: tempfile::TempDir,
    pub store: Store,
    transport: minga_sync::http::HttpTransport,
    peer: minga_sync::PeerId,
    hub: minga_sync::PeerId,
}

impl SyncingPhone {
    /// A facilitator's phone.
    pub fn enrol(
        storage: &dyn minga_hub::storage::HubStorage,
        base: &str,
        project: &str,
        name: &str,
    ) -> SyncingPhone {
        Self::enrol_as(storage, base, project, name, Role::Facilitator)
    }

    pub fn enrol_as(
        storage: &dyn minga_hub::storage::HubStorage,
        base: &str,
        project: &str,
        name: &str,
        role: Role,
    ) -> SyncingPhone {
        let issued = admin::enrol_device(storage, project, role, name).unwrap();
        Self::with_code(base, project, name, &issued.code.to_string()).unwrap()
    }

    /// A phone enrolled with a one-time `code` (as a person types it or scans it).
    pub fn with_code(
        base: &str,
        project: &str,
        name: &str,
        code: &str,
    ) -> Result<SyncingPhone, minga_hub::client::ClientError> {
        let enrolled = minga_hub::client::enrol(base, code)?;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(
            dir.path().join("phone.sqlite3"),
            Encryption::PlainFile,
            DeviceIdentity::new(&enrolled.device_id, name),
        )
        .unwrap();
        Ok(SyncingPhone {
            _dir: dir,
            store,
            transport: minga_hub::client::phone_transport(base, project, &enrolled.token).unwrap(),
            peer: minga_sync::PeerId::new(enrolled.device_id).unwrap(),
            hub: minga_sync::PeerId::new(enrolled.hub_id).unwrap(),
        })
    }

    /// A submission of the fixture form answering `respondent`, named after her.
    pub fn fill(&self, respondent: &str) -> minga_core::DocId {
        let id = self
            .store
            .create_submission(&FormRef::new("safety_walk", "2026-11-01"))
            .unwrap();
        let text = Value::Text(respondent.into());
        self.store
            .set_answer(&id, &AnswerPath::new("respondent"), &text)
            .unwrap();
        self.store.set_instance_name(&id, Some(respondent)).unwrap();
        id
    }

    pub fn sync(&self) {
        self.try_sync().unwrap();
    }

    pub fn try_sync(&self) -> Result<minga_sync::SyncReport, minga_sync::SyncError> {
        minga_hub::client::sync_store(&self.store, &self.transport, &self.peer, &self.hub)
    }
}

/// `minga-hub serve` as its own process, on the address its log names; stopped (SIGTERM) when
/// dropped, whatever the test's outcome. Its log is drained by a thread, so that a full pipe
/// never stalls it.
pub struct Served {
    child: std::process::Child,
    /// `IP:PORT`, as the hub logged it.
    pub addr: String,
}

impl Served {
    /// Serves the hub in `data` with `serve`'s `args` (which name the address to listen on).
    pub fn start(data: &Path, args: &[&str]) -> Served {
        use std::io::BufRead;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_minga-hub"))
            .arg("--data")
            .arg(data)
            .arg("serve")
            .args(args)
            .env("RUST_LOG", "info")
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut log = std::io::BufReader::new(child.stderr.take().unwrap());
        let addr = loop {
            let mut line = String::new();
            assert!(
                log.read_line(&mut line).unwrap() > 0,
                "the hub exited early"
            );
            if let Some(at) = line.find("addr=") {
                break line[at + 5..]
                    .split_whitespace()
                    .next()
                    .unwrap()
                    .to_string();
            }
        };
        std::thread::spawn(move || std::io::copy(&mut log, &mut std::io::sink()));
        Served { child, addr }
    }

    pub fn port(&self) -> u16 {
        self.addr.rsplit(':').next().unwrap().parse().unwrap()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}
