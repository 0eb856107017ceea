//! `watchpost-store`: persistence behind one `Store` trait (SQLite, the embedded default, and
//! PostgreSQL), TLP and sharing-group enforcement, and the audit log.
//!
//! Built so far (issue 5, in progress): [`access`], the rules that decide who may read a stored
//! object. The `Store` trait and its SQLite and PostgreSQL implementations come next and will
//! call [`access::decide`] on every read.
//!
//! It may depend on `watchpost-stix` and sqlx, never on the TAXII, warning or web crates: access
//! rules live here so no handler can forget them.
#![deny(missing_docs)]

pub mod access;
