//! `watchpost-exchange`: formats in and out — MISP, CSV and plain lists, IoC extraction from
//! report text, Suricata and Zeek exports.
//!
//! Not built yet (issue 7). It may depend on `watchpost-stix` and `watchpost-pattern` only.
