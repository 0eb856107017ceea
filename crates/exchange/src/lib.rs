//! `watchpost-exchange`: formats in and out — MISP, CSV and plain lists, IoC extraction from
//! report text, Suricata and Zeek exports.
//!
//! Built so far (issue 7): [`extract`] finds IoCs in report text (defanged forms included,
//! character offsets kept), [`list`] reads CSV and one-per-line lists into STIX indicators,
//! [`warninglist`] flags values that hit a MISP warning list (private ranges, public resolvers,
//! top domains…). It may depend on `watchpost-stix` and `watchpost-pattern` only.
//!
//! # Example
//!
//! ```
//! use watchpost_exchange::extract::{Extractor, IocKind};
//!
//! let iocs = Extractor::get().extract("C2 tại hxxps://bad[.]example[.]com/x và 198.51.100.7");
//! assert_eq!(iocs[0].kind, IocKind::Url);
//! assert_eq!(iocs[0].value, "https://bad.example.com/x");
//! assert_eq!(iocs[1].value, "198.51.100.7");
//! ```
#![deny(missing_docs)]

pub mod extract;
pub mod list;
pub mod warninglist;
