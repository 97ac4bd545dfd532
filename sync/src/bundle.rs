//! Sync bundles: a file carrying what a peer lacks (or everything) for a USB stick or a
//! messaging app. The plaintext is one frame of the wire format (type 0x10); the file is that
//! frame encrypted with age to the recipient's X25519 key, which also detects truncation and
//! tampering. Importing applies every document in one store commit; importing twice is harmless.

use std::sync::Arc;

use automerge::{Automerge, ChangeHash, ReadDoc};

use crate::error::{StoreError, WireError};
use crate::ids::{DocId, DocKind, Epoch, PeerId};
use crate::policy::Policy;
use crate::report::SyncReport;
use crate::signatures::SignedChange;
use crate::store::{ApplyOutcome, Commit, DocumentStore, IncomingDoc};
use crate::wire::codec::{Reader, Writer};
use crate::wire::{open, read_tail, seal, write_tail, Refusal, Tail, MAX_LIST, TYPE_BUNDLE};

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

/// Writes a bundle of `local`'s documents for peer `to`, encrypted to `recipient`. The store's
/// cursor for `to` does not move: nothing is known to have arrived until the peer syncs.
pub fn write_bundle<S: DocumentStore + ?Sized>(
    store: &S,
    local: &PeerId,
    to: &PeerId,
    recipient: &BundleRecipient,
    scope: BundleScope,
    policy: &dyn Policy,
) -> Result<Vec<u8>, BundleError> {
    let since = match scope {
        BundleScope::Missing => store.peer_cursor(to)?.ours,
        BundleScope::Everything => 0,
    };
    let mut entries = Vec::new();
    let mut after = since;
    loop {
        let page = store.changed_since(after, 1_000)?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for changed in page {
            if !policy.may_read(to, &changed.id, changed.kind) {
                continue;
            }
            let shared = match scope {
                BundleScope::Missing => store.shared_heads(to, &changed.id)?,
                BundleScope::Everything => None,
            };
            if let Some(entry) = bundle_entry(store, changed.id, changed.kind, shared)? {
                entries.push(entry);
            }
        }
    }
    let addressing = Addressing {
        from: local.clone(),
        from_epoch: store.epoch()?,
        to: to.clone(),
    };
    let plaintext = encode_bundle(&addressing, &entries);
    age::encrypt(recipient, &plaintext).map_err(|error| BundleError::Encrypt(error.to_string()))
}

/// The entry for one document: changes after the shared heads when the peer's state is known
/// and all in our document, else the whole document; `None` when the peer has it all.
fn bundle_entry<S: DocumentStore + ?Sized>(
    store: &S,
    doc: DocId,
    kind: DocKind,
    shared: Option<Vec<ChangeHash>>,
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
    Ok(Some(Entry {
        doc,
        kind,
        heads,
        whole,
        bytes,
        signatures,
    }))
}

fn encode_bundle(addressing: &Addressing, entries: &[Entry]) -> Vec<u8> {
    let mut writer = Writer::default();
    writer.peer_id(&addressing.from);
    writer.epoch(addressing.from_epoch);
    writer.peer_id(&addressing.to);
    let mut listed = Writer::default();
    listed.varint(entries.len() as u64);
    for entry in entries {
        listed.doc_id(&entry.doc);
        listed.kind(entry.kind);
        listed.heads(&entry.heads);
        listed.u8(if entry.whole {
            ENTRY_WHOLE
        } else {
            ENTRY_CHANGES
        });
        listed.bytes(&entry.bytes);
        listed.signatures(&entry.signatures);
    }
    write_tail(&mut writer, &listed.buf, Tail::Smallest);
    seal(TYPE_BUNDLE, writer.buf)
}

/// The sender and entries of a bundle for `local`; one addressed to another peer is refused
/// before its entries are inflated.
fn decode_bundle(
    plaintext: &[u8],
    local: &PeerId,
) -> Result<(Addressing, Vec<Entry>), BundleError> {
    let (kind, payload) = open(plaintext, MAX_BUNDLE)?;
    if kind != TYPE_BUNDLE {
        return Err(WireError::UnknownMessageType(kind).into());
    }
    let mut reader = Reader::new(payload);
    let addressing = read_addressing(&mut reader)?;
    let to = &addressing.to;
    if to != local {
        return Err(BundleError::WrongPeer {
            addressed: to.to_string(),
            local: local.to_string(),
        });
    }
    let listed = read_tail(&mut reader, MAX_BUNDLE)?;
    let mut reader = Reader::new(&listed);
    let count = reader.count("bundle entries", 20, MAX_LIST)?;
    let mut entries = Vec::with_capacity(count);
    for _ in 0..count {
        let doc = reader.doc_id()?;
        let kind = reader.kind(&doc)?;
        let heads = reader.heads()?;
        let whole = match reader.u8("entry type")? {
            ENTRY_WHOLE => true,
            ENTRY_CHANGES => false,
            code => return Err(WireError::UnknownPayload { doc, code }.into()),
        };
        let bytes = reader.bytes("document bytes")?.to_vec();
        let signatures = reader.signatures(MAX_LIST)?;
        entries.push(Entry {
            doc,
            kind,
            heads,
            whole,
            bytes,
            signatures,
        });
    }
    reader.finish()?;
    Ok((addressing, entries))
}

fn read_addressing(reader: &mut Reader<'_>) -> Result<Addressing, WireError> {
    Ok(Addressing {
        from: reader.peer_id()?,
        from_epoch: reader.epoch()?,
        to: reader.peer_id()?,
    })
}

/// Decrypts a bundle addressed to `local` and applies every document the policy lets its sender
/// write, in one store commit. Documents refused (policy, wrong kind, changes whose base this
/// store lacks) are listed in the report; the others are applied regardless.
pub fn import_bundle<S: DocumentStore + ?Sized>(
    store: &S,
    local: &PeerId,
    identity: &BundleIdentity,
    bundle: &[u8],
    policy: Arc<dyn Policy>,
) -> Result<SyncReport, BundleError> {
    let plaintext = age::decrypt(identity, bundle)?;
    let (addressing, entries) = decode_bundle(&plaintext, local)?;
    let from = addressing.from;
    let mut report = SyncReport {
        bytes_received: bundle.len() as u64,
        ..SyncReport::default()
    };
    let mut commit = Commit::new(from.clone());
    if store.peer_epoch(&from)? != Some(addressing.from_epoch) {
        // What we knew of the sender came from another store under its id: drop it first.
        commit.reset_peer = Some(addressing.from_epoch);
    }
    for entry in entries {
        report.change_bytes += entry.bytes.len() as u64;
        match proposed_doc(store, &entry)? {
            Err(reason) => report.refused.push((entry.doc, reason)),
            Ok(doc) if !policy.may_write(&from, &entry.doc, entry.kind, &doc) => {
                report.refused.push((entry.doc, Refusal::NotWritable))
            }
            Ok(doc) => {
                report.conflicts += usize::from(store.has_conflicts(entry.kind, &doc));
                commit.shared_heads.push((entry.doc.clone(), entry.heads));
                commit.signatures.extend(entry.signatures);
                commit.docs.push(IncomingDoc {
                    id: entry.doc,
                    kind: entry.kind,
                    changes: entry.bytes,
                    loaded: None,
                });
            }
        }
    }
    let ids: Vec<DocId> = commit.docs.iter().map(|doc| doc.id.clone()).collect();
    for (id, outcome) in ids.into_iter().zip(store.commit(commit)?) {
        match outcome {
            ApplyOutcome::Applied { .. } => report.received += 1,
            ApplyOutcome::KindMismatch { .. } => report.refused.push((id, Refusal::KindMismatch)),
            ApplyOutcome::Invalid { .. } => report.refused.push((id, Refusal::Invalid)),
        }
    }
    Ok(report)
}

/// The document as it would be with the entry applied, or why the entry cannot be applied.
fn proposed_doc<S: DocumentStore + ?Sized>(
    store: &S,
    entry: &Entry,
) -> Result<Result<Automerge, Refusal>, BundleError> {
    let stored = store.load(&entry.doc)?;
    if let Some((kind, _)) = store.doc_heads(&entry.doc)? {
        if kind != entry.kind {
            return Ok(Err(Refusal::KindMismatch));
        }
    }
    let mut doc = stored.unwrap_or_default();
    let loaded = std::panic::catch_unwind(move || doc.load_incremental(&entry.bytes).map(|_| doc));
    let Ok(Ok(doc)) = loaded else {
        return Ok(Err(Refusal::Invalid));
    };
    let complete = doc.get_missing_deps(&[]).is_empty()
        && entry
            .heads
            .iter()
            .all(|hash| doc.get_change_by_hash(hash).is_some());
    Ok(match (complete, entry.whole) {
        (true, _) => Ok(doc),
        (false, true) => Err(Refusal::Invalid),
        (false, false) => Err(Refusal::Incomplete),
    })
}
