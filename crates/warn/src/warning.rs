//! Raising warnings: how severe, who is warned at each level of escalation, and the one entry
//! point the matching path calls, [`Warnings::raise`].
//!
//! **Severity.** The indicator's `confidence` sets the baseline: 0–29 low, 30–69 medium,
//! 70–100 high, and medium when it has none (STIX leaves confidence optional, and an
//! indicator someone chose to share is worth a look). One step up when the indicator names a
//! late kill-chain phase (`exploitation`, `installation`, `command-and-control`,
//! `actions-on-objectives`: the attacker is already in, not still looking), and one more when
//! the organisation is critical information infrastructure. Critical is the ceiling.
//!
//! **Escalation chain.** An organisation's focal points grouped by `order`, lowest first: every
//! focal point of a level is warned together. After the organisation's last level comes the
//! national CERT's first level (the directory entry marked `national`), unless the
//! organisation is the national CERT. An organisation without focal points is warned through
//! the national CERT directly.

use crate::config::Config;
use crate::directory::{DirectoryEntry, FocalPoint};
use crate::error::WarnError;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::fmt;
use std::sync::Arc;
use watchpost_store::{Channel, Micros, NewDelivery, NewWarning, Raised, Store};

/// How urgently a warning needs attention.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing.
    Low,
    /// Worth a look today.
    Medium,
    /// Needs a look now.
    High,
    /// Needs action now.
    Critical,
}

/// Kill-chain phases after which the attacker is inside: a sighting of them raises severity.
const LATE_PHASES: [&str; 4] = [
    "exploitation",
    "installation",
    "command-and-control",
    "actions-on-objectives",
];

impl Severity {
    /// The severity of an indicator seen in an organisation (see the module documentation).
    pub fn assess(indicator: &Value, critical_infrastructure: bool) -> Severity {
        let confidence = indicator.get("confidence").and_then(Value::as_u64);
        let late = indicator
            .get("kill_chain_phases")
            .and_then(Value::as_array)
            .is_some_and(|phases| {
                phases.iter().any(|p| {
                    p.get("phase_name")
                        .and_then(Value::as_str)
                        .is_some_and(|name| LATE_PHASES.contains(&name))
                })
            });
        Severity::rule(confidence, late, critical_infrastructure)
    }

    /// The rule itself, on its three inputs.
    pub fn rule(confidence: Option<u64>, late_phase: bool, critical: bool) -> Severity {
        let base = match confidence {
            None => Severity::Medium,
            Some(0..=29) => Severity::Low,
            Some(30..=69) => Severity::Medium,
            Some(_) => Severity::High,
        };
        base.raised_if(late_phase).raised_if(critical)
    }

    fn raised_if(self, condition: bool) -> Severity {
        match (condition, self) {
            (false, s) => s,
            (true, Severity::Low) => Severity::Medium,
            (true, Severity::Medium) => Severity::High,
            (true, _) => Severity::Critical,
        }
    }

    /// The name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Reads a severity name.
    pub fn parse(name: &str) -> Option<Severity> {
        match name {
            "low" => Some(Severity::Low),
            "medium" => Some(Severity::Medium),
            "high" => Some(Severity::High),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The levels of an organisation's escalation chain, each the focal points warned together
/// (see the module documentation). Empty when neither the organisation nor a national CERT
/// has focal points.
pub fn escalation_chain<'a>(
    directory: &'a [DirectoryEntry],
    org: &str,
) -> Vec<Vec<&'a FocalPoint>> {
    let own = directory.iter().find(|e| e.org == org);
    let national = directory.iter().find(|e| e.national);
    let mut levels = own.map(levels_of).unwrap_or_default();
    if let Some(national) = national.filter(|n| n.org != org) {
        levels.extend(levels_of(national).into_iter().take(1));
    }
    levels
}

fn levels_of(entry: &DirectoryEntry) -> Vec<Vec<&FocalPoint>> {
    let mut points: Vec<&FocalPoint> = entry
        .focal_points
        .iter()
        .filter(|f| f.email.is_some() || f.webhook.is_some())
        .collect();
    points.sort_by_key(|f| f.order);
    let mut levels: Vec<Vec<&FocalPoint>> = Vec::new();
    for f in points {
        match levels.last_mut() {
            Some(level) if level[0].order == f.order => level.push(f),
            _ => levels.push(vec![f]),
        }
    }
    levels
}

/// The deliveries that warn one level of the chain: a webhook and an e-mail for each focal
/// point that has them.
pub fn deliveries_for(level: &[&FocalPoint]) -> Vec<NewDelivery> {
    let mut out = Vec::new();
    for f in level {
        let language = f.language.code();
        let channels = [
            (Channel::Webhook, f.webhook.as_ref()),
            (Channel::Email, f.email.as_ref()),
        ];
        for (channel, target) in channels {
            if let Some(target) = target {
                out.push(NewDelivery {
                    channel,
                    target: target.clone(),
                    focal_point: f.name.clone(),
                    language: language.into(),
                });
            }
        }
    }
    out
}

/// One sighting to warn about.
#[derive(Clone, Copy, Debug)]
pub struct RaiseRequest<'a> {
    /// The indicator, as the STIX object (its `id`, `name`, `pattern`, `confidence` and
    /// `kill_chain_phases` are read).
    pub indicator: &'a Value,
    /// The affected organisation's name (as in the directory).
    pub org: &'a str,
    /// What was observed, in a line (`10.1.2.3 → 203.0.113.9:443 (Suricata, sensor hn-1)`).
    pub observation: &'a str,
    /// When it was observed, microseconds since the epoch.
    pub seen: Micros,
    /// Now, microseconds since the epoch (the first deliveries are due then).
    pub now: Micros,
}

/// Raises warnings against one snapshot of the directory.
pub struct Warnings {
    store: Arc<dyn Store>,
    directory: Vec<DirectoryEntry>,
    config: Config,
}

impl Warnings {
    /// Warnings over `store`, routed with `directory` (see [`load_directory`] to read it from
    /// the store).
    pub fn new(store: Arc<dyn Store>, directory: Vec<DirectoryEntry>, config: Config) -> Self {
        Warnings {
            store,
            directory,
            config,
        }
    }

    /// Raises a warning for a sighting, or counts it towards the warning already raised for
    /// the same indicator and organisation within the deduplication window
    /// ([`Raised::created`] tells which). A new warning's first level is enqueued in the
    /// same transaction; a courier ([`crate::Courier`]) sends it.
    pub async fn raise(&self, request: RaiseRequest<'_>) -> Result<Raised, WarnError> {
        let indicator = request.indicator;
        let id = indicator
            .get("id")
            .and_then(Value::as_str)
            .filter(|id| id.starts_with("indicator--"))
            .ok_or_else(|| WarnError::Indicator("it has no indicator id".into()))?;
        let entry = self.directory.iter().find(|e| e.org == request.org);
        let critical = entry.is_some_and(|e| e.constituency.critical);
        let severity = Severity::assess(indicator, critical);
        let chain = escalation_chain(&self.directory, request.org);
        let first = chain.first().map(|l| deliveries_for(l)).unwrap_or_default();
        let escalate_at =
            (chain.len() > 1).then(|| request.now.saturating_add(self.config.escalate_after()));
        let detail = json!({
            "indicator_name": indicator.get("name").and_then(Value::as_str).unwrap_or(id),
            "pattern": indicator.get("pattern").and_then(Value::as_str).unwrap_or(""),
            "observation": request.observation,
            "confidence": indicator.get("confidence"),
            "critical_infrastructure": critical,
        });
        let raised = self
            .store
            .raise_warning(NewWarning {
                indicator_id: id.to_string(),
                org: request.org.to_string(),
                severity: severity.as_str().into(),
                seen: request.seen,
                now: request.now,
                dedup_window: self.config.dedup_window(),
                escalate_at,
                detail: detail.to_string(),
                deliveries: first,
            })
            .await?;
        if raised.created && chain.is_empty() {
            tracing::warn!(
                message = "Raised a warning that no one can receive: no focal point has an e-mail address or a webhook.",
                warning = %raised.warning.id,
                org = request.org,
            );
        }
        Ok(raised)
    }
}

/// A reminder that is not about a sighting (a 24/7 request's clock ran out), for an
/// organisation's focal points.
#[derive(Clone, Copy, Debug)]
pub struct Notice<'a> {
    /// What it is about: stored as the warning's subject in place of an indicator id.
    pub subject: &'a str,
    /// The organisation's name (as in the directory).
    pub org: &'a str,
    /// `low`, `medium`, `high` or `critical`.
    pub severity: &'a str,
    /// What ran out, in a sentence (the message's title).
    pub text: &'a str,
    /// Now, microseconds since the epoch.
    pub now: Micros,
}

impl Warnings {
    /// Raises a notice as a new warning: delivered to the organisation's first focal points,
    /// escalated when no one acknowledges it, exactly like a sighting's warning.
    pub async fn notify(&self, notice: Notice<'_>) -> Result<Raised, WarnError> {
        let chain = escalation_chain(&self.directory, notice.org);
        let first = chain.first().map(|l| deliveries_for(l)).unwrap_or_default();
        let escalate_at =
            (chain.len() > 1).then(|| notice.now.saturating_add(self.config.escalate_after()));
        let detail = json!({
            "indicator_name": notice.text,
            "pattern": "",
            "observation": notice.subject,
        });
        let raised = self
            .store
            .raise_warning(NewWarning {
                indicator_id: notice.subject.to_string(),
                org: notice.org.to_string(),
                severity: notice.severity.to_string(),
                seen: notice.now,
                now: notice.now,
                // Each notice is its own warning: the caller raises it once.
                dedup_window: 0,
                escalate_at,
                detail: detail.to_string(),
                deliveries: first,
            })
            .await?;
        Ok(raised)
    }
}

/// Reads the directory the store keeps (as `watchpost org import` stored it).
pub async fn load_directory(store: &dyn Store) -> Result<Vec<DirectoryEntry>, WarnError> {
    store
        .directory_entries()
        .await?
        .into_iter()
        .map(|(org, json)| {
            serde_json::from_str(&json).map_err(|e| WarnError::Directory {
                org,
                reason: e.to_string(),
            })
        })
        .collect()
}

/// What a warning's `detail` says, for messages.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Detail {
    /// The indicator's name (its id when it has none).
    pub indicator_name: String,
    /// Its pattern.
    pub pattern: String,
    /// What was observed.
    pub observation: String,
}

impl Detail {
    /// Reads a warning's detail; what cannot be read is left empty, a message still goes out.
    pub fn of(warning: &watchpost_store::Warning) -> Detail {
        serde_json::from_str(&warning.detail).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(confidence: Option<u64>, late: bool, critical: bool, expected: Severity) {
        assert_eq!(Severity::rule(confidence, late, critical), expected);
    }

    #[test]
    fn severity_rule() {
        use Severity::*;
        check(None, false, false, Medium);
        check(Some(10), false, false, Low);
        check(Some(29), false, false, Low);
        check(Some(30), false, false, Medium);
        check(Some(70), false, false, High);
        check(Some(10), true, false, Medium);
        check(Some(10), true, true, High);
        check(None, true, true, Critical);
        check(Some(95), true, true, Critical);
        check(Some(95), false, true, Critical);
    }

    #[test]
    fn severity_reads_the_indicator() {
        let i = json!({"confidence": 80, "kill_chain_phases": [
            {"kill_chain_name": "lockheed-martin-cyber-kill-chain", "phase_name": "command-and-control"}]});
        assert_eq!(Severity::assess(&i, false), Severity::Critical);
        let recon = json!({"confidence": 50, "kill_chain_phases": [
            {"kill_chain_name": "lockheed-martin-cyber-kill-chain", "phase_name": "reconnaissance"}]});
        assert_eq!(Severity::assess(&recon, false), Severity::Medium);
        assert_eq!(Severity::assess(&json!({}), true), Severity::High);
    }

    fn point(name: &str, order: u32) -> FocalPoint {
        FocalPoint {
            name: name.into(),
            email: Some(format!("{name}@example.vn")),
            order,
            ..Default::default()
        }
    }

    fn entry(org: &str, national: bool, points: Vec<FocalPoint>) -> DirectoryEntry {
        DirectoryEntry {
            org: org.into(),
            national,
            focal_points: points,
            ..Default::default()
        }
    }

    fn names(chain: Vec<Vec<&FocalPoint>>) -> Vec<Vec<&str>> {
        chain
            .into_iter()
            .map(|l| l.into_iter().map(|f| f.name.as_str()).collect())
            .collect()
    }

    #[test]
    fn chains_group_by_order_and_end_at_the_national_cert() {
        let dir = vec![
            entry("vncert", true, vec![point("duty", 1), point("head", 2)]),
            entry(
                "bank",
                false,
                vec![point("ciso", 2), point("soc", 1), point("noc", 1)],
            ),
            entry("quiet", false, vec![]),
        ];
        assert_eq!(
            names(escalation_chain(&dir, "bank")),
            [vec!["soc", "noc"], vec!["ciso"], vec!["duty"]]
        );
        assert_eq!(names(escalation_chain(&dir, "quiet")), [vec!["duty"]]);
        assert_eq!(names(escalation_chain(&dir, "unknown")), [vec!["duty"]]);
        assert_eq!(
            names(escalation_chain(&dir, "vncert")),
            [vec!["duty"], vec!["head"]]
        );
    }
}
