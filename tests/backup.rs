//! Backup and restore of a running hub: the real `minga-hub serve` with a phone that synced,
//! `minga-hub backup` taken while it serves and the phone keeps syncing, more work synced after
//! it, `minga-hub restore` into a new folder (refused over a hub), a hub started on the
//! restored data where a supervisor reviews, and the phone syncing with its old credentials:
//! the hub gets the phone's work of after the backup back and the phone gets the review.

use minga_core::{AnswerPath, ReviewState, Value};
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

/// A `minga-hub serve` on a new data folder (kept by the caller) and a phone enrolled there.
fn serving_with_a_phone() -> (tempfile::TempDir, HubProcess, Phone) {
    let data = tempfile::tempdir().unwrap();
    let code = prepare_data_with_a_code(data.path(), "Ana");
    let hub = HubProcess::start(HUB, data.path(), "info");
    let phone = Phone::new(redeem(&hub.url, &code));
    (data, hub, phone)
}

#[test]
fn a_hub_backed_up_while_serving_is_restored_and_a_phone_syncs_its_data_back() {
    let (data, hub, phone) = serving_with_a_phone();
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

    // Work the phone surely syncs after the backup: new submissions and an edit to one the
    // backup holds.
    let after_backup = phone.fill(4, 0);
    phone
        .store
        .set_answer(
            &synced[1],
            &AnswerPath::new("respondent"),
            &Value::Text("edited after the backup".into()),
        )
        .unwrap();
    phone.sync(&hub.url, SyncOptions::default()).unwrap();
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

    // A hub on the restored data. A supervisor enrolled there pulls what the backup held and
    // approves one of the phone's submissions: a new review document, which the restored hub
    // numbers at or below what the phone's old cursor with the hub already counts past.
    let hub = HubProcess::start(HUB, &target, "info");
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
    let tablet_sync = || {
        sync_store(
            &tablet,
            &hub.url,
            &sara,
            SyncOptions::default(),
            3,
            &mut |_| {},
        )
        .unwrap()
    };
    tablet_sync();
    let approved = synced[0];
    tablet
        .set_review_state(&approved, ReviewState::Approved)
        .unwrap();
    tablet_sync();

    // The phone syncs with its old credentials (restored with the hub). The hub's new epoch
    // tells it the hub is not the one its cursor was learnt from: it offers everything it
    // holds again, so its work of after the backup reaches the hub, and it takes the review.
    let report = phone.sync(&hub.url, SyncOptions::default()).unwrap();
    assert!(
        report.sent > after_backup.len(),
        "the new ones and the edit: {report:?}"
    );
    let review = phone
        .store
        .review(&approved)
        .unwrap()
        .expect("the review came");
    assert_eq!(review.state, ReviewState::Approved);

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
    for id in after_backup.iter().chain(&synced) {
        assert!(listed.contains(&id.to_string().as_str()), "{id} is listed");
    }

    // Everything the phone holds is on the hub as the phone has it (the edit made after the
    // backup included), as the supervisor's tablet sees it.
    tablet_sync();
    let held = store_documents(&tablet);
    for (id, heads) in phone.documents() {
        assert_eq!(
            held.get(&id),
            Some(&heads),
            "{id} on the tablet as on the phone"
        );
    }
    assert!(phone.documents().len() > synced.len() + after_backup.len());
    drop(hub.stop());
}

#[test]
fn a_reinstalled_phone_with_its_old_credentials_gets_its_submissions_back() {
    let (_data, hub, phone) = serving_with_a_phone();
    phone.fill(3, 0);
    phone.sync(&hub.url, SyncOptions::default()).unwrap();

    // The app is reinstalled and its credentials kept: a new, empty store under the same
    // device id. Its new epoch makes the hub drop the heads it shares with the old store.
    let reinstalled_dir = tempfile::tempdir().unwrap();
    let reinstalled = open_store(
        &reinstalled_dir.path().join("phone.db"),
        &phone.enrolled.device_id,
    );
    let report = sync_store(
        &reinstalled,
        &hub.url,
        &phone.enrolled,
        SyncOptions::default(),
        3,
        &mut |_| {},
    )
    .unwrap();
    assert!(report.received >= 3, "{report:?}");
    let held = store_documents(&reinstalled);
    for (id, heads) in phone.documents() {
        assert_eq!(held.get(&id), Some(&heads), "{id} came back");
    }
    drop(hub.stop());
}
