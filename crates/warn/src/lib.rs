//! `watchpost-warn`: the constituency directory (whose network is it?), the warning lifecycle
//! and the delivery channels (webhook, SMTP), with acknowledgement and escalation.
//!
//! - [`directory`]: the focal points and constituencies of the member organisations, read from
//!   JSON and CSV; [`route`]: the organisation responsible for an address or a domain name;
//!   [`sighting`]: matches become STIX sightings.
//! - [`warning`]: [`Warnings::raise`] turns a sighting into a warning per (indicator,
//!   organisation), with a [`Severity`], deduplicated within a window, its first level of
//!   focal points enqueued in the store's outbox in the same transaction.
//! - [`courier`]: [`Courier`] works the outbox ([`Courier::tick`] once, [`Courier::run`]
//!   until shutdown): [`deliver::webhook`] and [`deliver::email`] send, failures are retried
//!   with exponential backoff, unacknowledged warnings escalate along the chain.
//! - [`ack`]: signed acknowledgement links and the API ([`ack::router`]).
//!
//! The store keeps all state (`Store::raise_warning`, `claim_deliveries`, …), so a restart
//! loses nothing and several couriers can share one outbox.
//!
//! # Example
//!
//! ```no_run
//! # async fn example() -> Result<(), watchpost_warn::WarnError> {
//! use std::sync::Arc;
//! use watchpost_store::{SqlStore, Store};
//! use watchpost_warn::{load_directory, Config, Courier, RaiseRequest, Warnings};
//!
//! let store: Arc<dyn Store> = Arc::new(SqlStore::open("sqlite://hub.db").await?);
//! let config = Config { secret: "a long random secret".into(), ..Config::default() };
//! let directory = load_directory(store.as_ref()).await?;
//! let warnings = Warnings::new(store.clone(), directory, config.clone());
//! let indicator = serde_json::json!({"type": "indicator", "id": "indicator--…", "confidence": 80});
//! let now = watchpost_stix::Timestamp::now().unix_micros();
//! let raised = warnings
//!     .raise(RaiseRequest { indicator: &indicator, org: "vn-energy",
//!         observation: "14.160.32.9 → 203.0.113.9:443", seen: now, now })
//!     .await?;
//! println!("{} (new: {})", raised.warning.id, raised.created);
//!
//! // Elsewhere, once per hub: send, retry, escalate until shutdown; serve the ack routes.
//! let courier = Courier::new(store.clone(), config.clone())?;
//! courier.run(async { let _ = tokio::signal::ctrl_c().await; }).await;
//! let _routes = watchpost_warn::ack::router(store, config.secret.as_bytes());
//! # Ok(()) }
//! ```
//!
//! It may depend on `watchpost-stix` and `watchpost-store`, never on the TAXII or web crates.
#![deny(missing_docs)]

pub mod ack;
pub mod config;
pub mod courier;
pub mod deliver;
pub mod directory;
mod error;
pub mod route;
pub mod sighting;
pub mod warning;

pub use config::{Config, DeliveryConfig, SmtpConfig, StartTls};
pub use courier::{Courier, Round};
pub use directory::{Constituency, DirectoryEntry, FocalPoint, ImportError, Language, Prefix};
pub use error::WarnError;
pub use route::Router;
pub use warning::{load_directory, Notice, RaiseRequest, Severity, Warnings};
