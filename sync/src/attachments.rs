//! Attachments as sync speaks of them: the content hash that names one (an answer holds it as
//! lowercase hex, `minga_forms::Attachment::sha256`), the size of the chunks they are stored
//! and sent in, the running hash a receiver checks a whole content with, and which contents a
//! document references. Stores on both sides (the phone's, the hub's) name attachments with
//! [`ContentHash`].

use automerge::{ObjId, ObjType, ReadDoc, Value, ROOT};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::fmt;

/// The bytes of one chunk of an attachment, as stored and as sent: a cut connection costs at
/// most one chunk, and a reader never holds more than one in memory. The last chunk of a
/// content may be shorter; an empty content has no chunk.
pub const CHUNK_SIZE: usize = 256 * 1024;

/// The SHA-256 of an attachment's whole content: its name everywhere (content-addressed, so
/// the same photo attached twice is one attachment).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContentHash([u8; 32]);

/// Text that is no SHA-256 in lowercase (or uppercase) hex.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a SHA-256 (64 hexadecimal digits)")]
pub struct NotAContentHash(pub String);

impl ContentHash {
    /// The hash as its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The SHA-256 of `content`. Cost: one pass over it.
    pub fn of(content: &[u8]) -> Self {
        let mut hasher = ContentHasher::default();
        hasher.update(content);
        hasher.finish()
    }

    /// Reads 64 hex digits (either case), as an answer holds them.
    pub fn from_hex(text: &str) -> Result<Self, NotAContentHash> {
        bytes_from_hex(text)
            .map(Self)
            .ok_or_else(|| NotAContentHash(text.to_owned()))
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The lowercase hex text an answer holds.
    pub fn to_hex(&self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut text = String::with_capacity(64);
        for byte in self.0 {
            text.push(DIGITS[usize::from(byte >> 4)] as char);
            text.push(DIGITS[usize::from(byte & 0x0f)] as char);
        }
        text
    }
}

/// `N` bytes from `2 * N` hex digits (either case); `None` for any other text.
pub(crate) fn bytes_from_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let digits = text.as_bytes();
    if digits.len() != 2 * N {
        return None;
    }
    let mut bytes = [0u8; N];
    for (byte, pair) in bytes.iter_mut().zip(digits.chunks_exact(2)) {
        *byte = hex_value(pair[0])? << 4 | hex_value(pair[1])?;
    }
    Some(bytes)
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentHash({})", self.to_hex())
    }
}

/// A SHA-256 computed piece by piece, as content is written or received chunk by chunk.
#[derive(Default, Clone)]
pub struct ContentHasher(Sha256);

impl ContentHasher {
    /// Adds the next bytes of the content.
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The hash of everything added.
    pub fn finish(self) -> ContentHash {
        ContentHash(self.0.finalize().into())
    }
}

/// How many chunks a content of `size` bytes is stored and sent in.
pub fn chunk_count(size: u64) -> u64 {
    size.div_ceil(CHUNK_SIZE as u64)
}

/// Where a received chunk falls in its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkFit {
    /// Already stored (a chunk sent again): nothing to do.
    Stored,
    /// The next chunk, of the right length: store it.
    Next,
}

/// Judges chunk `index` of `len` bytes of a content declared as `size` bytes, of which the
/// receiver holds `stored` bytes (whole chunks from the first) under the size first declared,
/// `known_size`. Chunks arrive in order; every one but the last is [`CHUNK_SIZE`] long, and an
/// empty content travels as one empty chunk. `Err` says what is wrong: the store refuses the
/// chunk as a mismatch.
pub fn fit_chunk(
    known_size: u64,
    size: u64,
    stored: u64,
    index: u64,
    len: usize,
) -> Result<ChunkFit, String> {
    if size != known_size {
        return Err(format!("its size was {known_size} bytes, now {size}"));
    }
    let next = stored / CHUNK_SIZE as u64;
    if index < next {
        return Ok(ChunkFit::Stored);
    }
    if index != next {
        return Err(format!("chunk {index} arrived where chunk {next} was due"));
    }
    let chunks = chunk_count(size).max(1);
    if index >= chunks {
        return Err(format!(
            "chunk {index} is past its last chunk, {}",
            chunks - 1
        ));
    }
    let expected = if index + 1 == chunks {
        size - index * CHUNK_SIZE as u64
    } else {
        CHUNK_SIZE as u64
    };
    if len as u64 != expected {
        return Err(format!("chunk {index} holds {len} bytes, not {expected}"));
    }
    Ok(ChunkFit::Next)
}

/// The key under which a document holds an attachment's hash: an attachment answer is a map
/// `{ sha256, media_type, file_name }`.
pub const HASH_KEY: &str = "sha256";

/// Every content `doc` references as it stands: each string under a [`HASH_KEY`] key, in any
/// map at any depth (answers, repeat instances, whatever a later document shape adds), that
/// reads as a hash. What sync may send a peer that may read `doc`. Cost: one walk over the
/// document's current values.
pub fn referenced<D: ReadDoc>(doc: &D) -> BTreeSet<ContentHash> {
    let mut found = BTreeSet::new();
    let mut objects = vec![(ROOT, ObjType::Map)];
    while let Some((object, kind)) = objects.pop() {
        let values: Vec<(String, ObjId, Value<'static>)> = match kind {
            ObjType::Map | ObjType::Table => doc
                .map_range(&object, ..)
                .map(|item| (item.key.to_string(), item.id(), item.value.into()))
                .collect(),
            ObjType::List => doc
                .list_range(&object, ..)
                .map(|item| (String::new(), item.id(), item.value.into()))
                .collect(),
            ObjType::Text => continue,
        };
        for (key, id, value) in values {
            match value {
                Value::Object(kind) => objects.push((id, kind)),
                Value::Scalar(scalar) if key == HASH_KEY => {
                    if let automerge::ScalarValue::Str(text) = scalar.as_ref() {
                        found.extend(ContentHash::from_hex(text).ok());
                    }
                }
                Value::Scalar(_) => {}
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;

    #[test]
    fn a_hash_reads_back_from_its_hex_in_either_case() {
        let hash = ContentHash::of(b"a photo");
        assert_eq!(ContentHash::from_hex(&hash.to_hex()), Ok(hash));
        assert_eq!(
            ContentHash::from_hex(&hash.to_hex().to_uppercase()),
            Ok(hash)
        );
    }

    #[test]
    fn the_empty_content_hashes_as_sha256_says() {
        assert_eq!(
            ContentHash::of(b"").to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn text_that_is_no_hash_is_refused() {
        for text in ["", "abc", &"g".repeat(64), &"0".repeat(63), &"0".repeat(65)] {
            assert!(ContentHash::from_hex(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn content_hashed_in_pieces_hashes_as_whole() {
        let mut hasher = ContentHasher::default();
        hasher.update(b"a ");
        hasher.update(b"photo");
        assert_eq!(hasher.finish(), ContentHash::of(b"a photo"));
    }

    #[test]
    fn chunks_round_up_and_the_empty_content_has_none() {
        assert_eq!(chunk_count(0), 0);
        assert_eq!(chunk_count(1), 1);
        assert_eq!(chunk_count(CHUNK_SIZE as u64), 1);
        assert_eq!(chunk_count(CHUNK_SIZE as u64 + 1), 2);
    }

    #[test]
    fn chunks_fit_only_in_order_at_their_length_and_under_one_size() {
        let size = 2 * CHUNK_SIZE as u64 + 10;
        let full = CHUNK_SIZE;
        assert_eq!(fit_chunk(size, size, 0, 0, full), Ok(ChunkFit::Next));
        assert_eq!(
            fit_chunk(size, size, full as u64, 0, full),
            Ok(ChunkFit::Stored)
        );
        assert_eq!(
            fit_chunk(size, size, 2 * full as u64, 2, 10),
            Ok(ChunkFit::Next)
        );
        assert!(fit_chunk(size, size, 0, 1, full).is_err(), "out of order");
        assert!(fit_chunk(size, size, 0, 0, full - 1).is_err(), "short");
        assert!(
            fit_chunk(size, size, 2 * full as u64, 2, 11).is_err(),
            "long last"
        );
        assert!(
            fit_chunk(size, size + 1, 0, 0, full).is_err(),
            "another size"
        );
        assert_eq!(
            fit_chunk(0, 0, 0, 0, 0),
            Ok(ChunkFit::Next),
            "empty content"
        );
        assert!(fit_chunk(0, 0, 0, 1, 0).is_err(), "past the end");
    }

    #[test]
    fn a_document_references_every_hash_held_as_an_attachment_at_any_depth() {
        let top = ContentHash::of(b"top");
        let nested = ContentHash::of(b"in a repeat");
        let mut doc = automerge::AutoCommit::new();
        let answers = doc.put_object(ROOT, "answers", ObjType::Map).unwrap();
        let photo = doc.put_object(&answers, "photo", ObjType::Map).unwrap();
        doc.put(&photo, HASH_KEY, top.to_hex()).unwrap();
        doc.put(&photo, "file_name", "a.jpg").unwrap();
        let repeat = doc.put_object(&answers, "rooms", ObjType::List).unwrap();
        let room = doc.insert_object(&repeat, 0, ObjType::Map).unwrap();
        let inner = doc.put_object(&room, "picture", ObjType::Map).unwrap();
        doc.put(&inner, HASH_KEY, nested.to_hex()).unwrap();
        doc.put(&answers, "note", top.to_hex()).unwrap(); // text, not under the key
        let other = doc.put_object(&answers, "bad", ObjType::Map).unwrap();
        doc.put(&other, HASH_KEY, "not a hash").unwrap();
        assert_eq!(referenced(&doc), BTreeSet::from([top, nested]));
    }
}
