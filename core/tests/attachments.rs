//! Attachments in a real store file: added from bytes and from files, read back whole,
//! stored once per content, refused past the limit, received chunk by chunk with every
//! mismatch refused, and never readable in clear in the store's folder.

mod common;

use common::*;
use minga_core::{AttachmentState, ContentHash, Encryption, Error, Store};
use minga_sync::CHUNK_SIZE;
use std::path::Path;

fn hash(content: &[u8]) -> ContentHash {
    ContentHash::of(content)
}

fn plain(dir: &tempfile::TempDir) -> Store {
    Store::open(dir.path().join("s.db"), Encryption::PlainFile, ana()).unwrap()
}

/// Rows of the chunk table, read beside the store (a plain file), to see what was stored.
fn stored_chunks(dir: &tempfile::TempDir) -> i64 {
    let conn = rusqlite::Connection::open(dir.path().join("s.db")).unwrap();
    conn.query_row("SELECT count(*) FROM attachment_chunks", [], |row| {
        row.get(0)
    })
    .unwrap()
}

#[test]
fn an_attachment_added_from_bytes_reads_back_whole_and_is_named_by_its_sha256() {
    let dir = tempfile::tempdir().unwrap();
    let store = plain(&dir);
    let photo = noise_bytes(1, 2 * CHUNK_SIZE + 1234);
    let attachment = store
        .add_attachment(&photo, "image/jpeg", "street.jpg")
        .unwrap();
    assert_eq!(attachment.sha256, hash(&photo).to_hex());
    assert_eq!(attachment.media_type, "image/jpeg");
    assert_eq!(attachment.file_name, "street.jpg");
    assert_eq!(
        store.attachment_state(&hash(&photo)).unwrap(),
        AttachmentState::Present {
            size: photo.len() as u64
        }
    );
    assert_eq!(store.read_attachment(&hash(&photo)).unwrap(), photo);
    assert_eq!(stored_chunks(&dir), 3);
}

#[test]
fn a_file_is_added_by_its_name_and_saved_back_to_a_file_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let store = plain(&dir);
    let video = noise_bytes(2, 5 * CHUNK_SIZE);
    let source = dir.path().join("testimony.m4a");
    std::fs::write(&source, &video).unwrap();
    let attachment = store.add_attachment_file(&source, "audio/mp4").unwrap();
    assert_eq!(attachment.file_name, "testimony.m4a");
    let copy = dir.path().join("copy.m4a");
    let hash = ContentHash::from_hex(&attachment.sha256).unwrap();
    assert_eq!(
        store.save_attachment(&hash, &copy).unwrap(),
        video.len() as u64
    );
    assert_eq!(std::fs::read(copy).unwrap(), video);
}

#[test]
fn the_same_content_attached_twice_is_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = plain(&dir);
    let photo = noise_bytes(3, CHUNK_SIZE + 1);
    let first = store.add_attachment(&photo, "image/jpeg", "a.jpg").unwrap();
    let second = store.add_attachment(&photo, "image/png", "b.png").unwrap();
    assert_eq!(first.sha256, second.sha256);
    assert_eq!(
        second.file_name, "b.png",
        "the reference keeps the new name"
    );
    assert_eq!(stored_chunks(&dir), 2, "one copy of the two chunks");
    assert_eq!(store.read_attachment(&hash(&photo)).unwrap(), photo);
}

#[test]
fn an_empty_content_is_present_and_reads_back_empty() {
    let dir = tempfile::tempdir().unwrap();
    let store = plain(&dir);
    store
        .add_attachment(b"", "text/plain", "empty.txt")
        .unwrap();
    assert_eq!(
        store.attachment_state(&hash(b"")).unwrap(),
        AttachmentState::Present { size: 0 }
    );
    assert_eq!(store.read_attachment(&hash(b"")).unwrap(), b"");
}

#[test]
fn a_content_past_the_limit_is_refused_and_nothing_of_it_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let store = plain(&dir);
    assert_eq!(store.attachment_limit(), 100_000_000, "the default");
    store.set_attachment_limit(CHUNK_SIZE as u64 + 10);
    let big = noise_bytes(4, 2 * CHUNK_SIZE);
    let refused = store.add_attachment(&big, "image/jpeg", "big.jpg");
    assert!(
        matches!(refused, Err(Error::AttachmentTooLarge { limit, .. }) if limit == CHUNK_SIZE as u64 + 10),
        "{refused:?}"
    );
    let file = dir.path().join("big.jpg");
    std::fs::write(&file, &big).unwrap();
    let refused = store.add_attachment_file(&file, "image/jpeg");
    assert!(
        matches!(refused, Err(Error::AttachmentTooLarge { size, .. }) if size == big.len() as u64),
        "{refused:?}"
    );
    assert_eq!(stored_chunks(&dir), 0);
    assert_eq!(
        store.attachment_state(&hash(&big)).unwrap(),
        AttachmentState::Missing
    );
    let declared =
        store.receive_attachment_chunk(&hash(&big), big.len() as u64, 0, &big[..CHUNK_SIZE]);
    assert!(
        matches!(declared, Err(Error::AttachmentTooLarge { .. })),
        "{declared:?}"
    );
    assert_eq!(stored_chunks(&dir), 0);
}

/// Sends `content`'s chunks `chunks` to `store` as a peer would, named by its hash.
fn receive(store: &Store, content: &[u8], chunks: std::ops::Range<usize>) -> AttachmentState {
    receive_as(store, &hash(content), content, chunks)
}

/// Sends `content`'s chunks `chunks` to `store`, named `name` (a tampered copy keeps the
/// true content's name).
fn receive_as(
    store: &Store,
    name: &ContentHash,
    content: &[u8],
    chunks: std::ops::Range<usize>,
) -> AttachmentState {
    let mut state = AttachmentState::Missing;
    for index in chunks {
        let end = ((index + 1) * CHUNK_SIZE).min(content.len());
        state = store
            .receive_attachment_chunk(
                name,
                content.len() as u64,
                index as u64,
                &content[index * CHUNK_SIZE..end],
            )
            .unwrap();
    }
    state
}

#[test]
fn a_received_attachment_is_partial_until_its_last_chunk_then_present_after_reopening_too() {
    let dir = tempfile::tempdir().unwrap();
    let photo = noise_bytes(5, 3 * CHUNK_SIZE + 7);
    {
        let store = plain(&dir);
        let state = receive(&store, &photo, 0..2);
        assert_eq!(
            state,
            AttachmentState::Partial {
                stored: 2 * CHUNK_SIZE as u64,
                size: photo.len() as u64
            }
        );
        assert!(matches!(
            store.open_attachment(&hash(&photo)),
            Err(Error::AttachmentNotPresent { .. })
        ));
    }
    let store = plain(&dir);
    assert!(matches!(
        store.attachment_state(&hash(&photo)).unwrap(),
        AttachmentState::Partial { stored, .. } if stored == 2 * CHUNK_SIZE as u64
    ));
    // A chunk sent again (a retry) changes nothing; the transfer resumes at chunk 2.
    receive(&store, &photo, 1..2);
    let state = receive(&store, &photo, 2..4);
    assert_eq!(
        state,
        AttachmentState::Present {
            size: photo.len() as u64
        }
    );
    assert_eq!(store.read_attachment(&hash(&photo)).unwrap(), photo);
}

#[test]
fn a_tampered_chunk_is_refused_at_the_end_and_nothing_of_the_content_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let store = plain(&dir);
    let photo = noise_bytes(6, 2 * CHUNK_SIZE + 5);
    let mut tampered = photo.clone();
    tampered[CHUNK_SIZE + 3] ^= 1;
    receive_as(&store, &hash(&photo), &tampered, 0..2);
    let refused = store.receive_attachment_chunk(
        &hash(&photo),
        photo.len() as u64,
        2,
        &tampered[2 * CHUNK_SIZE..],
    );
    assert!(
        matches!(refused, Err(Error::AttachmentMismatch { .. })),
        "{refused:?}"
    );
    assert_eq!(
        store.attachment_state(&hash(&photo)).unwrap(),
        AttachmentState::Missing
    );
    assert_eq!(stored_chunks(&dir), 0);
    // The true content then arrives whole.
    assert_eq!(
        receive(&store, &photo, 0..3),
        AttachmentState::Present {
            size: photo.len() as u64
        }
    );
}

#[test]
fn chunks_out_of_order_of_another_length_or_size_are_refused_without_being_stored() {
    let dir = tempfile::tempdir().unwrap();
    let store = plain(&dir);
    let photo = noise_bytes(7, 3 * CHUNK_SIZE);
    let id = hash(&photo);
    let size = photo.len() as u64;
    let chunk = |i: usize| &photo[i * CHUNK_SIZE..(i + 1) * CHUNK_SIZE];
    let skipped = store.receive_attachment_chunk(&id, size, 1, chunk(1));
    assert!(
        matches!(skipped, Err(Error::AttachmentMismatch { .. })),
        "{skipped:?}"
    );
    let short = store.receive_attachment_chunk(&id, size, 0, &chunk(0)[..100]);
    assert!(
        matches!(short, Err(Error::AttachmentMismatch { .. })),
        "{short:?}"
    );
    receive(&store, &photo, 0..1);
    let resized = store.receive_attachment_chunk(&id, size + 1, 1, chunk(1));
    assert!(
        matches!(resized, Err(Error::AttachmentMismatch { .. })),
        "{resized:?}"
    );
    assert_eq!(stored_chunks(&dir), 1, "only the one good chunk");
}

#[test]
fn adding_a_content_that_is_partly_received_replaces_the_partial_copy() {
    let dir = tempfile::tempdir().unwrap();
    let store = plain(&dir);
    let photo = noise_bytes(8, 2 * CHUNK_SIZE + 1);
    receive(&store, &photo, 0..1);
    store.add_attachment(&photo, "image/jpeg", "p.jpg").unwrap();
    assert_eq!(store.read_attachment(&hash(&photo)).unwrap(), photo);
    assert_eq!(stored_chunks(&dir), 3);
}

/// Whether `needle` occurs in `haystack`.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

fn files_in(folder: &Path) -> Vec<Vec<u8>> {
    std::fs::read_dir(folder)
        .unwrap()
        .map(|entry| std::fs::read(entry.unwrap().path()).unwrap())
        .collect()
}

#[test]
fn no_attachment_bytes_appear_in_clear_in_any_file_of_the_store_folder() {
    let dir = tempfile::tempdir().unwrap();
    let photo = noise_bytes(9, 3 * CHUNK_SIZE);
    let received = noise_bytes(10, CHUNK_SIZE + 99);
    let store = open(&dir.path().join("s.db"), 7, ana());
    store
        .add_attachment(&photo, "image/jpeg", "house.jpg")
        .unwrap();
    receive(&store, &received, 0..2);
    // While open (the WAL holds the writes) and after closing.
    let probes = [&photo[CHUNK_SIZE..CHUNK_SIZE + 32], &received[..32]];
    for file in files_in(dir.path()) {
        for probe in probes {
            assert!(!contains(&file, probe), "attachment bytes in clear");
        }
    }
    drop(store);
    for file in files_in(dir.path()) {
        for probe in probes {
            assert!(!contains(&file, probe), "attachment bytes in clear");
        }
    }
    // A plain store shows that the probe would find them.
    let plain_dir = tempfile::tempdir().unwrap();
    plain(&plain_dir)
        .add_attachment(&photo, "image/jpeg", "house.jpg")
        .unwrap();
    assert!(files_in(plain_dir.path())
        .iter()
        .any(|file| contains(file, probes[0])));
}

#[test]
fn a_reader_streams_the_content_in_small_reads() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let store = plain(&dir);
    let photo = noise_bytes(11, CHUNK_SIZE + 3);
    store.add_attachment(&photo, "image/jpeg", "p.jpg").unwrap();
    let mut reader = store.open_attachment(&hash(&photo)).unwrap();
    assert_eq!(reader.size(), photo.len() as u64);
    let mut read = Vec::new();
    let mut buffer = [0u8; 1000];
    loop {
        let n = reader.read(&mut buffer).unwrap();
        if n == 0 {
            break;
        }
        read.extend_from_slice(&buffer[..n]);
    }
    assert_eq!(read, photo);
}
