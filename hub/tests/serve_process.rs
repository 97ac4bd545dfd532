//! The real binary: `minga-hub serve` as its own process on loopback, enrolment through the
//! command line and HTTP, logs that hold neither codes nor tokens, and a clean stop on SIGTERM.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

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

    let mut server = hub(data.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(server.stderr.take().unwrap());
    let mut log = String::new();
    let addr = loop {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "the hub exited early: {log}"
        );
        log.push_str(&line);
        if let Some(at) = line.find("addr=") {
            break line[at + 5..]
                .split_whitespace()
                .next()
                .unwrap()
                .to_string();
        }
    };
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
    let forms = agent
        .get(&format!("{url}/v1/projects/imbabura/forms"))
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .unwrap();
    assert_eq!(forms.status().as_u16(), 200);

    let terminated = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(terminated.success());
    let status = server.wait().unwrap();
    stderr.read_to_string(&mut log).unwrap();
    assert!(status.success(), "{log}");
    assert!(
        log.contains("SIGTERM") && log.contains("hub stopped"),
        "{log}"
    );
    assert!(
        log.contains("/v1/projects/{project}/forms"),
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
