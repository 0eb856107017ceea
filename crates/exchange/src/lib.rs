//! `watchpost-exchange`: formats in and out — MISP, CSV and plain lists, IoC extraction from
//! report text, Suricata and Zeek exports.
//!
//! Built so far: [`export`], indicators as sensors take them (Suricata datasets and rules, Zeek
//! intel files, plain lists, STIX bundles). It may depend on `watchpost-stix` and
//! `watchpost-pattern` only, and does no I/O of its own: the binary reads the store and serves
//! or writes the files.
#![deny(missing_docs)]

pub mod export;
