//! The real `minga-hub` binary as a supervisor's terminal meets it: names and titles holding
//! escape codes, carriage returns and bells are printed escaped by every listing and message,
//! `--help` shows no password, a key file others may read is refused, and a project name no
//! device could sync with is refused at `project create`.

mod common;

use common::{Hub, Phone};
use minga_hub::access::{DocKind, Role};
use minga_hub::admin;
use minga_hub::client::HubConnection;
use minga_hub::storage::{DocumentWrite, HubStorage};
use minga_sync::PeerId;
use std::path::Path;
use std::process::{Command, Output};

/// What a terminal would act on: C0 controls but the newline (and the tab between a listing's
/// columns), DEL, and the C1 controls (two bytes in UTF-8, 0xC2 0x80-0x9F).
fn raw_control(printed: &[u8]) -> Option<usize> {
    printed.iter().enumerate().position(|(i, &b)| {
        (b < 0x20 && b != b'\n' && b != b'\t')
            || b == 0x7f
            || (b == 0xc2 && printed.get(i + 1).is_some_and(|n| (0x80..0xa0).contains(n)))
    })
}

fn minga_hub(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_minga-hub"))
        .arg("--data")
        .arg(data)
        .args(args)
        .env_remove("MINGA_HUB_DATABASE")
        .env_remove("MINGA_HUB_KEY_FILE")
        .output()
        .unwrap()
}

/// Runs the command and checks that nothing it printed holds a raw control character.
fn printed_safely(data: &Path, args: &[&str]) -> (String, String) {
    let output = minga_hub(data, args);
    for (stream, bytes) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
        if let Some(at) = raw_control(bytes) {
            panic!(
                "{args:?} printed a raw control byte {:#04x} on {stream} at {at}: {:?}",
                bytes[at],
                String::from_utf8_lossy(bytes)
            );
        }
    }
    (
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

const CLEAR_SCREEN: &str = "\u{1b}[2J";

#[test]
fn names_holding_escape_codes_carriage_returns_and_bells_are_printed_escaped() {
    let hub = Hub::start();
    let storage = hub.storage.as_ref();
    admin::create_project(
        storage,
        "north",
        Some(&format!("North{CLEAR_SCREEN}\rFAKE")),
    )
    .unwrap();
    let name = format!("Ana{CLEAR_SCREEN}\u{7}\rrevoked");
    let ana = hub.enrol("imbabura", Role::Facilitator, &name);
    let (id, bytes) = Phone::new(&ana.id).fill("Rosa");
    storage
        .write_documents(
            "imbabura",
            &[DocumentWrite {
                id,
                kind: DocKind::Submission,
                author: Some(ana.id.clone()),
                subject: None,
                changes: bytes,
                decoded: None,
                signatures: Default::default(),
            }],
            None,
        )
        .unwrap();
    let data = hub.dir.path();
    let shown = r"Ana\u{1b}[2J\u{7}\rrevoked";

    let (projects, _) = printed_safely(data, &["project", "list"]);
    assert!(projects.contains(r"North\u{1b}[2J\rFAKE"), "{projects}");
    let (devices, _) = printed_safely(data, &["device", "list"]);
    assert!(devices.contains(shown), "{devices}");
    let (submissions, _) = printed_safely(data, &["submissions", "list", "--project", "imbabura"]);
    assert!(submissions.contains(shown), "{submissions}");
    let (revoked, _) = printed_safely(data, &["device", "revoke", &ana.id]);
    assert!(revoked.contains(shown), "{revoked}");
    let (enrolment, _) = printed_safely(
        data,
        &[
            "device",
            "enrol",
            "--project",
            "imbabura",
            "--role",
            "supervisor",
            "--name",
            &name,
        ],
    );
    assert!(
        enrolment.contains(&format!("Enrolment code for {shown}")),
        "{enrolment}"
    );
    let (_, refused) = printed_safely(
        data,
        &[
            "submissions",
            "list",
            "--project",
            &format!("x{CLEAR_SCREEN}"),
        ],
    );
    assert!(refused.contains(r"x\u{1b}[2J"), "{refused}");
}

#[test]
fn help_never_shows_the_database_password() {
    let data = tempfile::tempdir().unwrap();
    for args in [
        &["--help"][..],
        &["serve", "--help"],
        &["project", "list", "--help"],
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_minga-hub"))
            .args(args)
            .env("MINGA_HUB_DATABASE", "postgres://u:s3cr3t-pw@h/db")
            .env("MINGA_HUB_KEY_FILE", data.path().join("hidden-key-path"))
            .output()
            .unwrap();
        let help = String::from_utf8(output.stdout).unwrap();
        assert!(
            output.status.success() && help.contains("--database"),
            "{help}"
        );
        assert!(
            !help.contains("s3cr3t-pw"),
            "{args:?} shows the password: {help}"
        );
        assert!(!help.contains("hidden-key-path"), "{args:?}: {help}");
    }
}

#[cfg(unix)]
#[test]
fn a_key_file_others_may_read_is_refused_with_the_command_that_fixes_it() {
    use std::os::unix::fs::PermissionsExt;
    let data = tempfile::tempdir().unwrap();
    assert!(minga_hub(data.path(), &["project", "create", "imbabura"])
        .status
        .success());
    let key_file = data.path().join("hub.sqlite3.key");
    for mode in [0o644, 0o666] {
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(mode)).unwrap();
        let listed = minga_hub(data.path(), &["project", "list"]);
        let said = String::from_utf8_lossy(&listed.stderr);
        assert!(!listed.status.success(), "mode {mode:o} was accepted");
        assert!(listed.stdout.is_empty());
        let fix = format!("chmod 600 {}", key_file.display());
        assert!(said.contains(&fix), "mode {mode:o}: {said}");
    }
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (listed, _) = printed_safely(data.path(), &["project", "list"]);
    assert!(
        listed.lines().nth(1).unwrap().starts_with("imbabura\t"),
        "{listed}"
    );
}

#[test]
fn a_project_name_no_device_could_sync_with_is_refused_and_nothing_is_created() {
    let data = tempfile::tempdir().unwrap();
    let escape = format!("x{CLEAR_SCREEN}");
    for name in ["a/b", "../x", "", escape.as_str()] {
        let output = minga_hub(data.path(), &["project", "create", name]);
        let said = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{name:?} was created");
        assert!(
            said.contains("cannot be a project name"),
            "{name:?}: {said}"
        );
        assert_eq!(raw_control(&output.stderr), None, "{said:?}");
    }
    assert_eq!(
        std::fs::read_dir(data.path()).unwrap().count(),
        0,
        "a refused name creates no hub either"
    );
    let (created, _) = printed_safely(data.path(), &["project", "create", "north-2026_v1.0"]);
    assert!(
        created.starts_with("created project north-2026_v1.0"),
        "{created}"
    );
}

#[test]
fn a_project_with_a_good_name_enrols_and_syncs_a_device() {
    let hub = Hub::start();
    let project = "north-2026_v1.0";
    admin::create_project(hub.storage.as_ref(), project, None).unwrap();
    admin::publish_form(hub.storage.as_ref(), project, common::fixture_form()).unwrap();
    let ana = hub.enrol(project, Role::Facilitator, "Ana");
    let phone = Phone::new(&ana.id);
    let (id, _) = phone.fill("Rosa");
    let connection = HubConnection::new(&hub.running.url(), project, &ana.token);
    let hub_id = PeerId::new(hub.storage.hub_id().unwrap()).unwrap();
    connection
        .sync(&phone.store, &PeerId::new(ana.id.clone()).unwrap(), &hub_id)
        .unwrap();
    assert!(
        hub.storage.document(project, &id).unwrap().is_some(),
        "the submission reached the hub"
    );
}

#[test]
fn form_publish_takes_the_media_folder_and_refuses_a_form_without_its_list_naming_the_file() {
    let data = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let form = serde_json::json!({
        "id": "cantons", "version": "1", "title": {"default": "Cantons"},
        "default_language": null, "languages": [], "instance_name": null, "choices": {},
        "survey": [{"kind": "question", "name": "canton",
                    "type": {"base": "select_one_from_file", "list": "cantons.csv"}}],
    });
    let form_file = files.path().join("cantons.json");
    std::fs::write(&form_file, serde_json::to_vec(&form).unwrap()).unwrap();
    let media = files.path().join("media");
    std::fs::create_dir(&media).unwrap();
    std::fs::write(media.join("cantons.csv"), "name,label\nquito,Quito\n").unwrap();
    printed_safely(data.path(), &["project", "create", "imbabura"]);
    let form_path = form_file.to_str().unwrap();
    let refused = minga_hub(
        data.path(),
        &["form", "publish", form_path, "--project", "imbabura"],
    );
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(
        said.contains("cantons.csv") && said.contains("canton"),
        "{said}"
    );
    let (published, _) = printed_safely(
        data.path(),
        &[
            "form",
            "publish",
            form_path,
            "--project",
            "imbabura",
            "--media",
            media.to_str().unwrap(),
        ],
    );
    assert_eq!(
        published.trim(),
        "published form cantons version 1 in project imbabura with 1 media file"
    );
}
