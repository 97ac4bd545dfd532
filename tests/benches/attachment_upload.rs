//! Photos through sync against the physical limit, side by side in one run: a phone's store
//! holding 100 photos of 3 MB (random bytes, as incompressible as JPEGs), each answered in a
//! submission, syncs them to a real hub over HTTP on loopback; the same bytes go in one plain
//! HTTP upload to a receiver that writes them to a file and fsyncs it (the same durability with
//! nothing else done). Then both again through the fault proxy throttled to 20 Mbit/s (a phone
//! on a weak signal; fewer photos, so that the run stays minutes long), and a sync cut once half
//! of the photos' bytes have gone, resumed: the bytes sent again. Last, a phone in a process of
//! its own adds a 100 MB recording (streamed) and syncs it: its memory's high-water mark.
//! Run: `cargo bench -p minga-scenarios --bench attachment_upload` (`-- --photos 20` for fewer).

use minga_core::ContentHash;
use minga_hub::access::Role;
use minga_hub::storage::HubStorage;
use minga_scenarios::hub::{Enrolled, TestHub, PROJECT};
use minga_scenarios::phone::{
    answer_photo, hub_transport, photographed, random_bytes, sync_over, Phone,
};
use minga_scenarios::proxy::FaultProxy;
use minga_scenarios::seed::{RandomBytes, Rng};
use minga_scenarios::usage::{mb, usage_of};
use minga_sync::{SyncOptions, Transport, TransportError};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// One photo's size.
const PHOTO: usize = 3_000_000;
/// The weak signal's speed each way.
const WEAK_SIGNAL_BITS: u64 = 20_000_000;
/// Photos sent over the weak signal (30 MB take 12 s at 20 Mbit/s).
const WEAK_SIGNAL_PHOTOS: usize = 10;

/// Set in the sending phone's process: the hub's URL and the enrolment, space-separated.
const SENDER_VAR: &str = "MINGA_BENCH_UPLOAD_SENDER";
/// The recording the sending phone adds and syncs.
const RECORDING: u64 = 100_000_000;

fn main() {
    if let Ok(job) = std::env::var(SENDER_VAR) {
        return send_a_recording_as_child(&job);
    }
    let count = photos_from_args();
    let photos: Vec<Vec<u8>> = (0..count as u64).map(|i| random_bytes(i, PHOTO)).collect();
    let megabytes = (count * PHOTO) as f64 / 1e6;
    println!("{count} photos of {PHOTO} bytes ({megabytes:.0} MB)");

    let minga = minga_upload(&photos, None);
    let plain = plain_upload(&photos, None);
    report("loopback", &minga, plain);

    let few = &photos[..WEAK_SIGNAL_PHOTOS.min(count)];
    let minga_slow = minga_upload(few, Some(WEAK_SIGNAL_BITS));
    let plain_slow = plain_upload(few, Some(WEAK_SIGNAL_BITS));
    report("20 Mbit/s through the proxy", &minga_slow, plain_slow);

    let again = sent_again_after_a_cut_at_half(&photos, minga.bytes_sent);
    println!(
        "cut once half the photos' bytes had gone, then resumed: {again} bytes sent again ({:.2}% of the {:.0} MB; a restart from the start would send {:.0} MB again)",
        100.0 * again as f64 / (count * PHOTO) as f64,
        megabytes,
        megabytes / 2.0
    );

    let (before_add, before_sync, peak) = memory_sending_a_recording();
    println!(
        "a phone's process adding and syncing a {} MB recording: resident {:.1} MB before adding it, {:.1} MB before the sync, peak {:.1} MB ({:.1} MB above the first)",
        RECORDING / 1_000_000,
        mb(before_add),
        mb(before_sync),
        mb(peak),
        mb(peak.saturating_sub(before_add))
    );
}

/// Runs this benchmark's binary again as a phone that adds and syncs [`RECORDING`] bytes to an
/// in-process hub; its resident kB before adding, before syncing, and its peak.
fn memory_sending_a_recording() -> (u64, u64, u64) {
    let hub = TestHub::start();
    let enrolled = hub.enrol(Role::Facilitator, "Ana");
    let job = [
        hub.url(),
        enrolled.device_id,
        enrolled.token,
        enrolled.hub_id,
        enrolled.project,
    ]
    .join(" ");
    let output = Command::new(std::env::current_exe().unwrap())
        .env(SENDER_VAR, job)
        .output()
        .expect("the phone's process runs");
    assert!(output.status.success(), "the phone's process failed");
    let line = String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("sent ").map(str::to_owned))
        .expect("the phone reports");
    let kb: Vec<u64> = line
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    (kb[0], kb[1], kb[2])
}

/// The phone's side: adds [`RECORDING`] seeded random bytes through a reader (never whole in
/// memory), answers it, syncs; prints "sent <kB before adding> <kB before syncing> <peak kB>".
fn send_a_recording_as_child(job: &str) {
    let fields: Vec<&str> = job.split(' ').collect();
    let enrolled = Enrolled {
        device_id: fields[1].into(),
        token: fields[2].into(),
        hub_id: fields[3].into(),
        project: fields[4].into(),
    };
    let phone = Phone::new(enrolled);
    let before_add = usage_of(std::process::id()).resident_kb;
    let recording = RandomBytes(Rng::new(7)).take(RECORDING);
    let attachment = phone
        .store
        .add_attachment_from(recording, "audio/mp4", "testimonio.m4a")
        .unwrap();
    answer_photo(&phone.store, attachment);
    let before_sync = usage_of(std::process::id()).resident_kb;
    let report = phone.sync(fields[0], SyncOptions::default()).unwrap();
    assert_eq!(report.attachment_bytes_sent, RECORDING);
    let peak = usage_of(std::process::id()).peak_kb;
    println!("sent {before_add} {before_sync} {peak}");
}

fn photos_from_args() -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == "--photos")
        .and_then(|i| args.get(i + 1))
        .map(|n| n.parse().expect("--photos takes a number"))
        .unwrap_or(100)
}

fn report(link: &str, minga: &SyncRun, plain: Duration) {
    println!(
        "{link}: Minga's sync {:.2} s ({} round trips, {} bytes sent), plain upload + fsync {:.2} s: {:.2}x",
        minga.time.as_secs_f64(),
        minga.round_trips,
        minga.bytes_sent,
        plain.as_secs_f64(),
        minga.time.as_secs_f64() / plain.as_secs_f64()
    );
}

/// One sync of a phone's photos to a fresh hub.
struct SyncRun {
    time: Duration,
    round_trips: u64,
    bytes_sent: u64,
}

/// A phone holding `photos` (each answered in a new submission) and a fresh hub; the photos'
/// hashes.
fn phone_with(photos: &[Vec<u8>]) -> (TestHub, Phone, Vec<ContentHash>) {
    let hub = TestHub::start();
    let phone = Phone::new(hub.enrol(Role::Facilitator, "Ana"));
    let hashes = photos
        .iter()
        .map(|photo| photographed(&phone.store, photo))
        .collect();
    (hub, phone, hashes)
}

/// Syncs `photos` from a phone to a fresh hub, through a proxy throttled to `bandwidth` bits a
/// second when given; the time from the first request to the report.
fn minga_upload(photos: &[Vec<u8>], bandwidth: Option<u64>) -> SyncRun {
    let (hub, phone, _) = phone_with(photos);
    let proxy = bandwidth.map(|bits| throttled_proxy(hub.running.addr, bits));
    let url = proxy.as_ref().map_or_else(|| hub.url(), FaultProxy::url);
    let started = Instant::now();
    let report = phone.sync(&url, SyncOptions::default()).unwrap();
    let time = started.elapsed();
    assert_eq!(report.attachments_sent, photos.len(), "every photo went");
    SyncRun {
        time,
        round_trips: report.round_trips,
        bytes_sent: report.bytes_sent,
    }
}

fn throttled_proxy(upstream: SocketAddr, bits_per_second: u64) -> FaultProxy {
    let proxy = FaultProxy::start(upstream, 1, 0);
    proxy.set_bandwidth(bits_per_second);
    proxy
}

/// The physical limit: `photos` in one HTTP request to a receiver that writes the body to a
/// file and fsyncs it before answering.
fn plain_upload(photos: &[Vec<u8>], bandwidth: Option<u64>) -> Duration {
    let folder = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let receiver_addr = listener.local_addr().unwrap();
    let file = folder.path().join("upload");
    let receiver = std::thread::spawn(move || receive_one_upload(listener, &file));
    let proxy = bandwidth.map(|bits| throttled_proxy(receiver_addr, bits));
    let url = proxy
        .as_ref()
        .map_or_else(|| format!("http://{receiver_addr}"), FaultProxy::url);
    let body = photos.concat();
    let started = Instant::now();
    let answer = ureq::post(&format!("{url}/upload"))
        .send(&body[..])
        .unwrap();
    let time = started.elapsed();
    assert_eq!(answer.status(), 200);
    assert_eq!(
        receiver.join().unwrap(),
        body.len() as u64,
        "the receiver kept every byte"
    );
    time
}

/// Accepts one request, writes its body to `file` in 256 KiB pieces, fsyncs, answers 200;
/// returns the bytes written.
fn receive_one_upload(listener: TcpListener, file: &std::path::Path) -> u64 {
    let (stream, _) = listener.accept().unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut length = 0u64;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap();
            }
        }
    }
    let mut out = std::fs::File::create(file).unwrap();
    let written = std::io::copy(&mut reader.by_ref().take(length), &mut out).unwrap();
    out.sync_all().unwrap();
    let mut stream = stream;
    stream
        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        .unwrap();
    written
}

/// A phone's transport that counts the bytes it puts on the wire and, given a limit, loses the
/// connection for good at that many: the request that crosses it is cut there (the hub never
/// gets it whole) and every later one fails.
struct CountingTransport<T> {
    inner: T,
    sent: AtomicU64,
    cut_at: u64,
}

impl<T: Transport> Transport for CountingTransport<T> {
    fn exchange(&self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
        let sent = self.sent.load(Ordering::SeqCst);
        let len = request.len() as u64;
        if sent + len > self.cut_at {
            self.sent.store(self.cut_at.max(sent), Ordering::SeqCst);
            return Err(TransportError::fatal("the connection was cut"));
        }
        self.sent.store(sent + len, Ordering::SeqCst);
        self.inner.exchange(request)
    }
}

/// Syncs `photos` to a fresh hub, cutting the connection once half their bytes have gone, then
/// syncs again; returns what both sent beyond `whole`, the bytes one uncut sync sends.
fn sent_again_after_a_cut_at_half(photos: &[Vec<u8>], whole: u64) -> u64 {
    let (hub, phone, hashes) = phone_with(photos);
    let half = (photos.len() * PHOTO / 2) as u64;
    let sync = |cut_at: u64| {
        let transport = CountingTransport {
            inner: hub_transport(&hub.url(), &phone.enrolled, 0),
            sent: AtomicU64::new(0),
            cut_at,
        };
        let outcome = sync_over(
            &phone.store,
            &transport,
            &phone.enrolled,
            SyncOptions::default(),
            &mut |_| {},
        );
        (outcome, transport.sent.into_inner())
    };
    let (cut, before_cut) = sync(half);
    assert!(cut.is_err(), "the first sync was cut");
    let (resumed, after_cut) = sync(u64::MAX);
    assert!(
        resumed.unwrap().attachments_sent > 0,
        "the resumed sync sent photos"
    );
    for hash in hashes {
        let row = hub.storage.attachment(PROJECT, &hash.to_hex()).unwrap();
        assert!(
            row.is_some_and(|row| row.complete),
            "the hub holds every photo whole"
        );
    }
    (before_cut + after_cut).saturating_sub(whole)
}
