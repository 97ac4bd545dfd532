//! Sync bundles: a file carrying what a peer lacks (or everything) for a USB stick or a
//! messaging app, with the attachment contents its documents reference. The plaintext is one
//! frame of the wire format (type 0x10, or 0x11 when attachment contents follow it:
//! `contents.rs`); the file is that plaintext encrypted with age to the recipient's X25519 key,
//! which also detects truncation and tampering. Both sides stream through age, so a content is
//! never held whole in memory. This module writes; `import.rs` reads, applying every document
//! in one store commit once the whole file was read and authenticated (importing twice is
//! harmless).

mod contents;
mod import;

pub use import::{import_bundle, import_bundle_from};

use std::collections::BTreeSet;
use std::io::{self, Read, Write};

use automerge::{ChangeHash, ReadDoc};

use crate::attachments::{referenced, ContentHash};
use crate::error::{StoreError, WireError};
use crate::ids::{DocId, DocKind, Epoch, PeerId};
use crate::policy::Policy;
use crate::report::SyncReport;
use crate::signatures::SignedChange;
use crate::store::DocumentStore;
use crate::wire::codec::Writer;
use crate::wire::{seal, write_tail, Tail, TYPE_BUNDLE, TYPE_BUNDLE_WITH_CONTENTS};

use contents::Listed;

pub use age::x25519::{Identity as BundleIdentity, Recipient as BundleRecipient};

/// The largest decrypted bundle accepted: 1 GiB.
pub const MAX_BUNDLE: u32 = 1 << 30;

/// What a bundle carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BundleScope {
    /// What the recipient lacks, as far as this store knows from their last sync: documents
    /// changed since its cursor, as changes after the shared heads where those are known.
    Missing,
    /// Every document the recipient may read, whole.
    Everything,
}

/// Why a bundle could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("not a sync bundle: the file is not age-encrypted")]
    NotABundle,
    #[error("this bundle is encrypted for another recipient")]
    NotForThisRecipient,
    #[error("the bundle is damaged: truncated or altered after it was written")]
    Damaged,
    #[error("the bundle decrypts but its contents are malformed: {0}")]
    Malformed(#[from] WireError),
    #[error("the bundle is addressed to peer {addressed}, not to {local}")]
    WrongPeer { addressed: String, local: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("could not encrypt the bundle: {0}")]
    Encrypt(String),
    #[error("could not read or write the bundle file: {0}")]
    Io(#[source] io::Error),
    #[error("attachment {sha256} was listed for the bundle but is no longer whole in the store")]
    AttachmentVanished { sha256: String },
}

impl From<age::DecryptError> for BundleError {
    fn from(error: age::DecryptError) -> Self {
        use age::DecryptError as E;
        match error {
            E::NoMatchingKeys => BundleError::NotForThisRecipient,
            E::UnknownFormat | E::InvalidHeader => BundleError::NotABundle,
            _ => BundleError::Damaged,
        }
    }
}

const ENTRY_WHOLE: u8 = 1;
const ENTRY_CHANGES: u8 = 2;

/// One document in a bundle.
struct Entry {
    doc: DocId,
    kind: DocKind,
    heads: Vec<ChangeHash>,
    /// Whether `bytes` is the whole document or only changes after the shared heads.
    whole: bool,
    bytes: Vec<u8>,
    /// The signatures of the keyed changes in `bytes`.
    signatures: Vec<SignedChange>,
}

/// Who wrote a bundle and for whom, with their epochs: the importer drops what it knew of the
/// sender when the sender's epoch is not the one it knew (the rule of a sync session).
struct Addressing {
    from: PeerId,
    from_epoch: Epoch,
    to: PeerId,
}

/// Writes a bundle of `local`'s documents for peer `to`, encrypted to `recipient`, in memory
/// ([`write_bundle_to`] says what it carries); the bytes returned are the only copy of the
/// contents it carries.
pub fn write_bundle<S: DocumentStore + ?Sized>(
    store: &S,
    local: &PeerId,
    to: &PeerId,
    recipient: &BundleRecipient,
    scope: BundleScope,
    policy: &dyn Policy,
) -> Result<Vec<u8>, BundleError> {
    let mut sealed = Vec::new();
    write_bundle_to(store, local, to, recipient, scope, policy, &mut sealed)?;
    Ok(sealed)
}

/// Writes to `out` a bundle of `local`'s documents for peer `to`, encrypted to `recipient`:
/// the documents `scope` names that the policy lets `to` read, then the attachment contents
/// they reference that are whole here and that the policy lets `to` read. The store's cursor
/// for `to` does not move: nothing is known to have arrived until the peer syncs. The report
/// counts the documents (`sent`), the contents and the bytes written. Cost: every document
/// carried is loaded and saved, and held until the documents' frame is written; each content
/// is read and encrypted one chunk at a time.
pub fn write_bundle_to<S: DocumentStore + ?Sized>(
    store: &S,
    local: &PeerId,
    to: &PeerId,
    recipient: &BundleRecipient,
    scope: BundleScope,
    policy: &dyn Policy,
    out: impl Write,
) -> Result<SyncReport, BundleError> {
    let mut references = BTreeSet::new();
    let entries = bundle_entries(store, to, scope, policy, &mut references)?;
    let listed = contents::carried(store, to, policy, &references)?;
    let addressing = Addressing {
        from: local.clone(),
        from_epoch: store.epoch()?,
        to: to.clone(),
    };
    let frame = encode_bundle(&addressing, &entries, &listed);
    let mut report = SyncReport {
        sent: entries.len(),
        change_bytes: entries.iter().map(|entry| entry.bytes.len() as u64).sum(),
        ..SyncReport::default()
    };
    drop(entries);
    let mut counted = Counted::new(out);
    let encryptor = age::Encryptor::with_recipients(std::iter::once(recipient as _))
        .map_err(|error| BundleError::Encrypt(error.to_string()))?;
    let mut sealed = encryptor
        .wrap_output(&mut counted)
        .map_err(BundleError::Io)?;
    sealed.write_all(&frame).map_err(BundleError::Io)?;
    drop(frame);
    contents::write(store, &listed, &mut sealed, &mut report)?;
    sealed.finish().map_err(BundleError::Io)?;
    report.bytes_sent = counted.bytes;
    Ok(report)
}

/// The entries for `to` that `scope` names, adding the contents their documents reference to
/// `references`. Cost: one page of changed documents at a time; each entry's bytes kept.
fn bundle_entries<S: DocumentStore + ?Sized>(
    store: &S,
    to: &PeerId,
    scope: BundleScope,
    policy: &dyn Policy,
    references: &mut BTreeSet<ContentHash>,
) -> Result<Vec<Entry>, BundleError> {
    let since = match scope {
        BundleScope::Missing => store.peer_cursor(to)?.ours,
        BundleScope::Everything => 0,
    };
    let mut entries = Vec::new();
    let mut after = since;
    loop {
        let page = store.changed_since(after, 1_000)?;
        let Some(last) = page.last() else { break };
        after = last.doc.seq;
        for changed in page {
            if !policy.may_read(to, &changed.doc.id, changed.doc.kind) {
                continue;
            }
            let shared = match scope {
                BundleScope::Missing => store.shared_heads(to, &changed.doc.id)?,
                BundleScope::Everything => None,
            };
            entries.extend(bundle_entry(
                store,
                changed.doc.id,
                changed.doc.kind,
                shared,
                references,
            )?);
        }
    }
    Ok(entries)
}

/// The entry for one document: changes after the shared heads when the peer's state is known
/// and all in our document, else the whole document; `None` when the peer has it all.
fn bundle_entry<S: DocumentStore + ?Sized>(
    store: &S,
    doc: DocId,
    kind: DocKind,
    shared: Option<Vec<ChangeHash>>,
    references: &mut BTreeSet<ContentHash>,
) -> Result<Option<Entry>, BundleError> {
    let Some(loaded) = store.load(&doc)? else {
        return Ok(None);
    };
    let heads = loaded.get_heads();
    let known = shared.filter(|shared| {
        shared
            .iter()
            .all(|hash| loaded.get_change_by_hash(hash).is_some())
    });
    let (whole, bytes, signatures) = match known {
        Some(shared) if shared == heads => return Ok(None),
        Some(shared) => {
            let hashes: Vec<ChangeHash> = loaded
                .get_changes(&shared)
                .iter()
                .map(|c| c.hash())
                .collect();
            let signatures = store.signatures(&doc, Some(&hashes))?;
            (false, loaded.save_after(&shared), signatures)
        }
        None => (true, loaded.save(), store.signatures(&doc, None)?),
    };
    references.extend(referenced(&loaded));
    Ok(Some(Entry {
        doc,
        kind,
        heads,
        whole,
        bytes,
        signatures,
    }))
}

/// The documents' frame: of format 1 (type 0x10, which every earlier reader reads) when no
/// content follows it, else of format 2 (type 0x11), listing the contents before the entries.
fn encode_bundle(addressing: &Addressing, entries: &[Entry], listed: &[Listed]) -> Vec<u8> {
    let mut writer = Writer::default();
    writer.peer_id(&addressing.from);
    writer.epoch(addressing.from_epoch);
    writer.peer_id(&addressing.to);
    let kind = if listed.is_empty() {
        TYPE_BUNDLE
    } else {
        contents::encode_list(&mut writer, listed);
        TYPE_BUNDLE_WITH_CONTENTS
    };
    let mut packed = Writer::default();
    packed.varint(entries.len() as u64);
    for entry in entries {
        packed.doc_id(&entry.doc);
        packed.kind(entry.kind);
        packed.heads(&entry.heads);
        packed.u8(if entry.whole {
            ENTRY_WHOLE
        } else {
            ENTRY_CHANGES
        });
        packed.bytes(&entry.bytes);
        packed.signatures(&entry.signatures);
    }
    write_tail(&mut writer, &packed.buf, Tail::Smallest);
    seal(kind, writer.buf)
}

/// A reader or writer that counts the bytes through it: the bundle file's size.
struct Counted<T> {
    inner: T,
    bytes: u64,
}

impl<T> Counted<T> {
    fn new(inner: T) -> Self {
        Self { inner, bytes: 0 }
    }
}

impl<T: Read> Read for Counted<T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
}

impl<T: Write> Write for Counted<T> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
