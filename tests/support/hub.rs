//! A real hub on loopback over a real SQLite file: in this process ([`TestHub`]) or as the
//! `minga-hub` binary in its own process ([`HubProcess`]), which a scenario may SIGKILL.

use minga_hub::access::Role;
use minga_hub::admin;
use minga_hub::server::RunningHub;
use minga_hub::storage::{HubStorage, SqliteStorage};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::{Arc, Mutex};

/// The project every scenario works in, and a second one a device of the first must not reach.
pub const PROJECT: &str = "imbabura";
pub const OTHER_PROJECT: &str = "carchi";

/// The hub's own test form (a safety walk), published in both projects.
pub fn fixture_form() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../hub/tests/data/safety_walk.json")
}

/// What a device holds after enrolment.
#[derive(Clone, Debug)]
pub struct Enrolled {
    pub device_id: String,
    pub token: String,
    pub hub_id: String,
    pub project: String,
}

/// Creates both projects with the fixture form in the hub data folder `data`.
pub fn prepare_data(data: &Path) -> Arc<SqliteStorage> {
    let storage = Arc::new(SqliteStorage::open(data).expect("hub storage opens"));
    for project in [PROJECT, OTHER_PROJECT] {
        admin::create_project(storage.as_ref(), project, None).unwrap();
        admin::publish_form(storage.as_ref(), project, &fixture_form()).unwrap();
    }
    storage
}

/// Issues a code in `storage` and trades it for a token over HTTP at `url`.
pub fn enrol_at(
    storage: &dyn HubStorage,
    url: &str,
    project: &str,
    role: Role,
    name: &str,
) -> Enrolled {
    let issued = admin::enrol_device(storage, project, role, name).unwrap();
    redeem(url, &issued.code.to_string())
}

/// Prepares a hub data folder ([`prepare_data`]) for a hub process not started yet, with one
/// code issued for a facilitator named `name` in [`PROJECT`], which [`redeem`] trades once the
/// process runs.
pub fn prepare_data_with_a_code(data: &Path, name: &str) -> String {
    let storage = prepare_data(data);
    let issued = admin::enrol_device(storage.as_ref(), PROJECT, Role::Facilitator, name).unwrap();
    issued.code.to_string()
}

/// Trades the one-time `code` for a token over HTTP at `url`.
pub fn redeem(url: &str, code: &str) -> Enrolled {
    let answer = minga_hub::client::enrol(url, code).expect("enrolment");
    Enrolled {
        device_id: answer.device_id,
        token: answer.token,
        hub_id: answer.hub_id,
        project: answer.project,
    }
}

/// A hub running in this process on a free loopback port.
pub struct TestHub {
    pub dir: tempfile::TempDir,
    pub storage: Arc<SqliteStorage>,
    pub running: RunningHub,
}

impl TestHub {
    pub fn start() -> TestHub {
        let dir = tempfile::tempdir().unwrap();
        let storage = prepare_data(dir.path());
        let running = RunningHub::start(storage.clone(), "127.0.0.1:0").expect("hub starts");
        TestHub {
            dir,
            storage,
            running,
        }
    }

    pub fn url(&self) -> String {
        self.running.url()
    }

    pub fn enrol(&self, role: Role, name: &str) -> Enrolled {
        enrol_at(self.storage.as_ref(), &self.url(), PROJECT, role, name)
    }

    /// Enrols `store` as an app does (`Store.enrol`, with the fingerprint of the hub's key the
    /// enrolment link carries): the hub binds the store's signing key to the new device, and
    /// the store keeps the credential the hub signed and writes as that device from then on.
    pub fn enrol_store(&self, role: Role, name: &str, store: &minga_core::Store) -> Enrolled {
        let storage = self.storage.as_ref();
        let issued = admin::enrol_device(storage, PROJECT, role, name).unwrap();
        let code = issued.code.to_string();
        let (key, hub_key) = (store.public_key(), storage.hub_signing_key().unwrap());
        let fingerprint = hub_key.public_key().fingerprint();
        let answer =
            minga_hub::client::enrol_with_key(&self.url(), &code, Some(&key), Some(&fingerprint))
                .expect("enrolment");
        let credential = minga_sync::credential::Credential::from_fields(
            &answer.device_id,
            &answer.project,
            answer.role.as_str(),
            &key.to_string(),
            answer.credential.as_deref().expect("a credential"),
        )
        .expect("the hub's credential reads");
        store
            .adopt_enrolment(&credential, &hub_key.public_key())
            .expect("the store keeps the hub's credential");
        Enrolled {
            device_id: answer.device_id,
            token: answer.token,
            hub_id: answer.hub_id,
            project: answer.project,
        }
    }

    /// Every document of the project: id to sorted heads.
    pub fn documents(&self) -> BTreeMap<String, Vec<String>> {
        hub_documents(self.storage.as_ref(), PROJECT)
    }
}

/// Every document of `project` in `storage`: id to sorted heads (hex, comparable with a
/// phone's: `phone::store_documents`).
pub fn hub_documents(storage: &dyn HubStorage, project: &str) -> BTreeMap<String, Vec<String>> {
    storage
        .documents_since(project, 0, usize::MAX)
        .unwrap()
        .into_iter()
        .map(|header| {
            let mut heads: Vec<String> = header.heads.iter().map(|h| h.to_string()).collect();
            heads.sort();
            (header.id, heads)
        })
        .collect()
}

/// SQLite's own verdict on the hub database in `data` (`["ok"]` when sound).
pub fn hub_integrity(data: &Path) -> Vec<String> {
    SqliteStorage::open(data)
        .unwrap()
        .integrity_check()
        .unwrap()
}

/// `minga-hub serve` in its own process (the real binary), its log captured by a thread (so
/// that a chatty log level never blocks the hub on a full pipe).
pub struct HubProcess {
    child: Child,
    log: Arc<Mutex<String>>,
    drain: Option<std::thread::JoinHandle<()>>,
    pub url: String,
}

impl HubProcess {
    /// Starts `minga-hub serve` (the binary at `binary`: a test passes
    /// `env!("CARGO_BIN_EXE_minga-hub-under-test")`) on `data` at a free loopback port, logging
    /// at `log_level`, and waits until it listens.
    pub fn start(binary: &str, data: &Path, log_level: &str) -> HubProcess {
        Self::start_with(binary, data, log_level, &[], None)
    }

    /// Like [`HubProcess::start`], with more `serve` arguments (`--header-timeout 2`) and, when
    /// given, a limit on the hub process's open files (soft and hard, as a service manager sets
    /// it).
    pub fn start_with(
        binary: &str,
        data: &Path,
        log_level: &str,
        serve_args: &[&str],
        file_limit: Option<u64>,
    ) -> HubProcess {
        let mut command = Command::new(binary);
        command
            .arg("--data")
            .arg(data)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(serve_args)
            .env("RUST_LOG", log_level)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(limit) = file_limit {
            limit_open_files(&mut command, limit);
        }
        let mut child = command.spawn().expect("the hub binary starts");
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut log = String::new();
        let url = loop {
            let mut line = String::new();
            if stderr.read_line(&mut line).unwrap_or(0) == 0 {
                let status = child.wait();
                panic!("the hub exited early ({status:?}): {log}");
            }
            log.push_str(&line);
            if let Some(at) = line.find("addr=") {
                let addr = line[at + 5..].split_whitespace().next().unwrap();
                break format!("http://{addr}");
            }
        };
        let log = Arc::new(Mutex::new(log));
        let drain = std::thread::spawn({
            let log = log.clone();
            move || drain_into(stderr, &log)
        });
        HubProcess {
            child,
            log,
            drain: Some(drain),
            url,
        }
    }

    /// The hub's `host:port`.
    pub fn addr(&self) -> &str {
        self.url.trim_start_matches("http://")
    }

    /// The log so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no shutdown, no flush, nothing.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, then the whole log once the process has ended.
    pub fn stop(mut self) -> String {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        self.child.wait().unwrap();
        if let Some(drain) = self.drain.take() {
            drain.join().unwrap();
        }
        let log = self.log.lock().unwrap();
        log.clone()
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sets the open-file limit (`RLIMIT_NOFILE`, soft and hard) of the process `command` starts.
fn limit_open_files(command: &mut Command, limit: u64) {
    use std::os::unix::process::CommandExt;
    let rlimit = libc::rlimit {
        rlim_cur: limit as libc::rlim_t,
        rlim_max: limit as libc::rlim_t,
    };
    // SAFETY: between fork and exec the closure calls only setrlimit, which is
    // async-signal-safe, on a struct it owns.
    unsafe {
        command.pre_exec(move || {
            if libc::setrlimit(libc::RLIMIT_NOFILE, &rlimit) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
}

/// Raises this process's soft limit on open files to its hard limit (a scenario holding a
/// thousand sockets needs more than the common default of 1,024); returns the limit now in force.
pub fn raise_own_file_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct they are given.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        limit.rlim_cur = limit.rlim_max;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
    }
    // rlim_t is not u64 on every unix.
    #[allow(clippy::unnecessary_cast)]
    let limit = limit.rlim_cur as u64;
    limit
}

fn drain_into(mut stderr: BufReader<ChildStderr>, log: &Mutex<String>) {
    let mut line = String::new();
    while stderr.read_line(&mut line).unwrap_or(0) > 0 {
        log.lock().unwrap().push_str(&line);
        line.clear();
    }
}
