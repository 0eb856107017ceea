//! `watchpost-coop`: 24/7 requests between the focal points of two countries — what is asked
//! ([`request`]), where it stands ([`state`]), the tamper-evident record of every event
//! ([`chain`]) and the STIX 2.1 form that carries a request between hubs ([`stix`]).
//!
//! The crate decides what a request is and which events are legal; `watchpost-store` keeps
//! the rows (and decides who may see them), and the binary wires both to the command line.
//! It may depend on `watchpost-stix` and `watchpost-store`, never on the binary, TAXII or web
//! crates: transport between hubs is federation's business, and it carries the STIX form
//! ([`relay`] decides what a version from the other hub may change; [`hub`] puts it in the
//! requests collection that federation pushes, and takes in what arrives there).
//!
//! # Example
//!
//! ```
//! use watchpost_coop::chain::{verify, Case};
//! use watchpost_coop::request::{Identifier, Request, RequestType};
//! use watchpost_coop::state::{Event, State};
//!
//! let request = Request {
//!     id: Request::new_id(),
//!     request_type: RequestType::Preservation,
//!     requesting_authority: "Supreme People's Procuracy".into(),
//!     case_reference: "VN-2026-0042".into(),
//!     legal_basis: "art. 42".into(),
//!     identifiers: vec![Identifier::parse_ip("203.0.113.5:443@2026-11-23T10:00:00+07:00")?],
//!     data_holder: None,
//!     urgency: Default::default(),
//!     confidentiality: Default::default(),
//!     deadline: None,
//!     attachments: vec![],
//!     from_org: "vncert".into(),
//!     to_org: "laocert".into(),
//! };
//! let mut case = Case::create(request, "2026-11-23T03:00:00Z", "vncert/duty");
//! case.apply(Event::Send, "2026-11-23T03:01:00Z", "vncert/duty")?;
//! assert!(case.apply(Event::Close, "2026-11-23T03:02:00Z", "vncert/duty").is_err());
//! assert_eq!(case.state, State::Sent);
//! assert_eq!(verify(&case.records), Ok(2));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

pub mod chain;
pub mod clock;
pub mod hub;
pub mod relay;
pub mod request;
pub mod state;
pub mod stix;
