//! Minga's office hub: the server phones sync with, and the supervisor's command line. The hub is
//! the core plus HTTP, authentication, authorisation and administration.

pub mod access;
pub mod admin;
pub mod auth;
pub mod backup;
pub mod cli;
pub mod client;
pub mod console;
pub mod demo;
pub mod error;
pub mod export;
pub mod listings;
pub mod media;
pub mod output;
pub mod server;
pub mod show;
pub mod signers;
pub mod storage;

pub use error::{HubError, Result};
