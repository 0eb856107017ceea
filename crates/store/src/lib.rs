//! `watchpost-store`: persistence behind one `Store` trait (SQLite, the embedded default, and
//! PostgreSQL), TLP and sharing-group enforcement, and the audit log.
//!
//! Not built yet (issue 5). It may depend on `watchpost-stix` and sqlx, never on the TAXII,
//! warning or web crates: access rules live here so no handler can forget them.
