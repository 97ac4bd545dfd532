//! What attachments cost in a real encrypted store: the time to add a 100 MB file and to save
//! it back, the process's peak memory above its baseline while adding it (`VmHWM`, Linux), the
//! same for a bundle file carrying it written and imported into a second store, and the disk a
//! stored 3 MB photo takes against its size, beside a plain copy of the file with an fsync (the
//! physical limit with the same durability). Run:
//! `cargo run -p minga-core --example attachment_cost` (figures in BENCHMARKS.md).

use minga_core::minga_sync::bundle::{
    import_bundle_from, write_bundle_to, BundleIdentity, BundleScope,
};
use minga_core::minga_sync::{AllowAll, PeerId};
use minga_core::{
    AnswerPath, Attachment, ContentHash, DeviceIdentity, Encryption, FormRef, Store, StoreKey,
    Value,
};
use std::io::Write;
use std::path::Path;
use std::time::Instant;

/// Incompressible bytes (photos and recordings are), `len` of them, written in pieces.
fn write_noise(path: &Path, seed: u64, len: usize) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut piece = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        for byte in piece.iter_mut() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *byte = state as u8;
        }
        let n = left.min(piece.len());
        file.write_all(&piece[..n]).unwrap();
        left -= n;
    }
}

/// The process's peak resident memory so far, in KiB (Linux `VmHWM`).
fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn open(path: &Path) -> Store {
    let key = Encryption::Key(StoreKey::new([7; 32]));
    Store::open(path, key, DeviceIdentity::new("phone", "ana")).unwrap()
}

/// Answers `attachment` in a submission of `store`, writes a bundle of it to a file and imports
/// that into a new store, printing the times and the peak memory above `baseline` after each.
fn bundle_cost(store: &Store, attachment: Attachment, dir: &Path, baseline: u64) {
    let id = store
        .create_submission(&FormRef::new("safety_walk", "1"))
        .unwrap();
    store
        .set_answer(
            &id,
            &AnswerPath::new("photo"),
            &Value::Attachment(attachment),
        )
        .unwrap();
    let key = BundleIdentity::generate();
    let (phone, tablet) = (
        PeerId::new("phone").unwrap(),
        PeerId::new("tablet").unwrap(),
    );
    let path = dir.join("for-tablet.minga-bundle");
    let above = |kib: u64| kib.saturating_sub(baseline) as f64 / 1024.0;
    let started = Instant::now();
    let file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let scope = BundleScope::Everything;
    write_bundle_to(
        store,
        &phone,
        &tablet,
        &key.to_public(),
        scope,
        &AllowAll,
        file,
    )
    .unwrap();
    let (written, written_peak) = (started.elapsed(), peak_kib());
    let receiver = open(&dir.join("tablet.db"));
    let started = Instant::now();
    let file = std::fs::File::open(&path).unwrap();
    let report = import_bundle_from(
        &receiver,
        &tablet,
        &key,
        file,
        std::sync::Arc::new(AllowAll),
    )
    .unwrap();
    let imported = started.elapsed();
    assert_eq!(report.attachments_received, 1);
    println!(
        "bundle file carrying it: written in {:.2} s (peak {:.1} MB above the baseline), \
         imported into another store in {:.2} s (peak {:.1} MB above the baseline)",
        written.as_secs_f64(),
        above(written_peak),
        imported.as_secs_f64(),
        above(peak_kib())
    );
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let video = dir.path().join("video.mp4");
    const VIDEO: usize = 100 * 1000 * 1000;
    write_noise(&video, 1, VIDEO);
    let store = open(&dir.path().join("big.db"));
    let baseline = peak_kib();
    let started = Instant::now();
    let attachment = store.add_attachment_file(&video, "video/mp4").unwrap();
    let added = started.elapsed();
    let peak = peak_kib();
    let hash = ContentHash::from_hex(&attachment.sha256).unwrap();
    let started = Instant::now();
    store
        .save_attachment(&hash, &dir.path().join("back.mp4"))
        .unwrap();
    let saved = started.elapsed();
    let mb = VIDEO as f64 / 1e6;
    println!(
        "100 MB file: added in {:.2} s ({:.0} MB/s), saved back in {:.2} s ({:.0} MB/s)",
        added.as_secs_f64(),
        mb / added.as_secs_f64(),
        saved.as_secs_f64(),
        mb / saved.as_secs_f64()
    );
    println!(
        "peak memory while adding: {:.1} MB above the baseline of {:.1} MB",
        peak.saturating_sub(baseline) as f64 / 1024.0,
        baseline as f64 / 1024.0
    );
    bundle_cost(&store, attachment, dir.path(), baseline);
    drop(store);
    // The physical limit with the same durability: the bytes copied to a plain file, fsynced.
    let started = Instant::now();
    std::fs::copy(&video, dir.path().join("plain.mp4")).unwrap();
    std::fs::File::open(dir.path().join("plain.mp4"))
        .unwrap()
        .sync_all()
        .unwrap();
    let plain = started.elapsed();
    println!(
        "the same file copied plain and fsynced: {:.2} s ({:.0} MB/s); the store takes {:.1}x",
        plain.as_secs_f64(),
        mb / plain.as_secs_f64(),
        added.as_secs_f64() / plain.as_secs_f64()
    );

    const PHOTOS: usize = 20;
    const PHOTO: usize = 3 * 1000 * 1000;
    let path = dir.path().join("photos.db");
    let store = open(&path);
    let photo = dir.path().join("photo.jpg");
    for n in 0..PHOTOS {
        write_noise(&photo, 100 + n as u64, PHOTO);
        store.add_attachment_file(&photo, "image/jpeg").unwrap();
    }
    drop(store); // checkpoints the WAL into the file
    let size = std::fs::metadata(&path).unwrap().len();
    println!(
        "{PHOTOS} photos of 3 MB: store file {:.1} MB, {:.3}x their size",
        size as f64 / 1e6,
        size as f64 / (PHOTOS * PHOTO) as f64
    );
}
