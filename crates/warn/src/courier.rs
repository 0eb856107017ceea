//! The courier works the outbox: each round it claims the due deliveries, sends each through
//! its channel, records the outcome, and escalates the warnings no one acknowledged in time.
//!
//! Everything it knows is in the store, so a restarted hub picks up where it stopped, and
//! several couriers (threads, processes or hubs on one PostgreSQL server) share the work: a
//! claimed delivery is leased to one courier, a sent one is never claimed again, and an
//! escalation happens once whoever tries it. A courier that dies mid-send leaves its lease to
//! expire; the delivery is then sent again with the same delivery id and Message-ID, which
//! is how receivers recognise the duplicate (at-least-once delivery; nothing is lost).

use crate::config::{secs_to_micros, Config};
use crate::deliver::email::Mailer;
use crate::deliver::webhook::Webhook;
use crate::deliver::{Facts, Outcome};
use crate::error::WarnError;
use crate::warning::{deliveries_for, escalation_chain, load_directory};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use watchpost_store::{Channel, Delivery, Micros, Store, Warning, WarningStatus};

/// What one round did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Round {
    /// Deliveries sent.
    pub sent: usize,
    /// Deliveries that failed and will be tried again.
    pub retried: usize,
    /// Deliveries given up.
    pub failed: usize,
    /// Warnings escalated to their next level.
    pub escalated: usize,
}

/// Sends what the outbox holds.
pub struct Courier {
    store: Arc<dyn Store>,
    config: Config,
    webhook: Webhook,
    mailer: Option<Mailer>,
}

impl Courier {
    /// A courier over `store`; fails when the configuration cannot be used (the SMTP sender,
    /// TLS settings).
    pub fn new(store: Arc<dyn Store>, config: Config) -> Result<Self, WarnError> {
        let webhook = Webhook::new(
            config.secret.as_bytes(),
            Duration::from_secs(config.delivery.webhook_timeout_secs),
        )?;
        let mailer = config.smtp.as_ref().map(Mailer::new).transpose()?;
        Ok(Courier {
            store,
            config,
            webhook,
            mailer,
        })
    }

    /// Ticks every `delivery.tick_ms` until `shutdown` completes. A failed round is logged and
    /// the next one tries again: the outbox is unchanged by what failed.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) {
        let period = Duration::from_millis(self.config.delivery.tick_ms.max(10));
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => return,
                _ = tokio::time::sleep(period) => {}
            }
            if let Err(error) = self.tick(now()).await {
                tracing::warn!(message = "Outbox round failed.", %error);
            }
        }
    }

    /// One round at `now`: due deliveries, then due escalations (whose new deliveries go out
    /// in the next round).
    pub async fn tick(&self, now: Micros) -> Result<Round, WarnError> {
        let mut round = Round::default();
        let lease = secs_to_micros(self.config.delivery.lease_secs);
        let claimed = self
            .store
            .claim_deliveries(now, lease, self.config.delivery.batch)
            .await?;
        let sends = claimed.iter().map(|d| self.deliver(d, now));
        for outcome in futures_util::future::join_all(sends).await {
            match outcome? {
                Recorded::Sent => round.sent += 1,
                Recorded::Retry => round.retried += 1,
                Recorded::Failed => round.failed += 1,
                Recorded::Nothing => {}
            }
        }
        round.escalated = self.escalate(now).await?;
        Ok(round)
    }

    async fn deliver(&self, delivery: &Delivery, now: Micros) -> Result<Recorded, WarnError> {
        let Some((warning, _)) = self.store.warning(&delivery.warning_id).await? else {
            return Ok(Recorded::Nothing);
        };
        if warning.status != WarningStatus::Open {
            // Acknowledged or closed between the claim and now: that cancelled it.
            return Ok(Recorded::Nothing);
        }
        let facts = Facts::new(
            &warning,
            delivery,
            &self.config.ack_base_url,
            self.config.secret.as_bytes(),
        );
        let outcome = match (delivery.channel, &self.mailer) {
            (Channel::Webhook, _) => self.webhook.send(&facts).await,
            (Channel::Email, Some(mailer)) => mailer.send(&facts).await,
            (Channel::Email, None) => Outcome::Retry(
                "no SMTP server is configured ([warnings.smtp]); the e-mail waits for one".into(),
            ),
        };
        self.record(delivery, &warning, outcome, now).await
    }

    async fn record(
        &self,
        delivery: &Delivery,
        warning: &Warning,
        outcome: Outcome,
        now: Micros,
    ) -> Result<Recorded, WarnError> {
        let id = &delivery.id;
        let (error, retry_at) = match outcome {
            Outcome::Sent => {
                self.store.delivery_sent(id, now).await?;
                tracing::info!(message = "Delivered warning.", warning = %warning.id, delivery = %id, channel = delivery.channel.as_str());
                return Ok(Recorded::Sent);
            }
            Outcome::Refused(e) => (e, None),
            Outcome::Retry(e) => {
                let last = delivery.attempts + 1 >= i64::from(self.config.delivery.max_attempts);
                let delay = self.config.delivery.backoff(delivery.attempts);
                let delay = i64::try_from(delay.as_micros()).unwrap_or(i64::MAX);
                (e, (!last).then(|| now.saturating_add(delay)))
            }
        };
        self.store.delivery_failed(id, &error, retry_at).await?;
        tracing::warn!(message = "Warning delivery failed.", warning = %warning.id, delivery = %id, %error, retry = retry_at.is_some());
        Ok(if retry_at.is_some() {
            Recorded::Retry
        } else {
            Recorded::Failed
        })
    }

    async fn escalate(&self, now: Micros) -> Result<usize, WarnError> {
        let due = self
            .store
            .due_escalations(now, self.config.delivery.batch)
            .await?;
        if due.is_empty() {
            return Ok(0);
        }
        // Read afresh each time: a directory imported since the warning was raised applies.
        let directory = load_directory(self.store.as_ref()).await?;
        let mut escalated = 0;
        for w in due {
            let chain = escalation_chain(&directory, &w.org);
            let next = usize::try_from(w.level + 1).unwrap_or(usize::MAX);
            let deliveries = chain
                .get(next)
                .map(|l| deliveries_for(l))
                .unwrap_or_default();
            let escalate_at =
                (next + 1 < chain.len()).then(|| now.saturating_add(self.config.escalate_after()));
            if self
                .store
                .escalate_warning(&w.id, w.level, &deliveries, escalate_at, now)
                .await?
            {
                tracing::info!(message = "Escalated unacknowledged warning.", warning = %w.id, level = w.level + 1);
                escalated += 1;
            }
        }
        Ok(escalated)
    }
}

enum Recorded {
    Sent,
    Retry,
    Failed,
    Nothing,
}

fn now() -> Micros {
    watchpost_stix::Timestamp::now().unix_micros()
}
