//! `minga-hub user add|reset|list`, the real binary on a real hub's folder: a generated password
//! is printed once and signs in, a given one comes from standard input, a taken name, an
//! unknown project and a short password are refused, a reset ends the user's sessions, and
//! each change is in the audit log.

mod common;

use common::Hub;
use minga_hub::console::auth::password_matches;
use minga_hub::storage::{ConsoleStorage, COMMAND_LINE};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn minga_hub(data: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_minga-hub"))
        .arg("--data")
        .arg(data)
        .args(args)
        .env_remove("MINGA_HUB_DATABASE")
        .env_remove("MINGA_HUB_KEY_FILE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn a_generated_password_is_printed_once_and_is_the_one_stored() {
    let hub = Hub::start();
    let data = hub.dir.path();
    let added = minga_hub(
        data,
        &[
            "user",
            "add",
            "--project",
            "imbabura",
            "--project",
            "carchi",
            "--name",
            "sara",
        ],
        "",
    );
    assert!(added.status.success(), "{}", text(&added));
    let printed = text(&added);
    let password = printed
        .lines()
        .find_map(|line| {
            line.split(": ")
                .nth(1)
                .filter(|_| line.starts_with("password"))
        })
        .expect("the password is printed")
        .to_string();
    let sara = hub.storage.console_user("sara").unwrap().unwrap();
    assert_eq!(sara.projects, ["carchi", "imbabura"]);
    assert!(password_matches(&password, &sara.password_hash));
    assert!(
        !sara.password_hash.contains(&password),
        "only its hash is kept"
    );

    let listed = minga_hub(data, &["user", "list"], "");
    assert!(
        text(&listed).contains("carchi, imbabura"),
        "{}",
        text(&listed)
    );
    assert!(!text(&listed).contains(&password));
}

#[test]
fn taken_names_unknown_projects_and_short_passwords_are_refused() {
    let hub = Hub::start();
    let data = hub.dir.path();
    let add = |name: &str, project: &str, password: &str| {
        minga_hub(
            data,
            &[
                "user",
                "add",
                "--project",
                project,
                "--name",
                name,
                "--password-stdin",
            ],
            password,
        )
    };
    assert!(add("sara", "imbabura", "long enough password\n")
        .status
        .success());
    let again = add("sara", "imbabura", "long enough password\n");
    assert!(!again.status.success());
    assert!(text(&again).contains("already exists"), "{}", text(&again));
    let nowhere = add("tomas", "nowhere", "long enough password\n");
    assert!(
        text(&nowhere).contains("no project named `nowhere`"),
        "{}",
        text(&nowhere)
    );
    let short = add("tomas", "imbabura", "short\n");
    assert!(
        text(&short).contains("at least 10 characters"),
        "{}",
        text(&short)
    );
    assert_eq!(hub.storage.console_user("tomas").unwrap(), None);
}

#[test]
fn a_reset_replaces_the_password_ends_the_sessions_and_is_audited() {
    let hub = Hub::start();
    let data = hub.dir.path();
    let args = [
        "user",
        "add",
        "--project",
        "imbabura",
        "--name",
        "sara",
        "--password-stdin",
    ];
    assert!(minga_hub(data, &args, "the first password\n")
        .status
        .success());
    let now = chrono::Utc::now();
    hub.storage
        .create_console_session(&minga_hub::storage::ConsoleSession {
            token_hash: "h".into(),
            user: "sara".into(),
            csrf_secret: "c".into(),
            created_at: now,
            expires_at: now + chrono::Duration::hours(1),
        })
        .unwrap();
    let reset = minga_hub(
        data,
        &["user", "reset", "sara", "--password-stdin"],
        "the second password\n",
    );
    assert!(reset.status.success(), "{}", text(&reset));
    let sara = hub.storage.console_user("sara").unwrap().unwrap();
    assert!(password_matches("the second password", &sara.password_hash));
    assert!(!password_matches("the first password", &sara.password_hash));
    assert_eq!(hub.storage.console_session("h", now).unwrap(), None);
    let actions: Vec<String> = hub
        .storage
        .audit_log(Some("imbabura"), None, 10)
        .unwrap()
        .into_iter()
        .filter(|r| r.entry.who == COMMAND_LINE)
        .map(|r| format!("{} {}", r.entry.action, r.entry.subject.unwrap_or_default()))
        .collect();
    assert_eq!(actions, ["user reset sara", "user add sara"]);
    let unknown = minga_hub(data, &["user", "reset", "ghost"], "");
    assert!(text(&unknown).contains("no console user named `ghost`"));
}
