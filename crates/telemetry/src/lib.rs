//! `watchpost-telemetry`: decoders from sensor formats to observations, the SCO graphs the
//! pattern engine takes. No matching here.
//!
//! - [`eve`]: Suricata EVE JSON (`alert`, `dns`, `http`, `tls`, `flow`, `netflow`, `fileinfo`,
//!   `smtp`), the field names of Suricata 4 to 7.
//! - [`zeek`]: Zeek logs, TSV with their `#fields` header or JSON lines (`conn`, `dns`,
//!   `http`, `ssl`, `files`, `x509`, `smtp`).
//! - [`mapped`]: plain JSON lines through a field mapping (proxy, resolver, firewall logs).
//! - [`stream`]: reading lines through a decoder, counting what was decoded, skipped and
//!   malformed, and quarantining each malformed line with its number and the reason, so one bad
//!   line never stops the stream.
//!
//! Each decoded [`Event`] is a set of STIX 2.1 cyber-observable objects keyed by local ids,
//! references between them by those ids (the shape of STIX 2.0 observed-data `objects`, which
//! the pattern engine reads).
//!
//! It depends only on `watchpost-stix` and does no I/O of its own: callers hand it readers
//! and writers.
#![deny(missing_docs)]

pub mod eve;
mod event;
pub mod mapped;
mod sco;
pub mod stream;
mod time;
pub mod zeek;

pub use event::{Event, EventBuilder};
pub use stream::{Atom, Counts, Decoder, Line, Probed, Stream};
pub use time::parse_time;
