//! The wire's primitive encodings: unsigned LEB128 varints, length-prefixed bytes, ids, kinds and
//! change hashes. The reader checks every length against the bytes left before allocating.

use automerge::ChangeHash;

use crate::error::{IdError, WireError};
use crate::ids::{DocId, DocKind, Epoch, PeerId, MAX_ID_LEN};
use crate::signatures::{SignedChange, SIGNATURE_LEN};

/// Most heads one document may advertise; real documents have one or a few.
pub const MAX_HEADS: u64 = 1024;

const ID_UUID: u8 = 0;
const ID_STRING: u8 = 1;

/// Appends encoded values to a buffer.
#[derive(Default)]
pub struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    pub fn u8(&mut self, value: u8) {
        self.buf.push(value);
    }

    pub fn varint(&mut self, mut value: u64) {
        loop {
            let byte = (value & 0x7f) as u8;
            value >>= 7;
            if value == 0 {
                self.buf.push(byte);
                return;
            }
            self.buf.push(byte | 0x80);
        }
    }

    pub fn bytes(&mut self, bytes: &[u8]) {
        self.varint(bytes.len() as u64);
        self.buf.extend_from_slice(bytes);
    }

    pub fn fixed(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// A document id: a canonical UUID as tag 0 and 16 bytes, anything else as tag 1 and UTF-8.
    pub fn doc_id(&mut self, id: &DocId) {
        match canonical_uuid(id.as_str()) {
            Some(uuid) => {
                self.u8(ID_UUID);
                self.fixed(uuid.as_bytes());
            }
            None => {
                self.u8(ID_STRING);
                self.bytes(id.as_str().as_bytes());
            }
        }
    }

    pub fn peer_id(&mut self, id: &PeerId) {
        self.bytes(id.as_str().as_bytes());
    }

    /// A store's epoch: its 16 bytes.
    pub fn epoch(&mut self, epoch: Epoch) {
        self.fixed(&epoch.0);
    }

    /// An epoch that may be absent: a flag byte (0 absent, 1 present), then the 16 bytes.
    pub fn optional_epoch(&mut self, epoch: Option<Epoch>) {
        match epoch {
            Some(epoch) => {
                self.u8(1);
                self.epoch(epoch);
            }
            None => self.u8(0),
        }
    }

    pub fn kind(&mut self, kind: DocKind) {
        self.u8(kind.code());
    }

    pub fn heads(&mut self, heads: &[ChangeHash]) {
        self.varint(heads.len() as u64);
        for head in heads {
            self.fixed(&head.0);
        }
    }

    /// A count, then each change hash (32 bytes) and its signature (64 bytes).
    pub fn signatures(&mut self, signed: &[SignedChange]) {
        self.varint(signed.len() as u64);
        for (hash, signature) in signed {
            self.fixed(&hash.0);
            self.fixed(signature);
        }
    }
}

fn canonical_uuid(id: &str) -> Option<uuid::Uuid> {
    let uuid = uuid::Uuid::parse_str(id).ok()?;
    (uuid.hyphenated().to_string() == id).then_some(uuid)
}

/// Reads encoded values from a slice, never past its end.
pub struct Reader<'a> {
    input: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(input: &'a [u8]) -> Self {
        Self { input }
    }

    pub fn remaining(&self) -> usize {
        self.input.len()
    }

    /// Everything not read yet; the reader is then at its end.
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.input)
    }

    pub fn finish(&self) -> Result<(), WireError> {
        match self.input.len() {
            0 => Ok(()),
            extra => Err(WireError::TrailingBytes(extra)),
        }
    }

    pub fn u8(&mut self, what: &'static str) -> Result<u8, WireError> {
        Ok(self.fixed(1, what)?[0])
    }

    pub fn fixed(&mut self, len: usize, what: &'static str) -> Result<&'a [u8], WireError> {
        if self.input.len() < len {
            return Err(WireError::Truncated { what });
        }
        let (head, rest) = self.input.split_at(len);
        self.input = rest;
        Ok(head)
    }

    pub fn varint(&mut self, what: &'static str) -> Result<u64, WireError> {
        let mut value: u64 = 0;
        for index in 0..10 {
            let byte = self.u8(what)?;
            let bits = u64::from(byte & 0x7f);
            if index == 9 && bits > 1 {
                return Err(WireError::BadVarint { what });
            }
            value |= bits << (7 * index);
            if byte & 0x80 == 0 {
                if index > 0 && byte == 0 {
                    return Err(WireError::BadVarint { what });
                }
                return Ok(value);
            }
        }
        Err(WireError::BadVarint { what })
    }

    /// A count of items that each take at least `min_item_len` bytes: refused when the bytes left
    /// cannot hold that many, so a hostile count never drives an allocation.
    pub fn count(
        &mut self,
        what: &'static str,
        min_item_len: usize,
        max: u64,
    ) -> Result<usize, WireError> {
        let count = self.varint(what)?;
        let fits = (self.input.len() / min_item_len.max(1)) as u64;
        if count > max.min(fits) {
            return Err(WireError::TooMany {
                what,
                count,
                max: max.min(fits),
            });
        }
        Ok(count as usize)
    }

    pub fn bytes(&mut self, what: &'static str) -> Result<&'a [u8], WireError> {
        let len = self.varint(what)?;
        if len > self.input.len() as u64 {
            return Err(WireError::Truncated { what });
        }
        self.fixed(len as usize, what)
    }

    pub fn doc_id(&mut self) -> Result<DocId, WireError> {
        match self.u8("document id")? {
            ID_UUID => {
                let bytes = self.fixed(16, "document id")?;
                let uuid = uuid::Uuid::from_slice(bytes).map_err(|_| WireError::Truncated {
                    what: "document id",
                })?;
                Ok(DocId::from(uuid))
            }
            ID_STRING => Ok(DocId::new(self.id_string("document id")?)?),
            other => Err(WireError::UnknownIdEncoding(other)),
        }
    }

    pub fn peer_id(&mut self) -> Result<PeerId, WireError> {
        Ok(PeerId::new(self.id_string("peer id")?)?)
    }

    /// A peer id that may be absent, written as an empty string.
    pub fn optional_peer_id(&mut self) -> Result<Option<PeerId>, WireError> {
        let id = self.id_string("peer id")?;
        if id.is_empty() {
            return Ok(None);
        }
        Ok(Some(PeerId::new(id)?))
    }

    fn id_string(&mut self, what: &'static str) -> Result<String, WireError> {
        let len = self.varint(what)?;
        if len > MAX_ID_LEN as u64 {
            return Err(IdError::TooLong { len: len as usize }.into());
        }
        let bytes = self.fixed(len as usize, what)?;
        let text = std::str::from_utf8(bytes).map_err(|_| IdError::NotUtf8)?;
        Ok(text.to_owned())
    }

    pub fn epoch(&mut self) -> Result<Epoch, WireError> {
        let mut epoch = [0u8; 16];
        epoch.copy_from_slice(self.fixed(16, "epoch")?);
        Ok(Epoch(epoch))
    }

    pub fn optional_epoch(&mut self) -> Result<Option<Epoch>, WireError> {
        match self.u8("epoch flag")? {
            0 => Ok(None),
            1 => self.epoch().map(Some),
            other => Err(WireError::UnknownAnswer(other)),
        }
    }

    pub fn kind(&mut self, doc: &DocId) -> Result<DocKind, WireError> {
        let code = self.u8("document kind")?;
        DocKind::from_code(code).map_err(|_| WireError::UnknownKind {
            doc: doc.clone(),
            code,
        })
    }

    pub fn heads(&mut self) -> Result<Vec<ChangeHash>, WireError> {
        let count = self.count("heads", 32, MAX_HEADS)?;
        let mut heads = Vec::with_capacity(count);
        for _ in 0..count {
            let bytes = self.fixed(32, "head")?;
            let mut hash = [0u8; 32];
            hash.copy_from_slice(bytes);
            heads.push(ChangeHash(hash));
        }
        Ok(heads)
    }

    /// What [`Writer::signatures`] wrote; at most `max` of them.
    pub fn signatures(&mut self, max: u64) -> Result<Vec<SignedChange>, WireError> {
        let count = self.count("signatures", 32 + SIGNATURE_LEN, max)?;
        let mut signed = Vec::with_capacity(count);
        for _ in 0..count {
            let mut hash = [0u8; 32];
            hash.copy_from_slice(self.fixed(32, "signed change")?);
            let mut signature = [0u8; SIGNATURE_LEN];
            signature.copy_from_slice(self.fixed(SIGNATURE_LEN, "signature")?);
            signed.push((ChangeHash(hash), signature));
        }
        Ok(signed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_and_refuse_overlong() {
        for value in [0, 1, 127, 128, 300, u32::MAX as u64, u64::MAX] {
            let mut writer = Writer::default();
            writer.varint(value);
            let mut reader = Reader::new(&writer.buf);
            assert_eq!(reader.varint("v").unwrap(), value);
            reader.finish().unwrap();
        }
        let overlong = [0x80, 0x00];
        assert!(matches!(
            Reader::new(&overlong).varint("v"),
            Err(WireError::BadVarint { .. })
        ));
        let too_big = [0xff; 11];
        assert!(matches!(
            Reader::new(&too_big).varint("v"),
            Err(WireError::BadVarint { .. })
        ));
    }

    #[test]
    fn uuid_ids_take_seventeen_bytes_and_others_stay_strings() {
        let uuid_id = DocId::random();
        let other = DocId::new("form:safety@2").unwrap();
        let mut writer = Writer::default();
        writer.doc_id(&uuid_id);
        assert_eq!(writer.buf.len(), 17);
        writer.doc_id(&other);
        let mut reader = Reader::new(&writer.buf);
        assert_eq!(reader.doc_id().unwrap(), uuid_id);
        assert_eq!(reader.doc_id().unwrap(), other);
    }

    #[test]
    fn upper_case_uuid_ids_keep_their_spelling() {
        let id = DocId::new("6F9619FF-8B86-D011-B42D-00C04FC964FF").unwrap();
        let mut writer = Writer::default();
        writer.doc_id(&id);
        assert_eq!(Reader::new(&writer.buf).doc_id().unwrap(), id);
    }

    #[test]
    fn hostile_counts_are_refused_before_allocating() {
        let mut writer = Writer::default();
        writer.varint(1 << 40);
        assert!(matches!(
            Reader::new(&writer.buf).heads(),
            Err(WireError::TooMany { what: "heads", .. })
        ));
        let mut writer = Writer::default();
        writer.varint(1 << 40);
        assert!(matches!(
            Reader::new(&writer.buf).bytes("payload"),
            Err(WireError::Truncated { .. })
        ));
    }
}
