//! Backup and restore of a running hub: the real `minga-hub serve` with a phone that synced,
//! `minga-hub backup` taken while it serves and the phone keeps syncing, `minga-hub restore`
//! into a new folder (refused over a hub), a hub started on the restored data, and a phone that
//! syncs against it with its old credentials and gets its submissions back.

use minga_scenarios::hub::{hub_integrity, prepare_data_with_a_code, redeem, HubProcess};
use minga_scenarios::phone::{open_store, store_documents, sync_store, Phone};
use minga_sync::SyncOptions;
use std::path::Path;
use std::process::{Command, Output};

/// The real `minga-hub` binary.
const HUB: &str = env!("CARGO_BIN_EXE_minga-hub-under-test");

fn minga_hub(data: &Path, args: &[&str]) -> Output {
    Command::new(HUB)
        .arg("--data")
        .arg(data)
        .args(args)
        .env_remove("MINGA_HUB_DATABASE")
        .env_remove("MINGA_HUB_KEY_FILE")
        .output()
        .unwrap()
}

fn succeeded(output: Output) -> String {
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{said}");
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn a_hub_backed_up_while_serving_is_restored_and_a_phone_syncs_its_data_back() {
    let data = tempfile::tempdir().unwrap();
    let code = prepare_data_with_a_code(data.path(), "Ana");
    let hub = HubProcess::start(HUB, data.path(), "info");
    let phone = Phone::new(redeem(&hub.url, &code));
    let synced = phone.fill(5, 0);
    phone.sync(&hub.url, SyncOptions::default()).unwrap();

    // The phone keeps syncing new work while the backup is taken.
    let backup = tempfile::tempdir().unwrap();
    let folder = backup.path().join("nightly");
    let written = std::thread::scope(|scope| {
        let busy = scope.spawn(|| {
            for _ in 0..5 {
                phone.fill(3, 2_000);
                phone.sync(&hub.url, SyncOptions::default()).unwrap();
            }
        });
        let written = succeeded(minga_hub(
            data.path(),
            &["backup", "--out", folder.to_str().unwrap()],
        ));
        busy.join().unwrap();
        written
    });
    assert!(written.contains("hub.sqlite3.key"), "{written}");
    drop(hub.stop());

    let restored = tempfile::tempdir().unwrap();
    let target = restored.path().join("hub");
    let from = folder.to_str().unwrap();
    succeeded(minga_hub(&target, &["restore", "--from", from]));
    let again = minga_hub(&target, &["restore", "--from", from]);
    assert!(!again.status.success(), "a restore over a hub is refused");
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already exists"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(hub_integrity(&target), ["ok"]);

    // A hub on the restored data: the phone syncs with it as before (its credentials were
    // restored), and a supervisor enrolled there pulls everything the backup held, what was
    // synced before it began included. (Work the phone synced after the backup is not sent
    // again: its cursor says the hub has it. README, "backup".)
    let hub = HubProcess::start(HUB, &target, "info");
    phone.sync(&hub.url, SyncOptions::default()).unwrap();
    let listed = succeeded(minga_hub(
        &target,
        &["submissions", "list", "--project", "imbabura", "--json"],
    ));
    let listed: serde_json::Value = serde_json::from_str(&listed).unwrap();
    let listed: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["id"].as_str().unwrap())
        .collect();
    assert!(listed.len() >= synced.len(), "{listed:?}");
    let enrolment = succeeded(minga_hub(
        &target,
        &[
            "device",
            "enrol",
            "--project",
            "imbabura",
            "--role",
            "supervisor",
            "--name",
            "Sara",
        ],
    ));
    let code = enrolment
        .lines()
        .find_map(|line| line.strip_prefix("Enrolment code for Sara (supervisor in imbabura): "))
        .unwrap();
    let sara = redeem(&hub.url, code);
    let tablet_dir = tempfile::tempdir().unwrap();
    let tablet = open_store(&tablet_dir.path().join("tablet.db"), &sara.device_id);
    sync_store(
        &tablet,
        &hub.url,
        &sara,
        SyncOptions::default(),
        3,
        &mut |_| {},
    )
    .unwrap();
    let held = store_documents(&tablet);
    for id in &synced {
        assert!(held.contains_key(&id.to_string()), "{id} is on the tablet");
    }
    for id in &listed {
        assert!(held.contains_key(*id), "{id} is on the tablet");
    }
    drop(hub.stop());
}
