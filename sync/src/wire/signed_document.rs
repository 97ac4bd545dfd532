//! The signed document: a document's automerge bytes sealed with the signatures of its keyed
//! changes, as one byte string a host moves as it likes (an export, the hub's document routes).

use super::codec::{Reader, Writer};
use crate::error::WireError;
use crate::signatures::SignedChange;

/// The first bytes of a signed document ([`seal_signed_document`]). No automerge chunk begins
/// so (theirs begin with 0x85 0x6f 0x4a 0x83), so plain automerge bytes are told apart.
const SIGNED_DOCUMENT_MAGIC: [u8; 4] = *b"MSIG";
/// The version of the signed document's layout.
const SIGNED_DOCUMENT_VERSION: u8 = 1;

/// A document's automerge bytes with the signatures of its keyed changes, as one byte string a
/// host can move as it likes (a file, a message): `MSIG`, a version byte, the automerge bytes
/// (length first), then the signatures as sync messages carry them.
pub fn seal_signed_document(document: &[u8], signed: &[SignedChange]) -> Vec<u8> {
    let mut writer = Writer::default();
    writer.fixed(&SIGNED_DOCUMENT_MAGIC);
    writer.u8(SIGNED_DOCUMENT_VERSION);
    writer.bytes(document);
    writer.signatures(signed);
    writer.buf
}

/// The automerge bytes and signatures of a signed document; plain automerge bytes come back as
/// they are, with no signatures. Cost: one pass over the bytes.
pub fn open_signed_document(bytes: &[u8]) -> Result<(&[u8], Vec<SignedChange>), WireError> {
    if !bytes.starts_with(&SIGNED_DOCUMENT_MAGIC) {
        return Ok((bytes, Vec::new()));
    }
    let mut reader = Reader::new(&bytes[SIGNED_DOCUMENT_MAGIC.len()..]);
    let version = reader.u8("signed document version")?;
    if version != SIGNED_DOCUMENT_VERSION {
        return Err(WireError::UnsupportedVersion {
            got: version,
            speaks: SIGNED_DOCUMENT_VERSION,
        });
    }
    let document = reader.bytes("signed document")?;
    let signed = reader.signatures(super::MAX_LIST)?;
    reader.finish()?;
    Ok((document, signed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signatures::SIGNATURE_LEN;
    use automerge::ChangeHash;

    #[test]
    fn a_signed_document_opens_to_its_bytes_and_signatures_and_plain_bytes_open_as_they_are() {
        let signed = vec![(ChangeHash([1; 32]), [2; SIGNATURE_LEN])];
        let sealed = seal_signed_document(b"automerge", &signed);
        assert_eq!(
            open_signed_document(&sealed).unwrap(),
            (&b"automerge"[..], signed)
        );
        assert_eq!(
            open_signed_document(b"plain").unwrap(),
            (&b"plain"[..], vec![])
        );
        assert!(open_signed_document(&sealed[..sealed.len() - 1]).is_err());
    }
}
