//! The real binary: `minga-hub serve` as its own process on loopback, enrolment through the
//! command line and HTTP, logs that hold neither codes nor tokens, and a clean stop on SIGTERM.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStderr, Command, Stdio};

fn hub(data: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_minga-hub"));
    command.arg("--data").arg(data).env("RUST_LOG", "info");
    command
}

fn admin(data: &std::path::Path, args: &[&str]) -> String {
    let output = hub(data).args(args).output().unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Starts `minga-hub serve` on a free loopback port; returns the process, its log so far and
/// the address it bound, read from its log.
#[allow(clippy::zombie_processes)] // the caller gets the child and waits for it
fn spawn_serve(
    data: &std::path::Path,
    extra: &[&str],
) -> (Child, BufReader<ChildStderr>, String, String) {
    let mut server = hub(data)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(extra)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(server.stderr.take().unwrap());
    let mut log = String::new();
    loop {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            let status = server.wait();
            panic!("the hub exited early ({status:?}): {log}");
        }
        log.push_str(&line);
        if let Some(at) = line.find("addr=") {
            let addr = line[at + 5..]
                .split_whitespace()
                .next()
                .unwrap()
                .to_string();
            return (server, stderr, log, addr);
        }
    }
}

fn terminate(server: &mut Child) -> std::process::ExitStatus {
    let sent = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    server.wait().unwrap()
}

#[test]
fn serve_enrol_sync_forms_and_stop_on_sigterm_without_logging_secrets() {
    let data = tempfile::tempdir().unwrap();
    admin(data.path(), &["project", "create", "imbabura"]);
    let form = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/safety_walk.json");
    admin(
        data.path(),
        &["form", "publish", form, "--project", "imbabura"],
    );
    let printed = admin(
        data.path(),
        &[
            "device",
            "enrol",
            "--project",
            "imbabura",
            "--role",
            "facilitator",
            "--name",
            "Ana",
        ],
    );
    let code = printed
        .lines()
        .find_map(|l| {
            l.split(": ")
                .nth(1)
                .filter(|_| l.starts_with("Enrolment code"))
        })
        .unwrap()
        .to_string();

    let (mut server, mut stderr, mut log, addr) = spawn_serve(data.path(), &[]);
    let url = format!("http://{addr}");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let enrolled: serde_json::Value = agent
        .post(&format!("{url}/v1/enrol"))
        .send_json(serde_json::json!({ "code": code }))
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    let token = enrolled["token"].as_str().unwrap().to_string();
    let changes: serde_json::Value = agent
        .get(&format!("{url}/v1/projects/imbabura/changes"))
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    assert_eq!(
        changes["documents"][0]["kind"], "form",
        "the form published on the command line is the project's first document"
    );

    let status = terminate(&mut server);
    stderr.read_to_string(&mut log).unwrap();
    assert!(status.success(), "{log}");
    assert!(
        log.contains("SIGTERM") && log.contains("hub stopped"),
        "{log}"
    );
    assert!(
        log.contains("/v1/projects/{project}/changes"),
        "requests are logged by route: {log}"
    );
    assert!(
        !log.contains(&token) && !log.contains(&code) && !log.contains(&code.replace('-', "")),
        "{log}"
    );

    let devices = admin(data.path(), &["device", "list"]);
    assert!(
        devices.contains("Ana") && devices.contains("active"),
        "{devices}"
    );
}

#[test]
fn serve_https_with_a_given_certificate() {
    let data = tempfile::tempdir().unwrap();
    admin(data.path(), &["project", "create", "imbabura"]);
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let (cert, key) = (data.path().join("hub.crt"), data.path().join("hub.key"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let (cert_arg, key_arg) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let (mut server, mut stderr, mut log, addr) =
        spawn_serve(data.path(), &["--tls-cert", cert_arg, "--tls-key", key_arg]);

    let trusted = ureq::tls::Certificate::from_der(certified.cert.der()).to_owned();
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::Specific(std::sync::Arc::new(vec![
            trusted,
        ])))
        .build();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .tls_config(tls)
        .http_status_as_error(false)
        .build()
        .into();
    let mut health = agent.get(&format!("https://{addr}/health")).call().unwrap();
    assert_eq!(health.body_mut().read_to_string().unwrap(), "ok\n");
    // Enrolment limits guesses by the client's address, which the TLS server hands on too.
    let mut wrong = agent
        .post(&format!("https://{addr}/v1/enrol"))
        .send_json(serde_json::json!({ "code": "ABCD-EFGH-JKMN" }))
        .unwrap();
    let said = wrong.body_mut().read_to_string().unwrap();
    assert_eq!(wrong.status(), 403, "{said}");
    let plain: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    assert!(
        plain
            .get(&format!("http://{addr}/health"))
            .call()
            .map(|r| r.status().as_u16() != 200)
            .unwrap_or(true),
        "no plain HTTP on the TLS port"
    );

    let status = terminate(&mut server);
    stderr.read_to_string(&mut log).unwrap();
    assert!(status.success() && log.contains("hub stopped"), "{log}");
}

#[test]
fn the_key_file_is_made_private_where_it_is_named_and_needed_to_open_the_database() {
    let data = tempfile::tempdir().unwrap();
    let keys = tempfile::tempdir().unwrap();
    let key_file = keys.path().join("office.key");
    let key = key_file.to_str().unwrap();
    admin(
        data.path(),
        &["--key-file", key, "project", "create", "imbabura"],
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
    }
    assert!(
        !data.path().join("hub.sqlite3.key").exists(),
        "no key beside the database"
    );
    let listed = hub(data.path())
        .env("MINGA_HUB_KEY_FILE", &key_file)
        .args(["project", "list"])
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed
            .lines()
            .nth(1)
            .unwrap_or_default()
            .starts_with("imbabura\t"),
        "{listed}"
    );
    let without = hub(data.path()).args(["project", "list"]).output().unwrap();
    let said = String::from_utf8_lossy(&without.stderr);
    assert!(!without.status.success());
    assert!(said.contains("hub.sqlite3.key: missing"), "{said}");
}
