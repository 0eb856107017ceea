//! `watchpost-taxii`: TAXII 2.1 (OASIS, sections 4 and 5) over the knowledge base: the
//! [`server`] routes a hub exposes to clients such as OpenCTI or `taxii2-client`, and the
//! [`client`] a hub uses to poll remote collections (`watchpost feed add`, and what it pulls
//! from its peers), and the [`push`] that sends its peers what may leave it (`watchpost peer
//! add --push`).
//!
//! Handlers authenticate the caller and translate HTTP to store calls; they never decide who
//! may see an object: `watchpost-store` does, on every read. It may depend on
//! `watchpost-stix` and `watchpost-store`, never on the telemetry, warning or web crates.
#![deny(missing_docs)]

pub mod client;
pub mod media;
pub mod push;
pub mod server;
pub mod signing;

pub use server::{Config, Server};
