//! The channels that carry warnings: [`webhook`] (JSON over HTTP, signed) and [`email`]
//! (SMTP, in the focal point's language). Each turns one delivery into an [`Outcome`]; the
//! courier records it in the outbox.

pub mod email;
pub mod webhook;

use crate::warning::Detail;
use watchpost_store::{timestamp_text, Delivery, Warning};

/// What became of one attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The receiving server accepted it.
    Sent,
    /// It failed in a way that may pass (timeout, 5xx, 408, 429, a transient SMTP reply).
    Retry(String),
    /// The receiver refused it for good (another 4xx, a permanent SMTP reply, a bad address).
    Refused(String),
}

/// Everything a message says, gathered once for both channels.
#[derive(Clone, Debug)]
pub struct Facts<'a> {
    /// The warning.
    pub warning: &'a Warning,
    /// The delivery carrying it.
    pub delivery: &'a Delivery,
    /// What the warning's detail says.
    pub detail: Detail,
    /// The focal point's signed acknowledgement link.
    pub ack_url: String,
}

impl<'a> Facts<'a> {
    /// The facts of `delivery`, with its acknowledgement link under `base`.
    pub fn new(warning: &'a Warning, delivery: &'a Delivery, base: &str, secret: &[u8]) -> Self {
        Facts {
            warning,
            delivery,
            detail: Detail::of(warning),
            ack_url: crate::ack::ack_url(base, secret, &warning.id, &delivery.focal_point),
        }
    }

    fn first_seen(&self) -> String {
        timestamp_text(self.warning.first_seen)
    }

    fn last_seen(&self) -> String {
        timestamp_text(self.warning.last_seen)
    }
}
