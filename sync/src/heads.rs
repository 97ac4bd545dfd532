//! Heads as stores keep them: a document's change hashes as one byte string, 32 bytes each, one
//! after another. The core's `documents` and `peer_heads` rows and the hub's keep them so; no
//! store writes heads as text.

use automerge::ChangeHash;

/// Bytes that are not whole 32-byte change hashes: a damaged or foreign row.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stored heads of {len} bytes are not whole 32-byte change hashes")]
pub struct NotHeads {
    pub len: usize,
}

/// `heads` as one byte string. Cost: one copy, 32 bytes a head.
pub fn heads_to_bytes(heads: &[ChangeHash]) -> Vec<u8> {
    heads.iter().flat_map(|hash| hash.0).collect()
}

/// The heads [`heads_to_bytes`] wrote. Cost: one pass.
pub fn heads_from_bytes(bytes: &[u8]) -> Result<Vec<ChangeHash>, NotHeads> {
    let not_heads = || NotHeads { len: bytes.len() };
    if !bytes.len().is_multiple_of(32) {
        return Err(not_heads());
    }
    bytes
        .chunks(32)
        .map(|hash| ChangeHash::try_from(hash).map_err(|_| not_heads()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_round_trip_through_their_bytes() {
        let heads = vec![ChangeHash([7; 32]), ChangeHash([200; 32])];
        let bytes = heads_to_bytes(&heads);
        assert_eq!(bytes.len(), 64);
        assert_eq!(heads_from_bytes(&bytes), Ok(heads));
        assert_eq!(heads_from_bytes(&[]), Ok(Vec::new()));
    }

    #[test]
    fn bytes_that_are_not_whole_hashes_are_refused() {
        assert_eq!(heads_from_bytes(&[1; 33]), Err(NotHeads { len: 33 }));
    }
}
