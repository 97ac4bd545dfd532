//! The storage layer: one module per table, each holding every statement on its table
//! (`documents`, `chunks`, `attachments`, `submissions`, `review_states`, `peers`,
//! `store_meta`, `actors`, `change_signatures` with the store's signing key;
//! their definitions are `schema.rs`), the projections derived from documents (with the check
//! that flags a submission breaking its form, `invalid`), the cache of
//! decoded documents (`chunks`), and the observers told of committed writes. Nothing here opens
//! a transaction or holds the store's lock: the write path above (`store`) does.

pub(crate) mod actors;
pub(crate) mod attachments;
pub(crate) mod chunks;
pub(crate) mod documents;
pub(crate) mod invalid;
pub(crate) mod observer;
pub(crate) mod peers;
pub(crate) mod projection;
pub(crate) mod review_states;
pub(crate) mod signatures;
pub(crate) mod store_meta;
pub(crate) mod submissions;
