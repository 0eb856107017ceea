//! How warnings are raised, delivered and escalated. Every field has a default, so an empty
//! `[warnings]` table is a working configuration for a hub on one machine; production hubs
//! set at least `secret`, `ack_base_url` and `smtp`.

use serde::Deserialize;
use std::time::Duration;

/// Warning, delivery and escalation settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The hub's secret: it signs webhook bodies (`X-Watchpost-Signature`) and acknowledgement
    /// links. Anyone who knows it can forge both; keep it at least 32 random characters.
    pub secret: String,
    /// The URL under which the hub serves `/warnings/{id}/ack` (no trailing slash needed).
    pub ack_base_url: String,
    /// Sightings of the same indicator in the same organisation within this many seconds of the
    /// warning's first sighting are counted towards it instead of raising a new one.
    pub dedup_window_secs: u64,
    /// Seconds a level has to acknowledge before the next level of the chain is warned.
    pub escalate_after_secs: u64,
    /// Outbox settings.
    pub delivery: DeliveryConfig,
    /// The SMTP server for e-mail warnings; e-mail deliveries wait (and retry) without one.
    pub smtp: Option<SmtpConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            secret: String::new(),
            ack_base_url: "http://127.0.0.1:8080".into(),
            dedup_window_secs: 6 * 3600,
            escalate_after_secs: 30 * 60,
            delivery: DeliveryConfig::default(),
            smtp: None,
        }
    }
}

impl Config {
    /// The deduplication window in microseconds.
    pub fn dedup_window(&self) -> i64 {
        secs_to_micros(self.dedup_window_secs)
    }

    /// The escalation delay in microseconds.
    pub fn escalate_after(&self) -> i64 {
        secs_to_micros(self.escalate_after_secs)
    }
}

pub(crate) fn secs_to_micros(secs: u64) -> i64 {
    i64::try_from(secs)
        .unwrap_or(i64::MAX)
        .saturating_mul(1_000_000)
}

/// How the outbox is worked.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeliveryConfig {
    /// Milliseconds between two rounds of a courier.
    pub tick_ms: u64,
    /// Seconds a courier holds a claimed delivery; another courier takes it over after that,
    /// so it must exceed the longest send (the webhook and SMTP timeouts).
    pub lease_secs: u64,
    /// Deliveries claimed per round.
    pub batch: usize,
    /// Attempts before a delivery is given up.
    pub max_attempts: u32,
    /// The first retry's delay in seconds; each further retry waits twice as long …
    pub backoff_base_secs: u64,
    /// … up to this many seconds.
    pub backoff_cap_secs: u64,
    /// Seconds a webhook receiver has to answer.
    pub webhook_timeout_secs: u64,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            tick_ms: 250,
            lease_secs: 120,
            batch: 32,
            max_attempts: 10,
            backoff_base_secs: 1,
            backoff_cap_secs: 15 * 60,
            webhook_timeout_secs: 10,
        }
    }
}

impl DeliveryConfig {
    /// The delay before retrying a delivery that has failed `attempts` times before this one:
    /// base × 2^attempts, capped.
    pub fn backoff(&self, attempts: i64) -> Duration {
        let exponent = u32::try_from(attempts.clamp(0, 32)).unwrap_or(32);
        let delay = self
            .backoff_base_secs
            .saturating_mul(1u64.checked_shl(exponent).unwrap_or(u64::MAX));
        Duration::from_secs(delay.min(self.backoff_cap_secs))
    }
}

/// Whether and how the SMTP connection is encrypted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StartTls {
    /// Plain text (a relay on the same host or network only).
    Off,
    /// STARTTLS when the server offers it, plain text otherwise.
    Opportunistic,
    /// STARTTLS or no delivery.
    #[default]
    Required,
}

/// The SMTP server that sends e-mail warnings.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// Host name (also the name its certificate must carry).
    pub host: String,
    /// Port: 587 for submission with STARTTLS, 25 for a relay.
    #[serde(default = "submission_port")]
    pub port: u16,
    /// Encryption.
    #[serde(default)]
    pub starttls: StartTls,
    /// User name, when the server wants one.
    #[serde(default)]
    pub username: Option<String>,
    /// Password.
    #[serde(default)]
    pub password: Option<String>,
    /// The sender (`Watchpost <warnings@cert.example>`).
    pub from: String,
    /// Seconds the server has to answer each command.
    #[serde(default = "smtp_timeout")]
    pub timeout_secs: u64,
}

fn submission_port() -> u16 {
    587
}

fn smtp_timeout() -> u64 {
    30
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let d = DeliveryConfig {
            backoff_base_secs: 1,
            backoff_cap_secs: 60,
            ..Default::default()
        };
        let delays: Vec<u64> = (0..8).map(|a| d.backoff(a).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(d.backoff(1_000).as_secs(), 60);
    }
}
