//! `watchpost-exchange`: formats in and out of STIX 2.1.
//!
//! Built so far: [`misp`], MISP event JSON to STIX 2.1 ([`misp::to_stix`]: single events,
//! bare events, `{"response": [...]}` lists) and STIX 2.1 back to a MISP event
//! ([`misp::from_stix`]); [`export`], indicators as sensors take them (Suricata datasets and
//! rules, Zeek intel files, plain lists, STIX bundles); [`extract`] finds IoCs in report text
//! (defanged forms included, character offsets kept); [`list`] reads CSV and one-per-line
//! lists into STIX indicators; [`warninglist`] flags values that hit a MISP warning list
//! (private ranges, public resolvers, top domains…); [`cacao`] carries CACAO 2.0 playbooks
//! in STIX `course-of-action` objects (exchange of practice).
//!
//! It may depend on `watchpost-stix` and `watchpost-pattern` only, and does no I/O: it
//! converts bytes and JSON trees it is handed; the binary reads files, serves and talks to the
//! store.
//!
//! # Example
//!
//! ```
//! use watchpost_exchange::misp::{to_stix, Options};
//!
//! let event = br#"{"Event": {"uuid": "5f0c4e2a-0000-4000-8000-000000000001",
//!   "info": "Phishing wave", "date": "2024-03-01", "timestamp": "1709251200",
//!   "Attribute": [{"uuid": "5f0c4e2a-0000-4000-8000-000000000002", "type": "ip-dst",
//!                  "value": "198.51.100.7", "to_ids": true, "timestamp": "1709251200"}]}}"#;
//! let conversion = to_stix(event, &Options::default()).expect("well-formed JSON");
//! assert!(conversion.problems.is_empty());
//! let indicator = conversion.objects.iter().find(|o| o["type"] == "indicator").unwrap();
//! assert_eq!(
//!     indicator["pattern"],
//!     "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '198.51.100.7']"
//! );
//! ```
#![deny(missing_docs)]

pub mod cacao;
pub mod export;
pub mod extract;
pub mod list;
pub mod misp;
pub mod warninglist;
