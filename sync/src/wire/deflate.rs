//! The compressed tail of a payload: a message's body or a bundle's entries travel DEFLATE-
//! compressed when that makes them smaller. Why: the one-answer changes of a resync each repeat
//! the device's actor id, the change header and the question names, which the sync framing alone
//! cannot share between documents; compressing the whole tail does (see docs/sync-protocol.md).

use std::borrow::Cow;
use std::io::{Read, Write};

use flate2::bufread::DeflateDecoder;
use flate2::write::DeflateEncoder;
use flate2::Compression;

use super::codec::{Reader, Writer};
use crate::error::WireError;

const PLAIN: u8 = 0;
const DEFLATED: u8 = 1;
/// Below this a tail goes plain: DEFLATE's block header and the length would outweigh the gain.
const MIN_TO_COMPRESS: usize = 64;
/// A compressed tail may announce at most this many times its compressed size (or
/// [`ALWAYS_ALLOWED`]): real bodies compress 1–5 times, DEFLATE can reach about 1,000, so a
/// small hostile frame or bundle cannot make a receiver allocate a thousand times its size.
const MAX_RATIO: u64 = 32;
/// A tail longer than this is probed before it is compressed: [`PROBES`] windows of this size,
/// spread over it, are compressed first, and the whole only if they shrink.
const PROBE_WINDOW: usize = 16 * 1024;
const PROBES: usize = 4;
/// The probes must save at least one byte in this many for the whole tail to be compressed:
/// photos and recordings (already compressed by their formats) save almost nothing, and a
/// DEFLATE pass over megabytes of them cost more than the rest of their sync (measured with
/// `tests/benches/attachment_upload.rs`: 27% of a loopback upload's CPU).
const MIN_PROBE_SAVING: usize = 16;
/// A plain length any compressed tail may announce, whatever its ratio (a page of answers
/// compresses far better than documents do).
const ALWAYS_ALLOWED: u64 = 1 << 20;

/// How [`write_tail`] writes a tail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tail {
    /// Compressed when that is shorter: what peers send.
    Smallest,
    /// As it is.
    Plain,
}

/// Appends `tail` as the last field of a payload: one tag byte, then either the bytes as they
/// are or their plain length and raw DEFLATE (RFC 1951) stream. `Tail::Smallest` costs one fast
/// DEFLATE pass over `tail` and keeps whichever form is shorter; a long tail whose sampled
/// windows do not shrink (attachment chunks of photos) goes plain after a pass over the
/// samples alone (at most 64 KiB).
pub fn write_tail(writer: &mut Writer, tail: &[u8], form: Tail) {
    let packed = match form {
        Tail::Smallest => deflated_if_smaller(tail),
        Tail::Plain => None,
    };
    match packed {
        Some(packed) => {
            writer.u8(DEFLATED);
            writer.varint(tail.len() as u64);
            writer.fixed(&packed);
        }
        None => {
            writer.u8(PLAIN);
            writer.fixed(tail);
        }
    }
}

fn deflated_if_smaller(tail: &[u8]) -> Option<Vec<u8>> {
    if tail.len() < MIN_TO_COMPRESS || !samples_shrink(tail) {
        return None;
    }
    let mut encoder = DeflateEncoder::new(Vec::with_capacity(tail.len() / 2), Compression::fast());
    // Writing into a Vec cannot fail; should it ever, the plain form is always valid.
    encoder.write_all(tail).ok()?;
    let packed = encoder.finish().ok()?;
    // The varint of the plain length costs up to 5 bytes more than the plain form.
    (packed.len() + 5 < tail.len()).then_some(packed)
}

/// Whether DEFLATE is worth a pass over `tail`: true for a tail short enough to compress whole
/// at once, else whether [`PROBES`] windows spread evenly over it save together at least one
/// byte in [`MIN_PROBE_SAVING`]. A body of answers with a few chunks in it still shrinks.
fn samples_shrink(tail: &[u8]) -> bool {
    if tail.len() <= PROBES * PROBE_WINDOW * 2 {
        return true;
    }
    let stride = (tail.len() - PROBE_WINDOW) / (PROBES - 1);
    let mut encoder = DeflateEncoder::new(Vec::new(), Compression::fast());
    for probe in 0..PROBES {
        let start = probe * stride;
        if encoder
            .write_all(&tail[start..start + PROBE_WINDOW])
            .is_err()
        {
            return false;
        }
    }
    let sampled = PROBES * PROBE_WINDOW;
    encoder
        .finish()
        .is_ok_and(|packed| packed.len() + sampled / MIN_PROBE_SAVING <= sampled)
}

/// Reads the tail [`write_tail`] wrote: everything left in `reader`. A compressed tail is
/// inflated only up to `max` bytes, so a small hostile frame cannot make a large allocation,
/// and it must inflate to exactly its announced length and end exactly where the payload does.
pub fn read_tail<'a>(reader: &mut Reader<'a>, max: u32) -> Result<Cow<'a, [u8]>, WireError> {
    match reader.u8("compression tag")? {
        PLAIN => Ok(Cow::Borrowed(reader.rest())),
        DEFLATED => {
            let plain_len = reader.varint("plain length")?;
            if plain_len > u64::from(max) {
                return Err(WireError::FrameTooLarge {
                    len: plain_len,
                    max: max.into(),
                });
            }
            let packed = reader.rest();
            if plain_len > ALWAYS_ALLOWED.max(MAX_RATIO * packed.len() as u64) {
                return Err(WireError::BadCompression {
                    reason: format!(
                        "{plain_len} bytes announced from {}, more than {MAX_RATIO} times",
                        packed.len()
                    ),
                });
            }
            inflate(packed, plain_len).map(Cow::Owned)
        }
        other => Err(WireError::UnknownCompression(other)),
    }
}

fn inflate(packed: &[u8], plain_len: u64) -> Result<Vec<u8>, WireError> {
    let bad = |reason: &str| WireError::BadCompression {
        reason: reason.to_owned(),
    };
    let mut decoder = DeflateDecoder::new(packed);
    let mut plain = Vec::new();
    (&mut decoder)
        .take(plain_len + 1)
        .read_to_end(&mut plain)
        .map_err(|error| bad(&error.to_string()))?;
    if plain.len() as u64 != plain_len {
        return Err(bad(&format!(
            "inflates to {}{} bytes, not the {plain_len} announced",
            plain.len(),
            if plain.len() as u64 > plain_len {
                "+"
            } else {
                ""
            }
        )));
    }
    if !decoder.into_inner().is_empty() {
        return Err(bad("bytes after the end of the compressed stream"));
    }
    Ok(plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(tail: &[u8]) -> (usize, Vec<u8>) {
        let mut writer = Writer::default();
        write_tail(&mut writer, tail, Tail::Smallest);
        let written = writer.buf.len();
        let read = read_tail(&mut Reader::new(&writer.buf), 1 << 20).unwrap();
        (written, read.into_owned())
    }

    #[test]
    fn repetitive_tails_shrink_and_short_or_random_ones_stay_plain() {
        let repetitive = b"answers/q12 = yes; ".repeat(50);
        let (written, read) = round_trip(&repetitive);
        assert_eq!(read, repetitive);
        assert!(written < repetitive.len() / 4, "{written} bytes");

        let short = b"abc".to_vec();
        assert_eq!(round_trip(&short), (short.len() + 1, short));

        let random: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let (written, read) = round_trip(&random);
        assert_eq!(read, random);
        assert!(written <= random.len() + 1);
    }

    fn deflated(plain_len: u64, packed: &[u8]) -> Vec<u8> {
        let mut writer = Writer::default();
        writer.u8(DEFLATED);
        writer.varint(plain_len);
        writer.fixed(packed);
        writer.buf
    }

    fn pack(plain: &[u8]) -> Vec<u8> {
        let mut encoder = DeflateEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(plain).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn a_long_tail_of_photo_bytes_goes_plain_and_one_of_answers_with_a_chunk_shrinks() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let photo: Vec<u8> = (0..(1 << 20))
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        assert!(!samples_shrink(&photo));
        let (written, read) = round_trip(&photo);
        assert_eq!(read, photo);
        assert_eq!(written, photo.len() + 1, "sent plain");

        let mut answers = b"answers/q12 = yes; ".repeat(30_000);
        answers.extend_from_slice(&photo[..PROBE_WINDOW]);
        assert!(samples_shrink(&answers));
        let (written, read) = round_trip(&answers);
        assert_eq!(read, answers);
        assert!(written < answers.len() / 2, "{written} bytes");
    }

    #[test]
    fn a_bomb_is_refused_at_the_limit_without_inflating_it() {
        let bomb = pack(&vec![0u8; 8 << 20]);
        let framed = deflated(8 << 20, &bomb);
        assert_eq!(
            read_tail(&mut Reader::new(&framed), 1 << 20),
            Err(WireError::FrameTooLarge {
                len: 8 << 20,
                max: 1 << 20
            })
        );
        // Within the frame limit, a ratio no real body reaches is refused before inflating.
        let framed = deflated(8 << 20, &bomb);
        assert!(matches!(
            read_tail(&mut Reader::new(&framed), 32 << 20),
            Err(WireError::BadCompression { reason }) if reason.contains("times")
        ));
        // Announcing less than it holds does not help: inflating stops one byte past the claim.
        let framed = deflated(1000, &bomb);
        assert!(matches!(
            read_tail(&mut Reader::new(&framed), 1 << 20),
            Err(WireError::BadCompression { .. })
        ));
    }

    #[test]
    fn wrong_lengths_garbage_and_trailing_bytes_are_typed_errors() {
        let packed = pack(&b"hello, hello, hello, hello".repeat(4));
        for framed in [
            deflated(50, &packed),
            deflated(200, &packed),
            deflated(104, &[packed.clone(), vec![0]].concat()),
            deflated(104, &packed[..packed.len() / 2]),
            deflated(104, &[0xff; 16]),
        ] {
            assert!(
                matches!(
                    read_tail(&mut Reader::new(&framed), 1 << 20),
                    Err(WireError::BadCompression { .. })
                ),
                "{framed:?}"
            );
        }
        assert_eq!(
            read_tail(&mut Reader::new(&deflated(104, &packed)), 1 << 20)
                .unwrap()
                .len(),
            104
        );
        assert_eq!(
            read_tail(&mut Reader::new(&[7]), 1 << 20),
            Err(WireError::UnknownCompression(7))
        );
    }
}
