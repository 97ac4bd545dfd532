//! Storage that refuses writes, named for what it is: a hub whose disk is full tells the phone so
//! (HTTP 507, `hub_storage_full`), not a network failure, and loses nothing once space is freed;
//! a phone store or hub database on a file or folder that cannot be written is refused at open
//! with the file named and the cause said, not "unable to open database file".
//!
//! The faults are real: a small tmpfs the hub's data folder lives on, filled up; and `chattr +i`
//! (immutable) on a file or folder. Both need root (CI runs as root; root ignores file modes, so
//! `chmod 0444` would not stop it writing): run by another user, each test says SKIPPED, and
//! fails only under `CI=true`.

use minga_core::AttachmentState;
use minga_core::{DeviceIdentity, Store};
use minga_hub::access::Role;
use minga_hub::error::HubError;
use minga_hub::server::RunningHub;
use minga_hub::storage::SqliteStorage;
use minga_scenarios::hub::{enrol_at, hub_documents, prepare_data, PROJECT};
use minga_scenarios::phone::{phone_key, photographed, random_bytes, Phone};
use minga_sync::{SyncError, SyncOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Whether `test` may make real storage faults (mount, `chattr`): only as root. Otherwise it
/// says SKIPPED on stderr (the harness hides what a passing test prints) and should return;
/// under `CI=true` it fails instead.
fn may_fault_storage(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{test}: CI runs the storage fault scenarios as root"
    );
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: mounting a small disk and chattr +i need root"
    );
    false
}

/// Runs `program` with `args`, panicking with what it said if it fails.
fn run(program: &str, args: &[&str]) {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed (these scenarios need root): {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A tmpfs of `size` mounted on a fresh folder; unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> SmallDisk {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_str().unwrap();
        run(
            "mount",
            &["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs", path],
        );
        SmallDisk { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file until the disk refuses another byte; returns its path.
    fn fill(&self) -> PathBuf {
        let filler = self.path().join("filler");
        let mut file = std::fs::File::create(&filler).unwrap();
        let chunk = vec![0u8; 4096];
        while file.write_all(&chunk).is_ok() {}
        while file.write_all(&[0]).is_ok() {}
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

/// `path` made immutable (`chattr +i`: not even root may write it, or create or remove files in
/// it when it is a folder); writable again when dropped.
struct Immutable(PathBuf);

impl Immutable {
    fn set(path: &Path) -> Immutable {
        run("chattr", &["+i", path.to_str().unwrap()]);
        Immutable(path.to_owned())
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
    }
}

fn identity() -> DeviceIdentity {
    DeviceIdentity::new("phone-1", "Ana")
}

#[test]
fn a_full_disk_on_the_hub_reaches_the_phone_as_hub_storage_full_and_nothing_is_lost() {
    if !may_fault_storage(
        "a_full_disk_on_the_hub_reaches_the_phone_as_hub_storage_full_and_nothing_is_lost",
    ) {
        return;
    }
    // Room for the hub's database and its write-ahead log at once: the ~4 MB that the sync
    // stores passes SQLite's checkpoint threshold (1,000 pages), after which both files hold it.
    let disk = SmallDisk::mount("8m");
    let storage = prepare_data(disk.path());
    let hub = RunningHub::start(storage.clone(), "127.0.0.1:0").unwrap();
    let enrolled = enrol_at(
        storage.as_ref(),
        &hub.url(),
        PROJECT,
        Role::Facilitator,
        "Ana",
    );
    let phone = Phone::new(enrolled);
    phone.fill(300, 16 * 1024);
    let filler = disk.fill();

    let error = phone.sync(&hub.url(), SyncOptions::default()).unwrap_err();
    match &error {
        SyncError::Transport(transport) => {
            assert!(transport.hub_storage_full, "{error}");
            assert!(!transport.retryable, "{error}");
            assert!(transport.message.contains("507"), "{error}");
            assert!(transport.message.contains("storage is full"), "{error}");
        }
        other => panic!("expected the hub's full storage, got {other}"),
    }

    std::fs::remove_file(filler).unwrap();
    phone.sync(&hub.url(), SyncOptions::default()).unwrap();
    let on_hub = hub_documents(storage.as_ref(), PROJECT);
    for (id, heads) in phone.documents() {
        if id.starts_with("form") {
            continue;
        }
        assert_eq!(on_hub.get(&id), Some(&heads), "{id} after space was freed");
    }
    hub.stop().unwrap();
}

#[test]
fn a_phone_whose_disk_fills_while_adding_a_photo_gets_storage_full_and_keeps_what_it_had() {
    if !may_fault_storage(
        "a_phone_whose_disk_fills_while_adding_a_photo_gets_storage_full_and_keeps_what_it_had",
    ) {
        return;
    }
    let disk = SmallDisk::mount("16m");
    let store = Store::open(&disk.path().join("phone.db"), phone_key(7), identity()).unwrap();
    let first = random_bytes(1, 1_000_000);
    let kept = photographed(&store, &first);
    let filler = disk.fill();
    // Leave less room than the photo needs (its chunks, then the WAL's copy of them).
    let len = std::fs::metadata(&filler).unwrap().len();
    std::fs::File::options()
        .write(true)
        .open(&filler)
        .unwrap()
        .set_len(len - 1_000_000)
        .unwrap();

    let second = random_bytes(2, 3_000_000);
    let refused = store.add_attachment(&second, "image/jpeg", "alarm.jpg");
    assert!(
        matches!(refused, Err(minga_core::Error::StorageFull { .. })),
        "{refused:?}"
    );
    let hash = minga_core::ContentHash::of(&second);
    assert_eq!(
        store.attachment_state(&hash).unwrap(),
        AttachmentState::Missing,
        "nothing of the refused photo is shown"
    );
    assert_eq!(
        store.read_attachment(&kept).unwrap(),
        first,
        "the first photo is whole"
    );

    std::fs::remove_file(&filler).unwrap();
    photographed(&store, &second);
    assert_eq!(
        store.read_attachment(&hash).unwrap(),
        second,
        "with room, it goes in"
    );
}

#[test]
fn a_phone_store_whose_file_cannot_be_written_is_refused_naming_the_file() {
    if !may_fault_storage("a_phone_store_whose_file_cannot_be_written_is_refused_naming_the_file") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("phone.db");
    drop(Store::open(&path, phone_key(7), identity()).unwrap());
    let before = std::fs::read(&path).unwrap();
    let _immutable = Immutable::set(&path);

    let error = Store::open(&path, phone_key(7), identity()).err().unwrap();
    assert!(
        matches!(&error, minga_core::Error::ReadOnly { path: named, .. } if named == &path),
        "{error}"
    );
    let message = error.to_string();
    assert!(message.contains(path.to_str().unwrap()), "{message}");
    assert!(message.contains("cannot be written"), "{message}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn a_phone_store_in_a_folder_that_cannot_be_written_is_refused_naming_it() {
    if !may_fault_storage("a_phone_store_in_a_folder_that_cannot_be_written_is_refused_naming_it") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let existing = dir.path().join("phone.db");
    drop(Store::open(&existing, phone_key(7), identity()).unwrap());
    let new = dir.path().join("new.db");
    let _immutable = Immutable::set(dir.path());

    for path in [&new, &existing] {
        let error = Store::open(path, phone_key(7), identity()).err().unwrap();
        assert!(
            matches!(&error, minga_core::Error::ReadOnly { .. }),
            "{}: {error}",
            path.display()
        );
        assert!(
            error.to_string().contains(path.to_str().unwrap()),
            "{error}"
        );
    }
}

#[test]
fn a_hub_database_that_cannot_be_written_is_refused_naming_the_file() {
    if !may_fault_storage("a_hub_database_that_cannot_be_written_is_refused_naming_the_file") {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    drop(prepare_data(data.path()));
    let database = data.path().join(minga_hub::storage::DATABASE_FILE);
    let _immutable = Immutable::set(&database);

    let error = SqliteStorage::open(data.path()).err().unwrap();
    assert!(
        matches!(&error, HubError::ReadOnlyDatabase { .. }),
        "{error}"
    );
    let message = error.to_string();
    assert!(message.contains(database.to_str().unwrap()), "{message}");
    assert!(message.contains("cannot be written"), "{message}");
}
