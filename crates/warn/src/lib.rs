//! `watchpost-warn`: the constituency directory (whose network is it?), the warning lifecycle
//! and the delivery channels (webhook, SMTP), with acknowledgement and escalation.
//!
//! Built so far (issue 6, in progress): [`directory`], the focal points and constituencies of
//! the member organisations and how they are read from JSON and CSV, and [`route`], which finds
//! the organisation responsible for an address or a domain name, and [`sighting`], which turns
//! matches into STIX sightings.
//!
//! It may depend on `watchpost-stix` and `watchpost-store`, never on the TAXII or web crates.
#![deny(missing_docs)]

pub mod directory;
pub mod route;
pub mod sighting;

pub use directory::{Constituency, DirectoryEntry, FocalPoint, ImportError, Language, Prefix};
pub use route::Router;
