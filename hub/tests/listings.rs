//! The supervisor's command line on a real hub with a phone that synced: every listing as text
//! and as JSON (`--json`), `submissions show` with the form's labels, the review and the
//! history, times in the office's time zone to the second, devices found by name, help on
//! every command and option, and no hub ever created by a command that only reads one.

mod common;

use chrono::{DateTime, FixedOffset, Utc};
use common::{Enrolled, Hub, Phone};
use minga_core::{ReviewDocument, ReviewState, Value};
use minga_hub::access::{DocKind, Role};
use minga_hub::client::HubConnection;
use minga_hub::storage::{DocumentWrite, HubStorage};
use minga_sync::PeerId;
use serde_json::Value as Json;
use std::path::Path;
use std::process::{Command, Output};

/// Ecuador's time, as a POSIX TZ rule (no zone database needed): UTC-5, no summer time.
const ECUADOR: &str = "<-05>5";

fn run(data: &Path, time_zone: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_minga-hub"))
        .arg("--data")
        .arg(data)
        .args(args)
        .env("TZ", time_zone)
        .env_remove("MINGA_HUB_DATA")
        .env_remove("MINGA_HUB_DATABASE")
        .env_remove("MINGA_HUB_KEY_FILE")
        .output()
        .unwrap()
}

/// Runs a command that must succeed; its standard output.
fn text(data: &Path, args: &[&str]) -> String {
    let output = run(data, ECUADOR, args);
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{args:?}: {said}");
    String::from_utf8(output.stdout).unwrap()
}

/// The same command with `--json`, parsed.
fn json(data: &Path, args: &[&str]) -> Json {
    let printed = text(data, &[args, &["--json"]].concat());
    serde_json::from_str(&printed).unwrap_or_else(|e| panic!("{args:?}: {e}: {printed}"))
}

/// `time` (RFC 3339) as the command line shows it in Ecuador.
fn in_ecuador(time: &Json) -> String {
    let time: DateTime<Utc> = time.as_str().unwrap().parse().unwrap();
    let offset = FixedOffset::west_opt(5 * 3600).unwrap();
    time.with_timezone(&offset)
        .format("%Y-%m-%d %H:%M:%S -05:00")
        .to_string()
}

/// A hub where Ana's phone synced one submission over HTTP, which Sara reviewed with a comment.
struct Office {
    hub: Hub,
    ana: Enrolled,
    submission: String,
}

fn office() -> Office {
    let hub = Hub::start();
    let ana = hub.enrol("imbabura", Role::Facilitator, "Ana");
    hub.enrol("imbabura", Role::Supervisor, "Sara");
    let phone = Phone::new(&ana.id);
    // What enrolment with the store's key binds, so that the history names the signer.
    hub.storage
        .bind_device_key("imbabura", &ana.id, &phone.store.public_key())
        .unwrap();
    let (submission, _) = phone.fill("Rosa");
    let concerns = Value::Choices(["theft".to_string()].into());
    phone.answer(&submission, "concerns", concerns);
    let id = submission.parse().unwrap();
    phone
        .store
        .set_instance_name(&id, Some("Rosa, Ibarra"))
        .unwrap();
    let connection = HubConnection::new(&hub.running.url(), "imbabura", &ana.token);
    let hub_id = PeerId::new(hub.storage.hub_id().unwrap()).unwrap();
    connection
        .sync(&phone.store, &PeerId::new(ana.id.clone()).unwrap(), &hub_id)
        .unwrap();
    let mut review = ReviewDocument::start(&id).unwrap();
    review
        .set_state(ReviewState::HasIssues, &[], "Sara")
        .unwrap();
    review
        .add_comment("Check the age", Some("age"), "Sara")
        .unwrap();
    let written = hub.storage.write_documents(
        "imbabura",
        &[DocumentWrite {
            id: review.id().to_string(),
            kind: DocKind::Review,
            author: Some(ana.id.clone()),
            subject: Some(submission.clone()),
            changes: review.save(),
            decoded: None,
            signatures: Default::default(),
        }],
        None,
    );
    written.unwrap();
    Office {
        hub,
        ana,
        submission,
    }
}

#[test]
fn every_listing_prints_a_table_and_the_same_rows_as_json() {
    let Office {
        hub,
        ana,
        submission,
    } = office();
    let data = hub.dir.path();

    let projects = text(data, &["project", "list"]);
    assert!(
        projects.starts_with("project\ttitle\tcreated\n"),
        "{projects}"
    );
    let listed = json(data, &["project", "list"]);
    assert_eq!(listed[0]["name"], "carchi");
    assert!(projects.contains(&format!(
        "carchi\tcarchi\t{}",
        in_ecuador(&listed[0]["created_at"])
    )));

    let forms = text(data, &["form", "list", "--project", "imbabura"]);
    let listed = json(data, &["form", "list", "--project", "imbabura"]);
    assert_eq!(listed[0]["title"], "Safety walk");
    assert_eq!(listed[0]["submissions"], 1);
    let published = in_ecuador(&listed[0]["published_at"]);
    assert!(
        forms.contains(&format!(
            "safety_walk\t2026-11-01\tSafety walk\t{published}\t1"
        )),
        "{forms}"
    );

    let devices = text(data, &["device", "list", "--project", "imbabura"]);
    let listed = json(data, &["device", "list", "--project", "imbabura"]);
    assert!(
        devices.starts_with("id\tproject\trole\tname\tlast sync\tstate\n"),
        "{devices}"
    );
    let last_sync = in_ecuador(&listed[0]["last_sync_at"]);
    assert!(
        devices.contains(&format!(
            "{}\timbabura\tfacilitator\tAna\t{last_sync}\tactive",
            ana.id
        )),
        "the phone that synced: {devices}"
    );
    assert!(
        devices.contains("\timbabura\tsupervisor\tSara\tnever\tactive"),
        "{devices}"
    );

    let rows = text(data, &["submissions", "list", "--project", "imbabura"]);
    let listed = json(data, &["submissions", "list", "--project", "imbabura"]);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], submission.as_str());
    assert_eq!(listed[0]["review_state"], "has_issues");
    assert_eq!(listed[0]["author_name"], "Ana");
    let updated = in_ecuador(&listed[0]["updated_at"]);
    assert_eq!(
        rows,
        format!(
            "updated\tform\tversion\tstatus\treview\tname\tsubmitter\tdevice\tconflicts\tinvalid\tid\n\
             {updated}\tsafety_walk\t2026-11-01\tdraft\thas issues\tRosa, Ibarra\t{}\tAna\t\t\t{submission}\n",
            ana.id
        )
    );
    for (filter, value, shown) in [
        ("--review", "has-issues", 1),
        ("--review", "approved", 0),
        ("--status", "draft", 1),
        ("--status", "complete", 0),
        ("--form", "safety_walk", 1),
        ("--form", "other", 0),
    ] {
        let args = [
            "submissions",
            "list",
            "--project",
            "imbabura",
            filter,
            value,
        ];
        let found = json(data, &args);
        assert_eq!(found.as_array().unwrap().len(), shown, "{filter} {value}");
    }
    let conflicts = [
        "submissions",
        "list",
        "--project",
        "imbabura",
        "--conflicts",
    ];
    assert_eq!(json(data, &conflicts), serde_json::json!([]));
    let invalid = ["submissions", "list", "--project", "imbabura", "--invalid"];
    assert_eq!(json(data, &invalid), serde_json::json!([]));
    assert_eq!(listed[0]["invalid"], false);
    assert_eq!(listed[0]["invalid_reasons"], serde_json::json!([]));
}

#[test]
fn a_submission_is_shown_with_the_forms_labels_its_review_and_its_history() {
    let Office {
        hub,
        ana,
        submission,
    } = office();
    let data = hub.dir.path();
    let args = ["submissions", "show", &submission, "--project", "imbabura"];
    let shown = text(data, &args);
    for expected in [
        "Form: Safety walk (safety_walk version 2026-11-01)".to_string(),
        "Name: Rosa, Ibarra".into(),
        "Status: draft; review: has issues".into(),
        format!("Submitted by: {} on Ana", ana.id),
        "  Respondent: Rosa".into(),
        "  Age: 40".into(),
        "  Concerns: Theft".into(),
        "Review: has issues by Sara".into(),
        "  Sara wrote on age (".into(),
        format!("  {} on Ana: 5 changes, ", ana.id),
        "; signed by device Ana\n".into(),
    ] {
        assert!(shown.contains(&expected), "`{expected}` in\n{shown}");
    }
    let spanish = text(data, &[&args[..], &["--language", "Español (es)"]].concat());
    assert!(
        spanish.contains("Form: Recorrido de seguridad"),
        "{spanish}"
    );
    assert!(
        spanish.contains("  Persona: Rosa") && spanish.contains("  Concerns: Robo"),
        "{spanish}"
    );

    let detail = json(data, &args);
    assert_eq!(detail["id"], submission.as_str());
    assert_eq!(detail["form_title"], "Safety walk");
    let respondent = detail["answers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "respondent")
        .unwrap();
    assert_eq!(respondent["label"], "Respondent");
    assert_eq!(respondent["value"]["value"], "Rosa");
    assert_eq!(detail["review"]["state"], "has_issues");
    assert_eq!(detail["review"]["comments"][0]["question"], "age");
    assert_eq!(detail["history"][0]["device_name"], "Ana");
    assert_eq!(detail["history"][0]["changes"], 5);
    assert_eq!(detail["history"][0]["signer"]["kind"], "device");
    assert_eq!(detail["history"][0]["signer"]["device_id"], ana.id.as_str());

    let missing = run(
        data,
        ECUADOR,
        &["submissions", "show", "nope", "--project", "imbabura"],
    );
    let said = String::from_utf8_lossy(&missing.stderr);
    assert!(!missing.status.success());
    assert!(
        said.contains("no submission `nope`") && said.contains("submissions list"),
        "{said}"
    );
}

#[test]
fn times_are_shown_in_the_offices_time_zone_to_the_second() {
    let Office { hub, .. } = office();
    let data = hub.dir.path();
    let args = ["device", "list", "--project", "imbabura"];
    let listed = json(data, &args);
    let synced: DateTime<Utc> = listed[0]["last_sync_at"].as_str().unwrap().parse().unwrap();
    for (zone, east, offset) in [
        (ECUADOR, -5 * 3600, "-05:00"),
        ("UTC0", 0, "+00:00"),
        ("<+0530>-5:30", 5 * 3600 + 1800, "+05:30"),
    ] {
        let printed = String::from_utf8(run(data, zone, &args).stdout).unwrap();
        let local = synced.with_timezone(&FixedOffset::east_opt(east).unwrap());
        let shown = format!("{} {offset}", local.format("%Y-%m-%d %H:%M:%S"));
        assert!(printed.contains(&shown), "{zone}: `{shown}` in {printed}");
    }
}

#[test]
fn a_device_is_revoked_by_its_name_and_a_name_two_devices_share_is_refused_listing_them() {
    let hub = Hub::start();
    let first = hub.enrol("imbabura", Role::Facilitator, "Ben");
    let second = hub.enrol("carchi", Role::Facilitator, "Ben");
    let data = hub.dir.path();

    let shared = run(data, ECUADOR, &["device", "revoke", "Ben"]);
    let said = String::from_utf8_lossy(&shared.stderr);
    assert!(!shared.status.success());
    assert!(said.contains("2 devices are named `Ben`"), "{said}");
    assert!(
        said.contains(&first.id) && said.contains(&second.id),
        "{said}"
    );
    assert!(said.contains("device list"), "{said}");
    let none_revoked = hub.storage.devices(None).unwrap();
    assert!(none_revoked.iter().all(|d| d.revoked_at.is_none()));

    let revoked = text(data, &["device", "revoke", "Ben", "--project", "carchi"]);
    assert!(
        revoked.starts_with(&format!("revoked Ben ({}", second.id)),
        "{revoked}"
    );
    // The other Ben is now the only one not revoked: the name finds him.
    let revoked = text(data, &["device", "revoke", "ben"]);
    assert!(
        revoked.starts_with(&format!("revoked Ben ({}", first.id)),
        "{revoked}"
    );

    let unknown = run(data, ECUADOR, &["device", "revoke", "Zoe"]);
    let said = String::from_utf8_lossy(&unknown.stderr);
    assert!(!unknown.status.success());
    assert!(
        said.contains("no device named `Zoe`") && said.contains("device list"),
        "{said}"
    );
}

/// Every command that reads or changes a hub, with what it needs besides the hub.
const READING_COMMANDS: &[&[&str]] = &[
    &["project", "list"],
    &["form", "list", "--project", "p"],
    &["form", "publish", "form.json", "--project", "p"],
    &["device", "list"],
    &[
        "device",
        "enrol",
        "--project",
        "p",
        "--role",
        "facilitator",
        "--name",
        "Ana",
    ],
    &["device", "revoke", "Ana"],
    &["submissions", "list", "--project", "p"],
    &["submissions", "show", "some-id", "--project", "p"],
    &[
        "export",
        "--project",
        "p",
        "--format",
        "csv",
        "--out",
        "exports",
    ],
    &["backup", "--out", "backup"],
    &["renew-sync-epoch"],
];

#[test]
fn no_command_but_serve_and_project_create_makes_a_hub_where_there_is_none() {
    let workspace = tempfile::tempdir().unwrap();
    let typo = workspace.path().join("minga-hub-dta");
    for args in READING_COMMANDS {
        let output = run(&typo, ECUADOR, args);
        let said = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} succeeded");
        assert!(
            said.contains(&format!("no hub in {}", typo.display())),
            "{args:?}: {said}"
        );
        assert!(
            said.contains("--data DIR") && said.contains("MINGA_HUB_DATA"),
            "{said}"
        );
        assert!(!typo.exists(), "{args:?} created {}", typo.display());
    }
    // The same through the environment, and with the folder named after the command.
    let output = Command::new(env!("CARGO_BIN_EXE_minga-hub"))
        .args(["device", "list"])
        .env("MINGA_HUB_DATA", &typo)
        .output()
        .unwrap();
    assert!(!output.status.success() && !typo.exists());
    let output = Command::new(env!("CARGO_BIN_EXE_minga-hub"))
        .args(["device", "list", "--data"])
        .arg(&typo)
        .output()
        .unwrap();
    assert!(!output.status.success() && !typo.exists());

    text(&typo, &["project", "create", "imbabura"]);
    assert!(text(&typo, &["project", "list"]).contains("imbabura"));
}

/// Every command, as `minga-hub help` names it.
const COMMANDS: &[&[&str]] = &[
    &["serve"],
    &["project", "create"],
    &["project", "list"],
    &["form", "publish"],
    &["form", "list"],
    &["device", "enrol"],
    &["device", "list"],
    &["device", "revoke"],
    &["submissions", "list"],
    &["submissions", "show"],
    &["export"],
    &["backup"],
    &["restore"],
    &["renew-sync-epoch"],
    &["demo"],
];

/// The options and arguments of a help text that have no words after them.
fn undescribed(help: &str) -> Vec<String> {
    let lines: Vec<&str> = help.lines().collect();
    lines
        .iter()
        .enumerate()
        .filter(|(_, line)| {
            let trimmed = line.trim_start();
            line.starts_with("  ") && (trimmed.starts_with('-') || trimmed.starts_with('<'))
        })
        .filter(|(at, line)| {
            let same_line = line
                .trim()
                .split_once("  ")
                .is_some_and(|(_, t)| !t.trim().is_empty());
            let next_line = lines
                .get(at + 1)
                .is_some_and(|next| next.starts_with("          ") && !next.trim().is_empty());
            !same_line && !next_line
        })
        .map(|(_, line)| line.trim().to_string())
        .collect()
}

#[test]
fn every_command_and_option_has_help_and_the_long_paragraphs_are_said_once() {
    let run_help = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_minga-hub"))
            .args(args)
            .output()
            .unwrap();
        assert!(output.status.success(), "{args:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    let top = run_help(&["--help"]);
    for paragraph in ["64 hex digits", "load balancer", "pg_dump"] {
        assert!(top.contains(paragraph), "{top}");
    }
    assert_eq!(undescribed(&top), Vec::<String>::new(), "{top}");
    for command in COMMANDS {
        let help = run_help(&[&["help"], *command].concat());
        assert_eq!(
            undescribed(&help),
            Vec::<String>::new(),
            "{command:?}:\n{help}"
        );
        assert!(
            !help.contains("64 hex digits") && !help.contains("load balancer"),
            "{command:?}:\n{help}"
        );
        let first = help.lines().next().unwrap_or_default();
        assert!(first.len() > 20, "{command:?} says what it does: {help}");
    }
    let demo = run_help(&["help", "demo"]);
    assert!(
        !demo.contains("--data") && !demo.contains("--database"),
        "{demo}"
    );
    let refused = Command::new(env!("CARGO_BIN_EXE_minga-hub"))
        .args(["--data", "somewhere", "demo"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not for it"));
}
