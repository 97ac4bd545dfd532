//! The fuzz targets, one function per kind of hostile input: each takes arbitrary bytes, must
//! not panic or hang, and returns `Err` when an invariant beyond "no panic" breaks. The CI
//! tests (`tests/hostile.rs`) and the cargo-fuzz targets (`fuzz/`) call the same functions;
//! this file depends only on minga-sync, minga-forms and age, so that `fuzz/` can include it
//! without building SQLCipher.

use minga_forms::{expr, xlsform};
use minga_sync::bundle::{import_bundle, BundleIdentity};
use minga_sync::wire::{seal, Frame, DEFAULT_MAX_FRAME};
use minga_sync::{AllowAll, DocumentStore, Initiator, MemoryStore, PeerId, Responder, SyncOptions};
use std::str::FromStr;
use std::sync::Arc;

/// The peer every fuzzed bundle is for; the corpus bundles are addressed to it.
pub const BUNDLE_PEER: &str = "fuzz-phone";

/// A key made for the fuzz corpus only (it protects nothing): corpus bundles are encrypted to
/// it, so that mutations of their plaintext reach the bundle decoder.
pub const BUNDLE_IDENTITY: &str =
    "AGE-SECRET-KEY-1TQX6H5KTXEEK787Y9H2A6EMVCKX0F6QYC2N2NC83HEP9YLWTY5USZ8YPFU";

pub fn bundle_identity() -> BundleIdentity {
    BundleIdentity::from_str(BUNDLE_IDENTITY).expect("the corpus key parses")
}

fn peer(name: &str) -> PeerId {
    PeerId::new(name).expect("a valid peer id")
}

/// Sync messages, twice: the bytes as they are, and with their frame header and checksum made
/// right again ([`reframed`]), so that mutations reach the message decoders behind the CRC.
pub fn sync_message(bytes: &[u8]) -> Result<(), String> {
    sync_message_once(bytes)?;
    sync_message_once(&reframed(bytes))
}

/// A frame around the payload of `bytes` (its bytes 10 to 4 before the end, when it is long
/// enough to be a frame; otherwise all but the first byte, which gives the message type),
/// with the right length and CRC-32.
pub fn reframed(bytes: &[u8]) -> Vec<u8> {
    let (kind, payload) = match bytes {
        [_, _, _, _, _, kind, _, _, _, _, rest @ ..] if rest.len() >= 4 => {
            (*kind, &rest[..rest.len() - 4])
        }
        [kind, rest @ ..] => (*kind, rest),
        [] => (1, &[][..]),
    };
    seal(kind, payload.to_vec())
}

/// The frame decoder, then a responder (the hub's side) and an initiator (the phone's side)
/// given the bytes. A message refused must leave the store as it was.
fn sync_message_once(bytes: &[u8]) -> Result<(), String> {
    let _ = Frame::decode(bytes, DEFAULT_MAX_FRAME);
    let hub = MemoryStore::new();
    let mut responder = Responder::new(peer("hub"), SyncOptions::default(), Arc::new(AllowAll));
    if responder.respond(&hub, bytes).is_err() && !hub.is_empty() {
        return Err("a refused request changed the hub's store".into());
    }
    let phone = MemoryStore::new();
    let options = SyncOptions::default();
    let mut initiator = Initiator::new(peer("phone"), peer("hub"), options, Arc::new(AllowAll));
    initiator.start(&phone).map_err(|e| format!("start: {e}"))?;
    let seq = phone.max_seq().map_err(|e| e.to_string())?;
    if initiator.receive(&phone, bytes).is_err() && phone.max_seq().ok() != Some(seq) {
        return Err("a refused reply changed the phone's store".into());
    }
    Ok(())
}

/// Bundle files, twice: the bytes as the file itself, and the bytes as a bundle's plaintext
/// encrypted to [`BUNDLE_IDENTITY`] (which is what gets past age to the bundle decoder).
pub fn bundle(bytes: &[u8]) -> Result<(), String> {
    let identity = bundle_identity();
    let local = peer(BUNDLE_PEER);
    let store = MemoryStore::new();
    if import_bundle(&store, &local, &identity, bytes, Arc::new(AllowAll)).is_err()
        && !store.is_empty()
    {
        return Err("a refused bundle file changed the store".into());
    }
    let sealed = age::encrypt(&identity.to_public(), bytes).map_err(|e| e.to_string())?;
    let store = MemoryStore::new();
    if import_bundle(&store, &local, &identity, &sealed, Arc::new(AllowAll)).is_err()
        && !store.is_empty()
    {
        return Err("a refused bundle changed the store".into());
    }
    Ok(())
}

/// XLSForm workbooks, read as `.xlsx` and as `.xls`.
pub fn xlsform(bytes: &[u8]) -> Result<(), String> {
    let _ = xlsform::import(bytes, "fuzz.xlsx");
    let _ = xlsform::import(bytes, "fuzz.xls");
    Ok(())
}

/// XLSForm expressions: whatever parses prints back as text that parses to the same tree.
pub fn expression(bytes: &[u8]) -> Result<(), String> {
    let source = String::from_utf8_lossy(bytes);
    if let Ok(tree) = expr::parse(&source) {
        let printed = tree.to_string();
        match expr::parse(&printed) {
            Ok(again) if again == tree => {}
            Ok(_) => return Err(format!("{source:?} prints as {printed:?}, another tree")),
            Err(e) => {
                return Err(format!(
                    "{source:?} prints as {printed:?}, which fails: {e}"
                ))
            }
        }
    }
    Ok(())
}
