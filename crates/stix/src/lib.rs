//! `watchpost-stix`: the STIX 2.1 object model of Watchpost.
//!
//! It owns what every other crate stands on:
//! - the model of every STIX 2.1 object type, as data ([`schema`]) over a lossless JSON tree
//!   ([`StixObject`]), with the specification's vocabularies ([`vocab`]);
//! - identifiers and deterministic SCO identifiers ([`id`], over [`jcs`] canonical JSON);
//! - timestamps with the specification's precision rules ([`Timestamp`]);
//! - TLP 2.0 and 1.0 markings and granular-marking selectors ([`marking`]);
//! - validation against the specification's MUST rules with errors that name the JSON path
//!   ([`Validator`]);
//! - a streaming reader of bundles, single objects and JSON lines in bounded memory
//!   ([`reader`]).
//!
//! It must not depend on any other Watchpost crate, and does no I/O beyond reading the
//! `std::io::Read` it is handed: no network, no files it opens itself, no async runtime.
//!
//! # Example
//!
//! ```
//! use watchpost_stix::{reader::Reader, Validator};
//!
//! let bundle = br#"{"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
//!   "objects": [{"type": "ipv4-addr", "id": "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4",
//!                "value": "198.51.100.3"},
//!               {"type": "ipv4-addr", "id": "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4",
//!                "value": "198.51.100.300"}]}"#;
//! let validator = Validator::new();
//! let mut problems = Vec::new();
//! for entry in Reader::new(&bundle[..]) {
//!     let entry = entry.expect("the bundle is well-formed JSON");
//!     let object = entry.value.expect("each object is well-formed JSON");
//!     for issue in validator.validate(&object) {
//!         problems.push(format!("{}: {}", entry.location.qualify(&issue.path), issue.message));
//!     }
//! }
//! assert_eq!(problems, ["objects[1].value: expected an IPv4 address or CIDR block like \
//!     198.51.100.0/24, found `198.51.100.300`"]);
//! ```
#![deny(missing_docs)]

pub mod address;
pub mod id;
pub mod jcs;
pub mod marking;
pub mod object;
pub mod reader;
pub mod schema;
pub mod timestamp;
pub mod validate;
pub mod vocab;

pub use id::Identifier;
pub use object::StixObject;
pub use timestamp::Timestamp;
pub use validate::{Issue, PatternSyntax, Validator};
